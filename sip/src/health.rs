//! Trunk health: each of a trunk's own servers (`[[sip.trunks]] addresses`) probed with
//! OPTIONS at an interval, as carriers' SBCs and Kamailio's dispatcher do. A probe answered
//! with a status below 500 means the server is up (even 404 or 405: it is there and
//! speaking SIP); 5xx, 6xx, or no answer within the transaction's timeout (Timer F, with
//! its retransmissions) means down. The next probe goes `interval` after the last one
//! ended, so a slow server is never probed twice at once.
//!
//! Sans-IO: [`Probe`] only says when it is due and what a result changes; the endpoint
//! sends the OPTIONS and reports the outcome.

use crate::message::Uri;
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A trunk server to probe.
#[derive(Clone, Debug)]
pub struct Target {
    /// The trunk's name.
    pub trunk: String,
    /// The server's address as configured (a metrics label).
    pub address: String,
    /// Its SIP URI (the OPTIONS Request-URI).
    pub uri: Uri,
    /// The transport it is reached over, resolved from `uri`.
    pub transport: SipTransport,
    /// Its address, resolved from `uri`.
    pub remote: SocketAddr,
    /// Time between the end of one probe and the next.
    pub interval: Duration,
}

/// One server of a trunk, probed with OPTIONS.
#[derive(Clone, Debug)]
pub struct Probe {
    target: Target,
    /// When the next OPTIONS goes; `None` while one is out.
    next: Option<Instant>,
    /// Up or down once a probe ended; `None` before.
    up: Option<bool>,
}

impl Probe {
    /// A probe of `target`, due at once.
    pub fn new(target: Target, now: Instant) -> Self {
        Self {
            target,
            next: Some(now),
            up: None,
        }
    }

    /// The trunk's name.
    pub fn trunk(&self) -> &str {
        &self.target.trunk
    }

    /// The address as configured.
    pub fn address(&self) -> &str {
        &self.target.address
    }

    /// The OPTIONS Request-URI.
    pub fn uri(&self) -> &Uri {
        &self.target.uri
    }

    /// Where the OPTIONS goes.
    pub fn destination(&self) -> (SipTransport, SocketAddr) {
        (self.target.transport, self.target.remote)
    }

    /// Whether the server answered its last probe; `None` before the first one ended.
    pub fn is_up(&self) -> Option<bool> {
        self.up
    }

    /// When the next OPTIONS is due; `None` while one is out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next
    }

    /// Whether an OPTIONS is due at `now`; if so, it counts as sent.
    pub fn poll_send(&mut self, now: Instant) -> bool {
        if self.next.is_some_and(|at| at <= now) {
            self.next = None;
            true
        } else {
            false
        }
    }

    /// The probe ended: `Some(status)` for a final response, `None` when none came. Returns
    /// the new state when it changed (or is known for the first time).
    pub fn ended(&mut self, now: Instant, status: Option<u16>) -> Option<bool> {
        self.next = Some(now + self.target.interval);
        let up = status.is_some_and(|s| s < 500);
        let changed = self.up != Some(up);
        self.up = Some(up);
        changed.then_some(up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(now: Instant) -> Probe {
        let target = Target {
            trunk: "carrier".into(),
            address: "sip:sbc1.carrier.example".into(),
            uri: Uri::parse("sip:sbc1.carrier.example").unwrap(),
            transport: SipTransport::Udp,
            remote: "192.0.2.10:5060".parse().unwrap(),
            interval: Duration::from_secs(30),
        };
        Probe::new(target, now)
    }

    #[test]
    fn a_probe_is_due_at_once_then_an_interval_after_each_one_ends() {
        let t0 = Instant::now();
        let mut p = probe(t0);
        assert!(p.poll_send(t0));
        assert!(!p.poll_send(t0 + Duration::from_secs(60)), "one at a time");
        assert_eq!(p.next_deadline(), None);
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(p.ended(t1, Some(200)), Some(true));
        assert_eq!(p.next_deadline(), Some(t1 + Duration::from_secs(30)));
        assert!(!p.poll_send(t1 + Duration::from_secs(29)));
        assert!(p.poll_send(t1 + Duration::from_secs(30)));
    }

    #[test]
    fn any_answer_below_500_is_up_and_5xx_or_silence_is_down_reported_on_change() {
        let t0 = Instant::now();
        let mut p = probe(t0);
        assert_eq!(p.is_up(), None);
        assert_eq!(
            p.ended(t0, Some(404)),
            Some(true),
            "there, and speaking SIP"
        );
        assert_eq!(p.ended(t0, Some(200)), None, "no change");
        assert_eq!(p.ended(t0, None), Some(false), "no answer");
        assert_eq!(p.ended(t0, Some(503)), None, "still down");
        assert_eq!(p.is_up(), Some(false));
        assert_eq!(p.ended(t0, Some(200)), Some(true));
        let mut p = probe(t0);
        assert_eq!(p.ended(t0, Some(503)), Some(false), "first known state");
    }
}
