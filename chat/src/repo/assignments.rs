//! The SQL of the assignment history: who was offered, took, passed on or closed each
//! conversation, and when.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::routing::AgentId;
use crate::store::Tx;

/// One step of a conversation's history: `action` (`queued`, `offered`, `accepted`, …) with
/// `agent` in `queue`, done by `by` (none: the inbox itself).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step<'a> {
    pub(crate) agent: Option<AgentId>,
    pub(crate) queue: &'a str,
    pub(crate) action: &'a str,
    pub(crate) by: Option<AgentId>,
}

/// Records a step of conversation `conversation`'s history.
pub(crate) async fn record(
    tx: &mut Tx,
    conversation: i64,
    step: Step<'_>,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO assignments (conversation_id, agent_id, queue, action, by_agent_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation)
    .bind(step.agent)
    .bind(step.queue)
    .bind(step.action)
    .bind(step.by)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}
