//! The typed header and URI parsers, and the digest parameter parser, on arbitrary text.
#![no_main]
use deflect_sip::auth::DigestParams;
use deflect_sip::message::{CSeq, NameAddr, SessionExpires, Uri, Via};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = Uri::parse(s) {
        let _ = Uri::parse(&u.to_string());
    }
    if let Ok(n) = NameAddr::parse(s) {
        let _ = NameAddr::parse(&n.to_string());
    }
    if let Ok(v) = Via::parse(s) {
        let _ = Via::parse(&v.to_string());
    }
    let _ = CSeq::parse(s);
    let _ = SessionExpires::parse(s);
    let _ = DigestParams::parse(s);
});
