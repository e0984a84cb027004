//! The inbox's softphone: calls the IVR puts through to a queue's agents (a bridge to
//! `inbox:<queue>`) ring in their browsers, and the first agent to answer talks to the caller
//! over WebRTC.
//!
//! [`Phones`] keeps the calls ringing or answered on this node. Whoever rings one
//! ([`Phones::ring`]: the binary, for the IVR) gives a sink for what the agents do
//! ([`PhoneSignal`]); the agents' browsers learn of each change from the ephemeral
//! `phone.call` event on their live feed (ringing, answered by whom, ended) — only agents
//! who may take it (of its queue and, for a WhatsApp call, of its account) and the agent on
//! it — and act through
//! `/api/v1/phone` (`crate::api`). A call rings only when at least one such agent is
//! available with room (fewer conversations than `inbox.max_conversations_per_agent`, as
//! routing offers them), has the inbox open on this node (a live feed: [`Phones::listen`];
//! presence alone is a choice the agent may have left behind with a closed tab) and is on no
//! other call; otherwise — or once every such agent declined it, went away or closed their
//! inbox — it ends at once and the IVR's flow goes on (the bridge's next target, its failure
//! step).
//!
//! Agents also call customers from a conversation ([`Phones::place`]: a WhatsApp customer
//! who allowed calls, through the [`CallPlacer`] the binary sets): the call is theirs from
//! the start, `calling` until the customer answers, then `answered`, on the same panel.
//!
//! Metrics: `deflect_phone_calls_total{outcome}` — `answered`, `declined` (by every agent),
//! `unavailable` (nobody to ring), `missed` (ended while ringing: the ring timed out or the
//! caller hung up); `deflect_placed_calls_total{outcome}` — `answered`, `unanswered`;
//! `deflect_phone_agents_listening` — agents with the inbox open on this node.
//!
//! Calls are held by the node whose IVR took them: with several nodes, an agent's answer
//! and hang-up must reach that node, which nothing arranges yet (one node for now).

use deflect_chat::routing::AgentId;
use deflect_chat::{Agent, Inbox, Viewer};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long the IVR may take to answer an agent's offer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// A call to ring (see [`Phones::ring`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ringing {
    /// The queue whose agents it rings.
    pub queue: String,
    /// The WhatsApp account it belongs to (a WhatsApp call's, a widget site's): only
    /// agents of that account take it. `None`: a telephone caller's.
    pub account: Option<String>,
    /// The caller's number, when known.
    pub caller: Option<String>,
    /// Where it came from (a trunk's name, `whatsapp:<account>`, `widget:<site>`).
    pub channel: String,
    /// The IVR flow that put it through.
    pub flow: String,
    /// The conversation it belongs to, when known.
    pub conversation_id: Option<i64>,
    /// Whether the agent's keys reach the caller (RFC 4733 to a phone caller): the
    /// softphone shows a keypad.
    pub takes_digits: bool,
}

/// Where a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    /// Ringing for the queue's agents.
    Ringing,
    /// An agent's call to a customer, not answered yet.
    Calling,
    /// An agent answered and talks to the caller.
    Answered,
    /// Over (for every agent).
    Ended,
}

/// A call as agents see it (the `call` of a `phone.call` event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PhoneCall {
    /// Its id on the softphone (`/api/v1/phone/calls/<id>/…`).
    pub id: String,
    /// Where it is.
    pub state: PhoneState,
    /// What was rung: queue, account, caller, channel, flow, conversation.
    #[serde(flatten)]
    pub details: Ringing,
    /// The agent who answered (who placed it, for an agent's call).
    pub agent_id: Option<AgentId>,
    /// Whether the agent on it holds the caller (who hears music meanwhile).
    pub held: bool,
    /// Why an agent's call ended, once it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl PhoneCall {
    /// Whether `viewer` may take it: of its queue and, if it has one, of its account.
    fn may_be_taken_by(&self, viewer: &Viewer) -> bool {
        let Ringing { queue, account, .. } = &self.details;
        viewer.may_take_call(queue, account.as_deref())
    }
}

