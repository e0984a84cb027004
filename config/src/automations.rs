//! `[inbox.automations]`: what the inbox does on its own when a customer writes — the
//! welcome message and the whitelist — while someone waits — the closing message of an
//! inactive conversation, the reminder (and re-offer) when an agent leaves a customer
//! unanswered, the queue position notice — outside opening hours — and after an agent
//! closes a conversation — the satisfaction survey (CSAT) — with inbox-wide defaults,
//! overridable per WhatsApp account in `[whatsapp.accounts.automations]`, per widget site in
//! `[widget.sites.automations]` and per IVR flow in `[ivr.flows.automations]` (a key left
//! out there keeps the default).
//!
//! Resolution: the inbox-wide rules, then the account's overrides, then the site's or the
//! flow's (a site's or flow's account is its `whatsapp_account`, else the default account).
//! A conversation a customer opens on WhatsApp follows its account's rules, a widget
//! conversation its site's, a deflected call's conversation its flow's. Not every key can
//! apply everywhere ([`OverrideScope`]): a site has no whitelist, ice breakers or opening
//! hours of its own here (the widget's visitors have no WhatsApp number; the site's hours are
//! `[widget.sites] hours`), and a flow no whitelist, ice breakers or welcome (its
//! conversation is opened by the call, its first message the deflection template).

use crate::Problems;
use crate::hours::HoursConfig;
use crate::language::is_language_code;
use crate::text::{CONVERSATION_VARIABLES, QUEUE_VARIABLES, check_text};
use crate::value::{duration, is_e164};
use crate::whatsapp::is_content_sid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// `[inbox.automations]`: the rules as they apply (inbox-wide, or one account's after its
/// overrides, [`AutomationsConfig::with`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutomationsConfig {
    /// Sent when a customer opens a conversation by writing (a first WhatsApp message, or
    /// the first after their last conversation closed); empty: none. A text with
    /// variables ([`CONVERSATION_VARIABLES`]).
    pub welcome_message: String,
    /// A customer welcomed within this period is not welcomed again (1m – 90 days).
    #[serde(with = "duration")]
    pub welcome_period: Duration,
    /// Numbers allowed to open a conversation by writing: E.164 numbers (`+31201234567`) or
    /// prefixes ending in `*` (`+3120*`). Empty: everyone. Others get `whitelist_reply`, and
    /// their conversation closes without reaching a queue.
    pub whitelist: Vec<String>,
    /// The answer to a number not on the whitelist (a text with variables).
    pub whitelist_reply: String,
    /// The bot a conversation the customer opens by writing starts with: the name of an
    /// `[[inbox.bots]]` entry, or [`FAQ_BOT`] (the answers of `[[inbox.faq]]`); empty: none
    /// (it is queued for an agent at once).
    pub bot: String,
    /// How well a message must match an FAQ question to be answered with it (0 – 1: the
    /// share of the question's weight the message holds).
    pub faq_min_score: f32,
    /// Words or phrases with which a customer asks for a person (whole words, any case or
    /// accent): the FAQ bot hands over at once. Empty: the built-in list (agent, human,
    /// person, operator, … in several languages).
    pub handover_words: Vec<String>,
    /// Meta accounts: up to 4 ice breakers (≤ 80 characters, no emoji) WhatsApp shows a
    /// customer opening the chat; a tap arrives as a message with its text. Pushed to the
    /// number's conversational components at start-up; empty: left as they are.
    pub ice_breakers: Vec<String>,
    /// Sent just before a conversation closes for the customer's inactivity
    /// (`inbox.inactivity_close`); empty: none. A text with variables.
    pub inactivity_message: String,
    /// When the assigned agent has not answered the customer's message within this long, a
    /// `conversation.reminder` event (and `reminder_message`). Zero: off (0 or 30s – 24h).
    #[serde(with = "duration")]
    pub reminder_after: Duration,
    /// Sent to the customer with the reminder; empty: none. A text with variables.
    pub reminder_message: String,
    /// When the assigned agent has not answered the customer's message within this long,
    /// the conversation is taken from them and offered to another agent of its queue.
    /// Zero: off (0 or 1m – 24h; longer than `reminder_after` when both are on).
    #[serde(with = "duration")]
    pub reoffer_after: Duration,
    /// Tells a customer waiting in a queue their position and the estimated wait, when the
    /// conversation enters the queue and as its position improves; empty: off. A text with
    /// variables ([`QUEUE_VARIABLES`]: the conversation's and `{{position}}`, `{{wait}}`).
    pub queue_message: String,
    /// Tell the customer again when their position has improved by this many places since
    /// the last notice; 0: only on entering the queue (0 – 1000).
    pub queue_message_step: u32,
    /// Opening hours for chat (`time_zone`, `weekly`, `holidays`, as a widget site's);
    /// none: always open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<HoursConfig>,
    /// Sent when a customer writes outside `hours` and their conversation would enter a
    /// queue; empty: none. A text with variables.
    pub closed_message: String,
    /// Whether conversations still enter their queue outside `hours` (else they close,
    /// disposition `outside hours`, after `closed_message`).
    pub closed_queue: bool,
    /// Whether a customer whose conversation an agent answered is asked to rate it when it
    /// closes (a satisfaction survey, CSAT).
    pub csat: bool,
    /// The survey's question (a text with variables).
    pub csat_question: String,
    /// The answers offered: five (`1-5`) or three (`good-neutral-bad`).
    pub csat_scale: CsatScale,
    /// Asked after a rating; the customer's next text is kept as their comment. Empty: no
    /// follow-up question (a text with variables).
    pub csat_follow_up: String,
    /// The approved template sent instead of the survey when the 24 h window has closed
    /// (its one body parameter is the conversation's reference). None: no survey then.
    pub csat_template: Option<String>,
    /// `welcome_message` in other languages, by ISO 639-1 code (`nl = "Welkom!"`): a contact
    /// whose language is known (from a deflected call's flow, or the widget visitor's
    /// browser) and listed here is welcomed in it; others get `welcome_message`. Texts with
    /// variables. They translate the `welcome_message` beside them: a scope that sets its
    /// own `welcome_message` without translations has none.
    pub welcome_translations: BTreeMap<String, String>,
}

