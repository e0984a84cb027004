//! This process as a node of its database (see `deflect_chat::nodes`): registered when the
//! gateway starts, a heartbeat every `HEARTBEAT` with its state and calls in progress — which
//! also takes over the work of nodes that fell silent — and `stopped` when it exits.

use deflect_chat::{Inbox, NewNode, NodeLoad};
use deflect_config::SipTransport;
use std::net::SocketAddr;
use tokio::sync::watch;
use tracing::{info, warn};

/// A node's heartbeat, running until it is dropped; [`Heartbeat::leave`] says the node stopped.
pub(crate) struct Heartbeat {
    inbox: Inbox,
    id: i64,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Registers this process, listening on `http` and `sip`, and starts beating: `draining`
    /// once `stopping` turns true, with the calls `calls` counts.
    pub(crate) async fn start(
        inbox: &Inbox,
        http: SocketAddr,
        sip: &[(SipTransport, SocketAddr)],
        calls: watch::Receiver<usize>,
        stopping: watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let node = NewNode {
            name: format!("{}:{}", host_name(), std::process::id()),
            version: env!("CARGO_PKG_VERSION").into(),
            http: http.to_string(),
            sip: sip
                .iter()
                .map(|(t, a)| format!("{t}:{a}"))
                .collect::<Vec<_>>()
                .join(","),
        };
        let id = inbox.join_nodes(&node).await?;
        info!(node = id, name = %node.name, "registered as a node of the database");
        let task = tokio::spawn(beat(inbox.clone(), id, calls, stopping));
        Ok(Self {
            inbox: inbox.clone(),
            id,
            task,
        })
    }

    /// Stops beating and records that this node stopped.
    pub(crate) async fn leave(self) {
        self.task.abort();
        if let Err(e) = self.inbox.leave_nodes(self.id).await {
            warn!(cause = %e, "cannot record that this node stopped");
        }
    }
}

async fn beat(
    inbox: Inbox,
    id: i64,
    calls: watch::Receiver<usize>,
    stopping: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(deflect_chat::nodes::HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous = None;
    loop {
        every.tick().await;
        let load = NodeLoad {
            draining: *stopping.borrow(),
            calls: u64::try_from(*calls.borrow()).unwrap_or(u64::MAX),
        };
        let now = inbox.now();
        match inbox.node_beat(id, load, previous).await {
            Ok(beat) => {
                previous = Some(now);
                if beat.was_lost {
                    warn!(
                        node = id,
                        "this node had been given up for lost by another; work it had leased \
                         may have been taken over"
                    );
                }
                for (node, rows) in beat.took_over {
                    warn!(
                        node,
                        rows, "a node fell silent: its leased work is taken over"
                    );
                }
            }
            Err(e) => {
                previous = None;
                warn!(cause = %e, "node heartbeat failed; trying again");
            }
        }
    }
}

/// The machine's host name (the kernel's), else `deflect`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "deflect".into())
}
