//! The session's sending side and its life cycle under a virtual clock: pacing, the prompt
//! queue, symmetric RTP, the RTP timeout, hold and re-offers, a bridge's relayed audio.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_config::Codec;
use deflect_media::g711;
use deflect_media::playback::{PlayItem, PlaybackEnd, PromptLibrary};
use deflect_media::sdp::Direction;
use deflect_media::session::{Channel, MediaEvent, SessionConfig};
use std::time::{Duration, Instant};

/// Every datagram the session sends from `from` to `until`, driven as a driver would (at
/// each `poll_timeout`), with its send time.
fn sent(
    s: &mut deflect_media::session::MediaSession,
    until: Instant,
    events: &mut Vec<MediaEvent>,
) -> Vec<(Instant, Channel, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = s.poll_timeout() {
        if t > until {
            break;
        }
        s.handle_timeout(t);
        while let Some(tx) = s.poll_transmit(t, &mut buf) {
            out.push((t, tx.channel, buf[..tx.len].to_vec()));
        }
        events.extend(std::iter::from_fn(|| s.poll_event()));
    }
    out
}

fn rtp_only(v: &[(Instant, Channel, Vec<u8>)]) -> Vec<(Instant, Vec<u8>)> {
    v.iter()
        .filter(|(_, c, _)| *c == Channel::Rtp)
        .map(|(t, _, b)| (*t, b.clone()))
        .collect()
}

#[test]
fn prompts_are_paced_in_real_time_and_queued_in_order() {
    let lib = PromptLibrary::builtin();
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(8, Some(101)));
    let you_entered = lib.get("en", "you_entered").unwrap();
    let one = lib.get("en", "digit_1").unwrap();
    let first = s.play(
        vec![
            PlayItem::Prompt(you_entered.clone()),
            PlayItem::Silence(Duration::from_millis(100)),
        ],
        false,
    );
    let second = s.play(vec![PlayItem::Prompt(one.clone())], false);
    let total = you_entered.pcm.len() + 800 + one.pcm.len();
    let mut events = Vec::new();
    let end = t0 + Duration::from_millis((total / 8) as u64 + 200);
    let packets = rtp_only(&sent(&mut s, end, &mut events));
    // One packet per 20 ms on a fixed grid, sequence and timestamp stepping by 1 and 160.
    for (i, (t, p)) in packets.iter().enumerate() {
        assert_eq!(*t, t0 + Duration::from_millis(20 * i as u64));
        let r = rtp_rs::RtpReader::new(p).unwrap();
        assert_eq!(r.payload_type(), 8);
        assert_eq!(r.payload().len(), 160);
        let r0 = rtp_rs::RtpReader::new(&packets[0].1).unwrap();
        assert_eq!(
            u16::from(r.sequence_number()),
            u16::from(r0.sequence_number()).wrapping_add(i as u16)
        );
        assert_eq!(r.timestamp(), r0.timestamp().wrapping_add(160 * i as u32));
        assert_eq!(r.mark(), i == 0);
    }
    // The audio is the prompts, A-law, back to back, then quiet comfort noise.
    let audio: Vec<u8> = packets
        .iter()
        .flat_map(|(_, p)| rtp_rs::RtpReader::new(p).unwrap().payload().to_vec())
        .collect();
    assert_eq!(
        &audio[..you_entered.pcm.len()],
        you_entered.encoded(Codec::Pcma)
    );
    let gap = &audio[you_entered.pcm.len()..you_entered.pcm.len() + 800];
    assert!(gap.iter().all(|&c| g711::alaw_to_linear(c).abs() <= 24));
    let after = you_entered.pcm.len() + 800;
    assert_eq!(
        &audio[after..after + one.pcm.len()],
        one.encoded(Codec::Pcma)
    );
    assert!(
        audio[total..]
            .iter()
            .all(|&c| g711::alaw_to_linear(c).abs() <= 24)
    );
    // Each playback ends when its last sample has been sent.
    let ends: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Playback { id, end } => Some((*id, *end)),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        vec![
            (first, PlaybackEnd::Finished),
            (second, PlaybackEnd::Finished)
        ]
    );
    assert_eq!(s.stats().sent_late, 0);
}

