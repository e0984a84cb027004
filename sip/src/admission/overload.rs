//! Whether a new call may start (RFC 3261 §21.5.4: 503 with `Retry-After` when not): none
//! once shutdown began, at most `sip.max_calls` in progress, and at most
//! `sip.max_calls_per_second` new ones (a token bucket holding one second's worth, so a
//! burst of that size passes and the rate holds on average). Sans-IO: time is an input.
//!
//! ```
//! use deflect_sip::admission::overload::{Busy, Overload};
//! use std::time::{Duration, Instant};
//!
//! let t0 = Instant::now();
//! let mut overload = Overload::new(100, 2, t0);
//! assert!(overload.admit(t0, 0).is_ok());
//! assert!(overload.admit(t0, 1).is_ok());
//! assert_eq!(overload.admit(t0, 2), Err(Busy::Rate));
//! assert!(overload.admit(t0 + Duration::from_millis(500), 2).is_ok());
//! ```

use std::time::Instant;

/// Why a new call is refused (`deflect_sip_overload_rejections_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// Shutdown began; callers try again after this many seconds.
    Shutdown(u32),
    /// `sip.max_calls` calls are in progress.
    MaxCalls,
    /// More than `sip.max_calls_per_second` new calls.
    Rate,
}

impl Busy {
    /// The `Retry-After` of the 503, in seconds.
    pub fn retry_after(self) -> u32 {
        match self {
            Self::Shutdown(secs) => secs,
            Self::MaxCalls => 5,
            Self::Rate => 1,
        }
    }

    /// Label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shutdown(_) => "shutdown",
            Self::MaxCalls => "max_calls",
            Self::Rate => "max_calls_per_second",
        }
    }
}

/// The limits on new calls and the state they need.
#[derive(Clone, Debug)]
pub struct Overload {
    max_calls: u32,
    rate: f64,
    tokens: f64,
    tokens_at: Instant,
    shutdown: Option<u32>,
}

impl Overload {
    /// At most `max_calls` in progress and `per_second` new ones; the bucket starts full.
    pub fn new(max_calls: u32, per_second: u32, now: Instant) -> Self {
        let rate = f64::from(per_second);
        Self {
            max_calls,
            rate,
            tokens: rate,
            tokens_at: now,
            shutdown: None,
        }
    }

    /// From now on every new call is refused with `Retry-After: retry_after`.
    pub fn stop_accepting(&mut self, retry_after: u32) {
        self.shutdown = Some(retry_after);
    }

    /// The `Retry-After` of a shutdown in progress (new calls refused), if one began.
    pub fn stopping(&self) -> Option<u32> {
        self.shutdown
    }

    /// Whether a new call may start at `now` with `in_progress` calls up; a call let in
    /// takes a token.
    pub fn admit(&mut self, now: Instant, in_progress: usize) -> Result<(), Busy> {
        if let Some(retry) = self.shutdown {
            return Err(Busy::Shutdown(retry));
        }
        if in_progress >= self.max_calls as usize {
            return Err(Busy::MaxCalls);
        }
        let elapsed = now.saturating_duration_since(self.tokens_at).as_secs_f64();
        self.tokens_at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens < 1.0 {
            return Err(Busy::Rate);
        }
        self.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn calls_in_progress_are_capped_without_using_tokens() {
        let t0 = Instant::now();
        let mut o = Overload::new(1, 1, t0);
        assert_eq!(o.admit(t0, 1), Err(Busy::MaxCalls));
        assert_eq!(Busy::MaxCalls.retry_after(), 5);
        assert_eq!(o.admit(t0, 0), Ok(()), "the refusal took no token");
    }

    #[test]
    fn the_bucket_refills_at_the_rate_and_holds_one_seconds_worth() {
        let t0 = Instant::now();
        let mut o = Overload::new(100, 2, t0);
        assert_eq!(o.admit(t0, 0), Ok(()));
        assert_eq!(o.admit(t0, 0), Ok(()));
        assert_eq!(o.admit(t0, 0), Err(Busy::Rate));
        assert_eq!(Busy::Rate.retry_after(), 1);
        let half = t0 + Duration::from_millis(500);
        assert_eq!(
            o.admit(half, 0),
            Ok(()),
            "one token back after half a second"
        );
        assert_eq!(o.admit(half, 0), Err(Busy::Rate));
        // A long quiet spell fills the bucket to two, no more.
        let later = half + Duration::from_secs(60);
        assert_eq!(o.admit(later, 0), Ok(()));
        assert_eq!(o.admit(later, 0), Ok(()));
        assert_eq!(o.admit(later, 0), Err(Busy::Rate));
    }

    #[test]
    fn after_shutdown_began_every_call_is_refused_with_its_retry_after() {
        let t0 = Instant::now();
        let mut o = Overload::new(100, 100, t0);
        o.stop_accepting(30);
        assert_eq!(o.admit(t0, 0), Err(Busy::Shutdown(30)));
        assert_eq!(Busy::Shutdown(30).retry_after(), 30);
        assert_eq!(Busy::Shutdown(30).as_str(), "shutdown");
    }
}
