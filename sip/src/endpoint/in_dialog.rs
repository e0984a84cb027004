//! Requests inside an established dialog (RFC 3261 §12.2.2, §14): ACK for deflect's 2xx,
//! BYE, re-INVITE and UPDATE offers (RFC 3311), INFO (RFC 6086), NOTIFY (to `transfer`),
//! and the call's own timers —
//! the 2xx retransmitted until the ACK (§13.3.1.4) and the session timer (RFC 4028).

use super::{
    ALLOW, Call, CallEvent, CallKey, CallState, EndReason, Endpoint, Event, Origin, Pending2xx,
    Pending2xxDue, PendingOffer, Purpose, Reason, SUPPORTED, TimerRef, copy_routing,
};
use crate::message::{Method, NameAddr, Request, Response};
use crate::session_timer;
use crate::session_timer::{Due, Limits, SessionTimer};
use crate::transaction::ServerKey;
use deflect_config::SipTransport;
use std::time::{Duration, Instant};
use tracing::{debug, info};

impl Endpoint {
    pub(super) fn handle_ack(&mut self, now: Instant, req: &Request) {
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
            if let CallState::Answered { hang_up, refer } = &mut call.state {
                let (hang_up, refer) = (hang_up.take(), refer.take());
                call.state = CallState::Confirmed;
                if !req.body.is_empty() {
                    let sdp = req.body.clone();
                    self.events
                        .push_back(Event::Call(key, CallEvent::Answered { sdp }));
                }
                if let Some(reason) = hang_up {
                    self.send_bye(now, key, reason, EndReason::HungUp);
                } else if let Some(target) = refer {
                    self.refer(now, key, &target);
                }
            }
            self.send_reoffer(now, key);
        }
    }

    pub(super) fn handle_in_dialog(
        &mut self,
        now: Instant,
        origin: Origin,
        req: Request,
        key: ServerKey,
        tag: &str,
    ) {
        let dialog = self
            .dialogs
            .get(&(req.call_id().to_owned(), tag.to_owned()))
            .copied();
        let Some(call_key) = dialog else {
            self.reply(now, origin, key, &req, 481, &[]);
            return;
        };
        let cseq = req.cseq().map_or(0, |c| c.seq);
        let Some(call) = self.calls.get_mut(&call_key) else {
            return;
        };
        if call.dialog.remote_cseq.is_some_and(|r| cseq <= r) {
            self.reply(now, origin, key, &req, 500, &[]);
            return;
        }
        call.dialog.remote_cseq = Some(cseq);
        match req.method {
            Method::Bye => {
                self.reply(now, origin, key, &req, 200, &[]);
                // A BYE while our own BYE is out still ends the call once.
                let reason = self
                    .calls
                    .get(&call_key)
                    .and_then(Call::expected_end)
                    .unwrap_or_else(|| EndReason::RemoteHangup {
                        reason: req.headers.get("Reason").map(str::to_owned),
                    });
                self.end_call(now, call_key, reason);
            }
            Method::Invite | Method::Update => self.handle_offer(now, origin, req, key, call_key),
            Method::Info => self.handle_info(now, origin, req, key, call_key),
            Method::Notify => self.handle_notify(now, origin, req, key, call_key),
            Method::Refer => self.handle_refer(now, origin, req, key, call_key),
            Method::Options => {
                self.reply(
                    now,
                    origin,
                    key,
                    &req,
                    200,
                    &[("Allow", ALLOW), ("Supported", SUPPORTED)],
                );
            }
            _ => {
                self.reply(now, origin, key, &req, 501, &[("Allow", ALLOW)]);
            }
        }
    }

    /// A re-INVITE or UPDATE (RFC 3261 §14.2, RFC 3311): 491 across deflect's own refresh
    /// (glare), 500 with Retry-After across another offer or an unacknowledged 2xx, the
    /// session timer renegotiated; without an offer it is a refresh answered at once, with
    /// one the layer above answers it ([`CallEvent::Offer`]).
    fn handle_offer(
        &mut self,
        now: Instant,
        origin: Origin,
        req: Request,
        key: ServerKey,
        call_key: CallKey,
    ) {
        let Some(call) = self.calls.get(&call_key) else {
            return;
        };
        let (glare, pending) = (
            call.our_reinvite,
            call.pending_offer.is_some() || call.pending_2xx.is_some(),
        );
        if glare {
            return self.reply(now, origin, key, &req, 491, &[]);
        }
        if pending {
            let retry = self.rng.u32(0..=10).to_string();
            return self.reply(now, origin, key, &req, 500, &[("Retry-After", &retry)]);
        }
        // A refresh renegotiates the session timer.
        let session = match session_timer::negotiate(&req.headers, self.session_limits()) {
            Ok(s) => s,
            Err(refusal) => {
                let (name, value) = refusal.header();
                let status = refusal.status();
                return self.reply(now, origin, key, &req, status, &[(name, &value)]);
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
                call.dialog.remote_target = c.uri;
            }
            // The session is refreshed by the 2xx, sent now without an offer.
            if req.body.is_empty() && session.is_some() {
                call.session = session.take();
            }
        }
        self.open_server(now, origin, &key, &req, Some(call_key));
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

    /// An INFO (RFC 6086): its transaction waits for the layer above's answer
    /// ([`CallEvent::Info`]).
    fn handle_info(
        &mut self,
        now: Instant,
        origin: Origin,
        req: Request,
        key: ServerKey,
        call_key: CallKey,
    ) {
        // The transaction waits for the layer above's answer (RFC 6086: 415 for a
        // package or body type not understood); retransmissions are absorbed.
        let content_type = req.headers.get("Content-Type").unwrap_or("").to_owned();
        let body = req.body.clone();
        let event = |request| CallEvent::Info {
            request,
            content_type,
            body,
        };
        self.await_answer(now, origin, (req, key), call_key, event);
    }

    /// Opens the server transaction of `request` (with its key) to wait for the layer
    /// above's answer — an INFO, a REFER — absorbing retransmissions, and tells the layer
    /// above with `event` of the id its answer names.
    pub(super) fn await_answer(
        &mut self,
        now: Instant,
        origin: Origin,
        (req, key): (Request, ServerKey),
        call_key: CallKey,
        event: impl FnOnce(u64) -> CallEvent,
    ) {
        self.open_server(now, origin, &key, &req, Some(call_key));
        let id = self.next_offer;
        self.next_offer += 1;
        if let Some(call) = self.calls.get_mut(&call_key) {
            call.pending_infos.push(PendingOffer {
                id,
                tx_key: key,
                request: req,
                session: None,
            });
        }
        self.events.push_back(Event::Call(call_key, event(id)));
    }

    /// Answers an in-dialog INVITE/UPDATE with `sdp` (None: the current local SDP).
    pub(super) fn answer_in_dialog(
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
        let Origin { transport, remote } = entry.origin;
        let Some(call) = self.calls.get_mut(&call_key) else {
            return;
        };
        if let Some(sdp) = sdp {
            call.local_sdp = sdp;
        }
        let supported = timer_supported(req);
        let mut resp = Response::new(200);
        copy_routing(&req.headers, &mut resp.headers, remote);
        resp.headers
            .push("Contact", self.contact(transport, remote, None));
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

    pub(super) fn await_ack(
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
        let udp = transport == SipTransport::Udp;
        call.pending_2xx = Some(Pending2xx::new(now, cseq, bytes, t.t1, udp));
        let at = call.next_deadline();
        self.arm(at, TimerRef::Call(key));
    }

    pub(super) fn end_call(&mut self, now: Instant, key: CallKey, reason: EndReason) {
        if let Some(call) = self.calls.remove(&key) {
            self.timers.stop(&TimerRef::Call(key));
            for info in &call.pending_infos {
                self.answer_pending(now, info, 481);
            }
            self.dialogs
                .remove(&(call.dialog.call_id, call.dialog.local_tag));
            metrics::gauge!("deflect_sip_active_calls").set(self.calls.len() as f64);
            self.events
                .push_back(Event::Call(key, CallEvent::Ended(reason)));
        }
    }

    pub(super) fn session_limits(&self) -> Limits {
        Limits {
            session_expires: self.config.session_expires,
            min_se: self.config.min_se,
        }
    }

    pub(super) fn session_headers(resp: &mut Response, call: &Call, supported: bool) {
        if let Some(s) = &call.session {
            resp.headers.push("Session-Expires", s.response_header());
            if supported {
                resp.headers.push("Require", "timer");
            }
        }
    }

    pub(super) fn start_session_timer(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let Some(s) = call.session.as_mut() {
            s.restart(now);
        }
        let at = call.next_deadline();
        self.arm(at, TimerRef::Call(key));
    }

    pub(super) fn call_timer(&mut self, now: Instant, key: CallKey) {
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
        match call.pending_2xx.as_mut().map(|p| p.poll(now, t.t2)) {
            Some(Pending2xxDue::GiveUp) => {
                call.pending_2xx = None;
                let (after, end) = match &mut call.state {
                    CallState::Answered { hang_up, .. } => (hang_up.take(), EndReason::AckTimeout),
                    _ => (None, EndReason::HungUp),
                };
                debug!(call_id = %call.dialog.call_id, "no ACK for the 200 OK within 64*T1");
                let reason = after.unwrap_or_else(|| Reason::sip(408, "ACK timeout"));
                self.send_bye(now, key, reason, end);
                return;
            }
            Some(Pending2xxDue::Retransmit(bytes)) => {
                let (tr, r) = (call.dialog.transport, call.dialog.remote);
                self.send(tr, r, bytes);
            }
            Some(Pending2xxDue::Wait) | None => {}
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
                } else if matches!(call.state, CallState::Confirmed) && !call.our_reinvite {
                    self.send_refresh(now, key);
                }
            } else if call.pending_offer.is_some() {
                // The offer's 2xx, when the layer above answers it, refreshes the session.
                if let Some(s) = call.session.as_mut() {
                    s.postpone(now + Duration::from_secs(1));
                }
            } else {
                info!(call_id = %call.dialog.call_id, "session timer expired");
                self.send_bye(
                    now,
                    key,
                    Reason::sip(408, "Session timer expired"),
                    EndReason::SessionExpired,
                );
                return;
            }
        }
        self.send_reoffer(now, key);
        let at = self.calls.get(&key).and_then(Call::next_deadline);
        self.arm(at, TimerRef::Call(key));
    }

    /// A session refresh (RFC 4028): a re-INVITE with deflect's current SDP.
    pub(super) fn send_refresh(&mut self, now: Instant, key: CallKey) {
        let sdp = self
            .calls
            .get(&key)
            .map(|c| c.local_sdp.clone())
            .unwrap_or_default();
        self.send_reinvite(now, key, sdp, Purpose::ReInvite(key));
    }

    /// Sends deflect's queued offer ([`Call::reoffer`]) if the dialog allows a re-INVITE
    /// now; otherwise it waits for the transaction in the way to end, or for its retry time
    /// after a 491 (the call's timer).
    pub(super) fn send_reoffer(&mut self, now: Instant, key: CallKey) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let ready = call
            .reoffer
            .as_ref()
            .is_some_and(|r| r.not_before.is_none_or(|t| t <= now));
        if !ready || !call.may_reinvite() {
            return;
        }
        let sdp = call.reoffer.take().map(|r| r.sdp).unwrap_or_default();
        self.send_reinvite(now, key, sdp, Purpose::Reoffer(key));
        self.sync_call(key);
    }

    /// A re-INVITE with `sdp` (none when empty), which also refreshes the session timer.
    fn send_reinvite(&mut self, now: Instant, key: CallKey, sdp: Vec<u8>, purpose: Purpose) {
        let contact = self
            .calls
            .get(&key)
            .map(|c| self.contact(c.dialog.transport, c.dialog.remote, None));
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
        if !sdp.is_empty() {
            req.headers.push("Content-Type", "application/sdp");
            req.body = sdp;
        }
        self.start_client(now, key, req, purpose);
    }
}

