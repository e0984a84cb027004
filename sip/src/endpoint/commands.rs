//! What the layer above decides about a call: accept or reject it, answer an offer or an
//! INFO, hang up, send INFO.

use super::call::Reoffer;
use super::{
    ALLOW, CallEvent, CallKey, CallState, EndReason, Endpoint, Event, PendingOffer, Purpose,
    Reason, SUPPORTED, TimerRef, timer_supported,
};
use crate::message::{Method, Request, Response};
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::Instant;

impl Endpoint {
    /// Answers an incoming call with 200 OK carrying `sdp` (the SDP answer, or an offer
    /// when the INVITE had none). Ignored when the call is gone (cancelled).
    pub fn accept(&mut self, now: Instant, key: CallKey, sdp: Vec<u8>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some((tx_key, req)) = call.take_invite(CallState::Answered {
            hang_up: None,
            refer: None,
        }) else {
            return;
        };
        call.local_sdp = sdp;
        let (transport, remote, tag) = (
            call.dialog.transport,
            call.dialog.remote,
            call.dialog.local_tag.clone(),
        );
        let supported = timer_supported(&req);
        let mut resp = self.sdp_response(&req, 200, key, (transport, remote, &tag));
        Self::session_headers(&mut resp, &self.calls[&key], supported);
        resp.headers.push("Supported", SUPPORTED);
        let bytes = resp.to_bytes();
        self.respond(now, &tx_key, resp);
        let cseq = req.cseq().map_or(0, |c| c.seq);
        self.await_ack(now, key, cseq, bytes, transport);
        self.start_session_timer(now, key);
    }

    /// Sends early media for an incoming call: 183 Session Progress carrying `sdp` (the SDP
    /// answer), before [`accept`](Self::accept) answers with the same SDP or a hang-up
    /// refuses it (480). Ignored once the call is answered or gone.
    pub fn progress(&mut self, now: Instant, key: CallKey, sdp: Vec<u8>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let CallState::Incoming { tx, invite } = &call.state else {
            return;
        };
        let (tx, req) = (tx.clone(), invite.as_ref().clone());
        call.local_sdp = sdp;
        let (transport, remote, tag) = (
            call.dialog.transport,
            call.dialog.remote,
            call.dialog.local_tag.clone(),
        );
        let resp = self.sdp_response(&req, 183, key, (transport, remote, &tag));
        self.respond(now, &tx, resp);
    }

    /// The 183 or 200 to a call's INVITE `req`: its tag, Contact, Record-Route, Allow and
    /// the call's local SDP.
    fn sdp_response(
        &self,
        req: &Request,
        status: u16,
        key: CallKey,
        (transport, remote, tag): (SipTransport, SocketAddr, &str),
    ) -> Response {
        let mut resp = self.response(req, status, remote, Some(tag));
        let contact = self.contact(transport, remote, req.uri.user.as_deref());
        resp.headers.push("Contact", contact);
        for rr in req.headers.get_all("Record-Route") {
            resp.headers.push("Record-Route", rr.to_owned());
        }
        resp.headers.push("Allow", ALLOW);
        resp.headers.push("Content-Type", "application/sdp");
        resp.body = self
            .calls
            .get(&key)
            .map(|c| c.local_sdp.clone())
            .unwrap_or_default();
        resp
    }

