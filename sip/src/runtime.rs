//! The tokio driver: sockets and one timer around the sans-IO [`Endpoint`], and the handles
//! the layers above use — [`Incoming`] calls to accept or reject, a [`Call`] per dialog with
//! its event stream and commands, and [`Sip`] for outgoing calls, registration and shutdown.
//!
//! One task owns the endpoint: it takes datagrams and stream messages from the socket
//! tasks, commands from the handles, and sleeps until the endpoint's next deadline. A UDP
//! socket gets a receive task; a TCP listener gets an accept task, which closes at once the
//! connections beyond `tcp_max_connections_per_source` / `tcp_max_connections`
//! ([`crate::connections`]), and each connection a reader (framing by `Content-Length`,
//! closed after `tcp_idle_timeout` of silence or `tcp_message_timeout` holding an
//! unfinished message) and a writer. A TLS listener is a TCP listener whose connections
//! first complete a handshake (within `tcp_message_timeout`), presenting `[sip.tls]`'s
//! certificate ([`crate::tls`]). Responses leave on the connection their request came in
//! on; requests deflect sends to a TCP or TLS peer reuse a connection to it or open one,
//! verifying a TLS server as its trunk says.
//!
//! ```no_run
//! # async fn run(config: &deflect_config::SipConfig) -> std::io::Result<()> {
//! use deflect_sip::endpoint::{CallEvent, Reason};
//! use deflect_sip::runtime::Sip;
//!
//! let listeners = deflect_sip::transport::bind(&config.listen).await?;
//! let (sip, mut incoming) = Sip::start(config, listeners)?;
//! while let Some(call) = incoming.recv().await {
//!     // Who is calling, from which trunk, with what offer:
//!     let offer = call.info().offer.clone().unwrap_or_default();
//!     if call.info().trunk != "carrier" {
//!         call.reject(403, None);
//!         continue;
//!     }
//!     let answer = offer; // the media layer builds the real SDP answer
//!     let mut call = call.accept(answer);
//!     tokio::spawn(async move {
//!         while let Some(event) = call.next_event().await {
//!             match event {
//!                 CallEvent::Offer { offer, sdp } => call.answer_offer(offer, Ok(sdp)),
//!                 CallEvent::Info { request, content_type, body } => {
//!                     // DTMF relay: 200 when understood, 415/400 otherwise.
//!                     call.answer_info(request, 200);
//!                 }
//!                 CallEvent::Ended(reason) => break,
//!                 _ => {}
//!             }
//!         }
//!     });
//! }
//! # let _ = sip; Ok(()) }
//! ```

use crate::connections::{ConnectionLimits, ReadDeadline};
use crate::endpoint::{
    CallEvent, CallKey, EndReason, Endpoint, EndpointConfig, Event, IncomingCall as CallInfo,
    OutgoingCall, Reason, RegistrationState,
};
use crate::health::Target;
use crate::message;
use crate::source::SourceKey;
use crate::tls::{Peer, ServerIdentity, Trust};
use crate::transport::Listener;
use deflect_config::{Cidr, SipConfig, SipTransport};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::{debug, info, warn};

enum Input {
    Message(SipTransport, SocketAddr, Vec<u8>),
    /// Messages framed from one read of a stream, handled together.
    Messages(SipTransport, SocketAddr, Vec<Vec<u8>>),
    Connected(SipTransport, SocketAddr, mpsc::UnboundedSender<Vec<u8>>),
    Closed(SipTransport, SocketAddr),
    /// A connection deflect opened failed before it carried anything.
    Failed(SipTransport, SocketAddr),
    Command(Command),
}

enum Command {
    Accept(CallKey, Vec<u8>),
    Progress(CallKey, Vec<u8>),
    Reject(CallKey, u16, Option<u32>),
    AnswerOffer(CallKey, u64, Result<Vec<u8>, u16>),
    AnswerInfo(CallKey, u64, u16),
    HangUp(CallKey, Reason),
    Info(CallKey, String, Vec<u8>),
    Reoffer(CallKey, Vec<u8>),
    Refer(CallKey, String),
    AnswerRefer(CallKey, u64, u16),
    NotifyTransfer(CallKey, u16),
    Invite(
        Box<OutgoingCall>,
        oneshot::Sender<(CallKey, String, mpsc::UnboundedReceiver<CallEvent>)>,
    ),
    Register(String, String, SipTransport, SocketAddr),
    Probe(Box<Target>),
    StopAccepting(u32),
    HangUpAll(Reason),
    Registrations(mpsc::UnboundedSender<(String, RegistrationState)>),
    Unregister,
}

