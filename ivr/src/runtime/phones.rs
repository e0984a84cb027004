//! Agents answering a bridge's call in their browsers: a transfer step with `mode =
//! "bridge"` and a target `inbox:<queue>` rings the softphones of the queue's agents in the
//! inbox instead of calling a SIP URI.
//!
//! The IVR asks [`AgentPhones`] (the binary implements it with the inbox) to ring the call;
//! the first agent who answers sends their browser's WebRTC offer, the call task answers it
//! with a media session of its own and relays audio both ways as for a SIP target. The
//! ring timeout, the hold queue and the hunt list are the bridge's, unchanged. Browser
//! agents are no telephone network, so a WhatsApp call may reach them.

use deflect_sip::endpoint::{CallEvent, EndReason};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Where the inbox's softphones ring (see the module docs).
pub trait AgentPhones: Send + Sync + 'static {
    /// Rings `call` on the phones of the agents who may take it; returns the id the agents
    /// answer it by and what they do. The receiver closes when no one can answer any more.
    fn ring(&self, call: AgentCall) -> (String, mpsc::UnboundedReceiver<AgentSignal>);
    /// The call `id` is over for the agents (the ring timed out, the flow moved on, either
    /// side hung up); nothing happens when it is already.
    fn end(&self, id: &str);
}

/// A call ringing for the agents of a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentCall {
    /// The queue whose agents it rings.
    pub queue: String,
    /// The caller's number, when known.
    pub caller: Option<String>,
    /// Where the call came from: a trunk's name, `whatsapp:<account>`, `widget:<site>`.
    pub channel: String,
    /// The flow that put the caller through.
    pub flow: String,
    /// The conversation it belongs to, when known (a widget visitor's).
    pub conversation: Option<i64>,
    /// Whether the agent's keys reach the caller (a phone caller; not a WhatsApp or widget
    /// one): their softphone shows a keypad.
    pub takes_digits: bool,
}

/// What the agents did with a ringing call.
#[derive(Debug)]
pub enum AgentSignal {
    /// Agent `agent` answered with their browser's SDP `offer`; the IVR's SDP answer — or
    /// why it cannot take the offer — goes back on `answer`.
    Answered {
        /// The agent's id.
        agent: i64,
        /// The browser's offer (complete: no trickled candidates).
        offer: String,
        /// Where the answer goes.
        answer: oneshot::Sender<Result<String, String>>,
    },
    /// The agent who answered put the caller on hold (`true`: they hear the bridge's
    /// `hold_music`, neither hears the other) or took them back.
    Held(bool),
    /// The agent who answered hung up.
    HungUp,
}

/// The agents' side of a bridge's call, as the call task sees it.
pub(super) struct AgentLeg {
    id: String,
    signals: mpsc::UnboundedReceiver<AgentSignal>,
    phones: Arc<dyn AgentPhones>,
}

/// Something from the agents.
pub(super) enum AgentLegEvent {
    /// Answered: the media session is to be set up from `offer`.
    Answered {
        offer: String,
        answer: oneshot::Sender<Result<String, String>>,
    },
    /// The agent holds the caller, or takes them back.
    Held(bool),
    /// What a SIP call's event would say: hung up, or no one answers.
    Call(CallEvent),
}

impl AgentLeg {
    /// Rings `call` on `phones`.
    pub(super) fn ring(phones: &Arc<dyn AgentPhones>, call: AgentCall) -> Self {
        let (id, signals) = phones.ring(call);
        tracing::debug!(agent_call = %id, "ringing the inbox's agents");
        Self {
            id,
            signals,
            phones: phones.clone(),
        }
    }

    /// The next thing the agents did (cancel-safe).
    pub(super) async fn next_event(&mut self) -> AgentLegEvent {
        match self.signals.recv().await {
            Some(AgentSignal::Answered {
                agent,
                offer,
                answer,
            }) => {
                tracing::debug!(agent_call = %self.id, agent, "an agent answered");
                AgentLegEvent::Answered { offer, answer }
            }
            Some(AgentSignal::Held(on)) => AgentLegEvent::Held(on),
            Some(AgentSignal::HungUp) => {
                AgentLegEvent::Call(CallEvent::Ended(EndReason::RemoteHangup { reason: None }))
            }
            // No one can answer: as a target that is not available.
            None => AgentLegEvent::Call(CallEvent::Ended(EndReason::Rejected(480))),
        }
    }
}

impl Drop for AgentLeg {
    /// However the leg ends, the agents' phones stop ringing or hang up.
    fn drop(&mut self) {
        self.phones.end(&self.id);
    }
}
