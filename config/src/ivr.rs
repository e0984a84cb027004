//! `[ivr]`: call flows per dialled number, prompts, speech models and abuse limits.
//!
//! A flow is a list of steps (`play`, `gather`, `confirm`, `menu`, `branch`, `transfer`,
//! `deflect`, `hangup`) run in order; `branch`, a menu's choices, a confirm's "enter it again"
//! and the `on_failure` of gathers, confirms, menus and transfers jump to a step by `id`
//! (resolved by [`crate::resolve_jumps`], for this check and for the IVR).
//! Everything is checked here, at load time, so a flow that loads runs: step references
//! resolve, prompts exist, time zones are known, gather limits are consistent.
//!
//! A flow's opening hours are a [`HoursConfig`], shared with widget sites and evaluated by
//! [`crate::OpeningHours`].

use crate::Problems;
use crate::automations::AutomationOverrides;
use crate::hours::HoursConfig;
use crate::value::duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

include!(concat!(env!("OUT_DIR"), "/builtin_prompts.rs"));

/// In a prompt list, stands for the callback number read digit by digit (`plus`,
/// `digit_0` … `digit_9`).
pub const NUMBER_PROMPT: &str = "$number";

/// The built-in music (one for every language, 8 s that loop): a bridge's caller hears it
/// between the hold queue's announcements and while an agent holds them.
pub const MUSIC_PROMPT: &str = "hold_music";

/// `[ivr]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrConfig {
    /// Directory of prompt WAV files adding languages and replacing built-in prompts
    /// (`<language>/<prompt>.wav`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts_dir: Option<PathBuf>,
    /// Directory of Vosk speech models, one per language (`<language>/`). Speech input is off
    /// for languages without a model. Unset: `<data_dir>/models`, then
    /// `~/.cache/deflect/models` (where `scripts/run` installs the Korean test model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speech_models_dir: Option<PathBuf>,
    /// Country (ISO 3166 alpha-2) for numbers entered without a country code.
    pub default_country: String,
    /// Flows, chosen by the dialled number. Calls to numbers no flow lists go to the flow
    /// that lists no numbers, else to the built-in default flow.
    pub flows: Vec<FlowConfig>,
    /// Abuse limits on deflections.
    pub limits: LimitsConfig,
    /// Speech recognition of spoken digits.
    pub speech: SpeechConfig,
}

impl Default for IvrConfig {
    fn default() -> Self {
        Self {
            prompts_dir: None,
            speech_models_dir: None,
            default_country: "NL".into(),
            flows: Vec::new(),
            limits: LimitsConfig::default(),
            speech: SpeechConfig::default(),
        }
    }
}

/// `[[ivr.flows]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowConfig {
    /// Name, in logs, metrics and the deflection's call context.
    pub name: String,
    /// Dialled numbers (Request-URI or To user part) routed to this flow. A flow listing
    /// none takes every number no other flow lists.
    pub numbers: Vec<String>,
    /// Prompt and speech language.
    pub language: String,
    /// Overrides `ivr.default_country` for this flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// WhatsApp account the deflection is sent from (default: the default account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_account: Option<String>,
    /// Queue the deflected conversation goes to (default: `inbox.default_queue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// This flow's own prompts (`<prompt>.wav`), looked up before `ivr.prompts_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts_dir: Option<PathBuf>,
    /// Opening hours, for `branch` steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<HoursConfig>,
    /// Start in early media: the first prompts play on a 183 Session Progress, the call
    /// is answered only when the flow listens for the caller (a gather, menu, confirm, a
    /// deflection or transfer), and a flow that ends before that refuses the call (480)
    /// after its announcement, never answering it (the caller is not charged).
    pub early_media: bool,
    /// The steps, run in order. Empty: the built-in default flow's steps.
    pub steps: Vec<StepConfig>,
    /// This flow's changes to the automations its deflected calls' conversations follow
    /// (`[inbox.automations]` with its WhatsApp account's overrides): its own `bot` (which
    /// takes the customer's answer to the template), waiting rules, chat `hours`, survey,
    /// …. Not `whitelist`, `whitelist_reply`, `ice_breakers` (WhatsApp numbers'), nor the
    /// welcome (the template is the conversation's first message).
    pub automations: AutomationOverrides,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            numbers: Vec::new(),
            language: "en".into(),
            country: None,
            whatsapp_account: None,
            queue: None,
            prompts_dir: None,
            hours: None,
            early_media: false,
            steps: Vec::new(),
            automations: AutomationOverrides::default(),
        }
    }
}