/// Handle to the running SIP stack (cheap to clone).
#[derive(Clone)]
pub struct Sip {
    input: mpsc::Sender<Input>,
    active: watch::Receiver<usize>,
    local: Arc<Vec<(SipTransport, SocketAddr)>>,
    identity: Option<Arc<ServerIdentity>>,
    /// Each probed trunk server's state, by trunk and address as configured.
    health: Arc<std::sync::RwLock<HashMap<(String, String), bool>>>,
}

/// New calls, in arrival order.
pub struct Incoming {
    rx: mpsc::Receiver<IncomingCall>,
}

impl Incoming {
    /// The next call; `None` once the stack stopped.
    pub async fn recv(&mut self) -> Option<IncomingCall> {
        self.rx.recv().await
    }
}

/// A call waiting to be answered. Dropping it unanswered rejects it with 480.
pub struct IncomingCall {
    info: CallInfo,
    sip: Sip,
    events: Option<mpsc::UnboundedReceiver<CallEvent>>,
}

impl IncomingCall {
    /// What is known about the call: Call-ID, From/To/Request-URI, P-Asserted-Identity,
    /// trunk and its settings, source, the SDP offer.
    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    /// Answers with 200 OK and `sdp`; the returned [`Call`] carries the call from now on.
    pub fn accept(self, sdp: Vec<u8>) -> Call {
        self.sip.command(Command::Accept(self.info.key, sdp));
        self.into_call()
    }

    /// Sends early media: 183 Session Progress with `sdp`. The returned [`Call`] carries the
    /// call from now on: [`Call::accept`] answers it later, a hang-up refuses it (480).
    pub fn progress(self, sdp: Vec<u8>) -> Call {
        self.sip.command(Command::Progress(self.info.key, sdp));
        self.into_call()
    }

    fn into_call(mut self) -> Call {
        Call {
            key: self.info.key,
            call_id: self.info.call_id.clone(),
            sip: self.sip.clone(),
            events: self
                .events
                .take()
                .unwrap_or_else(|| mpsc::unbounded_channel().1),
            ended: false,
        }
    }

    /// Rejects with `status` (e.g. 486, 488 when no codec fits, 503 with `retry_after`).
    pub fn reject(mut self, status: u16, retry_after: Option<u32>) {
        self.events = None;
        self.sip
            .command(Command::Reject(self.info.key, status, retry_after));
    }
}

impl Drop for IncomingCall {
    fn drop(&mut self) {
        if self.events.is_some() {
            self.sip.command(Command::Reject(self.info.key, 480, None));
        }
    }
}

/// An established call (or one deflect is placing). Dropping it hangs up.
pub struct Call {
    key: CallKey,
    call_id: String,
    sip: Sip,
    events: mpsc::UnboundedReceiver<CallEvent>,
    ended: bool,
}

impl Call {
    /// The call's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The next event; `None` after [`CallEvent::Ended`].
    pub async fn next_event(&mut self) -> Option<CallEvent> {
        if self.ended {
            return None;
        }
        let event = self.events.recv().await;
        match &event {
            Some(CallEvent::Ended(_)) | None => self.ended = true,
            _ => {}
        }
        event.or(Some(CallEvent::Ended(EndReason::HungUp)))
    }

    /// Answers a [`CallEvent::Offer`]: `Ok(sdp)` → 200 OK with it, `Err(status)` → that
    /// rejection (488 when nothing is acceptable).
    pub fn answer_offer(&self, offer: u64, answer: Result<Vec<u8>, u16>) {
        self.sip
            .command(Command::AnswerOffer(self.key, offer, answer));
    }

    /// Answers a [`CallEvent::Info`] with `status` (200; 415 or 400 when the body is not
    /// understood).
    pub fn answer_info(&self, request: u64, status: u16) {
        self.sip
            .command(Command::AnswerInfo(self.key, request, status));
    }

