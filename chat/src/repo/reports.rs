//! The reports' SQL: each a `GROUP BY` over a range of one of migration 0018's covering
//! indexes (conversations closed, first queued, first taken or rated in the period;
//! deflections made in it), the durations counted into the buckets of
//! [`crate::model::BANDS`] by the database, the same way on SQLite and PostgreSQL.

use crate::model::{
    DeflectionRow, Period, ReportCounts, ReportKey, StoreError, Volume, bucket_sql, volume_slice,
};
use crate::store::{Store, opt_i64, opt_str};
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

/// The counts of every queue or agent with any in `period`.
pub(crate) async fn counts(
    store: &Store,
    by: Grouping,
    period: Period,
) -> Result<BTreeMap<ReportKey, ReportCounts>, StoreError> {
    let (k, only) = by.key();
    let closed = format!("c.closed_at >= $1 AND c.closed_at < $2{only}");
    let mut out: BTreeMap<ReportKey, ReportCounts> = BTreeMap::new();

    // One pass over the conversations closed in the period: grouped by key, whether an agent
    // handled it, and the bucket of each duration (NULL when it has none), with the abandoned
    // ones counted; the counts and histograms are added up from the groups.
    let first_response = bucket_sql("c.first_response_at - c.first_queued_at");
    let handle = bucket_sql("c.closed_at - c.first_assigned_at");
    let wait = bucket_sql("c.first_assigned_at - c.first_queued_at");
    let rows = sqlx::query(sql!(
        "SELECT k, h, b1, b2, b3, COUNT(*) AS n, CAST(SUM(ab) AS BIGINT) AS abandoned FROM (\
         SELECT {k} AS k, CAST(CASE WHEN c.agent_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS h, \
         CAST({first_response} AS BIGINT) AS b1, CAST({handle} AS BIGINT) AS b2, \
         CAST({wait} AS BIGINT) AS b3, \
         CASE WHEN c.first_queued_at IS NOT NULL AND c.first_response_at IS NULL THEN 1 ELSE 0 END AS ab \
         FROM conversations c WHERE {closed}\
         ) x GROUP BY k, h, b1, b2, b3"
    ))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    let bucket = |r: &AnyRow, name: &str| opt_i64(r, name).and_then(|b| usize::try_from(b).ok());
    for r in &rows {
        let c = out.entry(by.decode(r)).or_default();
        let n: i64 = r.get("n");
        let handled = r.get::<i64, _>("h") == 1;
        c.conversations_closed += n;
        c.abandoned += r.get::<i64, _>("abandoned");
        if let Some(b) = bucket(r, "b1") {
            c.first_response.add(b, n);
        }
        if let Some(b) = bucket(r, "b3") {
            c.wait.add(b, n);
        }
        if handled {
            c.conversations_handled += n;
            if let Some(b) = bucket(r, "b2") {
                c.handle_time.add(b, n);
            }
        }
    }

    let came_in = match by {
        Grouping::Queue => "c.first_queued_at >= $1 AND c.first_queued_at < $2",
        Grouping::Agent => {
            "c.first_assigned_at >= $1 AND c.first_assigned_at < $2 AND c.agent_id IS NOT NULL"
        }
    };
    let rows = sqlx::query(sql!(
        "SELECT {k} AS k, COUNT(*) AS n FROM conversations c WHERE {came_in} GROUP BY {k}"
    ))
    .bind(period.from)
    .bind(period.to)
    .fetch_all(store.pool())
    .await?;
    for r in &rows {
        out.entry(by.decode(r)).or_default().conversations_in = r.get("n");
    }

    let rows = sqlx::query(sql!(
        "SELECT {k} AS k, COUNT(*) AS n, CAST(SUM(c.csat_score) AS BIGINT) AS total \
         FROM conversations c WHERE c.csat_at >= $1 AND c.csat_at < $2 \
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
    let rows = sqlx::query(
        "SELECT (c.first_queued_at - $1) / $3 AS s, COUNT(*) AS n FROM conversations c \
         WHERE c.first_queued_at >= $1 AND c.first_queued_at < $2 GROUP BY s",
    )
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
