//! The reports' SQL: each a `GROUP BY` over a range of one of migration 0018's covering
//! indexes (conversations closed, first queued, first taken or rated in the period;
//! deflections made in it), the durations counted into the buckets of
//! [`crate::model::BANDS`] by the database, the same way on SQLite and PostgreSQL.

use crate::model::{
    DeflectionRow, Period, ReportCounts, ReportKey, StoreError, Volume, bucket_sql, volume_slice,
};
use crate::store::{Store, opt_str};
use deflect_config::DatabaseKind;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// What a report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grouping {
    /// The conversation's queue.
    Queue,
    /// The agent who handled (or holds) it.
    Agent,
}

impl Grouping {
    /// The grouping column, and the condition a row needs to count.
    fn key(self) -> (&'static str, &'static str) {
        match self {
            Grouping::Queue => ("c.queue", ""),
            Grouping::Agent => ("c.agent_id", " AND c.agent_id IS NOT NULL"),
        }
    }

    fn decode(self, r: &AnyRow) -> ReportKey {
        match self {
            Grouping::Queue => ReportKey::Queue(r.get("k")),
            Grouping::Agent => ReportKey::Agent(r.get("k")),
        }
    }
}

/// Conversations `c` read through `index`: on SQLite named (`INDEXED BY`), since its planner
/// may otherwise walk `conversations_agent` to group by agent without sorting — a scan of
/// every conversation; PostgreSQL picks the range scan itself.
fn through(store: &Store, index: &str) -> String {
    match store.kind() {
        DatabaseKind::Sqlite => format!("conversations c INDEXED BY {index}"),
        DatabaseKind::Postgres => "conversations c".into(),
    }
}

/// The counts of every queue or agent with any in `period`.
pub(crate) async fn counts(
    store: &Store,
    by: Grouping,
    period: Period,
) -> Result<BTreeMap<ReportKey, ReportCounts>, StoreError> {
    let (k, only) = by.key();
    let closed = format!("c.closed_at >= $1 AND c.closed_at < $2{only}");
    let by_closing = through(store, "conversations_closed_report");
    let mut out: BTreeMap<ReportKey, ReportCounts> = BTreeMap::new();

    // The counts of the conversations closed in the period, then the buckets of each
    // duration: one GROUP BY per metric, so the answer has at most (keys × buckets) rows per
    // metric whatever the period's size (grouping by all three buckets at once would answer
    // close to a row per conversation).
    let rows = sqlx::query(sql!(
        "SELECT {k} AS k, COUNT(*) AS closed, \
         CAST(SUM(CASE WHEN c.agent_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS handled, \
         CAST(SUM(CASE WHEN c.first_queued_at IS NOT NULL AND c.first_response_at IS NULL \
         THEN 1 ELSE 0 END) AS BIGINT) AS abandoned \
         FROM {by_closing} WHERE {closed} GROUP BY {k}"
    ))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    for r in &rows {
        let c = out.entry(by.decode(r)).or_default();
        c.conversations_closed = r.get("closed");
        c.conversations_handled = r.get("handled");
        c.abandoned = r.get("abandoned");
    }

    let first_response = bucket_sql("c.first_response_at - c.first_queued_at");
    let handle = bucket_sql("c.closed_at - c.first_assigned_at");
    let wait = bucket_sql("c.first_assigned_at - c.first_queued_at");
    let rows = sqlx::query(sql!(
        "SELECT k, m, b, COUNT(*) AS n, MIN(d) AS lo, MAX(d) AS hi FROM (\
         SELECT {k} AS k, CAST(1 AS BIGINT) AS m, CAST({first_response} AS BIGINT) AS b, \
         c.first_response_at - c.first_queued_at AS d \
         FROM {by_closing} WHERE {closed} \
         AND c.first_response_at IS NOT NULL AND c.first_queued_at IS NOT NULL \
         UNION ALL SELECT {k} AS k, CAST(2 AS BIGINT) AS m, CAST({handle} AS BIGINT) AS b, \
         c.closed_at - c.first_assigned_at AS d \
         FROM {by_closing} WHERE {closed} \
         AND c.first_assigned_at IS NOT NULL AND c.agent_id IS NOT NULL \
         UNION ALL SELECT {k} AS k, CAST(3 AS BIGINT) AS m, CAST({wait} AS BIGINT) AS b, \
         c.first_assigned_at - c.first_queued_at AS d \
         FROM {by_closing} WHERE {closed} \
         AND c.first_assigned_at IS NOT NULL AND c.first_queued_at IS NOT NULL\
         ) x GROUP BY k, m, b"
    ))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    for r in &rows {
        let c = out.entry(by.decode(r)).or_default();
        let bucket = usize::try_from(r.get::<i64, _>("b")).unwrap_or(0);
        let (n, lo, hi): (i64, i64, i64) = (r.get("n"), r.get("lo"), r.get("hi"));
        match r.get::<i64, _>("m") {
            1 => c.first_response.add(bucket, n, lo, hi),
            2 => c.handle_time.add(bucket, n, lo, hi),
            _ => c.wait.add(bucket, n, lo, hi),
        }
    }

    let (came_in, index) = match by {
        Grouping::Queue => (
            "c.first_queued_at >= $1 AND c.first_queued_at < $2",
            "conversations_queued_report",
        ),
        Grouping::Agent => (
            "c.first_assigned_at >= $1 AND c.first_assigned_at < $2 AND c.agent_id IS NOT NULL",
            "conversations_assigned_report",
        ),
    };
    let by_entry = through(store, index);
    let rows = sqlx::query(sql!(
        "SELECT {k} AS k, COUNT(*) AS n FROM {by_entry} WHERE {came_in} GROUP BY {k}"
    ))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    for r in &rows {
        out.entry(by.decode(r)).or_default().conversations_in = r.get("n");
    }

    let by_rating = through(store, "conversations_csat_report");
    let rows = sqlx::query(sql!(
        "SELECT {k} AS k, COUNT(*) AS n, CAST(SUM(c.csat_score) AS BIGINT) AS total \
         FROM {by_rating} WHERE c.csat_at >= $1 AND c.csat_at < $2 \
         AND c.csat_score IS NOT NULL{only} GROUP BY {k}"
    ))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    for r in &rows {
        let c = out.entry(by.decode(r)).or_default();
        c.csat_count = r.get("n");
        c.csat_sum = r.get("total");
    }
    Ok(out)
}

