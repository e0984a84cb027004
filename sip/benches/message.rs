//! Hot paths of signalling: parsing an INVITE as it arrives from a trunk, and serializing
//! the 200 OK that answers it.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use deflect_sip::message::Message;
use std::hint::black_box;

const INVITE: &[u8] = b"INVITE sip:31201234567@deflect.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---6a3d9c1f;rport\r\n\
Max-Forwards: 69\r\n\
Contact: <sip:+31612345678@192.0.2.10:5060>\r\n\
To: <sip:31201234567@deflect.example.com>\r\n\
From: \"Caller\" <sip:+31612345678@carrier.example.net>;tag=2f3e5c7a\r\n\
Call-ID: 6a3d9c1f8b2e4d5a@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n\
Supported: timer, replaces\r\n\
Session-Expires: 1800\r\n\
P-Asserted-Identity: <sip:+31612345678@carrier.example.net>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 131\r\n\
\r\n\
v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn parse(c: &mut Criterion) {
    c.bench_function("parse INVITE", |b| {
        b.iter(|| Message::parse(black_box(INVITE), true).unwrap())
    });
    let Message::Request(req) = Message::parse(INVITE, true).unwrap() else {
        unreachable!("an INVITE")
    };
    c.bench_function("serialize INVITE", |b| {
        b.iter(|| black_box(&req).to_bytes())
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
