//! The tokio side of the IVR (feature `runtime`, on by default): answers SIP calls with
//! media and runs a flow on each. The engine ([`crate::call`]) never uses it.
//!
//! One [`CallService`] per process, built at start-up from parts that are loaded once — the
//! [`MediaEngine`], the compiled [`Flows`], every prompt they can play ([`FlowPrompts`]),
//! the speech models, the deflection [`JournalWriter`] — and the two things the inbox
//! provides: a [`DeflectionCounter`] for the abuse limits and a [`DeflectionConsumer`] that
//! takes the finished deflections. [`CallService::serve`] then takes the calls of a
//! [`deflect_sip::runtime::Incoming`]:
//!
//! 1. the flow is chosen by the dialled user (Request-URI, else To);
//! 2. media is negotiated from the INVITE's offer — nothing acceptable is 488, an
//!    unreadable offer 400, no free RTP port 503 with `Retry-After` — or, for an INVITE
//!    without one, offered in the 200 OK and completed from the answer in the ACK;
//! 3. one task per call then drives the [`Call`](crate::Call) engine from the SIP dialog
//!    (re-INVITE/UPDATE offers renegotiate the media, 488 when refused and the call goes on;
//!    INFO bodies become digits, answered 200, 415 or 400; the caller's BYE) and from the
//!    media (digits from every source, prompts ending, the caller's audio for the recogniser
//!    while a gather listens, no RTP → BYE with a Reason), and carries out the engine's
//!    actions;
//! 4. a deflection is journalled (fsynced) before the BYE and handed to the consumer right
//!    after it; one that fails is retried with back-off, and one still pending when the
//!    process stops is handed off at the next start ([`crate::deflection`]).
//!
//! Each call runs in a `call` span carrying its `call_id`. Metrics: `deflect_calls_total
//! {outcome}` (`deflected`, `caller_hung_up`, `ivr_hung_up`, `rtp_timeout`, `max_duration`,
//! `cancelled`, `rejected`, `failed`, `cut_off`), `deflect_calls_active`,
//! `deflect_dtmf_digits_total{source}`, with the engine's own `deflect_ivr_*` counters
//! (deflections are counted where the inbox takes them: `deflect_deflections_total`).

mod call;
mod journal;
mod listening;
mod prompts;

pub use journal::JournalWriter;
pub use prompts::{FlowPrompts, PromptsError};

use crate::deflection::{Deflection, DeflectionConsumer};
use crate::flow::Flows;
use crate::limits::DeflectionCounter;
use crate::speech::SpeechModels;
use deflect_media::driver::{CallOptions, MediaEngine};
use deflect_sip::runtime::{Incoming, IncomingCall};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, info, info_span, warn};

/// `Retry-After` (seconds) on the 503 for a call that finds no free RTP port.
pub const PORTS_RETRY_AFTER: u32 = 5;

/// Everything a call needs, loaded once at start-up.
pub struct Parts<C, D> {
    /// The media side.
    pub engine: MediaEngine,
    /// The flows, for routing.
    pub flows: Arc<Flows>,
    /// Every prompt of every flow, ready to play.
    pub prompts: FlowPrompts,
    /// Speech models by language.
    pub models: SpeechModels,
    /// The deflection journal.
    pub journal: JournalWriter,
    /// The abuse limits' counter.
    pub counter: Arc<C>,
    /// Where deflections go.
    pub consumer: Arc<D>,
    /// `sip.max_call_duration`: deflect hangs up a call this old.
    pub max_call_duration: Duration,
}

/// Answers calls and runs their flows (see the module docs).
///
/// ```no_run
/// # async fn run(config: deflect_config::Config) -> anyhow::Result<()> {
/// use deflect_ivr::runtime::{CallService, FlowPrompts, JournalWriter, Parts};
/// use deflect_ivr::{Flows, Journal, MemoryCounter, SpeechModels, speech};
/// use deflect_media::{driver::MediaEngine, playback::PromptLibrary};
/// use std::sync::Arc;
/// # #[derive(Debug)] struct Inbox;
/// # impl deflect_ivr::DeflectionConsumer for Inbox {
/// #     type Error = std::io::Error;
/// #     async fn deflect(&self, _: &deflect_ivr::Deflection) -> Result<(), Self::Error> { Ok(()) }
/// # }
///
/// // Start-up: everything that can fail on configuration, before any port is bound.
/// let library = PromptLibrary::load(config.ivr.prompts_dir.as_deref())?;
/// let models = SpeechModels::load(&config.ivr, &speech::models_dirs(&config.ivr, &config.data_dir));
/// let flows = Arc::new(Flows::new(&config.ivr, |lang| models.has(lang))?);
/// let prompts = FlowPrompts::load(&flows, &library)?;
/// let mut journal = Journal::open(&config.data_dir)?;
/// let inbox = Arc::new(Inbox);
/// deflect_ivr::deflection::hand_off_pending(&mut journal, inbox.as_ref()).await?;
///
/// let engine = MediaEngine::start(&config.media, Arc::new(library), None, 0);
/// let service = CallService::new(Parts {
///     engine,
///     flows,
///     prompts,
///     models,
///     journal: JournalWriter::start(journal),
///     counter: Arc::new(MemoryCounter::new()),
///     consumer: inbox,
///     max_call_duration: config.sip.max_call_duration,
/// });
/// let listeners = deflect_sip::transport::bind(&config.sip.listen).await?;
/// let (sip, incoming) = deflect_sip::runtime::Sip::start(&config.sip, listeners)?;
/// tokio::spawn(service.clone().serve(incoming));
/// // … at shutdown, once SIP stopped accepting and the calls ended:
/// service.drained(std::time::Duration::from_secs(30)).await;
/// # let _ = sip; Ok(()) }
/// ```
pub struct CallService<C, D> {
    parts: Parts<C, D>,
    /// Call tasks (and their hand-offs) in progress.
    live: watch::Sender<usize>,
    /// Hand-offs that failed, for the retry task.
    retry: mpsc::UnboundedSender<Deflection>,
}

