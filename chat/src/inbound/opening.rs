//! First contacts, stored together: a plain message (no reply context, no quick-reply
//! payload, no live hand-off code) from a WhatsApp id the inbox has never seen. Each opens a
//! contact, its identity and a conversation that is queued and routed at once. A run of them
//! takes about a dozen statements whatever its length — one per step for every row, where the
//! per-message path (`InboundService::receive_message`) needs some twenty per message — so a burst of
//! new customers does not queue behind the writer.
//!
//! What the per-message path would do is done here exactly: the same rows (contact named by
//! the profile, identity, conversation queued in the default queue with its wait timer,
//! the message, the assignment history), the same events with the same
//! per-conversation sequence and the same conversation snapshots (`conversation.created`,
//! `message.created`, `conversation.queued`, then `conversation.offered` when an agent takes
//! it), and the same routing: the conversations are offered in the order their messages came,
//! each to the least-busy available agent as the offers before it left them.
//!
//! Anything unexpected — an identity, conversation or message created meanwhile by another
//! process, a reference that collided — makes the run fail with [`Unexpected`]; the batch is
//! then rolled back and stored one delivery at a time by the per-message path.

use super::InboundService;
use super::joining::{Unexpected, insert_messages, sent_at};
use crate::clock::Millis;
use crate::lifecycle::dispatch;
use crate::model::TimerKind;
use crate::model::{ChatError, Conversation, EventKind};
use crate::provider::InboundMessage;
use crate::repo::conversations::{CONVERSATION_COLUMNS, CONVERSATION_FROM};
use crate::routing::{self, AgentId, AgentState, Decision};
use crate::store::{Column, NewEvent, Tx, ids_in, ids_value, json_rows};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;

/// A first contact of a run.
pub(super) struct Opening<'a> {
    pub(super) delivery: usize,
    pub(super) account: &'a str,
    pub(super) message: &'a InboundMessage,
}

/// An offer routing made for a conversation of the run.
struct Offer {
    agent: AgentId,
    expires_at: Millis,
    declined: String,
}

