//! The endpoint's side of trunk health ([`crate::health`]): one [`Probe`] per configured
//! trunk server, whose OPTIONS go out in client transactions when due; each outcome sets
//! `deflect_sip_trunk_up{trunk,address}` and a change is reported as
//! [`Event::TrunkHealth`].

use super::{ALLOW, Endpoint, Event, Purpose, TimerRef};
use crate::health::{Probe, Target};
use crate::message::{Method, Request, Uri};
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::Instant;

impl Endpoint {
    /// Starts probing a trunk server with OPTIONS every `target.interval`, the first now.
    pub fn probe(&mut self, now: Instant, target: Target) {
        let i = self.probes.len();
        self.probes.push(Probe::new(target, now));
        self.probe_timer(now, i);
    }

    /// Sends probe `i`'s OPTIONS when due; re-arms its deadline.
    pub(super) fn probe_timer(&mut self, now: Instant, i: usize) {
        let Some(probe) = self.probes.get_mut(i) else {
            return;
        };
        if probe.poll_send(now) {
            let (transport, remote) = probe.destination();
            let uri = probe.uri().clone();
            let req = self.options_request(uri, transport, remote);
            self.start_client_to(now, transport, remote, req, Purpose::Probe(i));
        }
        let at = self.probes[i].next_deadline();
        self.arm(at, TimerRef::Probe(i));
    }

    /// Probe `i` got a final response with `status`, or none (`None`).
    pub(super) fn probe_ended(&mut self, now: Instant, i: usize, status: Option<u16>) {
        let Some(probe) = self.probes.get_mut(i) else {
            return;
        };
        let changed = probe.ended(now, status);
        let (trunk, address) = (probe.trunk().to_owned(), probe.address().to_owned());
        let up = probe.is_up() == Some(true);
        let result = match status {
            Some(s) if s < 500 => "answered",
            Some(_) => "failed",
            None => "timeout",
        };
        metrics::counter!("deflect_sip_trunk_probes_total", "trunk" => trunk.clone(), "result" => result)
            .increment(1);
        metrics::gauge!("deflect_sip_trunk_up", "trunk" => trunk.clone(), "address" => address.clone())
            .set(if up { 1.0 } else { 0.0 });
        if let Some(up) = changed {
            self.events.push_back(Event::TrunkHealth {
                trunk,
                address,
                up,
                status: status.unwrap_or(408),
            });
        }
        let at = self.probes[i].next_deadline();
        self.arm(at, TimerRef::Probe(i));
    }

    /// An OPTIONS outside any dialog to `uri`.
    fn options_request(
        &mut self,
        uri: Uri,
        transport: SipTransport,
        remote: SocketAddr,
    ) -> Request {
        let host = self.advertised(transport, remote);
        let (tag, call_id, branch) = (self.token(), self.token(), self.branch());
        let mut to = uri.clone();
        to.params = Default::default();
        let mut req = Request::new(Method::Options, uri);
        req.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {host};branch={branch};rport",
                transport.via_name()
            ),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("<sip:deflect@{host}>;tag={tag}"));
        req.headers.push("To", format!("<{to}>"));
        req.headers.push("Call-ID", format!("{call_id}@deflect"));
        req.headers.push("CSeq", "1 OPTIONS");
        req.headers
            .push("Contact", self.contact(transport, remote, None));
        req.headers.push("Accept", "application/sdp");
        req.headers.push("Allow", ALLOW);
        req.headers
            .push("User-Agent", self.config.user_agent.clone());
        req
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{PEER, Peer, addr};
    use crate::endpoint::Event;
    use crate::health::Target;
    use crate::message::{Message, Method, Uri};
    use deflect_config::SipTransport;
    use std::time::Duration;

    fn health(p: &mut Peer) -> Vec<(bool, u16)> {
        p.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::TrunkHealth { up, status, .. } => Some((up, status)),
                _ => None,
            })
            .collect()
    }

    /// Answers the OPTIONS deflect just sent with `status`; returns whether one was sent.
    fn answer(p: &mut Peer, status: u16) -> bool {
        let Some(Message::Request(req)) = p.sent().pop() else {
            return false;
        };
        assert_eq!(req.method, Method::Options);
        assert!(req.headers.get("Accept").is_some());
        p.send(&super::super::testing::response_to(&req, status, "sbc", ""));
        true
    }

    #[test]
    fn a_server_is_up_while_it_answers_and_down_when_it_stops_or_fails() {
        let mut p = Peer::new();
        let every = Duration::from_secs(30);
        let target = Target {
            trunk: "carrier".into(),
            address: "sip:sbc".into(),
            uri: Uri::parse(&format!("sip:{PEER}")).unwrap(),
            transport: SipTransport::Udp,
            remote: addr(PEER),
            interval: every,
        };
        p.ua.probe(p.now, target);
        assert!(answer(&mut p, 200));
        assert_eq!(health(&mut p), [(true, 200)]);
        // The next one, an interval later; 405 still means it is there.
        p.advance(Duration::from_secs(29));
        assert!(p.sent().is_empty());
        p.advance(Duration::from_secs(1));
        assert!(answer(&mut p, 405));
        assert!(health(&mut p).is_empty(), "no change");
        // Silence: down once the transaction times out (64·T1), with retransmissions.
        p.advance(every);
        let sent = p.sent().len();
        p.advance(Duration::from_secs(32));
        assert!(p.sent().len() > sent, "retransmitted over UDP");
        assert_eq!(health(&mut p), [(false, 408)]);
        // Back, then overloaded.
        p.advance(every);
        assert!(answer(&mut p, 200));
        assert_eq!(health(&mut p), [(true, 200)]);
        p.advance(every);
        assert!(answer(&mut p, 503));
        assert_eq!(health(&mut p), [(false, 503)]);
    }
}
