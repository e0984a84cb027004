//! New requests from outside a dialog (RFC 3261 §8.2, §13.3): which trunk sent them
//! ([`crate::admission`] decides), a new INVITE's checks and the call it offers to the layer
//! above, and CANCEL (§9.2).

use super::{
    Call, CallKey, CallState, Dialog, EndReason, Endpoint, Event, IncomingCall, Origin,
    count_response,
};
use crate::admission::{Decision, Refusal};
use crate::message::{Method, NameAddr, Request, Via};
use crate::session_timer;
use crate::session_timer::SessionTimer;
use crate::transaction::{ServerKey, ServerState};
use deflect_config::UnauthorizedAction;
use std::time::Instant;
use tracing::debug;

impl Endpoint {
    /// Which trunk a request comes from; answers 401/403 (or nothing) when none
    /// ([`crate::admission`] decides). Those answers are stateless (RFC 3261 §8.2.7): a
    /// flood of unauthenticated requests leaves no transactions behind, and a
    /// retransmission simply gets a new answer.
    pub(super) fn authorize(
        &mut self,
        now: Instant,
        origin: Origin,
        req: &Request,
    ) -> Option<usize> {
        let Origin { transport, remote } = origin;
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

    pub(super) fn handle_invite(
        &mut self,
        now: Instant,
        origin: Origin,
        req: Request,
        key: ServerKey,
        trunk: usize,
    ) {
        let Origin { transport, remote } = origin;
        let reject = |this: &mut Self, req: &Request, status: u16, extra: &[(&str, String)]| {
            let tag = this.token();
            let mut resp = this.response(req, status, remote, Some(&tag));
            for (n, v) in extra {
                resp.headers.push(n, v.clone());
            }
            this.respond_new(now, origin, key.clone(), None, true, resp);
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
        self.open_server(now, origin, &key, &req, Some(call_key));

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
            srtp: trunk_cfg.srtp,
            idle_media: trunk_cfg.idle_media,
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
        let call_id = req.call_id().to_owned();
        let call = Call {
            dialog: Dialog {
                call_id,
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
            },
            local_sdp: Vec::new(),
            pending_2xx: None,
            pending_offer: None,
            pending_infos: Vec::new(),
            our_reinvite: false,
            reoffer: None,
            transfer: None,
            // Started by the 2xx.
            session: Some(SessionTimer::start(
                now,
                session.interval,
                session.uas_refreshes(),
            )),
            state: CallState::Incoming {
                tx: key,
                invite: Box::new(req),
            },
        };
        self.dialogs
            .insert((call.dialog.call_id.clone(), local_tag), call_key);
        self.calls.insert(call_key, call);
        metrics::gauge!("deflect_sip_active_calls").set(self.calls.len() as f64);
        self.events.push_back(Event::Incoming(Box::new(incoming)));
    }

    pub(super) fn handle_cancel(&mut self, now: Instant, origin: Origin, req: Request, via: &Via) {
        let remote = origin.remote;
        let key = ServerKey::of(&req, via);
        let invite_key = key.with_method(Method::Invite);
        let Some(entry) = self.server.get(&invite_key) else {
            self.reply(now, origin, key, &req, 481, &[]);
            return;
        };
        let call_key = entry.call;
        let proceeding = entry.tx.state == ServerState::Proceeding;
        let tag = call_key
            .and_then(|k| self.calls.get(&k))
            .map(|c| c.dialog.local_tag.clone());
        let ok = self.response(&req, 200, remote, tag.as_deref());
        self.respond_new(now, origin, key, None, false, ok);
        if !proceeding {
            return; // already answered: the 200 to CANCEL is all (§9.2)
        }
        if let Some(call_key) = call_key
            && let Some(call) = self.calls.get(&call_key)
            && let CallState::Incoming { invite, .. } = &call.state
        {
            let resp = self.response(invite, 487, remote, tag.as_deref());
            self.respond(now, &invite_key, resp);
            self.end_call(now, call_key, EndReason::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{PEER, Peer, SDP, addr, invite, request};
    use crate::endpoint::Event;

    #[test]
    fn an_invite_offers_the_call_with_who_calls_and_the_offer() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi1"));
        let events = p.events();
        let [Event::Incoming(call)] = events.as_slice() else {
            panic!("one incoming call: {events:?}");
        };
        assert_eq!(call.call_id, "c1");
        assert_eq!(call.from_user().as_deref(), Some("c"));
        assert_eq!(call.request_user().as_deref(), Some("1000"));
        assert_eq!(call.source, addr(PEER));
        assert_eq!(call.offer.as_deref(), Some(SDP.as_bytes()));
        assert_eq!(p.ua.active_calls(), 1);
    }

    #[test]
    fn a_require_deflect_does_not_support_gets_420_naming_it() {
        let mut p = Peer::new();
        p.send(&request(
            "OPTIONS",
            None,
            1,
            "z9hG4bKo",
            "Require: foo, timer\n",
        ));
        let resp = p.responses().pop().expect("a response");
        assert_eq!(resp.status, 420);
        assert_eq!(resp.headers.get("Unsupported"), Some("foo"));
    }

    #[test]
    fn an_invite_whose_body_is_not_sdp_gets_415_and_offers_no_call() {
        let mut p = Peer::new();
        let text = request("INVITE", None, 1, "z9hG4bKi", "Content-Type: text/plain\n")
            .replace("Content-Length: 0\n\n", "Content-Length: 2\n\nhi");
        p.send(&text);
        let resp = p.responses().pop().expect("a response");
        assert_eq!(resp.status, 415);
        assert_eq!(resp.headers.get("Accept"), Some("application/sdp"));
        assert!(p.events().is_empty());
        assert_eq!(p.ua.active_calls(), 0);
    }

    #[test]
    fn register_gets_405_and_cancel_for_no_invite_481() {
        let mut p = Peer::new();
        p.send(&request("REGISTER", None, 1, "z9hG4bKr", ""));
        let resp = p.responses().pop().expect("a response");
        assert_eq!(resp.status, 405);
        assert!(
            resp.headers
                .get("Allow")
                .is_some_and(|a| a.contains("INVITE"))
        );
        p.send(&request("CANCEL", None, 1, "z9hG4bKnone", ""));
        assert_eq!(p.statuses(), [481]);
    }
}
