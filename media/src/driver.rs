//! The tokio driver: owns the RTP/RTCP sockets and runs every [`MediaSession`] of the process.
//!
//! Sessions are spread over a few *shards* (one per core by default), each a single tokio
//! task with one timer. A shard keeps its sessions in a deadline heap and visits each when
//! its [`poll_timeout`](MediaSession::poll_timeout) comes — for a call that sends, every
//! packet time, and at least every 20 ms — and on a visit it reads the session's sockets until
//! they are empty (they are non-blocking std sockets, not registered with the reactor: no
//! task, waker or epoll event per packet), runs the timers, sends what is due and forwards
//! the events. So 5,000 calls cost two tasks and one timer each, not 5,000 tasks with 10,000
//! timers; and because each call keeps the phase it started with, the sends of all calls are
//! spread over the 20 ms instead of leaving in one burst.
//!
//! System calls are the cost that matters at scale: the kernel's work is about two thirds of
//! the CPU of a held call. Each visit reads the RTP socket with `recvfrom` until it is empty
//! (usually one datagram, then the empty read; at most 64 per visit); the RTCP socket (a
//! report every few seconds) every tenth visit; each packet leaves with one `sendto`. About
//! 105 system calls per call-second.
//!
//! Batching them does not pay here, measured on the 2-core VM the benchmarks run on
//! (`cargo run --release -p deflect-media --example udp_floor`, BENCHMARKS.md "Media"):
//!
//! - entering the kernel costs ~0.15 µs (`getpid`), against ~3.0–3.5 µs for a `sendto` of an
//!   RTP packet on loopback (most of it IP/UDP work and delivery into the receiving socket,
//!   which loopback charges to the sender) and ~0.8 µs for a `recvfrom`. Batching — `sendmmsg`
//!   with a destination per message, `recvmmsg`, or io_uring — removes the entry, not the
//!   per-datagram work: at most ~0.15 µs of ~4 µs per packet, under 0.02 ms per call-second.
//!   io_uring would add its own per-operation cost (submission and completion entries) and
//!   needs `unsafe` or a runtime of its own (tokio-uring) to drive, so it is not used.
//! - `recvmmsg` through `quinn-udp` (one call that returns the datagram and learns the socket
//!   is empty) measured 1.3–1.5 µs for one datagram, more than `recvfrom` plus an empty
//!   `recvfrom` (1.1–1.2 µs): its control-message handling outweighs the saved call, with one
//!   datagram per visit. This driver used it before; plain `recvfrom` replaced it.
//! - `send` on a connected socket is ~0.4 µs cheaper than `sendto`, but a connected socket no
//!   longer receives from other addresses, which symmetric RTP needs to re-latch onto a peer
//!   that moved (see [`crate::session`]); not used.
//! - `sendmmsg`/GSO batch datagrams of *one* socket, and each call has its own socket pair
//!   here (the port is the call's identity in SDP, and symmetric RTP behind NAT needs it).

use crate::dtmf::Digit;
use crate::dtmf::info::{InfoError, parse_info};
use crate::playback::{MissingPrompt, PlayItem, PlaybackId, PromptLibrary};
use crate::ports::{PortAllocator, PortError, PortPair};
use crate::sdp::{
    self, Direction, LocalDescription, NegotiatedMedia, NegotiationError, SessionDescription,
};
use crate::session::{
    Channel, MAX_DATAGRAM, MediaEvent, MediaSession, SessionConfig, SessionStats, Transmit,
};
use crate::webrtc::{WebRtcError, WebRtcOffer, WebRtcSession};
use deflect_config::MediaConfig;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Longest time between two visits of a session (its sockets are read on each).
const MAX_VISIT_INTERVAL: Duration = Duration::from_millis(20);
/// The same for a WebRTC call setting up: each round of its ICE and DTLS handshakes waits
/// for a visit, and four or five rounds at 20 ms would make it ~90 ms.
const CONNECTING_VISIT_INTERVAL: Duration = Duration::from_millis(2);

/// Why a call could not get media.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The offer is unusable: [`NegotiationError::NotAcceptable`] is SIP 488,
    /// [`NegotiationError::Malformed`] SIP 400.
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
    /// No RTP port pair is free (SIP 503), or binding failed.
    #[error(transparent)]
    Ports(#[from] PortError),
    /// A WebRTC offer deflect cannot answer (no Opus, no fingerprint, unreadable).
    #[error(transparent)]
    WebRtc(#[from] WebRtcError),
    /// The engine has shut down.
    #[error("the media engine has shut down")]
    ShutDown,
}

impl CreateError {
    /// The SIP status code to answer the INVITE with.
    pub fn sip_status(&self) -> u16 {
        match self {
            Self::Negotiation(NegotiationError::Malformed(_)) => 400,
            Self::Negotiation(
                NegotiationError::NotAcceptable { .. } | NegotiationError::Srtp(_),
            )
            | Self::WebRtc(_) => 488,
            Self::Ports(_) | Self::ShutDown => 503,
        }
    }
}

/// A command for a session that has ended (closed, timed out, or its events receiver dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the media session has ended")]
pub struct SessionEnded;

/// A re-offer answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renegotiated {
    /// The SDP answer.
    pub answer: String,
    /// The direction the peer offered, from its side (`SendOnly`: it puts the call on
    /// hold; `c=0.0.0.0` read as not receiving).
    pub peer_direction: Direction,
}

