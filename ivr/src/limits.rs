//! Abuse limits: deflections per calling number and per callback number in a sliding hour.
//!
//! The engine asks (`Action::CheckLimits`) when a caller reaches a `deflect` step and waits
//! for the answer (`Call::handle_limits`). The answer comes from a [`DeflectionCounter`]: the
//! binary implements it over the inbox store so the limits hold across every gateway process
//! sharing the database; [`MemoryCounter`] serves tests and a single process.
//!
//! A counter records a deflection for both keys in one step, or for neither: a caller at
//! their limit does not use up the callback number's allowance. Records carry the call id,
//! so asking again for the same call (a retry after a lost answer) is not counted twice.

use jiff::{SignedDuration, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

/// The window the limits count in.
pub const WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// The key callers withholding their number share.
pub const ANONYMOUS_CALLER: &str = "anonymous";

/// One deflection to count against the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitRequest {
    /// The call, so a repeated request is not counted twice.
    pub call_id: String,
    /// The calling number in E.164 where it is one, as received otherwise, or
    /// [`ANONYMOUS_CALLER`].
    pub caller: String,
    /// The callback number (E.164).
    pub callback_number: String,
    /// Deflections allowed per caller in [`WINDOW`] (0: no limit).
    pub per_caller: u32,
    /// Deflections allowed per callback number in [`WINDOW`] (0: no limit).
    pub per_callback_number: u32,
    /// When (wall clock).
    pub at: Timestamp,
}

/// The counter's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitDecision {
    /// Recorded: the deflection may go ahead.
    Allowed,
    /// The caller has had `per_caller` deflections in the last hour; nothing recorded.
    CallerLimited,
    /// The callback number has had `per_callback_number`; nothing recorded.
    CallbackNumberLimited,
    /// The counter could not answer (store unreachable). The engine lets the deflection
    /// through, so callers are not turned away by an outage, and logs it.
    Unavailable,
}

impl LimitDecision {
    /// Stable name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::CallerLimited => "caller_limited",
            Self::CallbackNumberLimited => "callback_number_limited",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Counts deflections per key in a sliding hour, atomically for the two keys of a request.
/// Implementations must be idempotent on `call_id`: a second request for a call that was
/// allowed answers `Allowed` without counting again.
pub trait DeflectionCounter: Send + Sync {
    /// The error of the backing store.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Records the deflection if both keys are under their limits.
    fn try_record(
        &self,
        request: &LimitRequest,
    ) -> impl Future<Output = Result<LimitDecision, Self::Error>> + Send;
}

/// In-process counter: exact sliding windows in memory.
#[derive(Debug, Default)]
pub struct MemoryCounter {
    inner: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    by_key: HashMap<String, VecDeque<(Timestamp, String)>>,
}

/// Entries of `window` newer than `since`, after dropping older ones; and whether `call_id`
/// is among them.
fn prune(
    window: &mut VecDeque<(Timestamp, String)>,
    since: Timestamp,
    call_id: &str,
) -> (usize, bool) {
    while window.front().is_some_and(|(t, _)| *t <= since) {
        window.pop_front();
    }
    (window.len(), window.iter().any(|(_, c)| c == call_id))
}

impl MemoryCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records synchronously; [`DeflectionCounter::try_record`] is this, ready at once.
    pub fn record(&self, r: &LimitRequest) -> LimitDecision {
        // A poisoned lock means a panic while holding it; the data is still consistent
        // (every update is a single push), so keep counting.
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let since = r.at - WINDOW;
        let caller_key = format!("caller:{}", r.caller);
        let number_key = format!("number:{}", r.callback_number);
        let mut check = |key: &str, limit: u32| -> (bool, bool) {
            let window = w.by_key.entry(key.to_string()).or_default();
            let (n, seen) = prune(window, since, &r.call_id);
            (seen, limit == 0 || n < limit as usize)
        };
        let (caller_seen, caller_ok) = check(&caller_key, r.per_caller);
        let (number_seen, number_ok) = check(&number_key, r.per_callback_number);
        if caller_seen && number_seen {
            return LimitDecision::Allowed;
        }
        if !caller_ok {
            return LimitDecision::CallerLimited;
        }
        if !number_ok {
            return LimitDecision::CallbackNumberLimited;
        }
        for key in [caller_key, number_key] {
            w.by_key
                .entry(key)
                .or_default()
                .push_back((r.at, r.call_id.clone()));
        }
        LimitDecision::Allowed
    }
}

impl DeflectionCounter for MemoryCounter {
    type Error = std::convert::Infallible;

    fn try_record(
        &self,
        request: &LimitRequest,
    ) -> impl Future<Output = Result<LimitDecision, Self::Error>> + Send {
        std::future::ready(Ok(self.record(request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(call: &str, caller: &str, number: &str, at: &str) -> LimitRequest {
        LimitRequest {
            call_id: call.into(),
            caller: caller.into(),
            callback_number: number.into(),
            per_caller: 2,
            per_callback_number: 3,
            at: at.parse().unwrap(),
        }
    }

    #[test]
    fn callers_are_limited_per_sliding_hour() {
        let c = MemoryCounter::new();
        let me = "+31611111111";
        assert_eq!(
            c.record(&request("a", me, "+31622222221", "2026-11-21T10:00:00Z")),
            LimitDecision::Allowed
        );
        assert_eq!(
            c.record(&request("b", me, "+31622222222", "2026-11-21T10:30:00Z")),
            LimitDecision::Allowed
        );
        assert_eq!(
            c.record(&request("c", me, "+31622222223", "2026-11-21T10:59:59Z")),
            LimitDecision::CallerLimited
        );
        // The refused request used nothing up: the number is still fresh for others.
        assert_eq!(
            c.record(&request(
                "d",
                "+31633333333",
                "+31622222223",
                "2026-11-21T10:59:59Z"
            )),
            LimitDecision::Allowed
        );
        // An hour after the first, one slot is free again.
        assert_eq!(
            c.record(&request("e", me, "+31622222224", "2026-11-21T11:00:00Z")),
            LimitDecision::Allowed
        );
    }

    #[test]
    fn callback_numbers_are_limited_across_callers_and_requests_are_idempotent() {
        let c = MemoryCounter::new();
        let target = "+31699999999";
        for (i, caller) in ["+31600000001", "+31600000002", "+31600000003"]
            .iter()
            .enumerate()
        {
            let r = request(&format!("call-{i}"), caller, target, "2026-11-21T10:00:00Z");
            assert_eq!(c.record(&r), LimitDecision::Allowed);
            // Asking again for the same call counts nothing more.
            assert_eq!(c.record(&r), LimitDecision::Allowed);
        }
        assert_eq!(
            c.record(&request(
                "call-9",
                "+31600000009",
                target,
                "2026-11-21T10:10:00Z"
            )),
            LimitDecision::CallbackNumberLimited
        );
    }

    #[test]
    fn zero_means_no_limit() {
        let c = MemoryCounter::new();
        for i in 0..50 {
            let mut r = request(
                &format!("{i}"),
                ANONYMOUS_CALLER,
                "+31612345678",
                "2026-11-21T10:00:00Z",
            );
            r.per_caller = 0;
            r.per_callback_number = 0;
            assert_eq!(c.record(&r), LimitDecision::Allowed);
        }
    }
}
