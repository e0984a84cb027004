//! The SQL of durable timers: one row per conversation and kind, taken by the timer worker
//! when due.

use crate::clock::Millis;
use crate::model::{StoreError, TimerKind};
use crate::routing::AgentId;
use crate::store::{Column, Store, Tx, json_rows, opt_i64};
use sqlx::Row;

/// Arms (or moves) conversation `conversation`'s timer of `kind`.
pub(crate) async fn set(
    tx: &mut Tx,
    conversation: i64,
    kind: TimerKind,
    due_at: Millis,
    agent: Option<AgentId>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO timers (conversation_id, kind, due_at, agent_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (conversation_id, kind) DO UPDATE SET due_at = excluded.due_at, \
         agent_id = excluded.agent_id",
    )
    .bind(conversation)
    .bind(kind.as_str())
    .bind(due_at)
    .bind(agent)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Arms timers (conversation, kind, due time, agent) in one statement, each unless it is
/// armed already (an armed one keeps its due time).
pub(crate) async fn set_many_unless_armed(
    tx: &mut Tx,
    timers: &[(i64, TimerKind, Millis, Option<AgentId>)],
) -> Result<(), StoreError> {
    if timers.is_empty() {
        return Ok(());
    }
    let rows = json_rows(
        tx.kind(),
        1,
        &[
            ("conversation_id", Column::BigInt),
            ("kind", Column::Text),
            ("due_at", Column::BigInt),
            ("agent_id", Column::BigInt),
        ],
    );
    let values: Vec<serde_json::Value> = timers
        .iter()
        .map(|(c, k, due, agent)| serde_json::json!([c, k.as_str(), due, agent]))
        .collect();
    sqlx::query(sql!(
        "WITH v AS ({rows}) INSERT INTO timers (conversation_id, kind, due_at, agent_id) \
         SELECT v.conversation_id, v.kind, v.due_at, v.agent_id FROM v WHERE true ORDER BY v.ord \
         ON CONFLICT (conversation_id, kind) DO NOTHING"
    ))
    .bind(serde_json::Value::from(values).to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Disarms conversation `conversation`'s timer of `kind`.
pub(crate) async fn cancel(
    tx: &mut Tx,
    conversation: i64,
    kind: TimerKind,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM timers WHERE conversation_id = $1 AND kind = $2")
        .bind(conversation)
        .bind(kind.as_str())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Disarms every timer of conversation `conversation`.
pub(crate) async fn cancel_all(tx: &mut Tx, conversation: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM timers WHERE conversation_id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Whether conversation `conversation`'s timer of `kind` is armed.
pub(crate) async fn is_armed(
    tx: &mut Tx,
    conversation: i64,
    kind: TimerKind,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("SELECT 1 FROM timers WHERE conversation_id = $1 AND kind = $2")
            .bind(conversation)
            .bind(kind.as_str())
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
    )
}

/// When the next timer is due, if any.
pub(crate) async fn next_due(store: &Store) -> Result<Option<Millis>, StoreError> {
    let row = sqlx::query("SELECT MIN(due_at) FROM timers")
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0).ok().flatten())
}

/// A timer taken to fire: deleted in the transaction that applies it.
#[derive(Clone, Debug)]
pub(crate) struct Due {
    pub(crate) conversation: i64,
    /// As stored (a kind this version does not know is dropped by the caller).
    pub(crate) kind: String,
    pub(crate) agent: Option<AgentId>,
}

/// Takes the earliest timer due at `now` (on PostgreSQL one no other transaction holds):
/// deletes it within `tx` and returns it.
pub(crate) async fn take_due(tx: &mut Tx, now: Millis) -> Result<Option<Due>, StoreError> {
    let skip = tx.skip_locked(None);
    let row = sqlx::query(sql!(
        "SELECT id, conversation_id, kind, agent_id FROM timers WHERE due_at <= $1 \
         ORDER BY due_at, id LIMIT 1{skip}"
    ))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else { return Ok(None) };
    sqlx::query("DELETE FROM timers WHERE id = $1")
        .bind(row.get::<i64, _>("id"))
        .execute(tx.conn())
        .await?;
    Ok(Some(Due {
        conversation: row.get("conversation_id"),
        kind: row.get("kind"),
        agent: opt_i64(&row, "agent_id"),
    }))
}
