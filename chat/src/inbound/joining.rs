//! The common case of a group commit, stored with a few statements for the whole batch: a
//! plain customer message (no reply context, no quick-reply payload, no live hand-off code)
//! from a known WhatsApp identity whose conversation on that account is open and already
//! routed. Per batch, one query looks up every message ([`Known`]); per run of such messages,
//! one statement each (whatever the run's length) advances their conversations, inserts the
//! messages and appends their `message.created` events — instead of four round trips per
//! message. What the per-message path (`InboundService::receive_message`) would do is done here
//! exactly: the same rows, the same events with the same per-conversation sequence, in the
//! order the messages came.
//!
//! Each statement takes its rows as one JSON array bound as a single value (see
//! [`crate::store::json_rows`]), so its text does not depend on how many rows there are: it is
//! prepared once per connection and its plan reused, where a `VALUES` list of bound values per
//! row would be parsed and planned anew for every batch size.
//!
//! A customer writing in an assigned conversation starts its reminder timers
//! (`lifecycle::waiting`), all of the run's in one statement.
//!
//! Anything unexpected — a message stored meanwhile by another process, a conversation
//! closed meanwhile — makes the run fail with [`Unexpected`]; the batch is then rolled back
//! and stored one delivery at a time by the per-message path.

use super::InboundService;
use crate::clock::Millis;
use crate::context::Scope;
use crate::lifecycle::waiting;
use crate::model::{ChatError, EventKind, Message, Status};
use crate::provider::InboundMessage;
use crate::repo::messages::MESSAGE_COLUMNS;
use crate::store::{Column, NewEvent, Tx, json_rows, opt_str};
use deflect_config::DatabaseKind;
use serde_json::json;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// Rows per statement.
const CHUNK: usize = 500;

/// What the database knew about a message when its batch began.
#[derive(Clone, Debug, Default)]
pub(super) struct Known {
    seen: bool,
    name_missing: bool,
    identity: bool,
    /// The identity's open conversation on the message's account, if routed already (not
    /// pending, not with its bot or relayed, and queued before).
    routed_conversation: Option<i64>,
    /// The sender is an agent a relay registered on the account (their messages take the
    /// per-message path, which reads them as an agent's).
    relay_agent: bool,
}

/// A run could not be stored together: store the batch one delivery at a time.
#[derive(Debug)]
pub(super) struct Unexpected(pub(super) &'static str);

/// A message of a run and the conversation it joins.
pub(super) struct Joining<'a> {
    pub(super) delivery: usize,
    pub(super) account: &'a str,
    pub(super) message: &'a InboundMessage,
    pub(super) conversation: i64,
}

impl Known {
    /// The conversation `m` joins when it takes this path.
    pub(super) fn joins(&self, m: &InboundMessage, live_codes: &HashSet<String>) -> Option<i64> {
        let named = !(self.name_missing && m.profile_name.is_some());
        if plain(m, live_codes) && named && !self.seen && self.identity && !self.relay_agent {
            self.routed_conversation
        } else {
            None
        }
    }

    /// Whether `m` is a first contact that opens its conversation with the others of its run
    /// (see `opening`).
    pub(super) fn opens(&self, m: &InboundMessage, live_codes: &HashSet<String>) -> bool {
        plain(m, live_codes) && !self.seen && !self.identity && !self.relay_agent
    }
}

/// A message that answers nothing: no reply context, no quick-reply payload, no live hand-off
/// code in its text.
pub(super) fn plain(m: &InboundMessage, live_codes: &HashSet<String>) -> bool {
    m.context_id.is_none()
        && m.button_payload.is_none()
        && !(m.kind == "text"
            && m.body.as_deref().is_some_and(|t| {
                crate::model::candidate_codes(t)
                    .iter()
                    .any(|c| live_codes.contains(c))
            }))
}

