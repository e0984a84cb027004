//! Opening hours of a flow: weekly intervals in local time and holiday dates, in the flow's
//! IANA time zone (with `jiff`: DST changes are applied to wall-clock times, so "09:00"
//! means 09:00 local on both sides of a change).

use deflect_config::{HoursConfig, WeeklyInterval};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// When a flow is open.
#[derive(Clone, Debug)]
pub struct OpeningHours {
    zone: TimeZone,
    weekly: Vec<WeeklyInterval>,
    holidays: Vec<Date>,
}

/// Opening hours that do not compile; the configuration check reports these first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// The time zone is not in the tz database.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// A holiday is not a date.
    #[error("{0:?} is not a date (YYYY-MM-DD)")]
    Date(String),
}

impl OpeningHours {
    /// Compiles `[ivr.flows.hours]`.
    pub fn new(config: &HoursConfig) -> Result<Self, HoursError> {
        let zone = TimeZone::get(&config.time_zone)
            .map_err(|_| HoursError::TimeZone(config.time_zone.clone()))?;
        let holidays = config
            .holidays
            .iter()
            .map(|d| d.parse().map_err(|_| HoursError::Date(d.clone())))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            zone,
            weekly: config.weekly.clone(),
            holidays,
        })
    }

    /// Whether the flow is open at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.zone.clone());
        let date = local.date();
        let minute =
            u16::from(local.hour().unsigned_abs()) * 60 + u16::from(local.minute().unsigned_abs());
        // Monday = 0 … Sunday = 6, as in the configuration.
        let day = (local.weekday().to_monday_zero_offset()) as u8;
        let yesterday = (day + 6) % 7;
        let open_today = |date: Date| !self.holidays.contains(&date);
        self.weekly.iter().any(|w| {
            let overnight = w.end <= w.start;
            let today = w.days & (1 << day) != 0
                && minute >= w.start
                && (overnight || minute < w.end)
                && open_today(date);
            // The part of an overnight interval after midnight belongs to the day it started.
            let from_yesterday = overnight
                && w.days & (1 << yesterday) != 0
                && minute < w.end
                && date.yesterday().is_ok_and(open_today);
            today || from_yesterday
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(zone: &str, weekly: &[&str], holidays: &[&str]) -> OpeningHours {
        OpeningHours::new(&HoursConfig {
            time_zone: zone.into(),
            weekly: weekly.iter().map(|w| w.parse().unwrap()).collect(),
            holidays: holidays.iter().map(|h| h.to_string()).collect(),
        })
        .unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_intervals_in_the_flows_time_zone() {
        let h = hours("Europe/Amsterdam", &["mon-fri 09:00-17:30"], &[]);
        // Monday 2026-11-23: 09:00 local is 08:00 UTC (CET, UTC+1).
        assert!(!h.is_open(at("2026-11-23T07:59:59Z")));
        assert!(h.is_open(at("2026-11-23T08:00:00Z")));
        assert!(h.is_open(at("2026-11-23T16:29:59Z")));
        assert!(!h.is_open(at("2026-11-23T16:30:00Z")));
        // Saturday.
        assert!(!h.is_open(at("2026-11-21T10:00:00Z")));
        // Summer time: 09:00 local is 07:00 UTC.
        assert!(h.is_open(at("2026-06-01T07:00:00Z")));
        assert!(!h.is_open(at("2026-06-01T06:59:00Z")));
    }

    #[test]
    fn holidays_close_the_whole_day_and_overnight_intervals_cross_midnight() {
        let h = hours(
            "Asia/Seoul",
            &["fri 22:00-02:00", "daily 10:00-12:00"],
            &["2026-12-25"],
        );
        // Friday 2026-12-25 is a holiday: closed at 11:00 local (02:00 UTC).
        assert!(!h.is_open(at("2026-12-25T02:00:00Z")));
        // Friday 2026-11-27 23:00 KST = 14:00 UTC, and Saturday 01:00 KST = 16:00 UTC.
        assert!(h.is_open(at("2026-11-27T14:00:00Z")));
        assert!(h.is_open(at("2026-11-27T16:00:00Z")));
        assert!(!h.is_open(at("2026-11-27T17:00:00Z")));
        // The night after the holiday Friday is closed too (it started on the holiday).
        assert!(!h.is_open(at("2026-12-25T16:00:00Z")));
        // Saturday 10:30 KST.
        assert!(h.is_open(at("2026-11-28T01:30:00Z")));
    }

    #[test]
    fn unknown_zones_are_errors() {
        let e = OpeningHours::new(&HoursConfig {
            time_zone: "Mars/Olympus".into(),
            weekly: vec![],
            holidays: vec![],
        })
        .unwrap_err();
        assert_eq!(e, HoursError::TimeZone("Mars/Olympus".into()));
    }
}
