//! `[inbox]`: queues, agents' capacity, routing and lifecycle timeouts, the outbox, bots,
//! the questions answered automatically.

use crate::Problems;
use crate::automations::AutomationsConfig;
use crate::bots::{self, BotConfig};
use crate::faq::FaqEntry;
use crate::relay::RelayConfig;
use crate::text::{CONVERSATION_VARIABLES, check_text};
use crate::value::duration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[inbox]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboxConfig {
    /// Queue for conversations that name none; defaults to the first queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_queue: Option<String>,
    /// Conversations an agent holds at once before no more are offered.
    pub max_conversations_per_agent: u32,
    /// An offer not accepted within this time goes to the next agent.
    #[serde(with = "duration")]
    pub offer_timeout: Duration,
    /// An assigned conversation whose agent answered the customer closes when the customer
    /// has written nothing for this long since the agent's last message (1m – 72h).
    #[serde(with = "duration")]
    pub inactivity_close: Duration,
    /// A transfer to an agent or a queue that nobody accepts within this time returns,
    /// unread, to the agent who made it.
    #[serde(with = "duration")]
    pub transfer_timeout: Duration,
    /// Queues.
    pub queues: Vec<QueueConfig>,
    /// Delivery of outgoing messages.
    pub outbox: OutboxConfig,
    /// What happens on its own when customers write (`[inbox.automations]`).
    pub automations: AutomationsConfig,
    /// Bots a conversation can start with (`[[inbox.bots]]`).
    pub bots: Vec<BotConfig>,
    /// Questions answered automatically (`[[inbox.faq]]`), in the order written: a match
    /// names its entry by its index in this list.
    pub faq: Vec<FaqEntry>,
    /// Relaying conversations to agents' own WhatsApp (`[inbox.relay]`).
    pub relay: RelayConfig,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            default_queue: None,
            max_conversations_per_agent: 5,
            offer_timeout: Duration::from_secs(10),
            inactivity_close: Duration::from_secs(24 * 3600),
            transfer_timeout: Duration::from_secs(120),
            queues: vec![QueueConfig {
                name: "default".into(),
                ..QueueConfig::default()
            }],
            outbox: OutboxConfig::default(),
            automations: AutomationsConfig::default(),
            bots: Vec::new(),
            faq: Vec::new(),
            relay: RelayConfig::default(),
        }
    }
}

impl InboxConfig {
    /// Name of the queue new conversations go to when nothing names one.
    pub fn default_queue(&self) -> Option<&str> {
        self.default_queue
            .as_deref()
            .or_else(|| self.queues.first().map(|q| q.name.as_str()))
    }

    pub(crate) fn check_queue(&self, p: &mut Problems, path: &str, reference: &str) {
        p.reference(
            path,
            reference,
            "queue",
            self.queues.iter().map(|q| q.name.as_str()),
        );
    }