/// Why a re-offer failed.
#[derive(Debug, thiserror::Error)]
pub enum RenegotiateError {
    /// The offer is unusable (SIP 488 or 400); the call keeps its media.
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
    /// The session has ended.
    #[error(transparent)]
    Ended(#[from] SessionEnded),
}

/// Per-call options.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The SIP Call-ID (or any label), for logs.
    pub call_id: String,
    /// Detect DTMF tones in the audio (the trunk's `inband_dtmf`).
    pub inband_dtmf: bool,
    /// Whether SRTP is taken, required or refused (the trunk's `srtp`).
    pub srtp: deflect_config::SrtpPolicy,
    /// What the call sends while nothing plays (the trunk's `idle_media`).
    pub idle_media: deflect_config::IdleMedia,
    /// The address put in this call's SDP instead of the engine's (deflect's own address,
    /// for a peer in `sip.local_networks`: see [`crate::advertise::local`]).
    pub advertise: Option<IpAddr>,
}

/// Engine-wide counters (all sessions, since start).
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Sessions running now.
    pub sessions: AtomicU64,
    /// RTP packets sent.
    pub sent: AtomicU64,
    /// Of those, sent more than 5 ms after their due time.
    pub sent_late: AtomicU64,
    /// RTP packets received and accepted.
    pub received: AtomicU64,
    /// Digits reported.
    pub digits: AtomicU64,
}

struct Shared {
    config: MediaConfig,
    advertise: IpAddr,
    ports: PortAllocator,
    prompts: Arc<PromptLibrary>,
    shards: Vec<mpsc::UnboundedSender<ShardMessage>>,
    next_shard: AtomicUsize,
    next_session: AtomicU64,
    stats: Arc<EngineStats>,
}

/// The media side of the gateway: creates sessions from SDP offers and runs them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use deflect_media::driver::{CallOptions, MediaEngine};
/// use deflect_media::playback::PromptLibrary;
/// use deflect_media::session::MediaEvent;
/// use std::sync::Arc;
///
/// let config = deflect_config::MediaConfig::default();
/// let engine = MediaEngine::start(&config, Arc::new(PromptLibrary::builtin()), None, 1);
/// let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
///              m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
/// let mut call = match engine.create_session(offer.as_bytes(), CallOptions::default()) {
///     Ok(call) => call,
///     Err(e) => panic!("answer with SIP {}: {e}", e.sip_status()),
/// };
/// assert!(call.answer.starts_with("v=0\r\n"));            // the 200 OK body
/// let id = call.handle.play_prompts("en", &["goodbye"], true).unwrap();
/// // … call.handle.info_dtmf(…), call.handle.renegotiate(…).await, call.handle.hold(…) …
/// while let Some(event) = call.events.recv().await {
///     if let MediaEvent::Playback { id: ended, .. } = event {
///         assert_eq!(ended, id);
///         break;
///     }
/// }
/// call.handle.close();
/// # }
/// ```
#[derive(Clone)]
pub struct MediaEngine {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MediaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEngine")
            .field("advertise", &self.shared.advertise)
            .field("shards", &self.shared.shards.len())
            .finish()
    }
}

/// An offer this side made, holding its port pair until the answer comes (see
/// [`MediaEngine::offer`]). Dropping it frees the ports.
#[derive(Debug)]
pub struct Offered {
    /// The SDP offer to send.
    pub offer: String,
    ports: PortPair,
    local: LocalDescription,
    options: CallOptions,
}

/// A WebRTC offer this side made (a call it places), holding its port until the answer
/// comes (see [`MediaEngine::offer_webrtc`]). Dropping it frees the port.
#[derive(Debug)]
pub struct WebRtcOffered {
    /// The SDP offer to send.
    pub offer: String,
    pending: WebRtcOffer,
    ports: PortPair,
    bound: SocketAddr,
    options: CallOptions,
}

/// A call's media: the answer to send, and how to talk to the session.
#[derive(Debug)]
pub struct MediaCall {
    /// The SDP answer (the 200 OK body); for a WebRTC call this side offered, the offer.
    pub answer: String,
    /// What was negotiated (for a WebRTC call: what its inner session believes, G.711 and
    /// telephone-event; see [`crate::webrtc`]).
    pub media: NegotiatedMedia,
    /// Local RTP address.
    pub local_rtp: SocketAddr,
    /// Commands in.
    pub handle: MediaHandle,
    /// Events out: DTMF, RTP timeout, playback ended, audio frames while listening. Ends when
    /// the session does; dropping it ends the session (as [`MediaHandle::close`] does).
    pub events: mpsc::UnboundedReceiver<MediaEvent>,
}

