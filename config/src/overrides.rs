//! Settings admins change while the gateway runs: the automations (inbox-wide, per WhatsApp
//! account, widget site and IVR flow), a widget site's texts and a queue's timeouts and
//! dispositions. Each [`SettingScope`] takes its [`Overrides`], applied over the
//! configuration ([`Config::with_overrides`]) and checked by the same rules as the file
//! ([`Config::problems`]).
//!
//! The configuration file stays the operator's: a key it sets is shown read-only and cannot
//! be overridden ([`Config::configured_keys`]); the keys it leaves at their defaults are the
//! admins'. Not overridable here: whatever routes or admits (queues and accounts themselves,
//! a site's origins, queue and account), the whitelist (its own list in the API) and ice
//! breakers (pushed to WhatsApp at start).

use crate::automations::{AutomationOverrides, AutomationsConfig};
use crate::inbox::{Fallback, QueueConfig};
use crate::value::duration;
use crate::widget::{FieldMode, SiteConfig, SiteTexts};
use crate::{Config, Problem, Problems};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;
use toml::{Table, Value};

/// What a set of overrides applies to, written `inbox`, `account:NAME`, `site:NAME`,
/// `flow:NAME` or `queue:NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SettingScope {
    /// `[inbox.automations]`.
    Inbox,
    /// A WhatsApp account's automations.
    Account(String),
    /// A widget site's texts and automations.
    Site(String),
    /// An IVR flow's automations.
    Flow(String),
    /// A queue's timeouts, fallback and dispositions.
    Queue(String),
}

impl SettingScope {
    /// From its written form; none for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "inbox" {
            return Some(Self::Inbox);
        }
        let (kind, name) = s.split_once(':')?;
        if name.is_empty() {
            return None;
        }
        let name = name.to_string();
        match kind {
            "account" => Some(Self::Account(name)),
            "site" => Some(Self::Site(name)),
            "flow" => Some(Self::Flow(name)),
            "queue" => Some(Self::Queue(name)),
            _ => None,
        }
    }

    /// Every scope configuration `c` has: the inbox, then its accounts, sites, flows and
    /// queues in the file's order.
    pub fn all(c: &Config) -> Vec<Self> {
        let mut all = vec![Self::Inbox];
        all.extend(
            c.whatsapp
                .accounts
                .iter()
                .map(|a| Self::Account(a.name.clone())),
        );
        all.extend(c.widget.sites.iter().map(|s| Self::Site(s.name.clone())));
        all.extend(c.ivr.flows.iter().map(|f| Self::Flow(f.name.clone())));
        all.extend(c.inbox.queues.iter().map(|q| Self::Queue(q.name.clone())));
        all
    }

    /// `inbox`, `account`, `site`, `flow` or `queue`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Account(_) => "account",
            Self::Site(_) => "site",
            Self::Flow(_) => "flow",
            Self::Queue(_) => "queue",
        }
    }

    /// Where this scope's settings are in configuration `c` (`widget.sites[0]`); none when
    /// `c` has no such account, site, flow or queue.
    pub fn path(&self, c: &Config) -> Option<String> {
        let at = |list: &str, i: Option<usize>| i.map(|i| format!("{list}[{i}]"));
        match self {
            Self::Inbox => Some("inbox.automations".into()),
            Self::Account(n) => at(
                "whatsapp.accounts",
                c.whatsapp.accounts.iter().position(|a| &a.name == n),
            )
            .map(|p| format!("{p}.automations")),
            Self::Site(n) => at(
                "widget.sites",
                c.widget.sites.iter().position(|s| &s.name == n),
            ),
            Self::Flow(n) => at("ivr.flows", c.ivr.flows.iter().position(|f| &f.name == n))
                .map(|p| format!("{p}.automations")),
            Self::Queue(n) => at(
                "inbox.queues",
                c.inbox.queues.iter().position(|q| &q.name == n),
            ),
        }
    }

    /// Reads this scope's overrides (a JSON object, say): the keys it takes, typed;
    /// anything else is refused naming the valid keys.
    pub fn read<'de, D: serde::Deserializer<'de>>(&self, d: D) -> Result<Overrides, D::Error> {
        Ok(match self {
            Self::Inbox | Self::Account(_) | Self::Flow(_) => {
                Overrides::Automations(AutomationOverrides::deserialize(d)?)
            }
            Self::Site(_) => Overrides::Site(SiteOverrides::deserialize(d)?),
            Self::Queue(_) => Overrides::Queue(QueueOverrides::deserialize(d)?),
        })
    }
}