/// The answers a satisfaction survey offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CsatScale {
    /// `1-5`: a score from 1 (bad) to 5 (good).
    #[serde(rename = "1-5")]
    OneToFive,
    /// `good-neutral-bad`: three answers, stored as scores 5, 3 and 1.
    #[default]
    #[serde(rename = "good-neutral-bad")]
    GoodNeutralBad,
}

impl CsatScale {
    /// The answers offered, best first: (score, title).
    pub fn answers(self) -> &'static [(u8, &'static str)] {
        match self {
            Self::OneToFive => &[(5, "5"), (4, "4"), (3, "3"), (2, "2"), (1, "1")],
            Self::GoodNeutralBad => &[(5, "Good"), (3, "Neutral"), (1, "Bad")],
        }
    }

    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneToFive => "1-5",
            Self::GoodNeutralBad => "good-neutral-bad",
        }
    }
}

/// The default of `faq_min_score` (the FAQ matcher's documentation says why).
pub const DEFAULT_FAQ_MIN_SCORE: f32 = 0.45;

/// The built-in bot that answers from `[[inbox.faq]]`.
pub const FAQ_BOT: &str = "faq";

impl Default for AutomationsConfig {
    fn default() -> Self {
        Self {
            welcome_message: String::new(),
            welcome_period: Duration::from_secs(24 * 3600),
            whitelist: Vec::new(),
            whitelist_reply: "Sorry, this number only takes messages from registered customers."
                .into(),
            bot: String::new(),
            faq_min_score: DEFAULT_FAQ_MIN_SCORE,
            handover_words: Vec::new(),
            ice_breakers: Vec::new(),
            inactivity_message: String::new(),
            reminder_after: Duration::ZERO,
            reminder_message: String::new(),
            reoffer_after: Duration::ZERO,
            queue_message: String::new(),
            queue_message_step: 3,
            hours: None,
            closed_message: String::new(),
            closed_queue: true,
            csat: false,
            csat_question: "How would you rate your conversation with us?".into(),
            csat_scale: CsatScale::default(),
            csat_follow_up: "Thank you! Anything you would like to tell us?".into(),
            csat_template: None,
            welcome_translations: BTreeMap::new(),
        }
    }
}

/// `[whatsapp.accounts.automations]`, `[widget.sites.automations]`,
/// `[ivr.flows.automations]`: one account's, site's or flow's changes to the rules it
/// inherits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutomationOverrides {
    /// Overrides `welcome_message` (`""` turns the welcome off for this account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<String>,
    /// Overrides `welcome_period`.
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub welcome_period: Option<Duration>,
    /// Overrides `whitelist` (`[]` lets everyone in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelist: Option<Vec<String>>,
    /// Overrides `whitelist_reply`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitelist_reply: Option<String>,
    /// Overrides `bot` (`""`: none for this account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// Overrides `faq_min_score`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faq_min_score: Option<f32>,
    /// Overrides `handover_words`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handover_words: Option<Vec<String>>,
    /// Overrides `ice_breakers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_breakers: Option<Vec<String>>,
    /// Overrides `inactivity_message` (`""`: none for this account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactivity_message: Option<String>,
    /// Overrides `reminder_after` (`"0s"`: off for this account).
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub reminder_after: Option<Duration>,
    /// Overrides `reminder_message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reminder_message: Option<String>,
    /// Overrides `reoffer_after` (`"0s"`: off for this account).
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub reoffer_after: Option<Duration>,
    /// Overrides `queue_message` (`""`: off for this account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_message: Option<String>,
    /// Overrides `queue_message_step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_message_step: Option<u32>,
    /// Overrides `hours`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<HoursConfig>,
    /// Overrides `closed_message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_message: Option<String>,
    /// Overrides `closed_queue`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_queue: Option<bool>,
    /// Overrides `csat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csat: Option<bool>,
    /// Overrides `csat_question`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csat_question: Option<String>,
    /// Overrides `csat_scale`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csat_scale: Option<CsatScale>,
    /// Overrides `csat_follow_up` (`""` asks none for this account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csat_follow_up: Option<String>,
    /// Overrides `csat_template` (`""` sends none for this account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csat_template: Option<String>,
    /// Overrides `welcome_translations` (the whole table; `{}`: none here). Left out while
    /// `welcome_message` is set here: none (they translated the message overridden).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub welcome_translations: Option<BTreeMap<String, String>>,
}

