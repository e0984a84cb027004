//! A scripted peer for the endpoint's unit tests: it sends messages written as text from
//! one address and reads what the endpoint sends back, on a virtual clock.

use super::{CallKey, Endpoint, EndpointConfig, Event};
use crate::message::{Message, Request, Response};
use deflect_config::{SipConfig, SipTransport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// deflect's address.
pub(super) const UA: &str = "127.0.0.1:5060";
/// The peer's address.
pub(super) const PEER: &str = "127.0.0.2:5070";
/// An SDP body (SIP does not look inside).
pub(super) const SDP: &str = "v=0\r\n";

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

pub(super) struct Peer {
    pub(super) ua: Endpoint,
    pub(super) now: Instant,
}

impl Peer {
    pub(super) fn new() -> Self {
        Self::with(&SipConfig::default())
    }

    /// A peer of an endpoint configured by `sip` (its listener is [`UA`] whatever it says).
    pub(super) fn with(sip: &SipConfig) -> Self {
        let config = EndpointConfig::new(sip, &[(SipTransport::Udp, addr(UA))], 7);
        let now = Instant::now();
        Self {
            ua: Endpoint::new(config, now),
            now,
        }
    }

    /// Sends `text` (lines ending in `\n`) from [`PEER`].
    pub(super) fn send(&mut self, text: &str) {
        let bytes = text.replace("\r\n", "\n").replace('\n', "\r\n");
        self.ua
            .handle_message(self.now, SipTransport::Udp, addr(PEER), bytes.as_bytes());
    }

    /// Everything the endpoint sent since the last call, parsed.
    pub(super) fn sent(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .map(|t| Message::parse(&t.data, true).expect("deflect sends valid messages"))
            .collect()
    }

    /// The responses sent since the last call.
    pub(super) fn responses(&mut self) -> Vec<Response> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    /// The statuses of the responses sent since the last call.
    pub(super) fn statuses(&mut self) -> Vec<u16> {
        self.responses().iter().map(|r| r.status).collect()
    }

    /// The requests sent since the last call.
    pub(super) fn requests(&mut self) -> Vec<Request> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                Message::Response(_) => None,
            })
            .collect()
    }

    pub(super) fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    /// The key of the call just offered (the only event expected).
    pub(super) fn incoming(&mut self) -> CallKey {
        match self.events().as_slice() {
            [Event::Incoming(call)] => call.key,
            other => panic!("expected one incoming call, got {other:?}"),
        }
    }

    /// Moves the clock by `d`, running every deadline on the way.
    pub(super) fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(at) = self.ua.poll_timeout().filter(|at| *at <= until) {
            self.now = at.max(self.now);
            self.ua.handle_timeout(self.now);
        }
        self.now = until;
    }
}

/// A request from [`PEER`] in the Call-ID `c1`; `to_tag` puts it in a dialog, `extra` are
/// more header lines, each ending in `\n`.
pub(super) fn request(
    method: &str,
    to_tag: Option<&str>,
    cseq: u32,
    branch: &str,
    extra: &str,
) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "{method} sip:1000@{UA} SIP/2.0\nVia: SIP/2.0/UDP {PEER};branch={branch};rport\n\
         From: <sip:c@{PEER}>;tag=caller\nTo: <sip:1000@{UA}>{to_tag}\nCall-ID: c1\n\
         CSeq: {cseq} {method}\nContact: <sip:c@{PEER}>\nMax-Forwards: 70\n{extra}\
         Content-Length: 0\n\n"
    )
}

/// An INVITE from [`PEER`] offering [`SDP`].
pub(super) fn invite(branch: &str) -> String {
    request("INVITE", None, 1, branch, "Content-Type: application/sdp\n").replace(
        "Content-Length: 0\n\n",
        &format!("Content-Length: {}\n\n{SDP}", SDP.len()),
    )
}

/// The To tag deflect put in `resp`.
pub(super) fn to_tag(resp: &Response) -> String {
    resp.to()
        .and_then(|t| t.tag().map(str::to_owned))
        .expect("a To tag")
}

/// A response from [`PEER`] to deflect's `req` with `status`, deflect's To tag `to_tag`
/// and `extra` header lines.
pub(super) fn response_to(req: &Request, status: u16, to_tag: &str, extra: &str) -> String {
    let mut text = format!("SIP/2.0 {status} Whatever\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        for v in req.headers.get_all(name) {
            text.push_str(&format!("{name}: {v}\n"));
        }
    }
    let to = req.headers.get("To").unwrap_or_default();
    text.push_str(&format!(
        "To: {to};tag={to_tag}\n{extra}Content-Length: 0\n\n"
    ));
    text
}

/// A call from [`PEER`] answered with [`SDP`] and confirmed by the ACK: its key and
/// deflect's tag.
pub(super) fn confirmed(p: &mut Peer) -> (CallKey, String) {
    p.send(&invite("z9hG4bKinv"));
    let key = p.incoming();
    p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
    let ok = p.responses().pop().expect("the 200 OK");
    assert_eq!(ok.status, 200);
    let tag = to_tag(&ok);
    p.send(&request("ACK", Some(&tag), 1, "z9hG4bKack", ""));
    assert!(p.sent().is_empty());
    (key, tag)
}
