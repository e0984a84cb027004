//! Inbound SIP TCP connections kept in bounds (RFC 3261 §18 leaves connection management to
//! the implementation): at most `tcp_max_connections_per_source` open from one source (an
//! IPv4 address or an IPv6 /64) and `tcp_max_connections` in all — connections beyond are
//! closed at once — and for each connection, when it is closed: `tcp_idle_timeout` after
//! its last byte, or `tcp_message_timeout` after a message started arriving without being
//! finished (slowloris: a connection kept alive by a trickle of bytes that never completes
//! a message).
//!
//! Trunks' allow-listed sources are held to the per-source cap only, so a flood from
//! elsewhere that fills the total cap cannot lock a trunk out. Sans-IO: time is an input;
//! the runtime keeps one [`ConnectionLimits`] behind a lock and a [`ReadDeadline`] per
//! connection.
//!
//! ```
//! use deflect_sip::connections::{ConnectionLimits, ReadDeadline, Close, Refused};
//! use deflect_sip::source::SourceKey;
//! use std::time::{Duration, Instant};
//!
//! let mut limits = ConnectionLimits::new(100, 2);
//! let peer = SourceKey::of("192.0.2.1".parse().unwrap());
//! assert!(limits.admit(peer, false).is_ok());
//! assert!(limits.admit(peer, false).is_ok());
//! assert_eq!(limits.admit(peer, false), Err(Refused::PerSource));
//! limits.release(peer);
//! assert!(limits.admit(peer, false).is_ok());
//!
//! let t0 = Instant::now();
//! let mut reads = ReadDeadline::new(t0, Duration::from_secs(120), Duration::from_secs(10));
//! reads.on_read(t0, false, true); // half a message
//! assert_eq!(reads.deadline(), (t0 + Duration::from_secs(10), Close::Incomplete));
//! ```

use crate::source::SourceKey;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Why a connection was refused (`deflect_sip_tcp_refused_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Its source holds `tcp_max_connections_per_source` already.
    PerSource,
    /// `tcp_max_connections` are open.
    Total,
}

impl Refused {
    /// Label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerSource => "per_source",
            Self::Total => "total",
        }
    }
}

/// Counts of open inbound connections, per source and in all.
#[derive(Debug)]
pub struct ConnectionLimits {
    total: u32,
    per_source: u32,
    open: HashMap<SourceKey, u32>,
    open_total: u32,
}

impl ConnectionLimits {
    /// At most `total` connections, `per_source` from one source.
    pub fn new(total: u32, per_source: u32) -> Self {
        Self {
            total,
            per_source,
            open: HashMap::new(),
            open_total: 0,
        }
    }

    /// Counts a new connection from `source` (`trusted`: on a trunk's allow-list), or says
    /// why it must be closed.
    pub fn admit(&mut self, source: SourceKey, trusted: bool) -> Result<(), Refused> {
        let n = self.open.get(&source).copied().unwrap_or(0);
        if n >= self.per_source {
            return Err(Refused::PerSource);
        }
        if !trusted && self.open_total >= self.total {
            return Err(Refused::Total);
        }
        self.open.insert(source, n + 1);
        self.open_total += 1;
        Ok(())
    }

    /// A connection from `source` (admitted before) closed.
    pub fn release(&mut self, source: SourceKey) {
        match self.open.get_mut(&source) {
            Some(n) if *n > 1 => *n -= 1,
            Some(_) => {
                self.open.remove(&source);
            }
            None => return,
        }
        self.open_total = self.open_total.saturating_sub(1);
    }

    /// Connections open.
    pub fn open(&self) -> u32 {
        self.open_total
    }
}

/// Why a connection is closed when its deadline passes
/// (`deflect_sip_tcp_closed_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// Nothing arrived for `tcp_idle_timeout`.
    Idle,
    /// A message was begun and not finished within `tcp_message_timeout`.
    Incomplete,
}

impl Close {
    /// Label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Incomplete => "incomplete",
        }
    }
}

/// When one connection is closed for silence or for an unfinished message.
#[derive(Clone, Copy, Debug)]
pub struct ReadDeadline {
    idle: Duration,
    message: Duration,
    last_read: Instant,
    partial_since: Option<Instant>,
}

impl ReadDeadline {
    /// A connection opened at `now`.
    pub fn new(now: Instant, idle: Duration, message: Duration) -> Self {
        Self {
            idle,
            message,
            last_read: now,
            partial_since: None,
        }
    }

