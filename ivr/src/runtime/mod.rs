//! The tokio side of the IVR (feature `runtime`, on by default): answers SIP calls with
//! media and runs a flow on each. The engine ([`crate::call`]) never uses it.
//!
//! One [`CallService`] per process, built at start-up from parts that are loaded once — the
//! [`MediaEngine`], the compiled [`Flows`], every prompt they can play ([`FlowPrompts`]),
//! the speech models — the [`DeflectionCounter`] the inbox provides for the abuse limits,
//! and the [`HandOffs`]: the deflection journal (on its own thread, [`JournalWriter`]) and
//! the inbox's [`DeflectionConsumer`], started first so that what the last run left is
//! handed off before any call. [`CallService::serve`] then takes the calls of a
//! [`deflect_sip::runtime::Incoming`]:
//!
//! 1. the flow is chosen by the dialled user (Request-URI, else To);
//! 2. media is negotiated from the INVITE's offer — nothing acceptable is 488, an
//!    unreadable offer 400, no free RTP port 503 with `Retry-After` — or, for an INVITE
//!    without one, offered in the 200 OK and completed from the answer in the ACK; a caller
//!    in `sip.local_networks` gets deflect's listen address in the SDP (`local_peers`); a
//!    flow with `early_media` sends the answer in a 183 and the call task answers (200 OK)
//!    once the engine listens, deflects or transfers — or refuses the call (480) when the
//!    flow ends first;
//! 3. one task per call then drives the [`Call`](crate::Call) engine from the SIP dialog
//!    (re-INVITE/UPDATE offers renegotiate the media, 488 when refused and the call goes on;
//!    INFO bodies become digits, answered 200, 415 or 400; the caller's BYE) and from the
//!    media (digits from every source, prompts ending, the caller's audio for the recogniser
//!    while a gather listens, no RTP → BYE with a Reason), and carries out the engine's
//!    actions (a transfer is a REFER; its NOTIFYs' outcome goes back to the engine; a
//!    bridge calls its targets through [`Sip::call`] and relays audio and digits between
//!    the two calls once one answers, `bridge`);
//! 4. a deflection is journalled (fsynced) before the BYE and handed to the consumer right
//!    after it, by [`HandOffs`] — the one path, also taken at start-up: one the consumer
//!    refuses is retried with back-off ([`crate::handoff`]), and one still pending when the
//!    process stops is handed off at the next start ([`crate::deflection`]);
//! 5. every call that reached the service — answered or refused at step 2 — ends with one
//!    [`CallRecord`](crate::deflection::CallRecord) (times, trunk, numbers, flow, path, what
//!    the caller gave, outcome, reason) handed to the consumer in batches
//!    ([`HandOffs::keep_record`], [`RecordWriter`]).
//!
//! A WebRTC call — a WhatsApp call, whose signalling is the Graph API and its webhook, which
//! the binary carries — arrives by [`CallService::answer_webrtc`] instead: routed by the
//! number called, its media answered with a WebRTC session, [`Signal`]s out for the binary
//! (accept, reject, terminate) and [`CallService::webrtc_ended`] in; the same call task runs
//! it, its caller side a WebRTC leg instead of a dialog (`caller`), and it is never
//! transferred or bridged to a SIP target (Meta's terms forbid the telephone network on any
//! leg) — only to the inbox's agents.
//!
//! An agent's call to a WhatsApp customer who allowed it — a business-initiated WhatsApp
//! call — runs no flow: [`CallService::place_webrtc`] answers the agent's browser, offers
//! WhatsApp a session and relays between the two once the customer answers (`placed`).
//!
//! A bridge to `inbox:<queue>` rings the agents' softphones through the [`AgentPhones`] the
//! binary sets ([`CallService::set_agent_phones`], `phones`): the agent's browser is the
//! bridge's second call, a WebRTC session answering its offer.
//!
//! Each call runs in a `call` span carrying its `call_id`. Metrics: `deflect_calls_total
//! {outcome}` (the record's outcome: `deflected`, `transferred`, `limit_reached`, `too_many_attempts`,
//! `flow_ended`, `caller_hung_up`, `timed_out`, `max_duration`, `cancelled`, `rejected`,
//! `cut_off`, `failed`, and for agents' calls `agent_call_answered`, `agent_call_unanswered`),
//! `deflect_call_records_total{outcome}` (`kept`, `lost`), `deflect_calls_active`,
//! `deflect_dtmf_digits_total{source}`, with the engine's own `deflect_ivr_*` counters
//! (deflections are counted where the inbox takes them: `deflect_deflections_total`).

mod bridge;
mod call;
mod caller;
mod handoff;
mod journal;
mod listening;
mod phones;
mod placed;
mod prompts;
mod records;