/// Every agent's name, by id.
pub(crate) async fn agent_names(store: &Store) -> Result<BTreeMap<i64, String>, StoreError> {
    let rows = sqlx::query("SELECT id, display_name FROM agents")
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("display_name")))
        .collect())
}

/// Deflections made in `period` per flow and input method, most first; answered: the
/// customer wrote in their conversation.
pub(crate) async fn deflections(
    store: &Store,
    period: Period,
) -> Result<Vec<DeflectionRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.flow, d.input_method, COUNT(*) AS n, \
         CAST(SUM(CASE WHEN c.last_inbound_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered \
         FROM deflections d JOIN conversations c ON c.id = d.conversation_id \
         WHERE d.created_at >= $1 AND d.created_at < $2 \
         GROUP BY d.flow, d.input_method ORDER BY n DESC, d.flow, d.input_method",
    )
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| DeflectionRow {
            flow: opt_str(r, "flow"),
            input_method: r.get("input_method"),
            deflections: r.get("n"),
            answered: r.get("answered"),
        })
        .collect())
}

/// Conversations that entered a queue in `period`, per slice of it ([`volume_slice`]).
pub(crate) async fn volume(store: &Store, period: Period) -> Result<Volume, StoreError> {
    let slice = volume_slice(period);
    let by_entry = through(store, "conversations_queued_report");
    let rows = sqlx::query(sql!(
        "SELECT (c.first_queued_at - $1) / $3 AS s, COUNT(*) AS n FROM {by_entry} \
         WHERE c.first_queued_at >= $1 AND c.first_queued_at < $2 GROUP BY s"
    ))
    .bind(period.from)
    .bind(period.to)
    .bind(slice)
    .fetch_all(store.pool())
    .await?;
    let slices = usize::try_from((period.to - period.from + slice - 1) / slice).unwrap_or(0);
    let mut counts = vec![0i64; slices];
    for r in &rows {
        let s = usize::try_from(r.get::<i64, _>("s")).unwrap_or(0);
        if let Some(n) = counts.get_mut(s) {
            *n += r.get::<i64, _>("n");
        }
    }
    Ok(Volume {
        slice_seconds: slice / 1000,
        from: period.from,
        counts,
    })
}
