//! The routing driver: carries out [`crate::routing`]'s decisions inside a transaction —
//! queueing a conversation, offering it, passing it on when an offer is declined or lapses,
//! pulling waiting ones for an agent with room, a queue's fallback, and closing.

use super::{
    arm, conversation_event, csat, load, load_with_decliners, outgoing, transition, waiting,
};
use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{ChatError, Conversation, EventKind, Status, TimerKind};
use crate::repo::{self, assignments::Step};
use crate::routing::{self, AgentId, Decision, Route};
use crate::store::Tx;
use serde_json::json;

/// Records a step of conversation `id`'s history.
async fn history(
    tx: &mut Tx,
    id: i64,
    agent: Option<AgentId>,
    queue: &str,
    action: &str,
    by: Option<AgentId>,
    now: Millis,
) -> Result<(), ChatError> {
    let step = Step {
        agent,
        queue,
        action,
        by,
    };
    Ok(repo::assignments::record(tx, id, step, now).await?)
}

/// Puts a conversation in `queue` to wait for an agent (wait timer armed), then routes
/// it. `since` keeps an earlier waiting time (a fallback move keeps its place).
pub(crate) async fn enqueue(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    queue: &str,
    since: Option<Millis>,
    now: Millis,
) -> Result<(), ChatError> {
    enqueue_except(ctx, tx, id, queue, since, &[], now).await
}

/// As [`enqueue`], never offering it to `except` this round.
async fn enqueue_except(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    queue: &str,
    since: Option<Millis>,
    except: &[AgentId],
    now: Millis,
) -> Result<(), ChatError> {
    if super::relay::from_queue(ctx, tx, id, queue, now).await? {
        return Ok(());
    }
    if ctx.queue_notices() {
        // Moved from another queue: those behind it there move up.
        let before = load(tx, id).await?;
        if before.queue != queue {
            waiting::leaves_queue(ctx, tx, &before, now).await?;
        }
    }
    repo::conversations::set_queued(tx, id, queue, since.unwrap_or(now)).await?;
    if !except.is_empty() {
        repo::conversations::set_declined(tx, id, except).await?;
    }
    let rules = ctx.rules(queue);
    arm(ctx, tx, id, TimerKind::Wait, now + rules.wait_timeout, None).await?;
    repo::timers::cancel(tx, id, TimerKind::Offer).await?;
    history(tx, id, None, queue, "queued", None, now).await?;
    conversation_event(tx, id, EventKind::ConversationQueued, json!({}), now).await?;
    route(ctx, tx, id, now).await?;
    waiting::queue_notice(ctx, tx, id, now).await
}

/// Offers a waiting conversation to the next agent, if any can take it.
pub(crate) async fn route(ctx: &Ctx, tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
    let (c, declined) = load_with_decliners(tx, id).await?;
    if c.status != Status::Queued {
        return Ok(());
    }
    repo::queues::lock(tx, &c.queue).await?;
    let account = c.account.as_deref();
    let agents = repo::agents::of_queue(tx, &c.queue, account, ctx.capacity()).await?;
    let r = routing::offer(&ctx.rules(&c.queue), &agents, &declined, now);
    apply_route(ctx, tx, &c, &declined, r, now).await
}

async fn apply_route(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    before: &[AgentId],
    r: Route,
    now: Millis,
) -> Result<(), ChatError> {
    match r.decision {
        Decision::Offer { agent, expires_at } => {
            repo::conversations::set_offered(tx, c.id, agent, &r.declined).await?;
            repo::agents::set_last_offer(tx, agent, now).await?;
            arm(ctx, tx, c.id, TimerKind::Offer, expires_at, Some(agent)).await?;
            history(tx, c.id, Some(agent), &c.queue, "offered", None, now).await?;
            let data = json!({ "agent_id": agent, "expires_at": expires_at });
            conversation_event(tx, c.id, EventKind::ConversationOffered, data, now).await?;
            metrics::counter!("deflect_inbox_offers_total", "queue" => c.queue.clone())
                .increment(1);
            accept_if_wanted(ctx, tx, c.id, agent, now).await?;
        }
        Decision::Wait => {
            if r.declined != before {
                repo::conversations::set_declined(tx, c.id, &r.declined).await?;
            }
        }
        other => {
            tracing::error!(?other, "routing returned a decision that is not an offer");
        }
    }
    Ok(())
}