pub use bridge::BridgeTrunk;
pub use caller::Signal;
pub use handoff::{HandOff, HandOffs};
pub use journal::JournalWriter;
pub use phones::{AgentCall, AgentPhones, AgentSignal};
pub use placed::{PlacedCall, PlacedEvent, Placement, RING_FOR};
pub use prompts::{FlowPrompts, PromptsError};
pub use records::RecordWriter;

use crate::deflection::{CallOutcome, DeflectionConsumer};
use crate::flow::Flows;
use crate::limits::DeflectionCounter;
use crate::speech::SpeechModels;
use caller::{Caller, WebRtcLeg};
use deflect_config::Cidr;
use deflect_media::driver::{CallOptions, MediaEngine};
use deflect_sip::endpoint::{CallEvent, EndReason};
use deflect_sip::runtime::{Incoming, IncomingCall, Sip};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
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
    /// The abuse limits' counter.
    pub counter: Arc<C>,
    /// The deflection journal and where deflections go.
    pub hand_offs: Arc<HandOffs<D>>,
    /// `sip.max_call_duration`: deflect hangs up a call this old.
    pub max_call_duration: Duration,
    /// Callers in `sip.local_networks` and the address their calls' SDP carries instead
    /// of the public one (`deflect_media::advertise::local`); `None`: the same for all.
    pub local_peers: Option<(Vec<Cidr>, IpAddr)>,
    /// The trunks a bridge's calls may go out through ([`BridgeTrunk::of`] each of
    /// `sip.trunks`).
    pub trunks: Vec<BridgeTrunk>,
}

/// Answers calls and runs their flows (see the module docs).
///
/// ```no_run
/// # async fn run(config: deflect_config::Config) -> anyhow::Result<()> {
/// use deflect_ivr::handoff::Backoff;
/// use deflect_ivr::runtime::{BridgeTrunk, CallService, FlowPrompts, HandOffs, Parts};
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
/// let journal = Journal::open(&config.data_dir)?;
/// // What the last run left in the journal is handed off before calls are taken.
/// let hand_offs = HandOffs::start(journal, Arc::new(Inbox), Backoff::default()).await;
///
/// let engine = MediaEngine::start(&config.media, Arc::new(library), None, 0);
/// let service = CallService::new(Parts {
///     engine,
///     flows,
///     prompts,
///     models,
///     counter: Arc::new(MemoryCounter::new()),
///     hand_offs,
///     max_call_duration: config.sip.max_call_duration,
///     local_peers: None,
///     trunks: config.sip.trunks.iter().map(BridgeTrunk::of).collect(),
/// });
/// let listeners = deflect_sip::transport::bind(&config.sip.listen).await?;
/// let (sip, incoming) = deflect_sip::runtime::Sip::start(&config.sip, listeners)?;
/// tokio::spawn(service.clone().serve(sip.clone(), incoming));
/// // … at shutdown, once SIP stopped accepting and the calls ended:
/// service.drained(std::time::Duration::from_secs(30)).await;
/// # let _ = sip; Ok(()) }
/// ```
pub struct CallService<C, D> {
    parts: Parts<C, D>,
    /// Call tasks (and their first hand-off attempts) in progress.
    live: watch::Sender<usize>,
    /// The WebRTC calls in progress, by call id: where their far end's events go.
    webrtc: Mutex<WebRtcCalls>,
    /// Where `inbox:<queue>` bridge targets ring, once the inbox is up.
    phones: OnceLock<Arc<dyn AgentPhones>>,
}

/// How many ended WebRTC calls' ids are remembered: a `connect` repeated after its call
/// ended (a retried webhook) starts nothing.
const REMEMBERED_ENDED_CALLS: usize = 4096;

/// The WebRTC calls in progress, and the ids of those that ended lately.
#[derive(Default)]
struct WebRtcCalls {
    live: HashMap<String, mpsc::UnboundedSender<CallEvent>>,
    ended: std::collections::VecDeque<String>,
}

/// A call that arrived by WebRTC signalling (a WhatsApp call, a widget visitor's browser),
/// to answer with [`CallService::answer_webrtc`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebRtcCall {
    /// The signalling's id for it (WhatsApp's `wacid…`).
    pub call_id: String,
    /// Where it came from, for its record's `trunk` (`whatsapp:<account>`, `widget:<site>`).
    pub channel: String,
    /// The caller's number (E.164, `+` and digits), when known: the flow offers it as the
    /// callback number.
    pub caller: Option<String>,
    /// The number called: it routes the call to a flow, as a SIP call's dialled user does.
    pub dialled: String,
    /// The caller's SDP offer.
    pub offer: String,
    /// The conversation it was placed from (a widget visitor's): its record links to it.
    pub conversation: Option<i64>,
}

