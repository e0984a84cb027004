//! Digest nonces (RFC 7616 §3.3, §5.4–5.5): issued with each challenge, answerable for a
//! short lifetime, and each nonce count (`nc`) accepted once, so a captured `Authorization`
//! cannot be replayed.
//!
//! A nonce is `<sequence number, hex><keyed hash of it>`: the hash tells a nonce of this
//! process (issued, then expired or evicted: the client gets `stale=true`) from a made-up
//! one. The table of live nonces is bounded: at [`MAX_NONCES`] the oldest is dropped, which
//! costs its client one more challenge, never an acceptance. Nonces live in one process
//! only (a call's requests reach one node; Kamailio's dispatcher hashes on Call-ID).

use crate::auth::{Algorithm, constant_time_eq};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Live nonces kept at most; beyond it the oldest are dropped.
pub const MAX_NONCES: usize = 65_536;

/// How far below the highest nonce count seen a late one is still accepted (requests that
/// share a nonce may overtake each other on UDP).
const WINDOW: u32 = 64;

/// What a nonce in an `Authorization` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceState {
    /// Live: its counts can be used ([`NonceTable::use_count`]).
    Fresh(u64),
    /// Issued here but expired or dropped: the client should answer a new challenge.
    Stale,
    /// Not issued by this process.
    Forged,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    issued: Instant,
    /// Highest nonce count accepted (0: none yet).
    highest: u32,
    /// Bit `i` set: count `highest - i` was accepted.
    seen: u64,
}

/// The nonces this process issued and still accepts, with the counts used on each.
#[derive(Debug)]
pub struct NonceTable {
    key: String,
    lifetime: Duration,
    cap: usize,
    next: u64,
    live: BTreeMap<u64, Entry>,
}

impl NonceTable {
    /// A table keyed with `key` (random per process), whose nonces live `lifetime`.
    pub fn new(key: String, lifetime: Duration) -> Self {
        Self::with_cap(key, lifetime, MAX_NONCES)
    }

    fn with_cap(key: String, lifetime: Duration, cap: usize) -> Self {
        Self {
            key,
            lifetime,
            cap: cap.max(1),
            next: 0,
            live: BTreeMap::new(),
        }
    }

    fn mac(&self, seq: &str) -> String {
        let mut mac = Algorithm::Sha256.hash(&format!("{}:{seq}", self.key));
        mac.truncate(32);
        mac
    }

    /// A new nonce, issued at `now`.
    pub fn issue(&mut self, now: Instant) -> String {
        // Sequence numbers grow with time, so the first entries are the oldest.
        while let Some((_, first)) = self.live.first_key_value() {
            if self.live.len() < self.cap && !self.expired(first, now) {
                break;
            }
            self.live.pop_first();
        }
        let seq = self.next;
        self.next += 1;
        self.live.insert(
            seq,
            Entry {
                issued: now,
                highest: 0,
                seen: 0,
            },
        );
        let seq = format!("{seq:016x}");
        let mac = self.mac(&seq);
        format!("{seq}{mac}")
    }

    fn expired(&self, e: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(e.issued) > self.lifetime
    }

    /// What `nonce` is at `now`.
    pub fn check(&mut self, nonce: &str, now: Instant) -> NonceState {
        if nonce.len() != 48 || !nonce.is_ascii() {
            return NonceState::Forged;
        }
        let (seq, mac) = nonce.split_at(16);
        if !constant_time_eq(mac.as_bytes(), self.mac(seq).as_bytes()) {
            return NonceState::Forged;
        }
        let Ok(seq) = u64::from_str_radix(seq, 16) else {
            return NonceState::Forged;
        };
        match self.live.get(&seq) {
            Some(e) if !self.expired(e, now) => NonceState::Fresh(seq),
            Some(_) => {
                self.live.remove(&seq);
                NonceState::Stale
            }
            None => NonceState::Stale,
        }
    }

