//! The supervisors' live board: each queue's waiting conversations and oldest wait, each
//! agent's presence and load.

use crate::Inbox;
use crate::clock::Millis;
use crate::model::{ChatError, Role, Viewer};
use crate::repo::agents::presence_of;
use crate::routing::{AgentId, Presence};
use serde::{Deserialize, Serialize};
use sqlx::Row;

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

impl Inbox {
    /// The live board (supervisors and admins).
    pub async fn board(&self, viewer: &Viewer) -> Result<Board, ChatError> {
        if !viewer.role.sees_everything() {
            return Err(ChatError::Forbidden(
                "the board is for supervisors and admins".into(),
            ));
        }
        let rows = sqlx::query(
            "SELECT queue, status, COUNT(*) AS n, MIN(queued_at) AS oldest FROM conversations \
             WHERE status <> 'closed' GROUP BY queue, status",
        )
        .fetch_all(self.store().pool())
        .await?;
        let mut queues: Vec<QueueLoad> = self
            .queue_names()
            .into_iter()
            .map(|name| QueueLoad {
                name: name.to_string(),
                waiting: 0,
                offered: 0,
                assigned: 0,
                pending: 0,
                oldest_waiting_since: None,
            })
            .collect();
        for r in &rows {
            let name: String = r.get("queue");
            let Some(q) = queues.iter_mut().find(|q| q.name == name) else {
                continue;
            };
            let n: i64 = r.get("n");
            match r.get::<String, _>("status").as_str() {
                "queued" => {
                    q.waiting = n;
                    q.oldest_waiting_since = crate::store::opt_i64(r, "oldest");
                }
                "offered" => q.offered = n,
                "assigned" => q.assigned = n,
                "pending" => q.pending = n,
                _ => {}
            }
        }
        let loads = sqlx::query(
            "SELECT a.id, a.display_name, a.role, a.presence, \
               (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
                  AND c.status IN ('offered', 'assigned')) AS load \
             FROM agents a WHERE a.disabled = 0 ORDER BY a.display_name, a.id",
        )
        .fetch_all(self.store().pool())
        .await?;
        let members = sqlx::query("SELECT agent_id, queue FROM agent_queues ORDER BY queue")
            .fetch_all(self.store().pool())
            .await?;
        let capacity = self.settings().inbox.max_conversations_per_agent;
        let agents = loads
            .iter()
            .map(|r| {
                let id: i64 = r.get("id");
                AgentLoad {
                    id,
                    display_name: r.get("display_name"),
                    role: Role::parse(&r.get::<String, _>("role")).unwrap_or(Role::Agent),
                    presence: presence_of(&r.get::<String, _>("presence")),
                    load: r.get("load"),
                    capacity,
                    queues: members
                        .iter()
                        .filter(|m| m.get::<i64, _>("agent_id") == id)
                        .map(|m| m.get("queue"))
                        .collect(),
                }
            })
            .collect();
        Ok(Board {
            queues,
            agents,
            at: self.now(),
        })
    }
}
