//! Rate limits for public endpoints: a token bucket per key (a client address, a username),
//! refilled continuously, in memory.
//!
//! Written here rather than taken from `governor`: the need is one small keyed bucket with
//! a sweep of idle keys, and the crate would bring its own clock and concurrent-map stack
//! into the tree for it. Limits are per process; with several processes behind a load
//! balancer, each counts its own share.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// A keyed token bucket: `per_minute` requests a minute per key, bursts up to that many.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per key.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; false when its bucket is empty.
    pub fn allow(&self, key: &str) -> bool {
        self.take(key, Instant::now())
    }

    /// Whether `key` has a token left, without taking it.
    pub fn peek(&self, key: &str) -> bool {
        let now = Instant::now();
        let b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        b.get(key)
            .is_none_or(|(tokens, at)| self.refill(*tokens, *at, now) >= 1.0)
    }

    fn refill(&self, tokens: f64, at: Instant, now: Instant) -> f64 {
        (tokens + now.duration_since(at).as_secs_f64() * self.per_minute / 60.0)
            .min(self.per_minute)
    }

    fn take(&self, key: &str, now: Instant) -> bool {
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() > 100_000 {
            // Keys whose bucket is full again carry no information.
            b.retain(|_, (tokens, at)| self.refill(*tokens, *at, now) < self.per_minute);
        }
        let (tokens, at) = b.entry(key.to_string()).or_insert((self.per_minute, now));
        let available = self.refill(*tokens, *at, now);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            true
        } else {
            *tokens = available;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_empties_and_refills() {
        let l = RateLimiter::new(3);
        let t0 = Instant::now();
        assert!(l.take("a", t0) && l.take("a", t0) && l.take("a", t0));
        assert!(!l.take("a", t0), "empty");
        assert!(l.take("b", t0), "keys are independent");
        assert!(!l.take("a", t0 + Duration::from_secs(19)));
        assert!(
            l.take("a", t0 + Duration::from_secs(40)),
            "one token per 20 s"
        );
    }
}
