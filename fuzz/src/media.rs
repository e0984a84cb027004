//! The media targets: SDP offer/answer and a live media session ([`deflect_media`]).

use deflect_config::Codec;
use deflect_media::playback::PlayItem;
use deflect_media::sdp::{LocalDescription, SessionDescription, answer_offer};
use deflect_media::session::{Channel, MediaSession, SessionConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

/// `sdp`: an offer from the network answered; the answer parses, keeps one m-line per
/// offered one (RFC 3264 §6), and answering the same offer again gives the same body.
pub fn sdp(data: &[u8]) {
    let mut local = LocalDescription::new([127, 0, 0, 1].into(), 20000);
    let Ok((answer, negotiated)) = answer_offer(data, &[Codec::Pcmu, Codec::Pcma], &mut local)
    else {
        return;
    };
    let offer = SessionDescription::parse(data).expect("an answered offer parses");
    let parsed = SessionDescription::parse(answer.as_bytes())
        .unwrap_or_else(|e| panic!("our answer does not parse ({e}):\n{answer}"));
    assert_eq!(parsed.media.len(), offer.media.len(), "{answer}");
    let ours = &parsed.media[negotiated.media_index];
    assert_eq!(ours.direction, Some(negotiated.direction), "{answer}");
    let (again, _) = answer_offer(data, &[Codec::Pcmu, Codec::Pcma], &mut local)
        .expect("the same offer is answered again");
    assert_eq!(again, answer, "the same offer, another answer");
}

/// The peer's offer that starts every `rtp_session` run.
pub const OFFER: &[u8] =
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
/// Where the peer's RTP comes from.
pub const PEER: &str = "192.0.2.1:4000";
/// Someone else sending to the call's port.
pub const STRANGER: &str = "198.51.100.7:4000";

/// What one `rtp_session` record does (its first byte, modulo the number of kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Record {
    /// An RTP datagram from the peer.
    Rtp = 0,
    /// An RTP datagram from a stranger.
    StrangerRtp = 1,
    /// An RTCP datagram from the peer's RTCP port.
    Rtcp = 2,
    /// A SIP INFO body of type `application/dtmf-relay`.
    InfoRelay = 3,
    /// A SIP INFO body of type `application/dtmf`.
    InfoDtmf = 4,
    /// A re-offer (re-INVITE or UPDATE) with this SDP.
    ReOffer = 5,
    /// Time passes: the first two bytes, big-endian, in milliseconds (at most ~3 s).
    Wait = 6,
    /// Local hold on (odd first byte) or off.
    Hold = 7,
    /// A prompt starts (silence, first byte × 10 ms), with barge-in when odd; an empty record
    /// stops playback; the tap follows the second byte.
    Play = 8,
}

impl Record {
    const ALL: [Record; 9] = [
        Record::Rtp,
        Record::StrangerRtp,
        Record::Rtcp,
        Record::InfoRelay,
        Record::InfoDtmf,
        Record::ReOffer,
        Record::Wait,
        Record::Hold,
        Record::Play,
    ];

    /// Encodes a record: kind, length (u16 big-endian), bytes. Seeds are written with it.
    pub fn encode(self, bytes: &[u8], out: &mut Vec<u8>) {
        let len = u16::try_from(bytes.len()).expect("a record is at most 64 KiB");
        out.push(self as u8);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
}

/// Splits `rtp_session` input into records: `[kind][length u16 BE][bytes]`, the last one
/// cut short by the end of the input.
fn records(mut data: &[u8]) -> impl Iterator<Item = (Record, &[u8])> {
    std::iter::from_fn(move || {
        let (&kind, rest) = data.split_first()?;
        let kind = Record::ALL[usize::from(kind) % Record::ALL.len()];
        let (len, rest) = match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
            _ => (0, &[][..]),
        };
        let (bytes, rest) = rest.split_at(len.min(rest.len()));
        data = rest;
        Some((kind, bytes))
    })
}

/// `rtp_session`: a call's media session fed a script of records (see [`Record`]). Nothing
/// panics, and while the call is on hold — by either side, RFC 3264 §8.4 — no RTP leaves.
pub fn rtp_session(data: &[u8]) {
    let t0 = Instant::now();
    let local = LocalDescription::new([127, 0, 0, 1].into(), 20000);
    let config = SessionConfig {
        inband_dtmf: true,
        rtp_timeout: Duration::from_secs(2),
        ..SessionConfig::default()
    };
    let (mut s, _) = MediaSession::new(t0, SystemTime::now(), config, local, OFFER)
        .expect("the fixed offer is answered");
    let peer: SocketAddr = PEER.parse().expect("literal address");
    let stranger: SocketAddr = STRANGER.parse().expect("literal address");
    let peer_rtcp = SocketAddr::new(peer.ip(), peer.port() + 1);
    let mut session = Held {
        s: &mut s,
        local_hold: false,
    };
    let mut now = t0;
    for (kind, bytes) in records(data).take(2000) {
        now += Duration::from_millis(10);
        let s = &mut *session.s;
        match kind {
            Record::Rtp => s.handle_rtp(now, peer, bytes),
            Record::StrangerRtp => s.handle_rtp(now, stranger, bytes),
            Record::Rtcp => s.handle_rtcp(now, peer_rtcp, bytes),
            Record::InfoRelay => {
                let _ = s.handle_info_dtmf(now, "application/dtmf-relay", bytes);
            }
            Record::InfoDtmf => {
                let _ = s.handle_info_dtmf(now, "application/dtmf", bytes);
            }
            Record::ReOffer => {
                let _ = s.renegotiate(now, bytes);
            }
            Record::Wait => {
                let ms = match bytes {
                    [a, b, ..] => u64::from(u16::from_be_bytes([*a, *b])) % 3000,
                    _ => 20,
                };
                let until = now + Duration::from_millis(ms);
                session.run_until(until);
                now = until;
            }
            Record::Hold => {
                let on = bytes.first().is_some_and(|b| b % 2 == 1);
                s.set_hold(now, on);
                session.local_hold = on;
            }
            Record::Play => match bytes {
                [] => s.stop_playback(),
                [len, rest @ ..] => {
                    let pause = Duration::from_millis(u64::from(*len) * 10);
                    s.play(vec![PlayItem::Silence(pause)], len % 2 == 1);
                    s.set_tap(rest.first().is_some_and(|b| b % 2 == 1));
                }
            },
        }
        session.handle_timeout(now);
    }
    let end = now + Duration::from_secs(3);
    session.run_until(end);
}

/// A session and whether this side holds the call, for the hold check.
struct Held<'a> {
    s: &'a mut MediaSession,
    local_hold: bool,
}

impl Held<'_> {
    /// Timers and sends up to `until`, as a driver would (bounded).
    fn run_until(&mut self, until: Instant) {
        for _ in 0..1000 {
            match self.s.poll_timeout() {
                Some(t) if t <= until => self.handle_timeout(t),
                _ => break,
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
        let mut buf = [0u8; deflect_media::session::MAX_DATAGRAM];
        for _ in 0..100 {
            let held = self.local_hold || self.s.media().on_hold();
            let Some(t) = self.s.poll_transmit(now, &mut buf) else {
                break;
            };
            assert!(
                !(held && t.channel == Channel::Rtp),
                "RTP sent to {} while the call is on hold ({:?})",
                t.destination,
                self.s.media()
            );
        }
        while self.s.poll_event().is_some() {}
    }
}
