//! Cost per RTP packet on the hot paths of a call:
//!
//! - `receive/*`: one received 20 ms packet through the session — parse, latch check,
//!   reorder buffer, then telephone-event handling or G.711 decode + in-band Goertzel;
//! - `send/*`: one 20 ms prompt frame out of the session — pacing, encoded-prompt copy and
//!   RTP header;
//! - `g711/*`, `inband/*`: the parts alone (the detector on a 471 Hz tone, on a spoken
//!   prompt frame by frame, and on loud white noise).
//!
//! Run: `cargo bench -p deflect-media --bench media`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use deflect_media::dtmf::inband::InbandDetector;
use deflect_media::dtmf::telephone_event::TelephoneEvent;
use deflect_media::g711;
use deflect_media::playback::PromptLibrary;
use deflect_media::sdp::LocalDescription;
use deflect_media::session::{MediaSession, SessionConfig};
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                     m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn session(inband: bool, t0: Instant) -> MediaSession {
    let config = SessionConfig {
        inband_dtmf: inband,
        ..SessionConfig::default()
    };
    let local = LocalDescription::new("127.0.0.1".parse().expect("literal"), 20000);
    MediaSession::new(t0, SystemTime::now(), config, local, OFFER.as_bytes())
        .expect("valid offer")
        .0
}

/// Pre-built packets of a stream: audio (speech-like noise) or telephone-events.
fn packets(n: usize, pt: u8) -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(1);
    (0..n)
        .map(|i| {
            let payload: Vec<u8> = if pt == 101 {
                let ev = TelephoneEvent {
                    event: 5,
                    end: i % 10 >= 7,
                    volume: 10,
                    duration: 160 * (i % 10 + 1) as u16,
                };
                ev.to_bytes().to_vec()
            } else {
                (0..160)
                    .map(|_| g711::linear_to_ulaw(rng.i16(-3000..3000)))
                    .collect()
            };
            rtp_rs::RtpPacketBuilder::new()
                .payload_type(pt)
                .ssrc(7)
                .sequence((i as u16).into())
                .timestamp(if pt == 101 {
                    (i / 10 * 1600) as u32
                } else {
                    (i * 160) as u32
                })
                .payload(&payload)
                .build()
                .expect("packet")
        })
        .collect()
}

fn receive(c: &mut Criterion) {
    let peer = "192.0.2.1:4000".parse().expect("literal");
    let mut g = c.benchmark_group("receive");
    for (name, pt, inband) in [
        ("audio_decode_inband", 0u8, true),
        ("audio_no_inband", 0, false),
        ("rfc4733_event", 101, false),
    ] {
        let stream = packets(1000, pt);
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    let t0 = Instant::now();
                    (session(inband, t0), t0, 0usize)
                },
                |(s, t0, i)| {
                    for p in &stream {
                        *i += 1;
                        s.handle_rtp(
                            *t0 + Duration::from_millis(20 * *i as u64),
                            peer,
                            black_box(p),
                        );
                        while s.poll_event().is_some() {}
                    }
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

fn send(c: &mut Criterion) {
    let lib = PromptLibrary::builtin();
    let items = lib
        .resolve("en", &["offer_caller_number"])
        .expect("built-in prompt");
    let mut g = c.benchmark_group("send");
    g.bench_function("prompt_frame", |b| {
        b.iter_batched_ref(
            || {
                let t0 = Instant::now();
                let mut s = session(false, t0);
                s.play(items.clone(), true);
                (s, t0, 0u64, [0u8; 1500])
            },
            |(s, t0, i, buf)| {
                for _ in 0..1000 {
                    let now = *t0 + Duration::from_millis(20 * *i);
                    *i += 1;
                    while let Some(t) = s.poll_transmit(now, buf) {
                        black_box(&buf[..t.len]);
                    }
                    while s.poll_event().is_some() {}
                }
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn parts(c: &mut Criterion) {
    let pcm: Vec<i16> = (0..160)
        .map(|i| ((i as f32 * 0.37).sin() * 9000.0) as i16)
        .collect();
    let mut codes = [0u8; 160];
    let mut out = [0i16; 160];
    c.bench_function("g711/encode_ulaw_frame", |b| {
        b.iter(|| g711::encode_ulaw(black_box(&pcm), &mut codes))
    });
    c.bench_function("g711/decode_ulaw_frame", |b| {
        b.iter(|| g711::decode_ulaw(black_box(&codes), &mut out))
    });
    let mut det = InbandDetector::new();
    c.bench_function("inband/frame", |b| {
        b.iter(|| {
            det.process(black_box(&pcm), |d| {
                black_box(d);
            })
        })
    });
    // Speech: a built-in prompt frame by frame (pauses included), as a caller's audio.
    let library = PromptLibrary::builtin();
    let speech = library
        .get("en", "enter_number")
        .expect("built-in prompt")
        .pcm
        .clone();
    let mut frames = speech.chunks_exact(160).cycle();
    let mut det = InbandDetector::new();
    c.bench_function("inband/speech_frame", |b| {
        b.iter(|| {
            let frame = frames.next().expect("endless");
            det.process(black_box(frame), |d| {
                black_box(d);
            })
        })
    });
    let mut noise = fastrand::Rng::with_seed(3);
    let loud: Vec<i16> = (0..160).map(|_| noise.i16(-3000..3000)).collect();
    c.bench_function("inband/noise_frame", |b| {
        b.iter(|| {
            det.process(black_box(&loud), |d| {
                black_box(d);
            })
        })
    });
}

/// SRTP's cost per 20 ms packet: deflect's side encrypting one, the peer's decrypting it.
fn srtp(c: &mut Criterion) {
    use deflect_media::srtp::{Srtp, SrtpKeys, Suite};
    let mut plain = vec![0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    plain.extend_from_slice(&[0xD5; 160]);
    let mut g = c.benchmark_group("srtp");
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AeadAes128Gcm] {
        let (a, b) = (suite.new_key(), suite.new_key());
        let keys = |theirs: &[u8], ours: &[u8]| SrtpKeys {
            suite,
            theirs: theirs.to_vec(),
            ours: ours.to_vec(),
        };
        g.bench_function(format!("{}/protect_and_unprotect", suite.name()), |bench| {
            bench.iter_batched_ref(
                || {
                    let us = Srtp::new(&keys(&b, &a)).expect("keys of the suite's length");
                    let them = Srtp::new(&keys(&a, &b)).expect("keys of the suite's length");
                    (us, them, 0u16, [0u8; 1500])
                },
                |(us, them, seq, buf)| {
                    for _ in 0..1000 {
                        buf[..plain.len()].copy_from_slice(&plain);
                        buf[2..4].copy_from_slice(&seq.to_be_bytes());
                        *seq = seq.wrapping_add(1);
                        let len = us.protect_rtp(buf, plain.len()).expect("room for the tag");
                        black_box(them.unprotect_rtp(&buf[..len]));
                    }
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, receive, send, parts, srtp);
criterion_main!(benches);
