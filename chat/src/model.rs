//! The inbox's nouns as callers see them, and its error type.

use crate::clock::Millis;
use crate::routing::{AgentId, Presence};
use crate::store::{StoreError, opt_i64, opt_str};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a conversation happens now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// WhatsApp, through the conversation's account.
    Whatsapp,
    /// The web chat widget.
    Web,
}

impl Channel {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Web => "web",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "web" {
            Self::Web
        } else {
            Self::Whatsapp
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
}

impl Origin {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Web => "web",
            Self::Whatsapp => "whatsapp",
            Self::Api => "api",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "call" => Self::Call,
            "web" => Self::Web,
            "api" => Self::Api,
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
    /// Waiting in its queue for an agent.
    Queued,
    /// Offered to an agent, who has not accepted yet.
    Offered,
    /// An agent holds it.
    Assigned,
    /// Done.
    Closed,
}

impl Status {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Queued => "queued",
            Self::Offered => "offered",
            Self::Assigned => "assigned",
            Self::Closed => "closed",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "queued" => Self::Queued,
            "offered" => Self::Offered,
            "assigned" => Self::Assigned,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// An agent's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works the conversations of their queues and accounts.
    Agent,
    /// Also reads every conversation and watches the queues.
    Supervisor,
    /// Also manages agents and settings.
    Admin,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "agent" => Self::Agent,
            "supervisor" => Self::Supervisor,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
    /// Supervisors and admins see every conversation.
    pub fn sees_everything(self) -> bool {
        matches!(self, Self::Supervisor | Self::Admin)
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
}

pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.reference, c.contact_id, k.name AS contact_name, \
    k.phone AS contact_phone, k.form_phone AS contact_form_phone, c.channel, c.origin, c.account, c.site, c.status, c.queue, c.agent_id, \
    c.return_agent_id, c.queued_at, c.last_inbound_at, c.last_activity_at, c.unreachable, \
    c.disposition, c.closed_at, c.created_at, c.declined, c.identity_id, c.metadata, c.escalation_at";

pub(crate) const CONVERSATION_FROM: &str = "conversations c JOIN contacts k ON k.id = c.contact_id";

impl Conversation {
    pub(crate) fn from_row(r: &AnyRow) -> Self {
        Self {
            id: r.get("id"),
            reference: r.get("reference"),
            contact_id: r.get("contact_id"),
            contact_name: opt_str(r, "contact_name"),
            contact_phone: opt_str(r, "contact_phone"),
            contact_form_phone: opt_str(r, "contact_form_phone"),
            channel: Channel::parse(&r.get::<String, _>("channel")),
            origin: Origin::parse(&r.get::<String, _>("origin")),
            account: opt_str(r, "account"),
            site: opt_str(r, "site"),
            status: Status::parse(&r.get::<String, _>("status")).unwrap_or(Status::Closed),
            queue: r.get("queue"),
            agent_id: opt_i64(r, "agent_id"),
            return_agent_id: opt_i64(r, "return_agent_id"),
            queued_at: opt_i64(r, "queued_at"),
            last_inbound_at: opt_i64(r, "last_inbound_at"),
            last_activity_at: r.get("last_activity_at"),
            unreachable: r.get::<i64, _>("unreachable") != 0,
            disposition: opt_str(r, "disposition"),
            closed_at: opt_i64(r, "closed_at"),
            created_at: r.get("created_at"),
            metadata: opt_str(r, "metadata").and_then(|m| serde_json::from_str(&m).ok()),
            escalation_at: opt_i64(r, "escalation_at"),
        }
    }

    /// Whether the 24 h customer-service window is open at `now` (WhatsApp only).
    pub fn window_open(&self, now: Millis) -> bool {
        match self.channel {
            Channel::Web => true,
            Channel::Whatsapp => self
                .last_inbound_at
                .is_some_and(|t| now - t < crate::WINDOW_MS),
        }
    }
}

/// What the IVR knew about a deflected call, shown at the top of its conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallContext {
    /// The call's id.
    pub call_id: String,
    /// The number that called (as signalled).
    pub caller: Option<String>,
    /// The number the customer asked to be reached on (E.164).
    pub callback_number: String,
    /// The number that was dialled.
    pub dialled_number: Option<String>,
    /// The IVR flow.
    pub flow: Option<String>,
    /// The call's language.
    pub language: Option<String>,
    /// When the call began (ms).
    pub started_at: Millis,
    /// When it ended (ms).
    pub ended_at: Millis,
    /// `dtmf` or `speech`.
    pub input_method: InputMethod,
    /// What the caller said, when speech was used.
    pub transcript: Option<String>,
}

/// How the caller gave their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMethod {
    /// Keypad.
    Dtmf,
    /// Spoken.
    Speech,
    /// Chose the number they called from.
    CallerNumber,
}

impl InputMethod {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dtmf => "dtmf",
            Self::Speech => "speech",
            Self::CallerNumber => "caller_number",
        }
    }
}

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
}

/// Direction of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the customer.
    In,
    /// To the customer (or an internal note).
    Out,
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
    /// An internal note: never sent to the customer.
    pub internal: bool,
    /// The agent who wrote it.
    pub agent_id: Option<AgentId>,
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
    /// When (ms).
    pub created_at: Millis,
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, direction, kind, body, payload, internal, agent_id, \
    channel, external_id, client_key, status, error_code, error_title, created_at";