impl InboundService {
    /// Stores a run of first contacts (see the module documentation); returns, per message,
    /// its conversation, in the run's order. The run holds each WhatsApp id once.
    pub(super) async fn store_opening(
        &self,
        tx: &mut Tx,
        run: &[Opening<'_>],
        now: Millis,
    ) -> Result<Result<Vec<i64>, Unexpected>, ChatError> {
        let kind = tx.kind();
        let queue = self.default_queue().to_string();

        // Contacts, then their identities (mapped back by phone and WhatsApp id: the order of
        // RETURNING rows is not guaranteed).
        let rows = json_rows(kind, 2, &[("name", Column::Text), ("phone", Column::Text)]);
        let sql = sql!(
            "WITH v AS ({rows}) INSERT INTO contacts (name, phone, created_at) \
             SELECT v.name, v.phone, $1 FROM v WHERE true ORDER BY v.ord RETURNING id, phone"
        );
        let values: Vec<serde_json::Value> = run
            .iter()
            .map(|o| json!([o.message.profile_name, phone(o)]))
            .collect();
        let contact_ids = match inserted_ids(
            tx,
            sql,
            now,
            values,
            &[],
            |r| r.get::<String, _>("phone"),
            run.iter().map(phone),
            "a new contact was not returned",
        )
        .await?
        {
            Ok(ids) => ids,
            Err(u) => return Ok(Err(u)),
        };

        let rows = json_rows(
            kind,
            2,
            &[
                ("contact_id", Column::BigInt),
                ("external_id", Column::Text),
            ],
        );
        let sql = sql!(
            "WITH v AS ({rows}) INSERT INTO contact_identities (contact_id, channel, external_id, created_at) \
             SELECT v.contact_id, 'whatsapp', v.external_id, $1 FROM v WHERE true ORDER BY v.ord \
             ON CONFLICT (channel, external_id) DO NOTHING RETURNING id, external_id"
        );
        let values: Vec<serde_json::Value> = run
            .iter()
            .zip(&contact_ids)
            .map(|(o, contact)| json!([contact, o.message.from]))
            .collect();
        let identity_ids = match inserted_ids(
            tx,
            sql,
            now,
            values,
            &[],
            |r| r.get::<String, _>("external_id"),
            run.iter().map(|o| o.message.from.clone()),
            "a customer's identity was created meanwhile",
        )
        .await?
        {
            Ok(ids) => ids,
            Err(u) => return Ok(Err(u)),
        };

        // Their conversations, queued in the default queue (not routed yet, as when the
        // per-message path creates one).
        let rows = json_rows(
            kind,
            2,
            &[
                ("reference", Column::Text),
                ("contact_id", Column::BigInt),
                ("identity_id", Column::BigInt),
                ("account", Column::Text),
            ],
        );
        let sql = sql!(
            "WITH v AS ({rows}) INSERT INTO conversations (reference, contact_id, identity_id, channel, \
             origin, account, status, queue, last_activity_at, created_at) \
             SELECT v.reference, v.contact_id, v.identity_id, 'whatsapp', 'whatsapp', v.account, 'queued', \
             $3, $1, $1 FROM v WHERE true ORDER BY v.ord ON CONFLICT DO NOTHING RETURNING id, identity_id"
        );
        let values: Vec<serde_json::Value> = run
            .iter()
            .zip(contact_ids.iter().zip(&identity_ids))
            .map(|(o, (contact, identity))| {
                json!([crate::model::random_token(6), contact, identity, o.account])
            })
            .collect();
        let ids = match inserted_ids(
            tx,
            sql,
            now,
            values,
            &[&queue],
            |r| r.get::<i64, _>("identity_id"),
            identity_ids.iter().copied(),
            "a conversation could not be opened",
        )
        .await?
        {
            Ok(ids) => ids,
            Err(u) => return Ok(Err(u)),
        };
        let created = self.snapshots(tx, &ids).await?;

        // The messages; each conversation records its customer's activity and is queued (its
        // first queueing: the reports' fact).
        let stored = match insert_messages(
            tx,
            &ids.iter()
                .zip(run)
                .map(|(id, o)| (*id, o.account, o.message))
                .collect::<Vec<_>>(),
            now,
        )
        .await?
        {
            Ok(stored) => stored,
            Err(u) => return Ok(Err(u)),
        };
        let rows = json_rows(
            kind,
            2,
            &[("id", Column::BigInt), ("sent_at", Column::BigInt)],
        );
        let sql = sql!(
            "WITH v AS ({rows}) UPDATE conversations SET last_inbound_at = v.sent_at, \
             last_activity_at = $1, queued_at = $1, first_queued_at = COALESCE(first_queued_at, $1), \
             event_seq = 3 FROM v WHERE conversations.id = v.id"
        );
        let values: Vec<serde_json::Value> = ids
            .iter()
            .zip(run)
            .map(|(id, o)| json!([id, sent_at(o.message, now)]))
            .collect();
        sqlx::query(sql)
            .bind(now)
            .bind(serde_json::Value::from(values).to_string())
            .execute(tx.conn())
            .await?;
        let queued = self.snapshots(tx, &ids).await?;

        // Routing, in the order the messages came.
        let offers = self.route_opened(tx, &queue, run, &ids, now).await?;
        let offered = if offers.is_empty() {
            HashMap::new()
        } else {
            self.apply_offers(tx, &offers, now).await?
        };

        // Timers and the assignment history, each conversation's rows in the order the
        // per-message path writes them.
        let rules = self.rules(&queue);
        let mut timers = Vec::with_capacity(ids.len() * 3);
        let mut history = Vec::with_capacity(ids.len() * 2);
        for id in &ids {
            timers.push(json!([
                id,
                TimerKind::Wait.as_str(),
                now + rules.wait_timeout,
                null_id()
            ]));
            history.push(json!([id, null_id(), "queued"]));
            if let Some(o) = offers.get(id) {
                timers.push(json!([
                    id,
                    TimerKind::Offer.as_str(),
                    o.expires_at,
                    o.agent
                ]));
                history.push(json!([id, o.agent, "offered"]));
            }
        }
        let rows = json_rows(
            kind,
            1,
            &[
                ("conversation_id", Column::BigInt),
                ("kind", Column::Text),
                ("due_at", Column::BigInt),
                ("agent_id", Column::BigInt),
            ],
        );
        sqlx::query(sql!(
            "WITH v AS ({rows}) INSERT INTO timers (conversation_id, kind, due_at, agent_id) \
             SELECT v.conversation_id, v.kind, v.due_at, v.agent_id FROM v WHERE true ORDER BY v.ord"
        ))
        .bind(serde_json::Value::from(timers).to_string())
        .execute(tx.conn())
        .await?;
        self.wake_timers();
        let rows = json_rows(
            kind,
            3,
            &[
                ("conversation_id", Column::BigInt),
                ("agent_id", Column::BigInt),
                ("action", Column::Text),
            ],
        );
        sqlx::query(sql!(
            "WITH v AS ({rows}) INSERT INTO assignments (conversation_id, agent_id, queue, action, by_agent_id, at) \
             SELECT v.conversation_id, v.agent_id, $1, v.action, NULL, $2 FROM v WHERE true ORDER BY v.ord"
        ))
        .bind(&queue)
        .bind(now)
        .bind(serde_json::Value::from(history).to_string())
        .execute(tx.conn())
        .await?;

        // The events, each conversation's together and numbered from 1.
        let mut events = Vec::with_capacity(ids.len() * 4);
        for (id, o) in ids.iter().zip(run) {
            let (Some(c), Some(m), Some(q)) = (
                created.get(id),
                stored.get(&(o.account.to_string(), o.message.external_id.clone())),
                queued.get(id),
            ) else {
                return Ok(Err(Unexpected("a new conversation was not found")));
            };
            let event = |seq, kind, data| NewEvent {
                conversation_id: Some(*id),
                seq,
                kind,
                data,
                at: now,
            };
            events.push(event(
                1,
                EventKind::ConversationCreated,
                json!({ "conversation": c }),
            ));
            events.push(event(2, EventKind::MessageCreated, json!({ "message": m })));
            events.push(event(
                3,
                EventKind::ConversationQueued,
                json!({ "conversation": q }),
            ));
            if let (Some(offer), Some(c)) = (offers.get(id), offered.get(id)) {
                events.push(event(
                    4,
                    EventKind::ConversationOffered,
                    json!({ "conversation": c, "agent_id": offer.agent, "expires_at": offer.expires_at }),
                ));
            }
        }
        tx.append_all(events).await?;
        metrics::counter!("deflect_inbox_conversations_total").increment(ids.len() as u64);
        if !offers.is_empty() {
            metrics::counter!("deflect_inbox_offers_total", "queue" => queue)
                .increment(offers.len() as u64);
        }
        // In arrival order, like the offers.
        for id in &ids {
            if let Some(o) = offers.get(id) {
                dispatch::accept_if_wanted(self.ctx(), tx, *id, o.agent, now).await?;
            }
        }
        Ok(Ok(ids))
    }

    /// Routes the run's new conversations (all waiting in `queue`), in order: each is offered
    /// to the agent [`routing::offer`] chooses given the offers made before it in the run.
    async fn route_opened(
        &self,
        tx: &mut Tx,
        queue: &str,
        run: &[Opening<'_>],
        ids: &[i64],
        now: Millis,
    ) -> Result<HashMap<i64, Offer>, ChatError> {
        let rules = self.rules(queue);
        crate::repo::queues::lock(tx, queue).await?;
        // The queue's agents as each account sees them, read once; offers update them here.
        let mut agents: HashMap<&str, Vec<AgentState>> = HashMap::new();
        let mut offered: HashMap<AgentId, u32> = HashMap::new();
        let mut offers = HashMap::new();
        for (id, o) in ids.iter().zip(run) {
            if !agents.contains_key(o.account) {
                let mut read = crate::repo::agents::of_queue(
                    tx,
                    queue,
                    Some(o.account),
                    self.ctx().capacity(),
                )
                .await?;
                for a in &mut read {
                    if let Some(n) = offered.get(&a.id) {
                        a.load = a.load.saturating_add(*n);
                        a.last_offer_at = now;
                    }
                }
                agents.insert(o.account, read);
            }
            let mine = agents.get(o.account).map(Vec::as_slice).unwrap_or(&[]);
            let r = routing::offer(&rules, mine, &[], now);
            if let Decision::Offer { agent, expires_at } = r.decision {
                *offered.entry(agent).or_default() += 1;
                for a in agents.values_mut().flatten().filter(|a| a.id == agent) {
                    a.load = a.load.saturating_add(1);
                    a.last_offer_at = now;
                }
                offers.insert(
                    *id,
                    Offer {
                        agent,
                        expires_at,
                        declined: routing::encode_declined(&r.declined),
                    },
                );
            }
        }
        Ok(offers)
    }

    /// Records the offers: conversations offered (their fourth event to come), agents'
    /// last offer times; returns the conversations as offered.
    async fn apply_offers(
        &self,
        tx: &mut Tx,
        offers: &HashMap<i64, Offer>,
        now: Millis,
    ) -> Result<HashMap<i64, Conversation>, ChatError> {
        let kind = tx.kind();
        let rows = json_rows(
            kind,
            1,
            &[
                ("id", Column::BigInt),
                ("agent_id", Column::BigInt),
                ("declined", Column::Text),
            ],
        );
        let mut values: Vec<(i64, &Offer)> = offers.iter().map(|(id, o)| (*id, o)).collect();
        values.sort_unstable_by_key(|(id, _)| *id);
        let json: Vec<serde_json::Value> = values
            .iter()
            .map(|(id, o)| json!([id, o.agent, o.declined]))
            .collect();
        sqlx::query(sql!(
            "WITH v AS ({rows}) UPDATE conversations SET status = 'offered', agent_id = v.agent_id, \
             declined = v.declined, event_seq = 4 FROM v WHERE conversations.id = v.id"
        ))
        .bind(serde_json::Value::from(json).to_string())
        .execute(tx.conn())
        .await?;
        let mut agents: Vec<AgentId> = offers.values().map(|o| o.agent).collect();
        agents.sort_unstable();
        agents.dedup();
        let (with, wanted) = ids_in(kind, 2, "id");
        sqlx::query(sql!(
            "{with} UPDATE agents SET last_offer_at = $1 WHERE {wanted}"
        ))
        .bind(now)
        .bind(ids_value(&agents))
        .execute(tx.conn())
        .await?;
        let offered: Vec<i64> = values.iter().map(|(id, _)| *id).collect();
        self.snapshots(tx, &offered).await
    }

    /// The conversations `ids` as they are now within `tx`, as events carry them.
    async fn snapshots(
        &self,
        tx: &mut Tx,
        ids: &[i64],
    ) -> Result<HashMap<i64, Conversation>, ChatError> {
        let (with, wanted) = ids_in(tx.kind(), 1, "c.id");
        let rows = sqlx::query(sql!(
            "{with} SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE {wanted}"
        ))
        .bind(ids_value(ids))
        .fetch_all(tx.conn())
        .await?;
        Ok(rows
            .iter()
            .map(crate::repo::conversations::from_row)
            .map(|c| (c.id, c))
            .collect())
    }
}

/// Runs `sql`, an `INSERT … RETURNING id` over the JSON rows `values` (bound at `$2`; `now`
/// at `$1`, then the `extra` texts), and gives the new ids in the order of `keys`, each found
/// by `key` among the returned rows (whose order is not guaranteed). A key without a row
/// (a conflict skipped it) is [`Unexpected`] `why`.
#[allow(clippy::too_many_arguments)]
async fn inserted_ids<K: Eq + std::hash::Hash>(
    tx: &mut Tx,
    sql: sqlx::AssertSqlSafe<String>,
    now: Millis,
    values: Vec<serde_json::Value>,
    extra: &[&str],
    key: impl Fn(&sqlx::any::AnyRow) -> K,
    keys: impl Iterator<Item = K>,
    why: &'static str,
) -> Result<Result<Vec<i64>, Unexpected>, ChatError> {
    let mut q = sqlx::query(sql)
        .bind(now)
        .bind(serde_json::Value::from(values).to_string());
    for e in extra {
        q = q.bind(*e);
    }
    let found: HashMap<K, i64> = q
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| (key(r), r.get("id")))
        .collect();
    Ok(keys
        .map(|k| found.get(&k).copied().ok_or(Unexpected(why)))
        .collect())
}

/// The phone a new WhatsApp contact gets: its WhatsApp id in E.164.
fn phone(o: &Opening<'_>) -> String {
    format!("+{}", o.message.from)
}

/// A JSON null for an absent id column.
fn null_id() -> serde_json::Value {
    serde_json::Value::Null
}
