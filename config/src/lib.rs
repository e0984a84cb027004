//! deflect's configuration: one typed tree, loaded from a TOML file and `DEFLECT_*`
//! environment variables, with every problem found and reported before any port is bound.
//!
//! ```
//! let config = deflect_config::load(None, Vec::<(String, String)>::new()).expect("defaults are valid");
//! assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
//! assert_eq!(config.whatsapp.default_account().map(|a| a.name.as_str()), Some("sandbox"));
//! ```
//!
//! # Sources, in order of precedence
//!
//! 1. Environment: `DEFLECT_<SECTION>__<KEY>` — `__` separates levels, list entries are
//!    addressed by index or by name: `DEFLECT_HTTP__LISTEN=0.0.0.0:8080`,
//!    `DEFLECT_WHATSAPP__ACCOUNTS__MAIN__ACCESS_TOKEN=…`. Values are read as TOML
//!    (`["udp:0.0.0.0:5060"]`, `30`, `true`) and otherwise as plain strings.
//! 2. The file given with `--config`.
//! 3. The embedded defaults: a file only needs what differs from them.
//!
//! Secrets (`access_token`, `app_secret`, `verify_token`, `auth_token`, `password`, …) can
//! also be read from a file named by `<key>_file`. They are held as [`Secret`] and never
//! printed, logged or echoed in an error. A URL that may carry a credential — a bot's
//! `inbox.bots[].url` ([`BotUrl`]) — is shown without its password and its query.
//!
//! # Why a recovery loop rather than plain serde
//!
//! serde stops at the first error. Operators want every problem at once, so [`load`]
//! deserializes, records the failing key, removes it and tries again until the tree
//! deserializes; then it validates what depends on several keys. Every struct has defaults,
//! so a removed key never hides the problems of the others.

//!
//! # Texts with variables
//!
//! Canned answers and automatic messages (a queue's `auto_reply`, an `[[inbox.faq]]`
//! entry's `answer`) are checked with [`check_text`] where they are configured or saved and
//! filled with [`render_text`]: one renderer, minijinja (Jinja syntax, `{{ customer_name }}`),
//! chosen because it is well kept, has no dependencies with its default features off, and
//! lists a template's variables — which is how an unknown one is reported with its key
//! rather than sent.
//!
//! # Questions answered automatically
//!
//! `[[inbox.faq]]` lists questions ([`FaqEntry`]: `question`, `answer`, an optional
//! `language` from [`FAQ_LANGUAGES`] and an optional WhatsApp `account`); deflect-chat's
//! `faq` module matches customers' messages against them.
//!
//! # Attachments
//!
//! `[attachments]` ([`AttachmentsConfig`]) says where the bytes of media messages are kept —
//! `store = "local"` (a directory, [`Config::attachments_path`]) or `"s3"` (a bucket of
//! [`S3Config`], for several processes) — and caps each [`MediaKind`] at WhatsApp's limits
//! ([`MaxSizes`], sizes written as [`ByteSize`]: `"5MiB"`).

#![forbid(unsafe_code)]

mod attachments;
mod automations;
mod bots;
mod call_record;
mod database;
mod deflection;
mod faq;
mod hours;
mod http;
mod inbox;
mod ivr;
mod jumps;
mod language;
mod load;
mod media;
mod overrides;
mod problems;
mod relay;
mod secret;
mod sip;
mod sms;
mod text;
mod value;
mod whatsapp;
mod widget;

