//! SDP offer/answer against offers as trunks and softphones send them (tests/data/sdp).
#![allow(clippy::unwrap_used)]

use deflect_config::{Codec, SrtpPolicy};
use deflect_media::sdp::{
    Direction, LocalDescription, NegotiationError, SdpError, SessionDescription, answer_offer,
};
use deflect_media::srtp::{Crypto, Suite};
use std::net::SocketAddr;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/sdp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn local() -> LocalDescription {
    LocalDescription::new("192.0.2.100".parse().unwrap(), 20000)
}

fn answer(
    name: &str,
    prefs: &[Codec],
) -> Result<(String, deflect_media::sdp::NegotiatedMedia), NegotiationError> {
    answer_offer(&fixture(name), prefs, &mut local())
}

/// The answer must itself be valid SDP with one m-line per offered one.
fn reparse(body: &str, offered: usize) -> SessionDescription {
    assert!(body.ends_with("\r\n"));
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.media.len(), offered);
    sdp
}

#[test]
fn a_carrier_offer_gets_the_preferred_codec_and_its_telephone_event() {
    let (body, m) = answer("carrier.sdp", &[Codec::Pcmu, Codec::Pcma]).unwrap();
    assert_eq!(m.codec, Codec::Pcmu);
    assert_eq!(m.payload_type, 0);
    assert_eq!(m.telephone_event, Some(101));
    assert_eq!(m.ptime_ms, 20);
    assert_eq!(m.direction, Direction::SendRecv);
    assert_eq!(m.remote_rtp, Some("198.51.100.7:31000".parse().unwrap()));
    assert_eq!(m.remote_rtcp, Some("198.51.100.7:31001".parse().unwrap()));
    assert!(body.contains("m=audio 20000 RTP/AVP 0 101\r\n"), "{body}");
    assert!(body.contains("a=rtpmap:0 PCMU/8000\r\n"));
    assert!(body.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"));
    assert!(body.contains("c=IN IP4 192.0.2.100\r\n"));
    assert!(body.contains("a=sendrecv\r\n"));
    reparse(&body, 1);
    // The other preference order picks PCMA.
    let (_, m) = answer("carrier.sdp", &[Codec::Pcma, Codec::Pcmu]).unwrap();
    assert_eq!((m.codec, m.payload_type), (Codec::Pcma, 8));
}

#[test]
fn a_pcma_only_offer_is_accepted_with_its_dynamic_telephone_event() {
    let (body, m) = answer("pcma-only.sdp", &[Codec::Pcmu, Codec::Pcma]).unwrap();
    assert_eq!(
        (m.codec, m.payload_type, m.telephone_event),
        (Codec::Pcma, 8, Some(96))
    );
    assert!(body.contains("m=audio 20000 RTP/AVP 8 96\r\n"));
    assert!(body.contains("a=fmtp:96 0-16\r\n"));
}

#[test]
fn a_pcma_only_offer_is_refused_when_only_pcmu_is_configured() {
    let e = answer("pcma-only.sdp", &[Codec::Pcmu]).unwrap_err();
    assert!(matches!(e, NegotiationError::NotAcceptable { ref wanted, .. } if wanted == "PCMU"));
}

#[test]
fn a_g729_only_offer_is_not_acceptable() {
    let e = answer("g729-only.sdp", &[Codec::Pcmu, Codec::Pcma]).unwrap_err();
    assert!(matches!(e, NegotiationError::NotAcceptable { .. }), "{e}");
    assert!(e.to_string().contains("PCMU or PCMA"));
}

#[test]
fn unsupported_m_lines_are_rejected_with_port_zero() {
    let (body, m) = answer("video-and-audio.sdp", &[Codec::Pcma, Codec::Pcmu]).unwrap();
    let sdp = reparse(&body, 2);
    assert_eq!(sdp.media[0].media, "video");
    assert_eq!(sdp.media[0].port, 0);
    assert_eq!(sdp.media[0].formats, vec!["96"]);
    assert_eq!(sdp.media[1].port, 20000);
    assert_eq!(m.media_index, 1);
    // Media-level c=, a=ptime:30 and a=rtcp honoured.
    assert_eq!(m.remote_rtp, Some("10.1.2.3:5000".parse().unwrap()));
    assert_eq!(m.remote_rtcp, Some("10.1.2.3:5005".parse().unwrap()));
    assert_eq!(m.ptime_ms, 30);
    assert!(body.contains("a=ptime:30\r\n"));
}

#[test]
fn srtp_is_rejected_where_off_and_hold_is_answered_recvonly() {
    let mut off = local().with_srtp(SrtpPolicy::Off);
    let (body, m) =
        answer_offer(&fixture("srtp-then-rtp-hold.sdp"), &[Codec::Pcmu], &mut off).unwrap();
    let sdp = reparse(&body, 2);
    assert_eq!(
        (sdp.media[0].port, sdp.media[0].proto.as_str()),
        (0, "RTP/SAVP")
    );
    assert_eq!(m.media_index, 1);
    // Session-level a=sendonly: the peer holds us; we only receive.
    assert_eq!(m.direction, Direction::RecvOnly);
    assert!(m.on_hold());
    assert_eq!(sdp.media[1].direction, Some(Direction::RecvOnly));
    // Encoding names are case-insensitive.
    assert_eq!(m.telephone_event, Some(101));
}

#[test]
fn rfc_2543_hold_has_no_remote_address() {
    let (_, m) = answer("hold-rfc2543.sdp", &[Codec::Pcmu]).unwrap();
    assert_eq!(m.remote_rtp, None);
    assert!(m.on_hold());
    assert_eq!(m.telephone_event, None);
}

#[test]
fn rfc_2543_hold_is_answered_without_sending() {
    // RFC 3264 §8.4: c=0.0.0.0 means send neither RTP nor RTCP to the peer, whatever the
    // direction attribute says; the answer says so with its own attribute.
    for (offered, answered) in [
        ("", Direction::RecvOnly),
        ("a=sendrecv\r\n", Direction::RecvOnly),
        ("a=sendonly\r\n", Direction::RecvOnly),
        ("a=recvonly\r\n", Direction::Inactive),
        ("a=inactive\r\n", Direction::Inactive),
    ] {
        let mut offer = fixture("hold-rfc2543.sdp");
        offer.extend_from_slice(offered.as_bytes());
        let (body, m) = answer_offer(&offer, &[Codec::Pcmu], &mut local()).unwrap();
        assert_eq!(m.direction, answered, "{offered:?}");
        assert!(!m.direction.sends(), "{offered:?}");
        assert_eq!(reparse(&body, 1).media[0].direction, Some(answered));
    }
}

#[test]
fn ipv6_offers_and_maxptime() {
    let mut l = LocalDescription::new("2001:db8::100".parse().unwrap(), 20002);
    let (body, m) = answer_offer(&fixture("ipv6.sdp"), &[Codec::Pcmu], &mut l).unwrap();
    assert_eq!(
        m.remote_rtp,
        Some("[2001:db8::1]:16384".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(m.ptime_ms, 30, "ptime 40 capped by maxptime 30");
    assert!(body.contains("c=IN IP6 2001:db8::100\r\n"));
}

#[test]
fn every_direction_is_answered_per_rfc_3264() {
    for (offered, answered) in [
        ("sendrecv", Direction::SendRecv),
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
    ] {
        let offer = format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na={offered}\r\n"
        );
        let (_, m) = answer_offer(offer.as_bytes(), &[Codec::Pcmu], &mut local()).unwrap();
        assert_eq!(m.direction, answered, "{offered}");
    }
}

#[test]
fn the_origin_version_increases_only_when_the_answer_changes() {
    let mut l = local();
    let (first, _) = answer_offer(&fixture("carrier.sdp"), &[Codec::Pcmu], &mut l).unwrap();
    let (same, _) = answer_offer(&fixture("carrier.sdp"), &[Codec::Pcmu], &mut l).unwrap();
    assert_eq!(first, same);
    let (held, _) = answer_offer(&fixture("hold-rfc2543.sdp"), &[Codec::Pcmu], &mut l).unwrap();
    let version = |b: &str| {
        b.lines()
            .nth(1)
            .unwrap()
            .split(' ')
            .nth(2)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(version(&held), version(&first) + 1);
}

#[test]
fn malformed_offers_are_errors_naming_the_line() {
    let cases: &[(&[u8], &str)] = &[
        (b"\xff\xfe", "not UTF-8"),
        (b"o=- 1 1 IN IP4 1.2.3.4\r\n", "v=0"),
        (b"v=0\r\nc=IN IP4 not-an-ip\r\n", "c=IN IP4 not-an-ip"),
        (b"v=0\r\nm=audio 99999 RTP/AVP 0\r\n", "m=audio 99999"),
        (
            b"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:300 PCMU/8000\r\n",
            "rtpmap:300",
        ),
        (b"v=0\r\nc=IN IP6 1.2.3.4\r\n", "IP6"),
        (b"v=0\r\nthis line has no equals sign\r\n", "no equals"),
        (b"v=0\r\no=- 1\r\n", "o=- 1"),
    ];
    for (body, needle) in cases {
        let e = SessionDescription::parse(body).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(needle) || matches!(e, SdpError::NotText | SdpError::NoVersion),
            "{text}"
        );
    }
    assert!(matches!(
        answer_offer(b"garbage", &[Codec::Pcmu], &mut local()),
        Err(NegotiationError::Malformed(SdpError::NoVersion))
    ));
}

#[test]
fn an_offer_without_audio_is_not_acceptable() {
    let e = answer_offer(
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n",
        &[Codec::Pcmu],
        &mut local(),
    )
    .unwrap_err();
    assert!(matches!(e, NegotiationError::NotAcceptable { .. }));
}

#[test]
fn an_offer_written_here_is_accepted_by_the_answerer() {
    let mut caller = LocalDescription::new("127.0.0.1".parse().unwrap(), 30000);
    let offer = deflect_media::sdp::offer(&mut caller, &[Codec::Pcma], Some(101));
    let (_, m) = answer_offer(offer.as_bytes(), &[Codec::Pcmu, Codec::Pcma], &mut local()).unwrap();
    assert_eq!((m.codec, m.telephone_event), (Codec::Pcma, Some(101)));
    assert_eq!(m.remote_rtp, Some("127.0.0.1:30000".parse().unwrap()));
}

/// An SAVP offer with `key_lines` (`a=crypto:` values) and an AVP alternative after it.
fn srtp_offer(key_lines: &[String]) -> Vec<u8> {
    let mut o = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                 m=audio 7000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        .to_owned();
    for k in key_lines {
        o.push_str(&format!("a=crypto:{k}\r\n"));
    }
    o.push_str("m=audio 7002 RTP/AVP 0\r\n");
    o.into_bytes()
}

fn key(tag: u32, suite: Suite) -> Crypto {
    Crypto {
        tag,
        suite,
        key: suite.new_key(),
    }
}

#[test]
fn an_srtp_offer_is_answered_with_the_preferred_suite_and_deflects_own_key() {
    let (cm, gcm) = (
        key(1, Suite::AesCm128HmacSha1_80),
        key(2, Suite::AeadAes128Gcm),
    );
    let offer = srtp_offer(&[cm.attribute(), gcm.attribute()]);
    let mut l = local();
    let (body, m) = answer_offer(&offer, &[Codec::Pcmu], &mut l).unwrap();
    let sdp = reparse(&body, 2);
    assert_eq!(
        (m.media_index, sdp.media[0].proto.as_str()),
        (0, "RTP/SAVP")
    );
    assert_eq!(sdp.media[1].port, 0, "the AVP alternative is declined");
    // GCM is preferred; the answer repeats its tag with a key of deflect's own.
    let answered = &sdp.media[0].crypto;
    assert_eq!(answered.len(), 1, "{body}");
    assert_eq!(
        (answered[0].tag, answered[0].suite),
        (2, Suite::AeadAes128Gcm)
    );
    assert_ne!(answered[0].key, gcm.key);
    let keys = m.srtp.clone().unwrap();
    assert_eq!(
        (keys.theirs.as_slice(), keys.ours.as_slice()),
        (gcm.key.as_slice(), answered[0].key.as_slice())
    );
    assert!(
        !format!("{m:?}").contains(&answered[0].attribute()[30..]),
        "no keys in Debug"
    );
    // A re-offer keeps deflect's key.
    let (again, _) = answer_offer(&offer, &[Codec::Pcmu], &mut l).unwrap();
    assert_eq!(reparse(&again, 2).media[0].crypto, *answered);
}

#[test]
fn the_trunks_srtp_policy_decides_between_rtp_and_srtp() {
    let cm = key(1, Suite::AesCm128HmacSha1_80);
    let offer = srtp_offer(&[cm.attribute()]);
    // Off: the AVP alternative is taken.
    let mut off = local().with_srtp(SrtpPolicy::Off);
    let (_, m) = answer_offer(&offer, &[Codec::Pcmu], &mut off).unwrap();
    assert_eq!((m.media_index, m.srtp.is_some()), (1, false));
    // Required: plain RTP alone is refused, naming why.
    let plain = fixture("carrier.sdp");
    let mut required = local().with_srtp(SrtpPolicy::Required);
    let e = answer_offer(&plain, &[Codec::Pcmu], &mut required).unwrap_err();
    assert!(e.to_string().contains("requires SRTP"), "{e}");
    let (_, m) = answer_offer(&offer, &[Codec::Pcmu], &mut required).unwrap();
    assert_eq!((m.media_index, m.srtp.is_some()), (0, true));
    // A key deflect cannot honour (an MKI) leaves SAVP unacceptable.
    let mki = format!("{}|2^20|1:4", cm.attribute());
    let e = answer_offer(
        &srtp_offer(&[mki]),
        &[Codec::Pcmu],
        &mut local().with_srtp(SrtpPolicy::Required),
    )
    .unwrap_err();
    assert!(matches!(e, NegotiationError::NotAcceptable { .. }), "{e}");
}

#[test]
fn an_offer_written_where_srtp_is_required_carries_a_key_and_its_answer_keys_the_call() {
    let mut caller =
        LocalDescription::new("127.0.0.1".parse().unwrap(), 30000).with_srtp(SrtpPolicy::Required);
    let offer = deflect_media::sdp::offer(&mut caller, &[Codec::Pcmu], Some(101));
    assert!(
        offer.contains("m=audio 30000 RTP/SAVP 0 101\r\n"),
        "{offer}"
    );
    let (answer, callee) = answer_offer(offer.as_bytes(), &[Codec::Pcmu], &mut local()).unwrap();
    // The caller reads the answer as the description of the far end.
    let (_, caller_view) = answer_offer(answer.as_bytes(), &[Codec::Pcmu], &mut caller).unwrap();
    let (a, b) = (callee.srtp.unwrap(), caller_view.srtp.unwrap());
    assert_eq!(
        (a.suite, b.suite),
        (Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_80)
    );
    assert_eq!(
        (&a.theirs, &a.ours),
        (&b.ours, &b.theirs),
        "each side decrypts what the other encrypts"
    );
}

#[test]
fn a_re_offer_keeps_every_media_section_and_changes_only_the_direction() {
    let mut local = local();
    let (answer, media) = answer_offer(
        &fixture("video-and-audio.sdp"),
        &[Codec::Pcmu, Codec::Pcma],
        &mut local,
    )
    .unwrap();
    let offer = deflect_media::sdp::reoffer(&mut local, &media, Direction::Inactive).unwrap();
    let sdp = reparse(&offer, 2);
    let audio = &sdp.media[media.media_index];
    assert_eq!(audio.direction, Some(Direction::Inactive));
    let rejected = &sdp.media[1 - media.media_index];
    assert_eq!(rejected.port, 0, "a refused section stays refused");
    // Everything else as answered, under the next version.
    fn without(s: &str) -> Vec<&str> {
        s.lines()
            .filter(|l| !l.starts_with("o=") && !["a=sendrecv", "a=inactive"].contains(l))
            .collect()
    }
    assert_eq!(without(&offer), without(&answer));
    let answered = SessionDescription::parse(answer.as_bytes()).unwrap();
    assert_eq!(sdp.session_version, answered.session_version + 1);
}