    /// Answers a call in early media ([`IncomingCall::progress`]) with 200 OK and `sdp`.
    pub fn accept(&self, sdp: Vec<u8>) {
        self.sip.command(Command::Accept(self.key, sdp));
    }

    /// Hangs up with BYE carrying `reason` (480 for a call not answered yet);
    /// [`CallEvent::Ended`] follows.
    pub fn hang_up(&self, reason: Reason) {
        self.sip.command(Command::HangUp(self.key, reason));
    }

    /// Sends INFO with `body` (e.g. `application/dtmf-relay`).
    pub fn send_info(&self, content_type: &str, body: Vec<u8>) {
        self.sip
            .command(Command::Info(self.key, content_type.to_owned(), body));
    }

    /// Offers `sdp` in a re-INVITE (once the dialog allows one); the answer comes as
    /// [`CallEvent::Reoffered`].
    pub fn reoffer(&self, sdp: Vec<u8>) {
        self.sip.command(Command::Reoffer(self.key, sdp));
    }

    /// Answers a [`CallEvent::Referred`]: 202 takes the transfer, 4xx–6xx refuse it.
    pub fn answer_refer(&self, request: u64, status: u16) {
        self.sip
            .command(Command::AnswerRefer(self.key, request, status));
    }

    /// Reports on a transfer taken: a NOTIFY with the target call's `status` (a final one
    /// ends the report).
    pub fn notify_transfer(&self, status: u16) {
        self.sip.command(Command::NotifyTransfer(self.key, status));
    }

    /// Asks the peer to take the call to `target` (REFER); how it goes comes as
    /// [`CallEvent::Transfer`] events.
    pub fn refer(&self, target: &str) {
        self.sip
            .command(Command::Refer(self.key, target.to_owned()));
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.ended {
            self.sip.command(Command::HangUp(
                self.key,
                Reason::q850(16, "Normal call clearing"),
            ));
        }
    }
}

impl Sip {
    /// Starts the stack on bound `listeners` with `[sip]` settings. Fails when `[sip.tls]`
    /// or a trunk's `tls_ca` cannot be loaded.
    pub fn start(config: &SipConfig, listeners: Vec<Listener>) -> io::Result<(Sip, Incoming)> {
        let identity = ServerIdentity::load(&config.tls).map_err(io::Error::other)?;
        let trust = Trust::new(config).map_err(io::Error::other)?;
        let tls_acceptor = identity
            .as_ref()
            .map(|i| TlsAcceptor::from(i.server_config()));
        if tls_acceptor.is_none() && listeners.iter().any(|l| matches!(l, Listener::Tls(_))) {
            return Err(io::Error::other(
                "sip.tls.certificate: a tls: listener needs a certificate and a private key",
            ));
        }
        let mut local = Vec::new();
        for l in &listeners {
            local.push((l.transport(), l.local_addr()?));
        }
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
        let ep_config = EndpointConfig::new(config, &local, u64::from_le_bytes(seed));
        let (input_tx, input_rx) = mpsc::channel(8192);
        let (incoming_tx, incoming_rx) = mpsc::channel(1024);
        let (active_tx, active_rx) = watch::channel(0);
        let sip = Sip {
            input: input_tx.clone(),
            active: active_rx,
            local: Arc::new(local),
            identity: identity.clone(),
            health: Arc::default(),
        };
        if let Some(identity) = identity {
            tokio::spawn(reload_on_change(identity, config.tls.reload_interval));
        }
        let mut udp = HashMap::new();
        let timeouts = Timeouts {
            idle: config.tcp_idle_timeout,
            message: config.tcp_message_timeout,
        };
        let gate = Arc::new(Gate {
            limits: Mutex::new(ConnectionLimits::new(
                config.tcp_max_connections,
                config.tcp_max_connections_per_source,
            )),
            trusted: config
                .trunks
                .iter()
                .flat_map(|t| t.allow.iter().copied())
                .collect(),
        });
        for l in listeners {
            match l {
                Listener::Udp(socket) => {
                    let socket = Arc::new(socket);
                    let addr = socket.local_addr()?;
                    udp.insert(addr, socket.clone());
                    tokio::spawn(udp_reader(socket, input_tx.clone()));
                }
                Listener::Tcp(listener) => {
                    tokio::spawn(stream_acceptor(
                        listener,
                        None,
                        input_tx.clone(),
                        timeouts,
                        gate.clone(),
                    ));
                }
                Listener::Tls(listener) => {
                    tokio::spawn(stream_acceptor(
                        listener,
                        tls_acceptor.clone(),
                        input_tx.clone(),
                        timeouts,
                        gate.clone(),
                    ));
                }
            }
        }
        let driver = Driver {
            endpoint: Endpoint::new(ep_config, Instant::now().into_std()),
            udp: udp.into_values().collect(),
            streams: HashMap::new(),
            trust,
            tls_peers: HashMap::new(),
            input: input_tx,
            calls: HashMap::new(),
            incoming: incoming_tx,
            active: active_tx,
            sip: sip.clone(),
            timeouts,
            registrations: None,
        };
        tokio::spawn(driver.run(input_rx));
        Ok((sip, Incoming { rx: incoming_rx }))
    }