impl AutomationsConfig {
    /// The rules with an account's overrides applied.
    pub fn with(&self, o: &AutomationOverrides) -> Self {
        Self {
            welcome_message: o
                .welcome_message
                .clone()
                .unwrap_or_else(|| self.welcome_message.clone()),
            welcome_period: o.welcome_period.unwrap_or(self.welcome_period),
            whitelist: o
                .whitelist
                .clone()
                .unwrap_or_else(|| self.whitelist.clone()),
            whitelist_reply: o
                .whitelist_reply
                .clone()
                .unwrap_or_else(|| self.whitelist_reply.clone()),
            bot: o.bot.clone().unwrap_or_else(|| self.bot.clone()),
            faq_min_score: o.faq_min_score.unwrap_or(self.faq_min_score),
            handover_words: (o.handover_words.clone())
                .unwrap_or_else(|| self.handover_words.clone()),
            ice_breakers: (o.ice_breakers.clone()).unwrap_or_else(|| self.ice_breakers.clone()),
            inactivity_message: o
                .inactivity_message
                .clone()
                .unwrap_or_else(|| self.inactivity_message.clone()),
            reminder_after: o.reminder_after.unwrap_or(self.reminder_after),
            reminder_message: o
                .reminder_message
                .clone()
                .unwrap_or_else(|| self.reminder_message.clone()),
            reoffer_after: o.reoffer_after.unwrap_or(self.reoffer_after),
            queue_message: o
                .queue_message
                .clone()
                .unwrap_or_else(|| self.queue_message.clone()),
            queue_message_step: o.queue_message_step.unwrap_or(self.queue_message_step),
            hours: o.hours.clone().or_else(|| self.hours.clone()),
            closed_message: o
                .closed_message
                .clone()
                .unwrap_or_else(|| self.closed_message.clone()),
            closed_queue: o.closed_queue.unwrap_or(self.closed_queue),
            csat: o.csat.unwrap_or(self.csat),
            csat_question: o
                .csat_question
                .clone()
                .unwrap_or_else(|| self.csat_question.clone()),
            csat_scale: o.csat_scale.unwrap_or(self.csat_scale),
            csat_follow_up: o
                .csat_follow_up
                .clone()
                .unwrap_or_else(|| self.csat_follow_up.clone()),
            csat_template: match &o.csat_template {
                Some(name) if name.is_empty() => None,
                Some(name) => Some(name.clone()),
                None => self.csat_template.clone(),
            },
            welcome_translations: match (&o.welcome_translations, &o.welcome_message) {
                (Some(t), _) => t.clone(),
                // A welcome of its own: the inherited translations were of another text.
                (None, Some(_)) => BTreeMap::new(),
                (None, None) => self.welcome_translations.clone(),
            },
        }
    }

