//! The user agent core: transactions, dialogs, trunks, overload, session timers and
//! registration in one sans-IO state machine.
//!
//! # How to drive it
//!
//! Feed it what arrives and what the layer above decides; after every input drain its
//! outputs; sleep until [`Endpoint::poll_timeout`] and then call [`Endpoint::handle_timeout`].
//! It never reads the clock: `now` is always an argument, so tests run it on a virtual clock.
//!
//! - in: [`Endpoint::handle_message`] (a UDP datagram or a framed TCP message),
//!   [`Endpoint::handle_timeout`], and the commands [`Endpoint::accept`],
//!   [`Endpoint::reject`], [`Endpoint::answer_offer`], [`Endpoint::hang_up`],
//!   [`Endpoint::send_info`], [`Endpoint::invite`], [`Endpoint::register`],
//!   [`Endpoint::stop_accepting`];
//! - out: [`Endpoint::poll_transmit`] (bytes for a peer), [`Endpoint::poll_event`] (new calls,
//!   in-call events, registration state), [`Endpoint::poll_timeout`] (the next deadline).
//!
//! ```
//! use deflect_sip::endpoint::{Endpoint, EndpointConfig, Event};
//! use deflect_config::{SipConfig, SipTransport};
//! use std::time::Instant;
//!
//! let local = "127.0.0.1:5060".parse().unwrap();
//! let config = EndpointConfig::new(&SipConfig::default(), &[(SipTransport::Udp, local)], 7);
//! let now = Instant::now();
//! let mut ua = Endpoint::new(config, now);
//! let options = b"OPTIONS sip:deflect@127.0.0.1 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
//!     From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:deflect@127.0.0.1>\r\n\
//!     Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
//! ua.handle_message(now, SipTransport::Udp, "127.0.0.1:5070".parse().unwrap(), options);
//! let reply = ua.poll_transmit().expect("an answer");
//! assert!(reply.data.starts_with(b"SIP/2.0 200 OK"));
//! assert!(ua.poll_event().is_none());
//! // The next deadline (Timer J) is when the driver calls back.
//! assert!(ua.poll_timeout().is_some());
//! ```

use crate::admission::overload::Overload;
use crate::admission::{Admission, Decision, Refusal};
use crate::auth;
use crate::message::headers::parse_u32;
use crate::message::{
    CSeq, Headers, Message, Method, NameAddr, Refresher, Request, Response, Scheme, SessionExpires,
    Uri, Via,
};
use crate::session_timer::{self, Due, Limits, SessionTimer};
use crate::timer::TimerTable;
use crate::transaction::{
    Action, ClientKey, ClientState, ClientTransaction, ServerKey, ServerState, ServerTransaction,
};
use deflect_config::{SipTransport, UnauthorizedAction};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

mod config;
mod types;

