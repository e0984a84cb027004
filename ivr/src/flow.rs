//! Flows compiled from `[ivr]`: steps with their jumps resolved to indices, prompts by
//! name, number rules, opening hours and digit words, shared by every call of the flow.
//! Routing picks a flow by the dialled number.

use crate::hours::{HoursError, OpeningHours};
use crate::number::{NumberRules, UnknownCountry};
use crate::words::DigitWords;
use deflect_config::{
    BUILTIN_LANGUAGE_PROMPTS, FlowConfig, GatherInput, HuntStrategy, IvrConfig, NUMBER_PROMPT,
    StepConfig, TransferMode, resolve_jumps,
};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A prompt, by name: one of `deflect_config::BUILTIN_PROMPTS` or a flow's own
/// (`<name>.wav`, see [`Flow::prompt_file`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prompt(Arc<str>);

impl Prompt {
    /// A prompt named `name`.
    pub fn new(name: &str) -> Self {
        Self(name.into())
    }

    /// The name, e.g. `welcome` or `digit_7`.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pause between the groups of a number read back (`06 12345678` is read "zero six —
/// one two …"): comfort noise for [`PAUSE_LENGTH`], unless a flow's prompts directory has a
/// `pause.wav`.
pub const PAUSE_PROMPT: &str = "pause";

/// The prompts `number_10` … `number_99` when `language` (or its primary language: `fr`
/// for `fr-CA`) has them built in, so its read-backs say two-digit groups as numbers;
/// otherwise none and numbers are read digit by digit.
fn pair_prompts(language: &str) -> Vec<Prompt> {
    let primary = language.split('-').next().unwrap_or(language);
    let names: Vec<String> = (10..100).map(|n| format!("number_{n}")).collect();
    let built_in = |name: &String| BUILTIN_LANGUAGE_PROMPTS.contains(&(primary, name.as_str()));
    if names.iter().all(built_in) {
        names.iter().map(|n| Prompt::new(n)).collect()
    } else {
        Vec::new()
    }
}

/// How long [`PAUSE_PROMPT`] lasts.
pub const PAUSE_LENGTH: Duration = Duration::from_millis(300);

/// An entry of a prompt list: a prompt, or the number read back digit by digit.
#[derive(Clone, Debug)]
pub(crate) enum PromptItem {
    Prompt(Prompt),
    Number,
}

fn prompt_list(names: &[String]) -> Vec<PromptItem> {
    names
        .iter()
        .map(|n| {
            if n == NUMBER_PROMPT {
                PromptItem::Number
            } else {
                PromptItem::Prompt(Prompt::new(n))
            }
        })
        .collect()
}

/// A gather's or confirm's input rules, copied into each attempt.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InputRules {
    pub min_digits: usize,
    pub max_digits: usize,
    pub finish_on_key: Option<char>,
    pub timeout: Duration,
    pub inter_digit_timeout: Duration,
    pub speech_timeout: Duration,
    pub attempts: u32,
    pub barge_in: bool,
    pub speech: bool,
    pub dtmf: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct GatherSpec {
    pub rules: InputRules,
    pub prompts: Vec<PromptItem>,
    pub offer: Option<(char, Vec<PromptItem>)>,
    pub no_input_prompts: Vec<PromptItem>,
    pub invalid_prompts: Vec<PromptItem>,
    pub on_failure: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct ConfirmSpec {
    pub rules: InputRules,
    pub prompts: Vec<PromptItem>,
    pub confirm_key: char,
    pub reenter_key: char,
    pub on_failure: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct MenuSpec {
    pub rules: InputRules,
    pub prompts: Vec<PromptItem>,
    /// Each choice's key and the step it leads to.
    pub choices: Vec<(char, usize)>,
    pub no_input_prompts: Vec<PromptItem>,
    pub invalid_prompts: Vec<PromptItem>,
    pub on_failure: Option<usize>,
}

impl MenuSpec {
    /// The step `key` leads to, if it is a choice.
    pub fn choice(&self, key: char) -> Option<usize> {
        self.choices
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| *s)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TransferSpec {
    /// The target URI, as the `Refer-To` carries it.
    pub target: Arc<str>,
    pub prompts: Vec<PromptItem>,
    pub failure_prompts: Vec<PromptItem>,
    /// Longest wait for the target to answer (a bridge: the longest time in the queue).
    pub timeout: Duration,
    pub on_failure: Option<usize>,
    /// `mode = "bridge"`: deflect calls the targets itself.
    pub bridge: Option<BridgeSpec>,
}

/// How a bridging transfer calls its targets and holds the caller meanwhile.
#[derive(Clone, Debug)]
pub(crate) struct BridgeSpec {
    /// `target`, then the hunt list, in the order tried (at most 64).
    pub targets: Vec<Arc<str>>,
    /// The trunk the calls go out through (none: each target's own host).
    pub trunk: Option<Arc<str>>,
    /// One after the other, or all at once.
    pub strategy: HuntStrategy,
    /// How long one target may ring.
    pub ring_timeout: Duration,
    /// The hold queue's prompts, started again every `hold_repeat`.
    pub hold_prompts: Vec<PromptItem>,
    pub hold_repeat: Duration,
    /// Played over and over between rounds of `hold_prompts`, and while the agent holds
    /// the caller.
    pub hold_music: Vec<PromptItem>,
    /// The key that leaves the queue, and where to (none: no way out but waiting).
    pub leave: Option<(char, usize)>,
}

#[derive(Clone, Debug)]
pub(crate) enum Step {
    Play {
        prompts: Vec<PromptItem>,
        barge_in: bool,
    },
    Gather(Box<GatherSpec>),
    Confirm(Box<ConfirmSpec>),
    Menu(Box<MenuSpec>),
    Transfer(Box<TransferSpec>),
    Branch {
        open: usize,
        closed: usize,
    },
    Deflect {
        prompts: Vec<PromptItem>,
        limit_prompts: Vec<PromptItem>,
    },
    Hangup {
        prompts: Vec<PromptItem>,
    },
}

/// Abuse limits per hour (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourlyLimits {
    /// Deflections per calling number.
    pub per_caller: u32,
    /// Deflections to one callback number.
    pub per_callback_number: u32,
}

/// One compiled flow, shared by its calls.
#[derive(Debug)]
pub struct Flow {
    pub(crate) name: String,
    pub(crate) language: String,
    pub(crate) whatsapp_account: Option<String>,
    pub(crate) queue: Option<String>,
    pub(crate) early_media: bool,
    pub(crate) rules: NumberRules,
    pub(crate) hours: Option<OpeningHours>,
    pub(crate) steps: Vec<Step>,
    /// Each step's name in a call's path: its `id`, else its kind.
    pub(crate) step_names: Vec<String>,
    pub(crate) words: Option<DigitWords>,
    pub(crate) speech: bool,
    pub(crate) min_confidence: f32,
    pub(crate) limits: HourlyLimits,
    pub(crate) digit_prompts: [Prompt; 10],
    /// `number_10` … `number_99` when the language reads a number's two-digit groups as
    /// numbers (its built-in prompts have them: French), else empty.
    pub(crate) pair_prompts: Vec<Prompt>,
    pub(crate) plus_prompt: Prompt,
    /// The silence between a number's groups in a read-back.
    pub(crate) pause_prompt: Prompt,
    prompt_dirs: Vec<PathBuf>,
}

impl Flow {
    /// Whether a gather offers the calling number: only then is a caller's number classified
    /// as a callback number (mobile, allowed country) when the call starts.
    pub(crate) fn offers_caller_number(&self) -> bool {
        (self.steps.iter()).any(|s| matches!(s, Step::Gather(g) if g.offer.is_some()))
    }

    /// The flow's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its language (prompts and speech).
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Whether its calls start in early media (183 with SDP), answered only once the flow
    /// listens for the caller.
    pub fn early_media(&self) -> bool {
        self.early_media
    }

    /// Whether its gathers listen for speech: the language has a model and digit words.
    pub fn speech(&self) -> bool {
        self.speech
    }

    /// Every prompt a call of this flow may play: those its steps name, the digits, `plus`,
    /// the pause between a number's groups and the built-in goodbyes. The driver resolves each once at
    /// start-up, so no call looks for a file.
    pub fn prompts(&self) -> Vec<Prompt> {
        let mut all: Vec<Prompt> = Vec::new();
        let mut add = |items: &[PromptItem]| {
            for item in items {
                if let PromptItem::Prompt(p) = item {
                    all.push(p.clone());
                }
            }
        };
        for step in &self.steps {
            match step {
                Step::Play { prompts, .. } | Step::Hangup { prompts } => add(prompts),
                Step::Gather(g) => {
                    add(&g.prompts);
                    add(&g.no_input_prompts);
                    add(&g.invalid_prompts);
                    if let Some((_, offer)) = &g.offer {
                        add(offer);
                    }
                }
                Step::Confirm(c) => add(&c.prompts),
                Step::Menu(m) => {
                    add(&m.prompts);
                    add(&m.no_input_prompts);
                    add(&m.invalid_prompts);
                }
                Step::Transfer(t) => {
                    add(&t.prompts);
                    add(&t.failure_prompts);
                    if let Some(bridge) = &t.bridge {
                        add(&bridge.hold_prompts);
                        add(&bridge.hold_music);
                    }
                }
                Step::Deflect {
                    prompts,
                    limit_prompts,
                } => {
                    add(prompts);
                    add(limit_prompts);
                }
                Step::Branch { .. } => {}
            }
        }
        all.extend(self.digit_prompts.iter().cloned());
        all.extend(self.pair_prompts.iter().cloned());
        all.push(self.plus_prompt.clone());
        all.push(self.pause_prompt.clone());
        all.extend(["too_many_attempts", "goodbye"].map(Prompt::new));
        let mut seen = std::collections::HashSet::new();
        all.retain(|p| seen.insert(p.clone()));
        all
    }

    /// The file that replaces `prompt` for this flow: `<flow prompts_dir>/<name>.wav`, else
    /// `<ivr.prompts_dir>/<language>/<name>.wav`; `None` means the built-in prompt.
    pub fn prompt_file(&self, prompt: &Prompt) -> Option<PathBuf> {
        self.prompt_dirs
            .iter()
            .map(|d| d.join(format!("{}.wav", prompt.name())))
            .find(|f| f.is_file())
    }
}

/// Every flow, and the routing from dialled numbers to them.
#[derive(Debug)]
pub struct Flows {
    flows: Vec<Arc<Flow>>,
    by_number: HashMap<String, usize>,
    fallback: usize,
    routing: NumberRules,
}

/// A flow that does not compile. The configuration check reports these with key paths
/// first; this is the same finding from the IVR's side.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A country code the phone number metadata does not know.
    #[error("flow {flow:?}: {source}")]
    Country {
        /// The flow.
        flow: String,
        /// What is wrong.
        source: UnknownCountry,
    },
    /// Opening hours that do not compile.
    #[error("flow {flow:?}: {source}")]
    Hours {
        /// The flow.
        flow: String,
        /// What is wrong.
        source: HoursError,
    },
    /// A step target (`on_failure`, `open`, `closed`, a menu choice) naming no step, the first when
    /// several do (see `deflect_config::resolve_jumps`).
    #[error("flow {flow:?}: no step has the id {id:?}")]
    Target {
        /// The flow.
        flow: String,
        /// The missing id.
        id: String,
    },
}

impl Flows {
    /// Compiles `[ivr]`. `has_speech_model(language)` says whether a speech model is loaded
    /// for a language (see `SpeechModels::has`).
    pub fn new(
        config: &IvrConfig,
        has_speech_model: impl Fn(&str) -> bool,
    ) -> Result<Self, FlowError> {
        let mut flows = Vec::new();
        let mut by_number = HashMap::new();
        let routing = NumberRules::new(&config.default_country, &[]).map_err(|source| {
            FlowError::Country {
                flow: "(ivr.default_country)".into(),
                source,
            }
        })?;
        let mut fallback = None;
        for f in &config.flows {
            let flow = compile(config, f, &has_speech_model)?;
            let index = flows.len();
            for n in &f.numbers {
                by_number.entry(n.clone()).or_insert(index);
                if let Some(e164) = flow.rules.e164(n) {
                    by_number.entry(e164).or_insert(index);
                }
            }
            if f.numbers.is_empty() && fallback.is_none() {
                fallback = Some(index);
            }
            flows.push(Arc::new(flow));
        }
        let fallback = match fallback {
            Some(i) => i,
            None => {
                let default = FlowConfig {
                    name: "default".into(),
                    ..FlowConfig::default()
                };
                flows.push(Arc::new(compile(config, &default, &has_speech_model)?));
                flows.len() - 1
            }
        };
        Ok(Self {
            flows,
            by_number,
            fallback,
            routing,
        })
    }

    /// The flow for a call to `dialled` (the Request-URI or To user part): the flow listing
    /// it as written or in E.164, else the fallback flow.
    pub fn route(&self, dialled: &str) -> &Arc<Flow> {
        if self.by_number.is_empty() {
            return &self.flows[self.fallback];
        }
        let index = self
            .by_number
            .get(dialled)
            .or_else(|| {
                self.routing
                    .e164(dialled)
                    .and_then(|n| self.by_number.get(&n))
            })
            .copied()
            .unwrap_or(self.fallback);
        &self.flows[index]
    }

    /// Every flow, the fallback included.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Flow>> {
        self.flows.iter()
    }
}

fn compile(
    config: &IvrConfig,
    f: &FlowConfig,
    has_speech_model: &impl Fn(&str) -> bool,
) -> Result<Flow, FlowError> {
    let country = f.country.as_deref().unwrap_or(&config.default_country);
    let rules = NumberRules::new(country, &config.limits.allowed_countries).map_err(|source| {
        FlowError::Country {
            flow: f.name.clone(),
            source,
        }
    })?;
    let hours = f
        .hours
        .as_ref()
        .map(OpeningHours::new)
        .transpose()
        .map_err(|source| FlowError::Hours {
            flow: f.name.clone(),
            source,
        })?;
    let words = DigitWords::for_language(&f.language, &config.speech);
    let speech = words.is_some() && has_speech_model(&f.language);
    let steps = f.effective_steps();
    let steps = &steps[..];
    let jumps = resolve_jumps(steps).map_err(|unknown| FlowError::Target {
        flow: f.name.clone(),
        // resolve_jumps reports at least one.
        id: unknown.into_iter().next().map(|u| u.id).unwrap_or_default(),
    })?;
    let key = |s: &str| s.chars().next();
    let mut compiled = Vec::with_capacity(steps.len());
    for (s, jumps) in steps.iter().zip(jumps) {
        compiled.push(match s {
            StepConfig::Play(p) => Step::Play {
                prompts: prompt_list(&p.prompts),
                barge_in: p.barge_in,
            },
            StepConfig::Gather(g) => Step::Gather(Box::new(GatherSpec {
                rules: InputRules {
                    min_digits: g.min_digits as usize,
                    max_digits: g.max_digits as usize,
                    finish_on_key: key(&g.finish_on_key),
                    timeout: g.timeout,
                    inter_digit_timeout: g.inter_digit_timeout,
                    speech_timeout: g.speech_timeout,
                    attempts: g.attempts,
                    barge_in: g.barge_in,
                    speech: speech && g.input != GatherInput::Dtmf,
                    // Speech-only gathers still take digits when no model can listen.
                    dtmf: g.input != GatherInput::Speech || !speech,
                },
                prompts: prompt_list(&g.prompts),
                offer: g
                    .offer_caller_number
                    .then(|| key(&g.offer_key).map(|k| (k, prompt_list(&g.offer_prompts))))
                    .flatten(),
                no_input_prompts: prompt_list(&g.no_input_prompts),
                invalid_prompts: prompt_list(&g.invalid_prompts),
                on_failure: jumps.on_failure,
            })),
            StepConfig::Confirm(c) => Step::Confirm(Box::new(ConfirmSpec {
                rules: InputRules {
                    min_digits: 1,
                    max_digits: 1,
                    finish_on_key: None,
                    timeout: c.timeout,
                    inter_digit_timeout: c.timeout,
                    speech_timeout: c.timeout,
                    attempts: c.attempts,
                    barge_in: true,
                    speech: false,
                    dtmf: true,
                },
                prompts: prompt_list(&c.prompts),
                confirm_key: key(&c.confirm_key).unwrap_or('1'),
                reenter_key: key(&c.reenter_key).unwrap_or('2'),
                on_failure: jumps.on_failure,
            })),
            StepConfig::Menu(m) => Step::Menu(Box::new(MenuSpec {
                rules: InputRules {
                    min_digits: 1,
                    max_digits: 1,
                    finish_on_key: None,
                    timeout: m.timeout,
                    inter_digit_timeout: m.timeout,
                    speech_timeout: m.timeout,
                    attempts: m.attempts,
                    barge_in: true,
                    speech: false,
                    dtmf: true,
                },
                prompts: prompt_list(&m.prompts),
                choices: jumps.choices,
                no_input_prompts: prompt_list(&m.no_input_prompts),
                invalid_prompts: prompt_list(&m.invalid_prompts),
                on_failure: jumps.on_failure,
            })),
            StepConfig::Transfer(t) => Step::Transfer(Box::new(TransferSpec {
                target: t.target.as_str().into(),
                prompts: prompt_list(&t.prompts),
                failure_prompts: prompt_list(&t.failure_prompts),
                timeout: t.timeout,
                on_failure: jumps.on_failure,
                bridge: (t.mode == TransferMode::Bridge).then(|| BridgeSpec {
                    targets: t.targets().map(Arc::from).collect(),
                    trunk: t.trunk.as_deref().map(Arc::from),
                    strategy: t.strategy,
                    ring_timeout: t.ring_timeout,
                    hold_prompts: prompt_list(&t.hold_prompts()),
                    hold_repeat: t.hold_repeat,
                    hold_music: prompt_list(&t.hold_music),
                    leave: key(&t.leave_key).zip(jumps.on_leave),
                }),
            })),
            StepConfig::Branch(_) => Step::Branch {
                open: jumps.open,
                closed: jumps.closed,
            },
            StepConfig::Deflect(d) => Step::Deflect {
                prompts: prompt_list(&d.prompts),
                limit_prompts: prompt_list(&d.limit_prompts),
            },
            StepConfig::Hangup(h) => Step::Hangup {
                prompts: prompt_list(&h.prompts),
            },
        });
    }
    let prompt_dirs = f
        .prompts_dir
        .iter()
        .cloned()
        .chain(config.prompts_dir.iter().map(|d| d.join(&f.language)))
        .collect();
    Ok(Flow {
        name: f.name.clone(),
        language: f.language.clone(),
        whatsapp_account: f.whatsapp_account.clone(),
        queue: f.queue.clone(),
        early_media: f.early_media,
        rules,
        hours,
        steps: compiled,
        step_names: steps
            .iter()
            .map(|s| s.id().unwrap_or(s.kind()).to_string())
            .collect(),
        words,
        speech,
        min_confidence: config.speech.min_confidence,
        limits: HourlyLimits {
            per_caller: config.limits.per_caller_per_hour,
            per_callback_number: config.limits.per_callback_number_per_hour,
        },
        digit_prompts: std::array::from_fn(|d| Prompt::new(&format!("digit_{d}"))),
        pair_prompts: pair_prompts(&f.language),
        plus_prompt: Prompt::new("plus"),
        pause_prompt: Prompt::new(PAUSE_PROMPT),
        prompt_dirs,
    })
}
