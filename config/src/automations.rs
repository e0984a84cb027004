//! `[inbox.automations]`: what the inbox does on its own when a customer writes — the
//! welcome message and the whitelist — and after an agent closes a conversation — the
//! satisfaction survey (CSAT) — with inbox-wide defaults, overridable per WhatsApp account
//! in `[whatsapp.accounts.automations]` (a key left out there keeps the default).

use crate::Problems;
use crate::text::{CONVERSATION_VARIABLES, check_text};
use crate::value::{duration, is_e164};
use serde::{Deserialize, Serialize};
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

impl Default for AutomationsConfig {
    fn default() -> Self {
        Self {
            welcome_message: String::new(),
            welcome_period: Duration::from_secs(24 * 3600),
            whitelist: Vec::new(),
            whitelist_reply: "Sorry, this number only takes messages from registered customers."
                .into(),
            csat: false,
            csat_question: "How would you rate your conversation with us?".into(),
            csat_scale: CsatScale::default(),
            csat_follow_up: "Thank you! Anything you would like to tell us?".into(),
            csat_template: None,
        }
    }
}

/// `[whatsapp.accounts.automations]`: one account's changes to the inbox-wide rules.
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
        }
    }

    /// Whether `phone` (E.164) may open a conversation by writing.
    pub fn admits(&self, phone: &str) -> bool {
        self.whitelist.is_empty()
            || self
                .whitelist
                .iter()
                .any(|entry| match entry.strip_suffix('*') {
                    Some(prefix) => phone.starts_with(prefix),
                    None => phone == entry,
                })
    }

    /// Checks the rules found at `at` (`inbox.automations`, or an account's after its
    /// overrides — problems then name the account's key).
    pub(crate) fn validate(&self, p: &mut Problems, at: &str) {
        check_template(p, &format!("{at}.welcome_message"), &self.welcome_message);
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
        if !self.whitelist.is_empty() && self.whitelist_reply.trim().is_empty() {
            p.push(
                format!("{at}.whitelist_reply"),
                "must not be empty while a whitelist is set",
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
        {
            p.push(
                format!("{at}.csat_template"),
                format!(
                    "{name:?} is not a template name: lowercase letters, digits and _ \
                     (as approved by Meta, e.g. \"deflect_csat\")"
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
            "whitelist_reply" => self.whitelist_reply.is_some() || self.whitelist.is_some(),
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

/// A whitelist entry: an E.164 number, or a prefix of one ending in `*`.
fn check_whitelist_entry(entry: &str) -> Result<(), String> {
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
}
