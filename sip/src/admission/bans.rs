//! Failed digest authentications throttled by temporary bans, fail2ban-style: the
//! `max_failures_per_source`-th failure from one source within `failure_window` bans it for
//! `ban_time`; the `max_failures_per_username`-th for one trunk user name, from any sources,
//! bans the user name for every source that has not authenticated successfully (so a
//! password sprayed from many addresses stops, and the trunk's own, known sources keep
//! working).
//!
//! The window slides: the times of the last failures are kept (fewer than the limit, which
//! the configuration caps at 100), so "N within the window" holds for any window, not per
//! calendar minute. Everything is bounded: at most [`MAX_SOURCES`] sources' failure times
//! (least recently failing dropped first), [`MAX_BANS`] source bans (the one ending
//! soonest dropped first), [`MAX_TRUSTED`] trusted sources; user names are counted only for
//! names a trunk has. Time is an input.

use crate::source::SourceKey;
use hashlink::{LinkedHashMap, LruCache};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Sources whose failures are counted at most.
pub const MAX_SOURCES: usize = 16_384;
/// Sources banned at once at most.
pub const MAX_BANS: usize = 65_536;
/// Sources remembered as having authenticated, at most.
pub const MAX_TRUSTED: usize = 4_096;

/// What a ban applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A source (an IPv4 address or an IPv6 /64).
    Source,
    /// A trunk's user name.
    Username,
}

impl Scope {
    /// Label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Username => "username",
        }
    }
}

/// The limits (`[sip.auth]`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Window the counts hold over.
    pub window: Duration,
    /// Failures per source within the window that ban it.
    pub per_source: u32,
    /// Failures per user name within the window that ban it.
    pub per_username: u32,
    /// How long a ban lasts.
    pub ban_time: Duration,
}

/// The times of the latest failures of one source or user name, within the window.
#[derive(Clone, Debug, Default)]
struct Recent(VecDeque<Instant>);

impl Recent {
    /// Adds a failure at `now`; `true` when `max` are now within `window`.
    fn fail(&mut self, now: Instant, window: Duration, max: u32) -> bool {
        while self
            .0
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.0.pop_front();
        }
        self.0.push_back(now);
        self.0.len() >= max as usize
    }
}

/// Failure counters, bans and trusted sources.
pub struct Bans {
    limits: Limits,
    source_failures: LruCache<SourceKey, Recent>,
    source_bans: LinkedHashMap<SourceKey, Instant>,
    user_failures: HashMap<String, Recent>,
    user_bans: HashMap<String, Instant>,
    trusted: LruCache<SourceKey, ()>,
}

