//! Relaying a conversation to agents' own WhatsApp numbers: the agents a deflection API call
//! names, where the relay stands, the quick-reply payloads of an offer and the commands an
//! agent writes. Plain data and parsing; `lifecycle::relay` does the work.

use serde::{Deserialize, Serialize};

pub use deflect_config::{MAX_RELAY_AGENT_NAME, MAX_RELAY_AGENTS, RelayAgent};

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

/// A WhatsApp account a relay could go through, as the choice sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayChannel<'a> {
    /// The account's name.
    pub account: &'a str,
    /// Its business number, E.164.
    pub business_number: &'a str,
    /// Conversations it relays now (offered or accepted).
    pub relays: i64,
    /// Whether its provider is failing sends now (messages waiting to be tried again).
    pub failing: bool,
}

/// The account a relay goes through when the call names none: one whose provider is not
/// failing, then one whose business number is in the country of `near` (the customer's
/// number, else the first agent's: the same region, else the same calling code), then the
/// one relaying the fewest conversations; ties keep the configured order.
pub fn choose_channel<'a>(channels: &[RelayChannel<'a>], near: Option<&str>) -> Option<&'a str> {
    let near = near.and_then(country_of);
    let best = channels.iter().enumerate().min_by_key(|(i, c)| {
        let closeness = match (near, country_of(c.business_number)) {
            (Some((code, Some(region))), Some((theirs, Some(their_region))))
                if code == theirs && region == their_region =>
            {
                2
            }
            (Some((code, _)), Some((theirs, _))) if code == theirs => 1,
            _ => 0,
        };
        (c.failing, std::cmp::Reverse(closeness), c.relays, *i)
    });
    best.map(|(_, c)| c.account)
}

/// The calling code of E.164 number `number`, and its region where the numbering plan
/// tells it.
fn country_of(number: &str) -> Option<(u16, Option<phonenumber::country::Id>)> {
    let parsed = phonenumber::parse(None, number).ok()?;
    Some((parsed.code().value(), parsed.country().id()))
}

/// A map link for a shared location as deflect writes it (`[location] <place> (<latitude>,
/// <longitude>)`, or the coordinates alone): what a relay adds so the other side can open
/// the place.
pub fn map_link(location: &str) -> Option<String> {
    let rest = location.trim().strip_prefix("[location]")?.trim();
    let at = match rest.strip_suffix(')').and_then(|r| r.rsplit_once('(')) {
        Some((_, at)) => at,
        None => rest,
    };
    let (latitude, longitude) = at.split_once(',')?;
    let latitude: f64 = latitude.trim().parse().ok()?;
    let longitude: f64 = longitude.trim().parse().ok()?;
    let valid = (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude);
    valid.then(|| format!("https://maps.google.com/?q={latitude},{longitude}"))
}

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
    fn a_relay_goes_through_a_working_account_of_the_customers_country_with_the_fewest_relays() {
        let channel = |account, business_number, relays, failing| RelayChannel {
            account,
            business_number,
            relays,
            failing,
        };
        let channels = [
            channel("nl", "+31201234567", 3, false),
            channel("de", "+4930123456", 1, false),
            channel("nl2", "+31207654321", 1, false),
        ];
        // A Dutch customer: the Dutch number relaying the fewest.
        assert_eq!(choose_channel(&channels, Some("+31612345678")), Some("nl2"));
        // A German one: the German number, though others relay fewer.
        let busy_de = [channel("de", "+4930123456", 9, false), channels[2]];
        assert_eq!(choose_channel(&busy_de, Some("+4915112345678")), Some("de"));
        // The same region beats the same calling code (+1: the US and Canada).
        let north_america = [
            channel("ca", "+16135550123", 0, false),
            channel("us", "+12125550123", 4, false),
        ];
        assert_eq!(
            choose_channel(&north_america, Some("+14155550123")),
            Some("us")
        );
        assert_eq!(
            choose_channel(&north_america, Some("+15145550123")),
            Some("ca")
        );
        // Nobody in the customer's country, or no number known: the least loaded, first wins.
        assert_eq!(choose_channel(&channels, Some("+14155550123")), Some("de"));
        assert_eq!(choose_channel(&channels, None), Some("de"));
        // A failing provider is passed over even in the customer's country.
        let failing = [
            channel("nl", "+31201234567", 0, true),
            channel("de", "+4930123456", 5, false),
        ];
        assert_eq!(choose_channel(&failing, Some("+31612345678")), Some("de"));
        assert_eq!(choose_channel(&[], None), None);
    }

    #[test]
    fn locations_get_a_map_link() {
        assert_eq!(
            map_link("[location] Dam Square, Dam, Amsterdam (52.370216, 4.895168)").as_deref(),
            Some("https://maps.google.com/?q=52.370216,4.895168")
        );
        assert_eq!(
            map_link("[location] -33.5, 151.25").as_deref(),
            Some("https://maps.google.com/?q=-33.5,151.25")
        );
        assert_eq!(map_link("[location] ?, ?"), None);
        assert_eq!(map_link("hello (1, 2)"), None);
        assert_eq!(map_link("[location] (95, 10)"), None);
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