#[test]
fn a_late_driver_is_counted_and_a_stalled_one_skips_ahead() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, None));
    let mut buf = [0u8; 1500];
    assert!(s.poll_transmit(t0, &mut buf).is_some());
    // 7 ms late: sent, counted late.
    assert!(
        s.poll_transmit(t0 + Duration::from_millis(27), &mut buf)
            .is_some()
    );
    assert_eq!(s.stats().sent_late, 1);
    // 200 ms stall: no burst of ten packets; one, then the grid continues.
    let t = t0 + Duration::from_millis(240);
    assert!(s.poll_transmit(t, &mut buf).is_some());
    assert!(s.poll_transmit(t, &mut buf).is_none());
    assert!(s.stats().skipped >= 9);
    let r = rtp_rs::RtpReader::new(&buf).unwrap();
    assert!(r.mark());
}

#[test]
fn rtp_is_sent_where_the_peer_really_is_and_strangers_are_ignored() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    assert_eq!(s.destination(), Some(peer()));
    let nat: std::net::SocketAddr = "203.0.113.50:61000".parse().unwrap();
    let mut tx = PhoneSender::new(0, 101, 1);
    tx.silence(3);
    s.handle_rtp(t0, nat, &tx.out[0].bytes);
    assert_eq!(s.destination(), Some(nat));
    // Another source while the latched one is alive: dropped.
    let stranger: std::net::SocketAddr = "198.51.100.66:5000".parse().unwrap();
    s.handle_rtp(t0 + Duration::from_millis(20), stranger, &tx.out[1].bytes);
    assert_eq!(s.destination(), Some(nat));
    assert_eq!(s.stats().foreign, 1);
    // Garbage and payload types not negotiated are not latched onto either.
    s.handle_rtp(t0, stranger, b"\x00\x01garbage");
    assert_eq!(s.stats().malformed, 1);
    // After the latched source falls silent, a new one takes over (the phone moved).
    s.handle_rtp(t0 + Duration::from_secs(2), stranger, &tx.out[2].bytes);
    assert_eq!(s.destination(), Some(stranger));
}

#[test]
fn silence_on_the_line_times_the_call_out_once_except_on_hold() {
    let config = SessionConfig {
        rtp_timeout: Duration::from_secs(5),
        ..SessionConfig::default()
    };
    let t0 = Instant::now();
    let mut s = session(t0, config.clone(), &offer(0, None));
    let mut tx = PhoneSender::new(0, 101, 2);
    tx.silence(2);
    s.handle_rtp(t0 + Duration::from_secs(1), peer(), &tx.out[0].bytes);
    let mut events = Vec::new();
    run_until(&mut s, t0 + Duration::from_millis(5900), &mut events);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, MediaEvent::RtpTimeout { .. }))
    );
    run_until(&mut s, t0 + Duration::from_secs(20), &mut events);
    let timeouts: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, MediaEvent::RtpTimeout { .. }))
        .collect();
    assert_eq!(
        timeouts,
        vec![&MediaEvent::RtpTimeout {
            silent_for: Duration::from_secs(5)
        }]
    );

    // Held by the peer (a=sendonly): no timeout however long.
    let mut s = session(t0, config.clone(), &offer(0, None));
    let hold = format!("{}a=sendonly\r\n", offer(0, None));
    let answer = s.renegotiate(t0, hold.as_bytes()).unwrap();
    assert!(answer.contains("a=recvonly"));
    let mut events = Vec::new();
    let packets = sent(&mut s, t0 + Duration::from_secs(60), &mut events);
    assert!(events.is_empty(), "{events:?}");
    assert!(
        packets.is_empty(),
        "nothing is sent to a peer that holds the call"
    );
    // Taken off hold: sending resumes (marker set, timestamp moved on with time) and the
    // timeout runs again from then.
    let resume = t0 + Duration::from_secs(60);
    s.renegotiate(resume, offer(0, None).as_bytes()).unwrap();
    let packets = rtp_only(&sent(&mut s, resume + Duration::from_secs(6), &mut events));
    assert!(!packets.is_empty());
    assert!(rtp_rs::RtpReader::new(&packets[0].1).unwrap().mark());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MediaEvent::RtpTimeout { .. }))
    );

    // Local hold: the same.
    let mut s = session(t0, config, &offer(0, None));
    s.set_hold(t0, true);
    let mut events = Vec::new();
    assert!(rtp_only(&sent(&mut s, t0 + Duration::from_secs(60), &mut events)).is_empty());
    assert!(events.is_empty());
}

