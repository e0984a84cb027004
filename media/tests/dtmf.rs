//! DTMF through the whole receive path of a session: RFC 4733 over a lossy, duplicating,
//! reordering network, SIP INFO, and the merging of sources.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_media::dtmf::{Digit, DtmfSource};
use deflect_media::session::{MediaEvent, SessionConfig};
use std::time::{Duration, Instant};

const KEYS: &[u8] = b"0123456789*#";

fn key_code(c: u8) -> u8 {
    Digit::from_char(char::from(c)).unwrap().event_code()
}

/// A random digit string and the packets a phone sends for it.
fn phone_sends(seed: u64) -> (String, Vec<Sent>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut tx = PhoneSender::new(0, 101, seed);
    tx.silence(rng.usize(1..10));
    let len = rng.usize(1..=16);
    let mut digits = String::new();
    for _ in 0..len {
        // Repeated keys are common in phone numbers; make them likely.
        let key = if !digits.is_empty() && rng.u8(..4) == 0 {
            *digits.as_bytes().last().unwrap()
        } else {
            KEYS[rng.usize(..KEYS.len())]
        };
        digits.push(char::from(key));
        tx.key(key_code(key), rng.usize(3..=10)); // 60–200 ms
        tx.silence(rng.usize(2..=10)); // 40–200 ms gap
    }
    (digits, tx.out)
}

#[test]
fn every_digit_string_is_recovered_exactly_once_over_a_bad_network() {
    let mut failures = Vec::new();
    let mut total_digits = 0;
    for seed in 0..400u64 {
        let (digits, sent) = phone_sends(seed);
        total_digits += digits.len();
        let mut rng = fastrand::Rng::with_seed(seed ^ 0xD7F);
        let mut net = Netem {
            loss: rng.f64() * 0.10,
            duplicate: rng.f64() * 0.10,
            jitter: Duration::from_millis(rng.u64(0..=60)),
            rng,
        };
        let arrivals = net.carry(&sent);
        let t0 = Instant::now();
        let config = SessionConfig {
            reorder_wait: Duration::ZERO,
            ..SessionConfig::default()
        };
        let mut s = session(t0, config, &offer(0, Some(101)));
        let events = deliver(&mut s, t0, &arrivals, Duration::from_secs(1));
        let got = digits_of(&events);
        if got != digits {
            failures.push(format!(
                "seed {seed}: sent {digits:?}, got {got:?} (loss {:.3}, jitter {:?})",
                net.loss, net.jitter
            ));
        }
        for e in &events {
            if let MediaEvent::Dtmf(d) = e {
                assert_eq!(d.source, DtmfSource::Rfc4733);
            }
        }
    }
    assert!(total_digits > 2500, "{total_digits}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn digits_of(events: &[MediaEvent]) -> String {
    digits(events)
}

#[test]
fn a_clean_network_gives_each_digit_at_its_first_packet() {
    let (digits, sent) = phone_sends(7);
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let arrivals: Vec<_> = sent.iter().map(|p| (p.at, p.bytes.clone())).collect();
    let events = deliver(&mut s, t0, &arrivals, Duration::from_millis(100));
    assert_eq!(digits_of(&events), digits);
    assert_eq!(s.stats().too_late, 0);
}

#[test]
fn events_straddling_a_reorder_keep_their_order() {
    // Two quick presses; the network delays every packet of the first one by 75 ms, so the
    // second press's first packets arrive before anything of the first.
    let mut tx = PhoneSender::new(0, 101, 1);
    tx.silence(5);
    tx.key(key_code(b'1'), 2);
    tx.key(key_code(b'2'), 3);
    let first = 5..10; // two packets and three ends
    let arrivals: Vec<_> = {
        let mut a: Vec<_> = tx
            .out
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let delay = if first.contains(&i) { 75 } else { 0 };
                (p.at + Duration::from_millis(delay), p.bytes.clone())
            })
            .collect();
        a.sort_by_key(|(at, _)| *at);
        a
    };
    assert_eq!(
        arrivals[5].1, tx.out[10].bytes,
        "the second press arrives first"
    );
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let events = deliver(&mut s, t0, &arrivals, Duration::from_secs(1));
    assert_eq!(digits_of(&events), "12");
    // Without the reorder buffer's wait the first press would be lost as stale.
    let config = SessionConfig {
        reorder_wait: Duration::ZERO,
        ..SessionConfig::default()
    };
    let mut s = session(t0, config, &offer(0, Some(101)));
    let events = deliver(&mut s, t0, &arrivals, Duration::from_secs(1));
    assert_eq!(digits_of(&events), "2");
}

