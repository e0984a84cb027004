//! The SQL of the deflection limits' uses: one row per key (a caller, a callback number) and
//! call, kept for the sliding window.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Tx;
use sqlx::Row;

/// Forgets `key`'s uses at or before `since`, then counts the rest: (how many, whether
/// call `call_id` is one of them).
pub(crate) async fn count(
    tx: &mut Tx,
    key: &str,
    call_id: &str,
    since: Millis,
) -> Result<(i64, bool), StoreError> {
    sqlx::query("DELETE FROM deflection_limit_uses WHERE key = $1 AND at <= $2")
        .bind(key)
        .bind(since)
        .execute(tx.conn())
        .await?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, \
         COALESCE(SUM(CASE WHEN call_id = $2 THEN 1 ELSE 0 END), 0) AS seen \
         FROM deflection_limit_uses WHERE key = $1",
    )
    .bind(key)
    .bind(call_id)
    .fetch_one(tx.conn())
    .await?;
    Ok((row.get::<i64, _>("n"), row.get::<i64, _>("seen") > 0))
}

/// Records a use of `key` by call `call_id` at `at` (once per key and call).
pub(crate) async fn record(
    tx: &mut Tx,
    key: &str,
    call_id: &str,
    at: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deflection_limit_uses (key, call_id, at) VALUES ($1, $2, $3) \
         ON CONFLICT (key, call_id) DO NOTHING",
    )
    .bind(key)
    .bind(call_id)
    .bind(at)
    .execute(tx.conn())
    .await?;
    Ok(())
}
