//! Recording what a provider accepted (see the module documentation of [`super`]): the
//! provider's id kept on the outbox row first, then the message's id, status and events —
//! retried as a record, never as a send — and confirmations that arrive with the provider's
//! status callbacks.

use super::{Claimed, LEASE};
use crate::Inbox;
use crate::clock::{Millis, ms};
use crate::model::{ChatError, DeliveryStatus, EventKind};
use crate::provider::Sent;
use crate::store::Tx;
use serde_json::json;
use sqlx::Row;
use std::time::Duration;
use tokio::time::Instant;

/// The conversation of message `id`.
pub(super) async fn conversation_of(tx: &mut Tx, message: i64) -> Result<i64, ChatError> {
    Ok(
        sqlx::query("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(message)
            .fetch_one(tx.conn())
            .await?
            .get(0),
    )
}

/// Reserves accepted rows for this worker's record pass.
pub(super) async fn lease_records(
    tx: &mut Tx,
    ids: &[i64],
    until: Millis,
) -> Result<(), ChatError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (with, wanted) = crate::store::ids_in(tx.kind(), 2, "id");
    sqlx::query(sql!(
        "{with} UPDATE outbox SET lease_until = $1 WHERE {wanted}"
    ))
    .bind(until)
    .bind(crate::store::ids_value(ids))
    .execute(tx.conn())
    .await?;
    Ok(())
}

fn record_failed(reason: &'static str) {
    metrics::counter!("deflect_outbox_record_failures_total", "reason" => reason).increment(1);
}

impl Inbox {
    /// Keeps the provider's id on the row, which becomes `accepted`: the first and smallest
    /// write after the provider accepted, retried in memory while the row's lease lasts
    /// (after that the row turns `unconfirmed`, and the provider's status callback confirms
    /// it). Returns whether the row now waits for this worker to record it.
    pub(super) async fn hold_acceptance(&self, c: &Claimed, sent: &Sent) -> bool {
        let deadline = Instant::now() + LEASE - Duration::from_secs(5);
        let mut delay = Duration::from_millis(50);
        loop {
            match self.try_hold(c, sent).await {
                Ok(held) => return held,
                Err(e) => {
                    record_failed("database");
                    if Instant::now() + delay >= deadline {
                        tracing::error!(message_id = c.message_id, cause = %e, "cannot record that the provider accepted a message; its status callback will confirm it, and it is not sent again before");
                        return false;
                    }
                    tracing::error!(message_id = c.message_id, cause = %e, "cannot record that the provider accepted a message; retrying the record");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    async fn try_hold(&self, c: &Claimed, sent: &Sent) -> Result<bool, ChatError> {
        fault!("outbox-hold", Err(ChatError::injected("outbox-hold")));
        let now = self.now();
        let mut tx = self.store().write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET state = 'accepted', external_id = $1, due_at = $2, lease_until = $3, \
             last_error = NULL WHERE id = $4 AND state IN ('pending', 'sending', 'unconfirmed')",
        )
        .bind(sent.external_id.as_deref())
        .bind(now)
        .bind(now + ms(LEASE))
        .bind(c.id)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            tracing::debug!(
                outbox_id = c.id,
                "already recorded from the provider's status callback"
            );
        }
        Ok(done.rows_affected() > 0)
    }

    /// Records accepted row `id` in a transaction of its own; when that fails, the record is
    /// tried again later with back-off (never the send).
    pub(super) async fn record(&self, id: i64) {
        let now = self.now();
        let attempt = async {
            let mut tx = self.store().write().await?;
            self.record_accepted_in(&mut tx, id, now).await?;
            tx.commit().await?;
            Ok::<_, ChatError>(())
        };
        let Err(e) = attempt.await else { return };
        record_failed("database");
        tracing::error!(outbox_id = id, cause = %e, "cannot record a message the provider accepted; the record is retried, the message is not sent again");
        let deferred = async {
            let mut tx = self.store().write().await?;
            let attempts: i64 = sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, lease_until = NULL, last_error = $1 \
                 WHERE id = $2 AND state = 'accepted' RETURNING attempts",
            )
            .bind(format!("recording failed: {e}"))
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .map_or(0, |r| r.get(0));
            sqlx::query("UPDATE outbox SET due_at = $1 WHERE id = $2 AND state = 'accepted'")
                .bind(now + self.backoff(attempts))
                .bind(id)
                .execute(tx.conn())
                .await?;
            tx.commit().await?;
            Ok::<_, ChatError>(())
        };
        if let Err(e) = deferred.await {
            // The row keeps its lease and is taken up again when the lease ends.
            tracing::error!(outbox_id = id, cause = %e, "cannot schedule the record again");
        }
    }

    /// Records accepted row `id`: the message gets the provider's id, the status `sent`
    /// (with any status that overtook the answer), the `deflection.sent` event of a call's
    /// template; the row becomes `sent`. Does nothing to a row in another state.
    pub(crate) async fn record_accepted_in(
        &self,
        tx: &mut Tx,
        id: i64,
        now: Millis,
    ) -> Result<bool, ChatError> {
        fault!("outbox-record", Err(ChatError::injected("outbox-record")));
        let row = sqlx::query(sql!(
            "SELECT message_id, account, external_id, state FROM outbox WHERE id = $1{}",
            tx.for_update()
        ))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(false) };
        if row.get::<String, _>("state") != "accepted" {
            return Ok(false);
        }
        let message: i64 = row.get("message_id");
        let account: String = row.get("account");
        let external_id = crate::store::opt_str(&row, "external_id");
        let conversation = conversation_of(tx, message).await?;
        let given = match &external_id {
            Some(x) => self.give_message_id(tx, message, &account, x).await?,
            None => false,
        };
        self.advance_status(
            tx,
            message,
            conversation,
            DeliveryStatus::Sent,
            None,
            None,
            now,
        )
        .await?;
        if let (true, Some(x)) = (given, &external_id) {
            self.apply_early_status(tx, &account, x, message, conversation, now)
                .await?;
        }
        let deflection = sqlx::query("SELECT call_id FROM deflections WHERE message_id = $1")
            .bind(message)
            .fetch_optional(tx.conn())
            .await?;
        if let Some(d) = deflection {
            crate::repo::events::log(tx,
                Some(conversation),
                EventKind::DeflectionSent,
                json!({ "call_id": d.get::<String, _>(0), "message_id": message, "external_id": external_id }),
                now,
            )
            .await?;
        }
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL \
             WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        Ok(true)
    }