/// What the agents did, for whoever rang the call.
#[derive(Debug)]
pub enum PhoneSignal {
    /// `agent` answered with their browser's complete SDP `offer`; the SDP answer (or why
    /// the offer cannot be taken) goes back on `answer`.
    Answered {
        /// Who answered.
        agent: AgentId,
        /// The browser's offer.
        offer: String,
        /// Where the answer goes.
        answer: oneshot::Sender<Result<String, String>>,
    },
    /// The agent on the call put the caller on hold (`true`) or took them back.
    Held(bool),
    /// The agent who answered hung up.
    HungUp,
}

/// Where a call's [`PhoneSignal`]s go; `false`: no one listens any more.
pub type PhoneSink = Box<dyn Fn(PhoneSignal) -> bool + Send + Sync>;

/// Why an agent cannot answer a call.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerRefused {
    /// No such call rings for them (never did, ended, or not for their queues).
    #[error("no such call rings for you")]
    NotRinging,
    /// Another agent answered first.
    #[error("another agent answered the call")]
    Taken,
    /// Their offer cannot be taken (or the IVR did not answer in time).
    #[error("the call cannot be answered with this offer: {0}")]
    Offer(String),
}

/// An agent's call to a WhatsApp customer (see [`Phones::place`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceCall {
    /// The account whose number calls.
    pub account: String,
    /// The customer's WhatsApp id (their number's digits).
    pub whatsapp_id: String,
    /// The conversation it is placed from.
    pub conversation_id: i64,
    /// The agent's browser's complete SDP offer.
    pub offer: String,
}

/// How an agent's call goes, as its placer reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceProgress {
    /// The customer's phone rings.
    Ringing,
    /// The customer answered.
    Answered,
    /// Over, and why (the last report).
    Ended(String),
}

/// A placed call: the SDP answer for the agent's browser, and how to hang it up (dropping
/// it hangs up too).
pub struct Placed {
    /// The answer.
    pub answer: String,
    /// Hangs the call up.
    pub hang_up: Box<dyn Fn() + Send + Sync>,
    /// Holds the customer (`true`: they hear music) or takes them back.
    pub hold: Box<dyn Fn(bool) + Send + Sync>,
}

/// Where agents' calls to customers go: WhatsApp, through the binary.
pub trait CallPlacer: Send + Sync {
    /// Places `call`; its progress goes to `progress` until [`PlaceProgress::Ended`]. An
    /// error (an offer that cannot be taken, no free port) places nothing.
    fn place(
        &self,
        call: PlaceCall,
        progress: mpsc::UnboundedSender<PlaceProgress>,
    ) -> Result<Placed, String>;
}

/// Why an agent's call was not placed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceRefused {
    /// Nothing places calls here (no account has `calling`).
    #[error("calls to customers are not available")]
    Unavailable,
    /// The agent is on another call.
    #[error("you are on another call")]
    Busy,
    /// The call could not be set up (the offer, no free port).
    #[error("the call cannot be placed: {0}")]
    Offer(String),
}

struct Entry {
    call: PhoneCall,
    sink: PhoneSink,
    /// The agents who declined it: it no longer rings for them.
    declined: Vec<AgentId>,
}

/// The calls ringing or answered on this node (see the module docs).
pub struct Phones {
    inbox: Inbox,
    calls: Mutex<HashMap<String, Entry>>,
    /// The agents with the inbox open on this node: how many live feeds each has.
    listening: Mutex<HashMap<AgentId, usize>>,
    /// Where agents' calls to customers go, once the binary set it.
    placer: OnceLock<Arc<dyn CallPlacer>>,
    /// The calls' changes, published in order by one task (started with the first call).
    changes: OnceLock<mpsc::UnboundedSender<PhoneCall>>,
    me: Weak<Self>,
}

impl std::fmt::Debug for Phones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phones").finish_non_exhaustive()
    }
}

