//! Opening hours, shared by IVR flows (`[ivr.flows.hours]`, for `branch` steps) and widget
//! sites (`[widget.sites.hours]`, outside which the widget offers WhatsApp at once): weekly
//! intervals in local time and holiday dates, in an IANA time zone.
//!
//! [`OpeningHours`] evaluates them. It is here, beside its configuration, so the IVR and the
//! inbox use one implementation without depending on each other. Time is an input: callers
//! pass the instant (from their clock), nothing here reads the system time.
//!
//! Time zones come from `jiff`: it is maintained by the author of `regex`, reads the system tz
//! database and carries a bundled copy for machines without one, and applies DST changes to
//! wall-clock times, so "09:00" means 09:00 local on both sides of a change.

use crate::Problems;
use crate::value::string_serde;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `hours` of an IVR flow (`[ivr.flows.hours]`) or a widget site (`[widget.sites.hours]`):
/// when it is open.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HoursConfig {
    /// IANA time zone the hours are in, e.g. `"Europe/Amsterdam"`.
    pub time_zone: String,
    /// Weekly opening intervals: `"mon-fri 09:00-17:30"`, `"sat,sun 10:00-14:00"`,
    /// `"daily 08:00-20:00"`; an end before the start runs past midnight.
    pub weekly: Vec<WeeklyInterval>,
    /// Dates it is closed all day: `"2026-12-25"`.
    pub holidays: Vec<String>,
}

/// A weekly opening interval: days of the week and a local time range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeeklyInterval {
    /// Bit `d` set when weekday `d` (0 = Monday … 6 = Sunday) opens.
    pub days: u8,
    /// Opening, minutes after local midnight (0–1439).
    pub start: u16,
    /// Closing, minutes after local midnight (1–1440); at or before `start` it is on the
    /// next day.
    pub end: u16,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl FromStr for WeeklyInterval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let help = "expected DAYS HH:MM-HH:MM, e.g. \"mon-fri 09:00-17:30\", \
                    \"sat,sun 10:00-14:00\" or \"daily 08:00-20:00\"";
        let (days_text, times) = s
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{s:?}: {help}"))?;
        let day = |d: &str| {
            DAYS.iter()
                .position(|x| x.eq_ignore_ascii_case(d.trim()))
                .ok_or_else(|| format!("{s:?}: unknown day {d:?}; valid: {}", DAYS.join(", ")))
        };
        let mut days = 0u8;
        if days_text.eq_ignore_ascii_case("daily") {
            days = 0x7f;
        } else {
            for part in days_text.split(',') {
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day(a)?, day(b)?);
                        let mut d = a;
                        loop {
                            days |= 1 << d;
                            if d == b {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                    }
                    None => days |= 1 << day(part)?,
                }
            }
        }
        let (a, b) = times
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("{s:?}: {help}"))?;
        let time = |t: &str, allow_24: bool| -> Result<u16, String> {
            let bad = || format!("{s:?}: {t:?} is not a time HH:MM; {help}");
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)) {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        let (start, end) = (time(a, false)?, time(b, true)?);
        if start == end {
            return Err(format!("{s:?}: opening and closing times are the same"));
        }
        Ok(Self { days, start, end })
    }
}

impl fmt::Display for WeeklyInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days == 0x7f {
            f.write_str("daily")?;
        } else {
            let names: Vec<&str> = (0..7)
                .filter(|d| self.days & (1 << d) != 0)
                .map(|d| DAYS[d])
                .collect();
            f.write_str(&names.join(","))?;
        }
        write!(
            f,
            " {:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}
string_serde!(
    WeeklyInterval,
    "an interval such as \"mon-fri 09:00-17:30\""
);

impl HoursConfig {
    pub(crate) fn validate(&self, p: &mut Problems, at: &str) {
        if self.time_zone.is_empty() {
            p.push(
                format!("{at}.time_zone"),
                "required: an IANA time zone such as \"Europe/Amsterdam\"",
            );
        } else if let Err(e) = jiff::tz::TimeZone::get(&self.time_zone) {
            p.push(
                format!("{at}.time_zone"),
                format!(
                    "{:?} is not a known time zone ({e}); write an IANA name such as \
                     \"Europe/Amsterdam\" or \"Asia/Seoul\"",
                    self.time_zone
                ),
            );
        }
        if self.weekly.is_empty() {
            p.push(
                format!("{at}.weekly"),
                "list at least one interval, e.g. [\"mon-fri 09:00-17:30\"]",
            );
        }
        for (i, d) in self.holidays.iter().enumerate() {
            if d.parse::<jiff::civil::Date>().is_err() {
                p.push(
                    format!("{at}.holidays[{i}]"),
                    format!("{d:?} is not a date; write YYYY-MM-DD, e.g. \"2026-12-25\""),
                );
            }
        }
    }
}

/// Compiled opening hours: when something is open.
///
/// ```
/// use deflect_config::{HoursConfig, OpeningHours};
/// let hours = OpeningHours::new(&HoursConfig {
///     time_zone: "Europe/Amsterdam".into(),
///     weekly: vec!["mon-fri 09:00-17:30".parse().unwrap()],
///     holidays: vec!["2026-12-25".into()],
/// })
/// .unwrap();
/// // Monday 2026-11-23, 10:00 in Amsterdam (09:00 UTC).
/// assert!(hours.is_open("2026-11-23T09:00:00Z".parse().unwrap()));
/// assert!(!hours.is_open_at_unix_ms(1_798_189_200_000)); // 2026-12-25 10:00 local: a holiday
/// ```
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
    /// Compiles a `hours` table.
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

    /// Whether it is open at `at`.
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

    /// Whether it is open at `ms` milliseconds after the Unix epoch (an instant outside
    /// the range of dates jiff handles counts as closed).
    pub fn is_open_at_unix_ms(&self, ms: i64) -> bool {
        Timestamp::from_millisecond(ms).is_ok_and(|t| self.is_open(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_intervals_parse_and_print() {
        let w: WeeklyInterval = "mon-fri 09:00-17:30".parse().unwrap();
        assert_eq!((w.days, w.start, w.end), (0b001_1111, 540, 1050));
        assert_eq!(w.to_string(), "mon,tue,wed,thu,fri 09:00-17:30");
        let w: WeeklyInterval = "sat,sun 10:00-14:00".parse().unwrap();
        assert_eq!(w.days, 0b110_0000);
        let w: WeeklyInterval = "fri-mon 22:00-02:00".parse().unwrap();
        assert_eq!(w.days, 0b111_0001);
        let w: WeeklyInterval = "daily 00:00-24:00".parse().unwrap();
        assert_eq!(
            (w.days, w.to_string().as_str()),
            (0x7f, "daily 00:00-24:00")
        );
        for bad in [
            "mon 9-17",
            "funday 09:00-10:00",
            "mon 25:00-26:00",
            "mon 09:00-09:00",
            "09:00-17:00",
            "mon 24:00-10:00",
        ] {
            assert!(bad.parse::<WeeklyInterval>().is_err(), "{bad} accepted");
        }
    }

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