/// One step of a flow. Written as a table with `step = "<kind>"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepConfig {
    /// Play prompts.
    Play(PlayStep),
    /// Collect a callback number by DTMF and/or speech.
    Gather(GatherStep),
    /// Read the number back; 1 confirms, 2 enters it again.
    Confirm(ConfirmStep),
    /// Offer choices by key ("press 1 for a WhatsApp message, 0 for an agent").
    Menu(MenuStep),
    /// Go to one step or another by opening hours.
    Branch(BranchStep),
    /// Hand the call to a person: the trunk's PBX takes it (REFER).
    Transfer(TransferStep),
    /// Say the message was sent, hang up and hand the deflection over.
    Deflect(DeflectStep),
    /// Play prompts and hang up without a deflection.
    Hangup(HangupStep),
}

impl StepConfig {
    /// The step's `id`, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Play(s) => s.id.as_deref(),
            Self::Gather(s) => s.id.as_deref(),
            Self::Confirm(s) => s.id.as_deref(),
            Self::Menu(s) => s.id.as_deref(),
            Self::Branch(s) => s.id.as_deref(),
            Self::Transfer(s) => s.id.as_deref(),
            Self::Deflect(s) => s.id.as_deref(),
            Self::Hangup(s) => s.id.as_deref(),
        }
    }

    /// The kind, as written in `step = "…"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Play(_) => "play",
            Self::Gather(_) => "gather",
            Self::Confirm(_) => "confirm",
            Self::Menu(_) => "menu",
            Self::Branch(_) => "branch",
            Self::Transfer(_) => "transfer",
            Self::Deflect(_) => "deflect",
            Self::Hangup(_) => "hangup",
        }
    }
}

/// `step = "play"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Prompts, in order.
    pub prompts: Vec<String>,
    /// A digit stops the prompts (and is kept for the next gather).
    pub barge_in: bool,
}

impl Default for PlayStep {
    fn default() -> Self {
        Self {
            id: None,
            prompts: Vec::new(),
            barge_in: true,
        }
    }
}

/// How a gather takes input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatherInput {
    /// Keypad digits only.
    Dtmf,
    /// Spoken digits only (DTMF when the language has no speech model).
    Speech,
    /// Either; the first to arrive wins.
    Both,
}

/// `step = "gather"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatherStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `dtmf`, `speech` or `both`.
    pub input: GatherInput,
    /// Prompts of each attempt.
    pub prompts: Vec<String>,
    /// When the caller's own number is a valid callback number, play `offer_prompts`
    /// instead of `prompts` on the first attempt, and take `offer_key` as the first key to
    /// mean "that number".
    pub offer_caller_number: bool,
    /// Key choosing the caller's own number.
    pub offer_key: String,
    /// Prompts offering the caller's own number.
    pub offer_prompts: Vec<String>,
    /// Fewest digits accepted (1–20).
    pub min_digits: u32,
    /// Most digits; reaching it ends input at once (1–20).
    pub max_digits: u32,
    /// Key ending input, not part of the number (`"#"`, `"*"`, or `""` for none).
    pub finish_on_key: String,
    /// Wait for the first digit or speech, from when the prompts end or are interrupted.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Wait after each digit for the next; every digit restarts it.
    #[serde(with = "duration")]
    pub inter_digit_timeout: Duration,
    /// Longest utterance once speech has started.
    #[serde(with = "duration")]
    pub speech_timeout: Duration,
    /// Attempts before giving up (1–10).
    pub attempts: u32,
    /// A digit or speech stops the prompts.
    pub barge_in: bool,
    /// Played before the prompts when an attempt had no input.
    pub no_input_prompts: Vec<String>,
    /// Played before the prompts when the input was not a usable number.
    pub invalid_prompts: Vec<String>,
    /// Step to go to after the last failed attempt (default: say `too_many_attempts` and
    /// `goodbye`, hang up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
}