pub use config::EndpointConfig;
use config::secs;
pub use types::{
    ALLOW, CallEvent, CallKey, EndReason, Event, IncomingCall, OutgoingCall, Reason,
    RegistrationState, SUPPORTED, Transmit,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum TimerRef {
    Server(ServerKey),
    Client(ClientKey),
    Call(CallKey),
    Registration(usize),
}

struct ServerEntry {
    tx: ServerTransaction,
    transport: SipTransport,
    remote: SocketAddr,
    call: Option<CallKey>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Invite(CallKey),
    ReInvite(CallKey),
    Bye(CallKey),
    InDialog(CallKey),
    Register(usize),
    Cancel,
}

struct ClientEntry {
    tx: ClientTransaction,
    transport: SipTransport,
    remote: SocketAddr,
    purpose: Purpose,
    request: Request,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Uas,
    Uac,
}

#[derive(Debug, PartialEq, Eq)]
enum CallState {
    /// UAS: INVITE received, waiting for accept/reject.
    Incoming,
    /// UAC: INVITE sent.
    Calling,
    /// 2xx sent or received; in a UAS, waiting for the ACK.
    Answered,
    /// Confirmed dialog.
    Confirmed,
    /// deflect's BYE is out.
    Terminating,
}

/// A 2xx to an INVITE retransmitted until the ACK (RFC 3261 §13.3.1.4).
struct Pending2xx {
    cseq: u32,
    bytes: Vec<u8>,
    interval: Duration,
    next: Instant,
    give_up: Instant,
}

struct PendingOffer {
    id: u64,
    tx_key: ServerKey,
    request: Request,
    /// The session timer the request asked for, in force once its 2xx is sent.
    session: Option<SessionTimer>,
}

struct Call {
    role: Role,
    state: CallState,
    call_id: String,
    local_tag: String,
    remote_tag: String,
    /// Our URI as it appears in From (UAC) or To (UAS), without tag.
    local_uri: String,
    remote_uri: String,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    remote_target: Uri,
    route_set: Vec<String>,
    transport: SipTransport,
    remote: SocketAddr,
    /// The initial INVITE while it is unanswered (UAS).
    invite: Option<(ServerKey, Request)>,
    local_sdp: Vec<u8>,
    pending_2xx: Option<Pending2xx>,
    pending_offer: Option<PendingOffer>,
    /// INFO requests waiting for the layer above's answer.
    pending_infos: Vec<PendingOffer>,
    hangup_after_ack: Option<Reason>,
    our_reinvite: bool,
    session: Option<SessionTimer>,
    expected_end: Option<EndReason>,
}

impl Call {
    fn next_deadline(&self) -> Option<Instant> {
        let a = self.pending_2xx.as_ref().map(|p| p.next.min(p.give_up));
        let b = self.session.as_ref().map(SessionTimer::deadline);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

struct Registration {
    trunk: usize,
    remote: Option<(SipTransport, SocketAddr)>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    failures: u32,
    next_at: Option<Instant>,
    authorized_once: bool,
}

/// The SIP user agent core. See the module documentation for how to drive it.
pub struct Endpoint {
    config: EndpointConfig,
    rng: fastrand::Rng,
    admission: Admission,
    server: HashMap<ServerKey, ServerEntry>,
    client: HashMap<ClientKey, ClientEntry>,
    calls: HashMap<CallKey, Call>,
    dialogs: HashMap<(String, String), CallKey>,
    registrations: Vec<Registration>,
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
            .enumerate()
            .filter(|(_, t)| t.register.is_some())
            .map(|(i, _)| Registration {
                trunk: i,
                remote: None,
                call_id: String::new(),
                from_tag: String::new(),
                cseq: 0,
                failures: 0,
                next_at: None,
                authorized_once: false,
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

    /// From now on new INVITEs get 503 with `Retry-After: retry_after` (shutdown).
    pub fn stop_accepting(&mut self, retry_after: u32) {
        self.overload.stop_accepting(retry_after);
    }

    /// Keys of every call in progress.
    pub fn call_keys(&self) -> Vec<CallKey> {
        self.calls.keys().copied().collect()
    }

    /// The Call-ID of a call in progress.
    pub fn call_id(&self, key: CallKey) -> Option<&str> {
        self.calls.get(&key).map(|c| c.call_id.as_str())
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
        (0..10).map(|_| self.rng.alphanumeric()).collect()
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token())
    }

    fn advertised(&self, t: SipTransport) -> String {
        self.config
            .advertised
            .iter()
            .find(|(x, _)| *x == t)
            .or(self.config.advertised.first())
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| "127.0.0.1".to_owned())
    }

    fn contact(&self, t: SipTransport, user: Option<&str>) -> String {
        let host = self.advertised(t);
        let transport = match t {
            SipTransport::Tcp => ";transport=tcp",
            SipTransport::Udp => "",
        };
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

    // ---------------------------------------------------------------- input

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
        match Message::parse(data, transport == SipTransport::Udp) {
            Ok(Message::Request(req)) => {
                metrics::counter!("deflect_sip_requests_total", "method" => method_label(&req.method))
                    .increment(1);
                self.handle_request(now, transport, remote, req);
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
                self.respond_stateless(transport, remote, resp);
            }
        }
    }

    fn respond_stateless(
        &mut self,
        transport: SipTransport,
        remote: SocketAddr,
        mut resp: Response,
    ) {
        resp.headers.push("Server", self.config.user_agent.clone());
        count_response(resp.status);
        self.send(transport, remote, resp.to_bytes());
    }

    fn handle_request(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        req: Request,
    ) {
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
                let (t, r) = (entry.transport, entry.remote);
                self.send(t, r, bytes);
            }
            return;
        }
        if req.method == Method::Cancel {
            self.handle_cancel(now, transport, remote, req, &via);
            return;
        }
        let to_tag = req.to().and_then(|t| t.tag().map(str::to_owned));
        if let Some(tag) = to_tag {
            self.handle_in_dialog(now, transport, remote, req, key, &tag);
            return;
        }
        // Out of dialog: only from trunks.
        let Some(trunk) = self.authorize(now, transport, remote, &req) else {
            return;
        };
        if !matches!(req.uri.scheme, Scheme::Sip | Scheme::Sips | Scheme::Tel) {
            return self.reply(now, transport, remote, key, &req, 416, &[]);
        }
        let unsupported: Vec<&str> = req
            .headers
            .list("Require")
            .filter(|r| !r.eq_ignore_ascii_case("timer") && !r.eq_ignore_ascii_case("100rel"))
            .collect();
        if !unsupported.is_empty() {
            let list = unsupported.join(", ");
            return self.reply(
                now,
                transport,
                remote,
                key,
                &req,
                420,
                &[("Unsupported", &list)],
            );
        }
        match req.method {
            Method::Invite => self.handle_invite(now, transport, remote, req, key, trunk),
            Method::Options => {
                self.reply(
                    now,
                    transport,
                    remote,
                    key,
                    &req,
                    200,
                    &[
                        ("Allow", ALLOW),
                        ("Accept", "application/sdp"),
                        ("Supported", SUPPORTED),
                    ],
                );
            }
            Method::Bye | Method::Info | Method::Update | Method::Prack => {
                self.reply(now, transport, remote, key, &req, 481, &[]);
            }
            Method::Register => {
                self.reply(now, transport, remote, key, &req, 405, &[("Allow", ALLOW)]);
            }
            _ => {
                self.reply(now, transport, remote, key, &req, 501, &[("Allow", ALLOW)]);
            }
        }
    }

    /// Answers `req` with `status` and `extra` headers in a new server transaction.
    #[allow(clippy::too_many_arguments)]
    fn reply(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        key: ServerKey,
        req: &Request,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        let mut resp = self.response(req, status, remote, None);
        for (name, value) in extra {
            resp.headers.push(name, *value);
        }
        let invite = req.method == Method::Invite;
        self.respond_new(now, transport, remote, key, None, invite, resp);
    }

    /// Which trunk a request comes from; answers 401/403 (or nothing) when none
    /// ([`crate::admission`] decides). Those answers are stateless (RFC 3261 §8.2.7): a
    /// flood of unauthenticated requests leaves no transactions behind, and a
    /// retransmission simply gets a new answer.
    fn authorize(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        req: &Request,
    ) -> Option<usize> {
        let authorization = req.headers.get("Authorization");
        let decision = self
            .admission
            .decide(now, remote, req.method.as_str(), authorization);
        let refusal = match decision {
            Decision::Trunk(i) => return Some(i),
            Decision::Challenge(challenges) => {
                metrics::counter!("deflect_sip_unauthorized_total").increment(1);
                debug!(%remote, method = %req.method, "challenging request");
                let mut resp = self.response(req, 401, remote, None);
                for c in challenges {
                    resp.headers.push("WWW-Authenticate", c);
                }
                count_response(401);
                self.send(transport, remote, resp.to_bytes());
                return None;
            }
            Decision::Refuse(refusal) => refusal,
        };
        metrics::counter!("deflect_sip_unauthorized_total").increment(1);
        if refusal == Refusal::NoTrunk {
            debug!(%remote, method = %req.method, "request from a source on no trunk");
        } else {
            debug!(%remote, method = %req.method, reason = refusal.as_str(), "request refused");
        }
        if self.config.unauthorized == UnauthorizedAction::Reject {
            let resp = self.response(req, 403, remote, None);
            count_response(403);
            self.send(transport, remote, resp.to_bytes());
        }
        None
    }

    /// Builds a response copying the routing headers (with `received`/`rport`).
    fn response(
        &self,
        req: &Request,
        status: u16,
        remote: SocketAddr,
        to_tag: Option<&str>,
    ) -> Response {
        let mut resp = Response::new(status);
        copy_routing(&req.headers, &mut resp.headers, remote);
        if let Some(tag) = to_tag
            && let Some(to) = resp.headers.0.iter_mut().find(|h| h.name == "To")
            && !has_tag(&to.value)
        {
            to.value = format!("{};tag={tag}", to.value);
        }
        resp.headers.push("Server", self.config.user_agent.clone());
        resp
    }

    /// Creates a server transaction and sends its first final response.
    #[allow(clippy::too_many_arguments)]
    fn respond_new(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        key: ServerKey,
        call: Option<CallKey>,
        invite: bool,
        resp: Response,
    ) {
        let mut tx =
            ServerTransaction::new(invite, transport == SipTransport::Tcp, self.config.timers);
        count_response(resp.status);
        let actions = tx.send_response(now, resp.status, resp.to_bytes());
        let at = tx.next_deadline();
        self.server.insert(
            key.clone(),
            ServerEntry {
                tx,
                transport,
                remote,
                call,
            },
        );
        self.apply_server(key.clone(), actions);
        self.arm(at, TimerRef::Server(key));
    }

    /// Sends a response through an existing server transaction.
    fn respond(&mut self, now: Instant, key: &ServerKey, resp: Response) {
        let Some(entry) = self.server.get_mut(key) else {
            return;
        };
        count_response(resp.status);
        let actions = entry.tx.send_response(now, resp.status, resp.to_bytes());
        let at = entry.tx.next_deadline();
        self.apply_server(key.clone(), actions);
        self.arm(at, TimerRef::Server(key.clone()));
    }

    fn apply_server(&mut self, key: ServerKey, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send(bytes) => {
                    if let Some(e) = self.server.get(&key) {
                        let (t, r) = (e.transport, e.remote);
                        self.send(t, r, bytes);
                    }
                }
                Action::Terminate => {
                    self.server.remove(&key);
                    self.timers.stop(&TimerRef::Server(key.clone()));
                }
                Action::TimedOut | Action::PassUp => {}
            }
        }
    }

    fn handle_invite(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        req: Request,
        key: ServerKey,
        trunk: usize,
    ) {
        let reject = |this: &mut Self, req: &Request, status: u16, extra: &[(&str, String)]| {
            let tag = this.token();
            let mut resp = this.response(req, status, remote, Some(&tag));
            for (n, v) in extra {
                resp.headers.push(n, v.clone());
            }
            this.respond_new(now, transport, remote, key.clone(), None, true, resp);
        };
        if !req.body.is_empty()
            && !req.headers.get("Content-Type").is_some_and(|c| {
                c.split(';')
                    .next()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/sdp"))
            })
        {
            return reject(self, &req, 415, &[("Accept", "application/sdp".into())]);
        }
        if req.headers.get("Accept").is_some()
            && !req.headers.list("Accept").any(|a| {
                let a = a.split(';').next().unwrap_or("").trim();
                ["application/sdp", "application/*", "*/*"]
                    .iter()
                    .any(|x| a.eq_ignore_ascii_case(x))
            })
        {
            return reject(self, &req, 406, &[("Accept", "application/sdp".into())]);
        }
        let session = match session_timer::negotiate(&req.headers, self.session_limits()) {
            Ok(s) => s,
            Err(refusal) => {
                return reject(self, &req, refusal.status(), &[refusal.header()]);
            }
        };
        if let Err(busy) = self.overload.admit(now, self.calls.len()) {
            metrics::counter!("deflect_sip_overload_rejections_total", "reason" => busy.as_str())
                .increment(1);
            debug!(
                calls = self.calls.len(),
                reason = busy.as_str(),
                "overload: 503"
            );
            let retry = busy.retry_after().to_string();
            return reject(self, &req, 503, &[("Retry-After", retry)]);
        }
        let Some(from) = req.from() else { return };
        let Some(to) = req.to() else { return };
        let contact = req
            .headers
            .list("Contact")
            .next()
            .and_then(|c| NameAddr::parse(c).ok())
            .map(|c| c.uri);
        // RFC 2543 peers may omit Contact (RFC 4475 §3.4.1): From is then the target.
        let remote_target = contact.unwrap_or_else(|| from.uri.clone());
        let cseq = req.cseq().map_or(0, |c| c.seq);
        let call_key = CallKey(self.next_key);
        self.next_key += 1;
        let local_tag = self.token();
        // 100 Trying at once (§17.2.1): it stops the caller's retransmissions.
        let trying = self.response(&req, 100, remote, None);
        let mut tx =
            ServerTransaction::new(true, transport == SipTransport::Tcp, self.config.timers);
        count_response(100);
        let actions = tx.send_response(now, 100, trying.to_bytes());
        self.server.insert(
            key.clone(),
            ServerEntry {
                tx,
                transport,
                remote,
                call: Some(call_key),
            },
        );
        self.apply_server(key.clone(), actions);

        let trunk_cfg = &self.config.trunks[trunk];
        let incoming = IncomingCall {
            key: call_key,
            call_id: req.call_id().to_owned(),
            from: from.clone(),
            to: to.clone(),
            request_uri: req.uri.clone(),
            asserted_identity: req
                .headers
                .list("P-Asserted-Identity")
                .next()
                .and_then(|v| NameAddr::parse(v).ok()),
            trunk: trunk_cfg.name.clone(),
            inband_dtmf: trunk_cfg.inband_dtmf,
            source: remote,
            transport,
            offer: (!req.body.is_empty()).then(|| req.body.clone()),
        };
        let mut local_to = to.clone();
        local_to.params.remove("tag");
        let mut remote_from = from.clone();
        remote_from.params.remove("tag");
        let route_set = req
            .headers
            .list("Record-Route")
            .map(str::to_owned)
            .collect();
        let call = Call {
            role: Role::Uas,
            state: CallState::Incoming,
            call_id: req.call_id().to_owned(),
            local_tag: local_tag.clone(),
            remote_tag: from.tag().unwrap_or("").to_owned(),
            local_uri: local_to.to_string(),
            remote_uri: remote_from.to_string(),
            local_cseq: self.rng.u32(1..1 << 20),
            remote_cseq: Some(cseq),
            remote_target,
            route_set,
            transport,
            remote,
            invite: Some((key, req)),
            local_sdp: Vec::new(),
            pending_2xx: None,
            pending_offer: None,
            pending_infos: Vec::new(),
            hangup_after_ack: None,
            our_reinvite: false,
            // Started by the 2xx.
            session: Some(SessionTimer::start(
                now,
                session.interval,
                session.uas_refreshes(),
            )),
            expected_end: None,
        };
        self.dialogs
            .insert((call.call_id.clone(), local_tag), call_key);
        self.calls.insert(call_key, call);
        metrics::gauge!("deflect_sip_active_calls").set(self.calls.len() as f64);
        self.events.push_back(Event::Incoming(Box::new(incoming)));
    }

    fn session_limits(&self) -> Limits {
        Limits {
            session_expires: self.config.session_expires,
            min_se: self.config.min_se,
        }
    }

    fn session_headers(resp: &mut Response, call: &Call, supported: bool) {
        if let Some(s) = &call.session {
            resp.headers.push("Session-Expires", s.response_header());
            if supported {
                resp.headers.push("Require", "timer");
            }
        }
    }

    fn start_session_timer(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let Some(s) = call.session.as_mut() {
            s.restart(now);
        }
        let at = call.next_deadline();
        self.arm(at, TimerRef::Call(key));
    }

    fn handle_cancel(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        req: Request,
        via: &Via,
    ) {
        let key = ServerKey::of(&req, via);
        let invite_key = key.with_method(Method::Invite);
        let Some(entry) = self.server.get(&invite_key) else {
            self.reply(now, transport, remote, key, &req, 481, &[]);
            return;
        };
        let call_key = entry.call;
        let proceeding = entry.tx.state == ServerState::Proceeding;
        let tag = call_key
            .and_then(|k| self.calls.get(&k))
            .map(|c| c.local_tag.clone());
        let ok = self.response(&req, 200, remote, tag.as_deref());
        self.respond_new(now, transport, remote, key, None, false, ok);
        if !proceeding {
            return; // already answered: the 200 to CANCEL is all (§9.2)
        }
        if let Some(call_key) = call_key
            && let Some(call) = self.calls.get(&call_key)
            && call.state == CallState::Incoming
            && let Some((_, invite)) = &call.invite
        {
            let resp = self.response(invite, 487, remote, tag.as_deref());
            self.respond(now, &invite_key, resp);
            self.end_call(now, call_key, EndReason::Cancelled);
        }
    }

    fn end_call(&mut self, now: Instant, key: CallKey, reason: EndReason) {
        if let Some(call) = self.calls.remove(&key) {
            self.timers.stop(&TimerRef::Call(key));
            for info in &call.pending_infos {
                self.answer_pending(now, info, 481);
            }
            self.dialogs.remove(&(call.call_id, call.local_tag));
            metrics::gauge!("deflect_sip_active_calls").set(self.calls.len() as f64);
            self.events
                .push_back(Event::Call(key, CallEvent::Ended(reason)));
        }
    }

    fn handle_ack(&mut self, now: Instant, req: &Request) {
        let tag = req
            .to()
            .and_then(|t| t.tag().map(str::to_owned))
            .unwrap_or_default();
        let Some(&key) = self.dialogs.get(&(req.call_id().to_owned(), tag)) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let cseq = req.cseq().map_or(0, |c| c.seq);
        if call.pending_2xx.as_ref().is_some_and(|p| p.cseq == cseq) {
            call.pending_2xx = None;
            let at = call.next_deadline();
            self.arm(at, TimerRef::Call(key));
            let Some(call) = self.calls.get_mut(&key) else {
                return;
            };
            if call.state == CallState::Answered {
                call.state = CallState::Confirmed;
                if !req.body.is_empty() {
                    let sdp = req.body.clone();
                    self.events
                        .push_back(Event::Call(key, CallEvent::Answered { sdp }));
                }
            }
            if let Some(reason) = self
                .calls
                .get_mut(&key)
                .and_then(|c| c.hangup_after_ack.take())
            {
                self.send_bye(now, key, reason, EndReason::HungUp);
            }
        }
    }

    fn handle_in_dialog(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        req: Request,
        key: ServerKey,
        tag: &str,
    ) {
        let dialog = self
            .dialogs
            .get(&(req.call_id().to_owned(), tag.to_owned()))
            .copied();
        let Some(call_key) = dialog else {
            self.reply(now, transport, remote, key, &req, 481, &[]);
            return;
        };
        let cseq = req.cseq().map_or(0, |c| c.seq);
        let Some(call) = self.calls.get_mut(&call_key) else {
            return;
        };
        if call.remote_cseq.is_some_and(|r| cseq <= r) {
            self.reply(now, transport, remote, key, &req, 500, &[]);
            return;
        }
        call.remote_cseq = Some(cseq);
        match req.method {
            Method::Bye => {
                self.reply(now, transport, remote, key, &req, 200, &[]);
                // A BYE while our own BYE is out still ends the call once.
                let reason = self
                    .calls
                    .get(&call_key)
                    .and_then(|c| c.expected_end.clone())
                    .unwrap_or_else(|| EndReason::RemoteHangup {
                        reason: req.headers.get("Reason").map(str::to_owned),
                    });
                self.end_call(now, call_key, reason);
            }
            Method::Invite | Method::Update => {
                let invite = req.method == Method::Invite;
                let (glare, pending) = (
                    call.our_reinvite,
                    call.pending_offer.is_some() || call.pending_2xx.is_some(),
                );
                if glare {
                    return self.reply(now, transport, remote, key, &req, 491, &[]);
                }
                if pending {
                    let retry = self.rng.u32(0..=10).to_string();
                    return self.reply(
                        now,
                        transport,
                        remote,
                        key,
                        &req,
                        500,
                        &[("Retry-After", &retry)],
                    );
                }
                // A refresh renegotiates the session timer.
                let session = match session_timer::negotiate(&req.headers, self.session_limits()) {
                    Ok(s) => s,
                    Err(refusal) => {
                        let (name, value) = refusal.header();
                        let status = refusal.status();
                        return self.reply(
                            now,
                            transport,
                            remote,
                            key,
                            &req,
                            status,
                            &[(name, &value)],
                        );
                    }
                };
                let mut session = Some(SessionTimer::start(
                    now,
                    session.interval,
                    session.uas_refreshes(),
                ));
                if let Some(call) = self.calls.get_mut(&call_key) {
                    if let Some(c) = req
                        .headers
                        .list("Contact")
                        .next()
                        .and_then(|c| NameAddr::parse(c).ok())
                    {
                        call.remote_target = c.uri;
                    }
                    // The session is refreshed by the 2xx, sent now without an offer.
                    if req.body.is_empty() && session.is_some() {
                        call.session = session.take();
                    }
                }
                // Create the server transaction (INVITE: 100 Trying first).
                let mut tx = ServerTransaction::new(
                    invite,
                    transport == SipTransport::Tcp,
                    self.config.timers,
                );
                let mut actions = Vec::new();
                if invite {
                    let trying = self.response(&req, 100, remote, None);
                    count_response(100);
                    actions = tx.send_response(now, 100, trying.to_bytes());
                }
                self.server.insert(
                    key.clone(),
                    ServerEntry {
                        tx,
                        transport,
                        remote,
                        call: Some(call_key),
                    },
                );
                self.apply_server(key.clone(), actions);
                if req.body.is_empty() {
                    // No offer: a refresh. Answer with the current session (an offer in a
                    // re-INVITE's 2xx, whose answer then comes in the ACK).
                    self.answer_in_dialog(now, call_key, key, &req, None);
                } else {
                    let id = self.next_offer;
                    self.next_offer += 1;
                    let sdp = req.body.clone();
                    if let Some(call) = self.calls.get_mut(&call_key) {
                        call.pending_offer = Some(PendingOffer {
                            id,
                            tx_key: key,
                            request: req,
                            session,
                        });
                    }
                    self.events
                        .push_back(Event::Call(call_key, CallEvent::Offer { offer: id, sdp }));
                }
            }
            Method::Info => {
                // The transaction waits for the layer above's answer (RFC 6086: 415 for a
                // package or body type not understood); retransmissions are absorbed.
                let tx = ServerTransaction::new(
                    false,
                    transport == SipTransport::Tcp,
                    self.config.timers,
                );
                self.server.insert(
                    key.clone(),
                    ServerEntry {
                        tx,
                        transport,
                        remote,
                        call: Some(call_key),
                    },
                );
                let id = self.next_offer;
                self.next_offer += 1;
                let content_type = req.headers.get("Content-Type").unwrap_or("").to_owned();
                let body = req.body.clone();
                if let Some(call) = self.calls.get_mut(&call_key) {
                    call.pending_infos.push(PendingOffer {
                        id,
                        tx_key: key,
                        request: req,
                        session: None,
                    });
                }
                self.events.push_back(Event::Call(
                    call_key,
                    CallEvent::Info {
                        request: id,
                        content_type,
                        body,
                    },
                ));
            }
            Method::Options => {
                self.reply(
                    now,
                    transport,
                    remote,
                    key,
                    &req,
                    200,
                    &[("Allow", ALLOW), ("Supported", SUPPORTED)],
                );
            }
            _ => {
                self.reply(now, transport, remote, key, &req, 501, &[("Allow", ALLOW)]);
            }
        }
    }

    /// Answers an in-dialog INVITE/UPDATE with `sdp` (None: the current local SDP).
    fn answer_in_dialog(
        &mut self,
        now: Instant,
        call_key: CallKey,
        tx_key: ServerKey,
        req: &Request,
        sdp: Option<Vec<u8>>,
    ) {
        let Some(entry) = self.server.get(&tx_key) else {
            return;
        };
        let (transport, remote) = (entry.transport, entry.remote);
        let Some(call) = self.calls.get_mut(&call_key) else {
            return;
        };
        if let Some(sdp) = sdp {
            call.local_sdp = sdp;
        }
        let supported = timer_supported(req);
        let mut resp = Response::new(200);
        copy_routing(&req.headers, &mut resp.headers, remote);
        resp.headers.push("Contact", self.contact(transport, None));
        let call = &self.calls[&call_key];
        Self::session_headers(&mut resp, call, supported);
        resp.headers.push("Allow", ALLOW);
        resp.headers.push("Supported", SUPPORTED);
        resp.headers.push("Server", self.config.user_agent.clone());
        if !call.local_sdp.is_empty() {
            resp.headers.push("Content-Type", "application/sdp");
            resp.body = call.local_sdp.clone();
        }
        let invite = req.method == Method::Invite;
        let bytes = resp.to_bytes();
        self.respond(now, &tx_key, resp);
        if invite {
            let cseq = req.cseq().map_or(0, |c| c.seq);
            self.await_ack(now, call_key, cseq, bytes, transport);
        }
        self.start_session_timer(now, call_key);
    }

    fn await_ack(
        &mut self,
        now: Instant,
        key: CallKey,
        cseq: u32,
        bytes: Vec<u8>,
        transport: SipTransport,
    ) {
        let t = self.config.timers;
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        call.pending_2xx = Some(Pending2xx {
            cseq,
            bytes,
            interval: t.t1,
            next: if transport == SipTransport::Udp {
                now + t.t1
            } else {
                now + 64 * t.t1
            },
            give_up: now + 64 * t.t1,
        });
        let at = call.next_deadline();
        self.arm(at, TimerRef::Call(key));
    }

    // ---------------------------------------------------------------- commands

    /// Answers an incoming call with 200 OK carrying `sdp` (the SDP answer, or an offer
    /// when the INVITE had none). Ignored when the call is gone (cancelled).
    pub fn accept(&mut self, now: Instant, key: CallKey, sdp: Vec<u8>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.state != CallState::Incoming {
            return;
        }
        let Some((tx_key, req)) = call.invite.take() else {
            return;
        };
        call.state = CallState::Answered;
        call.local_sdp = sdp;
        let (transport, remote, tag) = (call.transport, call.remote, call.local_tag.clone());
        let user = req.uri.user.clone();
        let supported = timer_supported(&req);
        let mut resp = self.response(&req, 200, remote, Some(&tag));
        let contact = self.contact(transport, user.as_deref());
        resp.headers.push("Contact", contact);
        for rr in req.headers.get_all("Record-Route") {
            resp.headers.push("Record-Route", rr.to_owned());
        }
        let call = &self.calls[&key];
        Self::session_headers(&mut resp, call, supported);
        resp.headers.push("Allow", ALLOW);
        resp.headers.push("Supported", SUPPORTED);
        resp.headers.push("Content-Type", "application/sdp");
        resp.body = call.local_sdp.clone();
        let bytes = resp.to_bytes();
        self.respond(now, &tx_key, resp);
        let cseq = req.cseq().map_or(0, |c| c.seq);
        self.await_ack(now, key, cseq, bytes, transport);
        self.start_session_timer(now, key);
    }

    /// Rejects an incoming call with `status` (e.g. 486, 488, 503) and, when given,
    /// `Retry-After`.
    pub fn reject(&mut self, now: Instant, key: CallKey, status: u16, retry_after: Option<u32>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.state != CallState::Incoming {
            return;
        }
        let Some((tx_key, req)) = call.invite.take() else {
            return;
        };
        let (remote, tag) = (call.remote, call.local_tag.clone());
        let mut resp = self.response(&req, status.clamp(300, 699), remote, Some(&tag));
        if let Some(r) = retry_after {
            resp.headers.push("Retry-After", r.to_string());
        }
        self.respond(now, &tx_key, resp);
        if let Some(call) = self.calls.remove(&key) {
            self.timers.stop(&TimerRef::Call(key));
            self.dialogs.remove(&(call.call_id, call.local_tag));
            metrics::gauge!("deflect_sip_active_calls").set(self.calls.len() as f64);
        }
    }

    /// Answers an offer from [`CallEvent::Offer`]: `Ok(sdp)` sends 200 OK with the answer,
    /// `Err(status)` rejects it (e.g. 488) and keeps the call as it was.
    pub fn answer_offer(
        &mut self,
        now: Instant,
        key: CallKey,
        offer: u64,
        answer: Result<Vec<u8>, u16>,
    ) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.pending_offer.as_ref().is_none_or(|p| p.id != offer) {
            return;
        }
        let Some(p) = call.pending_offer.take() else {
            return;
        };
        match answer {
            Ok(sdp) => {
                if p.session.is_some() {
                    call.session = p.session;
                }
                self.answer_in_dialog(now, key, p.tx_key, &p.request, Some(sdp))
            }
            Err(status) => {
                let Some(entry) = self.server.get(&p.tx_key) else {
                    return;
                };
                let remote = entry.remote;
                let resp = self.response(&p.request, status.clamp(300, 699), remote, None);
                self.respond(now, &p.tx_key, resp);
            }
        }
    }

    /// Answers an INFO from [`CallEvent::Info`] with `status` (200, or 415/400 when its body
    /// is not understood).
    pub fn answer_info(&mut self, now: Instant, key: CallKey, request: u64, status: u16) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some(at) = call.pending_infos.iter().position(|p| p.id == request) else {
            return;
        };
        let info = call.pending_infos.remove(at);
        self.answer_pending(now, &info, status);
    }

    fn answer_pending(&mut self, now: Instant, info: &PendingOffer, status: u16) {
        let Some(entry) = self.server.get(&info.tx_key) else {
            return;
        };
        let remote = entry.remote;
        let resp = self.response(&info.request, status.clamp(200, 699), remote, None);
        self.respond(now, &info.tx_key, resp);
    }

    /// Hangs up: BYE with `reason` for an answered call (after the ACK, if it is still
    /// awaited), 480 for one still ringing.
    pub fn hang_up(&mut self, now: Instant, key: CallKey, reason: Reason) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        match call.state {
            CallState::Incoming => {
                self.reject(now, key, 480, None);
                self.events
                    .push_back(Event::Call(key, CallEvent::Ended(EndReason::HungUp)));
            }
            CallState::Answered if call.role == Role::Uas && call.pending_2xx.is_some() => {
                call.hangup_after_ack = Some(reason);
            }
            CallState::Calling => {
                // CANCEL the INVITE.
                let branch = self
                    .client
                    .iter()
                    .find(|(_, e)| e.purpose == Purpose::Invite(key))
                    .map(|(b, _)| b.clone());
                if let Some(branch) = branch {
                    self.send_cancel(now, &branch);
                }
            }
            CallState::Terminating => {}
            _ => self.send_bye(now, key, reason, EndReason::HungUp),
        }
    }

    /// Sends INFO in an established call (e.g. `application/dtmf-relay`).
    pub fn send_info(&mut self, now: Instant, key: CallKey, content_type: &str, body: Vec<u8>) {
        let Some(mut req) = self.in_dialog_request(key, Method::Info) else {
            return;
        };
        req.headers.push("Content-Type", content_type.to_owned());
        req.body = body;
        self.start_client(now, key, req, Purpose::InDialog(key));
    }

    fn in_dialog_request(&mut self, key: CallKey, method: Method) -> Option<Request> {
        let branch = self.branch();
        let call = self.calls.get_mut(&key)?;
        if method != Method::Ack {
            call.local_cseq += 1;
        }
        // A Contact's URI headers (`?…`) are not allowed in a Request-URI (RFC 3261 §19.1.1,
        // Table 1): the remote target is used without them.
        let mut target = call.remote_target.clone();
        target.headers = None;
        let mut req = Request::new(method.clone(), target);
        let via_host = self
            .config
            .advertised
            .iter()
            .find(|(t, _)| *t == call.transport)
            .or(self.config.advertised.first())
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        req.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {via_host};branch={branch};rport",
                transport_name(call.transport)
            ),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("{};tag={}", call.local_uri, call.local_tag));
        // An RFC 2543 peer may have sent no tag: then the To has none (§12.2.1.1), rather
        // than an empty `;tag=` no parser takes.
        let to = match call.remote_tag.as_str() {
            "" => call.remote_uri.clone(),
            tag => format!("{};tag={tag}", call.remote_uri),
        };
        req.headers.push("To", to);
        req.headers.push("Call-ID", call.call_id.clone());
        req.headers
            .push("CSeq", format!("{} {method}", call.local_cseq));
        for r in &call.route_set {
            req.headers.push("Route", r.clone());
        }
        req.headers
            .push("User-Agent", self.config.user_agent.clone());
        Some(req)
    }

    fn start_client(&mut self, now: Instant, key: CallKey, req: Request, purpose: Purpose) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let (transport, remote) = (call.transport, call.remote);
        self.start_client_to(now, transport, remote, req, purpose);
    }

    fn start_client_to(
        &mut self,
        now: Instant,
        transport: SipTransport,
        remote: SocketAddr,
        req: Request,
        purpose: Purpose,
    ) {
        // deflect's own requests always carry a branch.
        let Some(key) = ClientKey::of_request(&req) else {
            return;
        };
        metrics::counter!("deflect_sip_requests_sent_total", "method" => method_label(&req.method))
            .increment(1);
        let (tx, action) = ClientTransaction::start(
            now,
            req.method == Method::Invite,
            transport == SipTransport::Tcp,
            self.config.timers,
            req.to_bytes(),
        );
        if let Action::Send(bytes) = action {
            self.send(transport, remote, bytes);
        }
        let at = tx.next_deadline();
        self.client.insert(
            key.clone(),
            ClientEntry {
                tx,
                transport,
                remote,
                purpose,
                request: req,
            },
        );
        self.arm(at, TimerRef::Client(key));
    }

    fn send_bye(&mut self, now: Instant, key: CallKey, reason: Reason, end: EndReason) {
        let Some(mut req) = self.in_dialog_request(key, Method::Bye) else {
            return;
        };
        req.headers.push("Reason", reason.0);
        if let Some(call) = self.calls.get_mut(&key) {
            call.state = CallState::Terminating;
            call.pending_2xx = None;
            call.session = None;
            call.expected_end = Some(end);
        }
        self.sync_call(key);
        self.start_client(now, key, req, Purpose::Bye(key));
    }

    fn send_cancel(&mut self, now: Instant, invite: &ClientKey) {
        let Some(entry) = self.client.get(invite) else {
            return;
        };
        if entry.tx.state != ClientState::Proceeding {
            return; // §9.1: CANCEL only after a provisional response
        }
        let inv = &entry.request;
        let mut req = Request::new(Method::Cancel, inv.uri.clone());
        for name in ["Via", "Max-Forwards", "From", "To", "Call-ID", "Route"] {
            for v in inv.headers.get_all(name) {
                req.headers.push(name, v.to_owned());
            }
        }
        let seq = inv.cseq().map_or(1, |c| c.seq);
        req.headers.push("CSeq", format!("{seq} CANCEL"));
        let (t, r) = (entry.transport, entry.remote);
        // The CANCEL has the INVITE's branch; its own transaction is keyed by its method.
        let (tx, action) = ClientTransaction::start(
            now,
            false,
            t == SipTransport::Tcp,
            self.config.timers,
            req.to_bytes(),
        );
        if let Action::Send(bytes) = action {
            self.send(t, r, bytes);
        }
        let k = ClientKey {
            branch: invite.branch.clone(),
            method: Method::Cancel,
        };
        let at = tx.next_deadline();
        self.client.insert(
            k.clone(),
            ClientEntry {
                tx,
                transport: t,
                remote: r,
                purpose: Purpose::Cancel,
                request: req,
            },
        );
        self.arm(at, TimerRef::Client(k));
    }

    /// Places a call (UAC): INVITE with `call.sdp` as the offer. Events follow under the
    /// returned key: [`CallEvent::Progress`], [`CallEvent::Answered`], [`CallEvent::Ended`].
    pub fn invite(&mut self, now: Instant, out: OutgoingCall) -> CallKey {
        let key = CallKey(self.next_key);
        self.next_key += 1;
        let local_tag = self.token();
        let call_id = format!("{}@deflect", self.token());
        let branch = self.branch();
        let host = self.advertised(out.transport);
        let local_uri = format!("<sip:{}@{host}>", out.from_user);
        let mut to = out.uri.clone();
        to.params = Default::default();
        let remote_uri = format!("<{to}>");
        let mut req = Request::new(Method::Invite, out.uri.clone());
        req.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {host};branch={branch};rport",
                transport_name(out.transport)
            ),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("{local_uri};tag={local_tag}"));
        req.headers.push("To", remote_uri.clone());
        req.headers.push("Call-ID", call_id.clone());
        req.headers.push("CSeq", "1 INVITE");
        req.headers
            .push("Contact", self.contact(out.transport, Some(&out.from_user)));
        req.headers.push("Allow", ALLOW);
        req.headers.push("Supported", SUPPORTED);
        req.headers
            .push("User-Agent", self.config.user_agent.clone());
        req.headers.push("Content-Type", "application/sdp");
        req.body = out.sdp.clone();
        let call = Call {
            role: Role::Uac,
            state: CallState::Calling,
            call_id: call_id.clone(),
            local_tag: local_tag.clone(),
            remote_tag: String::new(),
            local_uri,
            remote_uri,
            local_cseq: 1,
            remote_cseq: None,
            remote_target: out.uri.clone(),
            route_set: Vec::new(),
            transport: out.transport,
            remote: out.remote,
            invite: None,
            local_sdp: out.sdp,
            pending_2xx: None,
            pending_offer: None,
            pending_infos: Vec::new(),
            hangup_after_ack: None,
            our_reinvite: false,
            session: None,
            expected_end: None,
        };
        self.dialogs.insert((call_id, local_tag), key);
        self.calls.insert(key, call);
        self.start_client_to(now, out.transport, out.remote, req, Purpose::Invite(key));
        key
    }

    /// Starts (or restarts) registering trunk `trunk` (its name) at `remote`, the
    /// registrar's resolved address.
    pub fn register(
        &mut self,
        now: Instant,
        trunk: &str,
        transport: SipTransport,
        remote: SocketAddr,
    ) {
        let Some(i) = self
            .registrations
            .iter()
            .position(|r| self.config.trunks[r.trunk].name == trunk)
        else {
            return;
        };
        let call_id = format!("{}@deflect", self.token());
        let from_tag = self.token();
        let r = &mut self.registrations[i];
        r.remote = Some((transport, remote));
        r.call_id = call_id;
        r.from_tag = from_tag;
        r.cseq = 0;
        r.authorized_once = false;
        self.send_register(now, i, None);
    }

    fn send_register(&mut self, now: Instant, i: usize, authorization: Option<(&str, String)>) {
        let branch = self.branch();
        let r = &mut self.registrations[i];
        let Some((transport, remote)) = r.remote else {
            return;
        };
        let trunk = &self.config.trunks[r.trunk];
        let Some(reg) = &trunk.register else { return };
        let (Ok(registrar), Ok(aor)) = (Uri::parse(&reg.registrar), Uri::parse(&reg.aor)) else {
            warn!(trunk = %trunk.name, "registrar or aor is not a SIP URI");
            return;
        };
        r.cseq += 1;
        r.next_at = None;
        self.timers.stop(&TimerRef::Registration(i));
        let host = self
            .config
            .advertised
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        let mut req = Request::new(Method::Register, registrar);
        req.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {host};branch={branch};rport",
                transport_name(transport)
            ),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("<{aor}>;tag={}", r.from_tag));
        req.headers.push("To", format!("<{aor}>"));
        req.headers.push("Call-ID", r.call_id.clone());
        req.headers.push("CSeq", format!("{} REGISTER", r.cseq));
        let user = aor.user.clone().unwrap_or_default();
        let transport_param = if transport == SipTransport::Tcp {
            ";transport=tcp"
        } else {
            ""
        };
        req.headers
            .push("Contact", format!("<sip:{user}@{host}{transport_param}>"));
        req.headers.push("Expires", secs(reg.expires).to_string());
        req.headers
            .push("User-Agent", self.config.user_agent.clone());
        if let Some((name, value)) = authorization {
            req.headers.push(name, value);
        }
        self.start_client_to(now, transport, remote, req, Purpose::Register(i));
    }

    // ---------------------------------------------------------------- responses

    fn handle_response(&mut self, now: Instant, resp: Response) {
        let Some(k) = ClientKey::of_response(&resp) else {
            return;
        };
        let Some(entry) = self.client.get_mut(&k) else {
            // A retransmitted 2xx after the INVITE transaction ended: ACK it again.
            return;
        };
        let status = resp.status;
        let request = entry.request.clone();
        let actions = entry
            .tx
            .on_response(now, status, || ack_for_failure(&request, &resp));
        let (t, r, purpose) = (entry.transport, entry.remote, entry.purpose);
        let at = entry.tx.next_deadline();
        self.arm(at, TimerRef::Client(k.clone()));
        for a in actions {
            match a {
                Action::Send(bytes) => self.send(t, r, bytes),
                Action::Terminate => {
                    self.client.remove(&k);
                    self.timers.stop(&TimerRef::Client(k.clone()));
                }
                Action::PassUp => self.response_to_tu(now, purpose, &request, &resp),
                Action::TimedOut => {}
            }
        }
    }

    fn response_to_tu(
        &mut self,
        now: Instant,
        purpose: Purpose,
        request: &Request,
        resp: &Response,
    ) {
        let status = resp.status;
        match purpose {
            Purpose::Invite(key) => {
                if status < 200 {
                    self.events
                        .push_back(Event::Call(key, CallEvent::Progress { status }));
                } else if status < 300 {
                    self.uac_answered(now, key, resp);
                } else if self
                    .calls
                    .get(&key)
                    .is_some_and(|c| c.state == CallState::Calling)
                {
                    self.end_call(now, key, EndReason::Rejected(status));
                }
            }
            Purpose::ReInvite(key) => {
                if (200..300).contains(&status) {
                    let seq = resp.cseq().map_or(0, |c| c.seq);
                    self.send_ack(key, seq);
                }
                if let Some(call) = self.calls.get_mut(&key) {
                    if status >= 200 {
                        call.our_reinvite = false;
                    }
                    match status {
                        200..=299 => self.start_session_timer(now, key),
                        491 => {
                            let delay = Duration::from_millis(self.rng.u64(0..2000));
                            if let Some(s) =
                                self.calls.get_mut(&key).and_then(|c| c.session.as_mut())
                            {
                                s.postpone(now + delay);
                            }
                            self.sync_call(key);
                        }
                        408 | 481 => self.send_bye(
                            now,
                            key,
                            Reason::sip(status, "Session refresh failed"),
                            EndReason::SessionExpired,
                        ),
                        300.. => self.start_session_timer(now, key),
                        _ => {}
                    }
                }
            }
            Purpose::Bye(key) => {
                if status >= 200 {
                    let reason = self
                        .calls
                        .get(&key)
                        .and_then(|c| c.expected_end.clone())
                        .unwrap_or(EndReason::HungUp);
                    self.end_call(now, key, reason);
                }
            }
            Purpose::InDialog(key) => {
                if matches!(status, 408 | 481) {
                    self.send_bye(
                        now,
                        key,
                        Reason::sip(status, "In-dialog request failed"),
                        EndReason::HungUp,
                    );
                }
            }
            Purpose::Register(i) if i < self.registrations.len() => {
                self.registration_response(now, i, request, resp)
            }
            Purpose::Register(_) | Purpose::Cancel => {}
        }
    }

    fn uac_answered(&mut self, now: Instant, key: CallKey, resp: &Response) {
        let seq = resp.cseq().map_or(1, |c| c.seq);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let first = call.state == CallState::Calling;
        if first {
            call.state = CallState::Confirmed;
            call.remote_tag = resp
                .to()
                .and_then(|t| t.tag().map(str::to_owned))
                .unwrap_or_default();
            if let Some(c) = resp
                .headers
                .list("Contact")
                .next()
                .and_then(|c| NameAddr::parse(c).ok())
            {
                call.remote_target = c.uri;
            }
            let mut rr: Vec<String> = resp
                .headers
                .list("Record-Route")
                .map(str::to_owned)
                .collect();
            rr.reverse();
            call.route_set = rr;
            if let Some(se) = resp
                .headers
                .get("Session-Expires")
                .and_then(|v| SessionExpires::parse(v).ok())
            {
                let we_refresh = se.refresher.unwrap_or(Refresher::Uac) == Refresher::Uac;
                call.session = Some(SessionTimer::start(now, se.secs, we_refresh));
            }
        }
        self.send_ack(key, seq);
        if first {
            self.start_session_timer(now, key);
            self.events.push_back(Event::Call(
                key,
                CallEvent::Answered {
                    sdp: resp.body.clone(),
                },
            ));
        }
    }

    fn send_ack(&mut self, key: CallKey, seq: u32) {
        let Some(mut req) = self.in_dialog_request(key, Method::Ack) else {
            return;
        };
        req.headers.set("CSeq", format!("{seq} ACK"));
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let (t, r) = (call.transport, call.remote);
        self.send(t, r, req.to_bytes());
    }

    fn registration_response(
        &mut self,
        now: Instant,
        i: usize,
        request: &Request,
        resp: &Response,
    ) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        let trunk_i = self.registrations[i].trunk;
        let trunk = self.config.trunks[trunk_i].clone();
        let Some(reg) = &trunk.register else { return };
        if (200..300).contains(&status) {
            let asked = secs(reg.expires);
            let granted = resp
                .headers
                .list("Contact")
                .filter_map(|c| NameAddr::parse(c).ok())
                .find_map(|c| c.params.get("expires").and_then(parse_u32))
                .or_else(|| resp.headers.get("Expires").and_then(parse_u32))
                .unwrap_or(asked)
                .max(1);
            let r = &mut self.registrations[i];
            r.failures = 0;
            r.authorized_once = false;
            // Refresh before expiry: at the earlier of 90 % of the lifetime and 30 s before.
            let g = u64::from(granted);
            let refresh = (g * 9 / 10).min(g.saturating_sub(30)).max(g / 2).max(1);
            r.next_at = Some(now + Duration::from_secs(refresh));
            let at = r.next_at;
            self.arm(at, TimerRef::Registration(i));
            metrics::gauge!("deflect_sip_registration_registered", "trunk" => trunk.name.clone())
                .set(1.0);
            info!(trunk = %trunk.name, expires = granted, "registered");
            self.events.push_back(Event::Registration {
                trunk: trunk.name,
                state: RegistrationState::Registered { expires: granted },
            });
            return;
        }
        if matches!(status, 401 | 407) && !self.registrations[i].authorized_once {
            let header = if status == 401 {
                "WWW-Authenticate"
            } else {
                "Proxy-Authenticate"
            };
            let user = reg
                .username
                .clone()
                .or_else(|| Uri::parse(&reg.aor).ok().and_then(|u| u.user))
                .unwrap_or_default();
            let password = reg
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            let cnonce = self.token();
            let uri = request.uri.to_string();
            // Prefer SHA-256 when offered (RFC 8760), else the first one deflect can answer.
            let mut challenges: Vec<&str> = resp.headers.get_all(header).collect();
            challenges.sort_by_key(|c| !c.contains("SHA-256"));
            let auth = challenges
                .iter()
                .find_map(|c| auth::authorize(c, &user, &password, "REGISTER", &uri, &cnonce));
            if let Some(a) = auth {
                self.registrations[i].authorized_once = true;
                let name = if status == 401 {
                    "Authorization"
                } else {
                    "Proxy-Authorization"
                };
                self.send_register(now, i, Some((name, a)));
                return;
            }
        }
        self.registration_failed(now, i, status);
    }

    fn registration_failed(&mut self, now: Instant, i: usize, status: u16) {
        let r = &mut self.registrations[i];
        r.failures += 1;
        r.authorized_once = false;
        // Back-off: 5 s doubling up to 5 minutes.
        let retry_in = Duration::from_secs((5u64 << (r.failures - 1).min(6)).min(300));
        r.next_at = Some(now + retry_in);
        let at = r.next_at;
        let name = self.config.trunks[r.trunk].name.clone();
        self.arm(at, TimerRef::Registration(i));
        metrics::gauge!("deflect_sip_registration_registered", "trunk" => name.clone()).set(0.0);
        warn!(trunk = %name, status, retry_in = ?retry_in, "registration failed");
        self.events.push_back(Event::Registration {
            trunk: name,
            state: RegistrationState::Failed { status, retry_in },
        });
    }

    // ---------------------------------------------------------------- timers

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.admission.handle_timeout(now);
        while let Some(r) = self.timers.pop_expired(now) {
            match r {
                TimerRef::Server(k) => self.server_timer(now, k),
                TimerRef::Client(k) => self.client_timer(now, k),
                TimerRef::Call(k) => self.call_timer(now, k),
                TimerRef::Registration(i) => match self.registrations[i].next_at {
                    Some(t) if t <= now => {
                        self.registrations[i].next_at = None;
                        self.send_register(now, i, None);
                    }
                    at => self.arm(at, TimerRef::Registration(i)),
                },
            }
        }
    }

    fn server_timer(&mut self, now: Instant, k: ServerKey) {
        let Some(entry) = self.server.get_mut(&k) else {
            return;
        };
        if entry.tx.next_deadline().is_none_or(|t| t > now) {
            let at = entry.tx.next_deadline();
            self.arm(at, TimerRef::Server(k));
            return;
        }
        let actions = entry.tx.on_timer(now);
        let at = entry.tx.next_deadline();
        self.apply_server(k.clone(), actions);
        if self.server.contains_key(&k) {
            self.arm(at, TimerRef::Server(k));
        }
    }

    fn client_timer(&mut self, now: Instant, k: ClientKey) {
        let Some(entry) = self.client.get_mut(&k) else {
            return;
        };
        if entry.tx.next_deadline().is_none_or(|t| t > now) {
            let at = entry.tx.next_deadline();
            self.arm(at, TimerRef::Client(k));
            return;
        }
        let actions = entry.tx.on_timer(now);
        let at = entry.tx.next_deadline();
        let (t, r, purpose) = (entry.transport, entry.remote, entry.purpose);
        self.arm(at, TimerRef::Client(k.clone()));
        for a in actions {
            match a {
                Action::Send(bytes) => self.send(t, r, bytes),
                Action::Terminate => {
                    self.client.remove(&k);
                    self.timers.stop(&TimerRef::Client(k.clone()));
                }
                Action::TimedOut => match purpose {
                    Purpose::Invite(key) => self.end_call(now, key, EndReason::Timeout),
                    Purpose::ReInvite(key) => self.send_bye(
                        now,
                        key,
                        Reason::sip(408, "Session refresh timed out"),
                        EndReason::SessionExpired,
                    ),
                    Purpose::Bye(key) => {
                        let reason = self
                            .calls
                            .get(&key)
                            .and_then(|c| c.expected_end.clone())
                            .unwrap_or(EndReason::HungUp);
                        self.end_call(now, key, reason);
                    }
                    Purpose::InDialog(key) => self.send_bye(
                        now,
                        key,
                        Reason::sip(408, "In-dialog request timed out"),
                        EndReason::HungUp,
                    ),
                    Purpose::Register(i) if i < self.registrations.len() => {
                        self.registration_failed(now, i, 408)
                    }
                    Purpose::Register(_) | Purpose::Cancel => {}
                },
                Action::PassUp => {}
            }
        }
    }

    fn call_timer(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        match call.next_deadline() {
            None => return,
            Some(at) if at > now => {
                self.arm(Some(at), TimerRef::Call(key));
                return;
            }
            Some(_) => {}
        }
        let t = self.config.timers;
        if let Some(p) = call.pending_2xx.as_mut() {
            if p.give_up <= now {
                call.pending_2xx = None;
                let after = call.hangup_after_ack.take();
                debug!(call_id = %call.call_id, "no ACK for the 200 OK within 64*T1");
                let reason = after.unwrap_or_else(|| Reason::sip(408, "ACK timeout"));
                let end = if call.state == CallState::Answered {
                    EndReason::AckTimeout
                } else {
                    EndReason::HungUp
                };
                self.send_bye(now, key, reason, end);
                return;
            }
            if p.next <= now {
                let bytes = p.bytes.clone();
                p.interval = (p.interval * 2).min(t.t2);
                p.next = now + p.interval;
                let (tr, r) = (call.transport, call.remote);
                self.send(tr, r, bytes);
            }
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let Some(due) = call.session.as_ref().and_then(|s| s.due(now)) {
            if due == Due::Refresh {
                if call.pending_offer.is_some() || call.pending_2xx.is_some() {
                    // No INVITE while another is in progress (RFC 3261 §14.1): later.
                    if let Some(s) = call.session.as_mut() {
                        s.postpone(now + Duration::from_secs(1));
                    }
                } else if call.state == CallState::Confirmed && !call.our_reinvite {
                    self.send_refresh(now, key);
                }
            } else if call.pending_offer.is_some() {
                // The offer's 2xx, when the layer above answers it, refreshes the session.
                if let Some(s) = call.session.as_mut() {
                    s.postpone(now + Duration::from_secs(1));
                }
            } else {
                info!(call_id = %call.call_id, "session timer expired");
                self.send_bye(
                    now,
                    key,
                    Reason::sip(408, "Session timer expired"),
                    EndReason::SessionExpired,
                );
                return;
            }
        }
        let at = self.calls.get(&key).and_then(Call::next_deadline);
        self.arm(at, TimerRef::Call(key));
    }

    fn send_refresh(&mut self, now: Instant, key: CallKey) {
        let contact = self
            .calls
            .get(&key)
            .map(|c| self.contact(c.transport, None));
        let Some(mut req) = self.in_dialog_request(key, Method::Invite) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        call.our_reinvite = true;
        if let Some(s) = call.session.as_mut() {
            s.refresh_sent(now);
            req.headers.push("Session-Expires", s.request_header());
        }
        req.headers.push("Contact", contact.unwrap_or_default());
        req.headers.push("Supported", SUPPORTED);
        req.headers.push("Allow", ALLOW);
        if !call.local_sdp.is_empty() {
            req.headers.push("Content-Type", "application/sdp");
            req.body = call.local_sdp.clone();
        }
        self.start_client(now, key, req, Purpose::ReInvite(key));
    }
}

