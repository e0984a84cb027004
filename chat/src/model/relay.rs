//! Relaying a conversation to agents' own WhatsApp numbers: the agents a deflection API call
//! names, where the relay stands, the quick-reply payloads of an offer and the commands an
//! agent writes. Plain data and parsing; `lifecycle::relay` does the work.

use serde::{Deserialize, Serialize};

/// Most agents one relay names.
pub const MAX_RELAY_AGENTS: usize = 10;
/// Longest agent name.
pub const MAX_RELAY_AGENT_NAME: usize = 100;

/// An agent a relay may offer its conversation to: reached on their own WhatsApp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Where a relay stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayState {
    /// Waiting for the customer's first message.
    Waiting,
    /// Offered to the agent at `position`, who has not answered yet.
    Offered,
    /// The agent at `position` accepted: messages are relayed both ways.
    Active,
    /// Over: closed, or nobody accepted.
    Ended,
}

impl RelayState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Offered => "offered",
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }

    /// Parses the stored form (anything unknown is over).
    pub fn parse(s: &str) -> Self {
        match s {
            "waiting" => Self::Waiting,
            "offered" => Self::Offered,
            "active" => Self::Active,
            _ => Self::Ended,
        }
    }
}

/// A relayed conversation's relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relay {
    /// The conversation.
    pub conversation: i64,
    /// The WhatsApp account both legs go through.
    pub account: String,
    /// The agents, in the order they are offered the conversation.
    pub agents: Vec<RelayAgent>,
    /// The agent offered it or holding it.
    pub position: usize,
    /// Where it stands.
    pub state: RelayState,
    /// When the current offer was made (ms).
    pub offered_at: Option<i64>,
}

impl Relay {
    /// The agent offered the conversation or holding it, if any.
    pub fn agent(&self) -> Option<&RelayAgent> {
        match self.state {
            RelayState::Offered | RelayState::Active => self.agents.get(self.position),
            RelayState::Waiting | RelayState::Ended => None,
        }
    }

    /// Whether WhatsApp id `wa_id` holds it.
    pub fn held_by(&self, wa_id: &str) -> bool {
        self.state == RelayState::Active && self.agent().is_some_and(|a| a.wa_id() == wa_id)
    }
}

const ACCEPT: &str = "relay:accept:";
const REJECT: &str = "relay:reject:";

/// The quick-reply payloads of an offer of the conversation `reference`: accept, reject.
pub fn offer_payloads(reference: &str) -> [String; 2] {
    [
        format!("{ACCEPT}{reference}"),
        format!("{REJECT}{reference}"),
    ]
}

/// The answer to an offer a quick-reply payload carries, and the conversation it names.
pub fn offer_answer(payload: &str) -> Option<(bool, &str)> {
    let (accept, reference) = match payload.strip_prefix(ACCEPT) {
        Some(r) => (true, r),
        None => (false, payload.strip_prefix(REJECT)?),
    };
    (!reference.is_empty() && reference.len() <= 16).then_some((accept, reference))
}

/// What an agent writes on their WhatsApp: a command, or a message for the customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelayCommand {
    /// `/close`: the conversation ends.
    Close,
    /// `/transfer NAME`: offered to another agent.
    Transfer(String),
    /// `/note TEXT`: an internal note, not relayed.
    Note(String),
    /// `/switch` (lists the agent's customers) or `/switch REFERENCE` (makes it current).
    Switch(Option<String>),
    /// `/help`, or a command not known.
    Help,
}

impl RelayCommand {
    /// The command `text` is, if it starts with `/`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let rest = text.strip_prefix('/')?;
        let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let arg = arg.trim();
        Some(match word.to_ascii_lowercase().as_str() {
            "close" | "end" => Self::Close,
            "transfer" if !arg.is_empty() => Self::Transfer(arg.to_string()),
            "note" if !arg.is_empty() => Self::Note(arg.to_string()),
            "switch" => Self::Switch((!arg.is_empty()).then(|| arg.to_ascii_uppercase())),
            _ => Self::Help,
        })
    }
}

/// The commands, as `/help` tells them.
pub const RELAY_HELP: &str = "Commands:\n/close – end this conversation\n/transfer NAME – hand it to another agent\n/note TEXT – a note for your team, not sent\n/switch – list your customers; /switch REF – write to that one\n/help – this list\nReply to a customer's message to answer that customer.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_answers_and_commands_read_back() {
        let [accept, reject] = offer_payloads("K7Q2MX");
        assert_eq!(offer_answer(&accept), Some((true, "K7Q2MX")));
        assert_eq!(offer_answer(&reject), Some((false, "K7Q2MX")));
        assert_eq!(offer_answer("relay:accept:"), None);
        assert_eq!(offer_answer("deflect:K7Q2MX"), None);
        assert_eq!(RelayCommand::parse("hello"), None);
        assert_eq!(RelayCommand::parse(" /Close "), Some(RelayCommand::Close));
        assert_eq!(
            RelayCommand::parse("/transfer  Ann Lee"),
            Some(RelayCommand::Transfer("Ann Lee".into()))
        );
        assert_eq!(RelayCommand::parse("/transfer"), Some(RelayCommand::Help));
        assert_eq!(
            RelayCommand::parse("/note called back\nat 5"),
            Some(RelayCommand::Note("called back\nat 5".into()))
        );
        assert_eq!(
            RelayCommand::parse("/switch k7q2mx"),
            Some(RelayCommand::Switch(Some("K7Q2MX".into())))
        );
        assert_eq!(
            RelayCommand::parse("/switch"),
            Some(RelayCommand::Switch(None))
        );
        assert_eq!(RelayCommand::parse("/what"), Some(RelayCommand::Help));
    }

    #[test]
    fn only_the_accepting_agent_holds_a_relay() {
        let agents = vec![
            RelayAgent {
                name: "Ann".into(),
                number: "+31611111111".into(),
            },
            RelayAgent {
                name: "Bo".into(),
                number: "+31622222222".into(),
            },
        ];
        let mut r = Relay {
            conversation: 1,
            account: "main".into(),
            agents,
            position: 1,
            state: RelayState::Offered,
            offered_at: Some(5),
        };
        assert_eq!(r.agent().map(|a| a.name.as_str()), Some("Bo"));
        assert!(!r.held_by("31622222222"));
        r.state = RelayState::Active;
        assert!(r.held_by("31622222222") && !r.held_by("31611111111"));
        for s in [
            RelayState::Waiting,
            RelayState::Offered,
            RelayState::Active,
            RelayState::Ended,
        ] {
            assert_eq!(RelayState::parse(s.as_str()), s);
        }
    }
}