impl Phones {
    /// No calls yet; changes are published through `inbox`.
    pub fn new(inbox: Inbox) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            inbox,
            calls: Mutex::new(HashMap::new()),
            listening: Mutex::new(HashMap::new()),
            placer: OnceLock::new(),
            changes: OnceLock::new(),
            me: me.clone(),
        })
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `agent` opened a live feed on this node: calls ring for them (when available) until
    /// the returned guard, and every other feed of theirs, is dropped.
    pub fn listen(&self, agent: AgentId) -> Listening {
        let mut listeners = self.listeners();
        *listeners.entry(agent).or_default() += 1;
        metrics::gauge!("deflect_phone_agents_listening").set(listeners.len() as f64);
        Listening {
            phones: self.me.clone(),
            agent,
        }
    }

    /// Whether `agent` has a live feed open on this node.
    pub fn is_listening(&self, agent: AgentId) -> bool {
        self.listeners().contains_key(&agent)
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, HashMap<AgentId, usize>> {
        self.listening.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The agents a call may ring for now: listening on this node and on no call.
    fn reachable(&self) -> HashSet<AgentId> {
        let busy = self.busy();
        (self.listeners().keys())
            .filter(|a| !busy.contains(a))
            .copied()
            .collect()
    }

    /// Lets agents call customers through `placer` (once).
    pub fn set_placer(&self, placer: Arc<dyn CallPlacer>) {
        let _ = self.placer.set(placer);
    }

    /// `viewer` calls a WhatsApp customer (on a tokio runtime): returns the call, `calling`,
    /// and the SDP answer for their browser. It is theirs alone; it ends when either side
    /// hangs up or the customer does not answer.
    pub fn place(
        &self,
        viewer: &Viewer,
        call: PlaceCall,
    ) -> Result<(PhoneCall, String), PlaceRefused> {
        let placer = self.placer.get().ok_or(PlaceRefused::Unavailable)?;
        if self.busy().contains(&viewer.agent_id) {
            return Err(PlaceRefused::Busy);
        }
        let details = Ringing {
            queue: String::new(),
            account: Some(call.account.clone()),
            caller: Some(format!("+{}", call.whatsapp_id)),
            channel: format!("whatsapp:{}", call.account),
            flow: String::new(),
            conversation_id: Some(call.conversation_id),
            takes_digits: false,
        };
        let (tx, progress) = mpsc::unbounded_channel();
        let Placed {
            answer,
            hang_up,
            hold,
        } = placer.place(call, tx).map_err(PlaceRefused::Offer)?;
        let call = PhoneCall {
            id: crate::calls::random_id("phone"),
            state: PhoneState::Calling,
            details,
            agent_id: Some(viewer.agent_id),
            held: false,
            reason: None,
        };
        let sink: PhoneSink = Box::new(move |signal| {
            match signal {
                PhoneSignal::HungUp => hang_up(),
                PhoneSignal::Held(on) => hold(on),
                PhoneSignal::Answered { .. } => {}
            }
            true
        });
        self.calls().insert(
            call.id.clone(),
            Entry {
                call: call.clone(),
                sink,
                declined: Vec::new(),
            },
        );
        self.publish(call.clone());
        tokio::spawn(follow(self.me.clone(), call.id.clone(), progress));
        Ok((call, answer))
    }

    /// Rings `call` for its queue's agents (on a tokio runtime); what they do goes to
    /// `sink`. Returns the call's id. It ends — the sink is dropped — by [`Phones::end`], or
    /// at once when no agent who may take it is available.
    pub fn ring(&self, call: Ringing, sink: PhoneSink) -> String {
        let id = crate::calls::random_id("phone");
        let call = PhoneCall {
            id: id.clone(),
            state: PhoneState::Ringing,
            details: call,
            agent_id: None,
            held: false,
            reason: None,
        };
        self.calls().insert(
            id.clone(),
            Entry {
                call: call.clone(),
                sink,
                declined: Vec::new(),
            },
        );
        self.publish(call);
        id
    }

    /// The call `id` is over: it stops ringing (or the agent's phone hangs up) and its sink
    /// is dropped. Nothing happens for a call that ended before.
    pub fn end(&self, id: &str) {
        self.end_as(id, "missed");
    }

    /// Ends call `id`; counted as `outcome` when it was still ringing.
    fn end_as(&self, id: &str, outcome: &'static str) {
        self.end_with(id, outcome, None);
    }

    /// Ends call `id` for `reason` (an agent's call's); counted as `outcome` when it was
    /// still ringing.
    fn end_with(&self, id: &str, outcome: &'static str, reason: Option<String>) {
        let Some(entry) = self.calls().remove(id) else {
            return;
        };
        if entry.call.state == PhoneState::Ringing {
            metrics::counter!("deflect_phone_calls_total", "outcome" => outcome).increment(1);
        }
        self.publish(PhoneCall {
            state: PhoneState::Ended,
            reason,
            ..entry.call
        });
    }

    /// Call `id` was answered (an agent's call, by the customer).
    fn answered(&self, id: &str) {
        let mut calls = self.calls();
        let Some(entry) = calls.get_mut(id) else {
            return;
        };
        entry.call.state = PhoneState::Answered;
        let call = entry.call.clone();
        drop(calls);
        self.publish(call);
    }

    /// The calls ringing for `viewer` (not declined by them), or answered by them.
    pub fn calls_for(&self, viewer: &Viewer) -> Vec<PhoneCall> {
        let mut calls: Vec<PhoneCall> = (self.calls().values())
            .filter(|e| match e.call.agent_id {
                None => e.call.may_be_taken_by(viewer) && !e.declined.contains(&viewer.agent_id),
                Some(agent) => agent == viewer.agent_id,
            })
            .map(|e| e.call.clone())
            .collect();
        calls.sort_by(|a, b| a.id.cmp(&b.id));
        calls
    }

    /// `viewer` answers call `id` with their browser's `offer`; returns the SDP answer. The
    /// first agent to answer takes the call; an offer that cannot be taken leaves it
    /// ringing.
    pub async fn answer(
        &self,
        id: &str,
        viewer: &Viewer,
        offer: String,
    ) -> Result<String, AnswerRefused> {
        let agent = viewer.agent_id;
        let (tx, rx) = oneshot::channel();
        {
            let mut calls = self.calls();
            let entry = (calls.get_mut(id))
                .filter(|e| e.call.may_be_taken_by(viewer))
                .ok_or(AnswerRefused::NotRinging)?;
            if entry.call.agent_id.is_some() {
                return Err(AnswerRefused::Taken);
            }
            entry.call.agent_id = Some(agent);
            let signal = PhoneSignal::Answered {
                agent,
                offer,
                answer: tx,
            };
            if !(entry.sink)(signal) {
                return Err(AnswerRefused::NotRinging);
            }
        }
        let answer = match tokio::time::timeout(ANSWER_WITHIN, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the call ended".into()),
            Err(_) => Err("no answer from the IVR in time".into()),
        };
        let mut calls = self.calls();
        let entry = calls.get_mut(id).filter(|e| e.call.agent_id == Some(agent));
        match (answer, entry) {
            (Ok(sdp), Some(entry)) => {
                entry.call.state = PhoneState::Answered;
                metrics::counter!("deflect_phone_calls_total", "outcome" => "answered")
                    .increment(1);
                let call = entry.call.clone();
                drop(calls);
                self.publish(call);
                Ok(sdp)
            }
            (Ok(_), None) => Err(AnswerRefused::NotRinging),
            (Err(why), entry) => {
                if let Some(entry) = entry {
                    entry.call.agent_id = None;
                }
                Err(AnswerRefused::Offer(why))
            }
        }
    }

    /// `viewer` declines the ringing call `id`: it stops ringing for them, and ends — the
    /// bridge goes on to its next target — once no available agent who has not declined is
    /// left to take it. `false` when it does not ring for them.
    pub async fn decline(&self, id: &str, viewer: &Viewer) -> bool {
        let (call, declined) = {
            let mut calls = self.calls();
            let Some(entry) = (calls.get_mut(id))
                .filter(|e| e.call.agent_id.is_none() && e.call.may_be_taken_by(viewer))
            else {
                return false;
            };
            if !entry.declined.contains(&viewer.agent_id) {
                entry.declined.push(viewer.agent_id);
            }
            (entry.call.clone(), entry.declined.clone())
        };
        let agents = agents_with_room(&self.inbox).await;
        if !anyone_available(agents.as_deref(), &call, &declined, &self.reachable()) {
            tracing::info!(call = %id, "every agent declined the call");
            self.end_as(id, "declined");
        }
        true
    }

    /// Ends the ringing calls no one left can take (an agent went away, logged out or closed
    /// their last page) as `unavailable`, so their callers' flows go on now rather than at
    /// the ring timeout.
    pub async fn recheck_ringing(&self) {
        let ringing: Vec<(PhoneCall, Vec<AgentId>)> = (self.calls().values())
            .filter(|e| e.call.state == PhoneState::Ringing)
            .map(|e| (e.call.clone(), e.declined.clone()))
            .collect();
        if ringing.is_empty() {
            return;
        }
        let (agents, reachable) = (agents_with_room(&self.inbox).await, self.reachable());
        for (call, declined) in ringing {
            if !anyone_available(agents.as_deref(), &call, &declined, &reachable) {
                tracing::info!(call = %call.id, "nobody left with the inbox open; the call stops ringing");
                self.end_as(&call.id, "unavailable");
            }
        }
    }

    /// The agents on a call (or answering one) on this node.
    fn busy(&self) -> Vec<AgentId> {
        (self.calls().values())
            .filter_map(|e| e.call.agent_id)
            .collect()
    }

    /// `agent` hangs up the call `id` they answered or placed; `false` when it is not
    /// theirs (or over).
    pub fn hang_up(&self, id: &str, agent: AgentId) -> bool {
        let calls = self.calls();
        match calls.get(id) {
            Some(e)
                if e.call.agent_id == Some(agent)
                    && matches!(e.call.state, PhoneState::Answered | PhoneState::Calling) =>
            {
                (e.sink)(PhoneSignal::HungUp)
            }
            _ => false,
        }
    }

    /// `agent` puts the caller of call `id` they are on on hold (`on`) or takes them back;
    /// `false` when it is not theirs (or not answered).
    pub fn hold(&self, id: &str, agent: AgentId, on: bool) -> bool {
        let mut calls = self.calls();
        let Some(entry) = calls
            .get_mut(id)
            .filter(|e| e.call.agent_id == Some(agent) && e.call.state == PhoneState::Answered)
        else {
            return false;
        };
        if entry.call.held == on {
            return true;
        }
        if !(entry.sink)(PhoneSignal::Held(on)) {
            return false;
        }
        entry.call.held = on;
        let call = entry.call.clone();
        drop(calls);
        self.publish(call);
        true
    }

    /// Publishes a change to the agents' feeds, in order. A new ringing call whose queue
    /// has no agent available ends at once.
    fn publish(&self, call: PhoneCall) {
        let changes = self.changes.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(publisher(self.inbox.clone(), self.me.clone(), rx));
            tx
        });
        let _ = changes.send(call);
    }
}