/// The `o=` version of a description.
fn version(sdp: &str) -> u64 {
    let o = sdp.lines().find(|l| l.starts_with("o=")).unwrap();
    o.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn deflects_re_offer_holds_the_peer_and_resumes_it_once_answered() {
    let config = SessionConfig {
        rtp_timeout: Duration::from_secs(5),
        ..SessionConfig::default()
    };
    let t0 = Instant::now();
    let mut s = session(t0, config, &offer(0, Some(101)));
    let hold = s.reoffer(Direction::SendOnly).unwrap();
    assert!(hold.contains("m=audio 20000 RTP/AVP 0 101\r\n"), "{hold}");
    assert!(
        hold.contains("a=sendonly\r\n") && !hold.contains("a=sendrecv"),
        "{hold}"
    );
    assert_eq!(
        version(&s.reoffer(Direction::SendOnly).unwrap()),
        version(&hold),
        "the same offer again keeps its version"
    );
    assert_eq!(
        s.media().direction,
        Direction::SendRecv,
        "nothing changes before the answer"
    );

    // The peer answers recvonly: deflect sends (the other call's audio) and expects nothing,
    // so a minute without RTP from the peer is no timeout.
    let g729 = "v=0\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
    assert!(s.reoffer_answered(t0, g729.as_bytes()).is_err());
    assert_eq!(
        s.media().direction,
        Direction::SendRecv,
        "an unusable answer changes nothing"
    );
    let answer = format!("{}a=recvonly\r\n", offer(0, Some(101)));
    s.reoffer_answered(t0, answer.as_bytes()).unwrap();
    assert_eq!(s.media().direction, Direction::SendOnly);
    let mut events = Vec::new();
    let held = rtp_only(&sent(&mut s, t0 + Duration::from_secs(60), &mut events));
    assert!(
        held.len() >= 2900,
        "{} packets sent while holding",
        held.len()
    );
    assert!(events.is_empty(), "{events:?}");

    // Resumed: the next version, sendrecv, and the RTP timeout runs again.
    let resume = s.reoffer(Direction::SendRecv).unwrap();
    assert_eq!(version(&resume), version(&hold) + 1);
    assert!(resume.contains("a=sendrecv\r\n"), "{resume}");
    let resumed_at = t0 + Duration::from_secs(60);
    s.reoffer_answered(resumed_at, offer(0, Some(101)).as_bytes())
        .unwrap();
    assert_eq!(s.media().direction, Direction::SendRecv);
    sent(&mut s, resumed_at + Duration::from_secs(6), &mut events);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, MediaEvent::RtpTimeout { .. }))
    );
}

