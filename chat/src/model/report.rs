//! The supervisors' reports: per queue and per agent over a period, deflections by flow and
//! input method, and the volume and waiting-time series their charts draw.
//!
//! Durations (first response, handle time, waiting time) are counted in SQL into the fixed
//! buckets of [`BANDS`] (one `GROUP BY` per report, the same on SQLite and PostgreSQL) and
//! their percentiles are read from the counts here ([`Histogram::percentile`]), interpolating
//! linearly inside the bucket the rank falls in. So a percentile is off by less than one
//! bucket's width from the exact one: under 5 s below a minute, 30 s below 10 minutes,
//! 5 minutes below an hour, 30 minutes below a day, 6 hours below a week; beyond a week it is
//! reported as 7 days (168 h). Both databases return the same counts, so the same numbers.

use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// One band of buckets: buckets `width` ms wide up to `below` ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// Where the band ends (exclusive), ms.
    pub below: i64,
    /// Each bucket's width, ms.
    pub width: i64,
}

/// The buckets durations are counted in, from 0: 5 s wide to a minute, 30 s to 10 minutes, 5
/// minutes to an hour, 30 minutes to a day, 6 hours to a week, then one for all longer.
pub const BANDS: [Band; 5] = [
    Band {
        below: 60_000,
        width: 5_000,
    },
    Band {
        below: 600_000,
        width: 30_000,
    },
    Band {
        below: 3_600_000,
        width: 300_000,
    },
    Band {
        below: 86_400_000,
        width: 1_800_000,
    },
    Band {
        below: 604_800_000,
        width: 21_600_000,
    },
];

/// The number of buckets, the last one (a week and longer) included.
pub const BUCKETS: usize = 111;

/// The bucket a duration of `ms` falls in (negative durations count as 0).
pub fn bucket_of(ms: i64) -> usize {
    let mut first = 0usize;
    let mut start = 0i64;
    let ms = ms.max(0);
    for b in BANDS {
        if ms < b.below {
            return first + usize::try_from((ms - start) / b.width).unwrap_or(0);
        }
        first += usize::try_from((b.below - start) / b.width).unwrap_or(0);
        start = b.below;
    }
    BUCKETS - 1
}

/// Where bucket `i` starts and how wide it is, ms (the last: a week, 0 wide).
pub fn bucket_bounds(i: usize) -> (i64, i64) {
    let mut first = 0usize;
    let mut start = 0i64;
    for b in BANDS {
        let n = usize::try_from((b.below - start) / b.width).unwrap_or(0);
        if i < first + n {
            return (start + (i - first) as i64 * b.width, b.width);
        }
        first += n;
        start = b.below;
    }
    (start, 0)
}

/// The SQL expression of [`bucket_of`] for the duration `d` (an integer expression in ms; it
/// is repeated, so keep it a plain column difference): NULL when `d` is. Integer division on
/// both databases.
pub fn bucket_sql(d: &str) -> String {
    let mut out = format!("CASE WHEN {d} IS NULL THEN NULL WHEN {d} < 0 THEN 0");
    let mut first = 0i64;
    let mut start = 0i64;
    for b in BANDS {
        out.push_str(&format!(
            " WHEN {d} < {below} THEN {first} + ({d} - {start}) / {width}",
            below = b.below,
            width = b.width
        ));
        first += (b.below - start) / b.width;
        start = b.below;
    }
    out.push_str(&format!(" ELSE {} END", BUCKETS - 1));
    out
}

/// Counts of durations per bucket of [`BANDS`], with the shortest and longest duration
/// each bucket holds (percentiles interpolate between those, so one duration alone in its
/// bucket is exact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<i64>,
    /// Per bucket: (shortest, longest) duration counted in it (ms).
    range: Vec<(i64, i64)>,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            range: vec![(i64::MAX, i64::MIN); BUCKETS],
        }
    }
}

impl Histogram {
    /// The histogram of `durations` (ms).
    pub fn of(durations: impl IntoIterator<Item = i64>) -> Self {
        let mut h = Self::default();
        for d in durations {
            h.add(bucket_of(d), 1, d, d);
        }
        h
    }