/// Whether a request's sender supports session timers (its 2xx then says `Require: timer`).
fn timer_supported(req: &Request) -> bool {
    req.headers.has_token("Supported", "timer") || req.headers.has_token("Require", "timer")
}

fn has_tag(value: &str) -> bool {
    NameAddr::parse(value).is_ok_and(|n| n.tag().is_some())
}

/// Copies Via (adding `received` and filling `rport`, RFC 3581), From, To, Call-ID and CSeq.
fn copy_routing(from: &Headers, to: &mut Headers, remote: SocketAddr) {
    let mut first = true;
    for v in from.list("Via") {
        if first {
            first = false;
            if let Ok(mut via) = Via::parse(v) {
                let ip = remote.ip().to_string();
                if via.params.has("rport") {
                    via.params.set("rport", Some(remote.port().to_string()));
                    via.params.set("received", Some(ip));
                } else if via.host.trim_matches(['[', ']']) != ip {
                    via.params.set("received", Some(ip));
                }
                to.push("Via", via.to_string());
                continue;
            }
        }
        to.push("Via", v.to_owned());
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = from.get(name) {
            to.push(name, v.to_owned());
        }
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): same branch and Request-URI.
fn ack_for_failure(invite: &Request, resp: &Response) -> Vec<u8> {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Some(v) = invite.headers.list("Via").next() {
        ack.headers.push("Via", v.to_owned());
    }
    ack.headers.push("Max-Forwards", "70");
    for name in ["From", "Call-ID", "Route"] {
        for v in invite.headers.get_all(name) {
            ack.headers.push(name, v.to_owned());
        }
    }
    ack.headers
        .push("To", resp.headers.get("To").unwrap_or("").to_owned());
    let seq = invite.cseq().map_or(1, |c: CSeq| c.seq);
    ack.headers.push("CSeq", format!("{seq} ACK"));
    ack.to_bytes()
}

fn transport_name(t: SipTransport) -> &'static str {
    match t {
        SipTransport::Udp => "UDP",
        SipTransport::Tcp => "TCP",
    }
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
