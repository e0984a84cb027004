//! Network input never panics: arbitrary bytes into every parser and into a session.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_config::Codec;
use deflect_media::dtmf::info::parse_info;
use deflect_media::dtmf::telephone_event::TelephoneEvent;
use deflect_media::rtcp::parse_compound;
use deflect_media::sdp::{LocalDescription, SessionDescription, answer_offer};
use deflect_media::session::SessionConfig;
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn sdp_like() -> impl Strategy<Value = String> {
    // Lines that look like SDP, with random values, in random order.
    let line = prop_oneof![
        Just("v=0".to_owned()),
        "[a-z]=[ -~]{0,40}",
        "c=IN IP[46] [0-9a-f.:]{0,20}",
        "m=(audio|video) [0-9]{1,6} RTP/(AVP|SAVP) [0-9 ]{0,12}",
        "a=rtpmap:[0-9]{1,4} [A-Za-z-]{0,16}/[0-9]{0,6}",
        "a=(ptime|maxptime|rtcp|fmtp):[ -~]{0,12}",
        "a=(sendrecv|sendonly|recvonly|inactive)",
    ];
    proptest::collection::vec(line, 0..20).prop_map(|l| format!("v=0\r\n{}\r\n", l.join("\r\n")))
}

proptest! {
    #[test]
    fn sdp_never_panics(body in sdp_like(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut local = LocalDescription::new("127.0.0.1".parse().unwrap(), 20000);
        let _ = answer_offer(body.as_bytes(), &[Codec::Pcmu, Codec::Pcma], &mut local);
        let _ = SessionDescription::parse(&bytes);
    }

    #[test]
    fn small_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), ct in "[ -~]{0,40}") {
        let _ = parse_compound(&bytes);
        let _ = TelephoneEvent::parse(&bytes);
        let _ = parse_info(&ct, &bytes);
        let _ = parse_info("application/dtmf-relay", &bytes);
    }

    #[test]
    fn a_session_survives_any_datagram(
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..40),
        headers in proptest::collection::vec((any::<u16>(), any::<u32>(), any::<bool>(), 0u8..3), 0..40),
    ) {
        let t0 = Instant::now();
        let config = SessionConfig { inband_dtmf: true, ..SessionConfig::default() };
        let mut s = session(t0, config, &offer(0, Some(101)));
        s.set_tap(true);
        let mut events = Vec::new();
        for (i, d) in datagrams.iter().enumerate() {
            let now = t0 + Duration::from_millis(7 * i as u64);
            s.handle_rtp(now, peer(), d);
            s.handle_rtcp(now, peer(), d);
            // Well-formed headers with random sequence, timestamp and payload too.
            if let Some(&(seq, ts, mark, kind)) = headers.get(i) {
                let pt = [0u8, 101, 13][usize::from(kind)];
                let p = rtp_rs::RtpPacketBuilder::new()
                    .payload_type(pt)
                    .ssrc(1)
                    .sequence(seq.into())
                    .timestamp(ts)
                    .marked(mark)
                    .payload(d)
                    .build()
                    .unwrap();
                s.handle_rtp(now, peer(), &p);
            }
            run_until(&mut s, now, &mut events);
        }
        run_until(&mut s, t0 + Duration::from_secs(40), &mut events);
    }
}
