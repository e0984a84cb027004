//! The hand-off policy: when a deflection the inbox refused is offered again.
//!
//! Every deflection takes one path to the inbox (`runtime::HandOffs`, see
//! [`crate::deflection`] for the steps): offered at once — after the call's BYE, or at
//! start-up for what the journal kept from before a restart — and, while the inbox refuses
//! it, offered again with exponential back-off, [`Backoff::initial`] doubling up to
//! [`Backoff::max`]. A deflection is never dropped: it waits until the inbox takes it, and
//! stays in the journal (for the next start) until then.
//!
//! [`Retries`] is that schedule, sans-IO: refusals and successes go in with `now`, the
//! deflections due come out of [`Retries::poll_due`], and [`Retries::poll_timeout`] says
//! when to look again. Each deflection keeps its own back-off.
//!
//! ```
//! use deflect_ivr::handoff::{Backoff, Retries};
//! # use deflect_ivr::{CallContext, Deflection, InputMethod};
//! # let deflection = Deflection { call: CallContext { call_id: "a".into(), caller: None,
//! #     callback_number: "+31612345678".into(), dialled_number: None, flow: None,
//! #     language: None, started_at: 0, ended_at: 0, input_method: InputMethod::Dtmf,
//! #     transcript: None, path: Vec::new() }, account: None, queue: None };
//! use std::time::{Duration, Instant};
//!
//! let mut retries = Retries::new(Backoff::default());
//! let t0 = Instant::now();
//! retries.handle_refused(t0, deflection); // the first attempt failed
//! assert_eq!(retries.poll_timeout(), Some(t0 + Duration::from_secs(1)));
//! assert!(retries.poll_due(t0).is_none());
//! // The driver sleeps until poll_timeout(), then offers what is due …
//! let t1 = t0 + Duration::from_secs(1);
//! let again = retries.poll_due(t1).expect("due after a second");
//! // … and reports how it went: taken (forgotten), or refused again (two seconds now).
//! retries.handle_refused(t1, again);
//! assert_eq!(retries.poll_timeout(), Some(t1 + Duration::from_secs(2)));
//! ```

use crate::deflection::Deflection;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The back-off between attempts to hand one deflection off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first refusal.
    pub initial: Duration,
    /// The longest wait; the wait doubles after each refusal up to this.
    pub max: Duration,
}