impl InboundService {
    /// Looks up every message of a batch: seen before? identity? its open conversation?
    /// Keyed by (account, external id).
    pub(super) async fn look_up(
        &self,
        tx: &mut Tx,
        messages: &[(&str, &InboundMessage)],
    ) -> Result<HashMap<(String, String), Known>, ChatError> {
        let mut out = HashMap::with_capacity(messages.len());
        let rows = json_rows(
            tx.kind(),
            1,
            &[
                ("account", Column::Text),
                ("external_id", Column::Text),
                ("wa_id", Column::Text),
            ],
        );
        // Each message's rows by index lookups. PostgreSQL would hash-join whole tables for a
        // row source it cannot estimate, so there a lateral subquery keeps the lookups per
        // message; SQLite always joins in nested loops by index.
        let joined = "SELECT i.id AS identity_id, k.name, c.id AS open_id, c.status, c.queued_at \
                      FROM contact_identities i JOIN contacts k ON k.id = i.contact_id \
                      LEFT JOIN conversations c ON c.identity_id = i.id AND c.account = v.account \
                      AND c.status <> 'closed' WHERE i.channel = 'whatsapp' AND i.external_id = v.wa_id";
        let from = match tx.kind() {
            DatabaseKind::Postgres => format!("v LEFT JOIN LATERAL ({joined}) x ON true"),
            DatabaseKind::Sqlite => "v LEFT JOIN contact_identities i ON i.channel = 'whatsapp' \
                 AND i.external_id = v.wa_id LEFT JOIN contacts k ON k.id = i.contact_id \
                 LEFT JOIN conversations c ON c.identity_id = i.id AND c.account = v.account \
                 AND c.status <> 'closed'"
                .to_string(),
        };
        let columns = match tx.kind() {
            DatabaseKind::Postgres => "x.identity_id, x.name, x.open_id, x.status, x.queued_at",
            DatabaseKind::Sqlite => {
                "i.id AS identity_id, k.name, c.id AS open_id, c.status, c.queued_at"
            }
        };
        for chunk in messages.chunks(CHUNK) {
            let sql = sql!(
                "WITH v AS ({rows}) \
                 SELECT v.account, v.external_id, \
                 (SELECT m.id FROM messages m WHERE m.account = v.account AND m.external_id = v.external_id) AS seen, \
                 (SELECT 1 FROM relay_agents ra WHERE ra.account = v.account AND ra.wa_id = v.wa_id) AS relay_agent, \
                 {columns} FROM {from}"
            );
            let values: Vec<serde_json::Value> = chunk
                .iter()
                .map(|(account, m)| json!([account, m.external_id, m.from]))
                .collect();
            let q = sqlx::query(sql).bind(serde_json::Value::from(values).to_string());
            for r in q.fetch_all(tx.conn()).await? {
                let status = crate::store::opt_str(&r, "status")
                    .as_deref()
                    .and_then(Status::parse);
                let queued_at = crate::store::opt_i64(&r, "queued_at");
                let routed = match status {
                    Some(Status::Pending | Status::Bot | Status::Relay) | None => false,
                    Some(Status::Queued) => queued_at.is_some(),
                    Some(_) => true,
                };
                let identity = crate::store::opt_i64(&r, "identity_id").is_some();
                out.insert(
                    (r.get("account"), r.get("external_id")),
                    Known {
                        seen: crate::store::opt_i64(&r, "seen").is_some(),
                        name_missing: identity && crate::store::opt_str(&r, "name").is_none(),
                        identity,
                        routed_conversation: crate::store::opt_i64(&r, "open_id")
                            .filter(|_| routed),
                        relay_agent: crate::store::opt_i64(&r, "relay_agent").is_some(),
                    },
                );
            }
        }
        Ok(out)
    }

    /// The hand-off codes among the batch's texts that are live (unspent, unexpired): a
    /// message carrying one takes the per-message path, which spends it.
    pub(super) async fn live_codes(
        &self,
        tx: &mut Tx,
        messages: &[(&str, &InboundMessage)],
        now: Millis,
    ) -> Result<HashSet<String>, ChatError> {
        let mut candidates: Vec<String> = messages
            .iter()
            .filter(|(_, m)| m.kind == "text")
            .filter_map(|(_, m)| m.body.as_deref())
            .flat_map(crate::model::candidate_codes)
            .collect();
        candidates.sort();
        candidates.dedup();
        let mut live = HashSet::new();
        let rows = json_rows(tx.kind(), 2, &[("code", Column::Text)]);
        for chunk in candidates.chunks(CHUNK) {
            let sql = sql!(
                "WITH v AS ({rows}) SELECT h.code FROM handoff_codes h JOIN v ON v.code = h.code \
                 WHERE h.spent_at IS NULL AND h.expires_at > $1"
            );
            let values: Vec<serde_json::Value> = chunk.iter().map(|c| json!([c])).collect();
            let q = sqlx::query(sql)
                .bind(now)
                .bind(serde_json::Value::from(values).to_string());
            for r in q.fetch_all(tx.conn()).await? {
                live.insert(r.get::<String, _>(0));
            }
        }
        Ok(live)
    }

