//! The SQL of queues: the configured ones are recorded (routing locks their rows), and a
//! queue's row is locked while a conversation of it is routed; the waits of the last day and
//! the positions waiting customers were told (queue notices).

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

/// Records that a conversation waited `waited` in `queue` before an agent took it, and
/// forgets that queue's waits from before `since`.
pub(crate) async fn record_wait(
    tx: &mut Tx,
    queue: &str,
    waited: Millis,
    since: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM queue_waits WHERE queue = $1 AND at < $2")
        .bind(queue)
        .bind(since)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO queue_waits (queue, waited_ms, at) VALUES ($1, $2, $3)")
        .bind(queue)
        .bind(waited)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The median of the last `n` waits recorded in `queue` since `since` (none without any).
pub(crate) async fn median_wait(
    tx: &mut Tx,
    queue: &str,
    since: Millis,
    n: i64,
) -> Result<Option<Millis>, StoreError> {
    let rows = sqlx::query(
        "SELECT waited_ms FROM queue_waits WHERE queue = $1 AND at >= $2 \
         ORDER BY at DESC, id DESC LIMIT $3",
    )
    .bind(queue)
    .bind(since)
    .bind(n)
    .fetch_all(tx.conn())
    .await?;
    let mut waits: Vec<Millis> = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
    waits.sort_unstable();
    Ok(waits.get(waits.len() / 2).copied())
}

/// Conversation `id`'s position among the conversations waiting (queued or offered) in its
/// queue, oldest first (1: next); none when it does not wait.
pub(crate) async fn position(tx: &mut Tx, id: i64) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM conversations c JOIN conversations o ON o.queue = c.queue \
         AND o.status IN ('queued', 'offered') \
         AND (o.queued_at < c.queued_at OR (o.queued_at = c.queued_at AND o.id <= c.id)) \
         WHERE c.id = $1 AND c.status IN ('queued', 'offered')",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let n: i64 = row.get(0);
    Ok((n > 0).then_some(n))
}

/// The waiting conversations whose customer was told a position they have since improved
/// on: (conversation, position told, position now), by id.
pub(crate) async fn improved(tx: &mut Tx) -> Result<Vec<(i64, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, queue_notice, pos FROM (SELECT id, queue_notice, \
         ROW_NUMBER() OVER (PARTITION BY queue ORDER BY queued_at, id) AS pos \
         FROM conversations WHERE status IN ('queued', 'offered')) w \
         WHERE queue_notice IS NOT NULL AND queue_notice > pos ORDER BY id",
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("queue_notice"), r.get("pos")))
        .collect())
}

/// Records the position conversation `id`'s customer was told.
pub(crate) async fn set_notice(tx: &mut Tx, id: i64, position: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET queue_notice = $1 WHERE id = $2")
        .bind(position)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