    /// Gives message `message` the provider's id `x` — unless another message of the account
    /// has it already (a provider that answered two sends with one id): then the message
    /// stays without one, and that is logged and counted, since its statuses cannot be told
    /// apart. Returns whether the id was given.
    async fn give_message_id(
        &self,
        tx: &mut Tx,
        message: i64,
        account: &str,
        x: &str,
    ) -> Result<bool, ChatError> {
        let other = sqlx::query(
            "SELECT id FROM messages WHERE account = $1 AND external_id = $2 AND id <> $3",
        )
        .bind(account)
        .bind(x)
        .bind(message)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(other) = other {
            record_failed("duplicate_external_id");
            tracing::error!(
                message_id = message,
                other_message_id = other.get::<i64, _>(0),
                external_id = x,
                "the provider gave a sent message the id of another; it is recorded as sent without the id"
            );
            return Ok(false);
        }
        sqlx::query("UPDATE messages SET external_id = $1 WHERE id = $2")
            .bind(x)
            .bind(message)
            .execute(tx.conn())
            .await?;
        Ok(true)
    }

    /// A status that overtook the provider's answer to the send.
    async fn apply_early_status(
        &self,
        tx: &mut Tx,
        account: &str,
        x: &str,
        message: i64,
        conversation: i64,
        now: Millis,
    ) -> Result<(), ChatError> {
        let early = sqlx::query(
            "DELETE FROM early_statuses WHERE account = $1 AND external_id = $2 \
             RETURNING status, error_code, error_title",
        )
        .bind(account)
        .bind(x)
        .fetch_optional(tx.conn())
        .await?;
        let Some(e) = early else { return Ok(()) };
        if let Some(st) = DeliveryStatus::parse(&e.get::<String, _>("status")) {
            let title = crate::store::opt_str(&e, "error_title");
            self.advance_status(
                tx,
                message,
                conversation,
                st,
                crate::store::opt_i64(&e, "error_code"),
                title.as_deref(),
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// A status callback named outbox row `id` (its correlation): the provider accepted that
    /// send with id `x`. A row still waiting for an answer (or to be sent again) is recorded
    /// now and never sent again; a row recorded without an id gets it.
    pub(crate) async fn confirm_from_callback(
        &self,
        tx: &mut Tx,
        account: &str,
        id: i64,
        x: &str,
        now: Millis,
    ) -> Result<(), ChatError> {
        let row = sqlx::query(sql!(
            "SELECT state, message_id, external_id FROM outbox WHERE id = $1 AND account = $2{}",
            tx.for_update()
        ))
        .bind(id)
        .bind(account)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(()) };
        let known = crate::store::opt_str(&row, "external_id");
        match row.get::<String, _>("state").as_str() {
            "pending" | "sending" | "unconfirmed" | "accepted" => {
                if known.is_none() {
                    sqlx::query(
                        "UPDATE outbox SET state = 'accepted', external_id = $1, lease_until = NULL \
                         WHERE id = $2",
                    )
                    .bind(x)
                    .bind(id)
                    .execute(tx.conn())
                    .await?;
                    tracing::info!(
                        outbox_id = id,
                        external_id = x,
                        "the provider's status callback confirms a send"
                    );
                    metrics::counter!("deflect_outbox_confirmed_by_callback_total", "account" => account.to_string())
                        .increment(1);
                }
                self.record_accepted_in(tx, id, now).await?;
            }
            "sent" if known.is_none() => {
                sqlx::query("UPDATE outbox SET external_id = $1 WHERE id = $2")
                    .bind(x)
                    .bind(id)
                    .execute(tx.conn())
                    .await?;
                let message: i64 = row.get("message_id");
                self.give_message_id(tx, message, account, x).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
