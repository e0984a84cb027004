//! Every prompt each flow can play, resolved once at start-up to audio in memory, so a call
//! never looks for a file.

use crate::flow::{Flow, Flows, PAUSE_LENGTH, PAUSE_PROMPT, Prompt};
use deflect_config::MUSIC_PROMPT;
use deflect_media::playback::{
    self, BUILTIN_LANGUAGE, MissingPrompt, PlayItem, PromptError, PromptLibrary,
};
use std::collections::HashMap;
use std::sync::Arc;

/// A prompt that cannot be made ready to play.
#[derive(Debug, thiserror::Error)]
pub enum PromptsError {
    /// A flow's own prompt file could not be read.
    #[error("flow {flow:?}: {source}")]
    File {
        /// The flow.
        flow: String,
        /// What is wrong with the file (its path is named).
        source: PromptError,
    },
    /// A prompt name neither built in nor found as a file.
    #[error("flow {flow:?}: {source}")]
    Missing {
        /// The flow.
        flow: String,
        /// The missing name.
        source: MissingPrompt,
    },
}

/// The prompts of every flow, by flow and prompt name.
#[derive(Debug, Default)]
pub struct FlowPrompts {
    by_flow: HashMap<String, HashMap<Prompt, PlayItem>>,
    /// Per flow whose language is not English, the prompts it plays in English for want
    /// of its own (sorted, by flow name).
    in_english: Vec<(String, Vec<String>)>,
}

impl FlowPrompts {
    /// Resolves every prompt of every flow: the flow's own file (its `prompts_dir`, then
    /// `ivr.prompts_dir/<language>/`, see [`Flow::prompt_file`]), else `library`'s prompt
    /// of that name in the flow's language (falling back to the English one); the pause
    /// between a number's groups is comfort noise.
    pub fn load(flows: &Flows, library: &PromptLibrary) -> Result<Self, PromptsError> {
        let mut by_flow = HashMap::new();
        let mut in_english = Vec::new();
        for flow in flows.iter() {
            let mut prompts = HashMap::new();
            let mut english = Vec::new();
            for prompt in flow.prompts() {
                let item = match flow.prompt_file(&prompt) {
                    Some(path) => {
                        let name = format!("{}/{}", flow.name(), prompt.name());
                        let audio = playback::Prompt::from_file(name, &path).map_err(|source| {
                            PromptsError::File {
                                flow: flow.name().to_owned(),
                                source,
                            }
                        })?;
                        PlayItem::Prompt(Arc::new(audio))
                    }
                    None if prompt.name() == PAUSE_PROMPT => PlayItem::Silence(PAUSE_LENGTH),
                    None => {
                        let language = flow.language();
                        // Music is one for every language.
                        if language != BUILTIN_LANGUAGE
                            && prompt.name() != MUSIC_PROMPT
                            && !library.has(language, prompt.name())
                        {
                            english.push(prompt.name().to_owned());
                        }
                        let audio = library.get(language, prompt.name()).map_err(|source| {
                            PromptsError::Missing {
                                flow: flow.name().to_owned(),
                                source,
                            }
                        })?;
                        PlayItem::Prompt(audio)
                    }
                };
                prompts.insert(prompt, item);
            }
            if !english.is_empty() {
                english.sort();
                in_english.push((flow.name().to_owned(), english));
            }
            by_flow.insert(flow.name().to_owned(), prompts);
        }
        in_english.sort();
        Ok(Self {
            by_flow,
            in_english,
        })
    }

    /// The flows whose language is not English that play some prompts in English, having
    /// no recording of their own (their names, sorted): the start-up warns of them.
    pub fn in_english(&self) -> &[(String, Vec<String>)] {
        &self.in_english
    }

    /// The audio of `prompts` for a call of `flow`; names never resolved are skipped (the
    /// engine only asks for names its flow lists, all resolved by [`load`](Self::load)).
    pub fn items(&self, flow: &Flow, prompts: &[Prompt]) -> Vec<PlayItem> {
        let Some(resolved) = self.by_flow.get(flow.name()) else {
            return Vec::new();
        };
        prompts
            .iter()
            .filter_map(|p| resolved.get(p).cloned())
            .collect()
    }

    /// How many prompts are ready, over all flows.
    pub fn len(&self) -> usize {
        self.by_flow.values().map(HashMap::len).sum()
    }

    /// Whether no prompt is ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
