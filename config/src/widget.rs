//! `[widget]`: the sites that embed the chat widget.

use crate::Problems;
use crate::automations::AutomationOverrides;
use crate::hours::HoursConfig;
use crate::language::is_language_code;
use crate::value::{check_origin, duration};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// Visitors may call from the widget ("Call us", a WebRTC call from the browser): the
    /// call goes to the IVR flow this number routes to, as a phone call dialled to it would.
    /// None: no calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_number: Option<String>,
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
    /// The site's texts in other languages, by ISO 639-1 code (`[widget.sites.translations.nl]`
    /// `title`, `greeting`, `closed_message`): a visitor whose browser prefers one sees them;
    /// a text left out there is the site's own.
    pub translations: BTreeMap<String, SiteTexts>,
}

/// A widget site's texts in one language.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteTexts {
    /// `title`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `greeting`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// `closed_message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_message: Option<String>,
}

/// A site's texts as one visitor sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownTexts<'a> {
    /// The language they are in: one of the site's translations, or none (the site's own).
    pub language: Option<&'a str>,
    /// `title`.
    pub title: &'a str,
    /// `greeting`.
    pub greeting: &'a str,
    /// `closed_message`.
    pub closed_message: &'a str,
}

impl SiteConfig {
    /// The texts for a visitor preferring `languages` (best first, language tags such as
    /// `nl-BE`): those of the first language the site has a translation for, each text it
    /// leaves out the site's own.
    pub fn texts_for<'a>(&'a self, languages: impl IntoIterator<Item = &'a str>) -> ShownTexts<'a> {
        let found = languages.into_iter().find_map(|tag| {
            let primary = tag.split(['-', '_']).next().unwrap_or_default();
            let key = self
                .translations
                .keys()
                .find(|k| k.eq_ignore_ascii_case(primary))?;
            Some((key.as_str(), &self.translations[key]))
        });
        let pick = |own: &'a String, f: fn(&'a SiteTexts) -> &'a Option<String>| {
            found.and_then(|(_, t)| f(t).as_deref()).unwrap_or(own)
        };
        ShownTexts {
            language: found.map(|(l, _)| l),
            title: pick(&self.title, |t| &t.title),
            greeting: pick(&self.greeting, |t| &t.greeting),
            closed_message: pick(&self.closed_message, |t| &t.closed_message),
        }
    }
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
            call_number: None,
            ask_name: FieldMode::Required,
            ask_phone: FieldMode::Optional,
            title: "Chat with us".into(),
            greeting: "Hello! How can we help?".into(),
            automations: AutomationOverrides::default(),
            translations: BTreeMap::new(),
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
            if let Some(n) = &s.call_number
                && !is_dialled_number(n)
            {
                p.push(
                    format!("{at}.call_number"),
                    "must be a number as a flow lists it: an optional + and 1 to 20 digits",
                );
            }
            if s.closed_message.trim().is_empty() || s.closed_message.chars().count() > 500 {
                p.push(
                    format!("{at}.closed_message"),
                    "write 1 to 500 characters, shown to visitors outside opening hours",
                );
            }
            check_shown(p, &format!("{at}.title"), &s.title, 100);
            check_shown(p, &format!("{at}.greeting"), &s.greeting, 1000);
            for (lang, t) in &s.translations {
                let at = format!("{at}.translations.{lang}");
                if !is_language_code(lang) {
                    p.push(
                        at.clone(),
                        "must be an ISO 639-1 language code in lowercase, e.g. \"nl\"",
                    );
                }
                let texts = [("title", &t.title, 100), ("greeting", &t.greeting, 1000)];
                for (key, text, max) in texts {
                    if let Some(text) = text {
                        check_shown(p, &format!("{at}.{key}"), text, max);
                    }
                }
                if let Some(text) = &t.closed_message {
                    check_shown(p, &format!("{at}.closed_message"), text, 500);
                }
            }
        }
    }
}

/// A number a call may be dialled to: `+` (optional) and 1 to 20 digits.
fn is_dialled_number(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or(n);
    (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A text the widget shows: 1 to `max` characters.
fn check_shown(p: &mut Problems, at: &str, text: &str, max: usize) {
    if text.trim().is_empty() || text.chars().count() > max {
        p.push(at, format!("write 1 to {max} characters"));
    }
}

#[cfg(test)]
mod texts_tests {
    use super::*;

    #[test]
    fn a_visitor_sees_the_first_language_of_theirs_the_site_speaks() {
        let site = SiteConfig {
            translations: BTreeMap::from([
                (
                    "nl".into(),
                    SiteTexts {
                        title: Some("Chat met ons".into()),
                        ..SiteTexts::default()
                    },
                ),
                (
                    "de".into(),
                    SiteTexts {
                        greeting: Some("Hallo!".into()),
                        ..SiteTexts::default()
                    },
                ),
            ]),
            ..SiteConfig::default()
        };
        let nl = site.texts_for(["fr-FR", "nl-BE", "de"]);
        assert_eq!(
            (nl.language, nl.title, nl.greeting),
            (Some("nl"), "Chat met ons", "Hello! How can we help?")
        );
        let de = site.texts_for(["DE"]);
        assert_eq!(
            (de.language, de.title, de.greeting),
            (Some("de"), "Chat with us", "Hallo!")
        );
        assert_eq!(site.texts_for(["fr"]).language, None);
        assert_eq!(site.texts_for([]).closed_message, site.closed_message);
    }
}
