//! The SIP targets: the message parser, typed headers, stream framing and the whole user
//! agent ([`deflect_sip`]).

use deflect_config::{SipConfig, SipTransport, TrunkConfig};
use deflect_sip::auth::DigestParams;
use deflect_sip::endpoint::{CallEvent, Endpoint, EndpointConfig, Event, Reason};
use deflect_sip::message::{CSeq, Message, NameAddr, SessionExpires, Uri, Via, frame};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// `message`: the parser on arbitrary bytes, as a datagram and as a framed stream message.
/// Whatever parses serializes into a message that parses again, with the same start line
/// and body.
pub fn message(data: &[u8]) {
    for datagram in [true, false] {
        let Ok(m) = Message::parse(data, datagram) else {
            continue;
        };
        let bytes = serialize(&m);
        let again = Message::parse(&bytes, false)
            .unwrap_or_else(|e| panic!("a parsed message serialized does not parse: {e:?}"));
        match (&m, &again) {
            (Message::Request(a), Message::Request(b)) => {
                assert_eq!(a.method, b.method);
                assert_eq!(a.uri, b.uri);
                assert_eq!(a.body, b.body);
            }
            (Message::Response(a), Message::Response(b)) => {
                assert_eq!(a.status, b.status);
                assert_eq!(a.body, b.body);
            }
            _ => panic!("a request became a response or the other way round"),
        }
    }
}

fn serialize(m: &Message) -> Vec<u8> {
    match m {
        Message::Request(r) => r.to_bytes(),
        Message::Response(r) => r.to_bytes(),
    }
}

/// `headers`: the typed header and URI parsers, and the digest parameter parser, on
/// arbitrary text; what parses prints into something that parses again.
pub fn headers(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uri::parse(s) {
        Uri::parse(&u.to_string()).expect("a printed URI parses");
    }
    if let Ok(n) = NameAddr::parse(s) {
        NameAddr::parse(&n.to_string()).expect("a printed name-addr parses");
    }
    if let Ok(v) = Via::parse(s) {
        Via::parse(&v.to_string()).expect("a printed Via parses");
    }
    let _ = CSeq::parse(s);
    let _ = SessionExpires::parse(s);
    let _ = DigestParams::parse(s);
}

/// `stream_frame`: stream framing by Content-Length; a frame never exceeds the input, and
/// the framed bytes parse as a stream message or fail cleanly.
pub fn stream_frame(data: &[u8]) {
    if let Ok(Some(n)) = frame(data) {
        assert!(n <= data.len(), "frame {n} beyond {} bytes", data.len());
        let _ = Message::parse(&data[..n], false);
    }
}

/// The trunk whose sources are let in (loopback, as in the default configuration).
const ALLOWED: &str = "127.0.0.2:5060";
/// A source on no trunk: challenged for the digest trunk's credentials.
const STRANGER: &str = "192.0.2.1:5060";

/// Control bytes at the start of an `endpoint` chunk (never the first byte of a SIP message:
/// they are not UTF-8 on their own).
mod control {
    /// The chunk comes from the stranger.
    pub const STRANGER: u8 = 0xFE;
    /// The chunk comes over TCP.
    pub const TCP: u8 = 0xFD;
    /// 32 s pass before the chunk (timers fire).
    pub const LATER: u8 = 0xFC;
    /// deflect hangs up every call before the chunk.
    pub const HANG_UP: u8 = 0xFB;
}

/// `endpoint`: the whole user agent on a conversation. The input is split at 0xFF into
/// messages, each from the allowed peer over UDP 20 ms after the last, unless it starts
/// with control bytes (see [`control`]). Calls are accepted, re-offers answered (every
/// other one refused with 488), INFOs answered 200. Nothing panics, and every message
/// deflect sends parses (but a 400 or 505, which echoes a malformed request's headers).
pub fn endpoint(data: &[u8]) {
    let t0 = Instant::now();
    let local: SocketAddr = "127.0.0.1:5060".parse().expect("literal address");
    let mut sip = SipConfig::default();
    sip.trunks.push(TrunkConfig {
        name: "digest".into(),
        username: Some("alice".into()),
        password: Some(deflect_config::Secret::new("secret")),
        ..TrunkConfig::default()
    });
    let config = EndpointConfig::new(
        &sip,
        &[(SipTransport::Udp, local), (SipTransport::Tcp, local)],
        1,
    );
    let mut ua = Endpoint::new(config, t0);
    let mut now = t0;
    let mut offers = 0u64;
    for chunk in data.split(|b| *b == 0xFF) {
        let (mut from, mut transport) = (ALLOWED, SipTransport::Udp);
        let mut chunk = chunk;
        now += Duration::from_millis(20);
        while let Some((&c, rest)) = chunk.split_first() {
            match c {
                control::STRANGER => from = STRANGER,
                control::TCP => transport = SipTransport::Tcp,
                control::LATER => now += Duration::from_secs(32),
                control::HANG_UP => {
                    for key in ua.call_keys() {
                        ua.hang_up(now, key, Reason::q850(16, "fuzz"));
                    }
                }
                _ => break,
            }
            chunk = rest;
        }
        ua.handle_timeout(now);
        ua.handle_message(
            now,
            transport,
            from.parse().expect("literal address"),
            chunk,
        );
        drive(&mut ua, now, &mut offers);
    }
    for later in [1, 32, 64] {
        let t = now + Duration::from_secs(later);
        ua.handle_timeout(t);
        drive(&mut ua, t, &mut offers);
    }
}

fn drive(ua: &mut Endpoint, now: Instant, offers: &mut u64) {
    loop {
        let mut busy = false;
        while let Some(e) = ua.poll_event() {
            busy = true;
            match e {
                Event::Incoming(c) => ua.accept(now, c.key, SDP.to_vec()),
                Event::Call(key, CallEvent::Offer { offer, .. }) => {
                    *offers += 1;
                    let answer = if offers.is_multiple_of(2) {
                        Err(488)
                    } else {
                        Ok(SDP.to_vec())
                    };
                    ua.answer_offer(now, key, offer, answer);
                }
                Event::Call(key, CallEvent::Info { request, .. }) => {
                    ua.answer_info(now, key, request, 200);
                }
                _ => {}
            }
        }
        while let Some(t) = ua.poll_transmit() {
            busy = true;
            // A 400 or 505 answers a request that did not parse, echoing its headers
            // (RFC 4475 §3.1.2): those may not parse either.
            let echo = t.data.starts_with(b"SIP/2.0 400 ") || t.data.starts_with(b"SIP/2.0 505 ");
            if let Err(e) = Message::parse(&t.data, true)
                && !echo
            {
                panic!(
                    "deflect sent a message it cannot parse ({:?}):\n{}",
                    e.error,
                    String::from_utf8_lossy(&t.data)
                );
            }
        }
        if !busy {
            break;
        }
    }
}

const SDP: &[u8] = b"v=0\r\no=deflect 1 1 IN IP4 127.0.0.1\r\ns=deflect\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
