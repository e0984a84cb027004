//! What each agent has read of each conversation (`conversation_reads`): the newest message
//! shown to them, which never moves back.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::routing::AgentId;
use crate::store::{Store, opt_i64};

/// Records that `agent` has read conversation `conversation` up to message `upto` (its newest
/// message when `None`; a message of another conversation counts as the newest one before it
/// in this one). Returns the message the marker now stands at, if the conversation has any.
pub(crate) async fn mark(
    store: &Store,
    agent: AgentId,
    conversation: i64,
    upto: Option<i64>,
    now: Millis,
) -> Result<Option<i64>, StoreError> {
    let newest =
        sqlx::query("SELECT MAX(id) AS id FROM messages WHERE conversation_id = $1 AND id <= $2")
            .bind(conversation)
            .bind(upto.unwrap_or(i64::MAX))
            .fetch_one(store.pool())
            .await?;
    let Some(message) = opt_i64(&newest, "id") else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO conversation_reads (agent_id, conversation_id, message_id, read_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id, conversation_id) DO UPDATE \
         SET message_id = excluded.message_id, read_at = excluded.read_at \
         WHERE conversation_reads.message_id < excluded.message_id",
    )
    .bind(agent)
    .bind(conversation)
    .bind(message)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(Some(message))
}