impl Default for GatherStep {
    fn default() -> Self {
        Self {
            id: None,
            input: GatherInput::Both,
            prompts: vec!["enter_number".into()],
            offer_caller_number: false,
            offer_key: "1".into(),
            offer_prompts: vec!["offer_caller_number".into()],
            min_digits: 6,
            max_digits: 20,
            finish_on_key: "#".into(),
            timeout: Duration::from_secs(6),
            inter_digit_timeout: Duration::from_secs(4),
            speech_timeout: Duration::from_secs(12),
            attempts: 3,
            barge_in: true,
            no_input_prompts: vec!["no_input".into()],
            invalid_prompts: vec!["invalid_number".into()],
            on_failure: None,
        }
    }
}

/// `step = "confirm"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfirmStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Read-back prompts; `$number` is the number digit by digit.
    pub prompts: Vec<String>,
    /// Key confirming the number.
    pub confirm_key: String,
    /// Key entering the number again (back to the gather it came from).
    pub reenter_key: String,
    /// Wait for the key after the prompts end or are interrupted.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Read-backs without an answer before giving up (1–10).
    pub attempts: u32,
    /// Step to go to after the last attempt (default: say `too_many_attempts` and
    /// `goodbye`, hang up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
}

impl Default for ConfirmStep {
    fn default() -> Self {
        Self {
            id: None,
            prompts: vec![
                "you_entered".into(),
                NUMBER_PROMPT.into(),
                "confirm_options".into(),
            ],
            confirm_key: "1".into(),
            reenter_key: "2".into(),
            timeout: Duration::from_secs(6),
            attempts: 3,
            on_failure: None,
        }
    }
}

/// `step = "menu"`: one key chooses the next step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MenuStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Prompts of each attempt, saying the choices.
    pub prompts: Vec<String>,
    /// Key (`"0"`…`"9"`, `"*"`, `"#"`) → the id of the step it leads to.
    pub choices: BTreeMap<String, String>,
    /// Wait for the key after the prompts end or are interrupted.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Attempts before giving up (1–10).
    pub attempts: u32,
    /// Played before the prompts when an attempt had no key.
    pub no_input_prompts: Vec<String>,
    /// Played before the prompts when the key was not a choice.
    pub invalid_prompts: Vec<String>,
    /// Step to go to after the last failed attempt (default: say `goodbye`, hang up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
}

impl Default for MenuStep {
    fn default() -> Self {
        Self {
            id: None,
            prompts: vec!["menu_options".into()],
            choices: BTreeMap::new(),
            timeout: Duration::from_secs(6),
            attempts: 3,
            no_input_prompts: vec!["no_input".into()],
            invalid_prompts: vec!["invalid_choice".into()],
            on_failure: None,
        }
    }
}

/// How a `transfer` step hands the call over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    /// Blind transfer (RFC 3515 REFER): the trunk's side calls `target` and deflect leaves
    /// the call once it answers.
    Refer,
    /// deflect calls `target` itself and relays the audio between both calls.
    Bridge,
}

/// How a bridge rings its targets (the names of Asterisk's queue strategies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HuntStrategy {
    /// One after the other, in order, each for `ring_timeout`.
    #[default]
    Linear,
    /// All at once; the first to answer takes the call, the others stop ringing.
    Ringall,
}