    /// Bytes arrived at `now`: `completed` says whether they finished at least one message,
    /// `partial` whether part of a message is left waiting for more.
    pub fn on_read(&mut self, now: Instant, completed: bool, partial: bool) {
        self.last_read = now;
        self.partial_since = match (partial, completed, self.partial_since) {
            (false, _, _) => None,
            // The message waiting began with these bytes.
            (true, true, _) | (true, false, None) => Some(now),
            (true, false, Some(since)) => Some(since),
        };
    }

    /// When the connection is closed, and why, unless more bytes come first.
    pub fn deadline(&self) -> (Instant, Close) {
        let idle = self.last_read + self.idle;
        match self.partial_since {
            Some(since) if since + self.message < idle => (since + self.message, Close::Incomplete),
            _ => (idle, Close::Idle),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn src(s: &str) -> SourceKey {
        SourceKey::of(s.parse().unwrap())
    }

    #[test]
    fn caps_per_source_and_in_total() {
        let mut l = ConnectionLimits::new(3, 2);
        let (a, b, c) = (src("192.0.2.1"), src("192.0.2.2"), src("192.0.2.3"));
        assert_eq!(l.admit(a, false), Ok(()));
        assert_eq!(l.admit(a, false), Ok(()));
        assert_eq!(l.admit(a, false), Err(Refused::PerSource));
        assert_eq!(l.admit(b, false), Ok(()));
        assert_eq!(l.admit(c, false), Err(Refused::Total));
        assert_eq!(l.open(), 3);
        l.release(b);
        assert_eq!(l.admit(c, false), Ok(()));
        // IPv6 addresses of one /64 are one source.
        let mut l = ConnectionLimits::new(10, 1);
        assert_eq!(l.admit(src("2001:db8::1"), false), Ok(()));
        assert_eq!(l.admit(src("2001:db8::2"), false), Err(Refused::PerSource));
    }

    #[test]
    fn trusted_sources_pass_a_full_total_but_not_their_own_cap() {
        let mut l = ConnectionLimits::new(1, 2);
        let (attacker, trunk) = (src("203.0.113.1"), src("198.51.100.1"));
        assert_eq!(l.admit(attacker, false), Ok(()));
        assert_eq!(l.admit(attacker, false), Err(Refused::Total));
        assert_eq!(l.admit(trunk, true), Ok(()));
        assert_eq!(l.admit(trunk, true), Ok(()));
        assert_eq!(l.admit(trunk, true), Err(Refused::PerSource));
        assert_eq!(l.open(), 3);
        for _ in 0..3 {
            l.release(trunk);
        }
        l.release(src("192.0.2.99"));
        assert_eq!(l.open(), 1);
    }

    const IDLE: Duration = Duration::from_secs(120);
    const MESSAGE: Duration = Duration::from_secs(10);

    #[test]
    fn silence_closes_after_the_idle_timeout() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, IDLE, MESSAGE);
        assert_eq!(d.deadline(), (t0 + IDLE, Close::Idle));
        // Whole messages (and keep-alives) push it back.
        let t1 = t0 + Duration::from_secs(100);
        d.on_read(t1, true, false);
        assert_eq!(d.deadline(), (t1 + IDLE, Close::Idle));
    }

    #[test]
    fn a_trickle_that_never_finishes_a_message_closes_after_the_message_timeout() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, IDLE, MESSAGE);
        // One byte a second: never idle, never complete.
        for s in 0..10 {
            d.on_read(t0 + Duration::from_secs(s), false, true);
            assert_eq!(d.deadline(), (t0 + MESSAGE, Close::Incomplete));
        }
        // Finishing it clears the deadline...
        let t1 = t0 + Duration::from_secs(9);
        d.on_read(t1, true, false);
        assert_eq!(d.deadline(), (t1 + IDLE, Close::Idle));
        // ...and a read that finishes one message and starts the next restarts it.
        let t2 = t1 + Duration::from_secs(1);
        d.on_read(t2, false, true);
        let t3 = t2 + Duration::from_secs(5);
        d.on_read(t3, true, true);
        assert_eq!(d.deadline(), (t3 + MESSAGE, Close::Incomplete));
    }

    #[test]
    fn the_earlier_deadline_wins() {
        let t0 = Instant::now();
        let mut d = ReadDeadline::new(t0, Duration::from_secs(5), MESSAGE);
        d.on_read(t0, false, true);
        assert_eq!(d.deadline(), (t0 + Duration::from_secs(5), Close::Idle));
    }
}
