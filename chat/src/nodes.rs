//! Nodes: the processes working on one database. Each registers when it starts
//! ([`join`]), then beats every [`HEARTBEAT`] ([`beat`]) with its state and the calls it has
//! in progress; `deflect nodes` lists them ([`list`]).
//!
//! The rows a node leases (outbox sends, webhook deliveries, bot turns, attachment downloads)
//! name it. A node silent for [`LOST_AFTER`] is marked `lost` by the next node that beats,
//! and the leases it held end at once: the work it was doing is taken over within seconds
//! instead of when each lease runs out (a minute or two). What it was doing is redone the way
//! an expired lease is — a send it may have made is confirmed before it is made again.
//!
//! Only a node whose own heartbeats have been going through declares others lost: after the
//! database was away, every node's last beat is old, and the first to get through must not
//! take over the others before they had a chance to beat too. Nodes compare times taken by
//! their own clocks, as leases already do: keep them synchronised (NTP).
//!
//! The live nodes counted at each beat share each WhatsApp account's sending pace (Meta's
//! throughput is per business number): each node sends at its share of
//! `messages_per_second`.
//!
//! A node marked lost that beats again (it was cut off, not dead) says so in its log and runs
//! on; work it still finishes under a lease that was taken over may be done twice, as after
//! a lease that ran out.

use crate::clock::{Millis, ms};
use crate::context::Ctx;
use crate::model::ChatError;
use crate::repo;
pub use crate::repo::nodes::{NewNode, Node};
use std::time::Duration;

/// How often a node beats.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a node may be silent before another takes its work over: five missed beats.
pub const LOST_AFTER: Duration = Duration::from_secs(10);

/// What a node says at each heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLoad {
    /// Stopping: finishing its calls, taking no new ones.
    pub draining: bool,
    /// Calls in progress.
    pub calls: u64,
}

/// The outcome of a heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Beat {
    /// This node had been marked lost by another (and is running again).
    pub was_lost: bool,
    /// Nodes this beat found silent and marked lost, with the leased rows taken over from each.
    pub took_over: Vec<(i64, u64)>,
    /// Nodes running or draining now, this one included: they share each account's sending
    /// pace.
    pub live: u32,
}

/// Registers this process as a node; the leases its transactions take from now on name it.
pub(crate) async fn join(ctx: &Ctx, node: &NewNode) -> Result<i64, ChatError> {
    let mut tx = ctx.store().write().await?;
    let id = repo::nodes::insert(&mut tx, node, ctx.now()).await?;
    tx.commit().await?;
    ctx.store().set_node(id);
    Ok(id)
}

/// Node `id`'s heartbeat: its state and load recorded; then, when its previous beat got
/// through at `previous` (no longer ago than two beats), the nodes silent for [`LOST_AFTER`]
/// are marked lost and their leases ended.
pub(crate) async fn beat(
    ctx: &Ctx,
    id: i64,
    load: NodeLoad,
    previous: Option<Millis>,
) -> Result<Beat, ChatError> {
    let now = ctx.now();
    let state = if load.draining { "draining" } else { "running" };
    let calls = i64::try_from(load.calls).unwrap_or(i64::MAX);
    let mut tx = ctx.store().write().await?;
    let was = repo::nodes::beat(&mut tx, id, state, calls, now).await?;
    let mut beat = Beat {
        was_lost: was.as_deref() == Some("lost"),
        took_over: Vec::new(),
        live: 1,
    };
    let steady = previous.is_some_and(|at| now - at <= 2 * ms(HEARTBEAT));
    if steady {
        for lost in repo::nodes::mark_lost(&mut tx, now - ms(LOST_AFTER), id).await? {
            let rows = repo::nodes::end_leases(&mut tx, lost, now).await?;
            beat.took_over.push((lost, rows));
        }
    }
    beat.live = repo::nodes::count_live(&mut tx, now - ms(LOST_AFTER)).await?;
    tx.commit().await?;
    ctx.set_sending_nodes(beat.live);
    if !beat.took_over.is_empty() {
        ctx.wake_outbox();
        ctx.wake_bots();
        ctx.wake_attachments();
    }
    Ok(beat)
}

/// Node `id` stopped: its calls ended and its workers finished.
pub(crate) async fn leave(ctx: &Ctx, id: i64) -> Result<(), ChatError> {
    let mut tx = ctx.store().write().await?;
    repo::nodes::beat(&mut tx, id, "stopped", 0, ctx.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Every node that worked on this database, the most recently started first.
pub(crate) async fn list(ctx: &Ctx) -> Result<Vec<Node>, ChatError> {
    Ok(repo::nodes::list(ctx.store()).await?)
}
