//! Messages of a conversation, either way, and their delivery status.

use crate::clock::Millis;
use crate::model::{Attachment, Channel, Interactive};
use crate::routing::AgentId;
use serde::{Deserialize, Serialize};

/// Longest text message WhatsApp accepts.
pub const MAX_TEXT: usize = 4096;

/// Direction of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the customer.
    In,
    /// To the customer (or an internal note).
    Out,
}

/// Who wrote a message (the conversation API's `sender`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    /// The customer (every inbound message).
    Customer,
    /// An agent (its `agent_id` says who); internal notes too.
    Agent,
    /// The inbox on its own: welcome, auto-replies, templates after a call.
    Automation,
    /// A bot the conversation started with.
    Bot,
}

impl Sender {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Automation => "automation",
            Self::Bot => "bot",
        }
    }

    /// Parses the stored form; an unknown one reads as an automation's.
    pub fn parse(s: &str) -> Self {
        match s {
            "customer" => Self::Customer,
            "agent" => Self::Agent,
            "bot" => Self::Bot,
            _ => Self::Automation,
        }
    }
}

/// A message of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// In or out.
    pub direction: Direction,
    /// `text`, `template`, `interactive`, `button`, `image`, `audio`, `video`, `document`,
    /// `sticker`, `location`, `contacts`, `reaction`, `unsupported` (a type this version does
    /// not know, kept as received), `note` (internal), `system`.
    pub kind: String,
    /// Text shown for it.
    pub body: Option<String>,
    /// The provider's JSON for inbound messages; the request for outbound ones.
    pub payload: Option<serde_json::Value>,
    /// What makes it interactive: for an outgoing message the reply buttons, list or link
    /// button sent (with its body); for a customer's answer the button or row chosen
    /// (`button_reply`, `list_reply`: its id and title). `null` for any other message.
    #[serde(default)]
    pub interactive: Option<Interactive>,
    /// An internal note: never sent to the customer.
    pub internal: bool,
    /// The agent who wrote it.
    pub agent_id: Option<AgentId>,
    /// Who wrote it.
    pub sender: Sender,
    /// Channel it went through.
    pub channel: Channel,
    /// The provider's id (`wamid…`, Twilio `SM…`).
    pub external_id: Option<String>,
    /// The sender's idempotency key.
    pub client_key: Option<String>,
    /// `received`, `queued`, `sent`, `delivered`, `read`, `failed`, `dead`.
    pub status: String,
    /// Provider error code of a failed message.
    pub error_code: Option<i64>,
    /// Provider error text.
    pub error_title: Option<String>,
    /// What `error_code` means for the conversation (`outside_window`, `unreachable`,
    /// `rate_limited`, `other`): on a failed message, or a queued one being retried.
    #[serde(default)]
    pub error_meaning: Option<ErrorMeaning>,
    /// When (ms).
    pub created_at: Millis,
    /// The files it carries (a customer's image, voice note, video, document, sticker), in
    /// the order they came; empty for most messages.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The agent's display name as it was when the message was stored (what the customer
    /// saw); `None` for the customer's, the bot's and the inbox's own messages.
    #[serde(default)]
    pub sender_name: Option<String>,
}

/// What a provider's error code means for the conversation, and so what the agent can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMeaning {
    /// Free text outside the 24 h window: only a template reaches the customer now.
    OutsideWindow,
    /// The number cannot receive WhatsApp messages.
    Unreachable,
    /// The provider asked to slow down: the message is sent again later.
    RateLimited,
    /// Anything else.
    Other,
}

/// Delivery status of an outgoing message; it only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Committed, not yet accepted by the provider.
    Queued,
    /// Accepted by the provider.
    Sent,
    /// On the customer's phone.
    Delivered,
    /// Read.
    Read,
    /// Not delivered (with an error code).
    Failed,
}

impl DeliveryStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
    /// Order: a status never replaces one of equal or higher rank. Failed is final.
    pub(crate) fn rank(self) -> i64 {
        match self {
            Self::Queued => 0,
            Self::Sent => 10,
            Self::Delivered => 20,
            Self::Read => 30,
            Self::Failed => 40,
        }
    }
    /// Parses Meta's and Twilio's names (`sent`, `delivered`, `read`, `failed`,
    /// `undelivered`, `queued`, `accepted`, `sending`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" | "accepted" | "scheduled" | "sending" => Self::Queued,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" | "undelivered" | "canceled" => Self::Failed,
            _ => return None,
        })
    }
}
