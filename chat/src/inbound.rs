//! Inbound WhatsApp traffic: customers' messages and delivery statuses, from any provider's
//! webhook (or the sandbox), committed in one transaction per delivery.
//!
//! - A message whose external id is known is a repeated delivery: nothing happens.
//! - A message joins, in this order: the conversation of the message it answers (`context`
//!   id — a deflection template's wamid), the conversation named by a quick-reply payload
//!   (`deflect:<reference>`), the web conversation of a one-time hand-off code in its text,
//!   the open conversation of the same WhatsApp id on that account; else a new conversation.
//! - A status only moves a message forward (sent → delivered → read; failed is final). A
//!   status for a message not recorded yet (it can overtake the send's answer) is kept and
//!   applied when the message's id is recorded.
//! - Failures: 131047 (outside the 24 h window) marks the conversation as needing the
//!   recontact template; 131026 marks it unreachable.

use crate::Inbox;
use crate::clock::Millis;
use crate::model::{Channel, ChatError, DeliveryStatus, MESSAGE_COLUMNS, Message, Origin, Status};
use crate::provider::{ErrorMeaning, Inbound, InboundMessage, StatusUpdate, error_meaning};
use crate::store::Tx;
use crate::timers::TimerKind;
use serde_json::json;
use sqlx::Row;

/// What a delivery changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// New messages stored.
    pub messages: usize,
    /// Messages seen before (repeated deliveries).
    pub duplicates: usize,
    /// Statuses applied or kept for later.
    pub statuses: usize,
    /// Conversations the new messages joined.
    pub conversations: Vec<i64>,
}

pub(crate) const WHATSAPP: &str = "whatsapp";