impl Bans {
    /// No failures, no bans.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            source_failures: LruCache::new(MAX_SOURCES),
            source_bans: LinkedHashMap::new(),
            user_failures: HashMap::new(),
            user_bans: HashMap::new(),
            trusted: LruCache::new(MAX_TRUSTED),
        }
    }

    /// Whether `source` is banned at `now`.
    pub fn source_banned(&mut self, now: Instant, source: SourceKey) -> bool {
        match self.source_bans.get(&source) {
            Some(until) if *until > now => true,
            Some(_) => {
                self.source_bans.remove(&source);
                self.publish();
                false
            }
            None => false,
        }
    }

    /// Whether `username` is banned for `source` at `now` (never for a trusted source).
    pub fn username_banned(&mut self, now: Instant, username: &str, source: SourceKey) -> bool {
        match self.user_bans.get(username) {
            Some(until) if *until > now => !self.trusted.contains_key(&source),
            Some(_) => {
                self.user_bans.remove(username);
                self.publish();
                false
            }
            None => false,
        }
    }

    /// Counts a failure from `source`, and for `username` when it is a trunk's; returns the
    /// bans it starts.
    pub fn failure(
        &mut self,
        now: Instant,
        source: SourceKey,
        username: Option<&str>,
    ) -> Vec<Scope> {
        let Limits {
            window,
            per_source,
            per_username,
            ban_time,
        } = self.limits;
        let mut started = Vec::new();
        self.trusted.remove(&source);
        let recent = match self.source_failures.get_mut(&source) {
            Some(r) => r,
            None => {
                self.source_failures.insert(source, Recent::default());
                self.source_failures
                    .get_mut(&source)
                    .expect("inserted just above")
            }
        };
        if recent.fail(now, window, per_source) {
            self.source_failures.remove(&source);
            if self.source_bans.len() >= MAX_BANS {
                self.source_bans.pop_front();
            }
            self.source_bans.insert(source, now + ban_time);
            started.push(Scope::Source);
        }
        if let Some(name) = username {
            let recent = self.user_failures.entry(name.to_owned()).or_default();
            if recent.fail(now, window, per_username) {
                self.user_failures.remove(name);
                self.user_bans.insert(name.to_owned(), now + ban_time);
                started.push(Scope::Username);
            }
        }
        for scope in &started {
            metrics::counter!("deflect_sip_auth_bans_total", "scope" => scope.as_str())
                .increment(1);
        }
        if !started.is_empty() {
            self.publish();
        }
        started
    }

    /// `source` authenticated: its failures are forgotten and user name bans spare it.
    pub fn success(&mut self, source: SourceKey) {
        self.source_failures.remove(&source);
        self.trusted.insert(source, ());
    }

    /// When the next ban ends.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let source = self.source_bans.front().map(|(_, t)| *t);
        let user = self.user_bans.values().min().copied();
        match (source, user) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Ends the bans due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let before = self.source_bans.len() + self.user_bans.len();
        // Every ban lasts `ban_time`, so the first ones end first.
        while self.source_bans.front().is_some_and(|(_, t)| *t <= now) {
            self.source_bans.pop_front();
        }
        self.user_bans.retain(|_, t| *t > now);
        if self.source_bans.len() + self.user_bans.len() != before {
            self.publish();
        }
    }

    /// Bans in force (some may have ended since the last [`Bans::handle_timeout`]).
    pub fn active(&self, scope: Scope) -> usize {
        match scope {
            Scope::Source => self.source_bans.len(),
            Scope::Username => self.user_bans.len(),
        }
    }

    fn publish(&self) {
        for scope in [Scope::Source, Scope::Username] {
            metrics::gauge!("deflect_sip_auth_active_bans", "scope" => scope.as_str())
                .set(self.active(scope) as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn bans() -> Bans {
        Bans::new(Limits {
            window: 10 * MIN,
            per_source: 5,
            per_username: 20,
            ban_time: 10 * MIN,
        })
    }

    fn src(s: &str) -> SourceKey {
        SourceKey::of(s.parse().unwrap())
    }

    #[test]
    fn the_fifth_failure_in_the_window_bans_the_source_for_the_ban_time() {
        let t0 = Instant::now();
        let mut b = bans();
        let a = src("192.0.2.1");
        for i in 0..4 {
            assert!(b.failure(t0 + MIN * i, a, None).is_empty(), "failure {i}");
            assert!(!b.source_banned(t0 + MIN * i, a));
        }
        let at = t0 + MIN * 4;
        assert_eq!(b.failure(at, a, None), vec![Scope::Source]);
        assert!(b.source_banned(at, a));
        assert!(!b.source_banned(at, src("192.0.2.2")), "only that source");
        assert_eq!(b.poll_timeout(), Some(at + 10 * MIN));
        assert!(b.source_banned(at + 10 * MIN - Duration::from_millis(1), a));
        b.handle_timeout(at + 10 * MIN);
        assert_eq!(b.active(Scope::Source), 0);
        assert!(!b.source_banned(at + 10 * MIN, a));
        assert_eq!(b.poll_timeout(), None);
        // A fresh start after the ban.
        assert!(b.failure(at + 10 * MIN, a, None).is_empty());
    }

    #[test]
    fn the_window_slides() {
        let t0 = Instant::now();
        let mut b = bans();
        let a = src("192.0.2.1");
        // One every 2.5 minutes: never 5 within 10 minutes.
        for i in 0..100u32 {
            let at = t0 + Duration::from_secs(150) * i;
            assert!(b.failure(at, a, None).is_empty(), "failure {i}");
        }
        // Once those are out of the window: 4 at once, then the fifth just inside the
        // window of the first.
        let t1 = t0 + Duration::from_secs(150 * 99 + 600);
        for _ in 0..4 {
            assert!(b.failure(t1, a, None).is_empty());
        }
        assert_eq!(
            b.failure(t1 + Duration::from_secs(599), a, None),
            vec![Scope::Source]
        );
    }

    #[test]
    fn a_user_name_ban_spares_sources_that_authenticated() {
        let t0 = Instant::now();
        let mut b = bans();
        let trunk = src("198.51.100.7");
        b.success(trunk);
        // A spray: 20 sources, one guess each.
        for i in 0..19u32 {
            let s = SourceKey::V4(0xc000_0200 + i);
            assert!(b.failure(t0, s, Some("trunk")).is_empty());
        }
        assert_eq!(
            b.failure(t0, src("203.0.113.1"), Some("trunk")),
            vec![Scope::Username]
        );
        assert!(b.username_banned(t0, "trunk", src("203.0.113.99")));
        assert!(!b.username_banned(t0, "trunk", trunk), "trusted");
        assert!(!b.username_banned(t0, "other", src("203.0.113.99")));
        // A failure from a trusted source ends its trust.
        b.failure(t0, trunk, None);
        assert!(b.username_banned(t0, "trunk", trunk));
        b.handle_timeout(t0 + 10 * MIN);
        assert!(!b.username_banned(t0 + 10 * MIN, "trunk", src("203.0.113.99")));
    }

    #[test]
    fn success_forgets_the_sources_failures() {
        let t0 = Instant::now();
        let mut b = bans();
        let a = src("192.0.2.1");
        for _ in 0..4 {
            b.failure(t0, a, None);
        }
        b.success(a);
        for _ in 0..4 {
            assert!(b.failure(t0, a, None).is_empty());
        }
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_sources() {
        let t0 = Instant::now();
        let mut b = Bans::new(Limits {
            window: MIN,
            per_source: 1,
            per_username: 1_000_000,
            ban_time: MIN,
        });
        for i in 0..(MAX_SOURCES as u32 + 10) {
            assert_eq!(b.failure(t0, SourceKey::V4(i), None), vec![Scope::Source]);
        }
        assert_eq!(b.active(Scope::Source), MAX_SOURCES + 10);
        assert_eq!(b.source_failures.len(), 0);
        // A flood of failing sources: failure times are bounded.
        let mut b = bans();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            b.failure(t0, SourceKey::V4(i), None);
        }
        assert_eq!(b.source_failures.len(), MAX_SOURCES);
    }

    #[test]
    fn bans_are_bounded_the_soonest_ending_dropped_first() {
        let t0 = Instant::now();
        let mut b = Bans::new(Limits {
            window: MIN,
            per_source: 1,
            per_username: 1_000_000,
            ban_time: MIN,
        });
        for i in 0..(MAX_BANS as u32 + 10) {
            b.failure(
                t0 + Duration::from_micros(u64::from(i)),
                SourceKey::V4(i),
                None,
            );
        }
        assert_eq!(b.active(Scope::Source), MAX_BANS);
        assert!(!b.source_banned(t0, SourceKey::V4(0)));
        assert!(b.source_banned(t0, SourceKey::V4(MAX_BANS as u32 + 9)));
    }
}