    /// Checks that `bot` names one of `bots` (the configured `[[inbox.bots]]`), at `at`.
    pub(crate) fn check_bot<'a>(
        &self,
        p: &mut Problems,
        at: &str,
        bots: impl Iterator<Item = &'a str>,
    ) {
        if !self.bot.is_empty() {
            let names = std::iter::once(FAQ_BOT).chain(bots);
            p.reference(format!("{at}.bot"), &self.bot, "bot", names);
        }
    }

    /// Whether `phone` (E.164) may open a conversation by writing, by this configured
    /// whitelist alone (the inbox joins it with the entries admins add through its API).
    pub fn admits(&self, phone: &str) -> bool {
        self.whitelist.is_empty()
            || self
                .whitelist
                .iter()
                .any(|entry| whitelist_matches(entry, phone))
    }

    /// Checks the rules found at `at` (`inbox.automations`, or an account's after its
    /// overrides — problems then name the account's key).
    pub(crate) fn validate(&self, p: &mut Problems, at: &str) {
        check_template(p, &format!("{at}.welcome_message"), &self.welcome_message);
        self.check_translations(p, at);
        check_template(p, &format!("{at}.whitelist_reply"), &self.whitelist_reply);
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(90 * 24 * 3600));
        if !(min..=max).contains(&self.welcome_period) {
            p.push(format!("{at}.welcome_period"), "must be between 1m and 90d");
        }
        for (i, entry) in self.whitelist.iter().enumerate() {
            if let Err(why) = check_whitelist_entry(entry) {
                p.push(format!("{at}.whitelist[{i}]"), why);
            }
        }
        if !(0.0..=1.0).contains(&self.faq_min_score) {
            p.push(format!("{at}.faq_min_score"), "must be between 0 and 1");
        }
        for (i, w) in self.handover_words.iter().enumerate() {
            if w.trim().is_empty() {
                p.push(format!("{at}.handover_words[{i}]"), "must not be empty");
            }
        }
        if self.ice_breakers.len() > MAX_ICE_BREAKERS {
            p.push(
                format!("{at}.ice_breakers"),
                format!("at most {MAX_ICE_BREAKERS} (WhatsApp's limit)"),
            );
        }
        for (i, text) in self.ice_breakers.iter().enumerate() {
            if let Err(why) = check_ice_breaker(text) {
                p.push(format!("{at}.ice_breakers[{i}]"), why);
            }
        }
        if !self.whitelist.is_empty() && self.whitelist_reply.trim().is_empty() {
            p.push(
                format!("{at}.whitelist_reply"),
                "must not be empty while a whitelist is set",
            );
        }
        check_template(
            p,
            &format!("{at}.inactivity_message"),
            &self.inactivity_message,
        );
        let (min, max) = (Duration::from_secs(30), Duration::from_secs(24 * 3600));
        let off_or = |d: Duration, min: Duration| d.is_zero() || (min..=max).contains(&d);
        if !off_or(self.reminder_after, min) {
            p.push(
                format!("{at}.reminder_after"),
                "must be 0s (off) or between 30s and 24h",
            );
        }
        check_template(p, &format!("{at}.reminder_message"), &self.reminder_message);
        if !off_or(self.reoffer_after, Duration::from_secs(60)) {
            p.push(
                format!("{at}.reoffer_after"),
                "must be 0s (off) or between 1m and 24h",
            );
        } else if !self.reoffer_after.is_zero()
            && !self.reminder_after.is_zero()
            && self.reoffer_after <= self.reminder_after
        {
            p.push(
                format!("{at}.reoffer_after"),
                "must be longer than reminder_after (or 0s: off)",
            );
        }
        if let Err(e) = check_text(&self.queue_message, QUEUE_VARIABLES) {
            p.push(format!("{at}.queue_message"), e.to_string());
        }
        if self.queue_message_step > 1000 {
            p.push(
                format!("{at}.queue_message_step"),
                "must be between 0 (only on entering the queue) and 1000",
            );
        }
        if let Some(h) = &self.hours {
            h.validate(p, &format!("{at}.hours"));
        }
        check_template(p, &format!("{at}.closed_message"), &self.closed_message);
        if self.hours.is_some() && !self.closed_queue && self.closed_message.trim().is_empty() {
            p.push(
                format!("{at}.closed_message"),
                "must not be empty while closed_queue = false (the customer's conversation closes)",
            );
        }
        check_template(p, &format!("{at}.csat_question"), &self.csat_question);
        if self.csat && self.csat_question.trim().is_empty() {
            p.push(
                format!("{at}.csat_question"),
                "must not be empty while csat is on",
            );
        }
        // WhatsApp's interactive body takes at most 1024 characters.
        if self.csat_question.chars().count() > 1024 {
            p.push(
                format!("{at}.csat_question"),
                "must be at most 1024 characters (WhatsApp's limit for a message's body)",
            );
        }
        check_template(p, &format!("{at}.csat_follow_up"), &self.csat_follow_up);
        if let Some(name) = &self.csat_template
            && !is_template_name(name)
            && !is_content_sid(name)
        {
            p.push(
                format!("{at}.csat_template"),
                format!(
                    "{name:?} is not a template name: lowercase letters, digits and _ \
                     (as approved by Meta, e.g. \"deflect_csat\"), or on Twilio the \
                     template's Content SID (\"HX\" and 32 hexadecimal digits)"
                ),
            );
        }
    }
}

impl AutomationOverrides {
    /// Checks the keys this account sets, against the inbox-wide `defaults`.
    pub(crate) fn validate(&self, defaults: &AutomationsConfig, p: &mut Problems, at: &str) {
        // Only the keys set here are this account's to report; the others are the
        // defaults', reported at `inbox.automations`.
        let mut mine = Problems::default();
        defaults.with(self).validate(&mut mine, at);
        let set = |key: &str| match key {
            "welcome_message" => self.welcome_message.is_some(),
            "welcome_period" => self.welcome_period.is_some(),
            k if k.starts_with("welcome_translations") => {
                self.welcome_translations.is_some() || self.welcome_message.is_some()
            }
            "faq_min_score" => self.faq_min_score.is_some(),
            k if k.starts_with("handover_words") => self.handover_words.is_some(),
            k if k.starts_with("ice_breakers") => self.ice_breakers.is_some(),
            "whitelist_reply" => self.whitelist_reply.is_some() || self.whitelist.is_some(),
            "inactivity_message" => self.inactivity_message.is_some(),
            "reminder_after" => self.reminder_after.is_some(),
            "reminder_message" => self.reminder_message.is_some(),
            "reoffer_after" => self.reoffer_after.is_some() || self.reminder_after.is_some(),
            "queue_message" => self.queue_message.is_some(),
            "queue_message_step" => self.queue_message_step.is_some(),
            "closed_message" => {
                self.closed_message.is_some() || self.closed_queue.is_some() || self.hours.is_some()
            }
            k if k.starts_with("hours") => self.hours.is_some(),
            "csat_question" => self.csat_question.is_some() || self.csat.is_some(),
            "csat_follow_up" => self.csat_follow_up.is_some(),
            "csat_template" => self.csat_template.is_some(),
            k => k.starts_with("whitelist") && self.whitelist.is_some(),
        };
        for problem in mine.into_vec() {
            let key = problem.path.strip_prefix(at).unwrap_or(&problem.path);
            if set(key.trim_start_matches('.')) {
                p.push(problem.path, problem.message);
            }
        }
    }
}

