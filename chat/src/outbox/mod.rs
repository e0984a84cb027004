//! The outbox: every outgoing WhatsApp message is committed first (with its conversation's
//! change), then sent by this worker — and once a provider has accepted it, never sent again.
//!
//! A row's states:
//!
//! ```text
//! pending ──claim──▶ sending ──provider accepted──▶ accepted ──recorded──▶ sent
//!    ▲                  │  ├──refused for now (5xx, 429, can't connect)──▶ pending (back-off)
//!    │                  │  ├──refused for good, or out of attempts──▶ dead
//!    │                  │  └──no answer (timeout, cut; or the worker died)──▶ unconfirmed
//!    └──no status callback within `unconfirmed_wait`── unconfirmed ──callback names it──▶ accepted
//! ```
//!
//! - Claiming: a worker takes due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL), marks them
//!   `sending` with a lease ([`LEASE`]) and commits; then sends. Two workers — in one process
//!   or several — never hold the same row.
//! - Accepted is recorded in two steps: first only the provider's id on the outbox row (one
//!   small update, retried in memory while the lease lasts), then the message's id, status
//!   and events in a transaction of their own. When that second step fails — a database
//!   error, an id that another message already has — the row stays `accepted` and the step is
//!   retried with back-off *as a record*: an accepted row is never claimed for sending.
//!   Failures count in `deflect_outbox_record_failures_total{reason}` and are logged.
//! - A send that got no answer may have been accepted. It waits `unconfirmed` for the
//!   provider's status callback, which names the send it is about (the [`correlation`]
//!   string: Meta's `biz_opaque_callback_data`, Twilio's per-message `StatusCallback`), and is
//!   recorded from it; only when no callback arrives within `inbox.outbox.unconfirmed_wait`
//!   is it sent again. A worker that died mid-send leaves its rows `sending`: when their
//!   lease runs out (SQLite: at the next start, where one process owns the file) they become
//!   `unconfirmed` the same way. Providers that cannot confirm (the sandbox, Twilio without
//!   `http.public_base_url`) are sent again at once, and so is an SMS (the fallback's API
//!   sends no callback the outbox reads).
//! - Refusals: timeouts before a connection, 5xx and rate limits (130429, 131056, 429) are
//!   retried with exponential back-off (`inbox.outbox.initial_backoff` doubling up to
//!   `max_backoff`); after `max_attempts`, or on a rejection (131047 outside the window,
//!   131026 not on WhatsApp, 132000 template mismatch, …), the row is dead-lettered (`dead`)
//!   and the message `failed` with the provider's code.
//! - Pacing: each account sends at most `messages_per_second` (80 by default, Meta's
//!   per-number throughput): with several nodes, each paces at its share (the live nodes
//!   counted at each heartbeat, see `crate::nodes`), so together they keep to it.

mod media;
mod record;

pub(crate) use media::OutboxFiles;

use crate::clock::{Millis, ms};
use crate::context::{Ctx, InboxSettings};
use crate::lifecycle::status;
use crate::model::{ChatError, DeliveryStatus};
use crate::provider;
pub use crate::provider::correlation;
use crate::provider::sms::SmsClient;
use crate::provider::{Outgoing, Provider, SendContext, SendError, Sent};
use crate::repo;
use crate::store::Store;
use deflect_config::AccountConfig;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::Instrument;

/// How long a claimed row is reserved for its worker (longer than a send can take).
pub const LEASE: Duration = Duration::from_secs(60);
const BATCH: i64 = 64;
const IN_FLIGHT: usize = 64;

/// A row claimed for sending.
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
    /// Waits for `account`'s next sending slot: `nodes` nodes share its `per_second`.
    async fn slot(&self, account: &str, per_second: u32, nodes: u32) {
        let at = self
            .reserve(account, per_second, nodes, Instant::now())
            .await;
        tokio::time::sleep_until(at).await;
    }

    /// Reserves `account`'s next sending slot at `now` or later, `nodes` nodes sharing its
    /// `per_second`: when it is.
    async fn reserve(&self, account: &str, per_second: u32, nodes: u32, now: Instant) -> Instant {
        let interval = Duration::from_secs(1) * nodes.max(1) / per_second.max(1);
        let mut next = self.next.lock().await;
        let slot = next
            .get(account)
            .copied()
            .filter(|t| *t > now)
            .unwrap_or(now);
        next.insert(account.to_string(), slot + interval);
        slot
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
    /// Sent without an answer: waiting for the provider's status callback.
    pub unconfirmed: usize,
    /// Accepted earlier, recorded now (or the record to be retried).
    pub recorded: usize,
}

