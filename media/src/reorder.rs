//! A small reorder buffer for received RTP: packets come out in sequence order.
//!
//! In-order packets pass straight through (no added delay). When a sequence number is
//! missing, later packets wait up to [`ReorderBuffer::wait`] for it — as long as the jitter the
//! network adds, 80 ms by default — and then the gap is skipped (the packet is lost; a later
//! arrival is dropped as late). A jump of more than the buffer's [`CAPACITY`] skips at once.
//! Duplicates are dropped. Sequence numbers are extended to 64 bits (RFC 3550 §A.1) so
//! wrap-around is invisible.
//!
//! A sender that restarts its sequence numbers without changing SSRC (a device rebooting,
//! or a recording replayed into a call) would otherwise have every packet dropped as late:
//! as in RFC 3550 §A.1, a packet more than [`MAX_MISORDER`] behind or [`MAX_DROPOUT`]
//! ahead is dropped but remembered, and when the very next sequence number follows it the stream is taken as
//! restarted ([`Accepted::Restarted`]): the buffer starts over from that packet.

use std::time::{Duration, Instant};

/// Packets held at most.
pub const CAPACITY: usize = 8;
/// Default longest wait for a missing packet.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(80);
/// A packet further behind than this is not a late one but possibly a restart (RFC 3550
/// §A.1).
pub const MAX_MISORDER: u64 = 100;
/// A packet further ahead than this is not after a loss but possibly a restart (RFC 3550
/// §A.1).
pub const MAX_DROPOUT: u64 = 3000;

/// A buffered RTP packet: the parts the session needs after reordering.
#[derive(Debug, Clone, Default)]
pub struct BufferedPacket {
    /// Extended sequence number.
    pub seq: u64,
    /// Payload type.
    pub payload_type: u8,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Marker bit.
    pub marker: bool,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// When it arrived.
    pub arrived: Option<Instant>,
}

/// What happened to a packet offered to the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Buffered (or ready to come out).
    Yes,
    /// Already received.
    Duplicate,
    /// Its turn had passed.
    Late,
    /// The sender restarted its sequence numbers (see the module docs): the buffer started
    /// over with this packet, and whatever depends on the old stream should too.
    Restarted,
}

/// Reorders one RTP stream's packets (see the module docs).
#[derive(Debug)]
pub struct ReorderBuffer {
    slots: [Option<BufferedPacket>; CAPACITY],
    spare: Vec<Vec<u8>>,
    ready: std::collections::VecDeque<BufferedPacket>,
    next: Option<u64>,
    highest: Option<u64>,
    /// The sequence number that, arriving next, confirms a restart.
    restart_probe: Option<u16>,
    /// Longest wait for a missing packet.
    pub wait: Duration,
}

impl Default for ReorderBuffer {
    fn default() -> Self {
        Self::new(DEFAULT_WAIT)
    }
}

impl ReorderBuffer {
    /// An empty buffer.
    pub fn new(wait: Duration) -> Self {
        Self {
            slots: Default::default(),
            spare: Vec::new(),
            ready: std::collections::VecDeque::new(),
            next: None,
            highest: None,
            restart_probe: None,
            wait,
        }
    }

