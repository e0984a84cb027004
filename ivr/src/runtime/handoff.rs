//! The one hand-off path: every deflection reaches the consumer (the inbox) through
//! [`HandOffs`], at run time and at start-up alike, under one policy ([`crate::handoff`]):
//! offered at once; while refused, offered again with back-off, never dropped; its journal
//! entry completed only once the consumer took it. Every call's record goes the same way,
//! in batches, tried a few times ([`HandOffs::keep_record`], [`RecordWriter`]).

use super::journal::JournalWriter;
use super::records::RecordWriter;
use crate::deflection::{CallRecord, Deflection, DeflectionConsumer, Journal, JournalError};
use crate::handoff::{Backoff, Retries};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// How long the caller waits for the consumer to hold a deflection before it is journalled.
const HOLD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// How a hand-off went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandOff {
    /// The consumer took it; its journal entry is completed.
    Taken,
    /// The consumer refused it; it stays in the journal and is offered again later.
    Retrying,
}

/// The deflection journal and the consumer, with the retries of refused hand-offs (see the
/// module docs). One per process; cheap to share (`Arc`).
///
/// 1. [`HandOffs::start`] hands off what the journal kept from before a restart;
/// 2. a call's deflection is [`record`](HandOffs::record)ed before its BYE — held by the
///    consumer when it can ([`DeflectionConsumer::hold`]), else journalled — then
///    [`hand_off`](HandOffs::hand_off)ed after it.
///
/// ```
/// # async fn run(data_dir: &std::path::Path, deflection: deflect_ivr::Deflection) -> Result<(), deflect_ivr::deflection::JournalError> {
/// use deflect_ivr::handoff::Backoff;
/// use deflect_ivr::runtime::{HandOff, HandOffs};
/// use deflect_ivr::{Deflection, DeflectionConsumer, Journal};
/// use std::sync::Arc;
///
/// struct Inbox;
/// impl DeflectionConsumer for Inbox {
///     type Error = std::io::Error;
///     async fn deflect(&self, _: &Deflection) -> Result<(), Self::Error> { Ok(()) }
/// }
///
/// // At start-up, before calls are taken: what the last run left is handed off first.
/// let hand_offs = HandOffs::start(Journal::open(data_dir)?, Arc::new(Inbox), Backoff::default()).await;
/// // For each call: durable before the BYE, handed off after it.
/// hand_offs.record(&deflection).await.expect("journalled");
/// // … the BYE …
/// assert_eq!(hand_offs.hand_off(deflection).await, HandOff::Taken);
/// # Ok(()) }
/// ```
pub struct HandOffs<D> {
    offer: Arc<Offer<D>>,
    /// Refused deflections, for the retry task (which ends when this is dropped).
    retry: mpsc::UnboundedSender<Deflection>,
    /// Calls' records on their way to the consumer.
    records: RecordWriter,
}

/// What an offer needs, shared with the retry task.
struct Offer<D> {
    consumer: Arc<D>,
    journal: JournalWriter,
    /// Deflections refused and not taken since.
    waiting: watch::Sender<usize>,
}