impl fmt::Display for SettingScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inbox => f.write_str("inbox"),
            Self::Account(n) | Self::Site(n) | Self::Flow(n) | Self::Queue(n) => {
                write!(f, "{}:{n}", self.kind())
            }
        }
    }
}

/// One scope's overrides.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Overrides {
    /// The inbox's, an account's or a flow's automations.
    Automations(AutomationOverrides),
    /// A widget site's.
    Site(SiteOverrides),
    /// A queue's.
    Queue(QueueOverrides),
}

/// A widget site's overridable keys: its texts, pre-chat form and escalation time, and its
/// conversations' automations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteOverrides {
    /// `title`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `greeting`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// `closed_message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_message: Option<String>,
    /// `escalation_timeout`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "duration::option",
        default
    )]
    pub escalation_timeout: Option<Duration>,
    /// `ask_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_name: Option<FieldMode>,
    /// `ask_phone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ask_phone: Option<FieldMode>,
    /// `automations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automations: Option<AutomationOverrides>,
    /// `translations`: by language, `title`, `greeting`, `closed_message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translations: Option<BTreeMap<String, SiteTexts>>,
}

/// A queue's overridable keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueOverrides {
    /// `offer_timeout`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "duration::option",
        default
    )]
    pub offer_timeout: Option<Duration>,
    /// `wait_timeout`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "duration::option",
        default
    )]
    pub wait_timeout: Option<Duration>,
    /// `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// `fallback_queue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_queue: Option<String>,
    /// `auto_reply`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
    /// `disposition_required`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition_required: Option<bool>,
    /// `dispositions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispositions: Option<Vec<String>>,
    /// `sla_warning`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "duration::option",
        default
    )]
    pub sla_warning: Option<Duration>,
    /// `sla_breach`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "duration::option",
        default
    )]
    pub sla_breach: Option<Duration>,
}

/// Automation keys no override here may set, each with why.
const NOT_HERE: &[(&str, &str)] = &[
    (
        "whitelist",
        "is managed in the whitelist (Settings, or /api/v1/whitelist)",
    ),
    (
        "ice_breakers",
        "is given to WhatsApp when the gateway starts; set it in the configuration file",
    ),
];

/// Why overrides cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverrideError {
    /// The configuration has no such account, site, flow or queue.
    NoSuchScope,
    /// These keys (full paths) are the configuration file's, or cannot be set here: each
    /// with why.
    Refused(Vec<Problem>),
}

impl Overrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.keys().is_empty()
    }

    /// The keys set, dotted (`automations.welcome_message`).
    pub fn keys(&self) -> BTreeSet<String> {
        keys_of(self)
    }
}

