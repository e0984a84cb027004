//! Malformed requests that can be answered get 400 (RFC 3261 §8.2, §21.4.1): a request
//! whose Via is intact but that lacks Call-ID, CSeq, From or To, or carries octets that
//! are not UTF-8 in a display name. The answer goes back on the Via, carries whatever of
//! From, To, Call-ID and CSeq the request had, and names the problem in a Warning. ACKs
//! and requests without a usable Via are never answered.

#![allow(clippy::unwrap_used)]

use deflect_config::{SipConfig, SipTransport};
use deflect_sip::endpoint::{Endpoint, EndpointConfig};
use std::net::SocketAddr;
use std::time::Instant;

const FROM: &str = "127.0.0.2:5070";

fn answers(request: &[u8]) -> Vec<(SocketAddr, String)> {
    let now = Instant::now();
    let local = "127.0.0.1:5060".parse().unwrap();
    let config = EndpointConfig::new(&SipConfig::default(), &[(SipTransport::Udp, local)], 1);
    let mut ua = Endpoint::new(config, now);
    ua.handle_message(now, SipTransport::Udp, FROM.parse().unwrap(), request);
    std::iter::from_fn(|| ua.poll_transmit())
        .map(|t| (t.remote, String::from_utf8(t.data).unwrap()))
        .collect()
}

const INVITE: &str = "INVITE sip:1000@127.0.0.1:5060 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKbad1;rport\r\n\
    From: \"Caller\" <sip:c@127.0.0.2>;tag=f1\r\n\
    To: <sip:1000@127.0.0.1>\r\n\
    Call-ID: bad1@127.0.0.2\r\n\
    CSeq: 1 INVITE\r\n\
    Max-Forwards: 70\r\n\
    Content-Length: 0\r\n\r\n";

fn only_400(request: &[u8], warning: &str) -> String {
    let out = answers(request);
    assert_eq!(out.len(), 1, "{out:?}");
    let (to, resp) = &out[0];
    assert_eq!(to.to_string(), FROM);
    assert!(resp.starts_with("SIP/2.0 400 Bad Request\r\n"), "{resp}");
    assert!(
        resp.contains("Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKbad1;rport=5070"),
        "{resp}"
    );
    assert!(
        resp.contains(&format!("Warning: 399 deflect \"malformed: {warning}\"")),
        "{resp}"
    );
    resp.clone()
}

#[test]
fn missing_call_id_cseq_from_or_to_get_400_with_what_there_is() {
    for (line, warning) in [
        ("Call-ID: bad1@127.0.0.2\r\n", "Call-ID is missing"),
        ("CSeq: 1 INVITE\r\n", "CSeq is missing"),
        (
            "From: \"Caller\" <sip:c@127.0.0.2>;tag=f1\r\n",
            "From is missing",
        ),
        ("To: <sip:1000@127.0.0.1>\r\n", "To is missing"),
    ] {
        let resp = only_400(INVITE.replace(line, "").as_bytes(), warning);
        assert!(!resp.contains(line), "{resp}");
        for kept in ["Call-ID: ", "CSeq: ", "From: ", "To: "] {
            if !line.starts_with(kept) {
                assert!(resp.contains(kept), "{warning}: {resp}");
            }
        }
    }
}

#[test]
fn a_display_name_that_is_not_utf8_gets_400() {
    let mut bad = INVITE.as_bytes().to_vec();
    let at = INVITE.find("Caller").unwrap();
    bad.splice(at..at + 6, *b"Ca\xffler");
    let resp = only_400(&bad, "header section is not UTF-8");
    // The tag and Call-ID the caller matches on are intact.
    assert!(resp.contains(";tag=f1\r\n") && resp.contains("Call-ID: bad1@127.0.0.2\r\n"));
}

#[test]
fn acks_and_requests_without_a_via_are_not_answered() {
    let ack = INVITE
        .replace("INVITE sip:", "ACK sip:")
        .replace("CSeq: 1 INVITE\r\n", "");
    assert!(answers(ack.as_bytes()).is_empty());
    let no_via = INVITE
        .replace(
            "Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bKbad1;rport\r\n",
            "",
        )
        .replace("Call-ID: bad1@127.0.0.2\r\n", "");
    assert!(answers(no_via.as_bytes()).is_empty());
    let broken_via = INVITE
        .replace("SIP/2.0/UDP 127.0.0.2:5070", "SIP/2.0/UDP")
        .replace("Call-ID: bad1@127.0.0.2\r\n", "");
    assert!(answers(broken_via.as_bytes()).is_empty());
}
