//! The rules that watch who is waiting — in an assigned conversation, or in a queue
//! (`[inbox.automations]`, per account, widget site or IVR flow: the conversation's own,
//! `Ctx::automations_of`):
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
//! - **queue notice** (`queue_message`): a customer whose conversation enters a queue and
//!   waits there (not offered at once) is told their position (1: next) and an estimated
//!   wait ([`estimate`]); told again each time the position has improved by
//!   `queue_message_step` since the last notice. The position told is stored with the
//!   conversation; when a conversation leaves a queue (taken by an agent, closed, moved to
//!   another queue) a `queue_notice` timer, due at once, looks at the waiting conversations
//!   told before — only those — in its own transaction.
//!
//! The timers are armed when the agent writes (inactivity), when the customer writes in an
//! assigned conversation (reminder and re-offer, unless armed: a second message does not
//! move them) and when a conversation is assigned; an agent's message cancels the reminder
//! and re-offer. Each re-checks the conversation when it fires: a stale timer does nothing.

use super::{arm, conversation_event, dispatch, load, outgoing};
use crate::clock::{self, Millis};
use crate::context::{Ctx, Scope};
use crate::model::{ChatError, Conversation, EventKind, INACTIVE, Status, TimerKind};
use crate::repo;
use crate::routing::AgentId;
use crate::store::Tx;
use deflect_config::AutomationsConfig;
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
        wait_for_customer(ctx, tx, c.id, now).await?;
    }
    Ok(())
}

/// The agent answered in conversation `id`: it closes if the customer writes nothing for
/// `inbox.inactivity_close`.
async fn wait_for_customer(ctx: &Ctx, tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
    let due = now + ctx.inactivity_ms();
    arm(ctx, tx, id, TimerKind::Inactivity, due, None).await
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
        for (kind, due) in reminders(&ctx.automations_of(c), now) {
            arm(ctx, tx, c.id, kind, due, Some(agent)).await?;
        }
    } else if turn.answered_at().is_some() {
        wait_for_customer(ctx, tx, c.id, now).await?;
    }
    Ok(())
}

/// The customer wrote in conversation `id` (of `scope`), assigned to `agent`: the reminder
/// and re-offer start, unless they run already.
pub(crate) async fn customer_wrote(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    agent: AgentId,
    scope: Scope<'_>,
    now: Millis,
) -> Result<(), ChatError> {
    let timers: Vec<_> = reminders(&ctx.automations_in(scope), now)
        .map(|(kind, due)| (id, kind, due, Some(agent)))
        .collect();
    if !timers.is_empty() {
        repo::timers::set_many_unless_armed(tx, &timers).await?;
        ctx.wake_timers();
    }
    Ok(())
}

/// The reminder and re-offer timers `rules` turn on, due from `now`.
pub(crate) fn reminders(
    rules: &AutomationsConfig,
    now: Millis,
) -> impl Iterator<Item = (TimerKind, Millis)> + use<> {
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
    let text = &ctx.automations_of(&c).inactivity_message;
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
    let text = &ctx.automations_of(&c).reminder_message;
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

/// How many recent waits the estimate looks at, and how far back.
const RECENT_WAITS: i64 = 20;
const RECENT: Millis = 24 * 3600 * 1000;

/// Tells the customer of conversation `id`, just queued, their position and the estimated
/// wait (`queue_message`), if it waits (not offered at once) and its rules say so.
pub(crate) async fn queue_notice(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    let text = &ctx.automations_of(&c).queue_message;
    if text.is_empty() || c.status != Status::Queued {
        return Ok(());
    }
    if let Some(position) = repo::queues::position(tx, id).await? {
        tell_position(ctx, tx, &c, text, position, now).await?;
    }
    Ok(())
}

/// A conversation left a queue: customers told their position before hear the better one
/// when it improved by their rules' `queue_message_step`.
pub(crate) async fn queue_moved(ctx: &Ctx, tx: &mut Tx, now: Millis) -> Result<(), ChatError> {
    for (id, told, position) in repo::queues::improved(tx).await? {
        let c = load(tx, id).await?;
        let rules = ctx.automations_of(&c);
        let step = i64::from(rules.queue_message_step);
        if rules.queue_message.is_empty() || step == 0 || told - position < step {
            continue;
        }
        tell_position(ctx, tx, &c, &rules.queue_message, position, now).await?;
    }
    Ok(())
}

/// Conversation `c` leaves its queue (taken, closed or moved): the others' positions are
/// looked at after the change (a `queue_notice` timer, due now), when notices are on.
pub(crate) async fn leaves_queue(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<(), ChatError> {
    if ctx.queue_notices() && matches!(c.status, Status::Queued | Status::Offered) {
        arm(ctx, tx, c.id, TimerKind::QueueNotice, now, None).await?;
    }
    Ok(())
}

/// Conversation `c` waited in its queue from `queued_at` until an agent took it now:
/// remembered for the estimated wait (when notices are on).
pub(crate) async fn waited(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    queued_at: Millis,
    now: Millis,
) -> Result<(), ChatError> {
    if ctx.queue_notices() {
        let waited = (now - queued_at).max(0);
        repo::queues::record_wait(tx, &c.queue, waited, now - RECENT, now).await?;
    }
    Ok(())
}

async fn tell_position(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    text: &str,
    position: i64,
    now: Millis,
) -> Result<(), ChatError> {
    if !c.window_open(now) || c.unreachable {
        return Ok(());
    }
    let median = repo::queues::median_wait(tx, &c.queue, now - RECENT, RECENT_WAITS).await?;
    let wait = estimate(median, position);
    let position_text = position.to_string();
    let values = [
        ("position", position_text.as_str()),
        ("wait", wait.as_str()),
    ];
    outgoing::automatic_with(ctx, tx, c, text, "queue", &values, now).await?;
    repo::queues::set_notice(tx, c.id, position).await?;
    Ok(())
}

/// The estimated wait at `position` in a queue whose recent waits' median is `median`
/// (the last 20 conversations taken from it within 24 h): the median times the position,
/// in words — `less than a minute`, `about 1 minute`, `about 25 minutes`, `about 2 hours`;
/// `a few minutes` with no recent waits.
pub(crate) fn estimate(median: Option<Millis>, position: i64) -> String {
    let Some(median) = median else {
        return "a few minutes".into();
    };
    let ms = median.saturating_mul(position.max(1));
    let minutes = (ms + 30_000) / 60_000;
    match minutes {
        _ if ms < 60_000 => "less than a minute".into(),
        0 | 1 => "about 1 minute".into(),
        m if m < 90 => format!("about {m} minutes"),
        m => format!("about {} hours", (m + 30) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::estimate;

    #[test]
    fn the_estimated_wait_reads_naturally() {
        let minute = 60_000;
        assert_eq!(estimate(None, 3), "a few minutes");
        assert_eq!(estimate(Some(20_000), 2), "less than a minute");
        assert_eq!(estimate(Some(20_000), 3), "about 1 minute");
        assert_eq!(estimate(Some(2 * minute), 1), "about 2 minutes");
        assert_eq!(estimate(Some(2 * minute + 20_000), 4), "about 9 minutes");
        assert_eq!(estimate(Some(30 * minute), 5), "about 3 hours");
        assert_eq!(estimate(Some(0), 7), "less than a minute");
    }
}
