//! Spoken digits with Vosk: the IVR's one foreign-code boundary (through the `vosk` crate,
//! which holds the `unsafe`; this crate stays `#![forbid(unsafe_code)]`).
//!
//! - [`SpeechModels::load`] loads one model per flow language at start-up — about 1.5 s of
//!   CPU and 550 MB for the small Korean model — and shares it across calls. It is never
//!   loaded on a call. A language without a model logs one line and its flows take DTMF only
//!   (a warning naming the flows whose gathers ask for speech alone).
//! - [`SpeechModels::recogniser`] makes a [`Recogniser`] per call, restricted by a grammar
//!   to the flow language's digit words (plus `[unk]`, which soaks up other sounds), so it
//!   costs a few percent of a core per stream rather than ~40 % free-form.
//! - The driver feeds it the caller's decoded audio (16-bit PCM at the call's rate, 8 kHz for
//!   G.711; the model must accept it: Vosk models with `--allow-upsample=true` in
//!   `conf/mfcc.conf` do). [`Recogniser::accept`] reports the start of speech (for
//!   barge-in) and, at the end of the utterance (Vosk's endpointing: trailing silence), the
//!   result with its confidence, which go to `Call::handle_speech_started` and
//!   `Call::handle_speech`.
//! - The confidence is the lowest word-level confidence among the digit words: with a
//!   grammar, Vosk's utterance score is no 0–1 confidence, and a number is only as right as
//!   its least certain digit. Vosk with a grammar is over-confident on speech that holds no
//!   digit at all (measured on the Korean model: other sentences and white noise come out as
//!   digit words at ~1.0), so `min_confidence` catches doubtful digits, not other speech.
//!
//! # Where models are looked for
//!
//! `ivr.speech_models_dir` when set; otherwise `<data_dir>/models`, then
//! `$XDG_CACHE_HOME/deflect/models` (`~/.cache/deflect/models`), where `scripts/run` and
//! `scripts/test` install the Korean test model — so a flow with `language = "ko"` has
//! speech with no further setting. A model is the directory `<models dir>/<language>/` as
//! unpacked from the Vosk model list (`am/`, `conf/`, `graph/`, …).

use crate::call::SpeechResult;
use crate::flow::Flow;
use crate::words::DigitWords;
use deflect_config::{FlowConfig, GatherInput, IvrConfig, StepConfig};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{info, warn};

/// Speech models by language, loaded once.
#[derive(Clone, Default)]
pub struct SpeechModels {
    models: HashMap<String, Arc<vosk::Model>>,
}