impl Message {
    pub(crate) fn from_row(r: &AnyRow) -> Self {
        Self {
            id: r.get("id"),
            conversation_id: r.get("conversation_id"),
            direction: if r.get::<String, _>("direction") == "in" {
                Direction::In
            } else {
                Direction::Out
            },
            kind: r.get("kind"),
            body: opt_str(r, "body"),
            payload: opt_str(r, "payload").and_then(|p| serde_json::from_str(&p).ok()),
            internal: r.get::<i64, _>("internal") != 0,
            agent_id: opt_i64(r, "agent_id"),
            channel: Channel::parse(&r.get::<String, _>("channel")),
            external_id: opt_str(r, "external_id"),
            client_key: opt_str(r, "client_key"),
            status: r.get("status"),
            error_code: opt_i64(r, "error_code"),
            error_title: opt_str(r, "error_title"),
            created_at: r.get("created_at"),
        }
    }
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

/// An agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Id.
    pub id: AgentId,
    /// Login name.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Presence.
    pub presence: Presence,
    /// Queues they work.
    pub queues: Vec<String>,
    /// WhatsApp accounts whose conversations they work (plain agents see no account's
    /// conversations without one; supervisors and admins see every account's).
    pub accounts: Vec<String>,
    /// Disabled agents cannot log in and get no offers.
    pub disabled: bool,
}

/// Who is asking: the input of every access decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The agent.
    pub agent_id: AgentId,
    /// Their role.
    pub role: Role,
    /// Their queues.
    pub queues: Vec<String>,
    /// Their accounts (plain agents: none given, none seen).
    pub accounts: Vec<String>,
}

impl Viewer {
    /// Whether they may see `c`: supervisors and admins see everything; agents see the
    /// conversations of their queues (within their accounts) and those offered to or held by
    /// them.
    pub fn can_see(&self, c: &Conversation) -> bool {
        if self.role.sees_everything() || c.agent_id == Some(self.agent_id) {
            return true;
        }
        let account_ok = c.account.as_deref().is_none_or(|a| self.may_use_account(a));
        account_ok && self.queues.contains(&c.queue)
    }

    /// Whether they work for WhatsApp account `account`: supervisors and admins for every
    /// one; agents only for those they are given — none given, none (access fails closed).
    pub fn may_use_account(&self, account: &str) -> bool {
        self.role.sees_everything() || self.accounts.iter().any(|a| a == account)
    }
}

/// The SQL condition "agent `agent` works for the account `account`" (both SQL
/// expressions) — [`Viewer::may_use_account`] in a query: a conversation without an account
/// is open to its queue's agents; one with an account to supervisors and admins, and to the
/// plain agents given that account.
pub(crate) fn agent_works_account_sql(agent: &str, account: &str) -> String {
    format!(
        "({account} IS NULL \
         OR EXISTS (SELECT 1 FROM agents r WHERE r.id = {agent} AND r.role <> 'agent') \
         OR EXISTS (SELECT 1 FROM agent_accounts x WHERE x.agent_id = {agent} AND x.account = {account}))"
    )
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
    /// Only ids below this (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// Errors of inbox operations, each with a stable [`ChatError::code`] for API clients.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// No such thing, or the viewer may not see it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The viewer may see it but not do this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The request is malformed.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The state changed: the offer lapsed, the conversation is closed, ….
    #[error("{0}")]
    Conflict(String),
    /// Free text outside WhatsApp's 24 h customer-service window.
    #[error(
        "the customer's last message is more than 24 hours old, so WhatsApp accepts only an \
         approved template; send the recontact template `{recontact_template}` instead"
    )]
    OutsideWindow {
        /// The account's recontact template.
        recontact_template: String,
    },
    /// WhatsApp reported that the number cannot receive messages.
    #[error("the customer's number cannot receive WhatsApp messages")]
    Unreachable,
    /// Closing this queue's conversations needs a disposition.
    #[error("a disposition is required; choose one of: {}", choices.join(", "))]
    DispositionRequired {
        /// The queue's dispositions.
        choices: Vec<String>,
    },
    /// Wrong username or password (deliberately not saying which).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChatError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl ChatError {
    /// The error a fault injection point returns (`failpoints` test builds only): a database
    /// error, as a real failure at that step would be.
    pub fn injected(point: &str) -> Self {
        Self::Store(StoreError::Database(sqlx::Error::Protocol(format!(
            "fault injected at {point}"
        ))))
    }

    /// A conflict between concurrent transactions: trying again will do.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_transient())
    }

    /// A stable machine-readable code: `not_found`, `forbidden`, `invalid`, `conflict`,
    /// `outside_window`, `unreachable`, `disposition_required`, `invalid_credentials`,
    /// `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) => "conflict",
            Self::OutsideWindow { .. } => "outside_window",
            Self::Unreachable => "unreachable",
            Self::DispositionRequired { .. } => "disposition_required",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Store(_) => "internal",
        }
    }
}

/// Agents' presence and queue membership, parsed.
pub(crate) fn presence_of(s: &str) -> Presence {
    Presence::parse(s).unwrap_or(Presence::Offline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_use_their_accounts_supervisors_every_one() {
        let agent = |accounts: &[&str]| Viewer {
            agent_id: 1,
            role: Role::Agent,
            queues: vec!["support".into()],
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        };
        assert!(
            !agent(&[]).may_use_account("sandbox"),
            "none given: none (fails closed)"
        );
        assert!(agent(&["meta", "sandbox"]).may_use_account("sandbox"));
        assert!(!agent(&["meta"]).may_use_account("sandbox"));
        let sup = Viewer {
            role: Role::Supervisor,
            ..agent(&["meta"])
        };
        assert!(sup.may_use_account("sandbox"));
    }
}
