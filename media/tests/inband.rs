//! In-band DTMF: generated tone sequences with noise are detected exactly; speech (espeak-ng
//! fixtures in tests/data, made by scripts/generate-prompts) produces no digit.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_media::dtmf::DtmfSource;
use deflect_media::dtmf::inband::InbandDetector;
use deflect_media::g711;
use deflect_media::playback::read_wav;
use deflect_media::session::{MediaEvent, SessionConfig};
use std::f64::consts::PI;
use std::time::{Duration, Instant};

const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: &str = "123A456B789C*0#D";

/// Peak amplitude of a 0 dBm0 sine in 16-bit G.711.
const DBM0: f64 = 22_701.0;

fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    // Box–Muller.
    let u1 = rng.f64().max(1e-12);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// A digit string as tones: each key 40–120 ms, at a level of -25…-5 dBm0 per tone for the
/// sequence (±2 dB per key), up to ±3 dB twist and ±1.5 % frequency error, 40–120 ms gaps,
/// and white noise throughout 20 dB below the weakest key (SNR ≥ 20 dB for every key).
fn tones(seed: u64) -> (String, Vec<i16>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut keys = String::new();
    let mut clean: Vec<f64> = Vec::new();
    let gap = |rng: &mut fastrand::Rng, out: &mut Vec<f64>| {
        let n = 8 * rng.usize(40..=120);
        out.extend(std::iter::repeat_n(0.0, n));
    };
    gap(&mut rng, &mut clean);
    let mut weakest = f64::MAX;
    let sequence_level = -23.0 + 16.0 * rng.f64();
    for _ in 0..rng.usize(1..=12) {
        let k = rng.usize(..16);
        keys.push(KEYS.as_bytes()[k] as char);
        let level = sequence_level - 2.0 + 4.0 * rng.f64();
        let twist = -3.0 + 6.0 * rng.f64();
        let a_row = DBM0 * 10f64.powf((level + twist / 2.0) / 20.0);
        let a_col = DBM0 * 10f64.powf((level - twist / 2.0) / 20.0);
        let f_row = ROWS[k / 4] * (1.0 + 0.015 * (2.0 * rng.f64() - 1.0));
        let f_col = COLS[k % 4] * (1.0 + 0.015 * (2.0 * rng.f64() - 1.0));
        let n = 8 * rng.usize(40..=120);
        let phase = rng.f64() * 2.0 * PI;
        for i in 0..n {
            let t = i as f64 / 8000.0;
            let v =
                a_row * (2.0 * PI * f_row * t + phase).sin() + a_col * (2.0 * PI * f_col * t).sin();
            clean.push(v);
        }
        weakest = weakest.min((a_row * a_row + a_col * a_col) / 2.0);
        gap(&mut rng, &mut clean);
    }
    let noise_rms = (weakest / 100.0).sqrt();
    let pcm = clean
        .iter()
        .map(|v| {
            (v + noise_rms * gaussian(&mut rng))
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect();
    (keys, pcm)
}

/// Through G.711 and back, as the audio reaches the detector in a call.
fn through(law: u8, pcm: &[i16]) -> Vec<i16> {
    pcm.iter()
        .map(|&s| match law {
            0 => g711::ulaw_to_linear(g711::linear_to_ulaw(s)),
            _ => g711::alaw_to_linear(g711::linear_to_alaw(s)),
        })
        .collect()
}

fn detect(pcm: &[i16], frame: usize) -> String {
    let mut d = InbandDetector::new();
    let mut out = String::new();
    for f in pcm.chunks(frame) {
        d.process(f, |k| out.push(k.as_char()));
    }
    out
}

#[test]
fn tone_sequences_with_noise_are_detected_exactly() {
    let mut failures = Vec::new();
    for seed in 0..300 {
        let (keys, pcm) = tones(seed);
        for law in [0u8, 8] {
            let frame = [160, 80, 240][seed as usize % 3];
            let got = detect(&through(law, &pcm), frame);
            if got != keys {
                failures.push(format!("seed {seed} law {law}: sent {keys:?} got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn too_short_tones_and_single_tones_are_not_digits() {
    let tone = |freqs: &[f64], ms: usize| -> Vec<i16> {
        (0..8 * ms)
            .map(|i| {
                let t = i as f64 / 8000.0;
                freqs
                    .iter()
                    .map(|f| 6000.0 * (2.0 * PI * f * t).sin())
                    .sum::<f64>() as i16
            })
            .collect()
    };
    let mut pcm = vec![0i16; 800];
    pcm.extend(tone(&[770.0, 1336.0], 15)); // shorter than one window
    pcm.extend(vec![0i16; 800]);
    pcm.extend(tone(&[770.0], 200)); // one tone only
    pcm.extend(vec![0i16; 800]);
    pcm.extend(tone(&[770.0, 1336.0, 1000.0], 200)); // a third tone: not DTMF
    pcm.extend(vec![0i16; 800]);
    assert_eq!(detect(&pcm, 160), "");
    // Twist beyond 8 dB: the column tone 12 dB below the row tone.
    let twisted: Vec<i16> = (0..1600)
        .map(|i| {
            let t = i as f64 / 8000.0;
            (8000.0 * (2.0 * PI * 770.0 * t).sin() + 2000.0 * (2.0 * PI * 1336.0 * t).sin()) as i16
        })
        .collect();
    assert_eq!(detect(&twisted, 160), "");
}

#[test]
fn a_held_key_is_one_digit_and_a_repeat_after_a_gap_is_two() {
    let key5 = |ms: usize| -> Vec<i16> {
        (0..8 * ms)
            .map(|i| {
                let t = i as f64 / 8000.0;
                (5000.0 * ((2.0 * PI * 770.0 * t).sin() + (2.0 * PI * 1336.0 * t).sin())) as i16
            })
            .collect()
    };
    let mut pcm = key5(2000);
    pcm.extend(vec![0i16; 8 * 45]);
    pcm.extend(key5(45));
    pcm.extend(vec![0i16; 800]);
    assert_eq!(detect(&pcm, 160), "55");
}

#[test]
fn speech_produces_no_digit() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut seconds = 0.0;
    for name in [
        "speech-en-male.wav",
        "speech-en-female.wav",
        "speech-en-us.wav",
    ] {
        let pcm = read_wav(std::fs::File::open(format!("{dir}/{name}")).unwrap()).unwrap();
        seconds += pcm.len() as f64 / 8000.0;
        for law in [0u8, 8] {
            // Also louder, as a hot microphone would give.
            for gain in [1.0f64, 2.5] {
                let loud: Vec<i16> = pcm
                    .iter()
                    .map(|&s| (f64::from(s) * gain).clamp(-32768.0, 32767.0) as i16)
                    .collect();
                assert_eq!(
                    detect(&through(law, &loud), 160),
                    "",
                    "{name} law {law} gain {gain}"
                );
            }
        }
    }
    assert!(seconds > 20.0, "{seconds}");
}

#[test]
fn inband_digits_reach_the_session_stream_only_when_enabled() {
    let (keys, pcm) = tones(42);
    let encoded: Vec<u8> = pcm.iter().map(|&s| g711::linear_to_ulaw(s)).collect();
    let frames: Vec<Vec<u8>> = encoded.chunks(160).map(<[u8]>::to_vec).collect();
    for enabled in [true, false] {
        let mut tx = PhoneSender::new(0, 101, 5);
        tx.audio(frames.len(), |i| {
            let mut f = frames[i].clone();
            f.resize(160, 0xFF);
            f
        });
        let arrivals: Vec<_> = tx.out.iter().map(|p| (p.at, p.bytes.clone())).collect();
        let t0 = Instant::now();
        let config = SessionConfig {
            inband_dtmf: enabled,
            ..SessionConfig::default()
        };
        let mut s = session(t0, config, &offer(0, Some(101)));
        let events = deliver(&mut s, t0, &arrivals, Duration::from_millis(100));
        let expect = if enabled { keys.as_str() } else { "" };
        assert_eq!(digits(&events), expect);
        assert!(events.iter().all(|e| match e {
            MediaEvent::Dtmf(d) => d.source == DtmfSource::InBand,
            _ => true,
        }));
    }
}