impl std::fmt::Debug for SpeechModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeechModels")
            .field("languages", &self.models.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Whether a flow has a gather with `input = "speech"` (one with `both` takes digits
/// without a model, as expected).
fn asks_for_speech_only(flow: &FlowConfig) -> bool {
    (flow.effective_steps().iter())
        .any(|s| matches!(s, StepConfig::Gather(g) if g.input == GatherInput::Speech))
}

/// The directories searched for models, in order (see the module docs).
pub fn models_dirs(config: &IvrConfig, data_dir: &Path) -> Vec<PathBuf> {
    if let Some(dir) = &config.speech_models_dir {
        return vec![dir.clone()];
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    std::iter::once(data_dir.join("models"))
        .chain(cache.map(|c| c.join("deflect").join("models")))
        .collect()
}

impl SpeechModels {
    /// No models: every flow takes DTMF only.
    pub fn none() -> Self {
        Self::default()
    }

    /// Loads a model for each language the flows use (the built-in default flow's is `en`)
    /// from the first of `dirs` holding `<language>/`. Logs one line per language: loaded,
    /// or speech off and why.
    pub fn load(config: &IvrConfig, dirs: &[PathBuf]) -> Self {
        vosk::set_log_level(vosk::LogLevel::Error);
        let languages: BTreeSet<&str> = config
            .flows
            .iter()
            .map(|f| f.language.as_str())
            .chain(
                config
                    .flows
                    .iter()
                    .all(|f| !f.numbers.is_empty())
                    .then_some("en"),
            )
            .collect();
        let mut models = HashMap::new();
        for language in languages {
            let Some(dir) = dirs.iter().map(|d| d.join(language)).find(|d| d.is_dir()) else {
                let looked: Vec<String> = dirs
                    .iter()
                    .map(|d| d.join(language).display().to_string())
                    .collect();
                let looked_in = looked.join(", ");
                let speech_only: Vec<&str> = (config.flows.iter())
                    .filter(|f| f.language == language && asks_for_speech_only(f))
                    .map(|f| f.name.as_str())
                    .collect();
                if speech_only.is_empty() {
                    info!(
                        language,
                        looked_in,
                        "speech input off for this language: no Vosk model; DTMF still works"
                    );
                } else {
                    warn!(
                        language,
                        looked_in,
                        flows = speech_only.join(", "),
                        "no Vosk model for flows whose gathers take speech only: they take digits instead"
                    );
                }
                continue;
            };
            match Self::load_one(&dir) {
                Some(mut model) => {
                    info!(language, model = %dir.display(), "speech model loaded");
                    let words = DigitWords::for_language(language, &config.speech);
                    let missing: Vec<&str> = words
                        .iter()
                        .flat_map(|w| w.words())
                        .filter(|w| model.find_word(w).is_none())
                        .collect();
                    if !missing.is_empty() {
                        warn!(
                            language,
                            words = missing.join(" "),
                            "digit words missing from the speech model's vocabulary cannot be recognised"
                        );
                    }
                    models.insert(language.to_string(), Arc::new(model));
                }
                None => warn!(
                    language,
                    model = %dir.display(),
                    "speech input off for this language: the Vosk model could not be loaded; DTMF still works"
                ),
            }
        }
        Self { models }
    }

    fn load_one(dir: &Path) -> Option<vosk::Model> {
        vosk::Model::new(dir.to_str()?)
    }

    /// Loads the model in `dir` for `language` (tests and tools).
    pub fn load_language(language: &str, dir: &Path) -> Option<Self> {
        vosk::set_log_level(vosk::LogLevel::Error);
        let model = Self::load_one(dir)?;
        Some(Self {
            models: HashMap::from([(language.to_string(), Arc::new(model))]),
        })
    }

    /// Whether a model is loaded for `language`.
    pub fn has(&self, language: &str) -> bool {
        self.models.contains_key(language)
    }

    /// A recogniser for one call of `flow` taking audio at `sample_rate` Hz, or `None` when
    /// the flow has no speech.
    pub fn recogniser(&self, flow: &Flow, sample_rate: u32) -> Option<Recogniser> {
        let model = self.models.get(flow.language())?;
        let words = flow.words.as_ref()?;
        Recogniser::new(model, words.words(), sample_rate)
    }
}

/// What a recogniser noticed in a chunk of audio.
#[derive(Clone, Debug, PartialEq)]
pub enum Heard {
    /// The caller started speaking (once per utterance).
    SpeechStarted,
    /// An utterance ended.
    Utterance(SpeechResult),
}

/// One call's recogniser.
pub struct Recogniser {
    inner: vosk::Recognizer,
    started: bool,
}

impl std::fmt::Debug for Recogniser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recogniser")
            .field("started", &self.started)
            .finish()
    }
}

impl Recogniser {
    fn new<'a>(
        model: &vosk::Model,
        words: impl Iterator<Item = &'a str>,
        sample_rate: u32,
    ) -> Option<Self> {
        // One phrase holding every digit word lets Vosk's grammar take them in any order
        // and number; "[unk]" absorbs everything else.
        let phrase: Vec<&str> = words.collect();
        let grammar = [phrase.join(" "), "[unk]".to_string()];
        let mut inner = vosk::Recognizer::new_with_grammar(model, sample_rate as f32, &grammar)?;
        inner.set_words(true);
        Some(Self {
            inner,
            started: false,
        })
    }

    /// Feeds 16-bit PCM; returns what it noticed.
    pub fn accept(&mut self, pcm: &[i16]) -> Option<Heard> {
        match self.inner.accept_waveform(pcm) {
            Ok(vosk::DecodingState::Finalized) => {
                self.started = false;
                let result = utterance(self.inner.result());
                Some(Heard::Utterance(result))
            }
            Ok(vosk::DecodingState::Running) if !self.started => {
                let partial = self.inner.partial_result();
                let words = partial.partial.split_whitespace().any(|w| !is_unknown(w));
                if words {
                    self.started = true;
                    Some(Heard::SpeechStarted)
                } else {
                    None
                }
            }
            Ok(_) => None,
            Err(e) => {
                warn!(cause = %e, "recogniser rejected audio");
                None
            }
        }
    }

    /// Ends the utterance now (no more audio) and returns what was said, if anything.
    pub fn finish(&mut self) -> Option<SpeechResult> {
        let result = utterance(self.inner.final_result());
        self.started = false;
        (!result.text.is_empty()).then_some(result)
    }

    /// Forgets everything heard, for a new attempt.
    pub fn reset(&mut self) {
        self.inner.reset();
        self.started = false;
    }
}