impl MediaEngine {
    /// Starts the engine with `shards` shard tasks (0: one per available core) on the
    /// current tokio runtime. `advertise` is the address put in SDP (default: `rtp_address`;
    /// set it when that is `0.0.0.0` or behind NAT).
    pub fn start(
        config: &MediaConfig,
        prompts: Arc<PromptLibrary>,
        advertise: Option<IpAddr>,
        shards: usize,
    ) -> Self {
        let shards = if shards == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            shards
        };
        let advertise = advertise.unwrap_or(config.rtp_address);
        if advertise.is_unspecified() {
            tracing::warn!(
                "media.rtp_address is unspecified and no address to advertise was given; SDP answers will carry {advertise}"
            );
        }
        let stats = Arc::new(EngineStats::default());
        let senders = (0..shards)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(run_shard(rx, stats.clone()));
                tx
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                config: config.clone(),
                advertise,
                ports: PortAllocator::new(config.rtp_address, config.rtp_ports),
                prompts,
                shards: senders,
                next_shard: AtomicUsize::new(0),
                next_session: AtomicU64::new(1),
                stats,
            }),
        }
    }

    /// The prompts every call plays from.
    pub fn prompts(&self) -> &Arc<PromptLibrary> {
        &self.shared.prompts
    }

    /// Counters over all sessions.
    pub fn stats(&self) -> &EngineStats {
        &self.shared.stats
    }

    /// Answers an INVITE's offer: negotiates, takes a port pair, starts the session.
    pub fn create_session(
        &self,
        offer: &[u8],
        options: CallOptions,
    ) -> Result<MediaCall, CreateError> {
        // Check the offer before taking ports, so a 488 costs no bind.
        let parsed = SessionDescription::parse(offer).map_err(NegotiationError::from)?;
        let advertise = options.advertise.unwrap_or(self.shared.advertise);
        let mut probe = LocalDescription::new(advertise, 0).with_srtp(options.srtp);
        sdp::answer(&parsed, &self.shared.config.codecs, &mut probe)?;
        let ports = self.allocate_counted()?;
        self.create_session_on(ports, offer, options)
    }

    /// Makes an offer (for an INVITE that came without one, whose answer arrives in the
    /// ACK, and for calls this side places): a port pair is taken now; the session starts
    /// with [`answered`](Self::answered) when the peer's answer comes. The offer lists the
    /// configured codecs and telephone-event (payload type 101).
    pub fn offer(&self, options: CallOptions) -> Result<Offered, CreateError> {
        let (ports, port) = self.take_ports()?;
        let advertise = options.advertise.unwrap_or(self.shared.advertise);
        let mut local = LocalDescription::new(advertise, port.port()).with_srtp(options.srtp);
        let offer = sdp::offer(&mut local, &self.shared.config.codecs, Some(101));
        Ok(Offered {
            offer,
            ports,
            local,
            options,
        })
    }

    /// A port pair (exhaustion counted in `deflect_media_ports_exhausted_total`).
    fn allocate_counted(&self) -> Result<PortPair, PortError> {
        self.shared.ports.allocate().inspect_err(|e| {
            if matches!(e, PortError::Exhausted { .. }) {
                metrics::counter!("deflect_media_ports_exhausted_total").increment(1);
            }
        })
    }

    /// A port pair and its RTP socket's address.
    fn take_ports(&self) -> Result<(PortPair, SocketAddr), PortError> {
        let ports = self.allocate_counted()?;
        let address = ports.rtp.local_addr().map_err(|source| PortError::Bind {
            address: SocketAddr::new(self.shared.config.rtp_address, 0),
            source,
        })?;
        Ok((ports, address))
    }

    /// Starts the session of an [`Offered`] call from the peer's answer. An answer with
    /// nothing acceptable is [`CreateError::Negotiation`]: the call cannot have media (hang
    /// up); the ports are freed either way.
    pub fn answered(&self, offered: Offered, answer: &[u8]) -> Result<MediaCall, CreateError> {
        self.start_session(offered.ports, offered.local, answer, offered.options)
    }

    /// Takes a port pair without a session yet (for an endpoint that sends the offer itself,
    /// such as a load generator: write the offer with [`sdp::offer`], then pass the pair and
    /// the peer's answer to [`create_session_on`](Self::create_session_on)).
    pub fn allocate_ports(&self) -> Result<PortPair, PortError> {
        self.shared.ports.allocate()
    }

    /// The address put in SDP.
    pub fn advertised_address(&self) -> IpAddr {
        self.shared.advertise
    }

    /// Starts a session on ports already held, from the peer's description (an offer to
    /// answer, or — on the offering side — the answer, which reads the same way).
    pub fn create_session_on(
        &self,
        ports: PortPair,
        description: &[u8],
        options: CallOptions,
    ) -> Result<MediaCall, CreateError> {
        let local_rtp = ports.rtp.local_addr().map_err(|source| PortError::Bind {
            address: SocketAddr::new(self.shared.config.rtp_address, 0),
            source,
        })?;
        let advertise = options.advertise.unwrap_or(self.shared.advertise);
        let local = LocalDescription::new(advertise, local_rtp.port()).with_srtp(options.srtp);
        self.start_session(ports, local, description, options)
    }

    fn start_session(
        &self,
        ports: PortPair,
        local: LocalDescription,
        description: &[u8],
        options: CallOptions,
    ) -> Result<MediaCall, CreateError> {
        let local_rtp = SocketAddr::new(self.shared.config.rtp_address, local.rtp_port);
        let config = SessionConfig {
            idle_media: options.idle_media,
            ..SessionConfig::from_config(&self.shared.config, options.inband_dtmf)
        };
        let now = Instant::now().into_std();
        let (session, answer) =
            MediaSession::new(now, SystemTime::now(), config, local, description)?;
        let media = session.media().clone();
        let srtp = media.srtp.as_ref().map(|k| k.suite.name());
        tracing::debug!(call_id = %options.call_id, local = %local_rtp, codec = ?media.codec, remote = ?media.remote_rtp, srtp, "media session starts");
        self.run(
            Session::Rtp(session),
            ports,
            options,
            answer,
            media,
            local_rtp,
        )
    }

    /// Answers a WebRTC offer (a WhatsApp call's, a browser's): takes a port (its pair's
    /// RTP socket carries ICE, DTLS and SRTP, see [`crate::webrtc`]) and starts the session.
    /// An offer without Opus, or one that cannot be read, is [`CreateError::WebRtc`].
    pub fn create_webrtc_session(
        &self,
        offer: &str,
        options: CallOptions,
    ) -> Result<MediaCall, CreateError> {
        let (ports, bound) = self.take_ports()?;
        let advertise = options.advertise.unwrap_or(self.shared.advertise);
        let candidate = SocketAddr::new(advertise, bound.port());
        let config = SessionConfig::from_config(&self.shared.config, false);
        let now = Instant::now().into_std();
        let (mut session, answer) =
            WebRtcSession::answer(now, SystemTime::now(), config, candidate, offer)?;
        let media = session.session().media().clone();
        tracing::debug!(call_id = %options.call_id, local = %bound, %candidate, "WebRTC media session starts");
        self.run(
            Session::WebRtc(Box::new(session)),
            ports,
            options,
            answer,
            media,
            bound,
        )
    }

    /// Makes a WebRTC offer for a call this side places (a business-initiated WhatsApp
    /// call): a port is taken now; the session starts with
    /// [`answered_webrtc`](Self::answered_webrtc) when the far end's answer comes.
    pub fn offer_webrtc(&self, options: CallOptions) -> Result<WebRtcOffered, CreateError> {
        let (ports, bound) = self.take_ports()?;
        let advertise = options.advertise.unwrap_or(self.shared.advertise);
        let candidate = SocketAddr::new(advertise, bound.port());
        let (pending, offer) = WebRtcOffer::new(Instant::now().into_std(), candidate)?;
        Ok(WebRtcOffered {
            offer,
            pending,
            ports,
            bound,
            options,
        })
    }

    /// Starts the session of a [`WebRtcOffered`] call from the far end's answer. An answer
    /// without Opus, or one that cannot be read, is [`CreateError::WebRtc`]; the port is
    /// freed either way.
    pub fn answered_webrtc(
        &self,
        offered: WebRtcOffered,
        answer: &str,
    ) -> Result<MediaCall, CreateError> {
        let config = SessionConfig::from_config(&self.shared.config, false);
        let now = Instant::now().into_std();
        let mut session = offered
            .pending
            .answered(now, SystemTime::now(), config, answer)?;
        let media = session.session().media().clone();
        let bound = offered.bound;
        tracing::debug!(call_id = %offered.options.call_id, local = %bound, "WebRTC media session starts (answered)");
        self.run(
            Session::WebRtc(Box::new(session)),
            offered.ports,
            offered.options,
            offered.offer,
            media,
            bound,
        )
    }

    /// Hands a session to a shard.
    fn run(
        &self,
        session: Session,
        ports: PortPair,
        options: CallOptions,
        answer: String,
        media: NegotiatedMedia,
        local_rtp: SocketAddr,
    ) -> Result<MediaCall, CreateError> {
        let id = self.shared.next_session.fetch_add(1, Ordering::Relaxed);
        let shard =
            self.shared.next_shard.fetch_add(1, Ordering::Relaxed) % self.shared.shards.len();
        let tx = self.shared.shards[shard].clone();
        let (events_tx, events) = mpsc::unbounded_channel();
        tx.send(ShardMessage::Add(Box::new(Entry {
            id,
            call_id: options.call_id,
            session,
            ports,
            visits: 0,
            events: events_tx,
            scheduled: Instant::now(),
            reported: SessionStats::default(),
        })))
        .map_err(|_| CreateError::ShutDown)?;
        Ok(MediaCall {
            answer,
            media,
            local_rtp,
            handle: MediaHandle {
                id,
                tx,
                prompts: self.shared.prompts.clone(),
                next_playback: Arc::new(AtomicU64::new(1)),
            },
            events,
        })
    }
}