/// `step = "transfer"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransferStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `refer` (the trunk's side takes the call) or `bridge` (deflect calls the target and
    /// relays the audio, keeping the call).
    pub mode: TransferMode,
    /// Where the call goes: a `sip:`, `sips:` or `tel:` URI, e.g. `sip:queue@pbx.example.com`
    /// (`bridge`: a `sip:` or `sips:` URI, or `inbox:<queue>` — the softphones of that
    /// `[[inbox.queues]]` queue's agents ring in the inbox).
    pub target: String,
    /// `bridge`: further targets (a hunt list) rung after `target` (`linear`) or with it
    /// (`ringall`); after the last, the list starts again until `timeout`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hunt: Vec<String>,
    /// `bridge`: `linear` (target, then each of `hunt` in turn) or `ringall` (all at once).
    pub strategy: HuntStrategy,
    /// `bridge`: the trunk (a `[[sip.trunks]]` name) the calls go out through: to its
    /// `outbound_proxy` (with `Route`), else to its `addresses` in order — those the OPTIONS
    /// probe finds down last — failing over to the next when one does not answer, cannot be
    /// reached or answers 5xx; a digest challenge answered with its `register` credentials.
    /// Unset: each target's own host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    /// `bridge`: how long one target (`ringall`: the round) may ring before the next is
    /// tried (5s–5m).
    #[serde(with = "duration")]
    pub ring_timeout: Duration,
    /// Said before the transfer starts.
    pub prompts: Vec<String>,
    /// `bridge`: the hold queue — played while the targets ring, again every
    /// `hold_repeat`. Default: `queue_offer` ("press 1 for a WhatsApp message instead")
    /// when `on_leave` is set, otherwise nothing (quiet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_prompts: Option<Vec<String>>,
    /// `bridge`: from the start of one round of `hold_prompts` to the next (5s–5m).
    #[serde(with = "duration")]
    pub hold_repeat: Duration,
    /// `bridge`: played over and over while no round of `hold_prompts` plays, and while an
    /// agent holds the caller. Default: `hold_music` (built in); `[]`: quiet.
    pub hold_music: Vec<String>,
    /// `bridge`: the key that leaves the queue for `on_leave`.
    pub leave_key: String,
    /// `bridge`: the step a caller pressing `leave_key` while waiting goes to (typically the
    /// gather that takes their WhatsApp number); unset: the key does nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_leave: Option<String>,
    /// Said when the transfer fails (refused, the target busy or not answering).
    pub failure_prompts: Vec<String>,
    /// Longest wait for the target to answer before the transfer counts as failed (5s–5m;
    /// `bridge`: up to 1h, the longest time in the hold queue).
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// Step to go to after a failed transfer (default: say `goodbye`, hang up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
}

impl TransferStep {
    /// Every target in the order a bridge tries them: `target`, then `hunt`.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.target.as_str()).chain(self.hunt.iter().map(String::as_str))
    }

    /// The hold queue's prompts, with their default.
    pub fn hold_prompts(&self) -> Vec<String> {
        match &self.hold_prompts {
            Some(p) => p.clone(),
            None if self.on_leave.is_some() => vec!["queue_offer".into()],
            None => Vec::new(),
        }
    }
}

impl Default for TransferStep {
    fn default() -> Self {
        Self {
            id: None,
            mode: TransferMode::Refer,
            target: String::new(),
            hunt: Vec::new(),
            strategy: HuntStrategy::Linear,
            trunk: None,
            ring_timeout: Duration::from_secs(20),
            prompts: vec!["transferring".into()],
            hold_prompts: None,
            hold_repeat: Duration::from_secs(20),
            hold_music: vec![MUSIC_PROMPT.into()],
            leave_key: "1".into(),
            on_leave: None,
            failure_prompts: vec!["transfer_failed".into()],
            timeout: Duration::from_secs(60),
            on_failure: None,
        }
    }
}

/// `step = "branch"`: by the flow's `hours`. A missing target means the next step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BranchStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Step while open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
    /// Step while closed (outside the weekly intervals, or on a holiday).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
}

/// `step = "deflect"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeflectStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Said once the limits allow the deflection, before hanging up.
    pub prompts: Vec<String>,
    /// Said instead when an abuse limit refuses it.
    pub limit_prompts: Vec<String>,
}

impl Default for DeflectStep {
    fn default() -> Self {
        Self {
            id: None,
            prompts: vec!["message_sent".into(), "goodbye".into()],
            limit_prompts: vec!["limit_reached".into(), "goodbye".into()],
        }
    }
}

/// `step = "hangup"`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HangupStep {
    /// Name other steps jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Said before hanging up.
    pub prompts: Vec<String>,
}

impl Default for HangupStep {
    fn default() -> Self {
        Self {
            id: None,
            prompts: vec!["goodbye".into()],
        }
    }
}

impl FlowConfig {
    /// The steps the flow runs: its own, or the default flow's when it lists none.
    pub fn effective_steps(&self) -> std::borrow::Cow<'_, [StepConfig]> {
        if self.steps.is_empty() {
            std::borrow::Cow::Owned(Self::default_steps())
        } else {
            std::borrow::Cow::Borrowed(&self.steps)
        }
    }

    /// The built-in default flow: greet, offer the calling number or take another one, read
    /// it back, say the WhatsApp message was sent, hang up, deflect.
    pub fn default_steps() -> Vec<StepConfig> {
        vec![
            StepConfig::Play(PlayStep {
                prompts: vec!["welcome".into()],
                ..PlayStep::default()
            }),
            StepConfig::Gather(GatherStep {
                offer_caller_number: true,
                ..GatherStep::default()
            }),
            StepConfig::Confirm(ConfirmStep::default()),
            StepConfig::Deflect(DeflectStep::default()),
        ]
    }
}