/// Accepts the offer of conversation `id` just made to `agent` at once when they take offers
/// so (auto-accept): its `conversation.assigned` event says `auto_accepted`.
pub(crate) async fn accept_if_wanted(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    agent: AgentId,
    now: Millis,
) -> Result<(), ChatError> {
    if !repo::agents::auto_accepts(tx, agent).await? {
        return Ok(());
    }
    let c = load(tx, id).await?;
    let data = json!({ "auto_accepted": true });
    let h = transition::Handover::assigned(agent, "auto-accepted", None, data, true);
    transition::hand_over(ctx, tx, &c, h, now).await?;
    Ok(())
}

/// Offers an agent the oldest waiting conversations of their queues while they have room.
pub(crate) async fn pull_for_agent(
    ctx: &Ctx,
    tx: &mut Tx,
    agent: AgentId,
    now: Millis,
) -> Result<(), ChatError> {
    pull_for_agent_except(ctx, tx, agent, None, now).await
}

/// As [`pull_for_agent`], never offering `except` (the conversation they just let pass).
async fn pull_for_agent_except(
    ctx: &Ctx,
    tx: &mut Tx,
    agent: AgentId,
    except: Option<i64>,
    now: Millis,
) -> Result<(), ChatError> {
    for _ in 0..ctx.capacity() {
        let state = repo::agents::state(tx, agent, ctx.capacity())
            .await?
            .ok_or(ChatError::NotFound("agent"))?;
        if !state.can_take() {
            return Ok(());
        }
        let mut waiting = repo::conversations::waiting_for(tx, agent).await?;
        waiting.retain(|w| Some(w.id) != except);
        let Some(id) = routing::pull(&state, &waiting) else {
            return Ok(());
        };
        let (c, declined) = load_with_decliners(tx, id).await?;
        let r = Route {
            decision: Decision::Offer {
                agent,
                expires_at: now + ctx.rules(&c.queue).offer_timeout,
            },
            declined: declined.clone(),
        };
        apply_route(ctx, tx, &c, &declined, r, now).await?;
    }
    Ok(())
}

/// Moves every offer open to `agent` on (they went offline).
pub(crate) async fn withdraw_offers(
    ctx: &Ctx,
    tx: &mut Tx,
    agent: AgentId,
    now: Millis,
) -> Result<(), ChatError> {
    for id in repo::conversations::offered_to(tx, agent).await? {
        decline(ctx, tx, id, agent, "withdrawn", now).await?;
    }
    Ok(())
}

/// An offer to `agent` lapsed, was rejected or withdrawn (`action`).
pub(crate) async fn decline(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    agent: AgentId,
    action: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let (c, declined) = load_with_decliners(tx, id).await?;
    if c.status != Status::Offered || c.agent_id != Some(agent) {
        return Ok(());
    }
    repo::timers::cancel(tx, id, TimerKind::Offer).await?;
    history(tx, id, Some(agent), &c.queue, action, None, now).await?;
    if let Some(back) = c.return_agent_id {
        // A transfer to this agent in person returns at once; one to a queue goes on to
        // the queue's next agent until the transfer timeout.
        let to_queue = repo::timers::is_armed(tx, id, TimerKind::Wait).await?;
        if !to_queue {
            return return_to(ctx, tx, &c, back, now).await;
        }
    }
    repo::conversations::set_waiting(tx, id).await?;
    repo::queues::lock(tx, &c.queue).await?;
    let account = c.account.as_deref();
    let agents = repo::agents::of_queue(tx, &c.queue, account, ctx.capacity()).await?;
    let r = routing::on_offer_declined(&ctx.rules(&c.queue), &agents, &declined, agent, now);
    let mut c = c;
    c.status = Status::Queued;
    if r.decision == Decision::Wait {
        let data = json!({ "declined_by": agent });
        conversation_event(tx, id, EventKind::ConversationQueued, data, now).await?;
    }
    apply_route(ctx, tx, &c, &declined, r, now).await?;
    // Their slot is free again: other waiting conversations may go to them.
    pull_for_agent_except(ctx, tx, agent, Some(id), now).await
}

