//! `[widget]`: the sites that embed the chat widget.

use crate::Problems;
use crate::automations::AutomationOverrides;
use crate::hours::HoursConfig;
use crate::value::{check_origin, duration};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[widget]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetConfig {
    /// Sites. The embedded default is one site, `default`, for pages served by the gateway
    /// itself.
    pub sites: Vec<SiteConfig>,
}

impl Default for WidgetConfig {
    fn default() -> Self {
        Self {
            sites: vec![SiteConfig {
                name: "default".into(),
                ..SiteConfig::default()
            }],
        }
    }
}

/// `[[widget.sites]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// Name, given in the embed snippet (`data-site`).
    pub name: String,
    /// Origins allowed to embed the widget, e.g. `["https://www.example.com"]`. The
    /// gateway's own origin is always allowed.
    pub origins: Vec<String>,
    /// Queue for this site's conversations (default: `inbox.default_queue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// WhatsApp account offered for escalation (default: the default account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_account: Option<String>,
    /// With no agent after this long, the widget offers to continue on WhatsApp.
    #[serde(with = "duration")]
    pub escalation_timeout: Duration,
    /// Opening hours (`[widget.sites.hours]`: `time_zone`, `weekly`, `holidays`). Outside
    /// them the widget says `closed_message` and offers WhatsApp at once; conversations
    /// still queue for agents. None: always open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<HoursConfig>,
    /// Shown outside opening hours, with the offer to continue on WhatsApp.
    pub closed_message: String,
    /// How long the one-time code in the WhatsApp link works.
    #[serde(with = "duration")]
    pub handoff_ttl: Duration,
    /// Pre-chat form: ask for the visitor's name (`required`, `optional`, `off`).
    pub ask_name: FieldMode,
    /// Pre-chat form: ask for the visitor's phone number.
    pub ask_phone: FieldMode,
    /// Title of the chat window.
    pub title: String,
    /// First message the visitor sees (the widget's own line, before the conversation
    /// starts; a `welcome_message` is the inbox's, stored in the conversation).
    pub greeting: String,
    /// This site's changes to the automations its conversations follow (`[inbox.automations]`
    /// with its WhatsApp account's overrides): its own `bot`, `welcome_message`, survey, ….
    /// Not `whitelist`, `whitelist_reply`, `ice_breakers` (WhatsApp numbers'), nor `hours`,
    /// `closed_message`, `closed_queue` (the site's own `hours` and `closed_message` say
    /// when it is open).
    pub automations: AutomationOverrides,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            origins: Vec::new(),
            queue: None,
            whatsapp_account: None,
            escalation_timeout: Duration::from_secs(60),
            hours: None,
            closed_message: "We are closed right now. Continue on WhatsApp and we will answer \
                             there as soon as we open; your messages come along."
                .into(),
            handoff_ttl: Duration::from_secs(1800),
            ask_name: FieldMode::Required,
            ask_phone: FieldMode::Optional,
            title: "Chat with us".into(),
            greeting: "Hello! How can we help?".into(),
            automations: AutomationOverrides::default(),
        }
    }
}

/// Whether a pre-chat form field is shown and whether it must be filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldMode {
    /// Shown and required.
    Required,
    /// Shown, may be left empty.
    Optional,
    /// Not shown.
    Off,
}

impl WidgetConfig {
    /// The site called `name`.
    pub fn site(&self, name: &str) -> Option<&SiteConfig> {
        self.sites.iter().find(|s| s.name == name)
    }

    pub(crate) fn validate(&self, p: &mut Problems) {
        p.unique_names("widget.sites", self.sites.iter().map(|s| s.name.as_str()));
        for (i, s) in self.sites.iter().enumerate() {
            let at = format!("widget.sites[{i}]");
            p.identifier(format!("{at}.name"), &s.name);
            for (j, o) in s.origins.iter().enumerate() {
                if let Err(e) = check_origin(o) {
                    p.push(format!("{at}.origins[{j}]"), e);
                }
            }
            if s.escalation_timeout < Duration::from_secs(5) {
                p.push(format!("{at}.escalation_timeout"), "must be at least 5s");
            }
            if s.handoff_ttl < Duration::from_secs(60)
                || s.handoff_ttl > Duration::from_secs(7 * 86400)
            {
                p.push(format!("{at}.handoff_ttl"), "must be between 1m and 7d");
            }
            if let Some(h) = &s.hours {
                h.validate(p, &format!("{at}.hours"));
            }
            if s.closed_message.trim().is_empty() || s.closed_message.chars().count() > 500 {
                p.push(
                    format!("{at}.closed_message"),
                    "write 1 to 500 characters, shown to visitors outside opening hours",
                );
            }
        }
    }
}