/// `[ivr.limits]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deflections per calling number per hour (0: no limit). Callers withholding their
    /// number share one allowance.
    pub per_caller_per_hour: u32,
    /// Deflections to one callback number per hour (0: no limit).
    pub per_callback_number_per_hour: u32,
    /// Countries (ISO 3166 alpha-2) callback numbers may be in; empty allows all.
    pub allowed_countries: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_caller_per_hour: 3,
            per_callback_number_per_hour: 3,
            allowed_countries: Vec::new(),
        }
    }
}

/// `[ivr.speech]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// Lowest word-level recogniser confidence (0–1) of any digit word in a spoken number
    /// for the number to be taken; below it the attempt counts as not understood.
    pub min_confidence: f32,
    /// Digit words per language, added to (and overriding) the built-in ones for `en` and
    /// `ko`: word → `"0"`…`"9"`, `"double"` or `"triple"` (repeat the next digit).
    pub digit_words: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        Self {
            min_confidence: 0.5,
            digit_words: BTreeMap::new(),
        }
    }
}

fn check_country(p: &mut Problems, path: String, c: &str) {
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        p.push(
            path,
            format!("{c:?} is not an ISO 3166 alpha-2 country code such as \"NL\" or \"US\""),
        );
    }
}

/// Valid values of a digit word, for `ivr.speech.digit_words`.
pub const DIGIT_WORD_VALUES: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "double", "triple",
];

impl IvrConfig {
    pub(crate) fn validate(&self, p: &mut Problems) {
        check_country(p, "ivr.default_country".into(), &self.default_country);
        for (i, c) in self.limits.allowed_countries.iter().enumerate() {
            check_country(p, format!("ivr.limits.allowed_countries[{i}]"), c);
        }
        if !(0.0..=1.0).contains(&self.speech.min_confidence) {
            p.push(
                "ivr.speech.min_confidence",
                format!(
                    "{} is out of range; expected a number from 0 to 1, e.g. 0.5",
                    self.speech.min_confidence
                ),
            );
        }
        for (language, words) in &self.speech.digit_words {
            for (word, value) in words {
                let at = format!("ivr.speech.digit_words.{language}.{word}");
                if !DIGIT_WORD_VALUES.contains(&value.as_str()) {
                    p.push(
                        at,
                        format!(
                            "{value:?} is not a digit word meaning; valid: \"0\"…\"9\", \"double\", \"triple\""
                        ),
                    );
                } else if word.trim().is_empty() || word.contains(char::is_whitespace) {
                    p.push(at, "a digit word must be one word without spaces");
                }
            }
        }
        p.unique_names("ivr.flows", self.flows.iter().map(|f| f.name.as_str()));
        let mut numbers: Vec<&str> = Vec::new();
        let mut catch_all: Option<usize> = None;
        for (i, f) in self.flows.iter().enumerate() {
            let at = format!("ivr.flows[{i}]");
            p.identifier(format!("{at}.name"), &f.name);
            if let Some(c) = &f.country {
                check_country(p, format!("{at}.country"), c);
            }
            if f.numbers.is_empty() {
                if let Some(first) = catch_all {
                    p.push(
                        format!("{at}.numbers"),
                        format!(
                            "ivr.flows[{first}] already takes every number no flow lists; \
                             list this flow's numbers"
                        ),
                    );
                }
                catch_all = Some(i);
            }
            for (j, n) in f.numbers.iter().enumerate() {
                if numbers.contains(&n.as_str()) {
                    p.push(
                        format!("{at}.numbers[{j}]"),
                        format!("{n:?} is routed to an earlier flow"),
                    );
                }
                numbers.push(n);
            }
            if !is_language_tag(&f.language) {
                p.push(
                    format!("{at}.language"),
                    format!(
                        "{:?} is not a language code; write e.g. \"en\", \"ko\" or \"pt-BR\"",
                        f.language
                    ),
                );
            }
            if let Some(h) = &f.hours {
                h.validate(p, &format!("{at}.hours"));
            }
            self.validate_steps(p, &at, f);
        }
    }