/// Whether a request's sender supports session timers (its 2xx then says `Require: timer`).
pub(super) fn timer_supported(req: &Request) -> bool {
    req.headers.has_token("Supported", "timer") || req.headers.has_token("Require", "timer")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Peer, SDP, confirmed, request, to_tag};
    use crate::endpoint::{CallEvent, EndReason, Event};

    #[test]
    fn requests_in_an_unknown_dialog_get_481() {
        let mut p = Peer::new();
        p.send(&request("BYE", Some("nope"), 2, "z9hG4bKb", ""));
        assert_eq!(p.statuses(), [481]);
    }

    #[test]
    fn a_bye_ends_the_call_with_the_peers_reason() {
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        let reason = "Q.850;cause=16";
        p.send(&request(
            "BYE",
            Some(&tag),
            2,
            "z9hG4bKb",
            &format!("Reason: {reason}\n"),
        ));
        assert_eq!(p.statuses(), [200]);
        assert_eq!(
            p.events(),
            [Event::Call(
                key,
                CallEvent::Ended(EndReason::RemoteHangup {
                    reason: Some(reason.into())
                })
            )]
        );
        assert_eq!(p.ua.active_calls(), 0);
    }

    #[test]
    fn a_request_with_a_cseq_not_above_the_last_gets_500() {
        let mut p = Peer::new();
        let (_, tag) = confirmed(&mut p);
        p.send(&request("BYE", Some(&tag), 1, "z9hG4bKb", ""));
        assert_eq!(p.statuses(), [500]);
        assert!(p.events().is_empty(), "the call stays up");
    }

    #[test]
    fn when_deflect_offered_in_its_200_the_answer_comes_in_the_ack() {
        let mut p = Peer::new();
        p.send(&request("INVITE", None, 1, "z9hG4bKi", ""));
        let key = p.incoming();
        p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
        let tag = to_tag(&p.responses().pop().expect("the 200 OK"));
        let ack = request(
            "ACK",
            Some(&tag),
            1,
            "z9hG4bKa",
            "Content-Type: application/sdp\n",
        )
        .replace("Content-Length: 0\n\n", "Content-Length: 5\n\nv=1\r\n");
        p.send(&ack);
        assert_eq!(
            p.events(),
            [Event::Call(
                key,
                CallEvent::Answered {
                    sdp: b"v=1\r\n".to_vec()
                }
            )]
        );
    }

    /// The peer's `status` to deflect's `req`, carrying `sdp` when not empty.
    fn reply_to(req: &crate::message::Request, status: u16, sdp: &str) -> String {
        let mut text = format!("SIP/2.0 {status} Whatever\n");
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            for v in req.headers.get_all(name) {
                text.push_str(&format!("{name}: {v}\n"));
            }
        }
        if !sdp.is_empty() {
            text.push_str("Content-Type: application/sdp\n");
        }
        text.push_str(&format!("Content-Length: {}\n\n{sdp}", sdp.len()));
        text
    }

    /// deflect's INVITEs since the last look, retransmissions left out.
    fn invites(p: &mut Peer) -> Vec<crate::message::Request> {
        let mut seen = Vec::new();
        p.requests()
            .into_iter()
            .filter(|r| r.method == crate::message::Method::Invite)
            .filter(|r| {
                let seq = r.cseq().map(|c| c.seq);
                !seen.contains(&seq) && {
                    seen.push(seq);
                    true
                }
            })
            .collect()
    }

    #[test]
    fn deflects_offer_goes_in_a_reinvite_and_its_answer_comes_back() {
        let mut p = Peer::new();
        let (key, _) = confirmed(&mut p);
        p.ua.reoffer(p.now, key, b"v=0\r\na=sendonly\r\n".to_vec());
        let sent = invites(&mut p);
        assert_eq!(sent.len(), 1, "one re-INVITE");
        assert_eq!(sent[0].body, b"v=0\r\na=sendonly\r\n");
        assert_eq!(sent[0].headers.get("Content-Type"), Some("application/sdp"));
        p.send(&reply_to(&sent[0], 200, "v=0\r\na=recvonly\r\n"));
        let acks: Vec<_> = p
            .requests()
            .into_iter()
            .filter(|r| r.method == crate::message::Method::Ack)
            .collect();
        assert_eq!(acks.len(), 1, "the 2xx is ACKed");
        assert_eq!(
            p.events(),
            [Event::Call(
                key,
                CallEvent::Reoffered(Ok(b"v=0\r\na=recvonly\r\n".to_vec()))
            )]
        );
        // A session refresh now carries the new SDP.
        p.ua.send_refresh(p.now, key);
        assert_eq!(invites(&mut p)[0].body, b"v=0\r\na=sendonly\r\n");
    }

    #[test]
    fn an_offer_waits_for_the_peers_reinvite_and_is_retried_after_491() {
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        let reinvite = request(
            "INVITE",
            Some(&tag),
            2,
            "z9hG4bKre",
            "Content-Type: application/sdp\n",
        )
        .replace(
            "Content-Length: 0\n\n",
            &format!("Content-Length: {}\n\n{SDP}", SDP.len()),
        );
        p.send(&reinvite);
        let offer = match p.events().pop() {
            Some(Event::Call(_, CallEvent::Offer { offer, .. })) => offer,
            other => panic!("expected the peer's offer, got {other:?}"),
        };
        p.ua.reoffer(p.now, key, b"mine".to_vec());
        assert!(
            invites(&mut p).is_empty(),
            "not across the peer's re-INVITE"
        );
        p.ua.answer_offer(p.now, key, offer, Ok(SDP.as_bytes().to_vec()));
        assert_eq!(p.statuses(), [200]);
        assert!(invites(&mut p).is_empty(), "not before the ACK of our 2xx");
        p.send(&request("ACK", Some(&tag), 2, "z9hG4bKreack", ""));
        let first = invites(&mut p);
        assert_eq!(first.len(), 1, "sent once the peer's transaction is over");
        p.send(&reply_to(&first[0], 491, ""));
        assert!(p.events().is_empty(), "a 491 is tried again, not reported");
        assert!(invites(&mut p).is_empty());
        p.advance(std::time::Duration::from_millis(2001));
        let again = invites(&mut p);
        assert_eq!(again.len(), 1, "tried again within 2 s");
        assert_eq!(again[0].body, b"mine");
        p.send(&reply_to(&again[0], 488, ""));
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Reoffered(Err(488)))],
            "a refusal is reported and the call goes on"
        );
        assert_eq!(p.ua.active_calls(), 1);
    }
}