    /// Rejects an incoming call with `status` (e.g. 486, 488, 503) and, when given,
    /// `Retry-After`.
    pub fn reject(&mut self, now: Instant, key: CallKey, status: u16, retry_after: Option<u32>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        // The call is removed below: it never leaves this state.
        let ending = CallState::Terminating {
            end: EndReason::HungUp,
        };
        let Some((tx_key, req)) = call.take_invite(ending) else {
            return;
        };
        let (remote, tag) = (call.dialog.remote, call.dialog.local_tag.clone());
        let mut resp = self.response(&req, status.clamp(300, 699), remote, Some(&tag));
        if let Some(r) = retry_after {
            resp.headers.push("Retry-After", r.to_string());
        }
        self.respond(now, &tx_key, resp);
        if let Some(call) = self.calls.remove(&key) {
            self.timers.stop(&TimerRef::Call(key));
            self.dialogs
                .remove(&(call.dialog.call_id, call.dialog.local_tag));
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
                let remote = entry.origin.remote;
                let resp = self.response(&p.request, status.clamp(300, 699), remote, None);
                self.respond(now, &p.tx_key, resp);
                self.send_reoffer(now, key);
            }
        }
    }

    /// Offers `sdp` to the peer in a re-INVITE (e.g. passing hold on from the other call of
    /// a bridge). It goes once no other INVITE transaction is in progress in the dialog
    /// (RFC 3261 §14.1) — a later offer replaces one still waiting — and after a 491 is
    /// tried again at a random time within 2 s. The answer comes as
    /// [`CallEvent::Reoffered`].
    pub fn reoffer(&mut self, now: Instant, key: CallKey, sdp: Vec<u8>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let not_before = call.reoffer.as_ref().and_then(|r| r.not_before);
        call.reoffer = Some(Reoffer { sdp, not_before });
        self.send_reoffer(now, key);
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

    pub(super) fn answer_pending(&mut self, now: Instant, info: &PendingOffer, status: u16) {
        let Some(entry) = self.server.get(&info.tx_key) else {
            return;
        };
        let remote = entry.origin.remote;
        let resp = self.response(&info.request, status.clamp(200, 699), remote, None);
        self.respond(now, &info.tx_key, resp);
    }

    /// Hangs up: BYE with `reason` for an answered call (after the ACK, if it is still
    /// awaited), 480 for one still ringing.
    pub fn hang_up(&mut self, now: Instant, key: CallKey, reason: Reason) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        match &mut call.state {
            CallState::Incoming { .. } => {
                self.reject(now, key, 480, None);
                self.events
                    .push_back(Event::Call(key, CallEvent::Ended(EndReason::HungUp)));
            }
            CallState::Answered { hang_up, .. } if call.pending_2xx.is_some() => {
                *hang_up = Some(reason);
            }
            CallState::Calling {
                hang_up, cancelled, ..
            } => {
                if hang_up.is_none() && !*cancelled {
                    *hang_up = Some(reason);
                    // CANCEL now, or on the first provisional response.
                    self.cancel_invite(now, key);
                }
            }
            CallState::Terminating { .. } => {}
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Peer, SDP, invite, request, to_tag};
    use crate::endpoint::{CallEvent, EndReason, Event, Reason};
    use crate::message::Method;

    #[test]
    fn accept_answers_200_with_the_sdp_once() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi"));
        let key = p.incoming();
        p.sent();
        p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
        let ok = p.responses().pop().expect("the 200 OK");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body, SDP.as_bytes());
        assert!(ok.headers.get("Contact").is_some());
        p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
        p.ua.reject(p.now, key, 486, None);
        assert!(p.sent().is_empty(), "an answered call is answered once");
    }

    #[test]
    fn a_peer_in_the_local_networks_is_given_the_listen_address_not_the_public_one() {
        for (networks, host) in [
            (vec!["127.0.0.2/32"], "127.0.0.1:5060"),
            (vec!["10.0.0.0/8"], "203.0.113.9:5060"),
            (vec![], "203.0.113.9:5060"),
        ] {
            let sip = deflect_config::SipConfig {
                public_address: Some("203.0.113.9".into()),
                local_networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
                ..deflect_config::SipConfig::default()
            };
            let mut p = Peer::with(&sip);
            p.send(&invite("z9hG4bKi"));
            let key = p.incoming();
            p.sent();
            p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
            let ok = p.responses().pop().expect("the 200 OK");
            let contact = ok.headers.get("Contact").unwrap_or_default();
            assert!(
                contact.contains(&format!("@{host}>")),
                "{networks:?}: {contact}"
            );
        }
    }

    #[test]
    fn early_media_is_a_183_with_the_sdp_then_the_200_or_a_480_with_the_same_tag() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi"));
        let key = p.incoming();
        p.sent();
        p.ua.progress(p.now, key, SDP.as_bytes().to_vec());
        let early = p.responses().pop().expect("the 183");
        assert_eq!(early.status, 183);
        assert_eq!(early.body, SDP.as_bytes());
        assert!(early.headers.get("Contact").is_some());
        p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
        let ok = p.responses().pop().expect("the 200 OK");
        assert_eq!(ok.status, 200);
        assert_eq!(to_tag(&ok), to_tag(&early), "one dialog");
        // Refused after its announcement instead.
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKj"));
        let key = p.incoming();
        p.ua.progress(p.now, key, SDP.as_bytes().to_vec());
        p.ua.hang_up(p.now, key, Reason::sip(480, "announcement"));
        assert_eq!(p.statuses(), [100, 183, 480]);
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Ended(EndReason::HungUp))]
        );
    }

    #[test]
    fn reject_sends_the_status_with_retry_after_and_forgets_the_call() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi"));
        let key = p.incoming();
        p.sent();
        p.ua.reject(p.now, key, 503, Some(30));
        let resp = p.responses().pop().expect("a response");
        assert_eq!(resp.status, 503);
        assert_eq!(resp.headers.get("Retry-After"), Some("30"));
        assert_eq!(p.ua.active_calls(), 0);
        assert!(p.events().is_empty(), "the layer above knows: it rejected");
    }

    #[test]
    fn hang_up_while_ringing_sends_480_and_ends_the_call() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi"));
        let key = p.incoming();
        p.sent();
        p.ua.hang_up(p.now, key, Reason::sip(200, "done"));
        assert_eq!(p.statuses(), [480]);
        assert_eq!(
            p.events(),
            [Event::Call(key, CallEvent::Ended(EndReason::HungUp))]
        );
    }

    #[test]
    fn hang_up_before_the_ack_sends_bye_after_it() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi"));
        let key = p.incoming();
        p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
        let tag = to_tag(&p.responses().pop().expect("the 200 OK"));
        p.ua.hang_up(p.now, key, Reason::sip(200, "done"));
        assert!(p.requests().is_empty(), "no BYE before the ACK");
        p.send(&request("ACK", Some(&tag), 1, "z9hG4bKa", ""));
        let bye = p.requests().pop().expect("the BYE");
        assert_eq!(bye.method, Method::Bye);
        assert!(bye.headers.get("Reason").is_some());
    }
}
