//! Recording what a provider accepted (see the module documentation of [`super`]): the
//! provider's id kept on the outbox row first, then the message's id, status and events —
//! retried as a record, never as a send — and confirmations that arrive with the provider's
//! status callbacks.

use super::Outbox;
use super::{Claimed, LEASE};
use crate::clock::ms;
use crate::lifecycle::status::{self, record_failed};
use crate::model::ChatError;
use crate::provider::Sent;
use crate::repo;
use std::time::Duration;
use tokio::time::Instant;

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
        let external_id = sent.external_id.as_deref();
        let held = repo::outbox::hold(&mut tx, c.id, external_id, now, now + ms(LEASE)).await?;
        tx.commit().await?;
        if !held {
            tracing::debug!(
                outbox_id = c.id,
                "already recorded from the provider's status callback"
            );
        }
        Ok(held)
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
            let error = format!("recording failed: {e}");
            let attempts = repo::outbox::record_failed(&mut tx, id, &error).await?;
            repo::outbox::set_record_due(&mut tx, id, now + self.backoff(attempts)).await?;
            tx.commit().await?;
            Ok::<_, ChatError>(())
        };
        if let Err(e) = deferred.await {
            // The row keeps its lease and is taken up again when the lease ends.
            tracing::error!(outbox_id = id, cause = %e, "cannot schedule the record again");
        }
    }
}