impl Inbox {
    /// Stores one webhook delivery for `account` (already verified) in one transaction.
    pub async fn receive(&self, account: &str, items: &[Inbound]) -> Result<Received, ChatError> {
        if self.account(account).is_none() {
            return Err(ChatError::NotFound("WhatsApp account"));
        }
        let mut attempt = 0;
        loop {
            match self.receive_once(account, items).await {
                Err(e)
                    if (e.is_transient()
                        || matches!(&e, ChatError::Store(s) if s.is_unique_violation()))
                        && attempt < 5 =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn receive_once(&self, account: &str, items: &[Inbound]) -> Result<Received, ChatError> {
        let now = self.now();
        let mut out = Received::default();
        let mut tx = self.store().write().await?;
        for item in items {
            match item {
                Inbound::Message(m) => {
                    match self.receive_message(&mut tx, account, m, now).await? {
                        Some(conversation) => {
                            out.messages += 1;
                            if !out.conversations.contains(&conversation) {
                                out.conversations.push(conversation);
                            }
                        }
                        None => out.duplicates += 1,
                    }
                }
                Inbound::Status(s) => {
                    self.apply_status(&mut tx, s, now).await?;
                    out.statuses += 1;
                }
            }
        }
        tx.commit().await?;
        metrics::counter!("deflect_inbox_messages_total", "direction" => "in", "channel" => "whatsapp")
            .increment(out.messages as u64);
        metrics::counter!("deflect_inbox_duplicate_deliveries_total")
            .increment(out.duplicates as u64);
        Ok(out)
    }

    /// The contact identity of a WhatsApp id (created with a contact when new); returns
    /// (identity, contact, created).
    pub(crate) async fn whatsapp_identity(
        &self,
        tx: &mut Tx,
        wa_id: &str,
        name: Option<&str>,
        now: Millis,
    ) -> Result<(i64, i64, bool), ChatError> {
        let find = "SELECT i.id, i.contact_id, k.name FROM contact_identities i \
                    JOIN contacts k ON k.id = i.contact_id WHERE i.channel = $1 AND i.external_id = $2";
        if let Some(r) = sqlx::query(find)
            .bind(WHATSAPP)
            .bind(wa_id)
            .fetch_optional(tx.conn())
            .await?
        {
            let contact: i64 = r.get("contact_id");
            if let (Some(n), None) = (name, crate::store::opt_str(&r, "name")) {
                sqlx::query("UPDATE contacts SET name = $1 WHERE id = $2 AND name IS NULL")
                    .bind(n)
                    .bind(contact)
                    .execute(tx.conn())
                    .await?;
            }
            return Ok((r.get("id"), contact, false));
        }
        let contact: i64 = sqlx::query(
            "INSERT INTO contacts (name, phone, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(format!("+{wa_id}"))
        .bind(now)
        .fetch_one(tx.conn())
        .await?
        .get(0);
        let inserted = sqlx::query(
            "INSERT INTO contact_identities (contact_id, channel, external_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
        )
        .bind(contact)
        .bind(WHATSAPP)
        .bind(wa_id)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        match inserted {
            Some(r) => Ok((r.get(0), contact, true)),
            None => {
                // Another process created it first.
                sqlx::query("DELETE FROM contacts WHERE id = $1")
                    .bind(contact)
                    .execute(tx.conn())
                    .await?;
                let r = sqlx::query(find)
                    .bind(WHATSAPP)
                    .bind(wa_id)
                    .fetch_one(tx.conn())
                    .await?;
                Ok((r.get("id"), r.get("contact_id"), false))
            }
        }
    }

    /// The open conversation of an identity on an account, creating one (status `status`)
    /// when there is none; returns (id, created).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_conversation(
        &self,
        tx: &mut Tx,
        identity: i64,
        contact: i64,
        account: &str,
        origin: Origin,
        status: Status,
        queue: &str,
        now: Millis,
    ) -> Result<(i64, bool), ChatError> {
        let find = "SELECT id FROM conversations WHERE identity_id = $1 AND account = $2 AND status <> 'closed'";
        if let Some(r) = sqlx::query(find)
            .bind(identity)
            .bind(account)
            .fetch_optional(tx.conn())
            .await?
        {
            return Ok((r.get(0), false));
        }
        for _ in 0..5 {
            let inserted = sqlx::query(
                "INSERT INTO conversations (reference, contact_id, identity_id, channel, origin, account, \
                 status, queue, last_activity_at, created_at) \
                 VALUES ($1, $2, $3, 'whatsapp', $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(crate::random_token(6))
            .bind(contact)
            .bind(identity)
            .bind(origin.as_str())
            .bind(account)
            .bind(status.as_str())
            .bind(queue)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(r) = inserted {
                let id: i64 = r.get(0);
                self.conversation_created(tx, id, now).await?;
                return Ok((id, true));
            }
            // Either another process opened one (use it) or the reference collided (retry).
            if let Some(r) = sqlx::query(find)
                .bind(identity)
                .bind(account)
                .fetch_optional(tx.conn())
                .await?
            {
                return Ok((r.get(0), false));
            }
        }
        Err(ChatError::Conflict("could not open a conversation".into()))
    }

    /// Bookkeeping for a new conversation: its event and inactivity timer.
    pub(crate) async fn conversation_created(
        &self,
        tx: &mut Tx,
        id: i64,
        now: Millis,
    ) -> Result<(), ChatError> {
        self.set_timer(
            tx,
            id,
            TimerKind::Inactivity,
            now + self.inactivity_ms(),
            None,
        )
        .await?;
        self.conversation_event(tx, id, "conversation.created", json!({}), now)
            .await?;
        metrics::counter!("deflect_inbox_conversations_total").increment(1);
        Ok(())
    }

    async fn receive_message(
        &self,
        tx: &mut Tx,
        account: &str,
        m: &InboundMessage,
        now: Millis,
    ) -> Result<Option<i64>, ChatError> {
        let seen = sqlx::query("SELECT 1 FROM messages WHERE channel = $1 AND external_id = $2")
            .bind(WHATSAPP)
            .bind(&m.external_id)
            .fetch_optional(tx.conn())
            .await?;
        if seen.is_some() {
            return Ok(None);
        }
        let (identity, contact, new_identity) = self
            .whatsapp_identity(tx, &m.from, m.profile_name.as_deref(), now)
            .await?;
        let conversation = match self.linked_conversation(tx, m).await? {
            Some(c) => c,
            None => match self
                .handoff(tx, account, identity, contact, new_identity, m, now)
                .await?
            {
                Some(c) => c,
                None => {
                    let queue = self.default_queue().to_string();
                    self.open_conversation(
                        tx,
                        identity,
                        contact,
                        account,
                        Origin::Whatsapp,
                        Status::Queued,
                        &queue,
                        now,
                    )
                    .await?
                    .0
                }
            },
        };
        let inserted = sqlx::query(sql!(
            "INSERT INTO messages (conversation_id, direction, kind, body, payload, channel, external_id, \
             status, created_at) VALUES ($1, 'in', $2, $3, $4, 'whatsapp', $5, 'received', $6) \
             ON CONFLICT DO NOTHING RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(conversation)
        .bind(&m.kind)
        .bind(m.body.as_deref())
        .bind(m.raw.to_string())
        .bind(&m.external_id)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = inserted else {
            return Ok(None);
        };
        let message = Message::from_row(&row);
        // The window runs from the customer's message; a provider clock ahead of ours counts
        // as now.
        let sent_at = if m.timestamp > 0 {
            m.timestamp.min(now)
        } else {
            now
        };
        // One update records the activity, advances the event sequence and (PostgreSQL)
        // locks the conversation.
        let row = sqlx::query(
            "UPDATE conversations SET last_inbound_at = $1, last_activity_at = $2, \
             event_seq = event_seq + 1 WHERE id = $3 RETURNING event_seq, status, queued_at, queue",
        )
        .bind(sent_at)
        .bind(now)
        .bind(conversation)
        .fetch_one(tx.conn())
        .await?;
        let seq: i64 = row.get("event_seq");
        tx.event_with_seq(
            Some(conversation),
            seq,
            "message.created",
            json!({ "message": message }),
            now,
        )
        .await?;
        let status = Status::parse(&row.get::<String, _>("status"));
        let queued_at = crate::store::opt_i64(&row, "queued_at");
        let queue: String = row.get("queue");
        match status {
            // The customer answered the deflection: now it needs an agent.
            Some(Status::Pending) => {
                self.enqueue(tx, conversation, &queue, None, now).await?;
            }
            // Created just now as queued: route it.
            Some(Status::Queued) if queued_at.is_none() => {
                self.enqueue(tx, conversation, &queue, None, now).await?;
            }
            _ => {}
        }
        Ok(Some(conversation))
    }

    /// The open conversation a reply points at: by context id, then by quick-reply payload.
    async fn linked_conversation(
        &self,
        tx: &mut Tx,
        m: &InboundMessage,
    ) -> Result<Option<i64>, ChatError> {
        if let Some(ctx) = &m.context_id {
            let r = sqlx::query(
                "SELECT c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                 WHERE m.channel = 'whatsapp' AND m.external_id = $1 AND c.status <> 'closed'",
            )
            .bind(ctx)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(r) = r {
                return Ok(Some(r.get(0)));
            }
        }
        if let Some(reference) = m
            .button_payload
            .as_deref()
            .and_then(crate::deflection::reference_in_payload)
        {
            let r = sqlx::query(
                "SELECT id FROM conversations WHERE reference = $1 AND status <> 'closed'",
            )
            .bind(reference)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(r) = r {
                return Ok(Some(r.get(0)));
            }
        }
        Ok(None)
    }

    /// A text carrying an unspent hand-off code continues that (web) conversation on
    /// WhatsApp: same conversation, history kept, code spent.
    #[allow(clippy::too_many_arguments)]
    async fn handoff(
        &self,
        tx: &mut Tx,
        account: &str,
        identity: i64,
        contact: i64,
        new_identity: bool,
        m: &InboundMessage,
        now: Millis,
    ) -> Result<Option<i64>, ChatError> {
        let Some(text) = m.body.as_deref().filter(|_| m.kind == "text") else {
            return Ok(None);
        };
        for code in crate::web::candidate_codes(text) {
            let row = sqlx::query(sql!(
                "SELECT conversation_id FROM handoff_codes WHERE code = $1 AND spent_at IS NULL \
                 AND expires_at > $2{}",
                tx.for_update()
            ))
            .bind(&code)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            let Some(row) = row else { continue };
            let target: i64 = row.get(0);
            let (c, _, _) = self.load_locked(tx, target).await?;
            if c.status == Status::Closed {
                continue;
            }
            sqlx::query("UPDATE handoff_codes SET spent_at = $1 WHERE code = $2")
                .bind(now)
                .bind(&code)
                .execute(tx.conn())
                .await?;
            // The customer's other open WhatsApp conversation on this account, if any, is
            // folded into this one.
            let other = sqlx::query(
                "SELECT id FROM conversations WHERE identity_id = $1 AND account = $2 \
                 AND status <> 'closed' AND id <> $3",
            )
            .bind(identity)
            .bind(account)
            .bind(target)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(o) = other {
                self.close_in_tx(tx, o.get(0), "merged", None, now).await?;
            }
            if new_identity && contact != c.contact_id {
                sqlx::query("UPDATE contact_identities SET contact_id = $1 WHERE id = $2")
                    .bind(c.contact_id)
                    .bind(identity)
                    .execute(tx.conn())
                    .await?;
                sqlx::query("DELETE FROM contacts WHERE id = $1")
                    .bind(contact)
                    .execute(tx.conn())
                    .await?;
            }
            sqlx::query("UPDATE contacts SET phone = $1 WHERE id = $2 AND phone IS NULL")
                .bind(format!("+{}", m.from))
                .bind(c.contact_id)
                .execute(tx.conn())
                .await?;
            sqlx::query(
                "UPDATE conversations SET channel = 'whatsapp', account = $1, identity_id = $2 WHERE id = $3",
            )
            .bind(account)
            .bind(identity)
            .bind(target)
            .execute(tx.conn())
            .await?;
            self.conversation_event(
                tx,
                target,
                "conversation.channel_changed",
                json!({ "channel": Channel::Whatsapp, "code": code }),
                now,
            )
            .await?;
            return Ok(Some(target));
        }
        Ok(None)
    }

    /// Applies a delivery status (see the module documentation).
    pub(crate) async fn apply_status(
        &self,
        tx: &mut Tx,
        s: &StatusUpdate,
        now: Millis,
    ) -> Result<(), ChatError> {
        let rank = s.status.rank();
        let row = sqlx::query(
            "SELECT id, conversation_id, status_rank FROM messages WHERE channel = 'whatsapp' AND external_id = $1",
        )
        .bind(&s.external_id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            sqlx::query(
                "INSERT INTO early_statuses (channel, external_id, status, status_rank, error_code, \
                 error_title, at) VALUES ('whatsapp', $1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (channel, external_id) DO UPDATE SET status = excluded.status, \
                 status_rank = excluded.status_rank, error_code = excluded.error_code, \
                 error_title = excluded.error_title, at = excluded.at \
                 WHERE early_statuses.status_rank < excluded.status_rank",
            )
            .bind(&s.external_id)
            .bind(s.status.as_str())
            .bind(rank)
            .bind(s.error_code)
            .bind(s.error_title.as_deref())
            .bind(now)
            .execute(tx.conn())
            .await?;
            return Ok(());
        };
        let message: i64 = row.get("id");
        let conversation: i64 = row.get("conversation_id");
        self.advance_status(
            tx,
            message,
            conversation,
            s.status,
            s.error_code,
            s.error_title.as_deref(),
            now,
        )
        .await
    }

    /// Moves a message's status forward (never back) and reacts to failures.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn advance_status(
        &self,
        tx: &mut Tx,
        message: i64,
        conversation: i64,
        status: DeliveryStatus,
        error_code: Option<i64>,
        error_title: Option<&str>,
        now: Millis,
    ) -> Result<(), ChatError> {
        let done = sqlx::query(
            "UPDATE messages SET status = $1, status_rank = $2, error_code = $3, error_title = $4 \
             WHERE id = $5 AND status_rank < $2",
        )
        .bind(status.as_str())
        .bind(status.rank())
        .bind(error_code)
        .bind(error_title)
        .bind(message)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(());
        }
        tx.event(
            Some(conversation),
            "message.status",
            json!({ "message_id": message, "status": status, "error_code": error_code, "error_title": error_title }),
            now,
        )
        .await?;
        if status == DeliveryStatus::Failed {
            metrics::counter!("deflect_inbox_delivery_failures_total").increment(1);
            self.on_failure(tx, conversation, error_code, now).await?;
        }
        Ok(())
    }

    pub(crate) async fn on_failure(
        &self,
        tx: &mut Tx,
        conversation: i64,
        error_code: Option<i64>,
        now: Millis,
    ) -> Result<(), ChatError> {
        match error_meaning(error_code) {
            ErrorMeaning::OutsideWindow => {
                let (c, _, _) = self.load_locked(tx, conversation).await?;
                let template = c
                    .account
                    .as_deref()
                    .and_then(|a| self.account(a))
                    .map(|a| a.templates.recontact.name.clone());
                tx.event(
                    Some(conversation),
                    "conversation.window_closed",
                    json!({ "recontact_template": template }),
                    now,
                )
                .await?;
            }
            ErrorMeaning::Unreachable => {
                sqlx::query("UPDATE conversations SET unreachable = 1 WHERE id = $1")
                    .bind(conversation)
                    .execute(tx.conn())
                    .await?;
                self.conversation_event(
                    tx,
                    conversation,
                    "conversation.unreachable",
                    json!({}),
                    now,
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
