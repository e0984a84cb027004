//! Test harness: a virtual clock, an RTP sender that behaves like a phone, and a seeded
//! network emulator (loss, duplication, jitter → reordering).
#![allow(dead_code, clippy::unwrap_used)]

use deflect_media::dtmf::telephone_event::TelephoneEvent;
use deflect_media::sdp::LocalDescription;
use deflect_media::session::{MediaEvent, MediaSession, SessionConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

pub const PEER: &str = "192.0.2.1:4000";
pub const FRAME: Duration = Duration::from_millis(20);

pub fn offer(codec_pt: u8, te: Option<u8>) -> String {
    let mut s = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP {codec_pt}"
    );
    if let Some(te) = te {
        s.push_str(&format!(" {te}\r\na=rtpmap:{te} telephone-event/8000"));
    }
    s.push_str("\r\n");
    s
}

pub fn session(t0: Instant, config: SessionConfig, offer: &str) -> MediaSession {
    let local = LocalDescription::new("127.0.0.1".parse().unwrap(), 20000);
    MediaSession::new(t0, SystemTime::now(), config, local, offer.as_bytes())
        .unwrap()
        .0
}

pub fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

/// Runs the session's timers and sends (discarded) up to `until`; returns the events.
pub fn run_until(s: &mut MediaSession, until: Instant, events: &mut Vec<MediaEvent>) {
    let mut buf = [0u8; 1500];
    while let Some(t) = s.poll_timeout() {
        if t > until {
            break;
        }
        s.handle_timeout(t);
        while s.poll_transmit(t, &mut buf).is_some() {}
        events.extend(std::iter::from_fn(|| s.poll_event()));
    }
    events.extend(std::iter::from_fn(|| s.poll_event()));
}

pub fn digits(events: &[MediaEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Dtmf(d) => Some(d.digit.as_char()),
            _ => None,
        })
        .collect()
}

/// A packet as a phone sends it, with its send time.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Duration,
    pub bytes: Vec<u8>,
}

/// An RTP sender: 20 ms audio frames (`audio` gives each frame's payload) and RFC 4733
/// events in place of audio while a key is down, ends sent three times.
pub struct PhoneSender {
    pub ssrc: u32,
    pub seq: u16,
    pub timestamp: u32,
    pub audio_pt: u8,
    pub te_pt: u8,
    pub now: Duration,
    pub out: Vec<Sent>,
}

impl PhoneSender {
    pub fn new(audio_pt: u8, te_pt: u8, seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        Self {
            ssrc: rng.u32(..),
            seq: rng.u16(..),
            timestamp: rng.u32(..),
            audio_pt,
            te_pt,
            now: Duration::ZERO,
            out: Vec::new(),
        }
    }

    fn packet(&mut self, pt: u8, marker: bool, ts: u32, payload: &[u8]) {
        let bytes = rtp_rs::RtpPacketBuilder::new()
            .payload_type(pt)
            .ssrc(self.ssrc)
            .sequence(self.seq.into())
            .timestamp(ts)
            .marked(marker)
            .payload(payload)
            .build()
            .unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.out.push(Sent {
            at: self.now,
            bytes,
        });
    }

    /// `frames` frames of audio, each from `audio(frame index)`.
    pub fn audio(&mut self, frames: usize, mut audio: impl FnMut(usize) -> Vec<u8>) {
        for i in 0..frames {
            let payload = audio(i);
            let ts = self.timestamp;
            self.packet(self.audio_pt, false, ts, &payload);
            self.timestamp = self.timestamp.wrapping_add(160);
            self.now += FRAME;
        }
    }

    /// Silence (µ-law 0xFF) for `frames` frames.
    pub fn silence(&mut self, frames: usize) {
        self.audio(frames, |_| vec![0xFF; 160]);
    }

    /// One key press lasting `frames` frames.
    pub fn key(&mut self, event: u8, frames: usize) {
        let ts = self.timestamp;
        for i in 0..frames {
            let e = TelephoneEvent {
                event,
                end: false,
                volume: 10,
                duration: (160 * (i + 1)) as u16,
            };
            self.packet(self.te_pt, i == 0, ts, &e.to_bytes());
            self.now += FRAME;
        }
        let end = TelephoneEvent {
            event,
            end: true,
            volume: 10,
            duration: (160 * frames) as u16,
        };
        for _ in 0..3 {
            self.packet(self.te_pt, false, ts, &end.to_bytes());
        }
        self.timestamp = self.timestamp.wrapping_add((160 * frames) as u32);
        self.now += FRAME;
    }
}

/// A seeded network: each packet is lost with `loss`, duplicated with `duplicate`, and
/// delayed by a uniform 0..=`jitter` on top of 10 ms.
pub struct Netem {
    pub loss: f64,
    pub duplicate: f64,
    pub jitter: Duration,
    pub rng: fastrand::Rng,
}

impl Netem {
    /// Arrival times and packets, in arrival order.
    pub fn carry(&mut self, sent: &[Sent]) -> Vec<(Duration, Vec<u8>)> {
        let mut arrivals = Vec::new();
        for p in sent {
            if self.rng.f64() < self.loss {
                continue;
            }
            let copies = if self.rng.f64() < self.duplicate {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let delay = Duration::from_millis(10) + self.jitter.mul_f64(self.rng.f64());
                arrivals.push((p.at + delay, p.bytes.clone()));
            }
        }
        arrivals.sort_by_key(|(at, _)| *at);
        arrivals
    }
}

/// Feeds arrivals into the session at their times, running its timers in between; returns
/// all events.
pub fn deliver(
    s: &mut MediaSession,
    t0: Instant,
    arrivals: &[(Duration, Vec<u8>)],
    settle: Duration,
) -> Vec<MediaEvent> {
    let mut events = Vec::new();
    let mut last = Duration::ZERO;
    for (at, bytes) in arrivals {
        run_until(s, t0 + *at, &mut events);
        s.handle_rtp(t0 + *at, peer(), bytes);
        events.extend(std::iter::from_fn(|| s.poll_event()));
        last = *at;
    }
    run_until(s, t0 + last + settle, &mut events);
    events
}
