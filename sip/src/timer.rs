//! One deadline per entity: the table the endpoint's timers live in, after quinn-proto's
//! `TimerTable`, for entities that come and go (transactions, calls, registrations).
//!
//! Setting an entity's deadline replaces the one it had, and stopping it (the entity is
//! gone) removes it, so [`TimerTable::next_timeout`] is always a deadline that still
//! applies: the driver never wakes for a call that ended or a retransmission an ACK
//! stopped. Owners keep the table in step with their state by setting, after every change,
//! the deadline the state now implies (`None` when it implies none).
//!
//! ```
//! use deflect_sip::timer::TimerTable;
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut timers = TimerTable::default();
//! timers.set("retransmit", Some(t0 + Duration::from_millis(500)));
//! timers.set("expiry", Some(t0 + Duration::from_secs(900)));
//! timers.set("retransmit", None); // the ACK came
//! assert_eq!(timers.next_timeout(), Some(t0 + Duration::from_secs(900)));
//! assert_eq!(timers.pop_expired(t0 + Duration::from_secs(900)), Some("expiry"));
//! assert_eq!(timers.next_timeout(), None);
//! ```

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// Deadlines by entity, at most one each, ordered by time.
#[derive(Debug)]
pub struct TimerTable<K> {
    by_key: HashMap<K, Instant>,
    queue: BTreeSet<(Instant, K)>,
}

impl<K> Default for TimerTable<K> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
            queue: BTreeSet::new(),
        }
    }
}

impl<K: Clone + Ord + Hash> TimerTable<K> {
    /// Sets `key`'s deadline to `at`, replacing the one it had; `None` stops it.
    pub fn set(&mut self, key: K, at: Option<Instant>) {
        match at {
            Some(at) => {
                if let Some(old) = self.by_key.insert(key.clone(), at) {
                    if old == at {
                        return;
                    }
                    self.queue.remove(&(old, key.clone()));
                }
                self.queue.insert((at, key));
            }
            None => self.stop(&key),
        }
    }

    /// Removes `key`'s deadline, if it has one.
    pub fn stop(&mut self, key: &K) {
        if let Some(old) = self.by_key.remove(key) {
            self.queue.remove(&(old, key.clone()));
        }
    }

    /// `key`'s deadline.
    pub fn get(&self, key: &K) -> Option<Instant> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.queue.first().map(|(at, _)| *at)
    }

    /// Removes and returns the entity whose deadline is earliest, when it is due at `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<K> {
        let (at, _) = self.queue.first()?;
        if *at > now {
            return None;
        }
        let (_, key) = self.queue.pop_first()?;
        self.by_key.remove(&key);
        Some(key)
    }

    /// Entities with a deadline.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no entity has a deadline.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t0: Instant, ms: u64) -> Option<Instant> {
        Some(t0 + Duration::from_millis(ms))
    }

    #[test]
    fn a_new_deadline_replaces_the_old_one() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        timers.set(1, at(t0, 100));
        timers.set(1, at(t0, 900));
        timers.set(2, at(t0, 500));
        assert_eq!(timers.len(), 2);
        assert_eq!(timers.next_timeout(), at(t0, 500));
        assert_eq!(timers.pop_expired(t0 + Duration::from_millis(899)), Some(2));
        assert_eq!(timers.pop_expired(t0 + Duration::from_millis(899)), None);
        assert_eq!(timers.get(&1), at(t0, 900));
        timers.set(1, at(t0, 900)); // the same again changes nothing
        assert_eq!(timers.len(), 1);
        assert_eq!(timers.pop_expired(t0 + Duration::from_secs(1)), Some(1));
        assert!(timers.is_empty());
    }

    #[test]
    fn a_stopped_entity_leaves_no_deadline() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        timers.set("call", at(t0, 100));
        timers.set("transaction", at(t0, 200));
        timers.stop(&"call");
        timers.set("transaction", None);
        timers.stop(&"never set");
        assert_eq!(timers.next_timeout(), None);
        assert_eq!(timers.pop_expired(t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn equal_deadlines_all_expire() {
        let t0 = Instant::now();
        let mut timers = TimerTable::default();
        for k in 0..3 {
            timers.set(k, at(t0, 10));
        }
        let due: Vec<_> =
            std::iter::from_fn(|| timers.pop_expired(t0 + Duration::from_millis(10))).collect();
        assert_eq!(due, vec![0, 1, 2]);
    }
}
