//! The conversation's lifecycle: the transitions several services make, each a step inside
//! the caller's write transaction. A conversation is opened ([`open`]), queued, offered,
//! declined, returned and closed by the routing driver ([`dispatch`]), handed to an agent
//! ([`transition`], which also holds the skeleton of every agent action), sent messages
//! ([`outgoing`]) whose delivery statuses move on ([`status`]) — a deflection WhatsApp cannot
//! deliver falls back to SMS ([`sms`]) — and may move from the widget to WhatsApp
//! ([`handoff`]) or be relayed to agents' own WhatsApp numbers ([`relay`]).
//!
//! Steps take the inbox's [`Ctx`] and the transaction, compose repositories, arm timers and
//! log events; they never commit. Services call them; they never call a service.

pub(crate) mod automation;
pub(crate) mod csat;
pub(crate) mod dispatch;
pub(crate) mod handoff;
pub(crate) mod open;
pub(crate) mod outgoing;
pub(crate) mod relay;
pub(crate) mod sms;
pub(crate) mod status;
pub(crate) mod transition;
pub(crate) mod waiting;

use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{ChatError, Conversation, EventKind, TimerKind};
use crate::repo;
use crate::routing::AgentId;
use crate::store::Tx;
use serde_json::json;

/// Conversation `id` inside `tx`, locked on PostgreSQL ("not found" when there is none).
pub(crate) async fn load(tx: &mut Tx, id: i64) -> Result<Conversation, ChatError> {
    Ok(load_with_decliners(tx, id).await?.0)
}

/// As [`load`], with the agents who let it pass this round.
pub(crate) async fn load_with_decliners(
    tx: &mut Tx,
    id: i64,
) -> Result<(Conversation, Vec<AgentId>), ChatError> {
    repo::conversations::load_locked(tx, id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))
}

/// Appends a conversation event carrying the conversation as it is now (and `extra`'s
/// fields); returns the conversation.
pub(crate) async fn conversation_event(
    tx: &mut Tx,
    id: i64,
    kind: EventKind,
    extra: serde_json::Value,
    now: Millis,
) -> Result<Conversation, ChatError> {
    let c = repo::conversations::reload(tx, id).await?;
    let mut data = json!({ "conversation": c });
    if let (Some(d), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        d.extend(extra);
    }
    repo::events::log(tx, Some(id), kind, data, now).await?;
    Ok(c)
}

/// Arms (or moves) conversation `id`'s timer of `kind`, and wakes the timer worker.
pub(crate) async fn arm(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    kind: TimerKind,
    due_at: Millis,
    agent: Option<AgentId>,
) -> Result<(), ChatError> {
    repo::timers::set(tx, id, kind, due_at, agent).await?;
    ctx.wake_timers();
    Ok(())
}
