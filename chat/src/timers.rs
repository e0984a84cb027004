//! Durable timers: rows (conversation, kind, due time) fired by a worker. They survive
//! restarts; with PostgreSQL any process may fire a timer, and each fires exactly once: a
//! worker takes a due row with `FOR UPDATE SKIP LOCKED`, deletes it and applies its effect in
//! one transaction, so a second worker never sees it and a crash before the commit leaves it
//! for the next.
//!
//! Kinds: `offer` (an offer lapses), `wait` (a queue's wait timeout), `transfer` (a transfer
//! returns unread), `inactivity` (an answered customer went silent: auto-close),
//! `escalation` (a web visitor waited too long: the widget offers WhatsApp), `reminder` and
//! `reoffer` (an agent left the customer unanswered), `queue_notice` (conversations left a
//! queue: the others' positions improved; see `lifecycle::waiting`), `bot_silence` (a
//! conversation with its bot fell silent: it closes), `relay_offer` and `relay_idle` (a
//! relayed conversation's offer to an agent lapsed; nobody wrote in it: it closes). A timer is one row per conversation and kind;
//! arming it again moves its due time. Every handler re-checks the conversation, so a timer
//! made stale by a later change does nothing.

use crate::clock::Millis;
use crate::context::Ctx;
use crate::lifecycle::{dispatch, handoff, load, relay, waiting};
pub use crate::model::INACTIVE;
use crate::model::{BOT_ENDED, Channel, ChatError, EscalationReason, Status, TimerKind};
use crate::repo::{self, assignments::Step, timers::Due};
use crate::store::Tx;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// When the next timer is due, if any.
pub(crate) async fn next_due(ctx: &Ctx) -> Result<Option<Millis>, ChatError> {
    Ok(repo::timers::next_due(ctx.store()).await?)
}

/// Fires every timer due at the clock's `now`, one transaction each; returns how many
/// fired. First applies the settings admins changed since the last pass (in any process):
/// the timers that fire follow them.
pub(crate) async fn fire_due(ctx: &Ctx) -> Result<usize, ChatError> {
    ctx.refresh_settings().await?;
    let mut fired = 0;
    let mut conflicts = 0;
    loop {
        match fire_one(ctx).await {
            Ok(true) => fired += 1,
            Ok(false) => return Ok(fired),
            // Two processes' changes crossed (a deadlock): the loser retries.
            Err(e) if e.is_transient() && conflicts < 10 => conflicts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Fires the earliest due timer, if any.
async fn fire_one(ctx: &Ctx) -> Result<bool, ChatError> {
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    let Some(due) = repo::timers::take_due(&mut tx, now).await? else {
        return Ok(false);
    };
    let span = tracing::debug_span!("timer", conversation_id = due.conversation, kind = %due.kind);
    async {
        match TimerKind::parse(&due.kind) {
            Some(kind) => fire(ctx, &mut tx, &due, kind, now).await?,
            None => tracing::warn!(kind = %due.kind, "unknown timer kind dropped"),
        }
        tx.commit().await?;
        metrics::counter!("deflect_inbox_timers_fired_total", "kind" => due.kind.clone())
            .increment(1);
        Ok::<_, ChatError>(())
    }
    .instrument(span)
    .await?;
    Ok(true)
}

async fn fire(
    ctx: &Ctx,
    tx: &mut Tx,
    due: &Due,
    kind: TimerKind,
    now: Millis,
) -> Result<(), ChatError> {
    let id = due.conversation;
    match kind {
        TimerKind::Offer => {
            if let Some(agent) = due.agent {
                dispatch::decline(ctx, tx, id, agent, "expired", now).await?;
            }
        }
        TimerKind::Wait => dispatch::wait_expired(ctx, tx, id, now).await?,
        TimerKind::Transfer => {
            let c = load(tx, id).await?;
            let open = matches!(c.status, Status::Offered | Status::Queued);
            if let (true, Some(back)) = (open, c.return_agent_id) {
                if let Some(a) = c.agent_id {
                    let step = Step {
                        agent: Some(a),
                        queue: &c.queue,
                        action: "expired",
                        by: None,
                    };
                    repo::assignments::record(tx, id, step, now).await?;
                }
                dispatch::return_to(ctx, tx, &c, back, now).await?;
            }
        }
        TimerKind::Escalation => {
            let c = load(tx, id).await?;
            let waiting = matches!(c.status, Status::Queued | Status::Offered);
            if waiting && c.channel == Channel::Web && c.escalation_at.is_none() {
                handoff::offer_escalation(tx, id, EscalationReason::Timeout, now).await?;
            }
        }
        TimerKind::BotSilence => {
            let c = load(tx, id).await?;
            if c.status == Status::Bot {
                dispatch::close(ctx, tx, id, BOT_ENDED, None, now).await?;
            }
        }
        TimerKind::Inactivity => waiting::inactivity(ctx, tx, id, now).await?,
        TimerKind::Reminder => waiting::remind(ctx, tx, id, due.agent, now).await?,
        TimerKind::Reoffer => waiting::reoffer(ctx, tx, id, due.agent, now).await?,
        TimerKind::QueueNotice => waiting::queue_moved(ctx, tx, now).await?,
        TimerKind::RelayOffer => relay::offer_lapsed(ctx, tx, id, now).await?,
        TimerKind::RelayIdle => relay::idle(ctx, tx, id, now).await?,
    }
    Ok(())
}

/// The timer worker: fires what is due, then sleeps until the next timer (or a new one is
/// armed), until `stop`.
pub(crate) async fn run(ctx: std::sync::Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let wait = match fire_due(&ctx).await {
            Ok(_) => ctx.until_due(next_due(&ctx).await.ok().flatten()),
            Err(e) => {
                tracing::warn!(cause = %e, "timer worker: database error; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = ctx.timer_wake().notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}