impl<C, D> CallService<C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    /// Builds the service.
    pub fn new(parts: Parts<C, D>) -> Arc<Self> {
        Arc::new(Self {
            parts,
            live: watch::Sender::new(0),
            webrtc: Mutex::new(WebRtcCalls::default()),
            phones: OnceLock::new(),
        })
    }

    /// Lets bridges to `inbox:<queue>` ring the inbox's agents through `phones` (once;
    /// until then such a bridge fails as a target that is not available and the flow goes
    /// on).
    pub fn set_agent_phones(&self, phones: Arc<dyn AgentPhones>) {
        let _ = self.phones.set(phones);
    }

    pub(crate) fn agent_phones(&self) -> Option<&Arc<dyn AgentPhones>> {
        self.phones.get()
    }

    /// Answers the calls of `incoming` until the SIP stack stops; a bridge's calls to its
    /// targets go out through `sip`.
    pub async fn serve(self: Arc<Self>, sip: Sip, mut incoming: Incoming) {
        while let Some(call) = incoming.recv().await {
            self.answer(&sip, call);
        }
    }

    /// Waits until every call task has ended and handed off its deflection, at most
    /// `limit`, then keeps the calls' records queued (at most `limit` more). Returns how many
    /// calls were still running.
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
        // The records of the calls that ended are kept before the database closes.
        self.parts.hand_offs.close_records(limit).await;
        let waiting = *self.parts.hand_offs.waiting().borrow();
        if waiting > 0 {
            warn!(
                deflections = waiting,
                "deflections the inbox has not taken yet stay in the journal for the next start"
            );
        }
        left
    }

    /// Calls being handled now.
    pub fn active(&self) -> usize {
        *self.live.borrow()
    }

    /// Answers a WebRTC call (a WhatsApp call) with the flow its dialled number routes to:
    /// its media is set up from the offer and [`Signal::Accept`] (with the answer) or
    /// [`Signal::Reject`] goes to `signals`; the flow then runs as for a SIP call, except that
    /// it is never transferred or bridged to a SIP target (only to the inbox's agents), and it
    /// hangs up with [`Signal::Terminate`]. The
    /// same call id again (a repeated webhook) is ignored, also after the call ended (the
    /// last 4,096 ended calls are remembered); `signals` is then dropped at once. A bridge's
    /// calls would go out through `sip`.
    pub fn answer_webrtc(
        self: &Arc<Self>,
        sip: &Sip,
        call: WebRtcCall,
        signals: mpsc::UnboundedSender<Signal>,
    ) {
        let (own, events) = mpsc::unbounded_channel();
        if !self.track_webrtc(&call.call_id, own.clone()) {
            info!(call_id = %call.call_id, "WebRTC call taken before; ignored");
            return;
        }
        let span = info_span!("call", call_id = %call.call_id);
        let flow = self.parts.flows.route(&call.dialled).clone();
        let at = jiff::Timestamp::now();
        let start = crate::CallStart {
            call_id: call.call_id.clone(),
            asserted_identity: call.caller.clone(),
            from: call.caller.clone(),
            dialled: call.dialled.clone(),
            started_at: at,
        };
        let arrival = call::Arrival {
            call_id: call.call_id.clone(),
            trunk: call.channel.clone(),
            caller: call.caller.clone(),
            dialled: call.dialled.clone(),
            at,
            conversation: call.conversation,
        };
        let options = CallOptions {
            call_id: call.call_id.clone(),
            ..CallOptions::default()
        };
        let guard = LiveGuard::new(&self.live);
        let service = self.clone();
        let media = self
            .parts
            .engine
            .create_webrtc_session(&call.offer, options);
        let media = match media {
            Ok(media) => media,
            Err(e) => {
                span.in_scope(
                    || debug!(cause = %e, channel = %call.channel, "WebRTC call refused"),
                );
                let _ = signals.send(Signal::Reject {
                    call_id: call.call_id.clone(),
                });
                let record = arrival.record(&flow, CallOutcome::Rejected, Some(e.to_string()));
                tokio::spawn(
                    async move {
                        service.forget_webrtc(&record.call_id);
                        call::finished(&service, record).await;
                        drop(guard);
                    }
                    .instrument(span),
                );
                return;
            }
        };
        span.in_scope(|| {
            debug!(channel = %call.channel, from = ?call.caller, to = %call.dialled, flow = flow.name(), "answering WebRTC call");
        });
        let _ = signals.send(Signal::Accept {
            call_id: call.call_id.clone(),
            sdp: media.answer.clone(),
        });
        let leg = WebRtcLeg::new(call.call_id.clone(), own, events, signals);
        let sip = sip.clone();
        tokio::spawn(
            async move {
                let media = call::Media::Answered(media);
                call::run(
                    &service,
                    &sip,
                    Caller::WebRtc(leg),
                    media,
                    flow,
                    start,
                    arrival,
                    None,
                )
                .await;
                service.forget_webrtc(&call.call_id);
                drop(guard);
            }
            .instrument(span),
        );
    }

    /// The far end of WebRTC call `call_id` ended it (WhatsApp's `terminate`), with
    /// `reason` for its record. Unknown (or finished) calls are ignored.
    pub fn webrtc_ended(&self, call_id: &str, reason: Option<String>) {
        self.to_webrtc(
            call_id,
            CallEvent::Ended(EndReason::RemoteHangup { reason }),
        );
    }

    /// Passes `event` to the WebRTC call `call_id`, if it is in progress.
    fn to_webrtc(&self, call_id: &str, event: CallEvent) {
        let calls = self.webrtc.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(events) = calls.live.get(call_id) {
            let _ = events.send(event);
        }
    }

    /// Routes the far end's events of WebRTC call `call_id` to `events`; `false` (and
    /// nothing routed) when the id was taken before, also by a call that ended.
    fn track_webrtc(&self, call_id: &str, events: mpsc::UnboundedSender<CallEvent>) -> bool {
        let mut calls = self.webrtc.lock().unwrap_or_else(|e| e.into_inner());
        if calls.live.contains_key(call_id) || calls.ended.iter().any(|id| id == call_id) {
            return false;
        }
        calls.live.insert(call_id.to_owned(), events);
        true
    }

    /// Hangs up every WebRTC call (at shutdown, once the grace period is over): each ends
    /// as cut off and sends its [`Signal::Terminate`].
    pub fn end_webrtc_calls(&self) {
        let calls = self.webrtc.lock().unwrap_or_else(|e| e.into_inner());
        for events in calls.live.values() {
            let _ = events.send(CallEvent::Ended(EndReason::HungUp));
        }
    }

    fn forget_webrtc(&self, call_id: &str) {
        let mut calls = self.webrtc.lock().unwrap_or_else(|e| e.into_inner());
        if calls.live.remove(call_id).is_some() {
            if calls.ended.len() == REMEMBERED_ENDED_CALLS {
                calls.ended.pop_front();
            }
            calls.ended.push_back(call_id.to_owned());
        }
    }

    fn answer(self: &Arc<Self>, stack: &Sip, incoming: IncomingCall) {
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
            srtp: info.srtp,
            idle_media: info.idle_media,
            advertise: (self.parts.local_peers.as_ref())
                .filter(|(networks, _)| networks.iter().any(|n| n.contains(info.source.ip())))
                .map(|(_, address)| *address),
        };
        let media = match &info.offer {
            Some(offer) => self
                .parts
                .engine
                .create_session(offer, options)
                .map(call::Media::Answered),
            None => self.parts.engine.offer(options).map(call::Media::Offered),
        };
        let arrival = call::Arrival {
            call_id: info.call_id.clone(),
            trunk: info.trunk.clone(),
            caller: start.asserted_identity.clone().or(start.from.clone()),
            dialled: start.dialled.clone(),
            at: start.started_at,
            conversation: None,
        };
        let media = match media {
            Ok(m) => m,
            Err(e) => {
                let status = e.sip_status();
                span.in_scope(|| debug!(status, cause = %e, "call refused"));
                incoming.reject(status, (status == 503).then_some(PORTS_RETRY_AFTER));
                let reason = Some(format!("SIP {status}"));
                let record = arrival.record(&flow, CallOutcome::Rejected, reason);
                let guard = LiveGuard::new(&self.live);
                let service = self.clone();
                tokio::spawn(
                    async move {
                        call::finished(&service, record).await;
                        drop(guard);
                    }
                    .instrument(span),
                );
                return;
            }
        };
        span.in_scope(|| {
            debug!(
                trunk = %info.trunk,
                from = info.from_user().unwrap_or_default(),
                to = %start.dialled,
                flow = flow.name(),
                source = %info.source,
                "answering call"
            );
        });
        // Early media needs the INVITE's offer: without one, the SDP goes in the 200 OK.
        let (sip, early_sdp) = match &media {
            call::Media::Answered(m) if flow.early_media() => {
                let sdp = m.answer.clone().into_bytes();
                (incoming.progress(sdp.clone()), Some(sdp))
            }
            call::Media::Answered(m) => (incoming.accept(m.answer.clone().into_bytes()), None),
            call::Media::Offered(o) => (incoming.accept(o.offer.clone().into_bytes()), None),
        };
        let guard = LiveGuard::new(&self.live);
        let service = self.clone();
        let stack = stack.clone();
        tokio::spawn(
            async move {
                call::run(
                    &service,
                    &stack,
                    Caller::Sip(sip),
                    media,
                    flow,
                    start,
                    arrival,
                    early_sdp,
                )
                .await;
                drop(guard);
            }
            .instrument(span),
        );
    }
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
