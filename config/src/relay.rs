//! `[inbox.relay]`: relaying a customer's WhatsApp conversation to an agent's own WhatsApp
//! (the agents named by the deflection API call), and what the customer hears meanwhile.
//! The offer the agent accepts or rejects is a template of the account
//! (`[whatsapp.accounts.templates] relay_offer`).

use crate::Problems;
use crate::text::check_text;
use crate::value::{duration, is_e164};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The variables of the relay's texts to the customer: a conversation's, and the name of the
/// agent who accepted.
pub const RELAY_VARIABLES: &[&str] = &[
    "customer_name",
    "customer_phone",
    "queue",
    "reference",
    "agent_name",
];

/// An agent a relay may offer its conversation to, reached on their own WhatsApp: named by
/// a deflection API call or a queue's `relay_agents`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayAgent {
    /// How the customer and the other agents know them.
    pub name: String,
    /// Their WhatsApp number, E.164.
    pub number: String,
}

impl RelayAgent {
    /// Their WhatsApp id (the number's digits), as WhatsApp names senders.
    pub fn wa_id(&self) -> &str {
        self.number.trim_start_matches('+')
    }
}

/// Most agents one relay names.
pub const MAX_RELAY_AGENTS: usize = 10;
/// Longest agent name.
pub const MAX_RELAY_AGENT_NAME: usize = 100;

/// Checks the agents a queue relays to (at `key`): at most [`MAX_RELAY_AGENTS`], each named,
/// with a distinct E.164 number.
pub(crate) fn validate_agents(p: &mut Problems, key: &str, agents: &[RelayAgent]) {
    if agents.len() > MAX_RELAY_AGENTS {
        p.push(key, format!("at most {MAX_RELAY_AGENTS} agents"));
    }
    for (i, a) in agents.iter().enumerate() {
        let at = format!("{key}[{i}]");
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > MAX_RELAY_AGENT_NAME {
            p.push(
                format!("{at}.name"),
                format!("must have 1 to {MAX_RELAY_AGENT_NAME} characters"),
            );
        }
        if !is_e164(&a.number) {
            p.push(
                format!("{at}.number"),
                "must be an E.164 number (+ country code and number)",
            );
        } else if agents[..i].iter().any(|o| o.number == a.number) {
            p.push(format!("{at}.number"), "is named twice");
        }
    }
}

/// What a relayed conversation nobody accepted becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayFallback {
    /// It waits in its queue for the inbox's agents.
    Queue,
    /// It closes (disposition `unanswered`).
    Close,
}

/// `[inbox.relay]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// An offer the agent neither accepts nor rejects within this time goes to the next agent
    /// of the list (10s – 24h).
    #[serde(with = "duration")]
    pub offer_timeout: Duration,
    /// A relayed conversation in which neither side wrote for this long closes (1m – 72h).
    #[serde(with = "duration")]
    pub inactivity_close: Duration,
    /// Told the customer when their first message arrives, while an agent is sought (empty:
    /// nothing).
    pub finding_message: String,
    /// Told the customer when an agent accepted (empty: nothing); `{{agent_name}}` names them.
    pub connected_message: String,
    /// Told the customer when every agent rejected or let the offer lapse (empty: nothing).
    pub nobody_message: String,
    /// Then: `queue` (the conversation waits for the inbox's agents) or `close`.
    pub fallback: RelayFallback,
    /// The WhatsApp accounts a relay the API call names no `account` for may go through:
    /// one whose provider is not failing, with a business number in the customer's country
    /// (else the first agent's), relaying the fewest conversations. Empty: the default
    /// account.
    pub accounts: Vec<String>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            offer_timeout: Duration::from_secs(120),
            inactivity_close: Duration::from_secs(24 * 3600),
            finding_message: "Thanks! We are finding an agent for you.".into(),
            connected_message: "You are now chatting with {{agent_name}}.".into(),
            nobody_message: "Sorry, no agent could take your chat right now. We will answer you here as soon as we can.".into(),
            fallback: RelayFallback::Queue,
            accounts: Vec::new(),
        }
    }
}

impl RelayConfig {
    pub(crate) fn validate(&self, p: &mut Problems) {
        if !(10..=86_400).contains(&self.offer_timeout.as_secs()) {
            p.push("inbox.relay.offer_timeout", "must be between 10s and 24h");
        }
        if !(60..=72 * 3600).contains(&self.inactivity_close.as_secs()) {
            p.push("inbox.relay.inactivity_close", "must be between 1m and 72h");
        }
        for (key, text) in [
            ("finding_message", &self.finding_message),
            ("connected_message", &self.connected_message),
            ("nobody_message", &self.nobody_message),
        ] {
            if let Err(e) = check_text(text, RELAY_VARIABLES) {
                p.push(format!("inbox.relay.{key}"), e.to_string());
            }
        }
    }
}