impl Config {
    /// Every problem of this configuration, as loading would find them.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        self.validate(&mut p);
        p.into_vec()
    }

    /// The keys of `scope` this configuration sets (dotted, from the scope's path): those
    /// differing from their defaults, and every key of an account's, site's or flow's
    /// automations it writes.
    pub fn configured_keys(&self, scope: &SettingScope) -> BTreeSet<String> {
        match scope {
            SettingScope::Inbox => {
                differing(&self.inbox.automations, &AutomationsConfig::default())
            }
            SettingScope::Account(n) => (self.whatsapp.accounts.iter())
                .find(|a| &a.name == n)
                .map(|a| keys_of(&a.automations))
                .unwrap_or_default(),
            SettingScope::Flow(n) => (self.ivr.flows.iter())
                .find(|f| &f.name == n)
                .map(|f| keys_of(&f.automations))
                .unwrap_or_default(),
            SettingScope::Site(n) => (self.widget.sites.iter())
                .find(|s| &s.name == n)
                .map(|s| {
                    let plain = SiteConfig {
                        automations: AutomationOverrides::default(),
                        ..s.clone()
                    };
                    let defaults = SiteConfig {
                        name: s.name.clone(),
                        ..SiteConfig::default()
                    };
                    let mut keys = differing(&plain, &defaults);
                    let automations = keys_of(&s.automations).into_iter();
                    keys.extend(automations.map(|k| format!("automations.{k}")));
                    keys
                })
                .unwrap_or_default(),
            SettingScope::Queue(n) => (self.inbox.queues.iter())
                .find(|q| &q.name == n)
                .map(|q| {
                    let defaults = QueueConfig {
                        name: q.name.clone(),
                        ..QueueConfig::default()
                    };
                    differing(q, &defaults)
                })
                .unwrap_or_default(),
        }
    }

    /// Applies `o` to `scope`: its keys replace the configuration's (an account's, site's
    /// or flow's automations keep the keys `o` leaves out). Refuses keys the file sets and
    /// keys no override may set; checks nothing else (see [`Config::problems`]).
    pub fn with_overrides(
        &mut self,
        scope: &SettingScope,
        o: &Overrides,
    ) -> Result<(), OverrideError> {
        let path = scope.path(self).ok_or(OverrideError::NoSuchScope)?;
        let configured = self.configured_keys(scope);
        let mut refused = Vec::new();
        for key in o.keys() {
            let why = NOT_HERE
                .iter()
                .find(|(k, _)| key == *k || key.strip_prefix("automations.") == Some(*k))
                .map(|(_, why)| why.to_string())
                .or_else(|| {
                    configured.contains(&key).then(|| {
                        "is set in the configuration file; change it there (or remove it \
                         there to manage it here)"
                            .to_string()
                    })
                });
            if let Some(message) = why {
                refused.push(Problem {
                    path: format!("{path}.{key}"),
                    message,
                });
            }
        }
        if !refused.is_empty() {
            return Err(OverrideError::Refused(refused));
        }
        match (scope, o) {
            (SettingScope::Inbox, Overrides::Automations(o)) => {
                self.inbox.automations = self.inbox.automations.with(o);
            }
            (SettingScope::Account(n), Overrides::Automations(o)) => {
                if let Some(a) = self.whatsapp.accounts.iter_mut().find(|a| &a.name == n) {
                    a.automations = overlay_automations(&a.automations, o);
                }
            }
            (SettingScope::Flow(n), Overrides::Automations(o)) => {
                if let Some(f) = self.ivr.flows.iter_mut().find(|f| &f.name == n) {
                    f.automations = overlay_automations(&f.automations, o);
                }
            }
            (SettingScope::Site(n), Overrides::Site(o)) => {
                if let Some(s) = self.widget.sites.iter_mut().find(|s| &s.name == n) {
                    let texts = SiteOverrides {
                        automations: None,
                        ..o.clone()
                    };
                    *s = overlay(s, &texts);
                    if let Some(a) = &o.automations {
                        s.automations = overlay_automations(&s.automations, a);
                    }
                }
            }
            (SettingScope::Queue(n), Overrides::Queue(o)) => {
                if let Some(q) = self.inbox.queues.iter_mut().find(|q| &q.name == n) {
                    *q = overlay(q, o);
                }
            }
            // `SettingScope::read` gives each scope its own kind.
            _ => return Err(OverrideError::NoSuchScope),
        }
        Ok(())
    }
}