    /// Stores a run of joining messages (see the module documentation); returns, per message,
    /// its conversation, in the run's order.
    pub(super) async fn store_joining(
        &self,
        tx: &mut Tx,
        run: &[Joining<'_>],
        now: Millis,
    ) -> Result<Result<(), Unexpected>, ChatError> {
        for chunk in run.chunks(CHUNK) {
            if let Err(u) = self.store_chunk(tx, chunk, now).await? {
                return Ok(Err(u));
            }
        }
        Ok(Ok(()))
    }

    async fn store_chunk(
        &self,
        tx: &mut Tx,
        run: &[Joining<'_>],
        now: Millis,
    ) -> Result<Result<(), Unexpected>, ChatError> {
        // Per conversation, in order of id: how many messages join it, and the window's
        // start (the last message's time, as one update per message would leave it).
        let mut conversations: Vec<(i64, i64, i64)> = Vec::new();
        for j in run {
            let sent_at = sent_at(j.message, now);
            match conversations.iter_mut().find(|c| c.0 == j.conversation) {
                Some(c) => {
                    c.1 += 1;
                    c.2 = sent_at;
                }
                None => conversations.push((j.conversation, 1, sent_at)),
            }
        }
        conversations.sort_unstable_by_key(|c| c.0);
        // PostgreSQL: the rows are locked by id, in that order, before any is updated (every
        // process takes them in the same order, so two batches never deadlock over them); the
        // rows are found through the primary key (`= ANY(ARRAY(…))`): joined to the JSON rows,
        // whose number it cannot estimate, the planner would scan the whole table.
        let (lock, locked) = match tx.kind() {
            DatabaseKind::Sqlite => ("", ""),
            DatabaseKind::Postgres => (
                ", l AS (SELECT c.id FROM conversations c WHERE c.id = ANY(ARRAY(SELECT id FROM v)) \
                 ORDER BY c.id FOR UPDATE)",
                " AND conversations.id = ANY(ARRAY(SELECT id FROM l))",
            ),
        };
        let rows = json_rows(
            tx.kind(),
            2,
            &[
                ("id", Column::BigInt),
                ("joining", Column::BigInt),
                ("sent_at", Column::BigInt),
            ],
        );
        let sql = sql!(
            "WITH v AS ({rows}){lock} \
             UPDATE conversations SET last_inbound_at = v.sent_at, last_activity_at = $1, \
             event_seq = conversations.event_seq + v.joining FROM v \
             WHERE conversations.id = v.id AND conversations.status <> 'closed'{locked} \
             RETURNING conversations.id, conversations.event_seq, conversations.status, \
             conversations.queued_at, conversations.agent_id, conversations.site, \
             conversations.flow"
        );
        let values: Vec<serde_json::Value> = conversations
            .iter()
            .map(|c| json!([c.0, c.1, c.2]))
            .collect();
        let q = sqlx::query(sql)
            .bind(now)
            .bind(serde_json::Value::from(values).to_string());
        let rows = q.fetch_all(tx.conn()).await?;
        if rows.len() != conversations.len() {
            return Ok(Err(Unexpected("a conversation was closed meanwhile")));
        }
        // The next sequence number of each conversation's events; the reminders of those
        // whose agent the customers now wait for.
        let mut next_seq: HashMap<i64, i64> = HashMap::with_capacity(rows.len());
        let mut reminders = Vec::new();
        for r in &rows {
            let id: i64 = r.get("id");
            let seq: i64 = r.get("event_seq");
            let status = Status::parse(&r.get::<String, _>("status"));
            let routed = match status {
                Some(Status::Pending | Status::Relay) | None => false,
                Some(Status::Queued) => crate::store::opt_i64(r, "queued_at").is_some(),
                Some(_) => true,
            };
            if !routed {
                return Ok(Err(Unexpected("a conversation needs routing")));
            }
            let agent = crate::store::opt_i64(r, "agent_id");
            if let (Some(Status::Assigned), Some(agent)) = (status, agent) {
                // A deflected call's conversation follows its flow's rules, one handed over
                // from the widget its site's.
                let (site, flow) = (opt_str(r, "site"), opt_str(r, "flow"));
                let scope = Scope {
                    account: run.iter().find(|j| j.conversation == id).map(|j| j.account),
                    site: site.as_deref(),
                    flow: flow.as_deref(),
                };
                let timers = waiting::reminders(&self.ctx().automations_in(scope), now);
                reminders.extend(timers.map(|(kind, due)| (id, kind, due, Some(agent))));
            }
            let joining = conversations
                .iter()
                .find(|c| c.0 == id)
                .map(|c| c.1)
                .unwrap_or(0);
            next_seq.insert(id, seq - joining + 1);
        }

        let messages: Vec<(i64, &str, &InboundMessage)> = run
            .iter()
            .map(|j| (j.conversation, j.account, j.message))
            .collect();
        let mut stored = match insert_messages(tx, &messages, now).await? {
            Ok(stored) => stored,
            Err(u) => return Ok(Err(u)),
        };

        let mut events = Vec::with_capacity(run.len());
        for j in run {
            let key = (j.account.to_string(), j.message.external_id.clone());
            let Some(message) = stored.remove(&key) else {
                return Ok(Err(Unexpected("a message was stored twice")));
            };
            let seq = next_seq.entry(j.conversation).or_default();
            events.push(NewEvent {
                conversation_id: Some(j.conversation),
                seq: *seq,
                kind: EventKind::MessageCreated,
                data: json!({ "message": message }),
                at: now,
            });
            *seq += 1;
        }
        tx.append_all(events).await?;
        if !reminders.is_empty() {
            crate::repo::timers::set_many_unless_armed(tx, &reminders).await?;
            self.ctx().wake_timers();
        }
        Ok(Ok(()))
    }
}

/// Inserts customers' messages (conversation, account, message), each in its conversation,
/// in order; returns them keyed by (account, external id), or [`Unexpected`] when one was
/// stored meanwhile.
pub(super) async fn insert_messages(
    tx: &mut Tx,
    messages: &[(i64, &str, &InboundMessage)],
    now: Millis,
) -> Result<Result<HashMap<(String, String), Message>, Unexpected>, ChatError> {
    let rows = json_rows(
        tx.kind(),
        2,
        &[
            ("conversation_id", Column::BigInt),
            ("kind", Column::Text),
            ("body", Column::Text),
            ("payload", Column::Text),
            ("interactive", Column::Text),
            ("account", Column::Text),
            ("external_id", Column::Text),
        ],
    );
    let sql = sql!(
        "WITH v AS ({rows}) \
         INSERT INTO messages (conversation_id, direction, kind, body, payload, interactive, channel, \
         account, external_id, status, created_at) \
         SELECT v.conversation_id, 'in', v.kind, v.body, v.payload, v.interactive, 'whatsapp', \
         v.account, v.external_id, 'received', $1 FROM v WHERE true ORDER BY v.ord \
         ON CONFLICT DO NOTHING RETURNING account, {MESSAGE_COLUMNS}"
    );
    let values: Vec<serde_json::Value> = messages
        .iter()
        .map(|(conversation, account, m)| {
            json!([
                conversation,
                m.kind,
                m.body,
                m.raw.to_string(),
                super::interactive_json(m),
                account,
                m.external_id
            ])
        })
        .collect();
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(serde_json::Value::from(values).to_string())
        .fetch_all(tx.conn())
        .await?;
    if rows.len() != messages.len() {
        return Ok(Err(Unexpected("a message was stored meanwhile")));
    }
    let mut stored: HashMap<(String, String), Message> = rows
        .iter()
        .filter_map(|r| {
            let m = crate::repo::messages::from_row(r);
            Some(((r.get("account"), m.external_id.clone()?), m))
        })
        .collect();
    // The files they carry, pending, all in one statement.
    let mut files = Vec::new();
    for (_, account, m) in messages.iter().filter(|(_, _, m)| !m.media.is_empty()) {
        if let Some(message) = stored.get(&(account.to_string(), m.external_id.clone())) {
            files.push((message.id, *account, m.media.as_slice()));
        }
    }
    let mut attachments = crate::repo::attachments::insert_all(tx, &files, now).await?;
    for message in stored.values_mut() {
        if let Some(a) = attachments.remove(&message.id) {
            message.attachments = a;
        }
    }
    Ok(Ok(stored))
}

/// The start of the customer-service window a message sets: when the customer sent it; a
/// provider clock ahead of ours counts as now.
pub(super) fn sent_at(m: &InboundMessage, now: Millis) -> Millis {
    if m.timestamp > 0 {
        m.timestamp.min(now)
    } else {
        now
    }
}