/// Takes conversation `c` from `agent`, who left its customer unanswered too long
/// (`reoffer_after`), and offers it to another agent of its queue; it keeps its place in
/// the queue (when it was queued before). `agent` is not offered it again this round.
pub(crate) async fn reoffer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    agent: AgentId,
    now: Millis,
) -> Result<(), ChatError> {
    history(tx, c.id, Some(agent), &c.queue, "reoffered", None, now).await?;
    enqueue_except(ctx, tx, c.id, &c.queue, c.queued_at, &[agent], now).await?;
    // Their slot is free again: other waiting conversations may go to them.
    pull_for_agent_except(ctx, tx, agent, Some(c.id), now).await
}

/// A transfer came back: conversation `c` returns, unread, to `agent`.
pub(crate) async fn return_to(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    agent: AgentId,
    now: Millis,
) -> Result<(), ChatError> {
    let h =
        transition::Handover::assigned(agent, "returned", None, json!({ "returned": true }), false);
    transition::hand_over(ctx, tx, c, h, now).await?;
    Ok(())
}

/// Applies a queue's fallback after its wait timeout.
pub(crate) async fn wait_expired(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    if !matches!(c.status, Status::Queued | Status::Offered) || c.return_agent_id.is_some() {
        return Ok(());
    }
    for d in routing::on_wait_expired(&ctx.rules(&c.queue)) {
        match d {
            Decision::MoveToQueue { queue } => {
                if let Some(agent) = c.agent_id {
                    history(tx, id, Some(agent), &c.queue, "withdrawn", None, now).await?;
                }
                history(tx, id, None, &queue, "fallback", None, now).await?;
                enqueue(ctx, tx, id, &queue, c.queued_at, now).await?;
            }
            Decision::AutoReply { text } => {
                // "All agents are busy" is wrong once an agent has answered.
                if c.window_open(now)
                    && !c.unreachable
                    && !repo::messages::agent_answered(tx, id).await?
                {
                    outgoing::automatic(ctx, tx, &c, &text, "auto_reply", now).await?;
                }
            }
            Decision::Close { disposition } => {
                close(ctx, tx, id, &disposition, None, now).await?;
            }
            other => tracing::error!(?other, "unexpected fallback decision"),
        }
    }
    Ok(())
}

/// Closes a conversation; its agent's freed slot pulls the oldest waiting one. The agent
/// who held it stays its `agent_id` (who handled it: history and reports); one only
/// offered to an agent keeps none. The customer of one an agent answered may be asked to
/// rate it ([`csat::survey`]).
pub(crate) async fn close(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    disposition: &str,
    by: Option<AgentId>,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    if c.status == Status::Closed {
        return Ok(());
    }
    let handled_by = c.agent_id.filter(|_| c.status == Status::Assigned);
    repo::conversations::set_closed(tx, id, disposition, by, handled_by, now).await?;
    repo::timers::cancel_all(tx, id).await?;
    repo::bot_turns::cancel_all(tx, id).await?;
    waiting::leaves_queue(ctx, tx, &c, now).await?;
    history(tx, id, c.agent_id, &c.queue, "closed", by, now).await?;
    let mut data = json!({ "disposition": disposition, "by": by, "agent_id": handled_by });
    if let Some(rating) = csat::survey(ctx, tx, &c, disposition, now).await? {
        // A web chat's rating is shown by the widget as the conversation ends.
        data["csat"] = rating;
    }
    conversation_event(tx, id, EventKind::ConversationClosed, data, now).await?;
    metrics::counter!("deflect_inbox_conversations_closed_total", "disposition" => disposition.to_string())
        .increment(1);
    if let Some(agent) = c.agent_id {
        pull_for_agent(ctx, tx, agent, now).await?;
    }
    Ok(())
}