impl OutboxPass {
    /// Whether the pass did anything (the worker then looks again at once).
    pub fn worked(&self) -> bool {
        self.sent + self.retried + self.dead + self.unconfirmed + self.recorded > 0
    }
}

/// What a claim took: rows to send, and accepted rows to record.
struct Claim {
    sends: Vec<Claimed>,
    records: Vec<i64>,
}

/// The outbox service: the inbox's context, a provider client per WhatsApp account, and the
/// pacer. Cheap to clone; the worker's send tasks each hold a clone.
#[derive(Clone)]
pub(crate) struct Outbox {
    ctx: Arc<Ctx>,
    providers: Arc<HashMap<String, provider::Client>>,
    /// The SMS fallback of each account that has one (by account name).
    sms: Arc<HashMap<String, SmsClient>>,
    pacer: Arc<Pacer>,
    /// The files messages send (none: a file fails its message).
    files: Option<OutboxFiles>,
}

impl Outbox {
    /// The outbox of `ctx`'s accounts, sending through `providers` (by account name).
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        providers: Arc<HashMap<String, provider::Client>>,
        files: Option<OutboxFiles>,
    ) -> Self {
        let http = provider::http_client();
        let settings = ctx.settings();
        let base = settings.public_base_url.as_ref();
        let sms = (settings.whatsapp.accounts.iter())
            .filter_map(|a| {
                let sms = SmsClient::for_account(a, http.clone(), base)?;
                Some((a.name.clone(), sms))
            })
            .collect();
        Self {
            ctx,
            providers,
            sms: Arc::new(sms),
            pacer: Arc::default(),
            files,
        }
    }

    fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    fn now(&self) -> Millis {
        self.ctx.now()
    }

    fn store(&self) -> &Store {
        self.ctx.store()
    }

    fn settings(&self) -> &InboxSettings {
        self.ctx.file_settings()
    }

    fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.ctx.account(name)
    }

    fn provider(&self, account: &str) -> Option<&provider::Client> {
        self.providers.get(account)
    }

    fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// The worker: sends what is due until `stop` turns true; a pass that did something is
    /// followed by another at once, otherwise it sleeps until the next row is due (at most a
    /// second) or a commit wakes it.
    pub(crate) async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let pass = self.send_due().await;
            let wait = match &pass {
                Ok(p) if p.worked() => continue,
                Ok(_) => self.ctx.until_due(self.next_due().await.ok().flatten()),
                Err(e) => {
                    tracing::warn!(cause = %e, "outbox worker: database error; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = self.ctx.outbox_wake().notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// How long a send of `account` without an answer waits for a status callback before it
    /// is sent again: nothing for providers whose callbacks cannot name it, nor for an SMS
    /// (`request`, when known: its API sends no callback the outbox reads).
    fn unconfirmed_wait(&self, account: &str, request: Option<&Outgoing>) -> Millis {
        if matches!(request, Some(Outgoing::Sms { .. })) {
            return 0;
        }
        match self.provider(account) {
            Some(p) if p.confirms_by_callback() => {
                ms(self.settings().inbox.outbox.unconfirmed_wait)
            }
            _ => 0,
        }
    }

    /// Rows left `sending` by a previous run of this process (SQLite only: one process owns
    /// the file) become `unconfirmed`: their outcome is unknown.
    pub(crate) async fn release_orphaned_sends(&self) -> Result<u64, ChatError> {
        let mut tx = self.store().write().await?;
        let n = self.unconfirm_sends(&mut tx, None).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Rows `sending` whose lease ran out (all of them, for `None`) become `unconfirmed`,
    /// due for sending again after their account's [`Outbox::unconfirmed_wait`].
    async fn unconfirm_sends(
        &self,
        tx: &mut crate::store::Tx,
        lease_ended_by: Option<Millis>,
    ) -> Result<u64, ChatError> {
        let rows = repo::outbox::sending_ended(tx, lease_ended_by).await?;
        let now = self.now();
        for (id, account) in &rows {
            tracing::warn!(
                outbox_id = id,
                "a send ended without an answer (its worker stopped); waiting for the provider's status before sending it again"
            );
            let due_at = now + self.unconfirmed_wait(account, None);
            repo::outbox::set_orphaned(tx, *id, due_at).await?;
            metrics::counter!("deflect_outbox_unconfirmed_total", "account" => account.clone())
                .increment(1);
        }
        Ok(rows.len() as u64)
    }

    async fn claim_due(&self, limit: i64) -> Result<Claim, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        self.unconfirm_sends(&mut tx, Some(now)).await?;
        let rows = repo::outbox::due(&mut tx, now, limit).await?;
        let (records, sends): (Vec<_>, Vec<_>) =
            rows.into_iter().partition(|r| r.state == "accepted");
        let records: Vec<i64> = records.iter().map(|r| r.id).collect();
        let send_ids: Vec<i64> = sends.iter().map(|r| r.id).collect();
        crate::store::lease(&mut tx, "outbox", &send_ids, now + ms(LEASE)).await?;
        repo::outbox::lease_records(&mut tx, &records, now + ms(LEASE)).await?;
        let mut out = Vec::with_capacity(sends.len());
        for r in sends {
            match serde_json::from_str::<Outgoing>(&r.request) {
                Ok(request) => out.push(Claimed {
                    id: r.id,
                    message_id: r.message_id,
                    account: r.account,
                    recipient: r.recipient,
                    request,
                    attempts: r.attempts,
                }),
                Err(e) => {
                    tracing::error!(outbox_id = r.id, cause = %e, "unreadable outbox request dead-lettered");
                    let error = format!("unreadable request: {e}");
                    repo::outbox::set_dead(&mut tx, r.id, &error).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(Claim {
            sends: out,
            records,
        })
    }

    /// Claims and sends what is due (and records acceptances whose record failed before),
    /// waiting for every send of the batch; the worker calls this in a loop, tests call it
    /// directly.
    pub(crate) async fn send_due(&self) -> Result<OutboxPass, ChatError> {
        let claim = self.claim_due(BATCH).await?;
        let mut pass = OutboxPass::default();
        for id in claim.records {
            self.record(id).await;
            pass.recorded += 1;
        }
        let mut set = tokio::task::JoinSet::new();
        for c in claim.sends {
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
        if let Outgoing::Sms { body } = &c.request {
            let Some(sms) = self.sms.get(&c.account) else {
                return Err(SendError::Rejected {
                    code: None,
                    message: format!("WhatsApp account {:?} has no SMS fallback", c.account),
                });
            };
            return sms.send(&c.recipient, body, &correlation(c.id)).await;
        }
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
        let media = match &c.request {
            Outgoing::Media(m) => self.prepare_media(c, client, m).await?,
            _ => None,
        };
        (self.pacer())
            .slot(&c.account, per_second, self.ctx.sending_nodes())
            .await;
        let context = SendContext {
            correlation: correlation(c.id),
            media,
        };
        let span = tracing::debug_span!("send", message_id = c.message_id, account = %c.account);
        let started = Instant::now();
        let r = client
            .send(&c.recipient, &c.request, &context)
            .instrument(span)
            .await;
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
        match result {
            Ok(sent) => {
                fault!(
                    "outbox-after-accept",
                    Err(ChatError::injected("outbox-after-accept"))
                );
                metrics::counter!("deflect_outbox_sent_total", "account" => c.account.clone())
                    .increment(1);
                if self.hold_acceptance(c, &sent).await {
                    self.record(c.id).await;
                }
                Ok(Outcome::Sent)
            }
            Err(SendError::Unknown { message }) => {
                let now = self.now();
                let wait = self.unconfirmed_wait(&c.account, Some(&c.request));
                tracing::warn!(message_id = c.message_id, cause = %message, wait_ms = wait, "no answer to a send; waiting for the provider's status before sending it again");
                let mut tx = self.store().write().await?;
                repo::outbox::set_unsent(&mut tx, c.id, true, now + wait, &message).await?;
                tx.commit().await?;
                metrics::counter!("deflect_outbox_unconfirmed_total", "account" => c.account.clone())
                    .increment(1);
                Ok(Outcome::Unconfirmed)
            }
            Err(SendError::Retry { code, message })
                if c.attempts < i64::from(self.settings().inbox.outbox.max_attempts) =>
            {
                let due = self.now() + self.backoff(c.attempts);
                tracing::warn!(message_id = c.message_id, attempt = c.attempts, code, cause = %message, "send failed; will retry");
                let mut tx = self.store().write().await?;
                repo::outbox::set_unsent(&mut tx, c.id, false, due, &message).await?;
                let now = self.now();
                status::retrying(&mut tx, c.message_id, code, &message, due, now).await?;
                tx.commit().await?;
                metrics::counter!("deflect_outbox_retries_total", "account" => c.account.clone())
                    .increment(1);
                Ok(Outcome::Retried)
            }
            Err(e) => {
                let (code, message) = match &e {
                    SendError::Retry { code, message } => (
                        *code,
                        format!("gave up after {} attempts: {message}", c.attempts),
                    ),
                    SendError::Rejected { code, message } => (*code, message.clone()),
                    SendError::Unknown { message } => (None, message.clone()),
                };
                tracing::warn!(message_id = c.message_id, code, cause = %message, "message dead-lettered");
                let now = self.now();
                let mut tx = self.store().write().await?;
                if repo::outbox::set_refused(&mut tx, c.id, &message).await? {
                    let conversation =
                        repo::messages::conversation_of(&mut tx, c.message_id).await?;
                    status::advance(
                        self.ctx(),
                        &mut tx,
                        c.message_id,
                        conversation,
                        DeliveryStatus::Failed,
                        code,
                        Some(&message),
                        now,
                    )
                    .await?;
                }
                tx.commit().await?;
                metrics::counter!("deflect_outbox_dead_total", "account" => c.account.clone())
                    .increment(1);
                Ok(Outcome::Dead)
            }
        }
    }

    /// Outbox rows by state (`pending`, `sending`, `unconfirmed`, `accepted`, `sent`,
    /// `dead`).
    pub(crate) async fn depth(&self) -> Result<HashMap<String, i64>, ChatError> {
        Ok(repo::outbox::depth(self.store()).await?)
    }

    /// When the next row is due: to send, to record, or to be released from its lease.
    async fn next_due(&self) -> Result<Option<Millis>, ChatError> {
        Ok(repo::outbox::next_due(self.store()).await?)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retried,
    Dead,
    Unconfirmed,
}

fn tally(pass: &mut OutboxPass, r: Result<Result<Outcome, ChatError>, tokio::task::JoinError>) {
    match r {
        Ok(Ok(Outcome::Sent)) => pass.sent += 1,
        Ok(Ok(Outcome::Retried)) => pass.retried += 1,
        Ok(Ok(Outcome::Dead)) => pass.dead += 1,
        Ok(Ok(Outcome::Unconfirmed)) => pass.unconfirmed += 1,
        // The row stays `sending`; when its lease runs out it waits, unconfirmed, for the
        // provider's status callback.
        Ok(Err(e)) => tracing::error!(cause = %e, "recording a send's result failed"),
        Err(e) => tracing::error!(cause = %e, "a send task failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slots `pacer` gives `n` sends of one account asked for at once, as offsets.
    async fn slots(pacer: &Pacer, n: usize, per_second: u32, nodes: u32) -> Vec<Duration> {
        let now = Instant::now();
        let mut at = Vec::new();
        for _ in 0..n {
            at.push(pacer.reserve("main", per_second, nodes, now).await - now);
        }
        at
    }

    #[tokio::test]
    async fn nodes_share_an_accounts_pace() {
        let us = Duration::from_micros;
        let alone = slots(&Pacer::default(), 3, 80, 1).await;
        assert_eq!(alone, [us(0), us(12_500), us(25_000)]);
        // One of three nodes: a third of 80 a second, so that together they send 80.
        let shared = slots(&Pacer::default(), 3, 80, 3).await;
        assert_eq!(shared, [us(0), us(37_500), us(75_000)]);
    }
}