    /// Records count `nc` on the fresh nonce `seq`; `false` when it was used before (a
    /// replay), is 0, or is too far below the highest used.
    pub fn use_count(&mut self, seq: u64, nc: u32) -> bool {
        let Some(e) = self.live.get_mut(&seq) else {
            return false;
        };
        if nc == 0 {
            return false;
        }
        if nc > e.highest {
            let shift = nc - e.highest;
            e.seen = if shift >= WINDOW { 0 } else { e.seen << shift };
            e.seen |= 1;
            e.highest = nc;
            return true;
        }
        let below = e.highest - nc;
        if below >= WINDOW || e.seen & (1 << below) != 0 {
            return false;
        }
        e.seen |= 1 << below;
        true
    }

    /// Live nonces.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no nonce is live.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIFE: Duration = Duration::from_secs(30);

    #[test]
    fn a_nonce_is_fresh_for_its_lifetime_then_stale() {
        let t0 = Instant::now();
        let mut table = NonceTable::new("k".into(), LIFE);
        let n = table.issue(t0);
        assert!(matches!(table.check(&n, t0 + LIFE), NonceState::Fresh(_)));
        assert_eq!(
            table.check(&n, t0 + LIFE + Duration::from_millis(1)),
            NonceState::Stale
        );
        // Once stale, always stale (it left the table).
        assert_eq!(table.check(&n, t0), NonceState::Stale);
        assert!(table.is_empty());
    }

    #[test]
    fn made_up_and_altered_nonces_are_forged() {
        let t0 = Instant::now();
        let mut table = NonceTable::new("k".into(), LIFE);
        let n = table.issue(t0);
        let mut altered = n.clone().into_bytes();
        altered[3] = if altered[3] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(table.check(&altered, t0), NonceState::Forged);
        assert_eq!(table.check("", t0), NonceState::Forged);
        assert_eq!(table.check(&"é".repeat(24), t0), NonceState::Forged);
        // Another process's (another key's) nonce.
        let other = NonceTable::new("other".into(), LIFE).issue(t0);
        assert_eq!(table.check(&other, t0), NonceState::Forged);
    }

    #[test]
    fn two_nonces_issued_at_the_same_instant_differ() {
        let t0 = Instant::now();
        let mut table = NonceTable::new("k".into(), LIFE);
        assert_ne!(table.issue(t0), table.issue(t0));
    }

    #[test]
    fn each_count_is_accepted_once_late_ones_within_the_window() {
        let t0 = Instant::now();
        let mut table = NonceTable::new("k".into(), LIFE);
        let n = table.issue(t0);
        let NonceState::Fresh(seq) = table.check(&n, t0) else {
            panic!("fresh")
        };
        assert!(table.use_count(seq, 1));
        assert!(!table.use_count(seq, 1), "replay");
        assert!(!table.use_count(seq, 0));
        assert!(table.use_count(seq, 3));
        assert!(table.use_count(seq, 2), "overtaken, not used yet");
        assert!(!table.use_count(seq, 2));
        assert!(!table.use_count(seq, 3));
        assert!(table.use_count(seq, 100));
        assert!(!table.use_count(seq, 36), "below the window");
        assert!(table.use_count(seq, 37));
        assert!(!table.use_count(seq, 37));
        // Counts are per nonce.
        let other = table.issue(t0);
        let NonceState::Fresh(other) = table.check(&other, t0) else {
            panic!("fresh")
        };
        assert!(table.use_count(other, 1));
    }

    #[test]
    fn the_table_is_bounded_and_drops_the_oldest() {
        let t0 = Instant::now();
        let mut table = NonceTable::with_cap("k".into(), LIFE, 3);
        let first = table.issue(t0);
        let rest: Vec<String> = (0..3).map(|_| table.issue(t0)).collect();
        assert_eq!(table.len(), 3);
        // The oldest was dropped: its client is challenged again, it is never forged.
        assert_eq!(table.check(&first, t0), NonceState::Stale);
        for n in &rest {
            assert!(matches!(table.check(n, t0), NonceState::Fresh(_)));
        }
        // Expired ones go first when issuing.
        table.issue(t0 + LIFE * 2);
        assert_eq!(table.len(), 1);
    }
}
