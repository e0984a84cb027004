//! A WebRTC call's media on the virtual clock: deflect's [`WebRtcSession`] answers an
//! ICE-lite caller offering Opus and telephone-event/8000 as WhatsApp does, or offers a
//! call to an ICE-lite callee answering as WhatsApp does; ICE, DTLS and SRTP run for real
//! over an in-memory link.
#![allow(clippy::unwrap_used)]

use deflect_media::dtmf::Digit;
use deflect_media::playback::{PlayItem, Prompt};
use deflect_media::session::{MediaEvent, SessionConfig};
use deflect_media::webrtc::{CONNECT_WITHIN, WebRtcCaller, WebRtcOffer, WebRtcSession};
use std::f64::consts::TAU;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const DEFLECT: &str = "192.0.2.10:40000";
const CALLER: &str = "198.51.100.7:3484";
const STEP: Duration = Duration::from_millis(1);

fn addr(address: &str) -> SocketAddr {
    address.parse().unwrap()
}

struct Call {
    now: Instant,
    deflect: WebRtcSession,
    caller: WebRtcCaller,
    answer: String,
    events: Vec<MediaEvent>,
}

impl Call {
    /// A caller's offer answered; the answer reaches the caller when `deliver_answer`.
    fn start(deliver_answer: bool) -> Self {
        let now = Instant::now();
        let (mut caller, offer) = WebRtcCaller::offer(now, addr(CALLER), true).unwrap();
        assert!(offer.contains("a=ice-lite"), "{offer}");
        let (deflect, answer) = WebRtcSession::answer(
            now,
            SystemTime::now(),
            SessionConfig::default(),
            addr(DEFLECT),
            &offer,
        )
        .unwrap();
        if deliver_answer {
            caller.answered(now, &answer).unwrap();
        }
        Self {
            now,
            deflect,
            caller,
            answer,
            events: Vec::new(),
        }
    }

    /// deflect places a call: an ICE-lite callee answers its offer `answer_after` later (the
    /// customer took the call), and the answer reaches deflect at once.
    fn placed(answer_after: Duration) -> Self {
        let offered_at = Instant::now();
        let (offered, offer) = WebRtcOffer::new(offered_at, addr(DEFLECT)).unwrap();
        let now = offered_at + answer_after;
        let (caller, answer) = WebRtcCaller::answer(now, addr(CALLER), true, &offer).unwrap();
        let deflect = offered
            .answered(now, SystemTime::now(), SessionConfig::default(), &answer)
            .unwrap();
        Self {
            now,
            deflect,
            caller,
            answer: offer,
            events: Vec::new(),
        }
    }

