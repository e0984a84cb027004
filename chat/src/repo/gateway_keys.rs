//! The SQL of the keys the gateway generates for itself, shared by its processes.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Store;
use sqlx::Row;

/// The key named `name`: the one stored, or `candidate` stored now if there was none (the
/// first process to ask wins; the others read its key).
pub(crate) async fn get_or_create(
    store: &Store,
    name: &str,
    candidate: &str,
    now: Millis,
) -> Result<String, StoreError> {
    sqlx::query(
        "INSERT INTO gateway_keys (name, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .bind(now)
    .execute(store.pool())
    .await?;
    let row = sqlx::query("SELECT secret FROM gateway_keys WHERE name = $1")
        .bind(name)
        .fetch_one(store.pool())
        .await?;
    Ok(row.get("secret"))
}
