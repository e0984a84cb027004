//! The SQL of queues: the configured ones are recorded (routing locks their rows), and a
//! queue's row is locked while a conversation of it is routed.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::{Store, Tx, opt_i64};
use deflect_config::DatabaseKind;
use sqlx::Row;

/// Records the configured queues (those known already are left as they are).
pub(crate) async fn record(store: &Store, names: &[&str], now: Millis) -> Result<(), StoreError> {
    for name in names {
        sqlx::query("INSERT INTO queues (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(now)
            .execute(store.pool())
            .await?;
    }
    Ok(())
}

/// PostgreSQL: locks `queue`'s row until the transaction ends, so that two processes route
/// its conversations one after the other (SQLite's transaction is exclusive already).
pub(crate) async fn lock(tx: &mut Tx, queue: &str) -> Result<(), StoreError> {
    if tx.kind() == DatabaseKind::Postgres {
        sqlx::query("SELECT name FROM queues WHERE name = $1 FOR UPDATE")
            .bind(queue)
            .fetch_optional(tx.conn())
            .await?;
    }
    Ok(())
}

/// How many open conversations wait in each queue by status, and since when the oldest
/// queued one waits: (queue, status, count, oldest `queued_at`).
pub(crate) async fn counts(
    store: &Store,
) -> Result<Vec<(String, String, i64, Option<Millis>)>, StoreError> {
    let rows = sqlx::query(
        "SELECT queue, status, COUNT(*) AS n, MIN(queued_at) AS oldest FROM conversations \
         WHERE status <> 'closed' GROUP BY queue, status",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get("queue"),
                r.get("status"),
                r.get("n"),
                opt_i64(r, "oldest"),
            )
        })
        .collect())
}