#[test]
fn rfc_2543_hold_stops_rtp_to_a_latched_peer_until_a_re_offer_resumes_it() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let mut phone = PhoneSender::new(0, 101, 3);
    phone.silence(600);
    let mut packets = phone.out.iter();
    let mut events = Vec::new();
    // The call runs for a second: the phone's packets latch, ours flow back to it.
    let mut deliver_until = |s: &mut deflect_media::session::MediaSession, until: Duration| {
        let mut ours = Vec::new();
        for p in packets.by_ref().take_while(|p| p.at < until) {
            let now = t0 + p.at;
            ours.extend(sent(s, now, &mut events));
            s.handle_rtp(now, peer(), &p.bytes);
        }
        rtp_only(&ours)
    };
    let before = deliver_until(&mut s, Duration::from_secs(1));
    assert!(before.len() >= 49, "{} packets", before.len());
    assert_eq!(s.destination(), Some(peer()));

    // Hold, RFC 2543 style: the same stream with c=0.0.0.0. The phone keeps sending (music
    // on hold, or just its own audio): none of it may bring our RTP back.
    let hold = offer(0, Some(101)).replace("c=IN IP4 192.0.2.1", "c=IN IP4 0.0.0.0");
    let answer = s
        .renegotiate(t0 + Duration::from_secs(1), hold.as_bytes())
        .unwrap();
    assert!(answer.contains("a=recvonly\r\n"), "{answer}");
    let held = deliver_until(&mut s, Duration::from_secs(6));
    assert_eq!(held.len(), 0, "RTP sent on hold");

    // Resumed by a re-offer with the address: RTP again, marked as a new talk spurt.
    let resumed_at = t0 + Duration::from_secs(6);
    let answer = s
        .renegotiate(resumed_at, offer(0, Some(101)).as_bytes())
        .unwrap();
    assert!(answer.contains("a=sendrecv\r\n"), "{answer}");
    let after = deliver_until(&mut s, Duration::from_secs(7));
    assert!(after.len() >= 49, "{} packets after resuming", after.len());
    assert!(rtp_rs::RtpReader::new(&after[0].1).unwrap().mark());
    assert!(after[0].0 >= resumed_at);
}

#[test]
fn a_failed_re_offer_changes_nothing_and_a_good_one_switches_codec() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let g729 = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
    assert!(s.renegotiate(t0, g729.as_bytes()).is_err());
    assert_eq!(s.media().codec, Codec::Pcmu);
    let answer = s.renegotiate(t0, offer(8, Some(97)).as_bytes()).unwrap();
    assert!(answer.contains("m=audio 20000 RTP/AVP 8 97"));
    assert_eq!(
        (s.media().codec, s.media().telephone_event),
        (Codec::Pcma, Some(97))
    );
    let mut buf = [0u8; 1500];
    let t = s.poll_transmit(t0, &mut buf).unwrap();
    assert_eq!(
        rtp_rs::RtpReader::new(&buf[..t.len])
            .unwrap()
            .payload_type(),
        8
    );
}

#[test]
fn the_tap_gives_the_callers_decoded_audio_frame_by_frame() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, None));
    let mut tx = PhoneSender::new(0, 101, 4);
    let tone: Vec<i16> = (0..160)
        .map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
        .collect();
    let encoded: Vec<u8> = tone.iter().map(|&x| g711::linear_to_ulaw(x)).collect();
    tx.audio(4, |_| encoded.clone());
    s.handle_rtp(t0, peer(), &tx.out[0].bytes);
    assert!(s.poll_event().is_none(), "no frames before listening");
    s.set_tap(true);
    for p in &tx.out[1..] {
        s.handle_rtp(t0, peer(), &p.bytes);
    }
    let frames: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(frames.len(), 3);
    for f in frames {
        let MediaEvent::Audio(f) = f else {
            panic!("{f:?}")
        };
        let expect: Vec<i16> = encoded.iter().map(|&c| g711::ulaw_to_linear(c)).collect();
        assert_eq!(f.samples, expect);
    }
}

#[test]
fn rtcp_reports_go_to_the_rtcp_port_every_few_seconds() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, None));
    let mut tx = PhoneSender::new(0, 101, 6);
    tx.silence(100);
    for p in &tx.out {
        s.handle_rtp(t0 + p.at, peer(), &p.bytes);
    }
    let mut events = Vec::new();
    let out = sent(&mut s, t0 + Duration::from_secs(16), &mut events);
    let reports: Vec<_> = out.iter().filter(|(_, c, _)| *c == Channel::Rtcp).collect();
    assert!((2..=7).contains(&reports.len()), "{}", reports.len());
    let (_, _, first) = reports[0];
    assert_eq!(first[1], 200, "a sender report");
    assert_eq!(first[0] & 0x1F, 1, "with a report block about the peer");
    assert_eq!(&first[28..32], &tx.ssrc.to_be_bytes());
}