/// `base` with the keys `over` sets replaced; a new welcome message without translations
/// drops the translations of the text it replaces.
fn overlay_automations(
    base: &AutomationOverrides,
    over: &AutomationOverrides,
) -> AutomationOverrides {
    let mut merged = overlay(base, over);
    if over.welcome_message.is_some() && over.welcome_translations.is_none() {
        merged.welcome_translations = None;
    }
    merged
}

/// `base` with the keys `over` sets (as serialized: tables merge key by key, anything else
/// replaces).
fn overlay<T: Serialize + DeserializeOwned + Clone, O: Serialize>(base: &T, over: &O) -> T {
    let (Ok(mut table), Ok(over)) = (Table::try_from(base), Table::try_from(over)) else {
        return base.clone();
    };
    crate::load::merge(&mut table, over);
    // Both serialize from this crate's types, whose keys match; a failure keeps `base`.
    T::deserialize(table).unwrap_or_else(|_| base.clone())
}

/// The keys `value` serializes (nested tables dotted; unset options have none).
fn keys_of<T: Serialize>(value: &T) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    if let Ok(t) = Table::try_from(value) {
        collect(&t, "", &mut keys, None);
    }
    keys
}

/// The keys whose values differ between `value` and `default`.
fn differing<T: Serialize>(value: &T, default: &T) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    if let (Ok(v), Ok(d)) = (Table::try_from(value), Table::try_from(default)) {
        collect(&v, "", &mut keys, Some(&d));
        // A key only the default has (an option the value leaves unset).
        for k in d.keys().filter(|k| !v.contains_key(*k)) {
            keys.insert(k.clone());
        }
    }
    keys
}