impl<C, D> CallService<C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    /// Builds the service and starts its hand-off retry task (on the current runtime).
    pub fn new(parts: Parts<C, D>) -> Arc<Self> {
        let (retry, failed) = mpsc::unbounded_channel();
        let service = Arc::new(Self {
            parts,
            live: watch::Sender::new(0),
            retry,
        });
        tokio::spawn(journal::retry_hand_offs(
            failed,
            service.parts.consumer.clone(),
            service.parts.journal.clone(),
        ));
        service
    }

    /// Answers the calls of `incoming` until the SIP stack stops.
    pub async fn serve(self: Arc<Self>, mut incoming: Incoming) {
        while let Some(call) = incoming.recv().await {
            self.answer(call);
        }
    }

    /// Waits until every call task has ended and handed off its deflection, at most
    /// `limit`. Returns how many were still running.
    pub async fn drained(&self, limit: Duration) -> usize {
        let mut live = self.live.subscribe();
        let _ = tokio::time::timeout(limit, live.wait_for(|n| *n == 0)).await;
        let left = *live.borrow();
        if left > 0 {
            warn!(
                calls = left,
                "call tasks still running at exit; their deflections stay in the journal"
            );
        }
        left
    }

    /// Calls being handled now.
    pub fn active(&self) -> usize {
        *self.live.borrow()
    }

    fn answer(self: &Arc<Self>, incoming: IncomingCall) {
        let info = incoming.info();
        let span = info_span!("call", call_id = %info.call_id);
        let dialled = info
            .request_user()
            .or_else(|| info.to_user())
            .unwrap_or_default();
        let flow = self.parts.flows.route(&dialled).clone();
        let start = crate::CallStart {
            call_id: info.call_id.clone(),
            asserted_identity: info
                .asserted_identity
                .as_ref()
                .and_then(|a| a.uri.user_decoded()),
            from: info.from_user(),
            dialled,
            started_at: jiff::Timestamp::now(),
        };
        let options = CallOptions {
            call_id: info.call_id.clone(),
            inband_dtmf: info.inband_dtmf,
        };
        let media = match &info.offer {
            Some(offer) => self
                .parts
                .engine
                .create_session(offer, options)
                .map(call::Media::Answered),
            None => self.parts.engine.offer(options).map(call::Media::Offered),
        };
        let _entered = span.enter();
        let media = match media {
            Ok(m) => m,
            Err(e) => {
                let status = e.sip_status();
                debug!(status, cause = %e, "call refused");
                metrics::counter!("deflect_calls_total", "outcome" => "rejected").increment(1);
                incoming.reject(status, (status == 503).then_some(PORTS_RETRY_AFTER));
                return;
            }
        };
        debug!(
            trunk = %info.trunk,
            from = info.from_user().unwrap_or_default(),
            to = %start.dialled,
            flow = flow.name(),
            source = %info.source,
            "answering call"
        );
        let sdp = match &media {
            call::Media::Answered(m) => m.answer.clone().into_bytes(),
            call::Media::Offered(o) => o.offer.clone().into_bytes(),
        };
        let sip = incoming.accept(sdp);
        let guard = LiveGuard::new(&self.live);
        let service = self.clone();
        drop(_entered);
        tokio::spawn(
            async move {
                call::run(&service, sip, media, flow, start).await;
                drop(guard);
            }
            .instrument(span),
        );
    }

    /// Hands a journalled deflection to the consumer later, retrying with back-off (for
    /// those a first attempt failed on, e.g. at start-up).
    pub fn retry_hand_off(&self, deflection: Deflection) {
        let _ = self.retry.send(deflection);
    }

    /// Hands a deflection to the consumer after the call's BYE; on failure it stays in the
    /// journal and is retried.
    async fn hand_off(&self, deflection: Deflection) {
        fault!("handoff-after-bye");
        match self.parts.consumer.deflect(&deflection).await {
            Ok(()) => {
                fault!("handoff-after-commit");
                self.parts.journal.complete(&deflection.call_id);
                handed_off(&deflection);
            }
            Err(e) => {
                warn!(cause = %e, "the inbox did not take the deflection; retrying");
                let _ = self.retry.send(deflection);
            }
        }
    }
}

/// Logs and counts a deflection the consumer took.
fn handed_off(d: &Deflection) {
    info!(
        call_id = %d.call_id,
        callback_number = %d.callback_number,
        flow = %d.flow,
        input_method = d.input_method.as_str(),
        "deflection"
    );
    metrics::counter!("deflect_ivr_deflections_handed_off_total").increment(1);
}

/// Counts a call task (and `deflect_calls_active`) while it lives.
struct LiveGuard(watch::Sender<usize>);

impl LiveGuard {
    fn new(live: &watch::Sender<usize>) -> Self {
        live.send_modify(|n| *n += 1);
        metrics::gauge!("deflect_calls_active").increment(1.0);
        Self(live.clone())
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
        metrics::gauge!("deflect_calls_active").decrement(1.0);
    }
}