#[test]
fn info_digits_join_the_same_stream_and_duplicates_across_sources_count_once() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    s.handle_info_dtmf(
        t0,
        "application/dtmf-relay",
        b"Signal=4\r\nDuration=160\r\n",
    )
    .unwrap();
    s.handle_info_dtmf(t0 + Duration::from_millis(400), "application/dtmf", b"#")
        .unwrap();
    assert!(s.handle_info_dtmf(t0, "text/plain", b"5").is_err());
    // The carrier also sends RFC 4733 for the next press: the same key from two sources.
    let mut tx = PhoneSender::new(0, 101, 3);
    tx.now = Duration::from_secs(1);
    tx.key(key_code(b'7'), 5);
    let arrivals: Vec<_> = tx.out.iter().map(|p| (p.at, p.bytes.clone())).collect();
    s.handle_info_dtmf(
        t0 + Duration::from_millis(1050),
        "application/dtmf-relay",
        b"Signal=7",
    )
    .unwrap();
    let mut events: Vec<MediaEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    events.extend(deliver(&mut s, t0, &arrivals, Duration::from_millis(600)));
    let got: Vec<(char, DtmfSource)> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Dtmf(d) => Some((d.digit.as_char(), d.source)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ('4', DtmfSource::SipInfo),
            ('#', DtmfSource::SipInfo),
            ('7', DtmfSource::SipInfo)
        ]
    );
}

#[test]
fn a_key_press_barges_in_on_a_prompt_that_allows_it() {
    use deflect_media::playback::{PlaybackEnd, PromptLibrary};
    let lib = PromptLibrary::builtin();
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let keep = s.play(lib.resolve("en", &["welcome"]).unwrap(), false);
    s.stop_playback();
    let first: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(
        first,
        vec![MediaEvent::Playback {
            id: keep,
            end: PlaybackEnd::Interrupted
        }]
    );
    let id = s.play(lib.resolve("en", &["enter_number"]).unwrap(), true);
    let mut tx = PhoneSender::new(0, 101, 9);
    tx.now = Duration::from_millis(500);
    tx.key(key_code(b'3'), 4);
    let arrivals: Vec<_> = tx.out.iter().map(|p| (p.at, p.bytes.clone())).collect();
    let events = deliver(&mut s, t0, &arrivals, Duration::from_millis(100));
    let dtmf = events
        .iter()
        .position(|e| matches!(e, MediaEvent::Dtmf(_)))
        .unwrap();
    assert_eq!(
        events[dtmf + 1],
        MediaEvent::Playback {
            id,
            end: PlaybackEnd::Interrupted
        }
    );
}

#[test]
fn digits_sent_by_one_session_are_received_once_each_by_another() {
    use deflect_media::dtmf::Digit;
    let t0 = Instant::now();
    let mut sender = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let mut receiver = session(t0, SessionConfig::default(), &offer(0, Some(101)));
    let keys: Vec<Digit> = "0612345678#"
        .chars()
        .map(|c| Digit::from_char(c).unwrap())
        .collect();
    sender
        .send_dtmf(&keys, Duration::from_millis(100), Duration::from_millis(60))
        .unwrap();
    let mut buf = [0u8; 1500];
    let (mut sent_events, mut received) = (Vec::new(), Vec::new());
    let mut event_packets = 0;
    let until = t0 + Duration::from_secs(3);
    while let Some(t) = sender.poll_timeout() {
        if t > until {
            break;
        }
        sender.handle_timeout(t);
        while let Some(tx) = sender.poll_transmit(t, &mut buf) {
            if tx.channel == deflect_media::session::Channel::Rtp {
                let r = rtp_rs::RtpReader::new(&buf[..tx.len]).unwrap();
                if r.payload_type() == 101 {
                    event_packets += 1;
                    assert_eq!(r.payload().len(), 4);
                }
                receiver.handle_rtp(t, peer(), &buf[..tx.len]);
            }
        }
        sent_events.extend(std::iter::from_fn(|| sender.poll_event()));
        receiver.handle_timeout(t);
        received.extend(std::iter::from_fn(|| receiver.poll_event()));
    }
    let sent: String = sent_events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::DtmfSent(d) => Some(d.as_char()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, "0612345678#");
    let started: String = sent_events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::DtmfStarted(d) => Some(d.as_char()),
            _ => None,
        })
        .collect();
    assert_eq!(started, "0612345678#");
    assert_eq!(digits(&received), "0612345678#");
    // 100 ms of tone is five packets, then two more ends: seven per digit.
    assert_eq!(event_packets, 7 * 11);
}

#[test]
fn a_session_without_telephone_event_refuses_to_send_digits() {
    let t0 = Instant::now();
    let mut s = session(t0, SessionConfig::default(), &offer(0, None));
    let five = deflect_media::dtmf::Digit::from_char('5').unwrap();
    assert!(
        s.send_dtmf(&[five], Duration::from_millis(100), Duration::ZERO)
            .is_err()
    );
}
