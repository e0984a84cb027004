//! The outbox: every outgoing WhatsApp message is committed first (with its conversation's
//! change), then sent by this worker.
//!
//! - Claiming: a worker takes due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL), marks them
//!   `sending` with a lease (`LEASE`) and commits; then sends. Two workers — in one process
//!   or several — never hold the same row. A row whose lease ran out (its worker died) is
//!   taken again; on SQLite, where one process owns the file, rows left `sending` are
//!   released at start-up at once.
//! - Results: the provider's message id is recorded and the message becomes `sent`;
//!   timeouts, 5xx and rate limits (130429, 131056, 429) are retried with exponential
//!   back-off (`inbox.outbox.initial_backoff` doubling up to `max_backoff`); after
//!   `max_attempts`, or on a rejection (131047 outside the window, 131026 not on WhatsApp,
//!   132000 template mismatch, …), the row is dead-lettered (`dead`) and the message
//!   `failed` with the provider's code.
//! - Pacing: each account sends at most `messages_per_second` (80 by default, Meta's
//!   per-number throughput) from each process.
//!
//! Exactly once, except one window: a crash after the provider accepted a message but
//! before its id was recorded sends it again after the restart. Nothing can close that
//! window from this side (the Cloud API has no idempotency key).

use crate::Inbox;
use crate::clock::{Millis, ms};
use crate::model::{ChatError, DeliveryStatus};
use crate::provider::{Outgoing, Provider, SendError, Sent};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long a claimed row is reserved for its worker (longer than a send can take).
pub const LEASE: Duration = Duration::from_secs(60);
const BATCH: i64 = 64;
const IN_FLIGHT: usize = 64;

/// A claimed outbox row.
#[derive(Clone, Debug)]
pub(crate) struct Claimed {
    id: i64,
    message_id: i64,
    account: String,
    recipient: String,
    request: Outgoing,
    attempts: i64,
}

/// Paces sends per account.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// Waits for `account`'s next sending slot.
    async fn slot(&self, account: &str, per_second: u32) {
        let interval = Duration::from_secs(1) / per_second.max(1);
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next
                .get(account)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            next.insert(account.to_string(), slot + interval);
            slot
        };
        tokio::time::sleep_until(at).await;
    }
}

/// What one pass of the worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxPass {
    /// Accepted by the provider.
    pub sent: usize,
    /// To be retried.
    pub retried: usize,
    /// Dead-lettered.
    pub dead: usize,
}