/// A shard's session: a SIP call's RTP, or a WebRTC call's.
#[allow(clippy::large_enum_variant)] // the SIP call's, the hot path, stays inline
enum Session {
    Rtp(MediaSession),
    WebRtc(Box<WebRtcSession>),
}

impl Session {
    /// The session that plays, relays, taps and reports (a WebRTC call's inner one).
    fn media(&mut self) -> &mut MediaSession {
        match self {
            Self::Rtp(s) => s,
            Self::WebRtc(s) => s.session(),
        }
    }

    fn stats(&self) -> &SessionStats {
        match self {
            Self::Rtp(s) => s.stats(),
            Self::WebRtc(s) => s.stats(),
        }
    }

    fn handle_datagram(&mut self, now: std::time::Instant, from: SocketAddr, datagram: &[u8]) {
        match self {
            Self::Rtp(s) => s.handle_rtp(now, from, datagram),
            Self::WebRtc(s) => s.handle_datagram(now, from, datagram),
        }
    }

    fn handle_timeout(&mut self, now: std::time::Instant) {
        match self {
            Self::Rtp(s) => s.handle_timeout(now),
            Self::WebRtc(s) => s.handle_timeout(now),
        }
    }

    fn poll_timeout(&mut self) -> Option<std::time::Instant> {
        match self {
            Self::Rtp(s) => s.poll_timeout(),
            Self::WebRtc(s) => s.poll_timeout(),
        }
    }

