//! RFC 4475 "SIP Torture Test Messages" through the parser: every message in §3.1.1 (valid)
//! parses, every message in §3.1.2 (invalid) is rejected, and none panics. What the user
//! agent answers to each one (including the application-level cases of §3.3) is checked in
//! `rfc4475_answers.rs`.

#![allow(clippy::unwrap_used)]

use deflect_sip::message::{Message, ParseError};
use std::path::Path;

fn fixtures(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc4475")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_valid_message_parses() {
    let all = fixtures("valid");
    assert_eq!(all.len(), 13);
    for (name, bytes) in all {
        if let Err(e) = Message::parse(&bytes, true) {
            panic!("{name}: {e:?}");
        }
    }
}

#[test]
fn every_invalid_message_is_rejected() {
    let all = fixtures("invalid");
    assert_eq!(all.len(), 19);
    for (name, bytes) in all {
        match Message::parse(&bytes, true) {
            Ok(m) => panic!("{name} was accepted: {m:?}"),
            Err(e) if name == "badvers" => assert_eq!(e.error, ParseError::Version),
            Err(_) => {}
        }
    }
}

#[test]
fn application_level_cases_parse_except_where_the_syntax_is_wrong() {
    for (name, bytes) in fixtures("semantic") {
        let parsed = Message::parse(&bytes, true);
        match name.as_str() {
            // Missing required headers and repeated single-valued ones are syntax errors.
            "insuf" | "multi01" | "mcl01" => assert!(parsed.is_err(), "{name}"),
            _ => assert!(parsed.is_ok(), "{name}: {parsed:?}"),
        }
    }
}

#[test]
fn no_prefix_or_mutation_of_any_fixture_panics() {
    for dir in ["valid", "invalid", "semantic"] {
        for (_, bytes) in fixtures(dir) {
            for cut in (0..bytes.len()).step_by(7) {
                let _ = Message::parse(&bytes[..cut], true);
                let _ = deflect_sip::message::frame(&bytes[..cut]);
                let mut flipped = bytes.clone();
                flipped[cut] ^= 0x20;
                let _ = Message::parse(&flipped, false);
            }
        }
    }
}

#[test]
fn details_of_the_tortuous_invite_survive() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475/valid/wsinv.sip"),
    )
    .unwrap();
    let Message::Request(r) = Message::parse(&bytes, true).unwrap() else {
        panic!()
    };
    assert_eq!(r.uri.params.0[0].name, "unknownparam");
    assert_eq!(r.to().unwrap().tag(), Some("1918181833n"));
    assert_eq!(
        r.from().unwrap().display.as_deref(),
        Some("J Rosenberg \\\"")
    );
    assert_eq!(r.cseq().unwrap().seq, 9);
    assert_eq!(r.headers.get("Max-Forwards"), Some("0068"));
    assert_eq!(r.headers.list("Via").count(), 3);
    assert_eq!(
        r.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(r.headers.get("Subject"), Some(""));
    assert_eq!(r.body.len(), 150);
    let contact = deflect_sip::message::NameAddr::parse(r.headers.get("Contact").unwrap()).unwrap();
    assert_eq!(contact.params.get("q"), Some("0.33"));
    assert_eq!(contact.params.get("newparam"), Some("newvalue"));
}