impl AutomationsConfig {
    /// The welcome for a contact whose language is `language` (an ISO 639-1 code): its
    /// translation when there is one, else `welcome_message`; empty: no welcome.
    pub fn welcome_for(&self, language: Option<&str>) -> &str {
        if self.welcome_message.is_empty() {
            return "";
        }
        language
            .and_then(|l| self.welcome_translations.get(l))
            .unwrap_or(&self.welcome_message)
    }

    /// Checks `welcome_translations`: language codes as keys, texts with variables, and a
    /// `welcome_message` they translate.
    fn check_translations(&self, p: &mut Problems, at: &str) {
        let at = format!("{at}.welcome_translations");
        if !self.welcome_translations.is_empty() && self.welcome_message.is_empty() {
            p.push(
                &at,
                "set welcome_message too: it welcomes contacts of other or unknown languages \
                 (an empty welcome_message turns the welcome off)",
            );
        }
        for (language, text) in &self.welcome_translations {
            let key = format!("{at}.{language}");
            if !is_language_code(language) {
                p.push(
                    &key,
                    format!(
                        "{language:?} is not a language code: two lower-case letters, \
                         ISO 639-1 (\"de\", \"nl\", \"fr\")"
                    ),
                );
            } else if text.trim().is_empty() {
                p.push(
                    &key,
                    "must not be empty; leave the language out to welcome it with welcome_message",
                );
            } else {
                check_template(p, &key, text);
            }
        }
    }
}

/// Where overrides are written; each place takes the keys that can apply there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrideScope {
    /// `[whatsapp.accounts.automations]`: every key.
    Account,
    /// `[widget.sites.automations]`: a widget conversation's rules.
    Site,
    /// `[ivr.flows.automations]`: the rules of a conversation a deflected call opened.
    Flow,
}

impl OverrideScope {
    /// The keys that cannot apply here, each with why.
    pub fn excluded(self) -> &'static [(&'static str, &'static str)] {
        const NO_NUMBER: &str = "cannot apply to a flow: a deflected call's conversation is \
                                 opened by the call, never turned away by the whitelist";
        match self {
            Self::Account => &[],
            Self::Site => &[
                (
                    "whitelist",
                    "cannot apply to a widget site: the whitelist admits WhatsApp numbers, and \
                     a widget visitor has none (set it on the WhatsApp account)",
                ),
                (
                    "whitelist_reply",
                    "cannot apply to a widget site: a widget visitor has no WhatsApp number to \
                     turn away (set it on the WhatsApp account)",
                ),
                (
                    "ice_breakers",
                    "cannot apply to a widget site: ice breakers are shown by a WhatsApp number \
                     (set them on the WhatsApp account)",
                ),
                (
                    "hours",
                    "cannot apply to a widget site: its opening hours are its own \
                     [widget.sites.hours] (outside them the widget offers WhatsApp)",
                ),
                (
                    "closed_message",
                    "cannot apply to a widget site: it says its own closed_message \
                     (widget.sites[].closed_message) outside its hours",
                ),
                (
                    "closed_queue",
                    "cannot apply to a widget site: its conversations queue outside its hours \
                     (agents answer when they open)",
                ),
            ],
            Self::Flow => &[
                (
                    "whitelist",
                    "cannot apply to a flow: the whitelist decides who may open a conversation \
                     by writing, and a deflected call's conversation is opened by the call \
                     (limit callers with [ivr.limits])",
                ),
                ("whitelist_reply", NO_NUMBER),
                (
                    "ice_breakers",
                    "cannot apply to a flow: ice breakers are shown by a WhatsApp number \
                     (set them on the WhatsApp account)",
                ),
                (
                    "welcome_message",
                    "cannot apply to a flow: a deflected call's conversation is opened by the \
                     call, and its first message is the deflection template",
                ),
                (
                    "welcome_period",
                    "cannot apply to a flow: its conversations get no welcome (the deflection \
                     template is their first message)",
                ),
                (
                    "welcome_translations",
                    "cannot apply to a flow: its conversations get no welcome (the deflection \
                     template is their first message)",
                ),
            ],
        }
    }
}

impl AutomationOverrides {
    /// Leaves out `key` (one of the keys [`OverrideScope::excluded`] names); returns
    /// whether it was set.
    fn take(&mut self, key: &str) -> bool {
        match key {
            "whitelist" => self.whitelist.take().is_some(),
            "whitelist_reply" => self.whitelist_reply.take().is_some(),
            "ice_breakers" => self.ice_breakers.take().is_some(),
            "hours" => self.hours.take().is_some(),
            "closed_message" => self.closed_message.take().is_some(),
            "closed_queue" => self.closed_queue.take().is_some(),
            "welcome_message" => self.welcome_message.take().is_some(),
            "welcome_period" => self.welcome_period.take().is_some(),
            "welcome_translations" => self.welcome_translations.take().is_some(),
            _ => false,
        }
    }