pub use attachments::{AttachmentsConfig, MaxSizes, MediaKind, S3Config, StoreKind};
pub use automations::{
    AutomationOverrides, AutomationsConfig, CsatScale, DEFAULT_FAQ_MIN_SCORE, FAQ_BOT,
    OverrideScope,
};
pub use automations::{check_whitelist_entry, whitelist_matches};
pub use bots::{BotConfig, BotUrl};
pub use call_record::{CallOutcome, CallRecord};
pub use database::{DatabaseConfig, DatabaseKind, DatabaseUrl};
pub use deflection::{CallContext, Deflection, InputMethod, MAX_PATH, PathStep};
pub use faq::{DEFAULT_FAQ_LANGUAGE, FAQ_LANGUAGES, FaqEntry, MAX_FAQ_ANSWER, MAX_FAQ_QUESTION};
pub use hours::{HoursConfig, HoursError, OpeningHours, WeeklyInterval};
pub use http::{HttpConfig, WEBHOOK_EVENTS, WebhookConfig};
pub use inbox::{Fallback, InboxConfig, OutboxConfig, QueueConfig};
pub use ivr::{
    BUILTIN_LANGUAGE_PROMPTS, BUILTIN_PROMPT_LANGUAGES, BUILTIN_PROMPTS, BranchStep, ConfirmStep,
    DIGIT_WORD_VALUES, DeflectStep, FlowConfig, GatherInput, GatherStep, HangupStep, HuntStrategy,
    IvrConfig, LimitsConfig, MUSIC_PROMPT, MenuStep, NUMBER_PROMPT, PlayStep, SpeechConfig,
    StepConfig, TransferMode, TransferStep, inbox_queue,
};
pub use jumps::{Jumps, UnknownTarget, resolve_jumps};
pub use language::language_code;
pub use load::{RESERVED_ENV, load, load_from_process};
pub use media::{Codec, IceServerConfig, MediaConfig};
pub use overrides::{OverrideError, Overrides, QueueOverrides, SettingScope, SiteOverrides};
pub use problems::{ConfigError, Problem, Problems};
pub use relay::{
    MAX_RELAY_AGENT_NAME, MAX_RELAY_AGENTS, RELAY_VARIABLES, RelayAgent, RelayConfig, RelayFallback,
};
pub use secret::{REDACTED, SECRET_KEYS, Secret};
pub use sip::{
    CertificatePin, ChallengeSource, IdleMedia, OutboundAuthConfig, RegisterConfig, SipAuthConfig,
    SipConfig, SipTimers, SipTlsConfig, SrtpPolicy, TrunkConfig, UnauthorizedAction,
};
pub use sms::{MAX_SMS_TEXT, SMS_VARIABLES, SmsFallbackConfig, SmsProvider};
pub use text::{CONVERSATION_VARIABLES, QUEUE_VARIABLES, TextError, check_text, render_text};
pub use value::{ByteSize, Cidr, ListenAddr, PortRange, SipTransport, is_e164};
pub use whatsapp::{AccountConfig, Provider, TemplateConfig, TemplatesConfig, WhatsAppConfig};
pub use widget::{FieldMode, ShownTexts, SiteConfig, SiteTexts, WidgetConfig};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// A complete, commented configuration that [`load`] accepts; `deflect config example`
/// prints it.
pub const EXAMPLE: &str = include_str!("../example.toml");

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for the SQLite database and other state; created at start-up.
    pub data_dir: PathBuf,
    /// HTTP listener.
    pub http: HttpConfig,
    /// SIP signalling.
    pub sip: SipConfig,
    /// RTP media.
    pub media: MediaConfig,
    /// IVR flows.
    pub ivr: IvrConfig,
    /// Database.
    pub database: DatabaseConfig,
    /// WhatsApp accounts.
    pub whatsapp: WhatsAppConfig,
    /// Queues, routing, the outbox and bots.
    pub inbox: InboxConfig,
    /// Web chat widget.
    pub widget: WidgetConfig,
    /// Where media attachments are stored, and their size caps.
    pub attachments: AttachmentsConfig,
    /// Stopping.
    pub shutdown: ShutdownConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            http: HttpConfig::default(),
            sip: SipConfig::default(),
            media: MediaConfig::default(),
            ivr: IvrConfig::default(),
            database: DatabaseConfig::default(),
            whatsapp: WhatsAppConfig::default(),
            inbox: InboxConfig::default(),
            widget: WidgetConfig::default(),
            attachments: AttachmentsConfig::default(),
            shutdown: ShutdownConfig::default(),
        }
    }
}

