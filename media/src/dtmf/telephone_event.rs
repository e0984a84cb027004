//! RFC 4733 telephone-events (§2.3 payload, §2.5 receiver rules) for DTMF digits.
//!
//! One key press is one *event*, identified by its RTP timestamp: the sender repeats the
//! event in packets with the same timestamp and a growing duration (start, continuations),
//! then sends the end packet (E bit) usually three times. A receiver must cope with every
//! kind of loss and repetition, so [`TelephoneEventReceiver`] reports a digit on the first
//! packet of a timestamp it has not seen — start, continuation or end alike, which makes a lost
//! start harmless — and ignores every later packet of that timestamp and any packet older than
//! the newest event (retransmitted ends, duplicates, stragglers of a reorder). Two presses of
//! the same key differ by timestamp, so both count. An event whose end never arrives is
//! closed after [`END_TIMEOUT`] without a packet. An event longer than the 16-bit duration
//! field (about 8 s at 8 kHz) continues under a new timestamp (§2.5.1.3); that segment is
//! recognised and not counted again.
//!
//! Packets should come through the session's reorder buffer, so events arrive in sequence
//! order and digits come out in the order pressed.
//!
//! [`TelephoneEventSender`] is the other direction (the test dialler and load generator send
//! digits this way): each digit is a start packet (marker bit), continuations every packet
//! time with the duration growing, and the end packet sent three times (§2.5.1.4), all
//! under the timestamp at which the tone began; a gap of silence separates digits.

use super::Digit;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// An event with no packet for this long is over (its end packets were lost).
pub const END_TIMEOUT: Duration = Duration::from_millis(500);

/// A telephone-event payload (RFC 4733 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 are the DTMF keys).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Volume, 0 to -63 dBm0 as 0–63.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

/// A telephone-event payload shorter than four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("telephone-event payload of {0} bytes; at least 4 are needed")]
pub struct ShortPayload(pub usize);

impl TelephoneEvent {
    /// Reads the first event of a payload (redundant events after it are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, ShortPayload> {
        let &[event, flags, d0, d1, ..] = payload else {
            return Err(ShortPayload(payload.len()));
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The four payload bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d0,
            d1,
        ]
    }
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    ended: bool,
    duration: u16,
    last_packet: Instant,
}

/// Turns telephone-event packets into digits, each press once (see the module docs).
///
/// Drive it with [`handle_packet`](Self::handle_packet) for each packet in sequence order and
/// [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout) is due.
///
/// ```
/// use deflect_media::dtmf::telephone_event::{TelephoneEvent, TelephoneEventReceiver};
/// use std::time::Instant;
///
/// let mut rx = TelephoneEventReceiver::default();
/// let now = Instant::now();
/// let start = TelephoneEvent { event: 5, end: false, volume: 10, duration: 160 }.to_bytes();
/// let end = TelephoneEvent { event: 5, end: true, volume: 10, duration: 800 }.to_bytes();
/// assert_eq!(rx.handle_packet(now, 1000, &start).unwrap().map(|d| d.as_char()), Some('5'));
/// for _ in 0..3 {
///     assert_eq!(rx.handle_packet(now, 1000, &end).unwrap(), None); // ends do not repeat it
/// }
/// ```
#[derive(Debug, Default)]
pub struct TelephoneEventReceiver {
    current: Option<Current>,
}

/// Whether RTP timestamp `a` is before `b`, modulo 2³².
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl TelephoneEventReceiver {
    /// Handles one telephone-event packet; returns the digit when it starts a new press.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<Option<Digit>, ShortPayload> {
        let ev = TelephoneEvent::parse(payload)?;
        if let Some(cur) = &mut self.current {
            if timestamp == cur.timestamp {
                if ev.event == cur.event || !cur.ended {
                    cur.last_packet = now;
                    cur.ended |= ev.end;
                    cur.duration = cur.duration.max(ev.duration);
                    return Ok(None);
                }
                // A different key under the same timestamp after an end: broken senders do
                // this; it is a new press.
            } else if before(timestamp, cur.timestamp) {
                return Ok(None);
            } else if !cur.ended
                && ev.event == cur.event
                && cur.duration >= 0xF000
                && timestamp.wrapping_sub(cur.timestamp) <= u32::from(cur.duration) + 1600
            {
                // §2.5.1.3: a long event's next segment.
                *cur = Current {
                    timestamp,
                    event: ev.event,
                    ended: ev.end,
                    duration: ev.duration,
                    last_packet: now,
                };
                return Ok(None);
            }
        }
        self.current = Some(Current {
            timestamp,
            event: ev.event,
            ended: ev.end,
            duration: ev.duration,
            last_packet: now,
        });
        Ok(Digit::from_event_code(ev.event))
    }

    /// When the current event times out without its end packet.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .filter(|c| !c.ended)
            .map(|c| c.last_packet + END_TIMEOUT)
    }

    /// Closes an event whose end never came.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(c) = &mut self.current
            && !c.ended
            && now >= c.last_packet + END_TIMEOUT
        {
            c.ended = true;
        }
    }

    /// Whether a key is held down now (an event started and not yet ended).
    pub fn in_progress(&self) -> bool {
        self.current.is_some_and(|c| !c.ended)
    }

    /// Forgets the event history (the peer's RTP stream restarted with a new SSRC).
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// Volume of the events sent, -10 dBm0 (a typical keypad level).
const SEND_VOLUME: u8 = 10;
/// End packets per event (RFC 4733 §2.5.1.4 recommends three).
const END_PACKETS: u8 = 3;