    /// Moves the clock by one step: datagrams cross the link, timers run.
    fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        let mut buf = vec![0u8; 1500];
        while let Some(t) = self.deflect.poll_transmit(now, &mut buf) {
            if t.destination == addr(CALLER) {
                self.caller
                    .handle_datagram(now, addr(DEFLECT), &buf[..t.len]);
            }
        }
        while let Some(t) = self.caller.poll_transmit(&mut buf) {
            if t.destination == addr(DEFLECT) {
                self.deflect
                    .handle_datagram(now, addr(CALLER), &buf[..t.len]);
            }
        }
        self.deflect.handle_timeout(now);
        self.caller.handle_timeout(now);
        while let Some(e) = self.deflect.poll_event() {
            self.events.push(e);
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            self.step();
        }
    }

    fn run_until(&mut self, what: &str, limit: Duration, done: impl Fn(&Self) -> bool) {
        let until = self.now + limit;
        while !done(self) {
            assert!(self.now < until, "not within {limit:?}: {what}");
            self.step();
        }
    }

    /// The caller speaks a 1 kHz tone for `frames` × 20 ms.
    fn speak(&mut self, frames: usize) {
        for i in 0..frames {
            let frame: [i16; 160] = tone(1000.0, 160, i * 160).try_into().unwrap();
            self.caller.send_audio(self.now, &frame);
            self.run_for(Duration::from_millis(20));
        }
    }

    /// The caller's audio deflect heard (its tapped frames).
    fn voice(&self) -> Vec<i16> {
        (self.events.iter())
            .filter_map(|e| match e {
                MediaEvent::Audio(frame) => Some(frame.samples.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The digits deflect heard.
    fn digits(&self) -> Vec<char> {
        (self.events.iter())
            .filter_map(|e| match e {
                MediaEvent::Dtmf(d) => Some(d.digit.as_char()),
                _ => None,
            })
            .collect()
    }

    fn connected(&mut self) {
        self.run_until("connected", Duration::from_secs(2), |c| {
            c.deflect.is_connected() && c.caller.is_connected()
        });
    }
}

fn tone(frequency: f64, samples: usize, phase: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| ((TAU * frequency * (phase + i) as f64 / 8000.0).sin() * 8000.0) as i16)
        .collect()
}

fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

#[test]
fn the_answer_is_what_whatsapp_takes() {
    let call = Call::start(false);
    let answer = &call.answer;
    let fingerprints: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=fingerprint:"))
        .collect();
    assert_eq!(fingerprints.len(), 1, "{answer}");
    assert!(
        fingerprints[0].starts_with("a=fingerprint:sha-256 "),
        "{answer}"
    );
    assert!(answer.contains("a=setup:active"), "{answer}");
    assert!(answer.contains("opus/48000/2"), "{answer}");
    assert!(answer.contains("telephone-event/8000"), "{answer}");
    assert!(
        answer.contains(" 192.0.2.10 40000 typ host"),
        "the host candidate is the given address: {answer}"
    );
}

#[test]
fn a_prompt_is_heard_from_its_start_once_connected() {
    let mut call = Call::start(false);
    // Played at once, while the caller takes its time with the answer: nothing of it may
    // be lost.
    let prompt = Arc::new(Prompt::from_pcm("tone", tone(440.0, 4000, 0)));
    let id = call
        .deflect
        .session()
        .play(vec![PlayItem::Prompt(prompt)], false);
    call.run_for(Duration::from_millis(300));
    assert!(!call.deflect.is_connected());
    call.caller
        .answered(call.now, &call.answer.clone())
        .unwrap();
    call.connected();
    call.run_until("the prompt ended", Duration::from_secs(2), |c| {
        c.events
            .iter()
            .any(|e| matches!(e, MediaEvent::Playback { id: ended, .. } if *ended == id))
    });
    call.run_for(Duration::from_millis(100));
    let heard = call.caller.take_heard();
    // 0.5 s of tone in 20 ms frames, then quiet frames.
    let loud: Vec<f64> = heard.chunks(160).map(rms).collect();
    let loud_frames = loud.iter().filter(|r| **r > 2000.0).count();
    assert!(
        (24..=26).contains(&loud_frames),
        "0.5 s of tone is 25 loud frames (give or take Opus's delay), heard {loud_frames}: {loud:?}"
    );
    assert!(loud[0] > 2000.0, "the tone's start is heard: {loud:?}");
    assert!(
        loud.last().is_some_and(|r| *r < 200.0),
        "then quiet: {loud:?}"
    );
}

#[test]
fn the_callers_digits_and_voice_arrive() {
    let mut call = Call::start(true);
    call.connected();
    call.deflect.session().set_tap(true);
    call.speak(25);
    call.caller
        .send_digit(call.now, Digit::from_char('5').unwrap(), 5);
    call.run_for(Duration::from_millis(200));
    assert_eq!(call.digits(), ['5']);
    let voice = call.voice();
    assert!(voice.len() >= 20 * 160, "heard {} samples", voice.len());
    assert!(
        rms(&voice[1600..]) > 3000.0,
        "the tone arrives: {}",
        rms(&voice)
    );
}

#[test]
fn deflects_offer_is_what_whatsapp_takes_and_its_call_carries_audio_both_ways() {
    let (_, offer) = WebRtcOffer::new(Instant::now(), addr(DEFLECT)).unwrap();
    let fingerprints = offer.lines().filter(|l| l.starts_with("a=fingerprint:"));
    assert_eq!(fingerprints.count(), 1, "{offer}");
    assert!(offer.contains("a=fingerprint:sha-256 "), "{offer}");
    assert!(offer.contains("a=setup:actpass"), "{offer}");
    assert!(
        !offer.contains("a=ice-lite"),
        "deflect is a full ICE agent: {offer}"
    );
    assert!(offer.contains("opus/48000/2"), "{offer}");
    assert!(offer.contains("telephone-event/8000"), "{offer}");
    assert!(offer.contains(" 192.0.2.10 40000 typ host"), "{offer}");

    // The customer's phone rang for longer than a connection may take to come up: the
    // time for it starts with the answer.
    let mut call = Call::placed(CONNECT_WITHIN + Duration::from_secs(5));
    call.connected();
    call.deflect.session().set_tap(true);
    let prompt = Arc::new(Prompt::from_pcm("tone", tone(440.0, 4000, 0)));
    call.deflect
        .session()
        .play(vec![PlayItem::Prompt(prompt)], false);
    call.speak(25);
    call.caller
        .send_digit(call.now, Digit::from_char('7').unwrap(), 5);
    call.run_for(Duration::from_millis(200));
    let heard = call.caller.take_heard();
    assert!(
        rms(&heard) > 2000.0,
        "the callee hears deflect: {}",
        rms(&heard)
    );
    let voice = call.voice();
    assert!(voice.len() >= 20 * 160, "heard {} samples", voice.len());
    assert!(rms(&voice[1600..]) > 3000.0, "deflect hears the callee");
    assert_eq!(call.digits(), ['7']);
    assert!(
        !(call.events.iter()).any(|e| matches!(e, MediaEvent::RtpTimeout { .. })),
        "{:?}",
        call.events
    );
}

#[test]
fn a_connection_that_never_comes_up_ends_the_call() {
    // The caller never learns the answer: no ICE, no DTLS.
    let mut call = Call::start(false);
    call.run_for(CONNECT_WITHIN - Duration::from_millis(10));
    assert!(
        !call
            .events
            .iter()
            .any(|e| matches!(e, MediaEvent::RtpTimeout { .. })),
        "not before {CONNECT_WITHIN:?}"
    );
    call.run_for(Duration::from_millis(20));
    assert!(
        call.events
            .iter()
            .any(|e| matches!(e, MediaEvent::RtpTimeout { .. })),
        "{:?}",
        call.events
    );
}

#[test]
fn a_strangers_datagrams_change_nothing() {
    let mut call = Call::start(true);
    call.connected();
    let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
    for junk in [
        &b"hello world"[..],
        &[0x80, 111, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3],
        &[
            0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ],
        &[22, 254, 253, 0, 0],
    ] {
        call.deflect.handle_datagram(call.now, stranger, junk);
    }
    call.caller
        .send_digit(call.now, Digit::from_char('#').unwrap(), 3);
    call.run_for(Duration::from_millis(200));
    assert!(call.deflect.is_connected());
    assert!(
        call.events
            .iter()
            .any(|e| matches!(e, MediaEvent::Dtmf(d) if d.digit.as_char() == '#')),
        "{:?}",
        call.events
    );
}

#[test]
fn closing_says_so_and_stops_the_media() {
    let mut call = Call::start(true);
    call.connected();
    call.run_for(Duration::from_millis(100));
    assert!(!call.caller.take_heard().is_empty(), "media flows");
    call.deflect.close();
    let mut buf = vec![0u8; 1500];
    let close = call
        .deflect
        .poll_transmit(call.now, &mut buf)
        .expect("DTLS close_notify");
    assert_eq!(close.destination, addr(CALLER));
    assert_eq!(buf[0], 21, "a DTLS alert record");
    assert!(call.deflect.poll_transmit(call.now, &mut buf).is_none());
    call.run_for(Duration::from_millis(100));
    assert!(
        call.caller.take_heard().is_empty(),
        "nothing after the close"
    );
    assert!(call.deflect.poll_timeout().is_none());
}
