//! Conversations: where they happen, how they began, where they stand, and what callers ask
//! of them (filters, the detail an agent's screen shows, the deflected call behind one).

use crate::clock::Millis;
use crate::model::CallContext;
use crate::routing::AgentId;
use serde::{Deserialize, Serialize};

/// WhatsApp's customer-service window: free text only within 24 h of the customer's last
/// message.
pub const WINDOW_MS: Millis = 24 * 3600 * 1000;

/// Where a conversation happens now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// WhatsApp, through the conversation's account.
    Whatsapp,
    /// The web chat widget.
    Web,
    /// SMS, through the account's SMS fallback: the customer answered its SMS (text only).
    Sms,
}

impl Channel {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Web => "web",
            Self::Sms => "sms",
        }
    }
    /// Parses the stored form (anything unknown is WhatsApp).
    pub fn parse(s: &str) -> Self {
        match s {
            "web" => Self::Web,
            "sms" => Self::Sms,
            _ => Self::Whatsapp,
        }
    }
}

/// How a conversation began.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A deflected phone call.
    Call,
    /// The web chat widget.
    Web,
    /// The customer wrote on WhatsApp.
    Whatsapp,
    /// An integration asked for a WhatsApp hand-off through the API (a web form, a CRM).
    Api,
    /// As `Api`, relayed to agents' own WhatsApp numbers (the call named them).
    Relay,
}

impl Origin {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Web => "web",
            Self::Whatsapp => "whatsapp",
            Self::Api => "api",
            Self::Relay => "relay",
        }
    }
    /// Parses the stored form (anything unknown is WhatsApp).
    pub fn parse(s: &str) -> Self {
        match s {
            "call" => Self::Call,
            "web" => Self::Web,
            "api" => Self::Api,
            "relay" => Self::Relay,
            _ => Self::Whatsapp,
        }
    }
}

/// Where a conversation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A deflection template went out; waiting for the customer's first reply.
    Pending,
    /// With its bot (`[inbox.automations] bot`), until the bot hands it over to a queue or
    /// it ends.
    Bot,
    /// Waiting in its queue for an agent.
    Queued,
    /// Offered to an agent, who has not accepted yet.
    Offered,
    /// An agent holds it.
    Assigned,
    /// Relayed to an agent's own WhatsApp number, or being offered to one (see the relay,
    /// `lifecycle::relay`).
    Relay,
    /// Done.
    Closed,
}

impl Status {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Bot => "bot",
            Self::Queued => "queued",
            Self::Offered => "offered",
            Self::Assigned => "assigned",
            Self::Relay => "relay",
            Self::Closed => "closed",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "bot" => Self::Bot,
            "queued" => Self::Queued,
            "offered" => Self::Offered,
            "assigned" => Self::Assigned,
            "relay" => Self::Relay,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// A conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: i64,
    /// Short reference shown to the customer (in the deflection template) and to agents.
    pub reference: String,
    /// The customer.
    pub contact_id: i64,
    /// The customer's name, when known.
    pub contact_name: Option<String>,
    /// The customer's phone number (E.164), when known.
    pub contact_phone: Option<String>,
    /// Another number the customer typed into a form (the widget's pre-chat form, an API
    /// hand-off) than the one they are reached on.
    pub contact_form_phone: Option<String>,
    /// Where it happens now.
    pub channel: Channel,
    /// How it began.
    pub origin: Origin,
    /// WhatsApp account (for WhatsApp conversations and web ones that may escalate).
    pub account: Option<String>,
    /// Widget site, for web conversations.
    pub site: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// Its queue.
    pub queue: String,
    /// The agent it is offered to (status offered) or held by (status assigned).
    pub agent_id: Option<AgentId>,
    /// During a transfer, the agent it returns to when nobody accepts it.
    pub return_agent_id: Option<AgentId>,
    /// Since when it waits in the queue.
    pub queued_at: Option<Millis>,
    /// The customer's last message; the 24 h WhatsApp window runs from it.
    pub last_inbound_at: Option<Millis>,
    /// Last message either way.
    pub last_activity_at: Millis,
    /// WhatsApp said the number cannot receive messages (131026).
    pub unreachable: bool,
    /// How it was closed.
    pub disposition: Option<String>,
    /// When it was closed.
    pub closed_at: Option<Millis>,
    /// When it began.
    pub created_at: Millis,
    /// What an integration attached when it created it (API hand-offs).
    pub metadata: Option<serde_json::Value>,
    /// When the widget offered to continue on WhatsApp (no agent in time).
    pub escalation_at: Option<Millis>,
    /// The bot it started with (kept after the bot handed it over).
    pub bot: Option<String>,
    /// The customer's satisfaction score (1 bad – 5 good), when they answered the survey.
    pub csat_score: Option<i64>,
    /// What the customer added after their score.
    pub csat_comment: Option<String>,
    /// When they gave their score.
    pub csat_at: Option<Millis>,
    /// The IVR flow whose deflected call opened it (its automations apply).
    pub flow: Option<String>,
    /// The customer's language (ISO 639-1, `nl`), when known: from a deflected call's flow
    /// or the widget visitor's browser.
    pub contact_language: Option<String>,
}

impl Conversation {
    /// Whether the 24 h customer-service window is open at `now` (WhatsApp only).
    pub fn window_open(&self, now: Millis) -> bool {
        match self.channel {
            Channel::Web | Channel::Sms => true,
            Channel::Whatsapp => self.last_inbound_at.is_some_and(|t| now - t < WINDOW_MS),
        }
    }
}

/// How the caller gave their number (defined in deflect-config, which the IVR shares).
pub use deflect_config::InputMethod;

/// A conversation with what an agent's screen shows at its top.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationDetail {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// The deflected call it came from.
    pub call: Option<CallContext>,
    /// The dispositions its queue offers, and whether one is required.
    pub dispositions: Vec<String>,
    /// Whether closing needs a disposition.
    pub disposition_required: bool,
    /// Its labels, sorted.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// Filters for listing conversations; every field narrows the list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConversationFilter {
    /// Any of these statuses.
    pub status: Vec<Status>,
    /// Channel.
    pub channel: Option<Channel>,
    /// Origin.
    pub origin: Option<Origin>,
    /// Queue.
    pub queue: Option<String>,
    /// Offered to or held by this agent.
    pub agent_id: Option<AgentId>,
    /// WhatsApp account.
    pub account: Option<String>,
    /// Created at or after (ms).
    pub created_from: Option<Millis>,
    /// Created before (ms).
    pub created_to: Option<Millis>,
    /// Text in the customer's name or number, the reference, or any message.
    pub text: Option<String>,
    /// Carrying this label (as [`crate::model::normalize_label`] spells it).
    pub label: Option<String>,
    /// Of this contact.
    pub contact_id: Option<i64>,
    /// Only ids below this (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Why a web visitor is offered WhatsApp (`reason` of `conversation.escalation_offered`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    /// No agent accepted within the site's escalation timeout.
    Timeout,
    /// The site is outside its opening hours.
    Closed,
}

impl EscalationReason {
    /// As in events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Closed => "closed",
        }
    }
}
