//! Routing decisions: who is offered a waiting conversation, and what happens when an offer,
//! a queue's wait or a transfer times out. Pure functions of state, event and `now`; the
//! inbox's driver loads the state inside a transaction, calls them, and carries out the
//! [`Decision`] (rows, timers, events).
//!
//! The rules:
//! - A conversation entering a queue is offered to the least-busy agent of the queue who is
//!   `available` and under their reception limit; ties go to the agent offered something
//!   longest ago, then the lowest id.
//! - An offer not accepted within the queue's offer timeout (or rejected) goes to the next
//!   such agent. An agent who let it pass is not offered it again until every eligible agent
//!   has; then the round starts over at the next opportunity.
//! - With nobody to offer it to, it waits. After the queue's wait timeout the queue's
//!   fallback applies: keep waiting, move to another queue, send an auto-reply, or close.
//! - When an agent gets a free slot (closing, presence back to available), the oldest waiting
//!   conversation of their queues is offered to them.
//! - A transfer that nobody accepts within the transfer timeout returns, unread, to the agent
//!   who transferred it.
//!
//! ```
//! use deflect_chat::routing::{self, AgentState, Decision, Presence, QueueRules};
//! use deflect_config::Fallback;
//!
//! let rules = QueueRules {
//!     offer_timeout: 10_000, wait_timeout: 300_000, fallback: Fallback::Close,
//!     fallback_queue: None, auto_reply: None,
//! };
//! let agents = [
//!     AgentState { id: 1, presence: Presence::Available, load: 2, capacity: 5, last_offer_at: 0 },
//!     AgentState { id: 2, presence: Presence::Available, load: 1, capacity: 5, last_offer_at: 0 },
//!     AgentState { id: 3, presence: Presence::Away, load: 0, capacity: 5, last_offer_at: 0 },
//! ];
//! let now = 1_000;
//! let route = routing::offer(&rules, &agents, &[], now);
//! assert_eq!(route.decision, Decision::Offer { agent: 2, expires_at: 11_000 });
//! assert_eq!(routing::on_wait_expired(&rules), vec![Decision::Close { disposition: "unanswered".into() }]);
//! ```

use crate::clock::Millis;
use deflect_config::Fallback;
use serde::{Deserialize, Serialize};

/// An agent's id.
pub type AgentId = i64;

/// Whether an agent takes new conversations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Takes offers.
    Available,
    /// Keeps their conversations, takes no new offers.
    Away,
    /// Signed out: no offers; offers in flight move on.
    Offline,
}

impl Presence {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "available" => Some(Self::Available),
            "away" => Some(Self::Away),
            "offline" => Some(Self::Offline),
            _ => None,
        }
    }
}

/// A queue's timing and fallback, from `[[inbox.queues]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRules {
    /// How long an offer waits for the agent (ms).
    pub offer_timeout: Millis,
    /// How long a conversation waits for any agent before the fallback (ms).
    pub wait_timeout: Millis,
    /// What happens then.
    pub fallback: Fallback,
    /// Target of [`Fallback::Queue`].
    pub fallback_queue: Option<String>,
    /// Text of [`Fallback::AutoReply`].
    pub auto_reply: Option<String>,
}

/// An agent as routing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentState {
    /// Id.
    pub id: AgentId,
    /// Presence.
    pub presence: Presence,
    /// Conversations offered to or held by them now.
    pub load: u32,
    /// Their reception limit.
    pub capacity: u32,
    /// When they were last offered something (ms).
    pub last_offer_at: Millis,
}

impl AgentState {
    /// Available and under the reception limit.
    pub fn can_take(&self) -> bool {
        self.presence == Presence::Available && self.load < self.capacity
    }
}

/// What the driver does with a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Offer it to `agent` until `expires_at`.
    Offer {
        /// The agent.
        agent: AgentId,
        /// When the offer lapses.
        expires_at: Millis,
    },
    /// Keep it waiting in its queue.
    Wait,
    /// Move it to another queue (which routes it afresh).
    MoveToQueue {
        /// The queue.
        queue: String,
    },
    /// Send this text to the customer and keep waiting.
    AutoReply {
        /// The text.
        text: String,
    },
    /// Give it back, unread, to the agent who transferred it.
    ReturnTo {
        /// That agent.
        agent: AgentId,
    },
    /// Close it with a system disposition.
    Close {
        /// The disposition.
        disposition: String,
    },
}

