//! Session timers (RFC 4028): what a request and deflect agree on, and the timer that runs
//! once the agreement is in force.
//!
//! - [`negotiate`] reads a request's `Session-Expires`, `Min-SE` and `Supported`/`Require`
//!   (§9): an interval below `sip.min_se` is refused with 422 and `Min-SE`, a malformed one
//!   with 400; the interval is capped at `sip.session_expires` and kept at or above both
//!   sides' minimum. The refresher is the one the request names when it supports timers,
//!   else deflect.
//! - A [`SessionTimer`] starts when the 2xx that carries the agreement is sent or received.
//!   When deflect refreshes, it is due at half the interval (§7.2); when the peer does,
//!   deflect gives up at the interval less min(32 s, a third of it) without a refresh (§10)
//!   and sends BYE.
//!
//! `refresher` names a role in the transaction whose messages carry it (`uac`: the sender
//! of the request), so the same timer reads `uas` in deflect's 2xx and `uac` in deflect's
//! own refresh; [`SessionTimer`] keeps only whether deflect refreshes.
//!
//! ```
//! use deflect_sip::message::Headers;
//! use deflect_sip::session_timer::{Due, Limits, SessionTimer, negotiate};
//! use std::time::{Duration, Instant};
//!
//! let limits = Limits { session_expires: 1800, min_se: 90 };
//! let mut invite = Headers::default();
//! invite.push("Supported", "timer");
//! invite.push("Session-Expires", "120;refresher=uac");
//! let agreed = negotiate(&invite, limits).unwrap();
//! assert_eq!(agreed.interval, 120);
//!
//! let t0 = Instant::now();
//! let timer = SessionTimer::start(t0, agreed.interval, agreed.uas_refreshes());
//! assert_eq!(timer.response_header(), "120;refresher=uac");
//! // The caller refreshes: without a refresh deflect gives up after 120 − 32 s.
//! assert_eq!(timer.due(t0 + Duration::from_secs(88)), Some(Due::Expired));
//! ```

use crate::message::headers::parse_u32;
use crate::message::{Headers, Refresher, SessionExpires};
use std::time::{Duration, Instant};

/// The smallest interval RFC 4028 allows, and the `Min-SE` assumed when a request has none.
pub const MIN_SE: u32 = 90;

/// deflect's settings: `sip.session_expires` and `sip.min_se`, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The interval deflect asks for, and the most it accepts.
    pub session_expires: u32,
    /// The smallest interval deflect accepts.
    pub min_se: u32,
}

/// Why a request's session timer is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A header that does not parse (400): `Min-SE` or `Session-Expires`.
    Invalid(&'static str),
    /// An interval below deflect's minimum (422 with this `Min-SE`).
    TooSmall(u32),
}

impl Refusal {
    /// The response's status.
    pub fn status(self) -> u16 {
        match self {
            Self::Invalid(_) => 400,
            Self::TooSmall(_) => 422,
        }
    }

    /// The response's extra header.
    pub fn header(self) -> (&'static str, String) {
        match self {
            Self::Invalid(what) => ("Warning", format!("399 deflect \"invalid {what}\"")),
            Self::TooSmall(min) => ("Min-SE", min.to_string()),
        }
    }
}

/// The session interval and refresher agreed for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    /// Seconds.
    pub interval: u32,
    /// Who refreshes, in the request's transaction: `Uac` is its sender.
    pub refresher: Refresher,
    /// Whether the request's sender supports session timers (then the 2xx carries
    /// `Require: timer`, §9).
    pub supported: bool,
}

impl Agreement {
    /// Whether the request's receiver refreshes (deflect, for a request it answers).
    pub fn uas_refreshes(&self) -> bool {
        self.refresher == Refresher::Uas
    }
}

/// The session timer for a request deflect received (RFC 4028 §9).
pub fn negotiate(headers: &Headers, limits: Limits) -> Result<Agreement, Refusal> {
    let supported =
        headers.has_token("Supported", "timer") || headers.has_token("Require", "timer");
    let their_min = match headers.get("Min-SE") {
        Some(v) => {
            parse_u32(v.split(';').next().unwrap_or("").trim()).ok_or(Refusal::Invalid("Min-SE"))?
        }
        None => MIN_SE,
    };
    let min = limits.min_se.max(their_min);
    let (interval, named) = match headers.get("Session-Expires") {
        Some(v) => {
            let se = SessionExpires::parse(v).map_err(|_| Refusal::Invalid("Session-Expires"))?;
            if se.secs < limits.min_se {
                return Err(Refusal::TooSmall(limits.min_se));
            }
            (se.secs.min(limits.session_expires).max(min), se.refresher)
        }
        None => (limits.session_expires.max(min), None),
    };
    let refresher = if supported {
        named.unwrap_or(Refresher::Uac)
    } else {
        // A UAS that cannot rely on the UAC refreshing refreshes itself (§9).
        Refresher::Uas
    };
    Ok(Agreement {
        interval,
        refresher,
        supported,
    })
}

/// What a session timer asks for when it comes due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// deflect refreshes: send the refresh now.
    Refresh,
    /// The peer's refresh did not come: send BYE.
    Expired,
}

/// A running session timer (RFC 4028 §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTimer {
    interval: u32,
    we_refresh: bool,
    at: Instant,
}

impl SessionTimer {
    /// Starts a timer of `interval` seconds at `now` (when the 2xx is sent or received).
    pub fn start(now: Instant, interval: u32, we_refresh: bool) -> Self {
        let mut timer = Self {
            interval,
            we_refresh,
            at: now,
        };
        timer.restart(now);
        timer
    }

