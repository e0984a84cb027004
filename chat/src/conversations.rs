//! Conversations: the routing driver (carrying out [`crate::routing`] decisions inside a
//! transaction), agents' actions (accept, reject, claim, transfer, close), messages and
//! notes, and listing with access control.

use crate::Inbox;
use crate::clock::Millis;
use crate::model::{
    CallContext, Channel, ChatError, Conversation, ConversationDetail, ConversationFilter,
    EventKind, InputMethod, MAX_TEXT, Message, Status, TimerKind, Viewer,
};
use crate::provider::Outgoing;
use crate::repo::agents::presence_of;
use crate::repo::conversations::{CONVERSATION_COLUMNS, CONVERSATION_FROM};
use crate::repo::messages::MESSAGE_COLUMNS;
use crate::routing::{self, AgentId, AgentState, Decision, Route};
use crate::store::{Tx, opt_str};
use serde_json::json;
use sqlx::Row;

/// The timers an assignment ends: no offer, transfer or queue wait runs on, and a web
/// visitor an agent has joined is not offered WhatsApp for waiting.
const ASSIGNED_CANCELS: [TimerKind; 4] = [
    TimerKind::Offer,
    TimerKind::Transfer,
    TimerKind::Wait,
    TimerKind::Escalation,
];

impl Inbox {
    // ---------------------------------------------------------------- loading

    /// Loads a conversation inside a write transaction, locking its row on PostgreSQL.
    pub(crate) async fn load_locked(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> Result<(Conversation, Vec<AgentId>, Option<i64>), ChatError> {
        let lock = match tx.kind() {
            deflect_config::DatabaseKind::Sqlite => "",
            deflect_config::DatabaseKind::Postgres => " FOR UPDATE OF c",
        };
        let row = sqlx::query(sql!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1{lock}"
        ))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
        let declined = routing::decode_declined(&row.get::<String, _>("declined"));
        let identity = crate::store::opt_i64(&row, "identity_id");
        Ok((
            crate::repo::conversations::from_row(&row),
            declined,
            identity,
        ))
    }