/// Adds `t`'s keys to `keys` (with `default`: only those whose values differ from it); a
/// site's `automations` are its own keys, dotted.
fn collect(t: &Table, prefix: &str, keys: &mut BTreeSet<String>, default: Option<&Table>) {
    for (k, v) in t {
        let key = format!("{prefix}{k}");
        let d = default.and_then(|d| d.get(k));
        match (v, d) {
            (Value::Table(inner), d) if k == "automations" => {
                let d = d.and_then(Value::as_table);
                let empty = Table::new();
                let d = default.map(|_| d.unwrap_or(&empty));
                collect(inner, &format!("{key}."), keys, d);
            }
            _ if default.is_none() || d != Some(v) => {
                keys.insert(key);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        toml::from_str(toml).unwrap()
    }

    fn read(scope: &SettingScope, json: &str) -> Overrides {
        scope
            .read(&mut serde_json::Deserializer::from_str(json))
            .unwrap()
    }

    const FILE: &str = r#"
        [inbox.automations]
        welcome_message = "Hi from the file"
        [[inbox.queues]]
        name = "support"
        wait_timeout = "10m"
        [[widget.sites]]
        name = "shop"
        title = "Shop chat"
        [widget.sites.automations]
        csat = true
    "#;

    #[test]
    fn scopes_are_written_as_kind_and_name() {
        for s in [
            "inbox",
            "account:main",
            "site:shop",
            "flow:sales",
            "queue:support",
        ] {
            assert_eq!(SettingScope::parse(s).unwrap().to_string(), s);
        }
        for s in ["", "site:", "site", "trunk:x", "Inbox"] {
            assert_eq!(SettingScope::parse(s), None, "{s}");
        }
        let c = config(FILE);
        assert_eq!(
            SettingScope::all(&c),
            [
                SettingScope::Inbox,
                SettingScope::Account("sandbox".into()),
                SettingScope::Site("shop".into()),
                SettingScope::Queue("support".into())
            ]
        );
        assert_eq!(
            SettingScope::Site("shop".into()).path(&c).as_deref(),
            Some("widget.sites[0]")
        );
        assert_eq!(SettingScope::Site("nope".into()).path(&c), None);
    }

    #[test]
    fn keys_the_file_sets_are_its_own() {
        let c = config(FILE);
        let site = SettingScope::Site("shop".into());
        assert_eq!(
            c.configured_keys(&site),
            BTreeSet::from(["title".into(), "automations.csat".into()])
        );
        assert_eq!(
            c.configured_keys(&SettingScope::Queue("support".into())),
            BTreeSet::from(["wait_timeout".into()])
        );
        let mut edited = c.clone();
        let o = read(
            &site,
            r#"{"title": "Ours", "automations": {"csat": false}}"#,
        );
        let Err(OverrideError::Refused(refused)) = edited.with_overrides(&site, &o) else {
            panic!("applied over the file's keys");
        };
        let paths: Vec<_> = refused.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["widget.sites[0].automations.csat", "widget.sites[0].title"]
        );
        assert_eq!(edited, c, "nothing applied");
        let inbox = read(&SettingScope::Inbox, r#"{"welcome_message": "x"}"#);
        assert!(edited.with_overrides(&SettingScope::Inbox, &inbox).is_err());
        let listed = read(&SettingScope::Inbox, r#"{"whitelist": ["+31*"]}"#);
        let Err(OverrideError::Refused(refused)) =
            edited.with_overrides(&SettingScope::Inbox, &listed)
        else {
            panic!("the whitelist overridden");
        };
        assert_eq!(refused[0].path, "inbox.automations.whitelist");
    }

    #[test]
    fn overrides_replace_only_the_keys_they_set() {
        let mut c = config(FILE);
        let site = SettingScope::Site("shop".into());
        let o = read(
            &site,
            r#"{"greeting": "Welkom", "escalation_timeout": "2m",
                "automations": {"csat_question": "Hoe was het?"}}"#,
        );
        c.with_overrides(&site, &o).unwrap();
        let s = &c.widget.sites[0];
        assert_eq!(
            (s.title.as_str(), s.greeting.as_str(), s.escalation_timeout),
            ("Shop chat", "Welkom", Duration::from_secs(120))
        );
        assert_eq!(s.automations.csat, Some(true), "the file's automation kept");
        assert_eq!(s.automations.csat_question.as_deref(), Some("Hoe was het?"));
        let queue = SettingScope::Queue("support".into());
        let o = read(
            &queue,
            r#"{"dispositions": ["sold", "lost"], "offer_timeout": "45s"}"#,
        );
        c.with_overrides(&queue, &o).unwrap();
        let q = &c.inbox.queues[0];
        assert_eq!(q.dispositions, ["sold", "lost"]);
        assert_eq!(q.offer_timeout, Some(Duration::from_secs(45)));
        assert_eq!(q.wait_timeout, Duration::from_secs(600));
        let inbox = read(
            &SettingScope::Inbox,
            r#"{"csat": true, "reminder_after": "2m"}"#,
        );
        c.with_overrides(&SettingScope::Inbox, &inbox).unwrap();
        assert!(c.inbox.automations.csat);
        assert_eq!(c.inbox.automations.welcome_message, "Hi from the file");
    }

    #[test]
    fn overrides_are_checked_as_the_file_would_be() {
        let mut c = config(FILE);
        assert_eq!(c.problems(), []);
        let queue = SettingScope::Queue("support".into());
        let o = read(
            &queue,
            r#"{"fallback": "queue", "fallback_queue": "nowhere"}"#,
        );
        c.with_overrides(&queue, &o).unwrap();
        let problems = c.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "inbox.queues[0].fallback_queue");
        // Unknown keys and wrong types are refused when read, naming the key.
        let bad = SettingScope::Site("shop".into())
            .read(&mut serde_json::Deserializer::from_str(
                r#"{"origins": []}"#,
            ))
            .unwrap_err();
        assert!(bad.to_string().contains("unknown field `origins`"), "{bad}");
        assert!(read(&queue, "{}").is_empty());
    }
}
