//! The SQL of canned answers.

use crate::model::{CannedAnswer, StoreError};
use crate::routing::AgentId;
use crate::store::{Store, opt_str};
use sqlx::Row;

/// Stores a new canned answer made by `by`; returns its id.
pub(crate) async fn insert(
    store: &Store,
    a: &CannedAnswer,
    by: AgentId,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO canned_answers (account, title, body, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(a.account.as_deref())
    .bind(&a.title)
    .bind(&a.body)
    .bind(by)
    .bind(a.updated_at)
    .fetch_one(store.pool())
    .await?
    .get(0))
}

/// Replaces canned answer `a.id`; `false` when there is none.
pub(crate) async fn update(store: &Store, a: &CannedAnswer) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE canned_answers SET account = $1, title = $2, body = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(a.account.as_deref())
    .bind(&a.title)
    .bind(&a.body)
    .bind(a.updated_at)
    .bind(a.id)
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes canned answer `id`; `false` when there is none.
pub(crate) async fn delete(store: &Store, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM canned_answers WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Every canned answer, by title.
pub(crate) async fn all(store: &Store) -> Result<Vec<CannedAnswer>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, account, title, body, updated_at FROM canned_answers ORDER BY title, id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| CannedAnswer {
            id: r.get("id"),
            account: opt_str(r, "account"),
            title: r.get("title"),
            body: r.get("body"),
            updated_at: r.get("updated_at"),
        })
        .collect())
}