/// The outcome of routing a waiting conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// What to do.
    pub decision: Decision,
    /// The agents who let it pass, to remember for the next round.
    pub declined: Vec<AgentId>,
}

/// The agent a conversation should be offered to: the least busy who can take it and has
/// not let it pass.
pub fn choose_agent(agents: &[AgentState], declined: &[AgentId]) -> Option<AgentId> {
    agents
        .iter()
        .filter(|a| a.can_take() && !declined.contains(&a.id))
        .min_by_key(|a| (a.load, a.last_offer_at, a.id))
        .map(|a| a.id)
}

/// Routes a waiting conversation of a queue with these `rules` among the queue's `agents`.
pub fn offer(
    rules: &QueueRules,
    agents: &[AgentState],
    declined: &[AgentId],
    now: Millis,
) -> Route {
    if let Some(agent) = choose_agent(agents, declined) {
        return Route {
            decision: Decision::Offer {
                agent,
                expires_at: now.saturating_add(rules.offer_timeout),
            },
            declined: declined.to_vec(),
        };
    }
    let someone_could = agents.iter().any(AgentState::can_take);
    Route {
        decision: Decision::Wait,
        // Everyone able to take it let it pass: the next opportunity starts a new round.
        declined: if someone_could {
            Vec::new()
        } else {
            declined.to_vec()
        },
    }
}

/// An offer to `agent` lapsed or was rejected: they join the decliners and the next agent is
/// tried.
pub fn on_offer_declined(
    rules: &QueueRules,
    agents: &[AgentState],
    declined: &[AgentId],
    agent: AgentId,
    now: Millis,
) -> Route {
    let mut declined = declined.to_vec();
    if !declined.contains(&agent) {
        declined.push(agent);
    }
    // The declining agent's slot is free again, but they are not asked twice in a round.
    offer(rules, agents, &declined, now)
}

/// The queue's wait timeout passed with no agent: its fallback.
pub fn on_wait_expired(rules: &QueueRules) -> Vec<Decision> {
    match rules.fallback {
        Fallback::Wait => Vec::new(),
        Fallback::Queue => rules
            .fallback_queue
            .clone()
            .map(|queue| vec![Decision::MoveToQueue { queue }])
            .unwrap_or_default(),
        Fallback::AutoReply => rules
            .auto_reply
            .clone()
            .map(|text| vec![Decision::AutoReply { text }])
            .unwrap_or_default(),
        Fallback::Close => vec![Decision::Close {
            disposition: "unanswered".into(),
        }],
    }
}

/// A transfer was not accepted in time: back to the agent who made it, or keep waiting.
pub fn on_transfer_expired(return_agent: Option<AgentId>) -> Decision {
    match return_agent {
        Some(agent) => Decision::ReturnTo { agent },
        None => Decision::Wait,
    }
}

/// A conversation waiting in a queue, as seen when an agent frees a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// Conversation id.
    pub id: i64,
    /// Since when it waits (ms).
    pub queued_at: Millis,
    /// Agents who let it pass this round.
    pub declined: Vec<AgentId>,
}

/// An agent has room (a conversation closed, presence back to available): the oldest waiting
/// conversation of their queues they have not let pass, if they can take one.
pub fn pull(agent: &AgentState, waiting: &[Waiting]) -> Option<i64> {
    if !agent.can_take() {
        return None;
    }
    waiting
        .iter()
        .filter(|w| !w.declined.contains(&agent.id))
        .min_by_key(|w| (w.queued_at, w.id))
        .map(|w| w.id)
}

/// Why an agent cannot claim or accept a conversation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefused {
    /// At the reception limit.
    #[error("you already hold {0} conversations, your limit")]
    AtCapacity(u32),
    /// Not a member of the conversation's queue.
    #[error("you are not a member of queue {0}")]
    NotMember(String),
}