    fn poll_transmit(&mut self, now: std::time::Instant, buf: &mut [u8]) -> Option<Transmit> {
        match self {
            Self::Rtp(s) => s.poll_transmit(now, buf),
            Self::WebRtc(s) => s.poll_transmit(now, buf),
        }
    }

    fn poll_event(&mut self) -> Option<MediaEvent> {
        match self {
            Self::Rtp(s) => s.poll_event(),
            Self::WebRtc(s) => s.poll_event(),
        }
    }

    fn set_hold(&mut self, now: std::time::Instant, on: bool) {
        match self {
            Self::Rtp(s) => s.set_hold(now, on),
            Self::WebRtc(s) => s.set_hold(now, on),
        }
    }

    fn close(&mut self) {
        match self {
            Self::Rtp(s) => s.close(),
            Self::WebRtc(s) => s.close(),
        }
    }

    /// Longest time until the next visit.
    fn visit_interval(&self) -> Duration {
        match self {
            Self::WebRtc(s) if !s.is_connected() => CONNECTING_VISIT_INTERVAL,
            _ => MAX_VISIT_INTERVAL,
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Self::Rtp(s) => s.is_closed(),
            Self::WebRtc(s) => s.is_closed(),
        }
    }
}

enum Command {
    Play {
        id: PlaybackId,
        items: Vec<PlayItem>,
        barge_in: bool,
    },
    StopPlayback,
    Renegotiate {
        offer: Vec<u8>,
        reply: oneshot::Sender<Result<Renegotiated, NegotiationError>>,
    },
    Reoffer(Direction, oneshot::Sender<Option<String>>),
    ReofferAnswered(Vec<u8>),
    InfoDigit(Digit, std::time::Instant),
    SendDtmf(Vec<Digit>, Duration, Duration),
    Hold(bool),
    Listen(bool),
    Bridge(bool),
    Relay(Vec<i16>),
    Close,
}

enum ShardMessage {
    Add(Box<Entry>),
    Command(u64, Command),
}

/// Commands for one call's media session. Cheap to clone; every method returns at once.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    id: u64,
    tx: mpsc::UnboundedSender<ShardMessage>,
    prompts: Arc<PromptLibrary>,
    next_playback: Arc<AtomicU64>,
}

impl std::fmt::Debug for ShardMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShardMessage")
    }
}

impl MediaHandle {
    fn send(&self, c: Command) -> Result<(), SessionEnded> {
        self.tx
            .send(ShardMessage::Command(self.id, c))
            .map_err(|_| SessionEnded)
    }

    /// Queues items after whatever is playing; `barge_in`: a key press stops them. The
    /// returned id comes back in [`MediaEvent::Playback`].
    pub fn play(&self, items: Vec<PlayItem>, barge_in: bool) -> PlaybackId {
        let id = PlaybackId(self.next_playback.fetch_add(1, Ordering::Relaxed));
        // A session that has ended plays nothing; its events channel has closed already.
        let _ = self.send(Command::Play {
            id,
            items,
            barge_in,
        });
        id
    }

