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

use super::Digit;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
