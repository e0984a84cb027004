//! The user agent core: transactions, dialogs, trunks, overload, session timers and
//! registration in one sans-IO state machine, [`Endpoint`].
//!
//! # By concern
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the [`Endpoint`] type, its outputs, where a message goes, the timer table |
//! | `server` | server transactions: responses, 100 Trying, stateless answers (§17.2) |
//! | `uas` | requests outside a dialog: which trunk, a new INVITE's checks, CANCEL (§8.2, §9.2) |
//! | `in_dialog` | ACK, BYE, re-INVITE/UPDATE, INFO in a dialog; 2xx retransmission, session timer |
//! | `commands` | what the layer above decides: accept, reject, answer, hang up, send INFO |
//! | `transfer` | a blind transfer (RFC 3515): deflect's REFER and the NOTIFYs reporting on it |
//! | `uac` | deflect's own requests and their responses: calls placed, BYE, CANCEL, refreshes |
//! | `registration` | driving one [`crate::registration::Registration`] client per trunk |
//! | `probe` | trunk health: OPTIONS to each trunk server when due ([`crate::health`]) |
//! | `call` | a call: its dialog (identity, routing, the requests inside it) and its state, one variant per state holding what only that state has |
//! | `types`, `config` | what the endpoint and the layer above exchange; its configuration |
//!
//! How to drive it is on [`Endpoint`].

use crate::admission::Admission;
use crate::admission::overload::Overload;
use crate::message::{Message, Method, Request, Response, Scheme, Via};
use crate::timer::TimerTable;
use crate::transaction::{Action, ClientKey, ServerKey, ServerState};
use deflect_config::SipTransport;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;
use tracing::debug;

mod call;
mod commands;
mod config;
mod in_dialog;
mod probe;
mod registration;
mod server;
#[cfg(test)]
mod testing;
mod transfer;
mod types;
mod uac;
mod uas;

use call::{Call, CallState, Dialog, Pending2xx, Pending2xxDue, PendingOffer};
use in_dialog::timer_supported;
use server::{Origin, ServerEntry, copy_routing};
use uac::{ClientEntry, Purpose};

