//! Every prompt each flow can play, resolved once at start-up to audio in memory, so a call
//! never looks for a file.

use crate::flow::{Flow, Flows, Prompt};
use deflect_media::playback::{self, MissingPrompt, PlayItem, PromptError, PromptLibrary};
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
}

impl FlowPrompts {
    /// Resolves every prompt of every flow: the flow's own file (its `prompts_dir`, then
    /// `ivr.prompts_dir/<language>/`, see [`Flow::prompt_file`]), else `library`'s prompt
    /// of that name in the flow's language (falling back to the built-in English one).
    pub fn load(flows: &Flows, library: &PromptLibrary) -> Result<Self, PromptsError> {
        let mut by_flow = HashMap::new();
        for flow in flows.iter() {
            let mut prompts = HashMap::new();
            for prompt in flow.prompts() {
                let audio = match flow.prompt_file(&prompt) {
                    Some(path) => {
                        let name = format!("{}/{}", flow.name(), prompt.name());
                        Arc::new(playback::Prompt::from_file(name, &path).map_err(|source| {
                            PromptsError::File {
                                flow: flow.name().to_owned(),
                                source,
                            }
                        })?)
                    }
                    None => library
                        .get(flow.language(), prompt.name())
                        .map_err(|source| PromptsError::Missing {
                            flow: flow.name().to_owned(),
                            source,
                        })?,
                };
                prompts.insert(prompt, PlayItem::Prompt(audio));
            }
            by_flow.insert(flow.name().to_owned(), prompts);
        }
        Ok(Self { by_flow })
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