/// Whether `agent` may claim a waiting conversation of `queue` by hand. Presence does not
/// matter (an agent who is away may still pick one); the reception limit and membership do.
pub fn can_claim(agent: &AgentState, member: bool, queue: &str) -> Result<(), ClaimRefused> {
    if !member {
        return Err(ClaimRefused::NotMember(queue.to_string()));
    }
    if agent.load >= agent.capacity {
        return Err(ClaimRefused::AtCapacity(agent.capacity));
    }
    Ok(())
}

/// Encodes the decliners as stored.
pub(crate) fn encode_declined(d: &[AgentId]) -> String {
    d.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Decodes the stored decliners.
pub(crate) fn decode_declined(s: &str) -> Vec<AgentId> {
    s.split(',').filter_map(|x| x.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    //! Scenarios over a small simulated inbox: conversations, agents and timers driven by
    //! these functions alone, on a virtual clock.
    use super::*;
    use std::collections::BTreeMap;

    const S: Millis = 1000;

    #[derive(Clone, Debug, PartialEq)]
    enum St {
        Queued,
        Offered(AgentId),
        Assigned(AgentId),
        Closed(String),
    }

    #[derive(Debug)]
    struct Conv {
        queue: String,
        st: St,
        declined: Vec<AgentId>,
        queued_at: Millis,
        return_agent: Option<AgentId>,
        auto_replies: Vec<String>,
    }

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
    enum Timer {
        Offer,
        Wait,
        Transfer,
    }

    struct Sim {
        now: Millis,
        rules: BTreeMap<String, QueueRules>,
        members: BTreeMap<AgentId, Vec<String>>,
        presence: BTreeMap<AgentId, Presence>,
        capacity: u32,
        last_offer: BTreeMap<AgentId, Millis>,
        convs: BTreeMap<i64, Conv>,
        timers: BTreeMap<(i64, Timer), Millis>,
        transfer_timeout: Millis,
    }

    impl Sim {
        fn new(capacity: u32) -> Self {
            let mut rules = BTreeMap::new();
            rules.insert(
                "support".to_string(),
                QueueRules {
                    offer_timeout: 10 * S,
                    wait_timeout: 60 * S,
                    fallback: Fallback::Queue,
                    fallback_queue: Some("overflow".into()),
                    auto_reply: None,
                },
            );
            rules.insert(
                "overflow".to_string(),
                QueueRules {
                    offer_timeout: 10 * S,
                    wait_timeout: 120 * S,
                    fallback: Fallback::AutoReply,
                    fallback_queue: None,
                    auto_reply: Some("busy".into()),
                },
            );
            Self {
                now: 0,
                rules,
                members: BTreeMap::new(),
                presence: BTreeMap::new(),
                capacity,
                last_offer: BTreeMap::new(),
                convs: BTreeMap::new(),
                timers: BTreeMap::new(),
                transfer_timeout: 30 * S,
            }
        }

        fn agent(&mut self, id: AgentId, queues: &[&str], p: Presence) {
            self.members
                .insert(id, queues.iter().map(|q| q.to_string()).collect());
            self.presence.insert(id, p);
        }

        fn load(&self, a: AgentId) -> u32 {
            self.convs
                .values()
                .filter(|c| matches!(c.st, St::Offered(x) | St::Assigned(x) if x == a))
                .count() as u32
        }

        fn state(&self, a: AgentId) -> AgentState {
            AgentState {
                id: a,
                presence: self.presence[&a],
                load: self.load(a),
                capacity: self.capacity,
                last_offer_at: self.last_offer.get(&a).copied().unwrap_or(0),
            }
        }

        fn queue_agents(&self, q: &str) -> Vec<AgentState> {
            self.members
                .iter()
                .filter(|(_, qs)| qs.iter().any(|x| x == q))
                .map(|(a, _)| self.state(*a))
                .collect()
        }

        fn arrive(&mut self, id: i64, queue: &str) {
            self.convs.insert(
                id,
                Conv {
                    queue: queue.into(),
                    st: St::Queued,
                    declined: vec![],
                    queued_at: self.now,
                    return_agent: None,
                    auto_replies: vec![],
                },
            );
            self.enqueue(id, queue);
        }

        fn enqueue(&mut self, id: i64, queue: &str) {
            let wait = self.rules[queue].wait_timeout;
            let c = self.convs.get_mut(&id).unwrap();
            c.queue = queue.into();
            c.st = St::Queued;
            c.queued_at = self.now;
            self.timers.insert((id, Timer::Wait), self.now + wait);
            self.route(id);
        }

        fn apply_route(&mut self, id: i64, r: Route) {
            let c = self.convs.get_mut(&id).unwrap();
            c.declined = r.declined;
            match r.decision {
                Decision::Offer { agent, expires_at } => {
                    c.st = St::Offered(agent);
                    self.last_offer.insert(agent, self.now);
                    self.timers.insert((id, Timer::Offer), expires_at);
                }
                Decision::Wait => c.st = St::Queued,
                other => panic!("unexpected {other:?}"),
            }
        }

        fn route(&mut self, id: i64) {
            let q = self.convs[&id].queue.clone();
            let r = offer(
                &self.rules[&q],
                &self.queue_agents(&q),
                &self.convs[&id].declined,
                self.now,
            );
            self.apply_route(id, r);
        }

        fn decline(&mut self, id: i64, agent: AgentId) {
            self.timers.remove(&(id, Timer::Offer));
            if let Some(back) = self.convs[&id].return_agent {
                return self.transfer_back(id, back);
            }
            let q = self.convs[&id].queue.clone();
            self.convs.get_mut(&id).unwrap().st = St::Queued;
            let r = on_offer_declined(
                &self.rules[&q],
                &self.queue_agents(&q),
                &self.convs[&id].declined,
                agent,
                self.now,
            );
            self.apply_route(id, r);
        }

        fn accept(&mut self, id: i64, agent: AgentId) {
            assert_eq!(self.convs[&id].st, St::Offered(agent));
            let c = self.convs.get_mut(&id).unwrap();
            c.st = St::Assigned(agent);
            c.declined.clear();
            c.return_agent = None;
            self.timers.retain(|(c, _), _| *c != id);
        }

        fn claim(&mut self, id: i64, agent: AgentId) -> Result<(), ClaimRefused> {
            let q = self.convs[&id].queue.clone();
            let member = self.members[&agent].contains(&q);
            can_claim(&self.state(agent), member, &q)?;
            assert_eq!(self.convs[&id].st, St::Queued);
            self.convs.get_mut(&id).unwrap().st = St::Offered(agent);
            self.accept(id, agent);
            Ok(())
        }

        fn close(&mut self, id: i64, disposition: &str) {
            let agent = match self.convs[&id].st {
                St::Assigned(a) | St::Offered(a) => Some(a),
                _ => None,
            };
            self.convs.get_mut(&id).unwrap().st = St::Closed(disposition.into());
            self.timers.retain(|(c, _), _| *c != id);
            if let Some(a) = agent {
                self.pull(a);
            }
        }

        fn pull(&mut self, a: AgentId) {
            loop {
                let waiting: Vec<Waiting> = self
                    .convs
                    .iter()
                    .filter(|(_, c)| c.st == St::Queued && self.members[&a].contains(&c.queue))
                    .map(|(id, c)| Waiting {
                        id: *id,
                        queued_at: c.queued_at,
                        declined: c.declined.clone(),
                    })
                    .collect();
                let Some(id) = pull(&self.state(a), &waiting) else {
                    return;
                };
                let q = self.convs[&id].queue.clone();
                self.apply_route(
                    id,
                    Route {
                        decision: Decision::Offer {
                            agent: a,
                            expires_at: self.now + self.rules[&q].offer_timeout,
                        },
                        declined: self.convs[&id].declined.clone(),
                    },
                );
            }
        }

        fn set_presence(&mut self, a: AgentId, p: Presence) {
            self.presence.insert(a, p);
            if p == Presence::Available {
                self.pull(a);
            }
        }

        fn transfer_to_agent(&mut self, id: i64, to: AgentId) {
            let St::Assigned(from) = self.convs[&id].st else {
                panic!("not assigned")
            };
            let c = self.convs.get_mut(&id).unwrap();
            c.st = St::Offered(to);
            c.return_agent = Some(from);
            self.timers
                .insert((id, Timer::Transfer), self.now + self.transfer_timeout);
        }

        fn transfer_back(&mut self, id: i64, back: AgentId) {
            self.timers.retain(|(c, _), _| *c != id);
            match on_transfer_expired(Some(back)) {
                Decision::ReturnTo { agent } => {
                    let c = self.convs.get_mut(&id).unwrap();
                    c.st = St::Assigned(agent);
                    c.return_agent = None;
                }
                other => panic!("unexpected {other:?}"),
            }
        }

        /// Advances the virtual clock, firing due timers in order.
        fn advance(&mut self, d: Millis) {
            let until = self.now + d;
            loop {
                let next = self
                    .timers
                    .iter()
                    .filter(|(_, due)| **due <= until)
                    .min_by_key(|(k, due)| (**due, **k))
                    .map(|(k, due)| (*k, *due));
                let Some(((id, kind), due)) = next else { break };
                self.now = due;
                self.timers.remove(&(id, kind));
                self.fire(id, kind);
            }
            self.now = until;
        }

        fn fire(&mut self, id: i64, kind: Timer) {
            match kind {
                Timer::Offer => {
                    if let St::Offered(a) = self.convs[&id].st {
                        self.decline(id, a);
                    }
                }
                Timer::Transfer => {
                    if let Some(back) = self.convs[&id].return_agent {
                        self.transfer_back(id, back);
                    }
                }
                Timer::Wait => {
                    let c = &self.convs[&id];
                    if !matches!(c.st, St::Queued | St::Offered(_)) {
                        return;
                    }
                    let q = c.queue.clone();
                    for d in on_wait_expired(&self.rules[&q]) {
                        match d {
                            Decision::MoveToQueue { queue } => {
                                self.timers.remove(&(id, Timer::Offer));
                                self.convs.get_mut(&id).unwrap().declined.clear();
                                self.enqueue(id, &queue);
                            }
                            Decision::AutoReply { text } => {
                                self.convs.get_mut(&id).unwrap().auto_replies.push(text)
                            }
                            Decision::Close { disposition } => self.close(id, &disposition),
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                }
            }
        }

        fn st(&self, id: i64) -> St {
            self.convs[&id].st.clone()
        }
    }

    #[test]
    fn offered_to_the_least_busy_available_member() {
        let mut s = Sim::new(5);
        s.agent(1, &["support"], Presence::Available);
        s.agent(2, &["support"], Presence::Available);
        s.agent(3, &["support"], Presence::Away);
        s.agent(4, &["overflow"], Presence::Available);
        s.arrive(10, "support");
        assert_eq!(s.st(10), St::Offered(1), "tie: lowest id");
        s.accept(10, 1);
        s.arrive(11, "support");
        assert_eq!(s.st(11), St::Offered(2), "agent 1 holds one already");
        s.advance(S);
        s.arrive(12, "support");
        // Both hold one; agent 1 was offered something longest ago.
        assert_eq!(s.st(12), St::Offered(1));
    }

    #[test]
    fn offer_timeout_moves_to_the_next_agent_then_starts_a_new_round() {
        let mut s = Sim::new(5);
        s.agent(1, &["support"], Presence::Available);
        s.agent(2, &["support"], Presence::Available);
        s.arrive(10, "support");
        assert_eq!(s.st(10), St::Offered(1));
        s.advance(10 * S - 1);
        assert_eq!(s.st(10), St::Offered(1), "not before the timeout");
        s.advance(1);
        assert_eq!(s.st(10), St::Offered(2), "at the timeout: next agent");
        s.advance(10 * S);
        assert_eq!(s.st(10), St::Queued, "everyone let it pass: it waits");
        assert!(s.convs[&10].declined.is_empty(), "a new round next time");
        // Next opportunity (an agent comes back): offered again.
        s.set_presence(2, Presence::Away);
        s.set_presence(2, Presence::Available);
        assert_eq!(s.st(10), St::Offered(2));
        s.accept(10, 2);
        assert_eq!(s.st(10), St::Assigned(2));
    }

    #[test]
    fn rejection_goes_to_the_next_agent_at_once() {
        let mut s = Sim::new(5);
        s.agent(1, &["support"], Presence::Available);
        s.agent(2, &["support"], Presence::Available);
        s.arrive(10, "support");
        s.decline(10, 1);
        assert_eq!(s.st(10), St::Offered(2));
    }

    #[test]
    fn wait_timeout_applies_the_queue_fallback() {
        let mut s = Sim::new(5);
        s.agent(1, &["support"], Presence::Away);
        s.agent(2, &["overflow"], Presence::Away);
        s.arrive(10, "support");
        assert_eq!(s.st(10), St::Queued);
        s.advance(60 * S);
        assert_eq!(
            s.convs[&10].queue, "overflow",
            "support falls back to overflow"
        );
        assert_eq!(s.st(10), St::Queued);
        s.advance(120 * S);
        assert_eq!(s.convs[&10].auto_replies, vec!["busy".to_string()]);
        assert_eq!(s.st(10), St::Queued, "auto-reply keeps it waiting");
        // A close fallback.
        s.rules.get_mut("overflow").unwrap().fallback = Fallback::Close;
        s.arrive(11, "overflow");
        s.advance(120 * S);
        assert_eq!(s.st(11), St::Closed("unanswered".into()));
        // Wait: nothing happens.
        s.rules.get_mut("overflow").unwrap().fallback = Fallback::Wait;
        s.arrive(12, "overflow");
        s.advance(500 * S);
        assert_eq!(s.st(12), St::Queued);
    }

    #[test]
    fn closing_frees_a_slot_and_pulls_the_oldest_waiting() {
        let mut s = Sim::new(1);
        s.agent(1, &["support"], Presence::Available);
        s.arrive(10, "support");
        s.accept(10, 1);
        s.advance(S);
        s.arrive(11, "support");
        s.advance(S);
        s.arrive(12, "support");
        assert_eq!(s.st(11), St::Queued, "reception limit reached");
        assert_eq!(s.st(12), St::Queued);
        s.close(10, "resolved");
        assert_eq!(s.st(11), St::Offered(1), "the oldest comes first");
        assert_eq!(s.st(12), St::Queued);
    }

    #[test]
    fn claim_respects_membership_and_the_reception_limit() {
        let mut s = Sim::new(1);
        s.agent(1, &["support"], Presence::Away);
        s.agent(2, &["overflow"], Presence::Available);
        s.arrive(10, "support");
        s.arrive(11, "support");
        assert_eq!(
            s.claim(10, 2),
            Err(ClaimRefused::NotMember("support".into()))
        );
        s.claim(10, 1).unwrap();
        assert_eq!(s.st(10), St::Assigned(1), "away agents may claim");
        assert_eq!(s.claim(11, 1), Err(ClaimRefused::AtCapacity(1)));
    }

    #[test]
    fn an_unaccepted_transfer_returns_unread() {
        let mut s = Sim::new(5);
        s.agent(1, &["support"], Presence::Available);
        s.agent(2, &["support"], Presence::Available);
        s.arrive(10, "support");
        s.accept(10, 1);
        s.transfer_to_agent(10, 2);
        assert_eq!(s.st(10), St::Offered(2));
        s.advance(30 * S);
        assert_eq!(
            s.st(10),
            St::Assigned(1),
            "back to the agent who transferred it"
        );
        s.transfer_to_agent(10, 2);
        s.advance(5 * S);
        s.accept(10, 2);
        s.advance(60 * S);
        assert_eq!(s.st(10), St::Assigned(2), "an accepted transfer stays");
    }

    #[test]
    fn presence_is_respected() {
        let mut s = Sim::new(5);
        s.agent(1, &["support"], Presence::Offline);
        s.arrive(10, "support");
        assert_eq!(s.st(10), St::Queued);
        s.set_presence(1, Presence::Away);
        assert_eq!(s.st(10), St::Queued);
        s.set_presence(1, Presence::Available);
        assert_eq!(s.st(10), St::Offered(1));
    }

    #[test]
    fn declined_round_trip() {
        assert_eq!(decode_declined(&encode_declined(&[3, 1, 2])), vec![3, 1, 2]);
        assert!(decode_declined("").is_empty());
    }
}
