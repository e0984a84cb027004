//! The event log's SQL besides the insert itself (the store's [`Tx`] appends and hands events
//! to its sinks): numbering a conversation's events, and reading the log back.

use crate::model::{Event, EventKind, StoreError};
use crate::store::{NewEvent, Store, Tx, opt_i64};
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str = "id, conversation_id, seq, kind, data, at";

/// Appends an event to the log; returns its id. A conversation's event takes the next of its
/// sequence numbers (which on PostgreSQL also locks the conversation's row until commit).
pub(crate) async fn log(
    tx: &mut Tx,
    conversation_id: Option<i64>,
    kind: EventKind,
    data: serde_json::Value,
    at: i64,
) -> Result<i64, StoreError> {
    let seq = match conversation_id {
        Some(c) => super::conversations::next_event_seq(tx, c).await?,
        None => 0,
    };
    tx.append(NewEvent {
        conversation_id,
        seq,
        kind,
        data,
        at,
    })
    .await
}

fn from_row(r: &AnyRow) -> Event {
    let data: String = r.get("data");
    Event {
        id: r.get("id"),
        conversation_id: opt_i64(r, "conversation_id"),
        seq: r.get("seq"),
        kind: EventKind::parse(&r.get::<String, _>("kind")),
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        at: r.get("at"),
    }
}

/// Up to `limit` events after `after`, in log order.
pub(crate) async fn after(store: &Store, after: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Up to `limit` events of conversation `id` after its `after_seq`-th, in order.
pub(crate) async fn of_conversation(
    store: &Store,
    id: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM events WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .bind(id)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Event `id`.
pub(crate) async fn by_id(store: &Store, id: i64) -> Result<Option<Event>, StoreError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM events WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// The ids of the latest `limit` events, newest first.
pub(crate) async fn latest_ids(store: &Store, limit: i64) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query("SELECT id FROM events ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect(),
    )
}