    pub(crate) fn validate(&self, p: &mut Problems) {
        self.automations.validate(p, "inbox.automations");
        self.relay.validate(p);
        let bots = self.bots.iter().map(|b| b.name.as_str());
        self.automations.check_bot(p, "inbox.automations", bots);
        if self.queues.is_empty() {
            p.push("inbox.queues", "at least one queue is needed");
        }
        p.unique_names("inbox.queues", self.queues.iter().map(|q| q.name.as_str()));
        if let Some(d) = &self.default_queue {
            self.check_queue(p, "inbox.default_queue", d);
        }
        if self.max_conversations_per_agent == 0 {
            p.push("inbox.max_conversations_per_agent", "must be at least 1");
        }
        if self.offer_timeout < Duration::from_secs(1) {
            p.push("inbox.offer_timeout", "must be at least 1s");
        }
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(72 * 3600));
        if !(min..=max).contains(&self.inactivity_close) {
            p.push("inbox.inactivity_close", "must be between 1m and 72h");
        }
        if self.transfer_timeout < Duration::from_secs(5)
            || self.transfer_timeout > Duration::from_secs(3600)
        {
            p.push("inbox.transfer_timeout", "must be between 5s and 1h");
        }
        for (i, q) in self.queues.iter().enumerate() {
            let at = format!("inbox.queues[{i}]");
            p.identifier(format!("{at}.name"), &q.name);
            match q.fallback {
                Fallback::Queue => match &q.fallback_queue {
                    Some(f) if f == &q.name => {
                        p.push(format!("{at}.fallback_queue"), "must name another queue")
                    }
                    Some(f) => self.check_queue(p, &format!("{at}.fallback_queue"), f),
                    None => p.push(
                        format!("{at}.fallback_queue"),
                        "required when fallback = \"queue\"",
                    ),
                },
                Fallback::AutoReply if q.auto_reply.as_deref().is_none_or(str::is_empty) => p.push(
                    format!("{at}.auto_reply"),
                    "required when fallback = \"auto_reply\"",
                ),
                _ => {}
            }
            if let Some(text) = &q.auto_reply
                && let Err(e) = check_text(text, CONVERSATION_VARIABLES)
            {
                p.push(format!("{at}.auto_reply"), e.to_string());
            }
            if q.offer_timeout
                .is_some_and(|t| !(1..=3600).contains(&t.as_secs()))
            {
                p.push(format!("{at}.offer_timeout"), "must be between 1s and 1h");
            }
            if !(10..=7 * 86400).contains(&q.wait_timeout.as_secs()) {
                p.push(format!("{at}.wait_timeout"), "must be between 10s and 7d");
            }
            if !(10..=86400).contains(&q.sla_warning.as_secs()) {
                p.push(format!("{at}.sla_warning"), "must be between 10s and 24h");
            } else if q.sla_breach <= q.sla_warning || q.sla_breach.as_secs() > 86400 {
                p.push(
                    format!("{at}.sla_breach"),
                    "must be longer than sla_warning and at most 24h",
                );
            }
            if q.disposition_required && q.dispositions.is_empty() {
                p.push(
                    format!("{at}.dispositions"),
                    "disposition_required needs at least one disposition to choose from",
                );
            }
            crate::relay::validate_agents(p, &format!("{at}.relay_agents"), &q.relay_agents);
        }
        for (i, entry) in self.faq.iter().enumerate() {
            entry.validate(p, &format!("inbox.faq[{i}]"));
        }
        let o = &self.outbox;
        if o.max_attempts == 0 {
            p.push("inbox.outbox.max_attempts", "must be at least 1");
        }
        if o.max_backoff < o.initial_backoff {
            p.push(
                "inbox.outbox.max_backoff",
                "must not be shorter than initial_backoff",
            );
        }
        if !(Duration::from_secs(10)..=Duration::from_secs(24 * 3600)).contains(&o.unconfirmed_wait)
        {
            p.push(
                "inbox.outbox.unconfirmed_wait",
                "must be between 10s and 24h (a provider's status callback normally comes within seconds)",
            );
        }
        bots::validate(&self.bots, p, |p, path, queue| {
            self.check_queue(p, path, queue)
        });
    }
}

/// `[[inbox.queues]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Name.
    pub name: String,
    /// Overrides `inbox.offer_timeout` for this queue.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "duration::option",
        default
    )]
    pub offer_timeout: Option<Duration>,
    /// A conversation waiting this long with no agent gets the fallback action.
    #[serde(with = "duration")]
    pub wait_timeout: Duration,
    /// What happens after `wait_timeout`: `wait` (keep waiting), `queue` (move to
    /// `fallback_queue`), `auto_reply` (send `auto_reply` and keep waiting) or `close`.
    pub fallback: Fallback,
    /// Target of `fallback = "queue"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_queue: Option<String>,
    /// Text of `fallback = "auto_reply"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
    /// Agents must pick a disposition when closing.
    pub disposition_required: bool,
    /// Dispositions agents choose from when closing.
    pub dispositions: Vec<String>,
    /// A customer waiting this long for an answer is shown late (amber) in the inbox.
    #[serde(with = "duration")]
    pub sla_warning: Duration,
    /// A customer waiting this long is shown overdue (red).
    #[serde(with = "duration")]
    pub sla_breach: Duration,
    /// Agents on their own WhatsApp this queue relays its WhatsApp conversations to, offered
    /// in this order (`[inbox.relay]`); empty: the inbox's agents take them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relay_agents: Vec<crate::RelayAgent>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            offer_timeout: None,
            wait_timeout: Duration::from_secs(300),
            fallback: Fallback::Wait,
            fallback_queue: None,
            auto_reply: None,
            disposition_required: false,
            dispositions: vec!["resolved".into(), "callback-needed".into(), "spam".into()],
            sla_warning: Duration::from_secs(120),
            sla_breach: Duration::from_secs(300),
            relay_agents: Vec::new(),
        }
    }
}

/// What a queue does with a conversation nobody took within `wait_timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Keep waiting.
    Wait,
    /// Move to `fallback_queue`.
    Queue,
    /// Send `auto_reply` and keep waiting.
    AutoReply,
    /// Close with the system disposition `unanswered`.
    Close,
}

/// `[inbox.outbox]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Attempts before a message is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt.
    #[serde(with = "duration")]
    pub initial_backoff: Duration,
    /// Longest retry delay.
    #[serde(with = "duration")]
    pub max_backoff: Duration,
    /// How long a send that got no answer (the provider may have accepted it) waits for the
    /// provider's status callback, which confirms it, before it is sent again.
    #[serde(with = "duration")]
    pub unconfirmed_wait: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            unconfirmed_wait: Duration::from_secs(300),
        }
    }
}
