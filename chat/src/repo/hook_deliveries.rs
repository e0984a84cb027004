//! The SQL of outgoing webhook deliveries: one row per logged event and endpoint that takes
//! it, worked by the webhook worker.

use crate::clock::Millis;
use crate::model::{Event, StoreError};
use crate::store::{Store, Tx};
use sqlx::Row;
use std::collections::HashMap;

/// A delivery `d` is first in line: none before it for the same endpoint and conversation
/// is still to be sent (their order is kept).
const FIRST_IN_LINE: &str = "NOT EXISTS (SELECT 1 FROM hook_deliveries e WHERE e.endpoint = d.endpoint \
     AND e.conversation_id = d.conversation_id AND e.id < d.id AND e.state IN ('pending', 'sending'))";

/// Writes the delivery of event `e` (of webhook type `kind`, sent as `body`) to `endpoint`,
/// inside the event's transaction.
pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    endpoint: &str,
    e: &Event,
    kind: &str,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hook_deliveries (endpoint, event_id, conversation_id, kind, body, state, due_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
    )
    .bind(endpoint)
    .bind(e.id)
    .bind(e.conversation_id.unwrap_or(0))
    .bind(kind)
    .bind(body)
    .bind(e.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery claimed for sending.
pub(crate) struct Claimed {
    pub(crate) id: i64,
    pub(crate) endpoint: String,
    pub(crate) kind: String,
    pub(crate) body: String,
    /// This attempt's number (1 for the first).
    pub(crate) attempts: i64,
}

/// Claims up to `limit` deliveries due at `now` and first in line (skipping those another
/// process holds, on PostgreSQL), leased until `lease_until`.
pub(crate) async fn claim_due(
    tx: &mut Tx,
    now: Millis,
    limit: i64,
    lease_until: Millis,
) -> Result<Vec<Claimed>, StoreError> {
    let skip = tx.skip_locked(Some("d"));
    let rows = sqlx::query(sql!(
        "SELECT d.id, d.endpoint, d.kind, d.body, d.attempts FROM hook_deliveries d \
         WHERE ((d.state = 'pending' AND d.due_at <= $1) OR (d.state = 'sending' AND d.lease_until < $1)) \
         AND {FIRST_IN_LINE} ORDER BY d.id LIMIT $2{skip}"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect();
    crate::store::lease(tx, "hook_deliveries", &ids, lease_until).await?;
    Ok(rows
        .iter()
        .map(|r| Claimed {
            id: r.get("id"),
            endpoint: r.get("endpoint"),
            kind: r.get("kind"),
            body: r.get("body"),
            attempts: r.get::<i64, _>("attempts") + 1,
        })
        .collect())
}

/// Delivery `id` was delivered at `now`.
pub(crate) async fn set_done(tx: &mut Tx, id: i64, now: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE hook_deliveries SET state = 'done', delivered_at = $1, lease_until = NULL, last_error = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Delivery `id` failed with `error`; it is tried again at `due_at`.
pub(crate) async fn set_retry(
    tx: &mut Tx,
    id: i64,
    due_at: Millis,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE hook_deliveries SET state = 'pending', due_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3")
        .bind(due_at)
        .bind(error)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Delivery `id` is given up, failing with `error`.
pub(crate) async fn set_dead(tx: &mut Tx, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE hook_deliveries SET state = 'dead', lease_until = NULL, last_error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Deliveries by endpoint and state.
pub(crate) async fn depth(store: &Store) -> Result<HashMap<(String, String), i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT endpoint, state, COUNT(*) AS n FROM hook_deliveries GROUP BY endpoint, state",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| ((r.get("endpoint"), r.get("state")), r.get::<i64, _>("n")))
        .collect())
}

/// When the next delivery first in line is due (or its lease ends).
pub(crate) async fn next_due(store: &Store) -> Result<Option<Millis>, StoreError> {
    // Only deliveries first in line: one due behind a delivery that waits to be retried
    // is not due yet (the worker would wake for it at once, again and again).
    let row = sqlx::query(sql!(
        "SELECT MIN(CASE WHEN d.state = 'pending' THEN d.due_at ELSE d.lease_until END) \
         FROM hook_deliveries d WHERE d.state IN ('pending', 'sending') AND {FIRST_IN_LINE}"
    ))
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get::<Option<i64>, _>(0).ok().flatten())
}

/// Gives up every delivery of `endpoint` still to be sent (its endpoint was deleted or
/// disabled), recording `error`; returns how many.
pub(crate) async fn give_up_waiting(
    tx: &mut Tx,
    endpoint: &str,
    error: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE hook_deliveries SET state = 'dead', lease_until = NULL, last_error = $1 \
         WHERE endpoint = $2 AND state IN ('pending', 'sending')",
    )
    .bind(error)
    .bind(endpoint)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

/// Moves the deliveries of endpoint `from` still to be sent to `to`, its new name (unless
/// `to` has a delivery of that event already, left by an endpoint of that name before).
pub(crate) async fn rename_waiting(tx: &mut Tx, from: &str, to: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE hook_deliveries SET endpoint = $1 WHERE endpoint = $2 \
         AND state IN ('pending', 'sending') AND NOT EXISTS (SELECT 1 FROM hook_deliveries o \
         WHERE o.endpoint = $1 AND o.event_id = hook_deliveries.event_id)",
    )
    .bind(to)
    .bind(from)
    .execute(tx.conn())
    .await?;
    Ok(())
}