/// One telephone-event packet to send (see [`TelephoneEventSender::next_packet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventPacket {
    /// The payload.
    pub payload: [u8; 4],
    /// The RTP timestamp: where the tone began.
    pub timestamp: u32,
    /// The marker bit: the first packet of an event.
    pub marker: bool,
    /// The digit whose first packet this is (the key goes down).
    pub started: Option<Digit>,
    /// The digit whose last end packet this is.
    pub finished: Option<Digit>,
}

#[derive(Debug, Clone, Copy)]
struct Sending {
    digit: Digit,
    timestamp: u32,
    /// Samples of tone so far.
    duration: u32,
    /// Samples of tone in all.
    tone: u32,
    /// End packets sent.
    ends: u8,
    /// Samples of silence after it.
    gap: u32,
}

/// Sends digits as RFC 4733 events, sans-IO: the session asks for a packet every packet
/// time and sends audio when there is none.
///
/// ```
/// use deflect_media::dtmf::Digit;
/// use deflect_media::dtmf::telephone_event::{TelephoneEventReceiver, TelephoneEventSender};
/// use std::time::{Duration, Instant};
///
/// let mut tx = TelephoneEventSender::default();
/// let digits: Vec<Digit> = "12#".chars().filter_map(Digit::from_char).collect();
/// tx.queue(&digits, Duration::from_millis(100), Duration::from_millis(60));
/// let (mut rx, now) = (TelephoneEventReceiver::default(), Instant::now());
/// let (mut timestamp, mut heard, mut finished) = (5000u32, String::new(), String::new());
/// while tx.is_sending() {
///     if let Some(p) = tx.next_packet(timestamp, 160) {
///         if let Some(d) = rx.handle_packet(now, p.timestamp, &p.payload).unwrap() {
///             heard.push(d.as_char());
///         }
///         finished.extend(p.finished.map(|d| d.as_char()));
///     }
///     timestamp = timestamp.wrapping_add(160); // a 20 ms frame went by
/// }
/// assert_eq!((heard.as_str(), finished.as_str()), ("12#", "12#"));
/// ```
#[derive(Debug, Default)]
pub struct TelephoneEventSender {
    queue: VecDeque<(Digit, u32, u32)>,
    current: Option<Sending>,
    gap_left: u32,
}

impl TelephoneEventSender {
    /// Queues `digits`, each a tone of `tone` followed by `gap` of silence (8 kHz clock).
    pub fn queue(&mut self, digits: &[Digit], tone: Duration, gap: Duration) {
        let samples = |d: Duration| (d.as_micros() * 8 / 1000).min(u128::from(u16::MAX)) as u32;
        let tone = samples(tone).max(160);
        let gap = samples(gap);
        self.queue
            .extend(digits.iter().map(|&digit| (digit, tone, gap)));
    }

    /// Whether digits are queued or being sent (including the gap after the last).
    pub fn is_sending(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || self.gap_left > 0
    }

    /// Drops everything not yet sent; an event in progress still gets its end packets.
    pub fn clear(&mut self) {
        self.queue.clear();
        if let Some(c) = &mut self.current
            && c.ends == 0
        {
            c.tone = c.duration.max(160);
        }
    }