    /// Extends a 16-bit sequence number against the highest seen so far.
    pub fn extend(&self, seq: u16) -> u64 {
        match self.highest {
            None => u64::from(seq) + (1 << 16),
            Some(h) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                (h as i64 + delta).max(0) as u64
            }
        }
    }

    /// Offers a packet with sequence number `seq` (16-bit, from the header).
    pub fn insert(
        &mut self,
        now: Instant,
        seq: u16,
        payload_type: u8,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Accepted {
        let raw = seq;
        let seq = self.extend(raw);
        let next = *self.next.get_or_insert(seq);
        if seq < next && next - seq <= MAX_MISORDER {
            self.restart_probe = None;
            return Accepted::Late;
        }
        if seq < next || seq >= next + MAX_DROPOUT {
            // Far behind, or as far ahead as only a restart (or a stray packet) goes: the
            // next sequence number confirms a restart.
            if self.restart_probe != Some(raw) {
                self.restart_probe = Some(raw.wrapping_add(1));
                return Accepted::Late;
            }
            self.reset();
            self.insert(now, raw, payload_type, timestamp, marker, payload);
            return Accepted::Restarted;
        }
        self.restart_probe = None;
        if seq >= next + CAPACITY as u64 {
            // Too far ahead to hold: give up on everything missing before it.
            self.skip_to(seq);
        }
        let slot = &mut self.slots[(seq % CAPACITY as u64) as usize];
        if slot.as_ref().is_some_and(|p| p.seq == seq) {
            return Accepted::Duplicate;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(payload);
        *slot = Some(BufferedPacket {
            seq,
            payload_type,
            timestamp,
            marker,
            payload: buf,
            arrived: Some(now),
        });
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
        Accepted::Yes
    }

    fn skip_to(&mut self, seq: u64) {
        // Packets received but jumped over still come out, in order, before what follows.
        let mut passed: Vec<BufferedPacket> = Vec::new();
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|p| p.seq < seq) {
                passed.extend(slot.take());
            }
        }
        passed.sort_unstable_by_key(|p| p.seq);
        self.ready.extend(passed);
        self.next = Some(seq);
    }

    /// Takes the next packet that may come out now, in sequence order: the next in
    /// sequence, or — when it is missing and the earliest packet held has waited
    /// [`wait`](Self::wait) — the first one after the gap.
    pub fn pop(&mut self, now: Instant) -> Option<BufferedPacket> {
        if let Some(p) = self.ready.pop_front() {
            return Some(p);
        }
        let next = self.next?;
        let i = (next % CAPACITY as u64) as usize;
        if self.slots[i].as_ref().is_some_and(|p| p.seq == next) {
            self.next = Some(next + 1);
            return self.slots[i].take();
        }
        let earliest = self
            .slots
            .iter()
            .flatten()
            .filter_map(|p| p.arrived)
            .min()?;
        if now < earliest + self.wait {
            return None;
        }
        let lowest = self.slots.iter().flatten().map(|p| p.seq).min()?;
        self.skip_to(lowest);
        self.pop(now)
    }

    /// Returns a payload buffer for reuse (avoids an allocation per packet).
    pub fn recycle(&mut self, payload: Vec<u8>) {
        if self.spare.len() < CAPACITY {
            self.spare.push(payload);
        }
    }

    /// When a held packet may be released by skipping a gap.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let earliest = self
            .slots
            .iter()
            .flatten()
            .filter_map(|p| p.arrived)
            .min()?;
        Some(earliest + self.wait)
    }

    /// Forgets everything (a new SSRC starts a new sequence space).
    pub fn reset(&mut self) {
        self.ready.clear();
        for s in &mut self.slots {
            if let Some(p) = s.take() {
                self.spare.push(p.payload);
            }
        }
        self.next = None;
        self.highest = None;
        self.restart_probe = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn drain(b: &mut ReorderBuffer, now: Instant) -> Vec<u16> {
        std::iter::from_fn(|| b.pop(now))
            .map(|p| p.seq as u16)
            .collect()
    }

    #[test]
    fn in_order_packets_pass_at_once() {
        let mut b = ReorderBuffer::default();
        let t = Instant::now();
        for s in 10..14u16 {
            assert_eq!(b.insert(t, s, 0, 0, false, b"x"), Accepted::Yes);
            assert_eq!(drain(&mut b, t), vec![s]);
        }
        assert_eq!(b.poll_timeout(), None);
    }

    #[test]
    fn a_swap_is_put_right_and_duplicates_and_late_ones_dropped() {
        let mut b = ReorderBuffer::default();
        let t = Instant::now();
        b.insert(t, 1, 0, 0, false, b"");
        assert_eq!(drain(&mut b, t), vec![1]);
        b.insert(t, 3, 0, 0, false, b"");
        assert_eq!(drain(&mut b, t), Vec::<u16>::new());
        assert_eq!(b.insert(t, 3, 0, 0, false, b""), Accepted::Duplicate);
        b.insert(t, 2, 0, 0, false, b"");
        assert_eq!(drain(&mut b, t), vec![2, 3]);
        assert_eq!(b.insert(t, 2, 0, 0, false, b""), Accepted::Late);
        assert_eq!(b.poll_timeout(), None);
    }

    #[test]
    fn a_gap_is_skipped_after_the_wait() {
        let mut b = ReorderBuffer::default();
        let t = Instant::now();
        b.insert(t, 1, 0, 0, false, b"");
        drain(&mut b, t);
        b.insert(t, 3, 0, 0, false, b"");
        b.insert(t, 4, 0, 0, false, b"");
        assert_eq!(b.poll_timeout(), Some(t + DEFAULT_WAIT));
        assert!(drain(&mut b, t + DEFAULT_WAIT / 2).is_empty());
        assert_eq!(drain(&mut b, t + DEFAULT_WAIT), vec![3, 4]);
        assert_eq!(b.insert(t, 2, 0, 0, false, b""), Accepted::Late);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut b = ReorderBuffer::default();
        let t = Instant::now();
        for s in [65534u16, 0, 65535, 1] {
            b.insert(t, s, 0, 0, false, b"");
        }
        assert_eq!(drain(&mut b, t), vec![65534, 65535, 0, 1]);
    }

    #[test]
    fn a_sender_restarting_its_sequence_numbers_is_followed_after_two_packets() {
        let mut b = ReorderBuffer::default();
        let t = Instant::now();
        for s in 5000..5010u16 {
            b.insert(t, s, 0, 0, false, b"");
        }
        assert_eq!(drain(&mut b, t).len(), 10);
        // Far behind: the first is dropped, the one after it confirms the restart.
        assert_eq!(b.insert(t, 300, 0, 0, false, b""), Accepted::Late);
        assert_eq!(b.insert(t, 301, 0, 0, false, b""), Accepted::Restarted);
        assert_eq!(b.insert(t, 302, 0, 0, false, b""), Accepted::Yes);
        assert_eq!(drain(&mut b, t), vec![301, 302]);
        // Stragglers of the old stream, or a lone far-off packet, are just late.
        assert_eq!(b.insert(t, 5009, 0, 0, false, b""), Accepted::Late);
        assert_eq!(b.insert(t, 200, 0, 0, false, b""), Accepted::Late);
        assert_eq!(b.insert(t, 303, 0, 0, false, b""), Accepted::Yes);
        assert_eq!(b.insert(t, 250, 0, 0, false, b""), Accepted::Late);
        assert_eq!(drain(&mut b, t), vec![303]);
    }

    #[test]
    fn a_big_jump_skips_at_once() {
        let mut b = ReorderBuffer::default();
        let t = Instant::now();
        b.insert(t, 1, 0, 0, false, b"");
        drain(&mut b, t);
        b.insert(t, 3, 0, 0, false, b"");
        b.insert(t, 100, 0, 0, false, b"");
        assert_eq!(drain(&mut b, t), vec![3, 100]);
    }
}
