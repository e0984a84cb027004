//! The skeleton every agent's action on a conversation shares — lock it, check, change it,
//! commit — as an [`Action`], and the change most of them make — a new holder, with its
//! timers, its history and its event — as a [`Handover`].

use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{ChatError, Conversation, EventKind, Status, TimerKind, Viewer};
use crate::repo::{self, assignments::Step};
use crate::routing::AgentId;
use crate::store::Tx;

/// The timers an assignment ends: no offer, transfer or queue wait runs on, and a web
/// visitor an agent has joined is not offered WhatsApp for waiting.
const ASSIGNED_CANCELS: [TimerKind; 4] = [
    TimerKind::Offer,
    TimerKind::Transfer,
    TimerKind::Wait,
    TimerKind::Escalation,
];

/// One action on a conversation: a write transaction holding it (locked on PostgreSQL),
/// the conversation as it was when locked, and the time of the action.
pub(crate) struct Action {
    pub(crate) tx: Tx,
    pub(crate) conversation: Conversation,
    pub(crate) now: Millis,
}

impl Action {
    /// Begins an action on conversation `id`.
    pub(crate) async fn begin(ctx: &Ctx, id: i64) -> Result<Self, ChatError> {
        let now = ctx.now();
        let mut tx = ctx.write().await?;
        let conversation = super::load(&mut tx, id).await?;
        Ok(Self {
            tx,
            conversation,
            now,
        })
    }

    /// Refuses ("not found") unless `viewer` may see the conversation.
    pub(crate) fn visible_to(&self, viewer: &Viewer) -> Result<(), ChatError> {
        ensure_visible(viewer, &self.conversation)
    }

    /// Refuses unless `viewer` may act on the conversation: its holder, or a supervisor.
    pub(crate) fn handled_by(&self, viewer: &Viewer) -> Result<(), ChatError> {
        let c = &self.conversation;
        ensure_visible(viewer, c)?;
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

    /// Refuses a closed conversation.
    pub(crate) fn open(&self) -> Result<(), ChatError> {
        if self.conversation.status == Status::Closed {
            return Err(ChatError::Conflict("the conversation is closed".into()));
        }
        Ok(())
    }

    /// Hands the conversation over (see [`hand_over`]); returns it as it is now.
    pub(crate) async fn hand_over(
        &mut self,
        ctx: &Ctx,
        h: Handover<'_>,
    ) -> Result<Conversation, ChatError> {
        hand_over(ctx, &mut self.tx, &self.conversation, h, self.now).await
    }

    /// The conversation as it is now within the action.
    pub(crate) async fn reload(&mut self) -> Result<Conversation, ChatError> {
        Ok(repo::conversations::reload(&mut self.tx, self.conversation.id).await?)
    }

    /// Commits the action.
    pub(crate) async fn commit(self) -> Result<(), ChatError> {
        Ok(self.tx.commit().await?)
    }
}

/// Refuses ("not found") unless `viewer` may see `c`.
pub(crate) fn ensure_visible(viewer: &Viewer, c: &Conversation) -> Result<(), ChatError> {
    if viewer.can_see(c) {
        Ok(())
    } else {
        Err(ChatError::NotFound("conversation"))
    }
}

/// A conversation changing hands: offered (a transfer) or assigned to `agent`.
#[derive(Clone, Debug)]
pub(crate) struct Handover<'a> {
    /// [`Status::Offered`] or [`Status::Assigned`].
    pub(crate) status: Status,
    /// Its new holder.
    pub(crate) agent: AgentId,
    /// Whom it returns to when a transfer lapses.
    pub(crate) return_agent: Option<AgentId>,
    /// The timers that stop.
    pub(crate) cancel: &'a [TimerKind],
    /// The timer that starts (for `agent`): a transfer's.
    pub(crate) arm: Option<(TimerKind, Millis)>,
    /// Its history: the action, and who did it.
    pub(crate) action: &'a str,
    /// Who did it (none: the inbox itself).
    pub(crate) by: Option<AgentId>,
    /// Its event, with the conversation and `data`'s fields.
    pub(crate) event: EventKind,
    /// The event's fields besides the conversation.
    pub(crate) data: serde_json::Value,
    /// Whether it ends the conversation's wait in its queue (the wait is measured).
    pub(crate) ends_wait: bool,
}

impl<'a> Handover<'a> {
    /// `agent` holds the conversation now (its offer, transfer, wait and escalation timers
    /// stop) — by `action` of `by` (none: the inbox itself), the assignment event carrying
    /// the agent and `extra`'s fields; `ends_wait` as in [`Handover`].
    pub(crate) fn assigned(
        agent: AgentId,
        action: &'a str,
        by: Option<AgentId>,
        extra: serde_json::Value,
        ends_wait: bool,
    ) -> Self {
        let mut data = serde_json::json!({ "agent_id": agent });
        if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
            data.extend(extra);
        }
        Self {
            status: Status::Assigned,
            agent,
            return_agent: None,
            cancel: &ASSIGNED_CANCELS,
            arm: None,
            action,
            by,
            event: EventKind::ConversationAssigned,
            data,
            ends_wait,
        }
    }
}

/// Hands conversation `c` over (see [`Handover`]): its row, its timers, the queue wait it
/// ends, its history and its event, in that order. Returns it as it is now.
pub(crate) async fn hand_over(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    h: Handover<'_>,
    now: Millis,
) -> Result<Conversation, ChatError> {
    repo::conversations::set_holder(tx, c.id, h.status, h.agent, h.return_agent, now).await?;
    for k in h.cancel {
        repo::timers::cancel(tx, c.id, *k).await?;
    }
    if let Some((kind, due)) = h.arm {
        super::arm(ctx, tx, c.id, kind, due, Some(h.agent)).await?;
    }
    if h.ends_wait {
        record_wait(c, now);
        if let Some(since) = c.queued_at {
            super::waiting::waited(ctx, tx, c, since, now).await?;
        }
        super::waiting::leaves_queue(ctx, tx, c, now).await?;
    }
    if h.status == Status::Assigned {
        super::waiting::assigned(ctx, tx, c, h.agent, now).await?;
    }
    let step = Step {
        agent: Some(h.agent),
        queue: &c.queue,
        action: h.action,
        by: h.by,
    };
    repo::assignments::record(tx, c.id, step, now).await?;
    super::conversation_event(tx, c.id, h.event, h.data, now).await
}

/// How long a conversation waited in its queue before an agent took it.
fn record_wait(c: &Conversation, now: Millis) {
    if let Some(since) = c.queued_at {
        metrics::histogram!("deflect_inbox_queue_wait_seconds", "queue" => c.queue.clone())
            .record((now - since).max(0) as f64 / 1000.0);
    }
}