/// Follows an agent's call `id` until it ends.
async fn follow(
    phones: Weak<Phones>,
    id: String,
    mut progress: mpsc::UnboundedReceiver<PlaceProgress>,
) {
    let mut answered = false;
    let reason = loop {
        match progress.recv().await {
            Some(PlaceProgress::Ringing) => {}
            Some(PlaceProgress::Answered) => {
                answered = true;
                if let Some(phones) = phones.upgrade() {
                    phones.answered(&id);
                }
            }
            Some(PlaceProgress::Ended(reason)) => break reason,
            None => break "the call was cut off".to_owned(),
        }
    };
    let outcome = if answered { "answered" } else { "unanswered" };
    metrics::counter!("deflect_placed_calls_total", "outcome" => outcome).increment(1);
    tracing::info!(call = %id, %reason, "an agent's call ended");
    if let Some(phones) = phones.upgrade() {
        phones.end_with(&id, "missed", Some(reason));
    }
}

/// Publishes the calls' changes in order; ends a ringing call no one can take, and finds the
/// conversation of one that came without (a WhatsApp caller's open one).
async fn publisher(
    inbox: Inbox,
    phones: Weak<Phones>,
    mut changes: mpsc::UnboundedReceiver<PhoneCall>,
) {
    while let Some(mut call) = changes.recv().await {
        if call.state == PhoneState::Ringing {
            let reachable = (phones.upgrade()).map_or_else(HashSet::new, |p| p.reachable());
            let agents = agents_with_room(&inbox).await;
            if !anyone_available(agents.as_deref(), &call, &[], &reachable) {
                tracing::info!(queue = %call.details.queue, "no agent available for the call; it does not ring");
                metrics::counter!("deflect_phone_calls_total", "outcome" => "unavailable")
                    .increment(1);
                if let Some(phones) = phones.upgrade() {
                    phones.calls().remove(&call.id);
                }
                continue;
            }
            if call.details.conversation_id.is_none() {
                let Ringing {
                    channel, caller, ..
                } = &call.details;
                let found = inbox.call_conversation(channel, caller.as_deref()).await;
                call.details.conversation_id = found.unwrap_or_else(|e| {
                    tracing::warn!(cause = %e, "the call's conversation is not known");
                    None
                });
                if let Some(phones) = phones.upgrade()
                    && let Some(e) = phones.calls().get_mut(&call.id)
                {
                    e.call.details.conversation_id = call.details.conversation_id;
                }
            }
        }
        let id = call.id.clone();
        let data = serde_json::to_value(call).expect("a call serialises");
        if let Err(e) = inbox.phone_call(data).await {
            tracing::warn!(call = %id, cause = %e, "the call's change did not reach the agents");
        }
    }
}

