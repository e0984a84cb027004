//! `[[inbox.bots]]`: bots a conversation can start with before a person takes it.
//!
//! deflect talks to a bot over the Rasa REST channel (`POST {"sender", "message",
//! "metadata"}`, answered with a list of `text`, `buttons`, `image`, `attachment` and `custom`
//! messages), so Rasa and anything that speaks its REST channel plug in. A bot hands the
//! conversation to a person when it asks to (a custom payload or `handover_intent`), fails
//! to answer within `timeout`, or answers with an error; a bot conversation silent for
//! `silence_close` closes.

use crate::Problems;
use crate::secret::REDACTED;
use crate::value::{duration, string_serde};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// `[[inbox.bots]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// Name (what accounts, sites and flows refer to; in metrics and logs).
    pub name: String,
    /// The bot's REST channel webhook, e.g. `http://rasa:5005/webhooks/rest/webhook`.
    /// Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<BotUrl>,
    /// How long one turn (connecting included) may take before the conversation goes to a
    /// person (1s–60s).
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// A bot conversation with no message for this long closes (1m–24h).
    #[serde(with = "duration")]
    pub silence_close: Duration,
    /// The intent that, sent back in a `custom` payload (`{"intent": "<handover_intent>"}`),
    /// hands the conversation to a person.
    pub handover_intent: String,
    /// The queue hand-overs go to (a configured queue); none: `inbox.default_queue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: None,
            timeout: Duration::from_secs(5),
            silence_close: Duration::from_secs(600),
            handover_intent: "human_handoff".into(),
            queue: None,
        }
    }
}

/// A bot's webhook URL. It may carry a credential (in its user information or its query), so
/// it is shown — printed, logged, in `Debug` — without the password and the query; only
/// [`BotUrl::expose`] gives it whole, to the HTTP client.
#[derive(Clone, PartialEq, Eq)]
pub struct BotUrl(url::Url);

impl BotUrl {
    /// The whole URL, for the request to the bot only.
    pub fn expose(&self) -> &url::Url {
        &self.0
    }
}

impl FromStr for BotUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // The value is not echoed: it may hold a token.
        url::Url::parse(s)
            .map(Self)
            .map_err(|e| format!("not a URL ({e})"))
    }
}

impl fmt::Display for BotUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.0;
        write!(f, "{}:", u.scheme())?;
        if let Some(host) = u.host_str() {
            f.write_str("//")?;
            if !u.username().is_empty() || u.password().is_some() {
                f.write_str(u.username())?;
                if u.password().is_some() {
                    write!(f, ":{REDACTED}")?;
                }
                f.write_str("@")?;
            }
            f.write_str(host)?;
            if let Some(port) = u.port() {
                write!(f, ":{port}")?;
            }
        }
        f.write_str(u.path())?;
        if u.query().is_some() {
            write!(f, "?{REDACTED}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BotUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BotUrl({self})")
    }
}

string_serde!(
    BotUrl,
    "a URL such as \"http://rasa:5005/webhooks/rest/webhook\""
);

/// Checks `[[inbox.bots]]`; `check_queue` reports a queue name that names no queue.
pub(crate) fn validate(
    bots: &[BotConfig],
    p: &mut Problems,
    check_queue: impl Fn(&mut Problems, &str, &str),
) {
    p.unique_names("inbox.bots", bots.iter().map(|b| b.name.as_str()));
    for (i, b) in bots.iter().enumerate() {
        let at = format!("inbox.bots[{i}]");
        p.identifier(format!("{at}.name"), &b.name);
        if b.name == crate::FAQ_BOT {
            p.push(
                format!("{at}.name"),
                "\"faq\" is the built-in bot answering from [[inbox.faq]]; choose another name",
            );
        }
        match &b.url {
            Some(u)
                if matches!(u.0.scheme(), "http" | "https")
                    && u.0.host_str().is_some_and(|h| !h.is_empty()) => {}
            // The URL is not echoed: it may hold a token.
            Some(_) => p.push(
                format!("{at}.url"),
                "must be an http:// or https:// URL with a host, e.g. \"http://rasa:5005/webhooks/rest/webhook\"",
            ),
            None => p.push(
                format!("{at}.url"),
                "required: the bot's REST channel webhook, e.g. \"http://rasa:5005/webhooks/rest/webhook\"",
            ),
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&b.timeout) {
            p.push(format!("{at}.timeout"), "must be between 1s and 60s");
        }
        if !(Duration::from_secs(60)..=Duration::from_secs(24 * 3600)).contains(&b.silence_close) {
            p.push(format!("{at}.silence_close"), "must be between 1m and 24h");
        }
        if b.handover_intent.trim().is_empty() {
            p.push(
                format!("{at}.handover_intent"),
                "must name the intent that hands over to a person, e.g. \"human_handoff\"",
            );
        }
        if let Some(q) = &b.queue {
            check_queue(p, &format!("{at}.queue"), q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_credentials() {
        let u: BotUrl = "https://bot:pa55@rasa.example.com:8443/webhooks/rest/webhook?token=t0k3n"
            .parse()
            .unwrap();
        let shown = u.to_string();
        assert_eq!(
            shown,
            "https://bot:<redacted>@rasa.example.com:8443/webhooks/rest/webhook?<redacted>"
        );
        for shown in [shown, format!("{u:?}")] {
            assert!(
                !shown.contains("pa55") && !shown.contains("t0k3n"),
                "{shown}"
            );
        }
        assert_eq!(u.expose().query(), Some("token=t0k3n"));
        let plain: BotUrl = "http://[::1]:5005/webhooks/rest/webhook".parse().unwrap();
        assert_eq!(plain.to_string(), "http://[::1]:5005/webhooks/rest/webhook");
    }

    #[test]
    fn bad_values_name_their_keys() {
        let bots = vec![
            BotConfig {
                name: "rasa".into(),
                url: Some("http://rasa:5005/webhooks/rest/webhook".parse().unwrap()),
                ..BotConfig::default()
            },
            BotConfig {
                name: "rasa".into(),
                url: Some("mailto:bot@example.com".parse().unwrap()),
                timeout: Duration::from_millis(500),
                silence_close: Duration::from_secs(30),
                handover_intent: " ".into(),
                queue: Some("nowhere".into()),
            },
            BotConfig::default(),
        ];
        let mut p = Problems::default();
        validate(&bots, &mut p, |p, path, q| {
            if q != "support" {
                p.push(path, "unknown queue");
            }
        });
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "inbox.bots[1].name",
                "inbox.bots[1].url",
                "inbox.bots[1].timeout",
                "inbox.bots[1].silence_close",
                "inbox.bots[1].handover_intent",
                "inbox.bots[1].queue",
                "inbox.bots[2].name",
                "inbox.bots[2].url",
            ]
        );
    }
}