    /// Starts it again at `now` with the same interval and refresher: a refresh succeeded.
    pub fn restart(&mut self, now: Instant) {
        let i = u64::from(self.interval);
        self.at = if self.we_refresh {
            now + Duration::from_secs(i / 2)
        } else {
            now + Duration::from_secs(i - (i / 3).min(32))
        };
    }

    /// Seconds.
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// Whether deflect refreshes.
    pub fn we_refresh(&self) -> bool {
        self.we_refresh
    }

    /// When it comes due.
    pub fn deadline(&self) -> Instant {
        self.at
    }

    /// What is due at `now`, if anything.
    pub fn due(&self, now: Instant) -> Option<Due> {
        (self.at <= now).then_some(if self.we_refresh {
            Due::Refresh
        } else {
            Due::Expired
        })
    }

    /// deflect's refresh is out: the answer starts the timer again; until then it may take
    /// a whole interval.
    pub fn refresh_sent(&mut self, now: Instant) {
        self.at = now + Duration::from_secs(u64::from(self.interval));
    }

    /// Comes due again at `at` (a refresh that has to wait).
    pub fn postpone(&mut self, at: Instant) {
        self.at = at;
    }

    /// `Session-Expires` in a 2xx deflect sends (deflect is the transaction's UAS).
    pub fn response_header(&self) -> String {
        self.header(if self.we_refresh {
            Refresher::Uas
        } else {
            Refresher::Uac
        })
    }

    /// `Session-Expires` in deflect's refresh (deflect, the refresher, is its UAC).
    pub fn request_header(&self) -> String {
        self.header(Refresher::Uac)
    }

    fn header(&self, refresher: Refresher) -> String {
        SessionExpires {
            secs: self.interval,
            refresher: Some(refresher),
        }
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIMITS: Limits = Limits {
        session_expires: 1800,
        min_se: 90,
    };

    fn headers(list: &[(&str, &str)]) -> Headers {
        let mut h = Headers::default();
        for (name, value) in list {
            h.push(name, *value);
        }
        h
    }

    fn agree(list: &[(&str, &str)]) -> Result<Agreement, Refusal> {
        negotiate(&headers(list), LIMITS)
    }

    #[test]
    fn the_interval_is_capped_and_kept_above_both_minimums() {
        let a = agree(&[("Supported", "timer"), ("Session-Expires", "7200")]).unwrap();
        assert_eq!((a.interval, a.refresher), (1800, Refresher::Uac));
        let a = agree(&[("Session-Expires", "100"), ("Min-SE", "300")]).unwrap();
        assert_eq!(a.interval, 300, "the caller's Min-SE");
        let a = agree(&[]).unwrap();
        assert_eq!((a.interval, a.supported), (1800, false));
    }

    #[test]
    fn deflect_refreshes_unless_the_caller_supports_timers_and_says_otherwise() {
        let uas = |list: &[(&str, &str)]| agree(list).unwrap().uas_refreshes();
        assert!(uas(&[]), "no timer support: deflect refreshes");
        assert!(uas(&[("Session-Expires", "600;refresher=uac")]));
        assert!(
            !uas(&[("Supported", "timer")]),
            "supported, no refresher named"
        );
        assert!(!uas(&[("Require", "timer"), ("Session-Expires", "600")]));
        assert!(uas(&[
            ("Supported", "timer"),
            ("Session-Expires", "600;refresher=uas")
        ]));
    }

    #[test]
    fn too_small_or_malformed_values_are_refused() {
        let e = agree(&[("Session-Expires", "60")]).unwrap_err();
        assert_eq!((e.status(), e.header()), (422, ("Min-SE", "90".into())));
        let e = agree(&[("Session-Expires", "soon")]).unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(e.header().1, "399 deflect \"invalid Session-Expires\"");
        let e = agree(&[("Min-SE", "-1")]).unwrap_err();
        assert_eq!(e, Refusal::Invalid("Min-SE"));
    }

    #[test]
    fn deflect_refreshes_at_half_the_interval_and_names_itself_in_each_direction() {
        let t0 = Instant::now();
        let mut timer = SessionTimer::start(t0, 120, true);
        assert_eq!(timer.deadline(), t0 + Duration::from_secs(60));
        assert_eq!(timer.due(t0 + Duration::from_secs(59)), None);
        assert_eq!(timer.due(t0 + Duration::from_secs(60)), Some(Due::Refresh));
        assert_eq!(timer.response_header(), "120;refresher=uas");
        assert_eq!(timer.request_header(), "120;refresher=uac");
        let sent = t0 + Duration::from_secs(60);
        timer.refresh_sent(sent);
        assert_eq!(timer.deadline(), sent + Duration::from_secs(120));
        timer.restart(sent + Duration::from_secs(1));
        assert_eq!(timer.deadline(), sent + Duration::from_secs(61));
        timer.postpone(sent + Duration::from_secs(2));
        assert_eq!(timer.deadline(), sent + Duration::from_secs(2));
    }

    #[test]
    fn without_the_peers_refresh_the_session_expires_before_the_interval_ends() {
        let t0 = Instant::now();
        for (interval, expiry) in [(90, 60), (120, 88), (1800, 1768)] {
            let timer = SessionTimer::start(t0, interval, false);
            assert_eq!(
                timer.deadline(),
                t0 + Duration::from_secs(expiry),
                "{interval}"
            );
            assert_eq!(timer.due(timer.deadline()), Some(Due::Expired));
            assert_eq!(timer.response_header(), format!("{interval};refresher=uac"));
        }
    }
}
