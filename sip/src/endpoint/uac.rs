//! deflect's own requests (RFC 3261 §8.1, §12.2.1, §17.1): placing a call, requests inside
//! a dialog (BYE, INFO, ACK, session refreshes and deflect's own offers), CANCEL, a digest
//! challenge to an INVITE answered once, and what the responses and the client
//! transactions' timeouts mean for the call or registration that sent them.

use super::call::Reoffer;
use super::server::copy_routing;
use super::{
    ALLOW, Call, CallEvent, CallKey, CallState, Dialog, EndReason, Endpoint, Event, OutgoingCall,
    Reason, SUPPORTED, TimerRef, method_label,
};
use crate::auth;
use crate::message::{CSeq, Method, NameAddr, Refresher, Request, Response, SessionExpires};
use crate::session_timer::SessionTimer;
use crate::transaction::{Action, ClientKey, ClientState, ClientTransaction};
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::debug;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Purpose {
    Invite(CallKey),
    /// A session refresh.
    ReInvite(CallKey),
    /// deflect's offer ([`Endpoint::reoffer`]).
    Reoffer(CallKey),
    Bye(CallKey),
    InDialog(CallKey),
    Refer(CallKey),
    Register(usize),
    Probe(usize),
    Cancel,
}

pub(super) struct ClientEntry {
    pub(super) tx: ClientTransaction,
    pub(super) transport: SipTransport,
    pub(super) remote: SocketAddr,
    pub(super) purpose: Purpose,
    pub(super) request: Request,
}