    /// Queues prompts by name in `language` (falling back to the English ones).
    pub fn play_prompts(
        &self,
        language: &str,
        names: &[&str],
        barge_in: bool,
    ) -> Result<PlaybackId, MissingPrompt> {
        let items = self.prompts.resolve(language, names)?;
        Ok(self.play(items, barge_in))
    }

    /// Stops the current playback and everything queued.
    pub fn stop_playback(&self) {
        let _ = self.send(Command::StopPlayback);
    }

    /// Answers a re-offer; on error the call keeps its media (SIP 488/400).
    pub async fn renegotiate(&self, offer: &[u8]) -> Result<Renegotiated, RenegotiateError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Renegotiate {
            offer: offer.to_vec(),
            reply,
        })?;
        Ok(answer.await.map_err(|_| SessionEnded)??)
    }

    /// deflect's offer of this call's media with `direction` (its own side), for a
    /// re-INVITE; hand the peer's answer to [`reoffer_answered`](Self::reoffer_answered).
    pub async fn reoffer(&self, direction: Direction) -> Result<String, SessionEnded> {
        let (reply, offer) = oneshot::channel();
        self.send(Command::Reoffer(direction, reply))?;
        offer.await.ok().flatten().ok_or(SessionEnded)
    }

    /// The peer's answer to [`reoffer`](Self::reoffer) (one that cannot be used is logged
    /// and leaves the media as it was).
    pub fn reoffer_answered(&self, answer: Vec<u8>) {
        let _ = self.send(Command::ReofferAnswered(answer));
    }

    /// A SIP INFO body: the digit joins the call's DTMF stream. The error says what to
    /// answer (415 or 400); `Ok` is 200.
    pub fn info_dtmf(&self, content_type: &str, body: &[u8]) -> Result<(), InfoError> {
        let info = parse_info(content_type, body)?;
        let _ = self.send(Command::InfoDigit(info.digit, Instant::now().into_std()));
        Ok(())
    }

    /// Sends `digits` (`0`–`9`, `*`, `#`, `A`–`D`) as RFC 4733 events, each a tone of `tone`
    /// then `gap` of silence; [`MediaEvent::DtmfStarted`] reports each as its first packet
    /// leaves and [`MediaEvent::DtmfSent`] once its end packets have. Needs
    /// telephone-event in [`MediaCall::media`] (otherwise nothing is sent). The error names
    /// a character that is not a key.
    pub fn send_dtmf(&self, digits: &str, tone: Duration, gap: Duration) -> Result<(), char> {
        let digits = digits
            .chars()
            .map(|c| Digit::from_char(c).ok_or(c))
            .collect::<Result<Vec<_>, _>>()?;
        let _ = self.send(Command::SendDtmf(digits, tone, gap));
        Ok(())
    }

    /// Local hold: stop sending and suspend the RTP timeout (or resume).
    pub fn hold(&self, on: bool) {
        let _ = self.send(Command::Hold(on));
    }

    /// Starts (or stops) [`MediaEvent::Audio`] frames of the caller's audio.
    pub fn listen(&self, on: bool) {
        let _ = self.send(Command::Listen(on));
    }

    /// Bridges this call to another one (or ends that): from now on, audio handed to
    /// [`relay`](Self::relay) is sent whenever no prompt plays ([`crate::relay`]).
    pub fn bridge(&self, on: bool) {
        let _ = self.send(Command::Bridge(on));
    }

    /// The other leg's audio (a [`MediaEvent::Audio`] frame's samples) to send on this call.
    pub fn relay(&self, samples: Vec<i16>) {
        let _ = self.send(Command::Relay(samples));
    }

    /// Ends the session and frees its ports.
    pub fn close(&self) {
        let _ = self.send(Command::Close);
    }
}

struct Entry {
    id: u64,
    call_id: String,
    session: Session,
    ports: PortPair,
    visits: u32,
    events: mpsc::UnboundedSender<MediaEvent>,
    scheduled: Instant,
    reported: SessionStats,
}

#[derive(Default)]
struct Pending {
    sent: u64,
    sent_late: u64,
    received: u64,
    digits: u64,
}