    /// The conversation as it is now within `tx`.
    pub(crate) async fn reload(&self, tx: &mut Tx, id: i64) -> Result<Conversation, ChatError> {
        let row = sqlx::query(sql!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        Ok(crate::repo::conversations::from_row(&row))
    }

    /// Appends a conversation event carrying the conversation as it is now.
    pub(crate) async fn conversation_event(
        &self,
        tx: &mut Tx,
        id: i64,
        kind: EventKind,
        extra: serde_json::Value,
        now: Millis,
    ) -> Result<Conversation, ChatError> {
        let c = self.reload(tx, id).await?;
        let mut data = json!({ "conversation": c });
        if let (Some(d), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
            d.extend(extra);
        }
        crate::repo::events::log(tx, Some(id), kind, data, now).await?;
        Ok(c)
    }

    #[allow(clippy::too_many_arguments)]
    async fn history(
        &self,
        tx: &mut Tx,
        conversation: i64,
        agent: Option<AgentId>,
        queue: &str,
        action: &str,
        by: Option<AgentId>,
        now: Millis,
    ) -> Result<(), ChatError> {
        sqlx::query(
            "INSERT INTO assignments (conversation_id, agent_id, queue, action, by_agent_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(conversation)
        .bind(agent)
        .bind(queue)
        .bind(action)
        .bind(by)
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Agents of `queue` who may see conversations of `account`, as routing sees them;
    /// locked on PostgreSQL (in id order) so two processes never over-assign one agent.
    pub(crate) async fn queue_agents(
        &self,
        tx: &mut Tx,
        queue: &str,
        account: Option<&str>,
    ) -> Result<Vec<AgentState>, ChatError> {
        let lock = match tx.kind() {
            deflect_config::DatabaseKind::Sqlite => "",
            deflect_config::DatabaseKind::Postgres => " FOR UPDATE OF a",
        };
        let rows = sqlx::query(sql!(
            "SELECT a.id, a.presence, a.last_offer_at, \
               (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
                  AND c.status IN ('offered', 'assigned')) AS load \
             FROM agents a JOIN agent_queues q ON q.agent_id = a.id \
             WHERE q.queue = $1 AND a.disabled = 0 AND {works} \
             ORDER BY a.id{lock}",
            works = crate::repo::agents::agent_works_account_sql("a.id", "$2")
        ))
        .bind(queue)
        .bind(account)
        .fetch_all(tx.conn())
        .await?;
        let capacity = self.settings().inbox.max_conversations_per_agent;
        Ok(rows
            .iter()
            .map(|r| AgentState {
                id: r.get("id"),
                presence: presence_of(&r.get::<String, _>("presence")),
                load: u32::try_from(r.get::<i64, _>("load")).unwrap_or(u32::MAX),
                capacity,
                last_offer_at: r.get("last_offer_at"),
            })
            .collect())
    }

    async fn agent_state(&self, tx: &mut Tx, agent: AgentId) -> Result<AgentState, ChatError> {
        let r = sqlx::query(sql!(
            "SELECT a.presence, a.last_offer_at, a.disabled, \
               (SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
                  AND c.status IN ('offered', 'assigned')) AS load \
             FROM agents a WHERE a.id = $1{}",
            tx.for_update()
        ))
        .bind(agent)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(ChatError::NotFound("agent"))?;
        let disabled = r.get::<i64, _>("disabled") != 0;
        Ok(AgentState {
            id: agent,
            presence: if disabled {
                routing::Presence::Offline
            } else {
                presence_of(&r.get::<String, _>("presence"))
            },
            load: u32::try_from(r.get::<i64, _>("load")).unwrap_or(u32::MAX),
            capacity: self.settings().inbox.max_conversations_per_agent,
            last_offer_at: r.get("last_offer_at"),
        })
    }

    pub(crate) async fn lock_queue(&self, tx: &mut Tx, queue: &str) -> Result<(), ChatError> {
        if tx.kind() == deflect_config::DatabaseKind::Postgres {
            sqlx::query("SELECT name FROM queues WHERE name = $1 FOR UPDATE")
                .bind(queue)
                .fetch_optional(tx.conn())
                .await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- routing driver

    /// Puts a conversation in `queue` to wait for an agent (wait timer armed), then routes
    /// it. `since` keeps an earlier waiting time (a fallback move keeps its place).
    pub(crate) async fn enqueue(
        &self,
        tx: &mut Tx,
        id: i64,
        queue: &str,
        since: Option<Millis>,
        now: Millis,
    ) -> Result<(), ChatError> {
        sqlx::query(
            "UPDATE conversations SET status = 'queued', queue = $1, agent_id = NULL, \
             declined = '', queued_at = $2 WHERE id = $3",
        )
        .bind(queue)
        .bind(since.unwrap_or(now))
        .bind(id)
        .execute(tx.conn())
        .await?;
        let rules = self.rules(queue);
        self.set_timer(tx, id, TimerKind::Wait, now + rules.wait_timeout, None)
            .await?;
        self.cancel_timer(tx, id, TimerKind::Offer).await?;
        self.history(tx, id, None, queue, "queued", None, now)
            .await?;
        self.conversation_event(tx, id, EventKind::ConversationQueued, json!({}), now)
            .await?;
        self.route(tx, id, now).await
    }

    /// Offers a waiting conversation to the next agent, if any can take it.
    pub(crate) async fn route(&self, tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
        let (c, declined, _) = self.load_locked(tx, id).await?;
        if c.status != Status::Queued {
            return Ok(());
        }
        self.lock_queue(tx, &c.queue).await?;
        let agents = self
            .queue_agents(tx, &c.queue, c.account.as_deref())
            .await?;
        let r = routing::offer(&self.rules(&c.queue), &agents, &declined, now);
        self.apply_route(tx, &c, &declined, r, now).await
    }

    async fn apply_route(
        &self,
        tx: &mut Tx,
        c: &Conversation,
        before: &[AgentId],
        r: Route,
        now: Millis,
    ) -> Result<(), ChatError> {
        match r.decision {
            Decision::Offer { agent, expires_at } => {
                sqlx::query(
                    "UPDATE conversations SET status = 'offered', agent_id = $1, declined = $2 WHERE id = $3",
                )
                .bind(agent)
                .bind(routing::encode_declined(&r.declined))
                .bind(c.id)
                .execute(tx.conn())
                .await?;
                sqlx::query("UPDATE agents SET last_offer_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(agent)
                    .execute(tx.conn())
                    .await?;
                self.set_timer(tx, c.id, TimerKind::Offer, expires_at, Some(agent))
                    .await?;
                self.history(tx, c.id, Some(agent), &c.queue, "offered", None, now)
                    .await?;
                self.conversation_event(
                    tx,
                    c.id,
                    EventKind::ConversationOffered,
                    json!({ "agent_id": agent, "expires_at": expires_at }),
                    now,
                )
                .await?;
                metrics::counter!("deflect_inbox_offers_total", "queue" => c.queue.clone())
                    .increment(1);
            }
            Decision::Wait => {
                if r.declined != before {
                    sqlx::query("UPDATE conversations SET declined = $1 WHERE id = $2")
                        .bind(routing::encode_declined(&r.declined))
                        .bind(c.id)
                        .execute(tx.conn())
                        .await?;
                }
            }
            other => {
                tracing::error!(?other, "routing returned a decision that is not an offer");
            }
        }
        Ok(())
    }

    /// Offers an agent the oldest waiting conversations of their queues while they have room.
    pub(crate) async fn pull_for_agent(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        now: Millis,
    ) -> Result<(), ChatError> {
        self.pull_for_agent_except(tx, agent, None, now).await
    }

    /// As [`Self::pull_for_agent`], never offering `except` (the conversation they just let
    /// pass).
    async fn pull_for_agent_except(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        except: Option<i64>,
        now: Millis,
    ) -> Result<(), ChatError> {
        let lock = match tx.kind() {
            deflect_config::DatabaseKind::Sqlite => "",
            deflect_config::DatabaseKind::Postgres => " FOR UPDATE OF c SKIP LOCKED",
        };
        for _ in 0..self.settings().inbox.max_conversations_per_agent {
            let state = self.agent_state(tx, agent).await?;
            if !state.can_take() {
                return Ok(());
            }
            let rows = sqlx::query(sql!(
                "SELECT c.id, c.queued_at, c.declined, c.queue FROM conversations c \
                 JOIN agent_queues q ON q.queue = c.queue AND q.agent_id = $1 \
                 WHERE c.status = 'queued' AND {works} \
                 ORDER BY c.queued_at, c.id LIMIT 50{lock}",
                works = crate::repo::agents::agent_works_account_sql("$1", "c.account")
            ))
            .bind(agent)
            .fetch_all(tx.conn())
            .await?;
            let waiting: Vec<routing::Waiting> = rows
                .iter()
                .filter(|r| Some(r.get::<i64, _>("id")) != except)
                .map(|r| routing::Waiting {
                    id: r.get("id"),
                    queued_at: crate::store::opt_i64(r, "queued_at").unwrap_or(0),
                    declined: routing::decode_declined(&r.get::<String, _>("declined")),
                })
                .collect();
            let Some(id) = routing::pull(&state, &waiting) else {
                return Ok(());
            };
            let (c, declined, _) = self.load_locked(tx, id).await?;
            let r = Route {
                decision: Decision::Offer {
                    agent,
                    expires_at: now + self.rules(&c.queue).offer_timeout,
                },
                declined: declined.clone(),
            };
            self.apply_route(tx, &c, &declined, r, now).await?;
        }
        Ok(())
    }

    /// Moves every offer open to `agent` on (they went offline).
    pub(crate) async fn withdraw_offers(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        now: Millis,
    ) -> Result<(), ChatError> {
        let ids: Vec<i64> =
            sqlx::query("SELECT id FROM conversations WHERE status = 'offered' AND agent_id = $1")
                .bind(agent)
                .fetch_all(tx.conn())
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        for id in ids {
            self.decline(tx, id, agent, "withdrawn", now).await?;
        }
        Ok(())
    }

    /// An offer to `agent` lapsed, was rejected or withdrawn.
    pub(crate) async fn decline(
        &self,
        tx: &mut Tx,
        id: i64,
        agent: AgentId,
        action: &str,
        now: Millis,
    ) -> Result<(), ChatError> {
        let (c, declined, _) = self.load_locked(tx, id).await?;
        if c.status != Status::Offered || c.agent_id != Some(agent) {
            return Ok(());
        }
        self.cancel_timer(tx, id, TimerKind::Offer).await?;
        self.history(tx, id, Some(agent), &c.queue, action, None, now)
            .await?;
        if let Some(back) = c.return_agent_id {
            // A transfer to this agent in person returns at once; one to a queue goes on to
            // the queue's next agent until the transfer timeout.
            let to_queue =
                sqlx::query("SELECT 1 FROM timers WHERE conversation_id = $1 AND kind = 'wait'")
                    .bind(id)
                    .fetch_optional(tx.conn())
                    .await?
                    .is_some();
            if !to_queue {
                return self.return_to(tx, id, back, now).await;
            }
        }
        sqlx::query("UPDATE conversations SET status = 'queued', agent_id = NULL WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        self.lock_queue(tx, &c.queue).await?;
        let agents = self
            .queue_agents(tx, &c.queue, c.account.as_deref())
            .await?;
        let r = routing::on_offer_declined(&self.rules(&c.queue), &agents, &declined, agent, now);
        let mut c = c;
        c.status = Status::Queued;
        if r.decision == Decision::Wait {
            self.conversation_event(
                tx,
                id,
                EventKind::ConversationQueued,
                json!({ "declined_by": agent }),
                now,
            )
            .await?;
        }
        self.apply_route(tx, &c, &declined, r, now).await?;
        // Their slot is free again: other waiting conversations may go to them.
        self.pull_for_agent_except(tx, agent, Some(id), now).await
    }

    /// A transfer came back: the conversation returns, unread, to `agent`.
    pub(crate) async fn return_to(
        &self,
        tx: &mut Tx,
        id: i64,
        agent: AgentId,
        now: Millis,
    ) -> Result<(), ChatError> {
        sqlx::query(
            "UPDATE conversations SET status = 'assigned', agent_id = $1, return_agent_id = NULL, \
             declined = '' WHERE id = $2",
        )
        .bind(agent)
        .bind(id)
        .execute(tx.conn())
        .await?;
        for k in ASSIGNED_CANCELS {
            self.cancel_timer(tx, id, k).await?;
        }
        let (c, _, _) = self.load_locked(tx, id).await?;
        self.history(tx, id, Some(agent), &c.queue, "returned", None, now)
            .await?;
        self.conversation_event(
            tx,
            id,
            EventKind::ConversationAssigned,
            json!({ "agent_id": agent, "returned": true }),
            now,
        )
        .await?;
        Ok(())
    }

    /// Applies a queue's fallback after its wait timeout.
    pub(crate) async fn wait_expired(
        &self,
        tx: &mut Tx,
        id: i64,
        now: Millis,
    ) -> Result<(), ChatError> {
        let (c, _, _) = self.load_locked(tx, id).await?;
        if !matches!(c.status, Status::Queued | Status::Offered) || c.return_agent_id.is_some() {
            return Ok(());
        }
        for d in routing::on_wait_expired(&self.rules(&c.queue)) {
            match d {
                Decision::MoveToQueue { queue } => {
                    if let Some(agent) = c.agent_id {
                        self.history(tx, id, Some(agent), &c.queue, "withdrawn", None, now)
                            .await?;
                    }
                    self.history(tx, id, None, &queue, "fallback", None, now)
                        .await?;
                    self.enqueue(tx, id, &queue, c.queued_at, now).await?;
                }
                Decision::AutoReply { text } => {
                    // "All agents are busy" is wrong once an agent has answered.
                    if c.window_open(now) && !c.unreachable && !self.agent_answered(tx, id).await? {
                        self.queue_outgoing(
                            tx,
                            &c,
                            "text",
                            &text,
                            Outgoing::Text { body: text.clone() },
                            None,
                            None,
                            now,
                        )
                        .await?;
                    }
                }
                Decision::Close { disposition } => {
                    self.close_in_tx(tx, id, &disposition, None, now).await?;
                }
                other => tracing::error!(?other, "unexpected fallback decision"),
            }
        }
        Ok(())
    }

    /// Whether an agent has written to the customer in conversation `id`.
    async fn agent_answered(&self, tx: &mut Tx, id: i64) -> Result<bool, ChatError> {
        Ok(sqlx::query(
            "SELECT 1 FROM messages WHERE conversation_id = $1 AND direction = 'out' \
             AND internal = 0 AND agent_id IS NOT NULL LIMIT 1",
        )
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .is_some())
    }

    /// Closes a conversation; its agent's freed slot pulls the oldest waiting one. The agent
    /// who held it stays its `agent_id` (who handled it: history and reports); one only
    /// offered to an agent keeps none.
    pub(crate) async fn close_in_tx(
        &self,
        tx: &mut Tx,
        id: i64,
        disposition: &str,
        by: Option<AgentId>,
        now: Millis,
    ) -> Result<(), ChatError> {
        let (c, _, _) = self.load_locked(tx, id).await?;
        if c.status == Status::Closed {
            return Ok(());
        }
        let handled_by = c.agent_id.filter(|_| c.status == Status::Assigned);
        sqlx::query(
            "UPDATE conversations SET status = 'closed', disposition = $1, closed_by = $2, \
             closed_at = $3, agent_id = $4, return_agent_id = NULL WHERE id = $5",
        )
        .bind(disposition)
        .bind(by)
        .bind(now)
        .bind(handled_by)
        .bind(id)
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM timers WHERE conversation_id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        self.history(tx, id, c.agent_id, &c.queue, "closed", by, now)
            .await?;
        self.conversation_event(
            tx,
            id,
            EventKind::ConversationClosed,
            json!({ "disposition": disposition, "by": by, "agent_id": handled_by }),
            now,
        )
        .await?;
        metrics::counter!("deflect_inbox_conversations_closed_total", "disposition" => disposition.to_string())
            .increment(1);
        if let Some(agent) = c.agent_id {
            self.pull_for_agent(tx, agent, now).await?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- agents' actions

    fn ensure_visible(&self, viewer: &Viewer, c: &Conversation) -> Result<(), ChatError> {
        if viewer.can_see(c) {
            Ok(())
        } else {
            Err(ChatError::NotFound("conversation"))
        }
    }

    fn ensure_handles(&self, viewer: &Viewer, c: &Conversation) -> Result<(), ChatError> {
        self.ensure_visible(viewer, c)?;
        if viewer.role.sees_everything()
            || (c.status == Status::Assigned && c.agent_id == Some(viewer.agent_id))
        {
            Ok(())
        } else {
            Err(ChatError::Forbidden(
                "only the agent holding the conversation (or a supervisor) can do this".into(),
            ))
        }
    }

    /// Accepts an offer made to `agent`.
    pub async fn accept_offer(&self, agent: AgentId, id: i64) -> Result<Conversation, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        if c.status != Status::Offered || c.agent_id != Some(agent) {
            return Err(ChatError::Conflict(
                "this offer is no longer open (it lapsed, moved on or was taken)".into(),
            ));
        }
        sqlx::query(
            "UPDATE conversations SET status = 'assigned', return_agent_id = NULL, declined = '' WHERE id = $1",
        )
        .bind(id)
        .execute(tx.conn())
        .await?;
        for k in ASSIGNED_CANCELS {
            self.cancel_timer(&mut tx, id, k).await?;
        }
        record_wait(&c, now);
        self.history(
            &mut tx,
            id,
            Some(agent),
            &c.queue,
            "accepted",
            Some(agent),
            now,
        )
        .await?;
        let c = self
            .conversation_event(
                &mut tx,
                id,
                EventKind::ConversationAssigned,
                json!({ "agent_id": agent }),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Rejects an offer made to `agent`; it moves on at once.
    pub async fn reject_offer(&self, agent: AgentId, id: i64) -> Result<(), ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        if c.status != Status::Offered || c.agent_id != Some(agent) {
            return Err(ChatError::Conflict("this offer is no longer open".into()));
        }
        self.decline(&mut tx, id, agent, "rejected", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a waiting conversation from the queue by hand.
    pub async fn claim(&self, viewer: &Viewer, id: i64) -> Result<Conversation, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_visible(viewer, &c)?;
        if c.status != Status::Queued {
            return Err(ChatError::Conflict(format!(
                "only a waiting conversation can be claimed; this one is {}",
                c.status.as_str()
            )));
        }
        let state = self.agent_state(&mut tx, viewer.agent_id).await?;
        let member = viewer.queues.contains(&c.queue);
        routing::can_claim(&state, member, &c.queue)
            .map_err(|e| ChatError::Forbidden(e.to_string()))?;
        sqlx::query(
            "UPDATE conversations SET status = 'assigned', agent_id = $1, return_agent_id = NULL, \
             declined = '' WHERE id = $2",
        )
        .bind(viewer.agent_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
        for k in ASSIGNED_CANCELS {
            self.cancel_timer(&mut tx, id, k).await?;
        }
        record_wait(&c, now);
        self.history(
            &mut tx,
            id,
            Some(viewer.agent_id),
            &c.queue,
            "claimed",
            Some(viewer.agent_id),
            now,
        )
        .await?;
        let c = self
            .conversation_event(
                &mut tx,
                id,
                EventKind::ConversationAssigned,
                json!({ "agent_id": viewer.agent_id, "claimed": true }),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Transfers a conversation to another agent, who gets it as an offer; not accepted within
    /// `inbox.transfer_timeout`, it returns unread to the agent who held it.
    pub async fn transfer_to_agent(
        &self,
        viewer: &Viewer,
        id: i64,
        to: AgentId,
    ) -> Result<Conversation, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_handles(viewer, &c)?;
        if c.status == Status::Closed {
            return Err(ChatError::Conflict("the conversation is closed".into()));
        }
        if c.agent_id == Some(to) {
            return Err(ChatError::Invalid("the agent holds it already".into()));
        }
        let target = crate::agents::load_agent(&mut tx, to).await?;
        if target.disabled {
            return Err(ChatError::Invalid("that agent is disabled".into()));
        }
        let back = if c.status == Status::Assigned {
            c.agent_id
        } else {
            c.return_agent_id
        };
        sqlx::query(
            "UPDATE conversations SET status = 'offered', agent_id = $1, return_agent_id = $2, \
             declined = '' WHERE id = $3",
        )
        .bind(to)
        .bind(back)
        .bind(id)
        .execute(tx.conn())
        .await?;
        self.cancel_timer(&mut tx, id, TimerKind::Offer).await?;
        self.cancel_timer(&mut tx, id, TimerKind::Wait).await?;
        self.set_timer(
            &mut tx,
            id,
            TimerKind::Transfer,
            now + self.transfer_timeout(),
            Some(to),
        )
        .await?;
        self.history(
            &mut tx,
            id,
            Some(to),
            &c.queue,
            "transferred",
            Some(viewer.agent_id),
            now,
        )
        .await?;
        let c = self
            .conversation_event(
                &mut tx,
                id,
                EventKind::ConversationTransferred,
                json!({ "to_agent": to, "by": viewer.agent_id }),
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Transfers a conversation to a queue; if nobody there accepts it within
    /// `inbox.transfer_timeout`, it returns unread to the agent who held it.
    pub async fn transfer_to_queue(
        &self,
        viewer: &Viewer,
        id: i64,
        queue: &str,
    ) -> Result<Conversation, ChatError> {
        if self.queue_config(queue).is_none() {
            return Err(ChatError::Invalid(format!(
                "unknown queue {queue:?}; configured: {}",
                self.queue_names().join(", ")
            )));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_handles(viewer, &c)?;
        if c.status == Status::Closed {
            return Err(ChatError::Conflict("the conversation is closed".into()));
        }
        let back = if c.status == Status::Assigned {
            c.agent_id
        } else {
            c.return_agent_id
        };
        sqlx::query("UPDATE conversations SET return_agent_id = $1 WHERE id = $2")
            .bind(back)
            .bind(id)
            .execute(tx.conn())
            .await?;
        if back.is_some() {
            self.set_timer(
                &mut tx,
                id,
                TimerKind::Transfer,
                now + self.transfer_timeout(),
                None,
            )
            .await?;
        }
        self.history(
            &mut tx,
            id,
            None,
            queue,
            "transferred",
            Some(viewer.agent_id),
            now,
        )
        .await?;
        self.conversation_event(
            &mut tx,
            id,
            EventKind::ConversationTransferred,
            json!({ "to_queue": queue, "by": viewer.agent_id }),
            now,
        )
        .await?;
        self.enqueue(&mut tx, id, queue, None, now).await?;
        if let Some(prev) = c.agent_id {
            self.pull_for_agent(&mut tx, prev, now).await?;
        }
        let c = self.reload(&mut tx, id).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Closes a conversation with a disposition (required when its queue says so).
    pub async fn close(
        &self,
        viewer: &Viewer,
        id: i64,
        disposition: Option<&str>,
    ) -> Result<Conversation, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_visible(viewer, &c)?;
        if c.status == Status::Closed {
            return Err(ChatError::Conflict(
                "the conversation is closed already".into(),
            ));
        }
        if !(viewer.role.sees_everything() || c.agent_id == Some(viewer.agent_id)) {
            return Err(ChatError::Forbidden(
                "only the agent holding the conversation (or a supervisor) can close it".into(),
            ));
        }
        let q = self.queue_config(&c.queue);
        let choices = q.map(|q| q.dispositions.clone()).unwrap_or_default();
        let required = q.is_some_and(|q| q.disposition_required);
        let disposition = match disposition.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) if choices.iter().any(|x| x == d) => d.to_string(),
            Some(d) => {
                return Err(ChatError::Invalid(format!(
                    "unknown disposition {d:?}; choose one of: {}",
                    choices.join(", ")
                )));
            }
            None if required => return Err(ChatError::DispositionRequired { choices }),
            None => String::new(),
        };
        self.close_in_tx(&mut tx, id, &disposition, Some(viewer.agent_id), now)
            .await?;
        let c = self.reload(&mut tx, id).await?;
        tx.commit().await?;
        Ok(c)
    }

    // ---------------------------------------------------------------- messages

    /// Commits an outgoing message (and, for WhatsApp, its outbox row); the outbox worker
    /// sends it after the commit.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_outgoing(
        &self,
        tx: &mut Tx,
        c: &Conversation,
        kind: &str,
        body: &str,
        request: Outgoing,
        agent: Option<AgentId>,
        client_key: Option<&str>,
        now: Millis,
    ) -> Result<Message, ChatError> {
        let (status, recipient) = match c.channel {
            Channel::Web => ("sent", None),
            Channel::Whatsapp => {
                let to = sqlx::query(
                    "SELECT i.external_id FROM conversations c JOIN contact_identities i \
                     ON i.id = c.identity_id WHERE c.id = $1",
                )
                .bind(c.id)
                .fetch_optional(tx.conn())
                .await?
                .map(|r| r.get::<String, _>(0))
                .ok_or_else(|| {
                    ChatError::Conflict("the conversation has no WhatsApp number".into())
                })?;
                ("queued", Some(to))
            }
        };
        let payload = serde_json::to_string(&request).expect("a request serializes");
        let row = sqlx::query(sql!(
            "INSERT INTO messages (conversation_id, direction, kind, body, payload, internal, agent_id, \
             channel, account, client_key, status, status_rank, created_at) \
             VALUES ($1, 'out', $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11) RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(c.id)
        .bind(kind)
        .bind(body)
        .bind(&payload)
        .bind(agent)
        .bind(c.channel.as_str())
        .bind(recipient.as_ref().and(c.account.as_deref()))
        .bind(client_key)
        .bind(status)
        .bind(if status == "sent" { 10 } else { 0 })
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        let m = crate::repo::messages::from_row(&row);
        if let (Some(to), Some(account)) = (recipient, c.account.as_deref()) {
            sqlx::query(
                "INSERT INTO outbox (message_id, account, recipient, request, state, due_at, created_at) \
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
            )
            .bind(m.id)
            .bind(account)
            .bind(to)
            .bind(&payload)
            .bind(now)
            .execute(tx.conn())
            .await?;
            self.wake_outbox();
        }
        if agent.is_some() {
            // An agent's message is activity; automatic ones (auto-replies) are not.
            sqlx::query("UPDATE conversations SET last_activity_at = $1 WHERE id = $2")
                .bind(now)
                .bind(c.id)
                .execute(tx.conn())
                .await?;
        }
        crate::repo::events::log(
            tx,
            Some(c.id),
            EventKind::MessageCreated,
            json!({ "message": m }),
            now,
        )
        .await?;
        metrics::counter!("deflect_inbox_messages_total", "direction" => "out", "channel" => c.channel.as_str())
            .increment(1);
        Ok(m)
    }

    pub(crate) async fn existing_by_key(
        &self,
        tx: &mut Tx,
        id: i64,
        key: Option<&str>,
    ) -> Result<Option<Message>, ChatError> {
        let Some(key) = key else { return Ok(None) };
        let row = sqlx::query(sql!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND client_key = $2"
        ))
        .bind(id)
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
        Ok(row.as_ref().map(crate::repo::messages::from_row))
    }

    /// Sends free text to the customer. WhatsApp accepts it only within 24 hours of the
    /// customer's last message: outside, [`ChatError::OutsideWindow`] names the recontact
    /// template to send instead ([`Inbox::send_recontact`]). A repeated `client_key` returns
    /// the message already sent.
    pub async fn send_text(
        &self,
        viewer: &Viewer,
        id: i64,
        text: &str,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return Err(ChatError::Invalid(format!(
                "a message needs 1 to {MAX_TEXT} characters"
            )));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_handles(viewer, &c)?;
        if let Some(m) = self.existing_by_key(&mut tx, id, client_key).await? {
            return Ok(m);
        }
        self.check_sendable(&c, now)?;
        if !c.window_open(now) {
            return Err(ChatError::OutsideWindow {
                recontact_template: self.recontact_template_name(&c),
            });
        }
        let m = self
            .queue_outgoing(
                &mut tx,
                &c,
                "text",
                text,
                Outgoing::Text { body: text.into() },
                Some(viewer.agent_id),
                client_key,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(m)
    }

    fn check_sendable(&self, c: &Conversation, _now: Millis) -> Result<(), ChatError> {
        if c.status == Status::Closed {
            return Err(ChatError::Conflict("the conversation is closed".into()));
        }
        if c.channel == Channel::Whatsapp && c.unreachable {
            return Err(ChatError::Unreachable);
        }
        Ok(())
    }

    fn recontact_template_name(&self, c: &Conversation) -> String {
        c.account
            .as_deref()
            .and_then(|a| self.account(a))
            .map(|a| a.templates.recontact.name.clone())
            .unwrap_or_default()
    }

    /// Sends the account's recontact template (allowed outside the 24 h window); the
    /// customer's answer reopens the window.
    pub async fn send_recontact(
        &self,
        viewer: &Viewer,
        id: i64,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_handles(viewer, &c)?;
        if let Some(m) = self.existing_by_key(&mut tx, id, client_key).await? {
            return Ok(m);
        }
        self.check_sendable(&c, now)?;
        if c.channel != Channel::Whatsapp {
            return Err(ChatError::Invalid(
                "templates are for WhatsApp conversations".into(),
            ));
        }
        let account = c
            .account
            .as_deref()
            .and_then(|a| self.account(a))
            .ok_or_else(|| {
                ChatError::Conflict("the conversation's account is not configured".into())
            })?;
        let t = &account.templates.recontact;
        let request = Outgoing::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            body_params: vec![c.reference.clone()],
            button_payload: Some(crate::model::payload_for(&c.reference)),
            content_sid: t.content_sid.clone(),
        };
        let body = format!("Template {} (reference {})", t.name, c.reference);
        let m = self
            .queue_outgoing(
                &mut tx,
                &c,
                "template",
                &body,
                request,
                Some(viewer.agent_id),
                client_key,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(m)
    }

    /// Adds an internal note, visible to agents only.
    pub async fn add_note(
        &self,
        viewer: &Viewer,
        id: i64,
        text: &str,
    ) -> Result<Message, ChatError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 16 * 1024 {
            return Err(ChatError::Invalid("a note needs 1 to 16384 bytes".into()));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (c, _, _) = self.load_locked(&mut tx, id).await?;
        self.ensure_visible(viewer, &c)?;
        let row = sqlx::query(sql!(
            "INSERT INTO messages (conversation_id, direction, kind, body, internal, agent_id, channel, \
             status, created_at) VALUES ($1, 'out', 'note', $2, 1, $3, $4, 'internal', $5) \
             RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(id)
        .bind(text)
        .bind(viewer.agent_id)
        .bind(c.channel.as_str())
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        let m = crate::repo::messages::from_row(&row);
        crate::repo::events::log(
            &mut tx,
            Some(id),
            EventKind::MessageCreated,
            json!({ "message": m }),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(m)
    }

    // ---------------------------------------------------------------- reading

    /// A conversation with its call context, if the viewer may see it.
    pub async fn conversation(
        &self,
        viewer: &Viewer,
        id: i64,
    ) -> Result<ConversationDetail, ChatError> {
        let c = self.conversation_unchecked(id).await?;
        self.ensure_visible(viewer, &c.conversation)?;
        Ok(c)
    }

    /// A conversation without access control (for the widget, the sandbox and tests).
    pub async fn conversation_unchecked(&self, id: i64) -> Result<ConversationDetail, ChatError> {
        let row = sqlx::query(sql!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.store().pool())
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
        let c = crate::repo::conversations::from_row(&row);
        let call = sqlx::query(
            "SELECT call_id, caller, callback_number, dialled_number, flow, language, started_at, \
             ended_at, input_method, transcript FROM deflections WHERE conversation_id = $1 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(self.store().pool())
        .await?
        .map(|r| CallContext {
            call_id: r.get("call_id"),
            caller: opt_str(&r, "caller"),
            callback_number: r.get("callback_number"),
            dialled_number: opt_str(&r, "dialled_number"),
            flow: opt_str(&r, "flow"),
            language: opt_str(&r, "language"),
            started_at: r.get("started_at"),
            ended_at: r.get("ended_at"),
            input_method: match r.get::<String, _>("input_method").as_str() {
                "speech" => InputMethod::Speech,
                "caller_number" => InputMethod::CallerNumber,
                _ => InputMethod::Dtmf,
            },
            transcript: opt_str(&r, "transcript"),
        });
        let q = self.queue_config(&c.queue);
        Ok(ConversationDetail {
            dispositions: q.map(|q| q.dispositions.clone()).unwrap_or_default(),
            disposition_required: q.is_some_and(|q| q.disposition_required),
            conversation: c,
            call,
        })
    }

    /// A conversation's messages after `after` (a message id), oldest first.
    pub async fn messages(
        &self,
        viewer: &Viewer,
        id: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, ChatError> {
        let c = self.conversation(viewer, id).await?;
        self.messages_unchecked(c.conversation.id, after, limit)
            .await
    }

    /// Messages without access control (for the widget, which hides internal notes itself).
    pub async fn messages_unchecked(
        &self,
        id: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, ChatError> {
        let rows = sqlx::query(sql!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        ))
        .bind(id)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows.iter().map(crate::repo::messages::from_row).collect())
    }

    /// Conversations the viewer may see, newest first, narrowed by `filter`.
    pub async fn list_conversations(
        &self,
        viewer: &Viewer,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>, ChatError> {
        enum Arg {
            I(i64),
            S(String),
        }
        let mut wh: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let p = |args: &mut Vec<Arg>, a: Arg| {
            args.push(a);
            format!("${}", args.len())
        };
        if !filter.status.is_empty() {
            let list: Vec<String> = filter
                .status
                .iter()
                .map(|s| p(&mut args, Arg::S(s.as_str().into())))
                .collect();
            wh.push(format!("c.status IN ({})", list.join(", ")));
        }
        if let Some(ch) = filter.channel {
            wh.push(format!(
                "c.channel = {}",
                p(&mut args, Arg::S(ch.as_str().into()))
            ));
        }
        if let Some(o) = filter.origin {
            wh.push(format!(
                "c.origin = {}",
                p(&mut args, Arg::S(o.as_str().into()))
            ));
        }
        if let Some(q) = &filter.queue {
            wh.push(format!("c.queue = {}", p(&mut args, Arg::S(q.clone()))));
        }
        if let Some(a) = filter.agent_id {
            wh.push(format!("c.agent_id = {}", p(&mut args, Arg::I(a))));
        }
        if let Some(a) = &filter.account {
            wh.push(format!("c.account = {}", p(&mut args, Arg::S(a.clone()))));
        }
        if let Some(t) = filter.created_from {
            wh.push(format!("c.created_at >= {}", p(&mut args, Arg::I(t))));
        }
        if let Some(t) = filter.created_to {
            wh.push(format!("c.created_at < {}", p(&mut args, Arg::I(t))));
        }
        if let Some(b) = filter.before_id {
            wh.push(format!("c.id < {}", p(&mut args, Arg::I(b))));
        }
        if let Some(text) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let like = format!(
                "%{}%",
                text.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let n = p(&mut args, Arg::S(like));
            wh.push(format!(
                "(LOWER(COALESCE(k.name, '')) LIKE {n} ESCAPE '\\' OR LOWER(COALESCE(k.phone, '')) LIKE {n} ESCAPE '\\' \
                 OR LOWER(c.reference) LIKE {n} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
                 WHERE m.conversation_id = c.id AND LOWER(COALESCE(m.body, '')) LIKE {n} ESCAPE '\\'))"
            ));
        }
        if !viewer.role.sees_everything() {
            let me = p(&mut args, Arg::I(viewer.agent_id));
            let queues: Vec<String> = viewer
                .queues
                .iter()
                .map(|q| p(&mut args, Arg::S(q.clone())))
                .collect();
            let queue_ok = if queues.is_empty() {
                "0 = 1".to_string()
            } else {
                format!("c.queue IN ({})", queues.join(", "))
            };
            let account_ok = crate::repo::agents::agent_works_account_sql(&me, "c.account");
            wh.push(format!(
                "(c.agent_id = {me} OR ({queue_ok} AND {account_ok}))"
            ));
        }
        let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 1000));
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM}{}{} ORDER BY c.id DESC LIMIT {limit}",
            if wh.is_empty() { "" } else { " WHERE " },
            wh.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in args {
            q = match a {
                Arg::I(i) => q.bind(i),
                Arg::S(s) => q.bind(s),
            };
        }
        let rows = q.fetch_all(self.store().pool()).await?;
        Ok(rows
            .iter()
            .map(crate::repo::conversations::from_row)
            .collect())
    }
}

/// How long a conversation waited in its queue before an agent took it.
fn record_wait(c: &Conversation, now: Millis) {
    if let Some(since) = c.queued_at {
        metrics::histogram!("deflect_inbox_queue_wait_seconds", "queue" => c.queue.clone())
            .record((now - since).max(0) as f64 / 1000.0);
    }
}
