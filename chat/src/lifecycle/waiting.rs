//! The rules that watch who is waiting in an assigned conversation (`[inbox.automations]`,
//! per account `[whatsapp.accounts.automations]`), each a durable timer:
//!
//! - **inactivity close** (`inbox.inactivity_close`): the agent answered the customer's last
//!   message and the customer has written nothing for that long since the agent's last
//!   message: `inactivity_message` (if any) and the conversation closes, disposition
//!   [`INACTIVE`]. Only assigned conversations close this way: queued, offered and pending
//!   ones have their queue's wait timeout and fallback.
//! - **reminder** (`reminder_after`): the agent has not answered the customer within that
//!   long of the customer's first unanswered message (or of the assignment, when the
//!   customer wrote before it): a `conversation.reminder` event for the agent's inbox and
//!   webhooks, and `reminder_message` (if any) to the customer.
//! - **re-offer** (`reoffer_after`, longer): still unanswered: the conversation is taken from
//!   the agent and offered to another agent of its queue (history `reoffered`).
//!
//! The timers are armed when the agent writes (inactivity), when the customer writes in an
//! assigned conversation (reminder and re-offer, unless armed: a second message does not
//! move them) and when a conversation is assigned; an agent's message cancels the reminder
//! and re-offer. Each re-checks the conversation when it fires: a stale timer does nothing.

use super::{arm, conversation_event, dispatch, load, outgoing};
use crate::clock::{self, Millis};
use crate::context::Ctx;
use crate::model::{ChatError, Conversation, EventKind, INACTIVE, Status, TimerKind};
use crate::repo;
use crate::routing::AgentId;
use crate::store::Tx;
use serde_json::json;

/// An agent wrote to the customer of conversation `c`: the reminder and re-offer stop, and
/// the customer's inactivity counts from now.
pub(crate) async fn agent_wrote(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<(), ChatError> {
    repo::timers::cancel(tx, c.id, TimerKind::Reminder).await?;
    repo::timers::cancel(tx, c.id, TimerKind::Reoffer).await?;
    if c.status == Status::Assigned {
        arm(
            ctx,
            tx,
            c.id,
            TimerKind::Inactivity,
            now + ctx.inactivity_ms(),
            None,
        )
        .await?;
    }
    Ok(())
}

/// Conversation `c` was just assigned to `agent`: whichever side it waits for, its timer
/// starts now.
pub(crate) async fn assigned(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    agent: AgentId,
    now: Millis,
) -> Result<(), ChatError> {
    let turn = repo::messages::turn(tx, c.id).await?;
    if turn.customer_waits() {
        for (kind, due) in reminders(ctx, c.account.as_deref(), now) {
            arm(ctx, tx, c.id, kind, due, Some(agent)).await?;
        }
    } else if turn.answered_at().is_some() {
        arm(
            ctx,
            tx,
            c.id,
            TimerKind::Inactivity,
            now + ctx.inactivity_ms(),
            None,
        )
        .await?;
    }
    Ok(())
}

/// The customer wrote in conversation `id`, assigned to `agent` on `account`: the reminder
/// and re-offer start, unless they run already.
pub(crate) async fn customer_wrote(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    agent: AgentId,
    account: Option<&str>,
    now: Millis,
) -> Result<(), ChatError> {
    let timers: Vec<_> = reminders(ctx, account, now)
        .map(|(kind, due)| (id, kind, due, Some(agent)))
        .collect();
    if !timers.is_empty() {
        repo::timers::set_many_unless_armed(tx, &timers).await?;
        ctx.wake_timers();
    }
    Ok(())
}

/// The reminder and re-offer timers `account`'s rules turn on, due from `now`.
pub(crate) fn reminders(
    ctx: &Ctx,
    account: Option<&str>,
    now: Millis,
) -> impl Iterator<Item = (TimerKind, Millis)> {
    let rules = ctx.automations(account);
    [
        (TimerKind::Reminder, rules.reminder_after),
        (TimerKind::Reoffer, rules.reoffer_after),
    ]
    .into_iter()
    .filter(|(_, after)| !after.is_zero())
    .map(move |(kind, after)| (kind, now + clock::ms(after)))
}

/// The inactivity timer fired: conversation `id` closes if its customer, answered, has been
/// silent long enough; else the timer moves to when that would be.
pub(crate) async fn inactivity(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    if c.status != Status::Assigned {
        return Ok(());
    }
    let Some(answered) = repo::messages::turn(tx, id).await?.answered_at() else {
        // The customer waits: the agent's answer arms it again.
        return Ok(());
    };
    let due = answered + ctx.inactivity_ms();
    if due > now {
        return arm(ctx, tx, id, TimerKind::Inactivity, due, None).await;
    }
    let text = &ctx.automations(c.account.as_deref()).inactivity_message;
    if !text.is_empty() && c.window_open(now) && !c.unreachable {
        outgoing::automatic(ctx, tx, &c, text, "inactivity", now).await?;
    }
    dispatch::close(ctx, tx, id, INACTIVE, None, now).await
}

/// Whether conversation `c` is still held by `agent` with the customer unanswered; when
/// it is, since when the customer waits.
async fn unanswered(
    tx: &mut Tx,
    c: &Conversation,
    agent: Option<AgentId>,
) -> Result<Option<Millis>, ChatError> {
    if c.status != Status::Assigned || agent.is_none() || c.agent_id != agent {
        return Ok(None);
    }
    Ok(repo::messages::turn(tx, c.id).await?.waiting_since)
}

/// The reminder timer fired for `agent`: if they still leave the customer of conversation
/// `id` unanswered, the `conversation.reminder` event and `reminder_message`.
pub(crate) async fn remind(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    agent: Option<AgentId>,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    let Some(since) = unanswered(tx, &c, agent).await? else {
        return Ok(());
    };
    let data = json!({ "agent_id": agent, "waiting_since": since });
    conversation_event(tx, id, EventKind::ConversationReminder, data, now).await?;
    metrics::counter!("deflect_inbox_agent_reminders_total", "step" => "reminder").increment(1);
    let text = &ctx.automations(c.account.as_deref()).reminder_message;
    if !text.is_empty() && c.window_open(now) && !c.unreachable {
        outgoing::automatic(ctx, tx, &c, text, "reminder", now).await?;
    }
    Ok(())
}

/// The re-offer timer fired for `agent`: if they still leave the customer of conversation
/// `id` unanswered, it is taken from them and offered to another agent of its queue.
pub(crate) async fn reoffer(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    agent: Option<AgentId>,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    let (Some(_), Some(agent)) = (unanswered(tx, &c, agent).await?, agent) else {
        return Ok(());
    };
    metrics::counter!("deflect_inbox_agent_reminders_total", "step" => "reoffer").increment(1);
    dispatch::reoffer(ctx, tx, &c, agent, now).await
}
