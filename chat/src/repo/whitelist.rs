//! The SQL of whitelist entries added through the API (`whitelist_entries`).

use crate::clock::Millis;
use crate::model::{ListSource, StoreError, WhitelistEntry};
use crate::store::{Tx, opt_str};
use sqlx::Row;

/// Stores an entry; returns its id. A second entry with the same account and pattern is a
/// unique violation.
pub(crate) async fn insert(
    tx: &mut Tx,
    account: Option<&str>,
    pattern: &str,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO whitelist_entries (account, pattern, created_at) VALUES ($1, $2, $3) \
         RETURNING id",
    )
    .bind(account)
    .bind(pattern)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Deletes entry `id`; returns what it was, `None` when there is none.
pub(crate) async fn delete(tx: &mut Tx, id: i64) -> Result<Option<WhitelistEntry>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM whitelist_entries WHERE id = $1 RETURNING id, account, pattern, created_at",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(entry))
}

/// How many entries there are.
pub(crate) async fn count(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) FROM whitelist_entries")
        .fetch_one(tx.conn())
        .await?
        .get(0))
}

/// Every entry, by account (every account first) and pattern.
pub(crate) async fn all<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<WhitelistEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, account, pattern, created_at FROM whitelist_entries \
         ORDER BY COALESCE(account, ''), pattern",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(entry).collect())
}

fn entry(r: &sqlx::any::AnyRow) -> WhitelistEntry {
    WhitelistEntry {
        id: Some(r.get("id")),
        account: opt_str(r, "account"),
        pattern: r.get("pattern"),
        source: ListSource::Api,
        key: None,
        created_at: Some(r.get("created_at")),
    }
}