impl Default for Backoff {
    /// One second, doubling up to a minute.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
struct Waiting {
    deflection: Deflection,
    /// The last wait; the next refusal doubles it.
    wait: Duration,
    due: Instant,
    /// Given out by `poll_due`, its result not reported yet.
    in_flight: bool,
    refusals: u32,
}

/// Deflections the consumer refused, each waiting for its next attempt (see the module
/// docs).
#[derive(Debug)]
pub struct Retries {
    backoff: Backoff,
    waiting: BTreeMap<String, Waiting>,
}

impl Retries {
    /// An empty schedule.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            waiting: BTreeMap::new(),
        }
    }

    /// The consumer refused `deflection` at `now` (a first attempt, or one `poll_due` gave
    /// out): it is due again after the initial wait, or twice the last one (at most
    /// [`Backoff::max`]). Returns that wait.
    pub fn handle_refused(&mut self, now: Instant, deflection: Deflection) -> Duration {
        let backoff = self.backoff;
        let entry = self
            .waiting
            .entry(deflection.call.call_id.clone())
            .and_modify(|w| {
                w.wait = (w.wait * 2).min(backoff.max);
                w.refusals += 1;
            })
            .or_insert_with(|| Waiting {
                deflection: deflection.clone(),
                wait: backoff.initial.min(backoff.max),
                due: now,
                in_flight: false,
                refusals: 1,
            });
        entry.deflection = deflection;
        entry.due = now + entry.wait;
        entry.in_flight = false;
        entry.wait
    }

    /// The consumer took the deflection of `call_id`: it is forgotten.
    pub fn handle_taken(&mut self, call_id: &str) {
        self.waiting.remove(call_id);
    }

    /// A deflection due for another attempt at `now` (the one due first), or `None`. It
    /// stays scheduled, in flight, until its result comes back through
    /// [`handle_taken`](Self::handle_taken) or [`handle_refused`](Self::handle_refused).
    pub fn poll_due(&mut self, now: Instant) -> Option<Deflection> {
        let w = self
            .waiting
            .values_mut()
            .filter(|w| !w.in_flight && w.due <= now)
            .min_by_key(|w| w.due)?;
        w.in_flight = true;
        Some(w.deflection.clone())
    }

    /// When the next attempt is due (`None`: nothing waits, or everything is in flight).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.waiting
            .values()
            .filter(|w| !w.in_flight)
            .map(|w| w.due)
            .min()
    }

    /// How many times the deflection of `call_id` was refused, while it waits.
    pub fn refusals(&self, call_id: &str) -> Option<u32> {
        self.waiting.get(call_id).map(|w| w.refusals)
    }

    /// Deflections waiting (in flight included).
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::deflection::{CallContext, InputMethod};

    fn deflection(call_id: &str) -> Deflection {
        Deflection {
            call: CallContext {
                call_id: call_id.into(),
                caller: None,
                callback_number: "+31612345678".into(),
                dialled_number: Some("+31201234567".into()),
                flow: Some("default".into()),
                language: Some("en".into()),
                started_at: 1_795_428_000_000,
                ended_at: 1_795_428_031_000,
                input_method: InputMethod::Dtmf,
                transcript: None,
                path: Vec::new(),
            },
            account: None,
            queue: None,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_wait_doubles_after_each_refusal_up_to_the_maximum_and_never_gives_up() {
        let mut r = Retries::new(Backoff::default());
        let mut now = Instant::now();
        let mut waits = Vec::new();
        waits.push(r.handle_refused(now, deflection("a")));
        for _ in 0..9 {
            let due = r.poll_timeout().unwrap();
            assert!(
                r.poll_due(due - Duration::from_millis(1)).is_none(),
                "not before"
            );
            now = due;
            let d = r.poll_due(now).unwrap();
            assert_eq!(r.poll_timeout(), None, "in flight: nothing else is due");
            waits.push(r.handle_refused(now, d));
        }
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 60, 60, 60, 60].map(secs),
            "never dropped"
        );
        assert_eq!(r.refusals("a"), Some(10));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn a_deflection_taken_is_forgotten_and_the_others_keep_their_own_schedule() {
        let mut r = Retries::new(Backoff::default());
        let t0 = Instant::now();
        r.handle_refused(t0, deflection("a"));
        let d = r.poll_due(t0 + secs(1)).unwrap();
        r.handle_refused(t0 + secs(1), d); // a: due at 3 s
        r.handle_refused(t0 + secs(2), deflection("b")); // b: due at 3 s too
        assert_eq!(r.poll_timeout(), Some(t0 + secs(3)));
        let first = r.poll_due(t0 + secs(3)).unwrap();
        let second = r.poll_due(t0 + secs(3)).unwrap();
        assert_ne!(first.call.call_id, second.call.call_id);
        assert!(r.poll_due(t0 + secs(3)).is_none());
        r.handle_taken("a");
        r.handle_refused(t0 + secs(3), deflection("b"));
        assert_eq!(r.len(), 1);
        assert_eq!(r.refusals("a"), None);
        // b's second refusal: two seconds.
        assert_eq!(r.poll_timeout(), Some(t0 + secs(5)));
    }

    #[test]
    fn what_is_due_comes_out_oldest_deadline_first() {
        let mut r = Retries::new(Backoff {
            initial: secs(10),
            max: secs(10),
        });
        let t0 = Instant::now();
        r.handle_refused(t0 + secs(2), deflection("late"));
        r.handle_refused(t0, deflection("early"));
        assert_eq!(r.poll_due(t0 + secs(20)).unwrap().call.call_id, "early");
        assert_eq!(r.poll_due(t0 + secs(20)).unwrap().call.call_id, "late");
    }

    #[test]
    fn an_empty_schedule_has_no_deadline() {
        let mut r = Retries::new(Backoff::default());
        assert!(r.is_empty());
        assert_eq!(r.poll_timeout(), None);
        assert!(r.poll_due(Instant::now()).is_none());
        r.handle_taken("nothing");
    }
}
