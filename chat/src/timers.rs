//! Durable timers: rows (conversation, kind, due time) fired by a worker. They survive
//! restarts; with PostgreSQL any process may fire a timer, and each fires exactly once: a
//! worker takes a due row with `FOR UPDATE SKIP LOCKED`, deletes it and applies its effect in
//! one transaction, so a second worker never sees it and a crash before the commit leaves it
//! for the next.
//!
//! Kinds: `offer` (an offer lapses), `wait` (a queue's wait timeout), `transfer` (a transfer
//! returns unread), `inactivity` (auto-close), `escalation` (a web visitor waited too long:
//! the widget offers WhatsApp). A timer is one row per conversation and kind;
//! arming it again moves its due time. Every handler re-checks the conversation, so a timer
//! made stale by a later change does nothing.

use crate::Inbox;
use crate::clock::Millis;
pub use crate::model::INACTIVE;
use crate::model::{ChatError, Status, TimerKind};
use crate::routing::AgentId;
use crate::store::Tx;
use sqlx::Row;

impl Inbox {
    /// Arms (or moves) a conversation's timer of `kind`.
    pub(crate) async fn set_timer(
        &self,
        tx: &mut Tx,
        conversation: i64,
        kind: TimerKind,
        due_at: Millis,
        agent: Option<AgentId>,
    ) -> Result<(), ChatError> {
        sqlx::query(
            "INSERT INTO timers (conversation_id, kind, due_at, agent_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (conversation_id, kind) DO UPDATE SET due_at = excluded.due_at, \
             agent_id = excluded.agent_id",
        )
        .bind(conversation)
        .bind(kind.as_str())
        .bind(due_at)
        .bind(agent)
        .execute(tx.conn())
        .await?;
        self.wake_timers();
        Ok(())
    }

    /// Disarms a conversation's timer of `kind`.
    pub(crate) async fn cancel_timer(
        &self,
        tx: &mut Tx,
        conversation: i64,
        kind: TimerKind,
    ) -> Result<(), ChatError> {
        sqlx::query("DELETE FROM timers WHERE conversation_id = $1 AND kind = $2")
            .bind(conversation)
            .bind(kind.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// When the next timer is due, if any.
    pub async fn next_timer_due(&self) -> Result<Option<Millis>, ChatError> {
        let row = sqlx::query("SELECT MIN(due_at) FROM timers")
            .fetch_one(self.store().pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0).ok().flatten())
    }

    /// Fires every timer due at the clock's `now`, one transaction each; returns how many
    /// fired. The timer worker calls this; tests call it after moving a manual clock.
    pub async fn fire_due_timers(&self) -> Result<usize, ChatError> {
        let mut fired = 0;
        let mut conflicts = 0;
        loop {
            match self.fire_one().await {
                Ok(true) => fired += 1,
                Ok(false) => return Ok(fired),
                // Two processes' changes crossed (a deadlock): the loser retries.
                Err(e) if e.is_transient() && conflicts < 10 => conflicts += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Fires the earliest due timer, if any.
    async fn fire_one(&self) -> Result<bool, ChatError> {
        {
            let now = self.now();
            let mut tx = self.store().write().await?;
            let skip = match tx.kind() {
                deflect_config::DatabaseKind::Sqlite => "",
                deflect_config::DatabaseKind::Postgres => " FOR UPDATE SKIP LOCKED",
            };
            let row = sqlx::query(sql!(
                "SELECT id, conversation_id, kind, agent_id FROM timers WHERE due_at <= $1 \
                 ORDER BY due_at, id LIMIT 1{skip}"
            ))
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            let Some(row) = row else {
                return Ok(false);
            };
            let id: i64 = row.get("id");
            let conversation: i64 = row.get("conversation_id");
            let kind: String = row.get("kind");
            let agent = crate::store::opt_i64(&row, "agent_id");
            sqlx::query("DELETE FROM timers WHERE id = $1")
                .bind(id)
                .execute(tx.conn())
                .await?;
            let span = tracing::debug_span!("timer", conversation_id = conversation, kind = %kind);
            let _enter = span.enter();
            match TimerKind::parse(&kind) {
                Some(k) => self.fire(&mut tx, conversation, k, agent, now).await?,
                None => tracing::warn!(kind, "unknown timer kind dropped"),
            }
            tx.commit().await?;
            metrics::counter!("deflect_inbox_timers_fired_total", "kind" => kind).increment(1);
            Ok(true)
        }
    }

    async fn fire(
        &self,
        tx: &mut Tx,
        conversation: i64,
        kind: TimerKind,
        agent: Option<AgentId>,
        now: Millis,
    ) -> Result<(), ChatError> {
        match kind {
            TimerKind::Offer => {
                if let Some(agent) = agent {
                    self.decline(tx, conversation, agent, "expired", now)
                        .await?;
                }
            }
            TimerKind::Wait => self.wait_expired(tx, conversation, now).await?,
            TimerKind::Transfer => {
                let (c, _, _) = self.load_locked(tx, conversation).await?;
                let open = matches!(c.status, Status::Offered | Status::Queued);
                if let (true, Some(back)) = (open, c.return_agent_id) {
                    if let Some(a) = c.agent_id {
                        sqlx::query(
                            "INSERT INTO assignments (conversation_id, agent_id, queue, action, at) \
                             VALUES ($1, $2, $3, 'expired', $4)",
                        )
                        .bind(conversation)
                        .bind(a)
                        .bind(&c.queue)
                        .bind(now)
                        .execute(tx.conn())
                        .await?;
                    }
                    self.return_to(tx, conversation, back, now).await?;
                }
            }
            TimerKind::Escalation => {
                let (c, _, _) = self.load_locked(tx, conversation).await?;
                let waiting = matches!(c.status, Status::Queued | Status::Offered);
                if waiting && c.channel == crate::Channel::Web && c.escalation_at.is_none() {
                    self.offer_escalation(
                        tx,
                        conversation,
                        crate::web::EscalationReason::Timeout,
                        now,
                    )
                    .await?;
                }
            }
            TimerKind::Inactivity => {
                let (c, _, _) = self.load_locked(tx, conversation).await?;
                if c.status == Status::Closed {
                    return Ok(());
                }
                let due = c.last_activity_at + self.inactivity_ms();
                if due > now {
                    self.set_timer(tx, conversation, TimerKind::Inactivity, due, None)
                        .await?;
                } else {
                    self.close_in_tx(tx, conversation, INACTIVE, None, now)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