/// An `RTP/SAVP` call: digits the phone sends encrypted with its key are decoded, a forged
/// or replayed packet is counted and neither latches nor counts as RTP, and what deflect
/// sends decrypts with deflect's key from the answer — and not without it.
#[test]
fn srtp_calls_decrypt_what_arrives_and_encrypt_what_leaves() {
    use deflect_media::sdp::SessionDescription;
    use deflect_media::srtp::{Crypto, Srtp, SrtpKeys, Suite};
    let t0 = Instant::now();
    let phone_key = Crypto {
        tag: 1,
        suite: Suite::AesCm128HmacSha1_80,
        key: Suite::AesCm128HmacSha1_80.new_key(),
    };
    let offer = offer(0, Some(101)).replace("RTP/AVP", "RTP/SAVP")
        + &format!("a=crypto:{}\r\n", phone_key.attribute());
    let local = deflect_media::sdp::LocalDescription::new("127.0.0.1".parse().unwrap(), 20000);
    let (mut s, answer) = deflect_media::session::MediaSession::new(
        t0,
        std::time::SystemTime::now(),
        SessionConfig::default(),
        local,
        offer.as_bytes(),
    )
    .unwrap();
    let answered = SessionDescription::parse(answer.as_bytes()).unwrap();
    let ours = answered.media[0].crypto[0].clone();
    assert_eq!(answered.media[0].proto, "RTP/SAVP");
    // The phone's side of the call.
    let mut phone = Srtp::new(&SrtpKeys {
        suite: ours.suite,
        theirs: ours.key.clone(),
        ours: phone_key.key.clone(),
    })
    .unwrap();
    let protect = |phone: &mut Srtp, plain: &[u8]| {
        let mut buf = [0u8; 1500];
        buf[..plain.len()].copy_from_slice(plain);
        let len = phone.protect_rtp(&mut buf, plain.len()).unwrap();
        buf[..len].to_vec()
    };

    let mut tx = PhoneSender::new(0, 101, 3);
    tx.key(5, 6);
    let forged = {
        let mut p = protect(&mut phone, &tx.out[0].bytes);
        p[15] ^= 0x40;
        p
    };
    let stranger: std::net::SocketAddr = "198.51.100.66:5000".parse().unwrap();
    s.handle_rtp(t0, stranger, &forged);
    assert_eq!(s.stats().unauthenticated, 1);
    assert_eq!(s.destination(), Some(peer()), "a forgery does not latch");
    s.handle_rtp(t0, stranger, &tx.out[0].bytes);
    assert_eq!(
        s.stats().unauthenticated,
        2,
        "plain RTP is not authentic either"
    );
    let mut events = Vec::new();
    let mut first = Vec::new();
    for (i, p) in tx.out.iter().enumerate() {
        let at = t0 + p.at;
        let sealed = protect(&mut phone, &p.bytes);
        if i == 0 {
            first = sealed.clone();
        }
        s.handle_rtp(at, peer(), &sealed);
        run_until(&mut s, at, &mut events);
    }
    s.handle_rtp(t0 + Duration::from_millis(200), peer(), &first);
    assert_eq!(s.stats().unauthenticated, 3, "a replay is refused");
    run_until(&mut s, t0 + Duration::from_millis(400), &mut events);
    assert_eq!(digits(&events), "5");
    assert_eq!(s.stats().received, tx.out.len() as u64);

    // What deflect sends: RTP with deflect's key.
    let mut buf = [0u8; 1500];
    let later = t0 + Duration::from_secs(1);
    s.handle_timeout(later);
    let t = s.poll_transmit(later, &mut buf).unwrap();
    assert_eq!(t.len, 12 + 160 + 10, "an 80-bit tag");
    let plain = phone.unprotect_rtp(&buf[..t.len]).unwrap();
    assert_eq!(plain.len(), 12 + 160);
    let mut stranger_ctx = Srtp::new(&SrtpKeys {
        suite: ours.suite,
        theirs: Suite::AesCm128HmacSha1_80.new_key(),
        ours: phone_key.key,
    })
    .unwrap();
    assert!(stranger_ctx.unprotect_rtp(&buf[..t.len]).is_none());
}

