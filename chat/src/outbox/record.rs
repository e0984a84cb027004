//! Recording what a provider accepted (see the module documentation of [`super`]): the
//! provider's id kept on the outbox row first, then the message's id, status and events —
//! retried as a record, never as a send — and confirmations that arrive with the provider's
//! status callbacks.

use super::Outbox;
use super::{Claimed, LEASE};
use crate::clock::{Millis, ms};
use crate::lifecycle::status::{self, record_failed};
use crate::model::ChatError;
use crate::provider::Sent;
use crate::store::Tx;
use sqlx::Row;
use std::time::Duration;
use tokio::time::Instant;

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

impl Outbox {
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
            status::record_accepted(self.ctx(), &mut tx, id, now).await?;
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
}