/// `[shutdown]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// On SIGINT/SIGTERM, calls in progress get this long to finish before they are hung up.
    #[serde(with = "value::duration")]
    pub grace_period: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace_period: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// The effective configuration as TOML, secrets shown as `<redacted>`.
    pub fn to_redacted_toml(&self) -> String {
        // Every field is a TOML-representable type (strings, integers, tables, lists);
        // a failure here is a bug in this crate's types.
        toml::to_string(self).expect("the configuration tree serializes to TOML")
    }

    /// The database URL: `database.url`, or the SQLite file in the data directory.
    pub fn database_url(&self) -> DatabaseUrl {
        self.database.url.clone().unwrap_or_else(|| {
            format!("sqlite://{}/deflect.db", self.data_dir.display())
                .parse()
                .expect("a sqlite:// URL always parses")
        })
    }

    /// The attachments directory: `attachments.path`, or `attachments` in the data directory.
    pub fn attachments_path(&self) -> PathBuf {
        self.attachments
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("attachments"))
    }

    fn validate(&self, p: &mut Problems) {
        if self.data_dir.as_os_str().is_empty() {
            p.push(
                "data_dir",
                "must name a directory, e.g. \"./data\" or \"/var/lib/deflect\"",
            );
        }
        self.http.validate(p);
        self.sip.validate(p);
        self.media.validate(p);
        self.ivr.validate(p);
        self.database.validate(p);
        self.whatsapp.validate(p);
        self.inbox.validate(p);
        self.widget.validate(p);
        self.attachments.validate(p);
        for (i, a) in self.whatsapp.accounts.iter().enumerate() {
            let at = format!("whatsapp.accounts[{i}].automations");
            a.automations.validate(&self.inbox.automations, p, &at);
            let rules = self.inbox.automations.with(&a.automations);
            let twilio = a.provider == Provider::Twilio;
            automations::check_csat_template_for(&rules, twilio, p, &at);
            if a.automations.bot.is_some() {
                let bots = self.inbox.bots.iter().map(|b| b.name.as_str());
                (self.inbox.automations.with(&a.automations)).check_bot(p, &at, bots);
            }
        }
        for (i, f) in self.ivr.flows.iter().enumerate() {
            let at = format!("ivr.flows[{i}]");
            self.whatsapp.check_reference(
                p,
                &format!("{at}.whatsapp_account"),
                f.whatsapp_account.as_deref(),
            );
            if let Some(q) = &f.queue {
                self.inbox.check_queue(p, &format!("{at}.queue"), q);
            }
            let account = f.whatsapp_account.as_deref();
            self.check_scope(p, &at, OverrideScope::Flow, account, &f.automations);
            for (j, step) in f.steps.iter().enumerate() {
                let ivr::StepConfig::Transfer(t) = step else {
                    continue;
                };
                if let Some(trunk) = &t.trunk {
                    let names = self.sip.trunks.iter().map(|t| t.name.as_str());
                    p.reference(format!("{at}.steps[{j}].trunk"), trunk, "trunk", names);
                }
                if t.mode != ivr::TransferMode::Bridge {
                    continue;
                }
                let targets = std::iter::once(("target".to_owned(), &t.target))
                    .chain((t.hunt.iter().enumerate()).map(|(k, h)| (format!("hunt[{k}]"), h)));
                for (key, target) in targets {
                    if let Some(queue) = ivr::inbox_queue(target) {
                        self.inbox
                            .check_queue(p, &format!("{at}.steps[{j}].{key}"), queue);
                    }
                }
            }
        }
        for (i, t) in self.sip.trunks.iter().enumerate() {
            let bridged = (self.ivr.flows.iter().flat_map(|f| &f.steps)).any(
                |s| matches!(s, ivr::StepConfig::Transfer(x) if x.trunk.as_ref() == Some(&t.name)),
            );
            if t.outbound_proxy.is_some() && t.register.is_none() && !bridged {
                p.push(
                    format!("sip.trunks[{i}].outbound_proxy"),
                    "only the trunk's REGISTERs and the bridges placed through it go through it: \
                     add [sip.trunks.register] or a transfer step with trunk = this trunk's name, \
                     or remove it",
                );
            }
            if t.outbound_auth.is_some() && !bridged {
                p.push(
                    format!("sip.trunks[{i}].outbound_auth"),
                    "only calls placed through the trunk answer its challenges with it: add a \
                     transfer step with trunk = this trunk's name, or remove it",
                );
            }
        }
        for (i, s) in self.widget.sites.iter().enumerate() {
            let at = format!("widget.sites[{i}]");
            self.whatsapp.check_reference(
                p,
                &format!("{at}.whatsapp_account"),
                s.whatsapp_account.as_deref(),
            );
            if let Some(q) = &s.queue {
                self.inbox.check_queue(p, &format!("{at}.queue"), q);
            }
            let account = s.whatsapp_account.as_deref();
            self.check_scope(p, &at, OverrideScope::Site, account, &s.automations);
        }
        for (i, account) in self.inbox.relay.accounts.iter().enumerate() {
            let at = format!("inbox.relay.accounts[{i}]");
            self.whatsapp.check_reference(p, &at, Some(account));
        }
        for (i, entry) in self.inbox.faq.iter().enumerate() {
            if let Some(account) = &entry.account {
                self.whatsapp
                    .check_reference(p, &format!("inbox.faq[{i}].account"), Some(account));
            }
        }
        if self.shutdown.grace_period > Duration::from_secs(3600) {
            p.push("shutdown.grace_period", "must be at most 1h");
        }
    }

    /// Checks the automation overrides of the site or flow at `at` (on WhatsApp account
    /// `account`, else the default account): only the keys it sets, named from `at`.
    fn check_scope(
        &self,
        p: &mut Problems,
        at: &str,
        scope: OverrideScope,
        account: Option<&str>,
        o: &AutomationOverrides,
    ) {
        let at = format!("{at}.automations");
        let inherited = (self.whatsapp).automations_of(&self.inbox.automations, account);
        o.validate_in(scope, &inherited, p, &at);
        if o.bot.is_some() {
            let bots = self.inbox.bots.iter().map(|b| b.name.as_str());
            inherited.with(o).check_bot(p, &at, bots);
        }
    }

    /// Fills in values derived from others so the effective configuration shows them.
    fn resolve(&mut self) {
        if self.database.url.is_none() {
            self.database.url = Some(self.database_url());
        }
        if self.attachments.path.is_none() {
            self.attachments.path = Some(self.attachments_path());
        }
    }
}