    /// Counts `n` more durations, from `shortest` to `longest` ms, in bucket `bucket` (one out
    /// of range counts in the last).
    pub fn add(&mut self, bucket: usize, n: i64, shortest: i64, longest: i64) {
        let i = bucket.min(BUCKETS - 1);
        self.counts[i] += n;
        let r = &mut self.range[i];
        *r = (r.0.min(shortest), r.1.max(longest));
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (i, n) in other.counts.iter().enumerate() {
            if *n > 0 {
                let (lo, hi) = other.range[i];
                self.add(i, *n, lo, hi);
            }
        }
    }

    /// How many durations.
    pub fn count(&self) -> i64 {
        self.counts.iter().sum()
    }

    /// The counts per bucket.
    pub fn counts(&self) -> &[i64] {
        &self.counts
    }

    /// How many durations are below `ms` (a bucket boundary; otherwise the buckets starting
    /// below it).
    pub fn below(&self, ms: i64) -> i64 {
        (self.counts.iter().enumerate())
            .filter(|(i, _)| bucket_bounds(*i).0 < ms)
            .map(|(_, n)| n)
            .sum()
    }

    /// The `p` quantile (0–1) in seconds, to a tenth: the rank `p × count` found in its bucket
    /// and interpolated linearly between the shortest and longest duration the bucket holds
    /// (within the bucket's bounds). None without durations.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = p.clamp(0.0, 1.0) * total as f64;
        let mut before = 0i64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if (before + n) as f64 >= rank {
                let (start, width) = bucket_bounds(i);
                let (lo, hi) = self.range[i];
                // The last bucket is open-ended: its durations count as its start.
                let (lo, hi) = (
                    lo.clamp(start, start + width),
                    hi.clamp(start, start + width),
                );
                let inside = if n == 1 {
                    0.0
                } else {
                    ((rank - before as f64) / n as f64).clamp(0.0, 1.0)
                };
                let ms = lo as f64 + inside * (hi - lo) as f64;
                return Some((ms / 100.0).round() / 10.0);
            }
            before += n;
        }
        None
    }
}

/// A report's period, `[from, to)` in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// Its start (inclusive).
    pub from: Millis,
    /// Its end (exclusive).
    pub to: Millis,
}

/// The longest period a report covers: 400 days.
pub const MAX_PERIOD_MS: Millis = 400 * 86_400_000;

/// What a report row counts for: a queue or an agent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReportKey {
    /// The conversations' queue (the one they are in, or closed in).
    Queue(String),
    /// The agent who handled (closed) or holds them.
    Agent(i64),
}

/// One row of a queue or agent report (`GET /api/v1/reports/queues|agents`). Counts are over
/// the period: conversations in (entered a queue in it; for an agent, first taken in it and
/// theirs), closed (closed in it), handled (closed in it with an agent holding it — that
/// agent's), abandoned (closed in it after waiting in a queue with no agent's reply); the
/// times are those of the conversations closed in it (first response: first queued → the
/// first agent's message the customer saw; handle: first taken → closed, of those handled;
/// wait: first queued → first taken); CSAT: ratings given in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The queue (queue report; none in an agent report and in totals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The agent (agent report; none in a queue report and in totals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<i64>,
    /// The agent's name (agent report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Conversations that came in.
    pub conversations_in: i64,
    /// Conversations handled (closed by or with an agent holding them).
    pub conversations_handled: i64,
    /// Conversations closed.
    pub conversations_closed: i64,
    /// Conversations closed after waiting in a queue without any agent's reply.
    pub abandoned: i64,
    /// Median first response, seconds.
    pub first_response_p50_seconds: Option<f64>,
    /// 90th percentile first response, seconds.
    pub first_response_p90_seconds: Option<f64>,
    /// Median handle time, seconds.
    pub handle_time_p50_seconds: Option<f64>,
    /// 90th percentile handle time, seconds.
    pub handle_time_p90_seconds: Option<f64>,
    /// Median waiting time in the queue, seconds.
    pub wait_p50_seconds: Option<f64>,
    /// 90th percentile waiting time in the queue, seconds.
    pub wait_p90_seconds: Option<f64>,
    /// Average satisfaction score (1–5) of the ratings given; none without ratings.
    pub csat_average: Option<f64>,
    /// How many ratings.
    pub csat_count: i64,
}