    fn command(&self, c: Command) {
        // A full queue means the stack is overloaded; commands must not be lost, so they
        // wait in a task rather than block the caller.
        if let Err(mpsc::error::TrySendError::Full(input)) = self.input.try_send(Input::Command(c))
        {
            let tx = self.input.clone();
            tokio::spawn(async move {
                let _ = tx.send(input).await;
            });
        }
    }

    /// The bound listeners.
    pub fn local_addrs(&self) -> &[(SipTransport, SocketAddr)] {
        &self.local
    }

    /// Places a call; events (progress, answer, end) arrive on the returned [`Call`].
    pub async fn call(&self, out: OutgoingCall) -> io::Result<Call> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Invite(Box::new(out), tx));
        let (key, call_id, events) = rx
            .await
            .map_err(|_| io::Error::other("the SIP stack stopped"))?;
        Ok(Call {
            key,
            call_id,
            sip: self.clone(),
            events,
            ended: false,
        })
    }

    /// Registers trunk `trunk` with its registrar `host` at `remote` (resolved by the
    /// caller), refreshing before expiry and backing off on failure.
    pub fn register(&self, trunk: &str, host: &str, transport: SipTransport, remote: SocketAddr) {
        self.command(Command::Register(
            trunk.to_owned(),
            host.to_owned(),
            transport,
            remote,
        ));
    }

    /// Re-reads `[sip.tls]`'s certificate and key (SIGHUP); new TLS connections present them.
    /// A pair that does not load leaves the one in service. `Ok(false)`: no `[sip.tls]`.
    pub fn reload_tls(&self) -> Result<bool, crate::tls::TlsError> {
        match &self.identity {
            Some(identity) => identity.reload().map(|()| true),
            None => Ok(false),
        }
    }

    /// Probes a trunk server with OPTIONS every `target.interval`; its health is exported
    /// as `deflect_sip_trunk_up{trunk,address}` and each change logged.
    pub fn probe(&self, target: Target) {
        self.command(Command::Probe(Box::new(target)));
    }

    /// Whether trunk `trunk`'s server `address` (as configured in its `addresses`) answered
    /// its last OPTIONS probe; `None` before the first answer or when it is not probed.
    pub fn server_up(&self, trunk: &str, address: &str) -> Option<bool> {
        let health = self.health.read().unwrap_or_else(|e| e.into_inner());
        health.get(&(trunk.to_owned(), address.to_owned())).copied()
    }

    /// Stops registering every trunk (`Expires: 0`); each ends with
    /// [`RegistrationState::Unregistered`] on [`registrations`](Self::registrations).
    pub fn unregister(&self) {
        self.command(Command::Unregister);
    }

    /// Registration state changes, from now on.
    pub fn registrations(&self) -> mpsc::UnboundedReceiver<(String, RegistrationState)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.command(Command::Registrations(tx));
        rx
    }

    /// New INVITEs get 503 with `Retry-After: retry_after` from now on.
    pub fn stop_accepting(&self, retry_after: u32) {
        self.command(Command::StopAccepting(retry_after));
    }

    /// Hangs up every call in progress with `reason`.
    pub fn hang_up_all(&self, reason: Reason) {
        self.command(Command::HangUpAll(reason));
    }

    /// Number of calls in progress, updated as it changes.
    pub fn active_calls(&self) -> watch::Receiver<usize> {
        self.active.clone()
    }
}