async fn run_shard(mut rx: mpsc::UnboundedReceiver<ShardMessage>, stats: Arc<EngineStats>) {
    let mut sessions: HashMap<u64, Entry> = HashMap::new();
    let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut send_buf = vec![0u8; MAX_DATAGRAM];
    // Room for any UDP datagram, so none is cut short.
    let mut recv_buf = vec![0u8; 65536];
    let mut pending = Pending::default();
    let mut next_flush = Instant::now() + Duration::from_secs(1);
    loop {
        let wake = heap
            .peek()
            .map_or(next_flush, |Reverse((t, _))| (*t).min(next_flush));
        tokio::select! {
            biased;
            message = rx.recv() => {
                let Some(message) = message else { break };
                let now = Instant::now();
                let (id, visit_now) = match message {
                    ShardMessage::Add(entry) => {
                        let id = entry.id;
                        sessions.insert(id, *entry);
                        stats.sessions.fetch_add(1, Ordering::Relaxed);
                        metrics::gauge!("deflect_media_sessions").increment(1.0);
                        (id, true)
                    }
                    ShardMessage::Command(id, command) => {
                        // Relayed audio waits for the session's next frame; a visit now
                        // would only read empty sockets.
                        let visit_now = !matches!(command, Command::Relay(_));
                        if let Some(entry) = sessions.get_mut(&id) {
                            apply(entry, command, now.into_std());
                        }
                        (id, visit_now)
                    }
                };
                if visit_now && let Some(entry) = sessions.get_mut(&id) {
                    let keep = visit(entry, now, &mut send_buf, &mut recv_buf, &mut pending);
                    settle(keep, id, &mut sessions, &mut heap, &stats);
                }
            }
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                // Everything due within half a millisecond goes now (the timer's resolution is 1 ms).
                let horizon = now + Duration::from_micros(500);
                while let Some(&Reverse((due, id))) = heap.peek() {
                    if due > horizon {
                        break;
                    }
                    heap.pop();
                    let Some(entry) = sessions.get_mut(&id) else { continue };
                    if entry.scheduled != due {
                        continue; // superseded by an earlier visit
                    }
                    // Visit at its due time when that is a little ahead (within the horizon),
                    // so the session sees the time it asked for and moves on.
                    let at = now.max(due);
                    let keep = visit(entry, at, &mut send_buf, &mut recv_buf, &mut pending);
                    settle(keep, id, &mut sessions, &mut heap, &stats);
                }
                if now >= next_flush {
                    flush(&mut pending, &stats);
                    next_flush = now + Duration::from_secs(1);
                }
            }
        }
    }
    flush(&mut pending, &stats);
}

fn settle(
    keep: bool,
    id: u64,
    sessions: &mut HashMap<u64, Entry>,
    heap: &mut BinaryHeap<Reverse<(Instant, u64)>>,
    stats: &EngineStats,
) {
    if keep {
        if let Some(entry) = sessions.get(&id) {
            heap.push(Reverse((entry.scheduled, id)));
        }
    } else if let Some(entry) = sessions.remove(&id) {
        stats.sessions.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("deflect_media_sessions").decrement(1.0);
        let s = entry.session.stats();
        tracing::debug!(
            call_id = %entry.call_id, sent = s.sent, late = s.sent_late, received = s.received,
            lost_or_late = s.too_late, foreign = s.foreign, digits = s.digits,
            unauthenticated = s.unauthenticated, "media session ends"
        );
        metrics::counter!("deflect_media_srtp_rejected_total").increment(s.unauthenticated);
    }
}

fn flush(p: &mut Pending, stats: &EngineStats) {
    stats.sent.fetch_add(p.sent, Ordering::Relaxed);
    stats.sent_late.fetch_add(p.sent_late, Ordering::Relaxed);
    stats.received.fetch_add(p.received, Ordering::Relaxed);
    stats.digits.fetch_add(p.digits, Ordering::Relaxed);
    metrics::counter!("deflect_media_rtp_sent_total").increment(p.sent);
    metrics::counter!("deflect_media_rtp_sent_late_total").increment(p.sent_late);
    metrics::counter!("deflect_media_rtp_received_total").increment(p.received);
    metrics::counter!("deflect_media_dtmf_digits_total").increment(p.digits);
    *p = Pending::default();
}

/// Carries out a command. A WebRTC call's media is not renegotiated by SDP (a re-offer is
/// refused, as SIP answers one with 488) and sends no digits ([`crate::webrtc`]).
fn apply(entry: &mut Entry, command: Command, now: std::time::Instant) {
    let session = &mut entry.session;
    match command {
        Command::Play {
            id,
            items,
            barge_in,
        } => session.media().play_as(id, items, barge_in),
        Command::StopPlayback => session.media().stop_playback(),
        Command::Renegotiate { offer, reply } => {
            let result = match session {
                Session::Rtp(s) => s.renegotiate(now, &offer).map(|answer| Renegotiated {
                    answer,
                    peer_direction: s.media().direction.answer(),
                }),
                Session::WebRtc(_) => Err(NegotiationError::NotAcceptable {
                    wanted: "no re-offer".into(),
                    profiles: "a WebRTC call",
                }),
            };
            if let Err(e) = &result {
                tracing::debug!(call_id = %entry.call_id, error = %e, "re-offer refused; media unchanged");
            }
            let _ = reply.send(result);
        }
        Command::Reoffer(direction, reply) => {
            let offer = match session {
                Session::Rtp(s) => s.reoffer(direction),
                Session::WebRtc(_) => None,
            };
            let _ = reply.send(offer);
        }
        Command::ReofferAnswered(answer) => {
            if let Session::Rtp(s) = session
                && let Err(e) = s.reoffer_answered(now, &answer)
            {
                tracing::debug!(call_id = %entry.call_id, error = %e, "answer to deflect's re-offer not usable; media unchanged");
            }
        }
        Command::InfoDigit(digit, at) => session.media().handle_info_digit(at, digit),
        Command::SendDtmf(digits, tone, gap) => {
            let sent = match session {
                Session::Rtp(s) => s.send_dtmf(&digits, tone, gap).map_err(|e| e.to_string()),
                Session::WebRtc(_) => Err("a WebRTC call sends no digits".into()),
            };
            if let Err(e) = sent {
                tracing::debug!(call_id = %entry.call_id, error = %e, "digits not sent");
            }
        }
        Command::Hold(on) => session.set_hold(now, on),
        Command::Listen(on) => session.media().set_tap(on),
        Command::Bridge(on) => session.media().set_relay(on),
        Command::Relay(samples) => session.media().relay(&samples),
        Command::Close => session.close(),
    }
}