/// The counts behind a [`ReportRow`], before percentiles are read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportCounts {
    /// Conversations in.
    pub conversations_in: i64,
    /// Conversations handled.
    pub conversations_handled: i64,
    /// Conversations closed.
    pub conversations_closed: i64,
    /// Conversations abandoned.
    pub abandoned: i64,
    /// First responses.
    pub first_response: Histogram,
    /// Handle times.
    pub handle_time: Histogram,
    /// Waiting times.
    pub wait: Histogram,
    /// How many ratings.
    pub csat_count: i64,
    /// Their scores added up.
    pub csat_sum: i64,
}

impl ReportCounts {
    /// Adds `other` (for totals).
    pub fn merge(&mut self, other: &ReportCounts) {
        self.conversations_in += other.conversations_in;
        self.conversations_handled += other.conversations_handled;
        self.conversations_closed += other.conversations_closed;
        self.abandoned += other.abandoned;
        self.first_response.merge(&other.first_response);
        self.handle_time.merge(&other.handle_time);
        self.wait.merge(&other.wait);
        self.csat_count += other.csat_count;
        self.csat_sum += other.csat_sum;
    }

    /// The row these counts make (no key).
    pub fn row(&self) -> ReportRow {
        ReportRow {
            conversations_in: self.conversations_in,
            conversations_handled: self.conversations_handled,
            conversations_closed: self.conversations_closed,
            abandoned: self.abandoned,
            first_response_p50_seconds: self.first_response.percentile(0.5),
            first_response_p90_seconds: self.first_response.percentile(0.9),
            handle_time_p50_seconds: self.handle_time.percentile(0.5),
            handle_time_p90_seconds: self.handle_time.percentile(0.9),
            wait_p50_seconds: self.wait.percentile(0.5),
            wait_p90_seconds: self.wait.percentile(0.9),
            csat_average: (self.csat_count > 0)
                .then(|| super::average(self.csat_sum, self.csat_count)),
            csat_count: self.csat_count,
            ..ReportRow::default()
        }
    }
}

/// A queue or agent report: its rows and their totals.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// One row per queue (every configured one) or per agent with any count.
    pub rows: Vec<ReportRow>,
    /// All rows together (percentiles over all their durations).
    pub total: ReportRow,
    /// The waiting times of all rows (the wait chart's).
    #[serde(skip)]
    pub waits: Option<Histogram>,
}

/// Deflections of one flow and input method (`GET /api/v1/reports/deflections`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflectionRow {
    /// The IVR flow (none: a deflection from the API without one).
    pub flow: Option<String>,
    /// How the caller answered: `dtmf` or `speech`.
    pub input_method: String,
    /// Deflections made in the period.
    pub deflections: i64,
    /// Of them, how many the customer answered on WhatsApp.
    pub answered: i64,
}

/// Deflections over a period by flow and input method, most first, and their totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflectionReport {
    /// One row per flow and input method.
    pub rows: Vec<DeflectionRow>,
    /// All of them (no flow, input method `all`).
    pub total: DeflectionRow,
}

/// Conversations that came in per slice of a period (the volume chart's bars).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// How long each slice is: an hour for periods up to 3 days, a day beyond.
    pub slice_seconds: i64,
    /// Where the slices start (the period's start), ms.
    pub from: Millis,
    /// Conversations in per slice, from the first.
    pub counts: Vec<i64>,
}

/// The slice a volume chart of `period` counts in: an hour up to 3 days, a day beyond (ms).
pub fn volume_slice(period: Period) -> i64 {
    if period.to - period.from <= 3 * 86_400_000 {
        3_600_000
    } else {
        86_400_000
    }
}

/// The wait chart's bands, upper bounds in seconds (the last: everything longer); each is a
/// bucket boundary of [`BANDS`], so the counts are exact.
pub const WAIT_BANDS: [i64; 7] = [30, 60, 120, 300, 600, 1800, 3600];