    /// Checks the keys set here (at `at`, in `scope`) against the rules they change,
    /// `inherited` (the inbox-wide ones, or a site's or flow's account's): a key that cannot
    /// apply in `scope` is refused with why; the others are checked as the merged rules
    /// would be.
    pub(crate) fn validate_in(
        &self,
        scope: OverrideScope,
        inherited: &AutomationsConfig,
        p: &mut Problems,
        at: &str,
    ) {
        let mut applicable = self.clone();
        for (key, why) in scope.excluded() {
            if applicable.take(key) {
                p.push(format!("{at}.{key}"), *why);
            }
        }
        applicable.validate(inherited, p, at);
    }
}

/// Most ice breakers a number shows.
pub const MAX_ICE_BREAKERS: usize = 4;

/// An ice breaker as WhatsApp takes it: 1 to 80 characters, no emoji.
fn check_ice_breaker(text: &str) -> Result<(), String> {
    let length = text.chars().count();
    if text.trim().is_empty() || length > 80 {
        return Err(format!("must be 1 to 80 characters (has {length})"));
    }
    match text.chars().find(|c| is_emoji(*c)) {
        Some(c) => Err(format!(
            "must not contain emoji ({c:?}); WhatsApp refuses them"
        )),
        None => Ok(()),
    }
}

/// Emoji and the characters that build them (pictographs, dingbats, symbols, flags'
/// regional indicators, the variation selector and joiner that make a character an emoji).
fn is_emoji(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF
        | 0xFE0F | 0x200D | 0x20E3 | 0xE0020..=0xE007F)
}

fn check_template(p: &mut Problems, key: &str, text: &str) {
    if let Err(e) = check_text(text, CONVERSATION_VARIABLES) {
        p.push(key, e.to_string());
    }
}

/// A WhatsApp template name as Meta approves them: lowercase letters, digits and `_`, at
/// most 512 characters.
fn is_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks that the survey template `rules` give an account suits its provider: on Twilio
/// a template is addressed by its Content SID, on Meta by its name. Reported at `at`
/// (the account's `automations`), since the account is where the fix goes.
pub(crate) fn check_csat_template_for(
    rules: &AutomationsConfig,
    twilio: bool,
    p: &mut Problems,
    at: &str,
) {
    let Some(t) = &rules.csat_template else {
        return;
    };
    if twilio && !is_content_sid(t) {
        p.push(
            format!("{at}.csat_template"),
            format!(
                "the account is on Twilio, which addresses templates by Content SID: write the \
                 approved survey template's (\"HX\" and 32 hexadecimal digits; \"\" sends none), not {t:?}"
            ),
        );
    } else if !twilio && is_content_sid(t) {
        p.push(
            format!("{at}.csat_template"),
            format!(
                "{t:?} is a Twilio Content SID; this account's provider takes the template's name"
            ),
        );
    }
}

/// Whether whitelist entry `entry` (checked by [`check_whitelist_entry`]) lets `phone`
/// (E.164) in: the same number, or a number starting with the prefix before its `*`.
pub fn whitelist_matches(entry: &str, phone: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => phone.starts_with(prefix),
        None => phone == entry,
    }
}

