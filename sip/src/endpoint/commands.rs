//! What the layer above decides about a call: accept or reject it, answer an offer or an
//! INFO, hang up, send INFO.

use super::*;

impl Endpoint {
    /// Answers an incoming call with 200 OK carrying `sdp` (the SDP answer, or an offer
    /// when the INVITE had none). Ignored when the call is gone (cancelled).
    pub fn accept(&mut self, now: Instant, key: CallKey, sdp: Vec<u8>) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let Some((tx_key, req)) = call.take_invite(CallState::Answered { hang_up: None }) else {
            return;
        };
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
        // The call is removed below: it never leaves this state.
        let ending = CallState::Terminating {
            end: EndReason::HungUp,
        };
        let Some((tx_key, req)) = call.take_invite(ending) else {
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

    pub(super) fn answer_pending(&mut self, now: Instant, info: &PendingOffer, status: u16) {
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
        match &mut call.state {
            CallState::Incoming { .. } => {
                self.reject(now, key, 480, None);
                self.events
                    .push_back(Event::Call(key, CallEvent::Ended(EndReason::HungUp)));
            }
            CallState::Answered { hang_up } if call.pending_2xx.is_some() => {
                *hang_up = Some(reason);
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