/// Waiting times counted in [`WAIT_BANDS`] (plus one for longer): their counts, in order.
pub fn wait_bands(h: &Histogram) -> Vec<i64> {
    let mut out = Vec::with_capacity(WAIT_BANDS.len() + 1);
    let mut before = 0;
    for s in WAIT_BANDS {
        let below = h.below(s * 1000);
        out.push(below - before);
        before = below;
    }
    out.push(h.count() - before);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_bands_and_the_sql_says_the_same() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(-5), 0);
        assert_eq!(bucket_of(4_999), 0);
        assert_eq!(bucket_of(5_000), 1);
        assert_eq!(bucket_of(59_999), 11);
        assert_eq!(bucket_of(60_000), 12);
        assert_eq!(bucket_of(604_799_999), BUCKETS - 2);
        assert_eq!(bucket_of(604_800_000), BUCKETS - 1);
        assert_eq!(bucket_of(i64::MAX), BUCKETS - 1);
        for i in 0..BUCKETS - 1 {
            let (start, width) = bucket_bounds(i);
            assert_eq!(bucket_of(start), i, "bucket {i} starts at {start}");
            assert_eq!(bucket_of(start + width - 1), i);
            assert_eq!(bucket_of(start + width), i + 1);
        }
        let sql = bucket_sql("d");
        assert!(sql.starts_with(
            "CASE WHEN d IS NULL THEN NULL WHEN d < 0 THEN 0 WHEN d < 60000 THEN 0 + (d - 0) / 5000"
        ));
        assert!(sql.contains("WHEN d < 600000 THEN 12 + (d - 60000) / 30000"));
        assert!(sql.ends_with(&format!("ELSE {} END", BUCKETS - 1)));
    }

    #[test]
    fn percentiles_interpolate_inside_the_bucket() {
        assert_eq!(Histogram::default().percentile(0.5), None);
        // Ten waits of 1 s: 1 s, however many (the bucket holds only 1 s).
        let h = Histogram::of([1_000; 10]);
        assert_eq!(h.percentile(0.5), Some(1.0));
        assert_eq!(h.percentile(0.9), Some(1.0));
        // One answer after 0.4 s: exact. Waits of 1–4 s spread over their bucket's range.
        assert_eq!(Histogram::of([400]).percentile(0.9), Some(0.4));
        let h = Histogram::of([1_000, 2_000, 3_000, 4_000]);
        assert_eq!(h.percentile(0.5), Some(2.5));
        // 1, 2, 3 minutes: p50 is in the 90–120 s bucket... the second value's bucket.
        let h = Histogram::of([60_000, 120_000, 180_000]);
        let p50 = h.percentile(0.5).unwrap_or_default();
        assert!((120.0..150.0).contains(&p50), "{p50}");
        // Within one bucket's width of the exact value.
        let values: Vec<i64> = (0..1000).map(|i| i * 3_700).collect();
        let exact = values[499] as f64 / 1000.0;
        let got = Histogram::of(values.clone())
            .percentile(0.5)
            .unwrap_or_default();
        assert!((got - exact).abs() <= 300.0, "{got} vs {exact}");
        // Longer than a week: a week.
        assert_eq!(
            Histogram::of([700_000_000]).percentile(0.5),
            Some(604_800.0)
        );
    }

    #[test]
    fn merged_histograms_count_both() {
        let mut a = Histogram::of([1_000, 70_000]);
        a.merge(&Histogram::of([70_000]));
        assert_eq!(a.count(), 3);
        assert_eq!(a.counts()[bucket_of(70_000)], 2);
    }

    #[test]
    fn wait_bands_count_each_duration_once() {
        let h = Histogram::of([0, 29_999, 30_000, 59_000, 61_000, 4_000_000]);
        assert_eq!(wait_bands(&h), vec![2, 2, 1, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn rows_read_percentiles_and_the_csat_average() {
        let c = ReportCounts {
            conversations_closed: 2,
            csat_count: 3,
            csat_sum: 14,
            wait: Histogram::of([10_000, 10_000]),
            ..ReportCounts::default()
        };
        let r = c.row();
        assert_eq!(r.csat_average, Some(4.67));
        assert_eq!(r.wait_p50_seconds, Some(10.0), "both waited 10 s");
        assert_eq!(r.first_response_p50_seconds, None);
        assert_eq!(ReportCounts::default().row().csat_average, None);
    }
}
