//! The supervisors' live board: each queue's waiting conversations and oldest wait, each
//! agent's presence and load; and the customers' satisfaction scores per agent and queue.

use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{ChatError, CsatReport, Role, Status, Viewer};
use crate::repo;
use crate::routing::{AgentId, Presence};
use serde::{Deserialize, Serialize};

/// One queue on the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueLoad {
    /// Queue.
    pub name: String,
    /// Waiting for an agent.
    pub waiting: i64,
    /// Offered, not accepted yet.
    pub offered: i64,
    /// Held by agents.
    pub assigned: i64,
    /// Deflected calls waiting for the customer's first reply.
    pub pending: i64,
    /// With their bot, before any queue (counted in the queue they would go to).
    pub with_bot: i64,
    /// Relayed to agents' own WhatsApp numbers.
    pub relayed: i64,
    /// Since when the longest-waiting conversation waits (ms).
    pub oldest_waiting_since: Option<Millis>,
}

/// One agent on the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLoad {
    /// Id.
    pub id: AgentId,
    /// Name shown.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Presence.
    pub presence: Presence,
    /// Since when (unknown before it first changed).
    pub presence_since: Option<Millis>,
    /// Conversations offered to or held by them.
    pub load: i64,
    /// Their reception limit.
    pub capacity: u32,
    /// Their queues.
    pub queues: Vec<String>,
}

/// The board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    /// Configured queues, in configuration order.
    pub queues: Vec<QueueLoad>,
    /// Enabled agents, by name.
    pub agents: Vec<AgentLoad>,
    /// When it was taken (ms).
    pub at: Millis,
}

/// The live board (supervisors and admins).
pub(crate) async fn board(ctx: &Ctx, viewer: &Viewer) -> Result<Board, ChatError> {
    if !viewer.role.sees_everything() {
        return Err(ChatError::Forbidden(
            "the board is for supervisors and admins".into(),
        ));
    }
    let counts = repo::queues::counts(ctx.store()).await?;
    let mut queues: Vec<QueueLoad> = ctx
        .queue_names()
        .into_iter()
        .map(|name| QueueLoad {
            name: name.to_string(),
            waiting: 0,
            offered: 0,
            assigned: 0,
            pending: 0,
            with_bot: 0,
            relayed: 0,
            oldest_waiting_since: None,
        })
        .collect();
    for (name, status, n, oldest) in counts {
        let Some(q) = queues.iter_mut().find(|q| q.name == name) else {
            continue;
        };
        match Status::parse(&status) {
            Some(Status::Queued) => {
                q.waiting = n;
                q.oldest_waiting_since = oldest;
            }
            Some(Status::Offered) => q.offered = n,
            Some(Status::Assigned) => q.assigned = n,
            Some(Status::Pending) => q.pending = n,
            Some(Status::Bot) => q.with_bot = n,
            Some(Status::Relay) => q.relayed = n,
            Some(Status::Closed) | None => {}
        }
    }
    let loads = repo::agents::loads(ctx.store()).await?;
    let members = repo::agents::queue_memberships(ctx.store()).await?;
    let capacity = ctx.capacity();
    let agents = loads
        .into_iter()
        .map(|a| AgentLoad {
            queues: members
                .iter()
                .filter(|(agent, _)| *agent == a.agent.id)
                .map(|(_, queue)| queue.clone())
                .collect(),
            id: a.agent.id,
            display_name: a.agent.display_name,
            role: a.agent.role,
            presence: a.agent.presence,
            presence_since: a.presence_since,
            load: a.load,
            capacity,
        })
        .collect();
    Ok(Board {
        queues,
        agents,
        at: ctx.now(),
    })
}

/// The satisfaction scores given in `[from, to)` (ms; open ends when absent), per agent who
/// handled the conversation, per queue and overall (supervisors and admins).
pub(crate) async fn csat_report(
    ctx: &Ctx,
    viewer: &Viewer,
    from: Option<Millis>,
    to: Option<Millis>,
) -> Result<CsatReport, ChatError> {
    if !viewer.role.sees_everything() {
        return Err(ChatError::Forbidden(
            "the satisfaction report is for supervisors and admins".into(),
        ));
    }
    Ok(repo::conversations::csat::report(ctx.store(), from, to).await?)
}