/// Checks a whitelist entry — an E.164 number (`+31201234567`) or a prefix of one ending
/// in `*` (`+3120*`) — for the configuration and for entries added through the inbox's
/// API alike; the error says what is wrong and what would be valid.
pub fn check_whitelist_entry(entry: &str) -> Result<(), String> {
    let valid = match entry.strip_suffix('*') {
        Some(prefix) => {
            prefix.starts_with('+')
                && prefix.len() >= 2
                && prefix[1..].bytes().all(|b| b.is_ascii_digit())
        }
        None => is_e164(entry),
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{entry:?} is neither an E.164 number (\"+31201234567\") nor a prefix ending in * (\"+3120*\")"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(whitelist: &[&str]) -> AutomationsConfig {
        AutomationsConfig {
            whitelist: whitelist.iter().map(|s| s.to_string()).collect(),
            ..AutomationsConfig::default()
        }
    }

    /// The keys `c`'s check reports.
    fn problem_paths(c: AutomationsConfig) -> Vec<String> {
        let mut p = Problems::default();
        c.validate(&mut p, "inbox.automations");
        p.into_vec().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn an_empty_whitelist_admits_everyone_and_entries_match_whole_numbers_or_prefixes() {
        assert!(rules(&[]).admits("+31201234567"));
        let r = rules(&["+31201234567", "+4930*"]);
        assert!(r.admits("+31201234567"));
        assert!(!r.admits("+312012345678"));
        assert!(r.admits("+49301111"));
        assert!(!r.admits("+4940111"));
    }

    #[test]
    fn an_account_overrides_only_what_it_sets() {
        let defaults = AutomationsConfig {
            welcome_message: "Hello".into(),
            ..rules(&["+31*"])
        };
        let o = AutomationOverrides {
            whitelist: Some(vec![]),
            ..AutomationOverrides::default()
        };
        let merged = defaults.with(&o);
        assert_eq!(merged.welcome_message, "Hello");
        assert!(merged.whitelist.is_empty());
        assert_eq!(defaults.with(&AutomationOverrides::default()), defaults);
    }

    #[test]
    fn bad_entries_and_texts_name_their_keys() {
        let bad = AutomationsConfig {
            welcome_message: "Hi {{nickname}}".into(),
            welcome_period: Duration::from_secs(1),
            ..rules(&["+31 20", "31*", "+*", "+3120*"])
        };
        let mut p = Problems::default();
        bad.validate(&mut p, "inbox.automations");
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "inbox.automations.welcome_message",
                "inbox.automations.welcome_period",
                "inbox.automations.whitelist[0]",
                "inbox.automations.whitelist[1]",
                "inbox.automations.whitelist[2]",
            ]
        );
    }

    #[test]
    fn ice_breakers_follow_whatsapps_rules() {
        assert_eq!(check_ice_breaker("Track my order"), Ok(()));
        assert_eq!(check_ice_breaker("Öffnungszeiten & Preise?"), Ok(()));
        assert!(check_ice_breaker("Track my order 📦").is_err());
        assert!(check_ice_breaker("Call us ☎").is_err());
        assert!(check_ice_breaker(&"x".repeat(81)).is_err());
        assert!(check_ice_breaker(" ").is_err());
        let five = AutomationsConfig {
            ice_breakers: vec!["a".into(); 5],
            ..AutomationsConfig::default()
        };
        let mut p = Problems::default();
        five.validate(&mut p, "inbox.automations");
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["inbox.automations.ice_breakers"]);
    }

    #[test]
    fn waiting_rules_are_off_or_in_range_and_the_reoffer_comes_after_the_reminder() {
        let check = problem_paths;
        let minutes = |m: u64| Duration::from_secs(60 * m);
        let ok = AutomationsConfig {
            inactivity_message: "Closing this chat, {{customer_name}}.".into(),
            reminder_after: minutes(5),
            reminder_message: "Still here, {{customer_name}}".into(),
            reoffer_after: minutes(10),
            queue_message: "You are number {{position}}; about {{wait}}.".into(),
            ..AutomationsConfig::default()
        };
        assert!(check(ok.clone()).is_empty());
        assert!(check(AutomationsConfig::default()).is_empty(), "all off");
        let bad = AutomationsConfig {
            inactivity_message: "{{position}}".into(),
            reminder_after: Duration::from_secs(5),
            reoffer_after: minutes(2),
            queue_message: "{{nickname}}".into(),
            queue_message_step: 5000,
            ..ok.clone()
        };
        assert_eq!(
            check(bad),
            [
                "inbox.automations.inactivity_message",
                "inbox.automations.reminder_after",
                "inbox.automations.queue_message",
                "inbox.automations.queue_message_step",
            ]
        );
        let early = AutomationsConfig {
            reoffer_after: minutes(5),
            ..ok
        };
        assert_eq!(check(early), ["inbox.automations.reoffer_after"]);
    }

    #[test]
    fn opening_hours_are_checked_where_they_are_set() {
        let defaults = AutomationsConfig::default();
        let o = AutomationOverrides {
            hours: Some(HoursConfig {
                time_zone: "Mars/Olympus".into(),
                ..HoursConfig::default()
            }),
            closed_queue: Some(false),
            ..AutomationOverrides::default()
        };
        let mut p = Problems::default();
        o.validate(&defaults, &mut p, "whatsapp.accounts[0].automations");
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "whatsapp.accounts[0].automations.hours.time_zone",
                "whatsapp.accounts[0].automations.hours.weekly",
                "whatsapp.accounts[0].automations.closed_message",
            ]
        );
    }

    #[test]
    fn an_account_is_told_only_about_its_own_keys() {
        let defaults = AutomationsConfig {
            welcome_message: "Hi {{nickname}}".into(),
            ..AutomationsConfig::default()
        };
        let o = AutomationOverrides {
            whitelist: Some(vec!["0800".into()]),
            ..AutomationOverrides::default()
        };
        let mut p = Problems::default();
        o.validate(&defaults, &mut p, "whatsapp.accounts[0].automations");
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["whatsapp.accounts[0].automations.whitelist[0]"]);
    }

    #[test]
    fn csat_settings_merge_per_account_and_name_their_keys() {
        let defaults = AutomationsConfig {
            csat: true,
            csat_template: Some("deflect_csat".into()),
            ..AutomationsConfig::default()
        };
        let o = AutomationOverrides {
            csat_scale: Some(CsatScale::OneToFive),
            csat_template: Some(String::new()),
            ..AutomationOverrides::default()
        };
        let merged = defaults.with(&o);
        assert!(merged.csat);
        assert_eq!(merged.csat_scale, CsatScale::OneToFive);
        assert_eq!(merged.csat_template, None, "\"\" turns the template off");
        assert_eq!(
            merged.csat_question,
            "How would you rate your conversation with us?"
        );

        let bad = AutomationsConfig {
            csat: true,
            csat_question: " ".into(),
            csat_follow_up: "Thanks {{agent}}".into(),
            csat_template: Some("CSAT survey".into()),
            ..AutomationsConfig::default()
        };
        let mut p = Problems::default();
        bad.validate(&mut p, "inbox.automations");
        let problems = p.into_vec();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "inbox.automations.csat_question",
                "inbox.automations.csat_follow_up",
                "inbox.automations.csat_template",
            ]
        );
        assert!(
            problems[1].message.contains("{{customer_name}}"),
            "{problems:?}"
        );
        assert!(problems[2].message.contains("lowercase"), "{problems:?}");
    }

    #[test]
    fn the_scales_offer_their_answers_best_first() {
        let scores = |s: CsatScale| s.answers().iter().map(|a| a.0).collect::<Vec<_>>();
        assert_eq!(scores(CsatScale::OneToFive), [5, 4, 3, 2, 1]);
        assert_eq!(scores(CsatScale::GoodNeutralBad), [5, 3, 1]);
    }

    #[test]
    fn the_welcome_speaks_the_contacts_language_when_it_has_a_translation() {
        let defaults = AutomationsConfig {
            welcome_message: "Welcome!".into(),
            welcome_translations: [("nl".to_string(), "Welkom!".to_string())].into(),
            ..AutomationsConfig::default()
        };
        assert_eq!(defaults.welcome_for(Some("nl")), "Welkom!");
        assert_eq!(defaults.welcome_for(Some("de")), "Welcome!");
        assert_eq!(defaults.welcome_for(None), "Welcome!");
        // A scope with its own welcome and no translations: its text for everyone.
        let own = defaults.with(&AutomationOverrides {
            welcome_message: Some("Welcome to the shop".into()),
            ..AutomationOverrides::default()
        });
        assert_eq!(own.welcome_for(Some("nl")), "Welcome to the shop");
        // Translations alone change only the translations.
        let german = defaults.with(&AutomationOverrides {
            welcome_translations: Some([("de".to_string(), "Willkommen!".to_string())].into()),
            ..AutomationOverrides::default()
        });
        assert_eq!(german.welcome_for(Some("de")), "Willkommen!");
        assert_eq!(german.welcome_for(Some("nl")), "Welcome!");
        // An empty welcome_message turns the welcome off in every language.
        let off = defaults.with(&AutomationOverrides {
            welcome_message: Some(String::new()),
            welcome_translations: Some(defaults.welcome_translations.clone()),
            ..AutomationOverrides::default()
        });
        assert_eq!(off.welcome_for(Some("nl")), "");
    }

    #[test]
    fn translations_need_language_codes_texts_and_a_welcome_message() {
        let check = problem_paths;
        let translations = |pairs: &[(&str, &str)]| {
            (pairs.iter())
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let ok = AutomationsConfig {
            welcome_message: "Welcome {{customer_name}}".into(),
            welcome_translations: translations(&[("nl", "Welkom {{customer_name}}")]),
            ..AutomationsConfig::default()
        };
        assert!(check(ok.clone()).is_empty());
        let bad = AutomationsConfig {
            welcome_translations: translations(&[
                ("NL", "Welkom"),
                ("de", " "),
                ("fr", "Bienvenue {{nickname}}"),
                ("nl-BE", "Welkom"),
            ]),
            ..ok
        };
        assert_eq!(
            check(bad),
            [
                "inbox.automations.welcome_translations.NL",
                "inbox.automations.welcome_translations.de",
                "inbox.automations.welcome_translations.fr",
                "inbox.automations.welcome_translations.nl-BE",
            ]
        );
        let alone = AutomationsConfig {
            welcome_translations: translations(&[("nl", "Welkom")]),
            ..AutomationsConfig::default()
        };
        assert_eq!(check(alone), ["inbox.automations.welcome_translations"]);
    }

    #[test]
    fn a_site_or_flow_is_refused_the_keys_that_cannot_apply_there_and_told_why() {
        let defaults = AutomationsConfig::default();
        let check = |scope: OverrideScope, o: &AutomationOverrides| {
            let mut p = Problems::default();
            o.validate_in(scope, &defaults, &mut p, "x.automations");
            p.into_vec()
        };
        let o = AutomationOverrides {
            whitelist: Some(vec!["+31*".into()]),
            ice_breakers: Some(vec!["Where is my order?".into()]),
            welcome_message: Some("Hello".into()),
            hours: Some(HoursConfig::default()),
            csat: Some(true),
            ..AutomationOverrides::default()
        };
        let paths = |problems: &[crate::Problem]| {
            problems.iter().map(|p| p.path.clone()).collect::<Vec<_>>()
        };
        let site = check(OverrideScope::Site, &o);
        assert_eq!(
            paths(&site),
            [
                "x.automations.whitelist",
                "x.automations.ice_breakers",
                "x.automations.hours",
            ]
        );
        assert!(site[0].message.contains("widget visitor"), "{site:?}");
        let flow = check(OverrideScope::Flow, &o);
        assert_eq!(
            paths(&flow),
            [
                "x.automations.whitelist",
                "x.automations.ice_breakers",
                "x.automations.welcome_message",
                // A flow's chat hours apply (they are checked: these have no time zone).
                "x.automations.hours.time_zone",
                "x.automations.hours.weekly",
            ]
        );
        assert!(flow[2].message.contains("deflection template"), "{flow:?}");
        assert!(
            check(OverrideScope::Account, &o)
                .iter()
                .all(|p| p.path.starts_with("x.automations.hours"))
        );
    }
}
