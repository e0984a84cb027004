//! The SQL of bot turns: customers' messages waiting to be passed to their conversation's
//! bot, taken in order, one at a time per conversation, under a lease.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::{Store, Tx};
use sqlx::Row;

/// A turn taken by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Turn {
    pub(crate) id: i64,
    pub(crate) conversation: i64,
    pub(crate) message: i64,
    /// Attempts so far, this one included: the turn is finished only by the attempt that
    /// holds it.
    pub(crate) attempts: i64,
}

/// Queues message `message` of conversation `conversation` for its bot.
pub(crate) async fn insert(
    tx: &mut Tx,
    conversation: i64,
    message: i64,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bot_turns (conversation_id, message_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(conversation)
    .bind(message)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Takes the oldest turn that is first in its conversation and not leased at `now`, leasing
/// it until `lease_until`.
pub(crate) async fn take(
    tx: &mut Tx,
    now: Millis,
    lease_until: Millis,
) -> Result<Option<Turn>, StoreError> {
    let skip = tx.skip_locked(Some("t"));
    let row = sqlx::query(sql!(
        "SELECT t.id, t.conversation_id, t.message_id, t.attempts FROM bot_turns t \
         WHERE (t.lease_until IS NULL OR t.lease_until < $1) AND NOT EXISTS \
         (SELECT 1 FROM bot_turns e WHERE e.conversation_id = t.conversation_id AND e.id < t.id) \
         ORDER BY t.id LIMIT 1{skip}"
    ))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let turn = Turn {
        id: row.get("id"),
        conversation: row.get("conversation_id"),
        message: row.get("message_id"),
        attempts: row.get::<i64, _>("attempts") + 1,
    };
    sqlx::query("UPDATE bot_turns SET attempts = $1, lease_until = $2 WHERE id = $3")
        .bind(turn.attempts)
        .bind(lease_until)
        .bind(turn.id)
        .execute(tx.conn())
        .await?;
    Ok(Some(turn))
}

/// Removes `turn` if the attempt that took it still holds it; returns whether it did.
pub(crate) async fn finish(tx: &mut Tx, turn: &Turn) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM bot_turns WHERE id = $1 AND attempts = $2")
        .bind(turn.id)
        .bind(turn.attempts)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Drops conversation `conversation`'s waiting turns (it left its bot).
pub(crate) async fn cancel_all(tx: &mut Tx, conversation: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM bot_turns WHERE conversation_id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// When the next turn can be taken (now, if one is free; else when a lease ends).
pub(crate) async fn next_due(store: &Store) -> Result<Option<Millis>, StoreError> {
    let row = sqlx::query("SELECT MIN(COALESCE(lease_until, 0)) AS due FROM bot_turns")
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>("due").ok().flatten())
}