struct Driver {
    endpoint: Endpoint,
    udp: Vec<Arc<UdpSocket>>,
    /// Open TCP and TLS connections, by transport and peer.
    streams: HashMap<(SipTransport, SocketAddr), mpsc::UnboundedSender<Vec<u8>>>,
    trust: Trust,
    /// TLS servers deflect was asked to reach, with their names.
    tls_peers: HashMap<SocketAddr, Peer>,
    input: mpsc::Sender<Input>,
    calls: HashMap<CallKey, mpsc::UnboundedSender<CallEvent>>,
    incoming: mpsc::Sender<IncomingCall>,
    active: watch::Sender<usize>,
    sip: Sip,
    timeouts: Timeouts,
    registrations: Option<mpsc::UnboundedSender<(String, RegistrationState)>>,
}

/// How long a TCP connection may stay silent, and hold an unfinished message.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    idle: Duration,
    message: Duration,
}

/// What the accept tasks share: the connection counts and the allow-listed networks.
struct Gate {
    limits: Mutex<ConnectionLimits>,
    trusted: Vec<Cidr>,
}

impl Gate {
    fn limits(&self) -> std::sync::MutexGuard<'_, ConnectionLimits> {
        // The counts stay consistent even if a holder panicked: each change is one step.
        self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An admitted inbound connection: its place is given back when it is dropped.
struct Admitted {
    gate: Arc<Gate>,
    source: SourceKey,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut limits = self.gate.limits();
        limits.release(self.source);
        metrics::gauge!("deflect_sip_tcp_connections").set(f64::from(limits.open()));
    }
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        let sleep = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(sleep);
        let mut armed = None;
        loop {
            let deadline = self.endpoint.poll_timeout().map(Instant::from_std);
            if deadline != armed {
                armed = deadline;
                sleep
                    .as_mut()
                    .reset(deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)));
            }
            tokio::select! {
                input = rx.recv() => {
                    let Some(input) = input else { return };
                    self.handle(input);
                    // Take what else is queued before flushing, up to a batch.
                    for _ in 0..64 {
                        match rx.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.endpoint.handle_timeout(Instant::now().into_std());
                }
            }
            self.flush();
        }
    }

    fn handle(&mut self, input: Input) {
        let now = Instant::now().into_std();
        match input {
            Input::Message(t, remote, data) => self.endpoint.handle_message(now, t, remote, &data),
            Input::Messages(t, remote, all) => {
                for data in all {
                    self.endpoint.handle_message(now, t, remote, &data);
                }
            }
            Input::Connected(t, remote, tx) => {
                self.streams.insert((t, remote), tx);
            }
            Input::Closed(t, remote) => {
                self.streams.remove(&(t, remote));
            }
            Input::Failed(t, remote) => {
                self.streams.remove(&(t, remote));
                self.endpoint.transport_failed(now, t, remote);
            }
            Input::Command(c) => match c {
                Command::Accept(k, sdp) => self.endpoint.accept(now, k, sdp),
                Command::Progress(k, sdp) => self.endpoint.progress(now, k, sdp),
                Command::Reject(k, s, r) => {
                    self.endpoint.reject(now, k, s, r);
                    self.calls.remove(&k);
                }
                Command::AnswerOffer(k, id, a) => self.endpoint.answer_offer(now, k, id, a),
                Command::AnswerInfo(k, id, status) => self.endpoint.answer_info(now, k, id, status),
                Command::HangUp(k, r) => self.endpoint.hang_up(now, k, r),
                Command::Info(k, ct, body) => self.endpoint.send_info(now, k, &ct, body),
                Command::Reoffer(k, sdp) => self.endpoint.reoffer(now, k, sdp),
                Command::Refer(k, target) => self.endpoint.refer(now, k, &target),
                Command::AnswerRefer(k, id, status) => {
                    self.endpoint.answer_refer(now, k, id, status)
                }
                Command::NotifyTransfer(k, status) => self.endpoint.notify_transfer(now, k, status),
                Command::Invite(out, reply) => {
                    match &out.through {
                        Some(t) => {
                            self.tls_peer(Some(&t.trunk), &t.server, out.transport, out.remote)
                        }
                        None => self.tls_peer(None, &out.uri.host, out.transport, out.remote),
                    }
                    let key = self.endpoint.invite(now, *out);
                    let call_id = self.endpoint.call_id(key).unwrap_or_default().to_owned();
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.calls.insert(key, tx);
                    let _ = reply.send((key, call_id, rx));
                }
                Command::Register(trunk, host, t, remote) => {
                    self.tls_peer(Some(&trunk), &host, t, remote);
                    self.endpoint.register(now, &trunk, t, remote)
                }
                Command::Probe(target) => {
                    let (trunk, host) = (target.trunk.clone(), target.uri.host.clone());
                    self.tls_peer(Some(&trunk), &host, target.transport, target.remote);
                    self.endpoint.probe(now, *target)
                }
                Command::StopAccepting(r) => self.endpoint.stop_accepting(r),
                Command::HangUpAll(reason) => {
                    for k in self.endpoint.call_keys() {
                        self.endpoint.hang_up(now, k, reason.clone());
                    }
                }
                Command::Registrations(tx) => self.registrations = Some(tx),
                Command::Unregister => {
                    self.endpoint.unregister_all(now);
                }
            },
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.endpoint.poll_transmit() {
            match t.transport {
                SipTransport::Udp => self.send_udp(t.remote, t.data),
                stream => self.send_stream(stream, t.remote, t.data),
            }
        }
        while let Some(e) = self.endpoint.poll_event() {
            match e {
                Event::Incoming(info) => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let key = info.key;
                    let call = IncomingCall {
                        info: *info,
                        sip: self.sip.clone(),
                        events: Some(rx),
                    };
                    match self.incoming.try_send(call) {
                        Ok(()) => {
                            self.calls.insert(key, tx);
                        }
                        Err(e) => {
                            // Nobody takes calls fast enough (or at all): 503.
                            let mut call = e.into_inner();
                            call.events = None;
                            let now = Instant::now().into_std();
                            self.endpoint.reject(now, key, 503, Some(5));
                        }
                    }
                }
                Event::Call(key, event) => {
                    let ended = matches!(event, CallEvent::Ended(_));
                    let info = match &event {
                        CallEvent::Info { request, .. } | CallEvent::Referred { request, .. } => {
                            Some(*request)
                        }
                        _ => None,
                    };
                    let delivered = self
                        .calls
                        .get(&key)
                        .is_some_and(|tx| tx.send(event).is_ok());
                    if !delivered && let Some(request) = info {
                        // Nobody holds the call any more: the INFO gets its answer here.
                        let now = Instant::now().into_std();
                        self.endpoint.answer_info(now, key, request, 481);
                    }
                    if ended {
                        self.calls.remove(&key);
                    }
                }
                Event::TrunkHealth {
                    trunk,
                    address,
                    up,
                    status,
                } => {
                    if up {
                        tracing::info!(trunk, address, status, "trunk server answering");
                    } else {
                        tracing::warn!(trunk, address, status, "trunk server not answering");
                    }
                    let mut health = self.sip.health.write().unwrap_or_else(|e| e.into_inner());
                    health.insert((trunk, address), up);
                }
                Event::Registration { trunk, state } => {
                    if let Some(tx) = &self.registrations {
                        let _ = tx.send((trunk, state));
                    }
                }
            }
        }
        // More may have been queued by rejections above.
        while let Some(t) = self.endpoint.poll_transmit() {
            match t.transport {
                SipTransport::Udp => self.send_udp(t.remote, t.data),
                stream => self.send_stream(stream, t.remote, t.data),
            }
        }
        self.active.send_if_modified(|n| {
            let now = self.endpoint.active_calls();
            let changed = *n != now;
            *n = now;
            changed
        });
    }

    fn send_udp(&self, remote: SocketAddr, data: Vec<u8>) {
        let socket = self
            .udp
            .iter()
            .find(|s| {
                s.local_addr()
                    .is_ok_and(|l| l.is_ipv4() == remote.is_ipv4())
            })
            .or(self.udp.first());
        let Some(socket) = socket else { return };
        match socket.try_send_to(&data, remote) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let socket = socket.clone();
                tokio::spawn(async move {
                    let _ = socket.send_to(&data, remote).await;
                });
            }
            Err(e) => debug!(%remote, cause = %e, "UDP send failed"),
        }
    }

    /// Remembers how a TLS server deflect is about to reach is verified.
    fn tls_peer(&mut self, trunk: Option<&str>, host: &str, t: SipTransport, remote: SocketAddr) {
        if t == SipTransport::Tls {
            let peer = self.trust.peer(trunk, host, remote.ip());
            self.tls_peers.insert(remote, peer);
        }
    }

    fn send_stream(&mut self, transport: SipTransport, remote: SocketAddr, data: Vec<u8>) {
        if let Some(tx) = self.streams.get(&(transport, remote))
            && tx.send(data.clone()).is_ok()
        {
            return;
        }
        // No connection to that peer: open one (connection reuse afterwards).
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(data);
        self.streams.insert((transport, remote), tx.clone());
        let input = self.input.clone();
        let timeouts = self.timeouts;
        let tls = (transport == SipTransport::Tls).then(|| {
            let ip = remote.ip().to_string();
            (self.tls_peers.get(&remote).cloned())
                .unwrap_or_else(|| self.trust.peer(None, &ip, remote.ip()))
        });
        tokio::spawn(async move {
            let writer = Some((tx, rx));
            let stream = match TcpStream::connect(remote).await {
                Ok(stream) => stream,
                Err(e) => {
                    debug!(%remote, %transport, cause = %e, "connect failed");
                    let _ = input.send(Input::Failed(transport, remote)).await;
                    return;
                }
            };
            let _ = stream.set_nodelay(true);
            let Some(peer) = tls else {
                serve_connection(
                    stream,
                    SipTransport::Tcp,
                    remote,
                    input,
                    timeouts,
                    writer,
                    None,
                )
                .await;
                return;
            };
            let name = peer.name.clone();
            let connector = TlsConnector::from(peer.config);
            let handshake = connector.connect(peer.name, stream);
            match tokio::time::timeout(timeouts.message, handshake).await {
                Ok(Ok(stream)) => {
                    serve_connection(stream, transport, remote, input, timeouts, writer, None).await
                }
                Ok(Err(e)) => {
                    metrics::counter!("deflect_sip_tls_failures_total", "side" => "client")
                        .increment(1);
                    warn!(%remote, server = ?name, cause = %e, "TLS connection refused");
                    let _ = input.send(Input::Failed(transport, remote)).await;
                }
                Err(_) => {
                    metrics::counter!("deflect_sip_tls_failures_total", "side" => "client")
                        .increment(1);
                    warn!(%remote, server = ?name, "TLS handshake timed out");
                    let _ = input.send(Input::Failed(transport, remote)).await;
                }
            }
        });
    }
}