/// Most datagrams read from one RTP socket per visit: far more than a caller sends between
/// two visits (one, a few after a network stall), so that a flood on one port cannot keep the
/// shard — and every other call on it — reading. The rest waits for the next visit, or the
/// socket's buffer drops it.
const MAX_READS_PER_VISIT: usize = 64;

/// Reads the datagrams waiting on the RTP socket into the session (at most
/// [`MAX_READS_PER_VISIT`]).
fn receive_rtp(entry: &mut Entry, now: std::time::Instant, buf: &mut [u8]) {
    for _ in 0..MAX_READS_PER_VISIT {
        match entry.ports.rtp.recv_from(buf) {
            Ok((n, from)) => entry.session.handle_datagram(now, from, &buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // ICMP errors surface here on some systems; they say nothing about us.
                tracing::debug!(call_id = %entry.call_id, error = %e, "RTP receive error");
                return;
            }
        }
    }
}

/// Sends every datagram the session has due.
fn transmit(entry: &mut Entry, now: std::time::Instant, buf: &mut [u8]) {
    while let Some(t) = entry.session.poll_transmit(now, buf) {
        let socket = match t.channel {
            Channel::Rtp => &entry.ports.rtp,
            Channel::Rtcp => &entry.ports.rtcp,
        };
        if let Err(e) = socket.send_to(&buf[..t.len], t.destination) {
            tracing::debug!(call_id = %entry.call_id, error = %e, to = %t.destination, "RTP send failed");
        }
    }
}

/// Runs one session: reads its sockets, runs its timers, sends, forwards events, and sets
/// its next visit. Returns whether it lives on.
fn visit(
    entry: &mut Entry,
    now: Instant,
    send_buf: &mut [u8],
    recv_buf: &mut [u8],
    pending: &mut Pending,
) -> bool {
    let std_now = now.into_std();
    entry.visits = entry.visits.wrapping_add(1);
    // Housekeeping every tenth visit (every 200 ms or less): the RTCP socket, and whether
    // the call's owner dropped its events receiver without closing (sending an event notices
    // that at once too).
    let housekeeping = entry.visits.is_multiple_of(10);
    if housekeeping && entry.events.is_closed() {
        entry.session.close();
    }
    if entry.session.is_closed() {
        // What closing left to send (a WebRTC call's DTLS close).
        transmit(entry, std_now, send_buf);
        return false;
    }
    receive_rtp(entry, std_now, recv_buf);
    let session = &mut entry.session;
    if housekeeping && let Session::Rtp(session) = session {
        let mut buf = [0u8; 1500];
        loop {
            match entry.ports.rtcp.recv_from(&mut buf) {
                Ok((n, from)) => session.handle_rtcp(std_now, from, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break, // empty (or an ICMP error, which says nothing about us)
            }
        }
    }
    session.handle_timeout(std_now);
    transmit(entry, std_now, send_buf);
    let session = &mut entry.session;
    while let Some(event) = session.poll_event() {
        if let MediaEvent::Dtmf(d) = &event {
            tracing::info!(call_id = %entry.call_id, digit = %d.digit, source = d.source.as_str(), "DTMF digit");
        }
        if let MediaEvent::RtpTimeout { silent_for } = &event {
            tracing::info!(call_id = %entry.call_id, silent_for = ?silent_for, "no RTP; the call should end");
            metrics::counter!("deflect_media_rtp_timeouts_total").increment(1);
        }
        if entry.events.send(event).is_err() {
            // Nobody listens any more: the call is gone.
            session.close();
        }
    }
    let s = *session.stats();
    pending.sent += s.sent - entry.reported.sent;
    pending.sent_late += s.sent_late - entry.reported.sent_late;
    pending.received += s.received - entry.reported.received;
    pending.digits += s.digits - entry.reported.digits;
    entry.reported = s;
    if session.is_closed() {
        return false;
    }
    let next = session
        .poll_timeout()
        .map_or(now + session.visit_interval(), |t| {
            Instant::from_std(t).min(now + session.visit_interval())
        })
        .max(now + Duration::from_micros(200));
    entry.scheduled = next;
    true
}