fn is_unknown(word: &str) -> bool {
    matches!(word, "[unk]" | "<UNK>" | "<unk>")
}

/// What one utterance said, and how sure the recogniser is of the number in it.
///
/// The confidence is word-level: the lowest of the digit words' (unknown-sound tokens are
/// not part of the number), since a callback number is only as right as its least certain
/// digit, and an average lets one doubtful digit through among sure ones. Vosk's
/// utterance-level score (`alternatives[].confidence`, only given with
/// `set_max_alternatives`) is an unnormalised lattice score — 25 to 233 on the Korean test
/// model with the digit grammar — not a 0–1 confidence, so it is never used: such a result
/// counts as confidence 0 (not understood).
fn utterance(result: vosk::CompleteResult<'_>) -> SpeechResult {
    match result {
        vosk::CompleteResult::Single(single) => {
            let confidence = single
                .result
                .iter()
                .filter(|w| !is_unknown(w.word))
                .map(|w| w.conf.clamp(0.0, 1.0))
                .reduce(f32::min)
                .unwrap_or(0.0);
            SpeechResult {
                text: single.text.to_string(),
                confidence,
            }
        }
        vosk::CompleteResult::Multiple(multiple) => SpeechResult {
            text: multiple
                .alternatives
                .first()
                .map(|a| a.text.to_string())
                .unwrap_or_default(),
            confidence: 0.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(word: &str, conf: f32) -> vosk::Word<'_> {
        vosk::Word {
            conf,
            start: 0.0,
            end: 0.0,
            word,
        }
    }

    fn single<'a>(text: &'a str, words: Vec<vosk::Word<'a>>) -> vosk::CompleteResult<'a> {
        vosk::CompleteResult::Single(vosk::CompleteResultSingle {
            speaker_info: None,
            result: words,
            text,
        })
    }

    #[test]
    fn the_number_is_as_sure_as_its_least_certain_digit() {
        // Measured on the Korean model, fast speech: one digit at 0.34 among sure ones
        // (their mean, 0.66, would pass min_confidence 0.5).
        let r = utterance(single(
            "오 이 공 영 일 육 륙",
            vec![
                word("오", 0.69),
                word("이", 1.0),
                word("공", 0.80),
                word("영", 0.46),
                word("일", 0.34),
                word("육", 0.65),
                word("륙", 0.70),
            ],
        ));
        assert_eq!(r.confidence, 0.34);
        assert_eq!(r.text, "오 이 공 영 일 육 륙");
        // Unknown-sound tokens are not digits: their confidence does not count.
        let r = utterance(single(
            "[unk] six <UNK>",
            vec![word("[unk]", 0.1), word("six", 0.9), word("<UNK>", 0.2)],
        ));
        assert_eq!(r.confidence, 0.9);
        // No words with confidences (or only unknown sounds): nothing to be sure of.
        assert_eq!(utterance(single("six", vec![])).confidence, 0.0);
        assert_eq!(
            utterance(single("[unk]", vec![word("[unk]", 1.0)])).confidence,
            0.0
        );
    }

    #[test]
    fn the_utterance_score_of_alternatives_is_not_a_confidence() {
        let r = utterance(vosk::CompleteResult::Multiple(
            vosk::CompleteResultMultiple {
                alternatives: vec![vosk::Alternative {
                    confidence: 231.74,
                    result: Vec::new(),
                    text: "오 이 륙",
                }],
            },
        ));
        assert_eq!(r.text, "오 이 륙");
        assert_eq!(r.confidence, 0.0, "an unnormalised score fails closed");
    }
}