impl Endpoint {
    /// Places a call (UAC): INVITE with `call.sdp` as the offer. Events follow under the
    /// returned key: [`CallEvent::Progress`], [`CallEvent::Answered`], [`CallEvent::Ended`].
    pub fn invite(&mut self, now: Instant, out: OutgoingCall) -> CallKey {
        let key = CallKey(self.next_key);
        self.next_key += 1;
        let local_tag = self.token();
        let call_id = format!("{}@deflect", self.token());
        let branch = self.branch();
        let host = self.advertised(out.transport, out.remote);
        let local_uri = format!("<sip:{}@{host}>", out.from_user);
        let mut to = out.uri.clone();
        to.params = Default::default();
        let remote_uri = format!("<{to}>");
        let mut req = Request::new(Method::Invite, out.uri.clone());
        req.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {host};branch={branch};rport",
                out.transport.via_name()
            ),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("{local_uri};tag={local_tag}"));
        req.headers.push("To", remote_uri.clone());
        req.headers.push("Call-ID", call_id.clone());
        req.headers.push("CSeq", "1 INVITE");
        if let Some(route) = &out.route {
            req.headers.push("Route", route.clone());
        }
        req.headers.push(
            "Contact",
            self.contact(out.transport, out.remote, Some(&out.from_user)),
        );
        req.headers.push("Allow", ALLOW);
        req.headers.push("Supported", SUPPORTED);
        req.headers
            .push("User-Agent", self.config.user_agent.clone());
        req.headers.push("Content-Type", "application/sdp");
        req.body = out.sdp.clone();
        let call = Call {
            state: CallState::Calling {
                hang_up: None,
                cancelled: false,
                credentials: out.credentials.clone().map(Box::new),
            },
            dialog: Dialog {
                call_id: call_id.clone(),
                local_tag: local_tag.clone(),
                remote_tag: String::new(),
                local_uri,
                remote_uri,
                local_cseq: 1,
                remote_cseq: None,
                remote_target: out.uri.clone(),
                route_set: out.route.iter().cloned().collect(),
                transport: out.transport,
                remote: out.remote,
            },
            local_sdp: out.sdp,
            pending_2xx: None,
            pending_offer: None,
            pending_infos: Vec::new(),
            our_reinvite: false,
            reoffer: None,
            transfer: None,
            session: None,
        };
        self.dialogs.insert((call_id, local_tag), key);
        self.calls.insert(key, call);
        self.start_client_to(now, out.transport, out.remote, req, Purpose::Invite(key));
        key
    }

    pub(super) fn in_dialog_request(&mut self, key: CallKey, method: Method) -> Option<Request> {
        let branch = self.branch();
        let dialog = &self.calls.get(&key)?.dialog;
        let via_host = self.advertised(dialog.transport, dialog.remote);
        let call = self.calls.get_mut(&key)?;
        let req = call
            .dialog
            .request(method, &via_host, &branch, &self.config.user_agent);
        Some(req)
    }

    pub(super) fn start_client(
        &mut self,
        now: Instant,
        key: CallKey,
        req: Request,
        purpose: Purpose,
    ) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let (transport, remote) = (call.dialog.transport, call.dialog.remote);
        self.start_client_to(now, transport, remote, req, purpose);
    }

    pub(super) fn start_client_to(
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
            transport.is_stream(),
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

    pub(super) fn send_bye(&mut self, now: Instant, key: CallKey, reason: Reason, end: EndReason) {
        let Some(mut req) = self.in_dialog_request(key, Method::Bye) else {
            return;
        };
        req.headers.push("Reason", reason.0);
        if let Some(call) = self.calls.get_mut(&key) {
            call.state = CallState::Terminating { end };
            call.pending_2xx = None;
            call.session = None;
        }
        self.sync_call(key);
        self.start_client(now, key, req, Purpose::Bye(key));
    }

    /// CANCELs call `key`'s INVITE if a provisional response allows it yet (otherwise the
    /// first one will: the call's state remembers the hang-up).
    pub(super) fn cancel_invite(&mut self, now: Instant, key: CallKey) {
        let branch = self
            .client
            .iter()
            .find(|(_, e)| e.purpose == Purpose::Invite(key))
            .map(|(b, _)| b.clone());
        let Some(branch) = branch else {
            return;
        };
        if self.send_cancel(now, &branch)
            && let Some(CallState::Calling { cancelled, .. }) =
                self.calls.get_mut(&key).map(|c| &mut c.state)
        {
            *cancelled = true;
        }
    }

    /// Sends CANCEL for `invite`; false when §9.1 does not allow it yet.
    pub(super) fn send_cancel(&mut self, now: Instant, invite: &ClientKey) -> bool {
        let Some(entry) = self.client.get(invite) else {
            return false;
        };
        if entry.tx.state != ClientState::Proceeding {
            return false; // §9.1: CANCEL only after a provisional response
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
            t.is_stream(),
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
        true
    }

    pub(super) fn handle_response(&mut self, now: Instant, resp: Response) {
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
        let purpose = entry.purpose;
        self.client_actions(&k, actions, |this, up| {
            if up == Action::PassUp {
                this.response_to_tu(now, purpose, &request, &resp);
            }
        });
    }

    /// A connection to `remote` over `transport` could not be opened (refused, TLS
    /// handshake failed): every request waiting on it ends as if answered 503 (RFC 3261
    /// §8.1.3.1) rather than after Timer B or F.
    pub fn transport_failed(&mut self, now: Instant, transport: SipTransport, remote: SocketAddr) {
        let waiting: Vec<ClientKey> = (self.client.iter())
            .filter(|(_, e)| e.transport == transport && e.remote == remote)
            .filter(|(_, e)| {
                matches!(
                    e.tx.state,
                    ClientState::Calling | ClientState::Trying | ClientState::Proceeding
                )
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in waiting {
            let Some(entry) = self.client.get(&k) else {
                continue;
            };
            let mut resp = Response::new(503);
            copy_routing(&entry.request.headers, &mut resp.headers, remote);
            self.handle_response(now, resp);
        }
    }

    /// Carries out, in order, what client transaction `k` asked for after an input: its
    /// deadline re-armed, bytes sent, the transaction forgotten once it terminates; a
    /// response passed up and a time-out go to `upward`, for the transaction user.
    fn client_actions(
        &mut self,
        k: &ClientKey,
        actions: Vec<Action>,
        mut upward: impl FnMut(&mut Self, Action),
    ) {
        let Some(entry) = self.client.get(k) else {
            return;
        };
        let (t, r, at) = (entry.transport, entry.remote, entry.tx.next_deadline());
        self.arm(at, TimerRef::Client(k.clone()));
        for a in actions {
            match a {
                Action::Send(bytes) => self.send(t, r, bytes),
                Action::Terminate => {
                    self.client.remove(k);
                    self.timers.stop(&TimerRef::Client(k.clone()));
                }
                up @ (Action::PassUp | Action::TimedOut) => upward(self, up),
            }
        }
    }

    pub(super) fn response_to_tu(
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
                    // A hang-up that had to wait for a provisional response.
                    if self.calls.get(&key).is_some_and(|c| {
                        matches!(
                            c.state,
                            CallState::Calling {
                                hang_up: Some(_),
                                cancelled: false,
                                ..
                            }
                        )
                    }) {
                        self.cancel_invite(now, key);
                    }
                } else if status < 300 {
                    self.uac_answered(now, key, resp);
                } else if matches!(status, 401 | 407) && self.authenticate(now, key, request, resp)
                {
                    // Sent again with credentials.
                } else if self
                    .calls
                    .get(&key)
                    .is_some_and(|c| matches!(c.state, CallState::Calling { .. }))
                {
                    self.end_call(now, key, EndReason::Rejected(status));
                }
            }
            Purpose::ReInvite(key) | Purpose::Reoffer(key) => {
                self.reinvite_answered(now, key, request, resp, purpose == Purpose::Reoffer(key));
            }
            Purpose::Bye(key) => {
                if status >= 200 {
                    let reason = self
                        .calls
                        .get(&key)
                        .and_then(Call::expected_end)
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
            Purpose::Refer(key) => self.refer_answered(key, status),
            Purpose::Probe(i) if status >= 200 => self.probe_ended(now, i, Some(status)),
            Purpose::Probe(_) => {}
            Purpose::Register(i) if i < self.registrations.len() => {
                self.registration_response(now, i, request, resp)
            }
            Purpose::Register(_) | Purpose::Cancel => {}
        }
    }

    /// Sends call `key`'s INVITE again answering the challenge in `resp` (401/407) with
    /// the call's credentials — once, and not after a hang-up: false when it cannot.
    fn authenticate(
        &mut self,
        now: Instant,
        key: CallKey,
        invite: &Request,
        resp: &Response,
    ) -> bool {
        let cnonce = self.token();
        let branch = self.branch();
        let Some(call) = self.calls.get_mut(&key) else {
            return false;
        };
        let CallState::Calling {
            hang_up: None,
            credentials,
            ..
        } = &mut call.state
        else {
            return false;
        };
        let Some(c) = credentials.take() else {
            return false;
        };
        let uri = invite.uri.to_string();
        let password = c.password.expose();
        let Some((answer, value)) =
            auth::answer_challenges(resp, &c.username, password, "INVITE", &uri, &cnonce)
        else {
            debug!(call_id = %call.dialog.call_id, status = resp.status, "challenge deflect cannot answer");
            return false;
        };
        call.dialog.local_cseq += 1;
        let mut req = invite.clone();
        req.headers
            .set("CSeq", format!("{} INVITE", call.dialog.local_cseq));
        if let Some(via) = req.headers.get("Via") {
            let via = via.split(";branch=").next().unwrap_or(via).to_owned();
            req.headers
                .set("Via", format!("{via};branch={branch};rport"));
        }
        req.headers.push(answer, value);
        let (transport, remote) = (call.dialog.transport, call.dialog.remote);
        self.start_client_to(now, transport, remote, req, Purpose::Invite(key));
        true
    }

    /// The final response to deflect's re-INVITE (a refresh, or an offer whose answer goes to
    /// the layer above): 2xx ACKed and the session timer restarted; 491 (glare) tried again
    /// after a random wait (RFC 3261 §14.1); 408/481 end the call; any other failure leaves
    /// the session as it was. A queued offer goes next.
    fn reinvite_answered(
        &mut self,
        now: Instant,
        key: CallKey,
        request: &Request,
        resp: &Response,
        offer: bool,
    ) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        if status < 300 {
            let seq = resp.cseq().map_or(0, |c| c.seq);
            self.send_ack(key, seq);
        }
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        call.our_reinvite = false;
        if status == 491 {
            let delay = Duration::from_millis(self.rng.u64(0..2000));
            if offer {
                // A newer offer queued meanwhile goes instead of this one.
                let queued = call.reoffer.get_or_insert_with(|| Reoffer {
                    sdp: request.body.clone(),
                    not_before: None,
                });
                queued.not_before = Some(now + delay);
            } else if let Some(s) = call.session.as_mut() {
                s.postpone(now + delay);
            }
            self.sync_call(key);
            return;
        }
        if offer {
            let answer = if status < 300 {
                call.local_sdp = request.body.clone();
                Ok(resp.body.clone())
            } else {
                Err(status)
            };
            self.events
                .push_back(Event::Call(key, CallEvent::Reoffered(answer)));
        }
        if matches!(status, 408 | 481) {
            self.send_bye(
                now,
                key,
                Reason::sip(status, "Session refresh failed"),
                EndReason::SessionExpired,
            );
            return;
        }
        self.start_session_timer(now, key);
        self.send_reoffer(now, key);
    }

    pub(super) fn uac_answered(&mut self, now: Instant, key: CallKey, resp: &Response) {
        let seq = resp.cseq().map_or(1, |c| c.seq);
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let first = matches!(call.state, CallState::Calling { .. });
        let hung_up = match &mut call.state {
            CallState::Calling { hang_up, .. } => hang_up.take(),
            _ => None,
        };
        if first {
            call.state = CallState::Confirmed;
            call.dialog.remote_tag = resp
                .to()
                .and_then(|t| t.tag().map(str::to_owned))
                .unwrap_or_default();
            if let Some(c) = resp
                .headers
                .list("Contact")
                .next()
                .and_then(|c| NameAddr::parse(c).ok())
            {
                call.dialog.remote_target = c.uri;
            }
            let mut rr: Vec<String> = resp
                .headers
                .list("Record-Route")
                .map(str::to_owned)
                .collect();
            rr.reverse();
            call.dialog.route_set = rr;
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
        if let Some(reason) = hung_up {
            // Answered across the CANCEL (or before one could go): end it at once (§9.1).
            return self.send_bye(now, key, reason, EndReason::HungUp);
        }
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

    pub(super) fn send_ack(&mut self, key: CallKey, seq: u32) {
        let Some(mut req) = self.in_dialog_request(key, Method::Ack) else {
            return;
        };
        req.headers.set("CSeq", format!("{seq} ACK"));
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let (t, r) = (call.dialog.transport, call.dialog.remote);
        self.send(t, r, req.to_bytes());
    }

    pub(super) fn client_timer(&mut self, now: Instant, k: ClientKey) {
        let Some(entry) = self.client.get_mut(&k) else {
            return;
        };
        if entry.tx.next_deadline().is_none_or(|t| t > now) {
            let at = entry.tx.next_deadline();
            self.arm(at, TimerRef::Client(k));
            return;
        }
        let actions = entry.tx.on_timer(now);
        let purpose = entry.purpose;
        self.client_actions(&k, actions, |this, up| {
            if up != Action::TimedOut {
                return;
            }
            match purpose {
                Purpose::Invite(key) => this.end_call(now, key, EndReason::Timeout),
                Purpose::ReInvite(key) | Purpose::Reoffer(key) => {
                    if purpose == Purpose::Reoffer(key) {
                        this.events
                            .push_back(Event::Call(key, CallEvent::Reoffered(Err(408))));
                    }
                    this.send_bye(
                        now,
                        key,
                        Reason::sip(408, "Session refresh timed out"),
                        EndReason::SessionExpired,
                    )
                }
                Purpose::Bye(key) => {
                    let reason = this
                        .calls
                        .get(&key)
                        .and_then(Call::expected_end)
                        .unwrap_or(EndReason::HungUp);
                    this.end_call(now, key, reason);
                }
                Purpose::InDialog(key) => this.send_bye(
                    now,
                    key,
                    Reason::sip(408, "In-dialog request timed out"),
                    EndReason::HungUp,
                ),
                Purpose::Refer(key) => this.refer_answered(key, 408),
                Purpose::Probe(i) => this.probe_ended(now, i, None),
                Purpose::Register(i) if i < this.registrations.len() => {
                    this.registration_timed_out(now, i)
                }
                Purpose::Register(_) | Purpose::Cancel => {}
            }
        });
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3): same branch and Request-URI.
pub(super) fn ack_for_failure(invite: &Request, resp: &Response) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{PEER, Peer, SDP, addr, response_to};
    use crate::endpoint::{
        CallEvent, CallKey, Credentials, EndReason, Event, OutgoingCall, Reason,
    };
    use crate::message::{Method, Request, Uri};
    use deflect_config::SipTransport;

    fn place(p: &mut Peer) -> (CallKey, Request) {
        place_with(p, None, None)
    }

    fn place_with(
        p: &mut Peer,
        route: Option<&str>,
        credentials: Option<Credentials>,
    ) -> (CallKey, Request) {
        let out = OutgoingCall {
            uri: Uri::parse(&format!("sip:2000@{PEER}")).unwrap(),
            remote: addr(PEER),
            transport: SipTransport::Udp,
            from_user: "3120".into(),
            sdp: SDP.as_bytes().to_vec(),
            route: route.map(str::to_owned),
            credentials,
            through: None,
        };
        let key = p.ua.invite(p.now, out);
        let invite = p.requests().pop().expect("the INVITE");
        assert_eq!(invite.method, Method::Invite);
        assert_eq!(invite.body, SDP.as_bytes());
        (key, invite)
    }

    #[test]
    fn a_call_placed_reports_progress_and_acks_the_200() {
        let mut p = Peer::new();
        let (key, invite) = place(&mut p);
        p.send(&response_to(&invite, 180, "callee", ""));
        p.send(&response_to(
            &invite,
            200,
            "callee",
            &format!("Contact: <sip:2000@{PEER}>\n"),
        ));
        assert_eq!(
            p.events(),
            [
                Event::Call(key, CallEvent::Progress { status: 180 }),
                Event::Call(key, CallEvent::Answered { sdp: Vec::new() }),
            ]
        );
        let ack = p.requests().pop().expect("the ACK");
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
        assert!(
            ack.headers
                .get("To")
                .is_some_and(|t| t.ends_with(";tag=callee"))
        );
    }

    /// A connection that cannot be opened (a TLS certificate refused) fails the INVITE at
    /// once, as a 503 would, rather than after Timer B.
    #[test]
    fn a_connection_that_fails_ends_the_call_with_503() {
        let mut p = Peer::new();
        let out = OutgoingCall {
            uri: Uri::parse(&format!("sips:2000@{PEER}")).unwrap(),
            remote: addr(PEER),
            transport: SipTransport::Tls,
            from_user: "3120".into(),
            sdp: SDP.as_bytes().to_vec(),
            route: None,
            credentials: None,
            through: None,
        };
        let key = p.ua.invite(p.now, out);
        let invite = p.requests().pop().expect("the INVITE");
        let via = invite.headers.get("Via").unwrap();
        assert!(via.starts_with("SIP/2.0/TLS "), "{via}");
        let contact = invite.headers.get("Contact").unwrap();
        assert!(contact.ends_with(";transport=tls>"), "{contact}");
        // Another peer's or transport's failure is not this call's.
        p.ua.transport_failed(p.now, SipTransport::Tcp, addr(PEER));
        p.ua.transport_failed(p.now, SipTransport::Tls, addr("127.0.0.1:5999"));
        assert!(p.events().is_empty());
        p.ua.transport_failed(p.now, SipTransport::Tls, addr(PEER));
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Ended(EndReason::Rejected(503)))]
        );
    }

    #[test]
    fn cancel_waits_for_a_provisional_response() {
        let mut p = Peer::new();
        let (key, invite) = place(&mut p);
        p.ua.hang_up(p.now, key, Reason::sip(200, "done"));
        assert!(
            p.requests().is_empty(),
            "no CANCEL before a provisional (§9.1)"
        );
        // The hang-up is remembered: the first provisional response lets the CANCEL go.
        p.send(&response_to(&invite, 180, "callee", ""));
        p.events();
        let cancel = p.requests().pop().expect("the CANCEL");
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(
            cancel.headers.get("Via"),
            invite.headers.get("Via"),
            "same branch"
        );
    }

    #[test]
    fn a_call_answered_after_its_hang_up_is_acked_and_ended_with_bye() {
        let mut p = Peer::new();
        let (key, invite) = place(&mut p);
        p.ua.hang_up(p.now, key, Reason::q850(16, "Normal call clearing"));
        // The callee answers before any provisional response could carry a CANCEL.
        p.send(&response_to(
            &invite,
            200,
            "callee",
            &format!("Contact: <sip:2000@{PEER}>\n"),
        ));
        let events = p.events();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Call(_, CallEvent::Answered { .. }))),
            "the layer above hung up; it hears of no answer: {events:?}"
        );
        let sent = p.requests();
        let methods: Vec<_> = sent.iter().map(|r| r.method.clone()).collect();
        assert_eq!(methods, [Method::Ack, Method::Bye], "ACK the 2xx, then BYE");
        assert_eq!(
            sent[1].headers.get("Reason"),
            Some("Q.850;cause=16;text=\"Normal call clearing\"")
        );
    }

    #[test]
    fn a_refusal_is_acked_in_its_transaction_and_ends_the_call() {
        let mut p = Peer::new();
        let (key, invite) = place(&mut p);
        p.send(&response_to(&invite, 486, "callee", ""));
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Ended(EndReason::Rejected(486)))]
        );
        let ack = p.requests().pop().expect("the ACK");
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(
            ack.headers.get("Via"),
            invite.headers.get("Via"),
            "same branch"
        );
        assert_eq!(p.ua.active_calls(), 0);
    }

    const CHALLENGE: &str = r#"Digest realm="carrier", nonce="abc", algorithm=MD5, qop="auth""#;

    fn credentials() -> Credentials {
        Credentials {
            username: "3120".into(),
            password: deflect_config::Secret::new("hunter2"),
        }
    }

    #[test]
    fn a_challenged_invite_is_sent_again_once_with_credentials_through_its_proxy() {
        let mut p = Peer::new();
        let (key, invite) = place_with(&mut p, Some("<sip:proxy.example;lr>"), Some(credentials()));
        assert_eq!(invite.headers.get("Route"), Some("<sip:proxy.example;lr>"));
        p.send(&response_to(
            &invite,
            407,
            "proxy",
            &format!("Proxy-Authenticate: {CHALLENGE}\n"),
        ));
        let sent = p.requests();
        let again = sent
            .iter()
            .find(|r| r.method == Method::Invite)
            .expect("the INVITE again");
        assert!(
            sent.iter().any(|r| r.method == Method::Ack),
            "the 407 is ACKed"
        );
        assert_eq!(again.headers.get("CSeq"), Some("2 INVITE"));
        assert_eq!(again.call_id(), invite.call_id());
        assert_ne!(
            again.headers.get("Via"),
            invite.headers.get("Via"),
            "a new branch"
        );
        let auth = again
            .headers
            .get("Proxy-Authorization")
            .expect("credentials");
        assert!(
            auth.contains("username=\"3120\"") && auth.contains("realm=\"carrier\""),
            "{auth}"
        );
        assert_eq!(again.headers.get("Route"), Some("<sip:proxy.example;lr>"));
        assert!(p.events().is_empty(), "the call goes on");
        // A second challenge is a failure: the credentials are wrong.
        p.send(&response_to(
            again,
            407,
            "proxy",
            &format!("Proxy-Authenticate: {CHALLENGE}\n"),
        ));
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Ended(EndReason::Rejected(407)))]
        );
    }

    #[test]
    fn a_challenge_without_credentials_ends_the_call() {
        let mut p = Peer::new();
        let (key, invite) = place(&mut p);
        p.send(&response_to(
            &invite,
            401,
            "callee",
            &format!("WWW-Authenticate: {CHALLENGE}\n"),
        ));
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Ended(EndReason::Rejected(401)))]
        );
    }
}