    /// The packet for the frame that starts at RTP timestamp `timestamp` and lasts `frame`
    /// samples, or `None` when this frame carries audio.
    pub fn next_packet(&mut self, timestamp: u32, frame: u32) -> Option<EventPacket> {
        if self.current.is_none() {
            if self.gap_left > 0 {
                self.gap_left = self.gap_left.saturating_sub(frame);
                return None;
            }
            let (digit, tone, gap) = self.queue.pop_front()?;
            self.current = Some(Sending {
                digit,
                timestamp,
                duration: 0,
                tone,
                ends: 0,
                gap,
            });
        }
        let c = self.current.as_mut()?;
        let marker = c.duration == 0;
        if c.ends == 0 {
            c.duration = (c.duration + frame).min(c.tone);
            if c.duration >= c.tone {
                c.ends = 1;
            }
        } else {
            c.ends += 1;
        }
        let end = c.ends > 0;
        let packet = EventPacket {
            payload: TelephoneEvent {
                event: c.digit.event_code(),
                end,
                volume: SEND_VOLUME,
                duration: c.duration.min(u32::from(u16::MAX)) as u16,
            }
            .to_bytes(),
            timestamp: c.timestamp,
            marker,
            started: marker.then_some(c.digit),
            finished: (c.ends == END_PACKETS).then_some(c.digit),
        };
        if c.ends == END_PACKETS {
            self.gap_left = c.gap;
            self.current = None;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sender_sends_start_continuations_and_three_ends_under_one_timestamp() {
        let mut tx = TelephoneEventSender::default();
        let d = |c| Digit::from_char(c).unwrap();
        tx.queue(
            &[d('5'), d('5')],
            Duration::from_millis(60),
            Duration::from_millis(40),
        );
        let mut packets = Vec::new();
        let mut ts = 1000u32;
        while tx.is_sending() {
            packets.push(tx.next_packet(ts, 160));
            ts += 160;
        }
        let summary: Vec<Option<(u32, bool, bool, u16)>> = packets
            .iter()
            .map(|p| {
                p.map(|p| {
                    let e = TelephoneEvent::parse(&p.payload).unwrap();
                    assert_eq!(e.event, 5);
                    (p.timestamp, p.marker, e.end, e.duration)
                })
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                Some((1000, true, false, 160)),
                Some((1000, false, false, 320)),
                Some((1000, false, true, 480)),
                Some((1000, false, true, 480)),
                Some((1000, false, true, 480)),
                None,
                None,
                // The same key again: a new event, a new timestamp.
                Some((2120, true, false, 160)),
                Some((2120, false, false, 320)),
                Some((2120, false, true, 480)),
                Some((2120, false, true, 480)),
                Some((2120, false, true, 480)),
                None,
                None,
            ]
        );
        let finished: Vec<Digit> = packets
            .iter()
            .flatten()
            .filter_map(|p| p.finished)
            .collect();
        assert_eq!(finished, vec![d('5'), d('5')]);
    }

    fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    fn feed(rx: &mut TelephoneEventReceiver, t: Instant, list: &[(u32, [u8; 4])]) -> String {
        list.iter()
            .filter_map(|(ts, p)| rx.handle_packet(t, *ts, p).unwrap())
            .map(|d| d.as_char())
            .collect()
    }

    #[test]
    fn payload_round_trip_and_short_payloads() {
        let e = TelephoneEvent::parse(&[11, 0x8A, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.to_bytes(), [11, 0x8A, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(ShortPayload(3)));
    }

    #[test]
    fn lost_start_still_counts_once() {
        let mut rx = TelephoneEventReceiver::default();
        let t = Instant::now();
        let got = feed(
            &mut rx,
            t,
            &[
                (100, pkt(7, true, 800)),
                (100, pkt(7, true, 800)),
                (100, pkt(7, true, 800)),
            ],
        );
        assert_eq!(got, "7");
    }

    #[test]
    fn same_key_twice_and_stale_packets() {
        let mut rx = TelephoneEventReceiver::default();
        let t = Instant::now();
        let got = feed(
            &mut rx,
            t,
            &[
                (100, pkt(1, false, 160)),
                (100, pkt(1, true, 800)),
                (1900, pkt(1, false, 160)),
                // A straggler of the first press after the second began: ignored.
                (100, pkt(1, true, 800)),
                (1900, pkt(1, true, 800)),
            ],
        );
        assert_eq!(got, "11");
    }

    #[test]
    fn timestamps_wrap() {
        let mut rx = TelephoneEventReceiver::default();
        let t = Instant::now();
        let got = feed(
            &mut rx,
            t,
            &[
                (u32::MAX - 100, pkt(2, true, 800)),
                (700, pkt(3, true, 800)),
                (u32::MAX - 100, pkt(2, true, 800)),
            ],
        );
        assert_eq!(got, "23");
    }

    #[test]
    fn lost_end_times_out() {
        let mut rx = TelephoneEventReceiver::default();
        let t = Instant::now();
        assert!(
            rx.handle_packet(t, 100, &pkt(4, false, 160))
                .unwrap()
                .is_some()
        );
        assert!(rx.in_progress());
        assert_eq!(rx.poll_timeout(), Some(t + END_TIMEOUT));
        rx.handle_timeout(t + END_TIMEOUT);
        assert!(!rx.in_progress());
        assert_eq!(rx.poll_timeout(), None);
    }

    #[test]
    fn long_event_segments_are_one_press() {
        let mut rx = TelephoneEventReceiver::default();
        let t = Instant::now();
        let got = feed(
            &mut rx,
            t,
            &[
                (0, pkt(9, false, 0xFFFF)),
                (0xFFFF, pkt(9, false, 800)),
                (0xFFFF, pkt(9, true, 1600)),
            ],
        );
        assert_eq!(got, "9");
    }

    #[test]
    fn non_dtmf_events_give_no_digit() {
        let mut rx = TelephoneEventReceiver::default();
        assert_eq!(
            rx.handle_packet(Instant::now(), 5, &pkt(16, false, 160))
                .unwrap(),
            None
        );
    }
}