impl Inbox {
    /// Rows left `sending` by a previous run of this process (SQLite only: one process owns
    /// the file) go back to `pending`.
    pub(crate) async fn release_orphaned_sends(&self) -> Result<u64, ChatError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'sending'",
        )
        .execute(self.store().pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn claim_due(&self, limit: i64) -> Result<Vec<Claimed>, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let skip = match tx.kind() {
            deflect_config::DatabaseKind::Sqlite => "",
            deflect_config::DatabaseKind::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let rows = sqlx::query(sql!(
            "SELECT id, message_id, account, recipient, request, attempts FROM outbox \
             WHERE (state = 'pending' AND due_at <= $1) OR (state = 'sending' AND lease_until < $1) \
             ORDER BY due_at, id LIMIT $2{skip}"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect();
        crate::store::lease(&mut tx, "outbox", &ids, now + ms(LEASE)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.get("id");
            let attempts = r.get::<i64, _>("attempts") + 1;
            let request: String = r.get("request");
            match serde_json::from_str::<Outgoing>(&request) {
                Ok(request) => out.push(Claimed {
                    id,
                    message_id: r.get("message_id"),
                    account: r.get("account"),
                    recipient: r.get("recipient"),
                    request,
                    attempts,
                }),
                Err(e) => {
                    tracing::error!(outbox_id = id, cause = %e, "unreadable outbox request dead-lettered");
                    sqlx::query("UPDATE outbox SET state = 'dead', last_error = $1 WHERE id = $2")
                        .bind(format!("unreadable request: {e}"))
                        .bind(id)
                        .execute(tx.conn())
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Claims and sends what is due, waiting for every send of the batch; the worker calls
    /// this in a loop, tests call it directly.
    pub async fn send_due(&self) -> Result<OutboxPass, ChatError> {
        let claimed = self.claim_due(BATCH).await?;
        let mut pass = OutboxPass::default();
        let mut set = tokio::task::JoinSet::new();
        for c in claimed {
            let inbox = self.clone();
            set.spawn(async move {
                let result = inbox.send_one(&c).await;
                inbox.complete(&c, result).await
            });
            while set.len() >= IN_FLIGHT {
                if let Some(r) = set.join_next().await {
                    tally(&mut pass, r);
                }
            }
        }
        while let Some(r) = set.join_next().await {
            tally(&mut pass, r);
        }
        Ok(pass)
    }

    async fn send_one(&self, c: &Claimed) -> Result<Sent, SendError> {
        let Some(client) = self.provider(&c.account) else {
            return Err(SendError::Rejected {
                code: None,
                message: format!("WhatsApp account {:?} is no longer configured", c.account),
            });
        };
        let per_second = self
            .account(&c.account)
            .map(|a| a.messages_per_second)
            .unwrap_or(80);
        self.pacer().slot(&c.account, per_second).await;
        let span = tracing::debug_span!("send", message_id = c.message_id, account = %c.account);
        let _e = span.enter();
        let started = Instant::now();
        let r = client.send(&c.recipient, &c.request).await;
        metrics::histogram!("deflect_outbox_send_seconds").record(started.elapsed().as_secs_f64());
        r
    }

    fn backoff(&self, attempts: i64) -> Millis {
        let o = &self.settings().inbox.outbox;
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let d = o.initial_backoff.saturating_mul(2u32.saturating_pow(exp));
        ms(d.min(o.max_backoff))
    }

    async fn complete(
        &self,
        c: &Claimed,
        result: Result<Sent, SendError>,
    ) -> Result<Outcome, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let conversation: i64 = sqlx::query("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(c.message_id)
            .fetch_one(tx.conn())
            .await?
            .get(0);
        let outcome = match result {
            Ok(sent) => {
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL WHERE id = $2",
                )
                .bind(now)
                .bind(c.id)
                .execute(tx.conn())
                .await?;
                sqlx::query("UPDATE messages SET external_id = $1 WHERE id = $2")
                    .bind(&sent.external_id)
                    .bind(c.message_id)
                    .execute(tx.conn())
                    .await?;
                self.advance_status(
                    &mut tx,
                    c.message_id,
                    conversation,
                    DeliveryStatus::Sent,
                    None,
                    None,
                    now,
                )
                .await?;
                // A status that overtook the answer.
                let early = sqlx::query(
                    "SELECT status, error_code, error_title FROM early_statuses WHERE channel = 'whatsapp' AND external_id = $1",
                )
                .bind(&sent.external_id)
                .fetch_optional(tx.conn())
                .await?;
                if let Some(e) = early {
                    sqlx::query("DELETE FROM early_statuses WHERE channel = 'whatsapp' AND external_id = $1")
                        .bind(&sent.external_id)
                        .execute(tx.conn())
                        .await?;
                    if let Some(st) = DeliveryStatus::parse(&e.get::<String, _>("status")) {
                        let title = crate::store::opt_str(&e, "error_title");
                        self.advance_status(
                            &mut tx,
                            c.message_id,
                            conversation,
                            st,
                            crate::store::opt_i64(&e, "error_code"),
                            title.as_deref(),
                            now,
                        )
                        .await?;
                    }
                }
                let deflection =
                    sqlx::query("SELECT call_id FROM deflections WHERE message_id = $1")
                        .bind(c.message_id)
                        .fetch_optional(tx.conn())
                        .await?;
                if let Some(d) = deflection {
                    tx.event(
                        Some(conversation),
                        "deflection.sent",
                        json!({ "call_id": d.get::<String, _>(0), "message_id": c.message_id, "external_id": sent.external_id }),
                        now,
                    )
                    .await?;
                }
                metrics::counter!("deflect_outbox_sent_total", "account" => c.account.clone())
                    .increment(1);
                Outcome::Sent
            }
            Err(SendError::Retry { code, message })
                if c.attempts < i64::from(self.settings().inbox.outbox.max_attempts) =>
            {
                let due = now + self.backoff(c.attempts);
                tracing::warn!(message_id = c.message_id, attempt = c.attempts, code, cause = %message, "send failed; will retry");
                sqlx::query(
                    "UPDATE outbox SET state = 'pending', due_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3",
                )
                .bind(due)
                .bind(&message)
                .bind(c.id)
                .execute(tx.conn())
                .await?;
                metrics::counter!("deflect_outbox_retries_total", "account" => c.account.clone())
                    .increment(1);
                Outcome::Retried
            }
            Err(e) => {
                let (code, message) = match &e {
                    SendError::Retry { code, message } => (
                        *code,
                        format!("gave up after {} attempts: {message}", c.attempts),
                    ),
                    SendError::Rejected { code, message } => (*code, message.clone()),
                };
                tracing::warn!(message_id = c.message_id, code, cause = %message, "message dead-lettered");
                sqlx::query("UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = $1 WHERE id = $2")
                    .bind(&message)
                    .bind(c.id)
                    .execute(tx.conn())
                    .await?;
                self.advance_status(
                    &mut tx,
                    c.message_id,
                    conversation,
                    DeliveryStatus::Failed,
                    code,
                    Some(&message),
                    now,
                )
                .await?;
                metrics::counter!("deflect_outbox_dead_total", "account" => c.account.clone())
                    .increment(1);
                Outcome::Dead
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Outbox rows by state (`pending`, `sending`, `sent`, `dead`).
    pub async fn outbox_depth(&self) -> Result<HashMap<String, i64>, ChatError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
            .fetch_all(self.store().pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<String, _>("state"), r.get::<i64, _>("n")))
            .collect())
    }

    /// When the next pending row is due.
    pub(crate) async fn next_outbox_due(&self) -> Result<Option<Millis>, ChatError> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN state = 'pending' THEN due_at ELSE lease_until END) FROM outbox \
             WHERE state IN ('pending', 'sending')",
        )
        .fetch_one(self.store().pool())
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0).ok().flatten())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retried,
    Dead,
}

fn tally(pass: &mut OutboxPass, r: Result<Result<Outcome, ChatError>, tokio::task::JoinError>) {
    match r {
        Ok(Ok(Outcome::Sent)) => pass.sent += 1,
        Ok(Ok(Outcome::Retried)) => pass.retried += 1,
        Ok(Ok(Outcome::Dead)) => pass.dead += 1,
        // The row stays `sending` and is taken again when its lease runs out.
        Ok(Err(e)) => tracing::error!(cause = %e, "recording a send's result failed"),
        Err(e) => tracing::error!(cause = %e, "a send task failed"),
    }
}

/// Keeps `Arc` in scope for the pacer's owner.
pub(crate) type SharedPacer = Arc<Pacer>;