async fn udp_reader(socket: Arc<UdpSocket>, input: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; message::MAX_MESSAGE_SIZE];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, remote)) => {
                let data = buf[..n].to_vec();
                if input
                    .send(Input::Message(SipTransport::Udp, remote, data))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // ICMP errors surface here on some systems; the socket stays usable.
            Err(e) => debug!(cause = %e, "UDP receive error"),
        }
    }
}

/// Re-reads `[sip.tls]`'s files when they change.
async fn reload_on_change(identity: Arc<ServerIdentity>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if identity.changed() {
            match identity.reload() {
                Ok(()) => info!("TLS certificate reloaded"),
                Err(e) => warn!(cause = %e, "TLS certificate not reloaded; the old one stays"),
            }
        }
    }
}

/// Accepts TCP connections, or TLS ones when `tls` is given.
async fn stream_acceptor(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    input: mpsc::Sender<Input>,
    timeouts: Timeouts,
    gate: Arc<Gate>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let source = SourceKey::of(remote.ip());
                let trusted = gate.trusted.iter().any(|c| c.contains(remote.ip()));
                let admitted = {
                    let mut limits = gate.limits();
                    let admitted = limits.admit(source, trusted);
                    metrics::gauge!("deflect_sip_tcp_connections").set(f64::from(limits.open()));
                    admitted
                };
                if let Err(refused) = admitted {
                    metrics::counter!("deflect_sip_tcp_refused_total", "reason" => refused.as_str())
                        .increment(1);
                    debug!(%remote, reason = refused.as_str(), "TCP connection refused");
                    drop(stream);
                    continue;
                }
                let admitted = Admitted {
                    gate: gate.clone(),
                    source,
                };
                let _ = stream.set_nodelay(true);
                let input = input.clone();
                let Some(tls) = tls.clone() else {
                    tokio::spawn(serve_connection(
                        stream,
                        SipTransport::Tcp,
                        remote,
                        input,
                        timeouts,
                        None,
                        Some(admitted),
                    ));
                    continue;
                };
                tokio::spawn(async move {
                    let handshake = tls.accept(stream);
                    match tokio::time::timeout(timeouts.message, handshake).await {
                        Ok(Ok(stream)) => {
                            let t = SipTransport::Tls;
                            serve_connection(
                                stream,
                                t,
                                remote,
                                input,
                                timeouts,
                                None,
                                Some(admitted),
                            )
                            .await
                        }
                        Ok(Err(e)) => {
                            metrics::counter!("deflect_sip_tls_failures_total", "side" => "server")
                                .increment(1);
                            debug!(%remote, cause = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            metrics::counter!("deflect_sip_tls_failures_total", "side" => "server")
                                .increment(1);
                            debug!(%remote, "TLS handshake timed out");
                        }
                    }
                });
            }
            Err(e) => {
                debug!(cause = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Reads and writes one TCP or TLS connection until it closes; `admitted` (inbound
/// connections) holds its place in the connection counts until then.
#[allow(clippy::type_complexity)]
async fn serve_connection(
    stream: impl AsyncRead + AsyncWrite + Send + 'static,
    transport: SipTransport,
    remote: SocketAddr,
    input: mpsc::Sender<Input>,
    timeouts: Timeouts,
    writer: Option<(
        mpsc::UnboundedSender<Vec<u8>>,
        mpsc::UnboundedReceiver<Vec<u8>>,
    )>,
    admitted: Option<Admitted>,
) {
    let _admitted = admitted;
    let (mut read, mut write) = tokio::io::split(stream);
    let (tx, mut rx) = writer.unwrap_or_else(mpsc::unbounded_channel);
    if input
        .send(Input::Connected(transport, remote, tx))
        .await
        .is_err()
    {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(data) = rx.recv().await {
            if write.write_all(&data).await.is_err() {
                break;
            }
        }
    });
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut deadline =
        ReadDeadline::new(Instant::now().into_std(), timeouts.idle, timeouts.message);
    loop {
        let (at, close) = deadline.deadline();
        let n = match tokio::time::timeout_at(Instant::from_std(at), read.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
            Err(_) => {
                metrics::counter!("deflect_sip_tcp_closed_total", "reason" => close.as_str())
                    .increment(1);
                debug!(%remote, reason = close.as_str(), "closing TCP connection");
                break;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut framed = Vec::new();
        loop {
            match message::frame(&buf) {
                Ok(Some(len)) => framed.push(buf.drain(..len).collect::<Vec<u8>>()),
                Ok(None) => break,
                Err(e) => {
                    // A stream that cannot be framed cannot be resynchronised: close it.
                    metrics::counter!("deflect_sip_parse_errors_total").increment(1);
                    debug!(%remote, cause = %e, "unframeable TCP stream; closing");
                    writer.abort();
                    let _ = input.send(Input::Closed(transport, remote)).await;
                    return;
                }
            }
        }
        // Leading line ends are keep-alives (RFC 5626 §3.5.1) or separators: nothing waits.
        let blank = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        buf.drain(..blank);
        deadline.on_read(
            Instant::now().into_std(),
            !framed.is_empty(),
            !buf.is_empty(),
        );
        if !framed.is_empty()
            && input
                .send(Input::Messages(transport, remote, framed))
                .await
                .is_err()
        {
            return;
        }
    }
    writer.abort();
    let _ = input.send(Input::Closed(transport, remote)).await;
}