    /// Checks one flow's steps: values, prompts, references, and the order gather →
    /// confirm → deflect.
    fn validate_steps(&self, p: &mut Problems, at: &str, f: &FlowConfig) {
        let steps = f.effective_steps();
        let steps = &steps[..];
        let ids: Vec<&str> = steps.iter().filter_map(StepConfig::id).collect();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                p.push(
                    format!("{at}.steps"),
                    format!("the step id {id:?} is used twice; ids must be unique"),
                );
            }
        }
        let unknown = crate::jumps::resolve_jumps(steps).err().unwrap_or_default();
        // Targets naming no step, reported where the step's other problems are.
        let target = |p: &mut Problems, step: usize, sat: &str, key: &str| {
            for u in unknown.iter().filter(|u| u.step == step && u.key == key) {
                p.unknown_reference(format!("{sat}.{key}"), &u.id, "step (by id)", &ids);
            }
        };
        let mut gathered = false;
        for (i, s) in steps.iter().enumerate() {
            let sat = format!("{at}.steps[{i}]");
            if let Some(id) = s.id() {
                p.identifier(format!("{sat}.id"), id);
            }
            let prompts = |p: &mut Problems, key: &str, list: &[String], required: bool| {
                if required && list.is_empty() {
                    p.push(format!("{sat}.{key}"), "name at least one prompt");
                }
                for (k, name) in list.iter().enumerate() {
                    self.check_prompt(p, format!("{sat}.{key}[{k}]"), f, name, gathered);
                }
            };
            match s {
                StepConfig::Play(s) => prompts(p, "prompts", &s.prompts, true),
                StepConfig::Gather(g) => {
                    prompts(p, "prompts", &g.prompts, false);
                    prompts(p, "no_input_prompts", &g.no_input_prompts, false);
                    prompts(p, "invalid_prompts", &g.invalid_prompts, false);
                    if g.offer_caller_number {
                        prompts(p, "offer_prompts", &g.offer_prompts, false);
                        check_key(p, format!("{sat}.offer_key"), &g.offer_key, false);
                        if g.offer_key == g.finish_on_key {
                            p.push(format!("{sat}.offer_key"), "must differ from finish_on_key");
                        }
                    }
                    check_key(p, format!("{sat}.finish_on_key"), &g.finish_on_key, true);
                    check_range(p, format!("{sat}.min_digits"), g.min_digits, 1, 20);
                    check_range(p, format!("{sat}.max_digits"), g.max_digits, 1, 20);
                    if g.min_digits > g.max_digits {
                        p.push(
                            format!("{sat}.min_digits"),
                            format!(
                                "{} is more than max_digits ({})",
                                g.min_digits, g.max_digits
                            ),
                        );
                    }
                    check_range(p, format!("{sat}.attempts"), g.attempts, 1, 10);
                    check_duration(p, format!("{sat}.timeout"), g.timeout);
                    check_duration(
                        p,
                        format!("{sat}.inter_digit_timeout"),
                        g.inter_digit_timeout,
                    );
                    check_duration(p, format!("{sat}.speech_timeout"), g.speech_timeout);
                    target(p, i, &sat, "on_failure");
                    gathered = true;
                }
                StepConfig::Confirm(c) => {
                    if !gathered {
                        p.push(
                            format!("{sat}.step"),
                            "a confirm step needs a gather step before it",
                        );
                    }
                    prompts(p, "prompts", &c.prompts, true);
                    check_key(p, format!("{sat}.confirm_key"), &c.confirm_key, false);
                    check_key(p, format!("{sat}.reenter_key"), &c.reenter_key, false);
                    if c.confirm_key == c.reenter_key {
                        p.push(format!("{sat}.reenter_key"), "must differ from confirm_key");
                    }
                    check_range(p, format!("{sat}.attempts"), c.attempts, 1, 10);
                    check_duration(p, format!("{sat}.timeout"), c.timeout);
                    target(p, i, &sat, "on_failure");
                }
                StepConfig::Menu(m) => {
                    prompts(p, "prompts", &m.prompts, true);
                    prompts(p, "no_input_prompts", &m.no_input_prompts, false);
                    prompts(p, "invalid_prompts", &m.invalid_prompts, false);
                    if m.choices.is_empty() {
                        p.push(
                            format!("{sat}.choices"),
                            "name at least one choice: a key and the id of the step it leads to",
                        );
                    }
                    for key in m.choices.keys() {
                        check_key(p, format!("{sat}.choices.{key}"), key, false);
                        target(p, i, &sat, &format!("choices.{key}"));
                    }
                    check_range(p, format!("{sat}.attempts"), m.attempts, 1, 10);
                    check_duration(p, format!("{sat}.timeout"), m.timeout);
                    target(p, i, &sat, "on_failure");
                }
                StepConfig::Transfer(t) => {
                    let bridge = t.mode == TransferMode::Bridge;
                    if let Err(why) = check_transfer_target(&t.target, bridge) {
                        p.push(format!("{sat}.target"), why);
                    }
                    prompts(p, "prompts", &t.prompts, false);
                    prompts(p, "failure_prompts", &t.failure_prompts, false);
                    let longest = if bridge { 3600 } else { 300 };
                    check_between(p, format!("{sat}.timeout"), t.timeout, 5, longest);
                    if t.on_failure.is_some() && t.on_failure == t.id {
                        p.push(
                            format!("{sat}.on_failure"),
                            "a failed transfer cannot try itself again at once; name another step",
                        );
                    }
                    target(p, i, &sat, "on_failure");
                    if bridge {
                        if t.hunt.len() > 63 {
                            p.push(
                                format!("{sat}.hunt"),
                                format!("{} targets; at most 63", t.hunt.len()),
                            );
                        }
                        for (k, h) in t.hunt.iter().enumerate() {
                            if let Err(why) = check_transfer_target(h, true) {
                                p.push(format!("{sat}.hunt[{k}]"), why);
                            }
                        }
                        check_between(p, format!("{sat}.ring_timeout"), t.ring_timeout, 5, 300);
                        check_between(p, format!("{sat}.hold_repeat"), t.hold_repeat, 5, 300);
                        prompts(p, "hold_prompts", &t.hold_prompts(), false);
                        prompts(p, "hold_music", &t.hold_music, false);
                        check_key(p, format!("{sat}.leave_key"), &t.leave_key, false);
                        target(p, i, &sat, "on_leave");
                    } else {
                        let bridge_only = [
                            ("hunt", !t.hunt.is_empty()),
                            ("strategy", t.strategy != HuntStrategy::Linear),
                            ("trunk", t.trunk.is_some()),
                            ("hold_prompts", t.hold_prompts.is_some()),
                            ("hold_music", t.hold_music != [MUSIC_PROMPT]),
                            ("on_leave", t.on_leave.is_some()),
                        ];
                        for (key, set) in bridge_only {
                            if set {
                                p.push(
                                    format!("{sat}.{key}"),
                                    "only a bridge has it; set mode = \"bridge\" or remove it",
                                );
                            }
                        }
                    }
                }
                StepConfig::Branch(b) => {
                    if f.hours.is_none() {
                        p.push(
                            format!("{sat}.step"),
                            format!(
                                "a branch step needs opening hours: add [{at}.hours] with \
                                 time_zone and weekly"
                            ),
                        );
                    }
                    if b.open.is_none() && b.closed.is_none() {
                        p.push(
                            format!("{sat}.open"),
                            "set open, closed or both (the step to go to)",
                        );
                    }
                    target(p, i, &sat, "open");
                    target(p, i, &sat, "closed");
                }
                StepConfig::Deflect(d) => {
                    if !gathered {
                        p.push(
                            format!("{sat}.step"),
                            "a deflect step needs a gather step before it",
                        );
                    }
                    prompts(p, "prompts", &d.prompts, false);
                    prompts(p, "limit_prompts", &d.limit_prompts, false);
                }
                StepConfig::Hangup(h) => prompts(p, "prompts", &h.prompts, false),
            }
        }
    }

    fn check_prompt(
        &self,
        p: &mut Problems,
        path: String,
        f: &FlowConfig,
        name: &str,
        gathered: bool,
    ) {
        if name == NUMBER_PROMPT {
            if !gathered {
                p.push(
                    path,
                    format!("{NUMBER_PROMPT} (the number read back) needs a gather step before it"),
                );
            }
            return;
        }
        if BUILTIN_PROMPTS.contains(&name) || name == MUSIC_PROMPT {
            return;
        }
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            p.push(
                path,
                format!(
                    "{name:?} is not a prompt name; use letters, digits, '_' and '-' \
                     (the file is <name>.wav)"
                ),
            );
            return;
        }
        let file = format!("{name}.wav");
        let candidates: Vec<PathBuf> = [
            f.prompts_dir.as_deref().map(|d| d.join(&file)),
            self.prompts_dir
                .as_deref()
                .map(|d| d.join(&f.language).join(&file)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !candidates.iter().any(|c| Path::is_file(c)) {
            let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            p.push(
                path,
                format!(
                    "no prompt {name:?}: it is not built in (valid: {}, {MUSIC_PROMPT}) and no \
                     file {}",
                    BUILTIN_PROMPTS.join(", "),
                    if looked.is_empty() {
                        "can be found without prompts_dir".to_string()
                    } else {
                        format!("exists at {}", looked.join(" or "))
                    }
                ),
            );
        }
    }
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn check_key(p: &mut Problems, path: String, key: &str, may_be_empty: bool) {
    let ok = match key.as_bytes() {
        [] => may_be_empty,
        [b] => b.is_ascii_digit() || *b == b'*' || *b == b'#',
        _ => false,
    };
    if !ok {
        p.push(
            path,
            format!(
                "{key:?} is not a key; write one of \"0\"…\"9\", \"*\", \"#\"{}",
                if may_be_empty {
                    ", or \"\" for none"
                } else {
                    ""
                }
            ),
        );
    }
}

/// The queue whose agents a bridge target `inbox:<queue>` rings in the inbox; `None` for
/// any other target.
pub fn inbox_queue(target: &str) -> Option<&str> {
    target.strip_prefix("inbox:")
}

/// A transfer target: a `sip:`/`sips:` URI with a host, (REFER only) a `tel:` URI with a
/// number, or (bridge only) `inbox:<queue>`; no spaces or angle brackets (it goes into a
/// `Refer-To` header or a Request-URI as it is). The queue is checked against
/// `[[inbox.queues]]` with the whole configuration.
fn check_transfer_target(target: &str, bridge: bool) -> Result<(), String> {
    let valid = if bridge {
        "write a sip: or sips: URI deflect can call, e.g. \"sip:support@pbx.example.com\", \
         or inbox:<queue> for the inbox's agents"
    } else {
        "write a sip:, sips: or tel: URI, e.g. \"sip:support@pbx.example.com\""
    };
    if target.is_empty() {
        return Err(format!("no target; {valid}"));
    }
    if target
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    {
        return Err(format!(
            "{target:?} has spaces, quotes or angle brackets; {valid}"
        ));
    }
    let (scheme, rest) = target.split_once(':').unwrap_or(("", ""));
    let ok = match scheme.to_ascii_lowercase().as_str() {
        "sip" | "sips" => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            !host.is_empty() && !host.starts_with([';', ':'])
        }
        "tel" if !bridge => rest
            .trim_start_matches('+')
            .starts_with(|c: char| c.is_ascii_digit()),
        _ if bridge => inbox_queue(target).is_some_and(|q| !q.is_empty()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{target:?} is not a usable URI; {valid}"))
    }
}

fn check_range(p: &mut Problems, path: String, v: u32, min: u32, max: u32) {
    if !(min..=max).contains(&v) {
        p.push(path, format!("{v} is out of range; expected {min}–{max}"));
    }
}

/// `d` within `min`–`max` seconds.
fn check_between(p: &mut Problems, path: String, d: Duration, min: u64, max: u64) {
    let (min, max) = (Duration::from_secs(min), Duration::from_secs(max));
    if d < min || d > max {
        let f = humantime::format_duration;
        p.push(
            path,
            format!("{} is out of range; expected {}–{}", f(d), f(min), f(max)),
        );
    }
}

fn check_duration(p: &mut Problems, path: String, d: Duration) {
    if d < Duration::from_millis(500) || d > Duration::from_secs(120) {
        p.push(
            path,
            format!(
                "{} is out of range; expected 500ms–2m",
                humantime::format_duration(d)
            ),
        );
    }
}