/// The agents available with room for a call (as for a conversation: under
/// `inbox.max_conversations_per_agent`); `None` when the inbox cannot say.
async fn agents_with_room(inbox: &Inbox) -> Option<Vec<Agent>> {
    (inbox.agents_with_room().await)
        .inspect_err(|e| tracing::warn!(cause = %e, "agents unavailable; calls ring all the same"))
        .ok()
}

/// Whether one of `agents` (those with room; `None`: unknown, so yes) may take `call`, is
/// `reachable` and did not decline it.
fn anyone_available(
    agents: Option<&[Agent]>,
    call: &PhoneCall,
    declined: &[AgentId],
    reachable: &HashSet<AgentId>,
) -> bool {
    let Some(agents) = agents else {
        return true;
    };
    agents.iter().any(|a| {
        reachable.contains(&a.id)
            && !declined.contains(&a.id)
            && call.may_be_taken_by(&Viewer::of(a))
    })
}

/// An agent's live feed on this node (see [`Phones::listen`]); dropping it ends it.
#[derive(Debug)]
pub struct Listening {
    phones: Weak<Phones>,
    agent: AgentId,
}

impl Drop for Listening {
    /// The agent's last page closed: calls ringing only for them end now.
    fn drop(&mut self) {
        let Some(phones) = self.phones.upgrade() else {
            return;
        };
        let last = {
            let mut listeners = phones.listeners();
            let Some(n) = listeners.get_mut(&self.agent) else {
                return;
            };
            *n -= 1;
            let last = *n == 0;
            if last {
                listeners.remove(&self.agent);
            }
            metrics::gauge!("deflect_phone_agents_listening").set(listeners.len() as f64);
            last
        };
        if last && let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { phones.recheck_ringing().await });
        }
    }
}
