//! What deflect answers to each RFC 4475 message arriving from a trunk: the status of every
//! response it sends (none for responses nobody asked for, or requests too broken to
//! answer), and whether a call is offered to the layer above.

#![allow(clippy::unwrap_used)]

use deflect_config::{SipConfig, SipTransport};
use deflect_sip::endpoint::{Endpoint, EndpointConfig, Event};
use std::path::Path;
use std::time::Instant;

fn answer(dir: &str, name: &str) -> (Vec<u16>, bool) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rfc4475")
        .join(dir)
        .join(format!("{name}.sip"));
    let bytes = std::fs::read(path).unwrap();
    let now = Instant::now();
    let local = "127.0.0.1:5060".parse().unwrap();
    let config = EndpointConfig::new(&SipConfig::default(), &[(SipTransport::Udp, local)], 1);
    let mut ua = Endpoint::new(config, now);
    ua.handle_message(
        now,
        SipTransport::Udp,
        "127.0.0.2:5060".parse().unwrap(),
        &bytes,
    );
    let mut statuses = Vec::new();
    while let Some(t) = ua.poll_transmit() {
        // Responses copy the request's headers, broken ones included (scalar02's CSeq), so
        // only the status line is read back.
        let text = String::from_utf8_lossy(&t.data);
        let status = text
            .strip_prefix("SIP/2.0 ")
            .unwrap_or_else(|| panic!("{name}: sent {text}"));
        statuses.push(status[..3].parse().unwrap());
    }
    let call = std::iter::from_fn(|| ua.poll_event()).any(|e| matches!(e, Event::Incoming(_)));
    (statuses, call)
}

#[test]
fn valid_messages() {
    let call = (vec![100], true);
    for (name, want) in [
        // Its To carries a tag: a request in a dialog deflect does not have.
        ("wsinv", (vec![481], false)),
        ("intmeth", (vec![501], false)),
        ("esc01", call.clone()),
        ("escnull", (vec![405], false)),
        ("esc02", (vec![501], false)),
        ("lwsdisp", (vec![200], false)),
        ("longreq", call.clone()),
        ("dblreq", (vec![405], false)),
        ("semiuri", (vec![200], false)),
        ("transports", (vec![200], false)),
        ("mpart01", (vec![501], false)),
        ("unreason", (vec![], false)),
        ("noreason", (vec![], false)),
    ] {
        assert_eq!(answer("valid", name), want, "{name}");
    }
}

#[test]
fn invalid_messages_get_400_or_nothing() {
    for name in [
        "clerr",
        "ncl",
        "scalar02",
        "quotbal",
        "ltgtruri",
        "lwsruri",
        "lwsstart",
        "trws",
        "escruri",
        "baddate",
        "regbadct",
        "badaspec",
        "baddn",
        "mismatch01",
        "mismatch02",
    ] {
        assert_eq!(answer("invalid", name), (vec![400], false), "{name}");
    }
    assert_eq!(answer("invalid", "badvers"), (vec![505], false));
    // Its Via is unparseable, so no response could reach the sender: dropped.
    assert_eq!(answer("invalid", "badinv01"), (vec![], false));
    // Malformed responses are dropped.
    assert_eq!(answer("invalid", "scalarlg"), (vec![], false));
    assert_eq!(answer("invalid", "bigcode"), (vec![], false));
}

#[test]
fn transaction_and_application_layer_cases() {
    for (name, want) in [
        ("badbranch", (vec![200], false)),
        // Without From, To and Call-ID, "ideally, it will respond with a 400": the Via
        // routes it.
        ("insuf", (vec![400], false)),
        ("unkscm", (vec![416], false)),
        ("novelsc", (vec![416], false)),
        ("unksm2", (vec![405], false)),
        ("bext01", (vec![420], false)),
        ("invut", (vec![415], false)),
        ("regaut01", (vec![405], false)),
        ("multi01", (vec![400], false)),
        ("mcl01", (vec![400], false)),
        ("bcast", (vec![], false)),
        ("zeromf", (vec![200], false)),
        ("cparam01", (vec![405], false)),
        ("cparam02", (vec![405], false)),
        ("regescrt", (vec![405], false)),
        ("sdp01", (vec![406], false)),
        ("inv2543", (vec![100], true)),
    ] {
        assert_eq!(answer("semantic", name), want, "{name}");
    }
}