pub use config::EndpointConfig;
pub use types::{
    ALLOW, CallEvent, CallKey, Credentials, EndReason, Event, IncomingCall, OutgoingCall, Reason,
    RegistrationState, SUPPORTED, Through, TransferEvent, Transmit,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TimerRef {
    Server(ServerKey),
    Client(ClientKey),
    Call(CallKey),
    Registration(usize),
    Probe(usize),
}

/// The SIP user agent core: transactions, dialogs, trunks, overload, session timers and
/// registration.
///
/// # How to drive it
///
/// Feed it what arrives and what the layer above decides; after every input drain its
/// outputs; sleep until [`Endpoint::poll_timeout`] and then call [`Endpoint::handle_timeout`].
/// It never reads the clock: `now` is always an argument, so tests run it on a virtual clock.
///
/// - in: [`Endpoint::handle_message`] (a UDP datagram or a framed TCP message),
///   [`Endpoint::handle_timeout`], and the commands [`Endpoint::accept`],
///   [`Endpoint::reject`], [`Endpoint::answer_offer`], [`Endpoint::hang_up`],
///   [`Endpoint::send_info`], [`Endpoint::refer`], [`Endpoint::invite`], [`Endpoint::register`],
///   [`Endpoint::probe`],
///   [`Endpoint::stop_accepting`];
/// - out: [`Endpoint::poll_transmit`] (bytes for a peer), [`Endpoint::poll_event`] (new calls,
///   in-call events, registration state), [`Endpoint::poll_timeout`] (the next deadline).
///
/// ```
/// use deflect_sip::endpoint::{Endpoint, EndpointConfig, Event};
/// use deflect_config::{SipConfig, SipTransport};
/// use std::time::Instant;
///
/// let local = "127.0.0.1:5060".parse().unwrap();
/// let config = EndpointConfig::new(&SipConfig::default(), &[(SipTransport::Udp, local)], 7);
/// let now = Instant::now();
/// let mut ua = Endpoint::new(config, now);
/// let caller = "127.0.0.1:5070".parse().unwrap();
/// let invite = b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\n\
///     Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
///     From: <sip:caller@127.0.0.1>;tag=1\r\nTo: <sip:1000@127.0.0.1>\r\n\
///     Call-ID: c1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:5070>\r\n\
///     Content-Length: 0\r\n\r\n";
///
/// // In: the INVITE. Out: 100 Trying at once, and the call for the layer above.
/// ua.handle_message(now, SipTransport::Udp, caller, invite);
/// assert!(ua.poll_transmit().unwrap().data.starts_with(b"SIP/2.0 100 Trying"));
/// let Some(Event::Incoming(call)) = ua.poll_event() else { panic!("a new call") };
/// assert_eq!(call.request_user().as_deref(), Some("1000"));
///
/// // A command: answer it (the INVITE had no offer, so the 200 OK carries one).
/// ua.accept(now, call.key, b"v=0\r\n".to_vec());
/// assert!(ua.poll_transmit().unwrap().data.starts_with(b"SIP/2.0 200 OK"));
///
/// // Until the ACK, the 200 OK is retransmitted at T1: the driver sleeps until then.
/// let at = ua.poll_timeout().expect("a deadline");
/// ua.handle_timeout(at);
/// assert!(ua.poll_transmit().unwrap().data.starts_with(b"SIP/2.0 200 OK"));
/// ```
pub struct Endpoint {
    config: EndpointConfig,
    rng: fastrand::Rng,
    admission: Admission,
    server: HashMap<ServerKey, ServerEntry>,
    client: HashMap<ClientKey, ClientEntry>,
    calls: HashMap<CallKey, Call>,
    dialogs: HashMap<(String, String), CallKey>,
    registrations: Vec<crate::registration::Registration>,
    /// Trunk servers probed with OPTIONS.
    probes: Vec<crate::health::Probe>,
    /// One deadline per transaction, call and registration.
    timers: TimerTable<TimerRef>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_key: u64,
    next_offer: u64,
    overload: Overload,
}

impl Endpoint {
    /// A new endpoint; `now` starts its clock.
    pub fn new(config: EndpointConfig, now: Instant) -> Self {
        let mut rng = fastrand::Rng::with_seed(config.seed);
        let key: String = (0..32).map(|_| rng.alphanumeric()).collect();
        let registrations = config
            .trunks
            .iter()
            .filter_map(|t| {
                let register = t.register.clone()?;
                let registration = crate::registration::Registration::new(&t.name, register);
                Some(registration.through(t.outbound_proxy.as_deref()))
            })
            .collect();
        let overload = Overload::new(config.max_calls, config.max_calls_per_second, now);
        let admission = Admission::from_parts(
            config.trunks.clone(),
            config.digest_algorithms.clone(),
            config.default_realm.clone(),
            &config.auth,
            key,
        );
        Self {
            config,
            rng,
            admission,
            server: HashMap::new(),
            client: HashMap::new(),
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            registrations,
            probes: Vec::new(),
            timers: TimerTable::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_key: 1,
            next_offer: 1,
            overload,
        }
    }

    /// Next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the layer above.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.next_timeout();
        match (timer, self.admission.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Calls in progress (offered, answered or ending).
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// From now on new INVITEs — and OPTIONS, so that a load balancer probing with them
    /// stops sending calls here — get 503 with `Retry-After: retry_after` (shutdown).
    pub fn stop_accepting(&mut self, retry_after: u32) {
        self.overload.stop_accepting(retry_after);
    }

    /// Keys of every call in progress.
    pub fn call_keys(&self) -> Vec<CallKey> {
        self.calls.keys().copied().collect()
    }

    /// The Call-ID of a call in progress.
    pub fn call_id(&self, key: CallKey) -> Option<&str> {
        self.calls.get(&key).map(|c| c.dialog.call_id.as_str())
    }

    /// Sets the deadline of `r`, replacing its previous one (`None`: it has none now).
    fn arm(&mut self, at: Option<Instant>, r: TimerRef) {
        self.timers.set(r, at);
    }

    /// Sets the call's deadline from its state (none once the call is gone).
    fn sync_call(&mut self, key: CallKey) {
        let at = self.calls.get(&key).and_then(Call::next_deadline);
        self.timers.set(TimerRef::Call(key), at);
    }

    fn token(&mut self) -> String {
        token(&mut self.rng)
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token())
    }

    /// The `host:port` deflect gives `remote` over `t` (in Via and Contact): its own listen
    /// address to a peer in `sip.local_networks`, else the advertised (public) one.
    fn advertised(&self, t: SipTransport, remote: SocketAddr) -> String {
        pick(self.advertised_to(remote), t)
    }

    /// The advertised `host:port` per transport for `remote`.
    fn advertised_to(&self, remote: SocketAddr) -> &[(SipTransport, String)] {
        let local = (self.config.local_networks.iter()).any(|n| n.contains(remote.ip()));
        if local && !self.config.local.is_empty() {
            &self.config.local
        } else {
            &self.config.advertised
        }
    }

    fn contact(&self, t: SipTransport, remote: SocketAddr, user: Option<&str>) -> String {
        let host = self.advertised(t, remote);
        let transport = t.uri_param();
        match user {
            Some(u) => format!("<sip:{u}@{host}{transport}>"),
            None => format!("<sip:{host}{transport}>"),
        }
    }

    fn send(&mut self, transport: SipTransport, remote: SocketAddr, data: Vec<u8>) {
        self.transmits.push_back(Transmit {
            transport,
            remote,
            data,
        });
    }

    /// A message arrived: a whole UDP datagram, or one framed TCP message.
    pub fn handle_message(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        data: &[u8],
    ) {
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            return; // keep-alive
        }
        let origin = Origin { transport, remote };
        match Message::parse(data, transport == SipTransport::Udp) {
            Ok(Message::Request(req)) => {
                metrics::counter!("deflect_sip_requests_total", "method" => method_label(&req.method))
                    .increment(1);
                self.handle_request(now, origin, req);
            }
            Ok(Message::Response(resp)) => self.handle_response(now, resp),
            Err(bad) => {
                metrics::counter!("deflect_sip_parse_errors_total").increment(1);
                debug!(%remote, error = %bad.error, "malformed SIP message");
                // A request with a Via, even without From, To, Call-ID or CSeq (RFC 3261
                // §8.2; RFC 4475 §3.3.1 "insuf"): the response carries what there is.
                let Some(headers) = bad.answerable else {
                    return;
                };
                if bad.method == Some(Method::Ack)
                    || headers
                        .get("CSeq")
                        .is_some_and(|c| c.trim_end().ends_with("ACK"))
                {
                    return; // an ACK is never answered
                }
                let version = bad.error == crate::message::ParseError::Version;
                if !version && headers.list("Via").any(|v| Via::parse(v).is_err()) {
                    return; // a response with that Via would be malformed too
                }
                let status = if bad.error == crate::message::ParseError::Version {
                    505
                } else {
                    400
                };
                let mut resp = Response::new(status);
                copy_routing(&headers, &mut resp.headers, remote);
                resp.headers.push(
                    "Warning",
                    format!(
                        "399 deflect \"{}\"",
                        bad.error.to_string().replace('"', "'")
                    ),
                );
                self.respond_stateless(origin, resp);
            }
        }
    }

    fn handle_request(&mut self, now: Instant, origin: Origin, req: Request) {
        let Some(via) = req.top_via() else { return };
        let key = ServerKey::of(&req, &via);
        // Retransmissions and ACKs for non-2xx finals belong to existing transactions.
        if req.method == Method::Ack {
            if let Some(entry) = self.server.get_mut(&key)
                && entry.tx.state == ServerState::Completed
            {
                entry.tx.on_ack(now);
                let at = entry.tx.next_deadline();
                self.arm(at, TimerRef::Server(key));
                return;
            }
            self.handle_ack(now, &req);
            return;
        }
        if let Some(entry) = self.server.get(&key) {
            if let Some(Action::Send(bytes)) = entry.tx.on_retransmission() {
                let to = entry.origin;
                self.send(to.transport, to.remote, bytes);
            }
            return;
        }
        if req.method == Method::Cancel {
            self.handle_cancel(now, origin, req, &via);
            return;
        }
        let to_tag = req.to().and_then(|t| t.tag().map(str::to_owned));
        if let Some(tag) = to_tag {
            self.handle_in_dialog(now, origin, req, key, &tag);
            return;
        }
        // Out of dialog: only from trunks.
        let Some(trunk) = self.authorize(now, origin, &req) else {
            return;
        };
        if !matches!(req.uri.scheme, Scheme::Sip | Scheme::Sips | Scheme::Tel) {
            return self.reply(now, origin, key, &req, 416, &[]);
        }
        let unsupported: Vec<&str> = req
            .headers
            .list("Require")
            .filter(|r| !r.eq_ignore_ascii_case("timer") && !r.eq_ignore_ascii_case("100rel"))
            .collect();
        if !unsupported.is_empty() {
            let list = unsupported.join(", ");
            return self.reply(now, origin, key, &req, 420, &[("Unsupported", &list)]);
        }
        match req.method {
            Method::Invite => self.handle_invite(now, origin, req, key, trunk),
            // While stopping, 503 tells a load balancer probing with OPTIONS (Kamailio's
            // dispatcher) to send new calls elsewhere; calls in progress go on.
            Method::Options => match self.overload.stopping() {
                Some(retry_after) => {
                    let retry_after = retry_after.to_string();
                    self.reply(
                        now,
                        origin,
                        key,
                        &req,
                        503,
                        &[("Retry-After", &retry_after)],
                    );
                }
                None => self.reply(
                    now,
                    origin,
                    key,
                    &req,
                    200,
                    &[
                        ("Allow", ALLOW),
                        ("Accept", "application/sdp"),
                        ("Supported", SUPPORTED),
                    ],
                ),
            },
            Method::Bye | Method::Info | Method::Update | Method::Prack | Method::Notify => {
                self.reply(now, origin, key, &req, 481, &[]);
            }
            Method::Register => {
                self.reply(now, origin, key, &req, 405, &[("Allow", ALLOW)]);
            }
            _ => {
                self.reply(now, origin, key, &req, 501, &[("Allow", ALLOW)]);
            }
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.admission.handle_timeout(now);
        while let Some(r) = self.timers.pop_expired(now) {
            match r {
                TimerRef::Server(k) => self.server_timer(now, k),
                TimerRef::Client(k) => self.client_timer(now, k),
                TimerRef::Call(k) => self.call_timer(now, k),
                TimerRef::Registration(i) => self.registration_timer(now, i),
                TimerRef::Probe(i) => self.probe_timer(now, i),
            }
        }
    }
}

/// The `host:port` for transport `t` in an advertised list (its first entry for a
/// transport not listed).
fn pick(advertised: &[(SipTransport, String)], t: SipTransport) -> String {
    advertised
        .iter()
        .find(|(x, _)| *x == t)
        .or(advertised.first())
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

/// A random token for tags, branches and cnonces.
fn token(rng: &mut fastrand::Rng) -> String {
    (0..10).map(|_| rng.alphanumeric()).collect()
}

fn method_label(m: &Method) -> &'static str {
    match m {
        Method::Invite => "INVITE",
        Method::Ack => "ACK",
        Method::Bye => "BYE",
        Method::Cancel => "CANCEL",
        Method::Options => "OPTIONS",
        Method::Register => "REGISTER",
        Method::Info => "INFO",
        Method::Update => "UPDATE",
        Method::Prack => "PRACK",
        Method::Refer => "REFER",
        Method::Notify => "NOTIFY",
        Method::Other(_) => "other",
    }
}

fn count_response(status: u16) {
    let class = match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "6xx",
    };
    metrics::counter!("deflect_sip_responses_total", "class" => class).increment(1);
}