impl<D: DeflectionConsumer + 'static> HandOffs<D> {
    /// Moves `journal` to its thread, starts the retry task (on the current runtime), and
    /// hands off every deflection the journal kept from before (one after the other, each
    /// as [`hand_off`](Self::hand_off) does).
    pub async fn start(journal: Journal, consumer: Arc<D>, backoff: Backoff) -> Arc<Self> {
        let left: Vec<Deflection> = journal.pending().cloned().collect();
        let (retry, refused) = mpsc::unbounded_channel();
        let offer = Arc::new(Offer {
            consumer,
            journal: JournalWriter::start(journal),
            waiting: watch::Sender::new(0),
        });
        tokio::spawn(retry_refused(offer.clone(), refused, backoff));
        let records = RecordWriter::start(offer.consumer.clone());
        let hand_offs = Arc::new(Self {
            offer,
            retry,
            records,
        });
        if !left.is_empty() {
            let mut taken = 0;
            for d in &left {
                if hand_offs.hand_off(d.clone()).await == HandOff::Taken {
                    taken += 1;
                }
            }
            info!(
                deflections = left.len(),
                taken,
                retrying = left.len() - taken,
                "deflections from before the restart handed off"
            );
        }
        hand_offs
    }

    /// Records a deflection durably: held by the consumer (its shared database), else in
    /// the journal; returns once it is committed or synced to disk.
    pub async fn record(&self, deflection: &Deflection) -> Result<(), Arc<JournalError>> {
        let call_id = &deflection.call.call_id;
        let hold = self.offer.consumer.hold(deflection);
        match tokio::time::timeout(HOLD_PATIENCE, hold).await {
            Ok(Ok(true)) => {
                debug!(%call_id, "deflection held by the inbox");
                return Ok(());
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                warn!(%call_id, cause = %e, "the inbox did not hold the deflection; journalling it");
            }
            // Should the hold still commit, the hand-off finds it: nothing goes twice.
            Err(_) => warn!(%call_id, "the inbox is slow to hold the deflection; journalling it"),
        }
        self.offer.journal.record(deflection).await
    }

    /// Offers a recorded deflection to the consumer now; when it is refused, the retry task
    /// offers it again with back-off until it is taken.
    pub async fn hand_off(&self, deflection: Deflection) -> HandOff {
        match self.offer.attempt(&deflection).await {
            Ok(()) => HandOff::Taken,
            Err(e) => {
                warn!(call_id = %deflection.call.call_id, cause = %e, "the inbox did not take the deflection; retrying");
                self.offer.waiting.send_modify(|n| *n += 1);
                // The retry task ends only when `self.retry` is dropped.
                let _ = self.retry.send(deflection);
                HandOff::Retrying
            }
        }
    }

    /// Hands a finished call's record to the consumer, in a batch with the records of
    /// calls ending about the same time ([`RecordWriter`]).
    pub async fn keep_record(&self, record: CallRecord) {
        self.records.keep(record).await;
    }

    /// Keeps the records queued and takes no more, waiting at most `limit`.
    pub async fn close_records(&self, limit: std::time::Duration) -> bool {
        self.records.close(limit).await
    }

    /// How many deflections the consumer refused and has not taken since (they wait in the
    /// journal).
    pub fn waiting(&self) -> watch::Receiver<usize> {
        self.offer.waiting.subscribe()
    }

    /// The journal's thread, e.g. for what is still pending in it.
    pub fn journal(&self) -> &JournalWriter {
        &self.offer.journal
    }
}

impl<D: DeflectionConsumer> Offer<D> {
    /// One offer: the consumer takes it, then its journal entry is completed.
    async fn attempt(&self, d: &Deflection) -> Result<(), D::Error> {
        self.consumer.deflect(d).await?;
        fault!("handoff-after-commit");
        let call = &d.call;
        self.journal.complete(&call.call_id);
        info!(
            call_id = %call.call_id,
            callback_number = %call.callback_number,
            flow = call.flow.as_deref().unwrap_or_default(),
            input_method = call.input_method.as_str(),
            "deflection"
        );
        metrics::counter!("deflect_ivr_deflections_handed_off_total").increment(1);
        Ok(())
    }
}

/// Offers refused deflections again when their back-off ends (the schedule is
/// [`Retries`]), until the [`HandOffs`] are dropped; what is still waiting then stays in
/// the journal for the next start.
async fn retry_refused<D: DeflectionConsumer>(
    offer: Arc<Offer<D>>,
    mut refused: mpsc::UnboundedReceiver<Deflection>,
    backoff: Backoff,
) {
    let mut retries = Retries::new(backoff);
    loop {
        let next = retries.poll_timeout().map(Instant::from_std);
        tokio::select! {
            d = refused.recv() => match d {
                Some(d) => {
                    retries.handle_refused(Instant::now().into_std(), d);
                }
                None => return,
            },
            () = sleep_until(next) => {
                while let Some(d) = retries.poll_due(Instant::now().into_std()) {
                    match offer.attempt(&d).await {
                        Ok(()) => {
                            retries.handle_taken(&d.call.call_id);
                            offer.waiting.send_modify(|n| *n = n.saturating_sub(1));
                        }
                        Err(e) => {
                            let call_id = d.call.call_id.clone();
                            let retry_in = retries.handle_refused(Instant::now().into_std(), d);
                            warn!(call_id = %call_id, cause = %e, retry_in = ?retry_in, "the inbox still does not take the deflection");
                        }
                    }
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
