//! The SQL of FAQ entries added through the API (`faq_entries`).

use crate::clock::Millis;
use crate::model::{FaqListEntry, ListSource, StoreError};
use crate::store::{Tx, opt_str};
use sqlx::Row;

const COLUMNS: &str = "id, account, question, answer, language, created_at, updated_at";

/// Stores entry `e` (its id and times are ignored) at `now`; returns its id. A second entry
/// with the same account, language and question is a unique violation.
pub(crate) async fn insert(tx: &mut Tx, e: &FaqListEntry, now: Millis) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO faq_entries (account, question, answer, language, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(e.account.as_deref())
    .bind(&e.question)
    .bind(&e.answer)
    .bind(&e.language)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Replaces entry `id` with `e` at `now`; returns it as stored, `None` when there is none.
pub(crate) async fn update(
    tx: &mut Tx,
    id: i64,
    e: &FaqListEntry,
    now: Millis,
) -> Result<Option<FaqListEntry>, StoreError> {
    let row = sqlx::query(sql!(
        "UPDATE faq_entries SET account = $1, question = $2, answer = $3, language = $4, \
         updated_at = $5 WHERE id = $6 RETURNING {COLUMNS}"
    ))
    .bind(e.account.as_deref())
    .bind(&e.question)
    .bind(&e.answer)
    .bind(&e.language)
    .bind(now)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(entry))
}

/// Deletes entry `id`; returns what it was, `None` when there is none.
pub(crate) async fn delete(tx: &mut Tx, id: i64) -> Result<Option<FaqListEntry>, StoreError> {
    let row = sqlx::query(sql!(
        "DELETE FROM faq_entries WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(entry))
}

/// How many entries there are.
pub(crate) async fn count(tx: &mut Tx) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) FROM faq_entries")
        .fetch_one(tx.conn())
        .await?
        .get(0))
}

/// Every entry, oldest first (the order they are matched in when scores tie).
pub(crate) async fn all<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<FaqListEntry>, StoreError> {
    let rows = sqlx::query(sql!("SELECT {COLUMNS} FROM faq_entries ORDER BY id"))
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(entry).collect())
}

fn entry(r: &sqlx::any::AnyRow) -> FaqListEntry {
    FaqListEntry {
        id: Some(r.get("id")),
        account: opt_str(r, "account"),
        question: r.get("question"),
        answer: r.get("answer"),
        language: r.get("language"),
        source: ListSource::Api,
        key: None,
        created_at: Some(r.get("created_at")),
        updated_at: Some(r.get("updated_at")),
    }
}