fn idle_session(
    t0: Instant,
    idle: deflect_config::IdleMedia,
    offer: &str,
) -> deflect_media::session::MediaSession {
    let config = SessionConfig {
        idle_media: idle,
        ..SessionConfig::default()
    };
    session(t0, config, offer)
}

/// What the session sends when a command arrives at `at` (a driver polls it then).
fn sent_at(
    s: &mut deflect_media::session::MediaSession,
    at: Instant,
) -> Vec<(Instant, Channel, Vec<u8>)> {
    let mut buf = [0u8; 1500];
    std::iter::from_fn(|| {
        s.poll_transmit(at, &mut buf)
            .map(|t| (at, t.channel, buf[..t.len].to_vec()))
    })
    .collect()
}

fn rtp_header(p: &[u8]) -> (u8, bool, u16, u32) {
    let r = rtp_rs::RtpReader::new(p).unwrap();
    (
        r.payload_type(),
        r.mark(),
        u16::from(r.sequence_number()),
        r.timestamp(),
    )
}

/// `idle_media = "none"`: RTP only while something plays. After a pause the stream goes on
/// with the next sequence number, a timestamp that kept running with real time, and the
/// marker bit; RTCP keeps going throughout.
#[test]
fn with_idle_media_none_rtp_stops_while_nothing_plays() {
    let t0 = Instant::now();
    let mut s = idle_session(t0, deflect_config::IdleMedia::None, &offer(0, Some(101)));
    let mut events = Vec::new();
    assert!(rtp_only(&sent(&mut s, t0 + Duration::from_secs(1), &mut events)).is_empty());
    let beep = PlayItem::Silence(Duration::from_millis(100));
    let t1 = t0 + Duration::from_secs(1);
    s.play(vec![beep.clone()], false);
    let mut first = rtp_only(&sent_at(&mut s, t1));
    first.extend(rtp_only(&sent(
        &mut s,
        t1 + Duration::from_millis(500),
        &mut events,
    )));
    assert_eq!(first.len(), 5, "100 ms of 20 ms frames, then quiet again");
    assert_eq!(first[0].0, t1);
    assert!(
        rtp_header(&first[0].1).1,
        "a talkspurt starts with the marker"
    );
    let t2 = t1 + Duration::from_secs(3);
    let quiet = sent(&mut s, t2, &mut events);
    assert!(rtp_only(&quiet).is_empty());
    s.play(vec![beep], false);
    let second = rtp_only(&sent_at(&mut s, t2));
    let (last, next) = (rtp_header(&first[4].1), rtp_header(&second[0].1));
    assert_eq!(
        next.2,
        last.2.wrapping_add(1),
        "sequence numbers have no gap"
    );
    let elapsed = second[0].0 - first[4].0;
    assert_eq!(
        next.3.wrapping_sub(last.3),
        (elapsed.as_millis() * 8) as u32,
        "the timestamp followed real time"
    );
    assert!(next.1, "marker after the pause");
    // RTCP goes on while RTP pauses.
    let rest = rtp_only(&sent(&mut s, t2 + Duration::from_millis(500), &mut events));
    assert_eq!(rest.len(), 4, "the rest of the second 100 ms");
    let rtcp = sent(&mut s, t0 + Duration::from_secs(20), &mut events);
    assert!(rtcp.iter().any(|(_, c, _)| *c == Channel::Rtcp));
    assert!(rtp_only(&rtcp).is_empty());
}

/// `idle_media = "comfort_noise"`: one RFC 3389 packet a second while nothing plays, when
/// the offer lists CN (and the answer too); without CN in the offer, audio frames as usual.
#[test]
fn with_idle_comfort_noise_one_cn_packet_a_second_goes_out() {
    let t0 = Instant::now();
    let with_cn = offer(0, Some(101)).replace("RTP/AVP 0 101", "RTP/AVP 0 101 13");
    let config = SessionConfig {
        idle_media: deflect_config::IdleMedia::ComfortNoise,
        ..SessionConfig::default()
    };
    let local = deflect_media::sdp::LocalDescription::new("127.0.0.1".parse().unwrap(), 20000);
    let (mut s, answer) = deflect_media::session::MediaSession::new(
        t0,
        std::time::SystemTime::now(),
        config,
        local,
        with_cn.as_bytes(),
    )
    .unwrap();
    assert!(
        answer.contains("m=audio 20000 RTP/AVP 0 101 13\r\n"),
        "{answer}"
    );
    let mut events = Vec::new();
    let out = rtp_only(&sent(&mut s, t0 + Duration::from_millis(3500), &mut events));
    let at: Vec<Duration> = out.iter().map(|(t, _)| *t - t0).collect();
    assert_eq!(at, [0, 1, 2, 3].map(Duration::from_secs));
    for (_, p) in &out {
        assert_eq!(rtp_header(p).0, 13);
        assert_eq!(&p[12..], [70], "one byte: the noise level");
    }

    let mut plain = idle_session(
        t0,
        deflect_config::IdleMedia::ComfortNoise,
        &offer(0, Some(101)),
    );
    let out = rtp_only(&sent(
        &mut plain,
        t0 + Duration::from_millis(190),
        &mut events,
    ));
    assert_eq!(out.len(), 10, "no CN offered: audio every 20 ms");
}

/// A bridged session sends the other call's audio, re-encoded in its own codec, frame by
/// frame as it arrives; when none waits it sends its quiet frame (never a stale or partial
/// one), a prompt takes precedence, and `idle_media = "none"` does not silence a bridge.
#[test]
fn a_bridged_session_sends_the_relayed_audio_in_its_own_codec() {
    let t0 = Instant::now();
    // A-law on this call; the other call's audio arrives as linear samples.
    let mut s = idle_session(t0, deflect_config::IdleMedia::None, &offer(8, Some(101)));
    s.set_relay(true);
    let tone: Vec<i16> = (0..320)
        .map(|i| ((i as f64 * 0.7).sin() * 9000.0) as i16)
        .collect();
    s.relay(&tone[..160]);
    let payload = |p: &[u8]| p[12..].to_vec();
    let first = rtp_only(&sent_at(&mut s, t0));
    assert_eq!(first.len(), 1, "idle_media none does not silence a bridge");
    let mut expected = vec![0u8; 160];
    g711::encode_alaw(&tone[..160], &mut expected);
    assert_eq!(payload(&first[0].1), expected);
    // Nothing relayed for the next frame: the quiet frame, not the last audio again.
    let t1 = t0 + Duration::from_millis(20);
    let quiet = rtp_only(&sent_at(&mut s, t1));
    assert_eq!(quiet.len(), 1);
    assert_ne!(payload(&quiet[0].1), expected);
    // A prompt plays over the relayed audio, which waits (bounded) meanwhile.
    let lib = PromptLibrary::builtin();
    let goodbye = lib.get("en", "goodbye").unwrap();
    s.play(vec![PlayItem::Prompt(goodbye.clone())], false);
    s.relay(&tone[160..]);
    let t2 = t1 + Duration::from_millis(20);
    let prompt = rtp_only(&sent_at(&mut s, t2));
    let mut prompt_start = vec![0u8; 160];
    g711::encode_alaw(&goodbye.pcm[..160], &mut prompt_start);
    assert_eq!(payload(&prompt[0].1), prompt_start);
    // Unbridged, relayed audio is dropped.
    s.set_relay(false);
    s.relay(&tone);
    s.stop_playback();
    let t3 = t2 + Duration::from_millis(20);
    assert!(
        rtp_only(&sent_at(&mut s, t3)).is_empty(),
        "idle_media none again"
    );
}
