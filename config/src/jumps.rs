//! Step targets: where each step of a flow may jump, resolved from step `id`s to indices.
//!
//! The `on_failure` of gathers, confirms, menus and transfers, a menu's `choices` and a
//! branch's `open` and `closed` name another step of the same flow by its `id`. This is the one place those names are looked up and their
//! defaults decided: the configuration check reports the names that match no step (with
//! their key paths), and the IVR compiles the flow from the indices.

use crate::ivr::StepConfig;

/// Where one step may go besides the next step, as indices into the flow's steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jumps {
    /// Gather, confirm and menu: the step after too many failed attempts; transfer: the step
    /// after a failed transfer (`on_failure`); `None` when unset (the caller hears goodbye).
    /// `None` for other steps.
    pub on_failure: Option<usize>,
    /// Transfer (bridge): the step a caller leaving the hold queue goes to (`on_leave`).
    pub on_leave: Option<usize>,
    /// Menu: each choice's key and the step it leads to, in key order (a choice naming no
    /// step is left out). Empty for other steps.
    pub choices: Vec<(char, usize)>,
    /// Branch: the step while open; the next step when `open` is unset (and for steps that
    /// are not branches).
    pub open: usize,
    /// Branch: the step while closed; the next step when `closed` is unset (and for steps
    /// that are not branches).
    pub closed: usize,
}

impl Jumps {
    /// A step that goes on to `next`, or to `on_failure` when it fails.
    fn failing(on_failure: Option<usize>, next: usize) -> Self {
        Self {
            on_failure,
            on_leave: None,
            choices: Vec::new(),
            open: next,
            closed: next,
        }
    }
}

/// A step target that names no step of the flow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {key} names no step; no step has the id {id:?}")]
pub struct UnknownTarget {
    /// Index of the step holding the target.
    pub step: usize,
    /// Its key: `on_failure`, `on_leave`, `open`, `closed` or `choices.<key>`.
    pub key: String,
    /// The id it names.
    pub id: String,
}

/// Resolves the targets of every step of `steps` (a flow's effective steps): one [`Jumps`]
/// per step, or every target that names no step, in step order. When two steps share an
/// id (which the configuration check reports), the first is the target.
pub fn resolve_jumps(steps: &[StepConfig]) -> Result<Vec<Jumps>, Vec<UnknownTarget>> {
    let mut jumps = Vec::with_capacity(steps.len());
    let mut unknown = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let next = i + 1;
        let mut target = |key: &str, id: Option<&str>| -> Option<usize> {
            let id = id?;
            let found = steps.iter().position(|s| s.id() == Some(id));
            if found.is_none() {
                unknown.push(UnknownTarget {
                    step: i,
                    key: key.to_owned(),
                    id: id.to_owned(),
                });
            }
            found
        };
        jumps.push(match step {
            StepConfig::Gather(g) => {
                Jumps::failing(target("on_failure", g.on_failure.as_deref()), next)
            }
            StepConfig::Confirm(c) => {
                Jumps::failing(target("on_failure", c.on_failure.as_deref()), next)
            }
            StepConfig::Transfer(t) => Jumps {
                on_leave: target("on_leave", t.on_leave.as_deref()),
                ..Jumps::failing(target("on_failure", t.on_failure.as_deref()), next)
            },
            StepConfig::Menu(m) => {
                let mut choices = Vec::with_capacity(m.choices.len());
                for (key, id) in &m.choices {
                    let step = target(&format!("choices.{key}"), Some(id));
                    // A key that is not one character is the configuration check's finding.
                    if let (Some(step), Some(k)) = (step, key.chars().next()) {
                        choices.push((k, step));
                    }
                }
                Jumps {
                    choices,
                    ..Jumps::failing(target("on_failure", m.on_failure.as_deref()), next)
                }
            }
            StepConfig::Branch(b) => Jumps {
                on_failure: None,
                on_leave: None,
                choices: Vec::new(),
                open: target("open", b.open.as_deref()).unwrap_or(next),
                closed: target("closed", b.closed.as_deref()).unwrap_or(next),
            },
            StepConfig::Play(_) | StepConfig::Deflect(_) | StepConfig::Hangup(_) => {
                Jumps::failing(None, next)
            }
        });
    }
    if unknown.is_empty() {
        Ok(jumps)
    } else {
        Err(unknown)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ivr::{
        BranchStep, ConfirmStep, GatherStep, HangupStep, MenuStep, PlayStep, TransferStep,
    };

    fn play(id: &str) -> StepConfig {
        StepConfig::Play(PlayStep {
            id: Some(id.into()),
            ..PlayStep::default()
        })
    }

    #[test]
    fn targets_resolve_to_the_step_with_that_id_and_unset_ones_to_their_defaults() {
        let steps = vec![
            StepConfig::Branch(BranchStep {
                id: None,
                open: None,
                closed: Some("closed".into()),
            }),
            StepConfig::Gather(GatherStep {
                on_failure: Some("closed".into()),
                ..GatherStep::default()
            }),
            StepConfig::Confirm(ConfirmStep::default()),
            StepConfig::Hangup(HangupStep {
                id: Some("closed".into()),
                ..HangupStep::default()
            }),
        ];
        let jumps = resolve_jumps(&steps).unwrap();
        assert_eq!(
            jumps[0],
            Jumps {
                on_failure: None,
                on_leave: None,
                choices: Vec::new(),
                open: 1,
                closed: 3
            }
        );
        assert_eq!(jumps[1].on_failure, Some(3));
        assert_eq!(jumps[2].on_failure, None);
        assert_eq!((jumps[3].open, jumps[3].closed), (4, 4));
    }

    #[test]
    fn every_target_naming_no_step_is_reported_with_its_step_and_key() {
        let steps = vec![
            play("intro"),
            StepConfig::Branch(BranchStep {
                id: None,
                open: Some("intro".into()),
                closed: Some("shut".into()),
            }),
            StepConfig::Confirm(ConfirmStep {
                on_failure: Some("Intro".into()),
                ..ConfirmStep::default()
            }),
        ];
        let unknown = resolve_jumps(&steps).unwrap_err();
        assert_eq!(
            unknown,
            [
                UnknownTarget {
                    step: 1,
                    key: "closed".into(),
                    id: "shut".into()
                },
                UnknownTarget {
                    step: 2,
                    key: "on_failure".into(),
                    id: "Intro".into()
                },
            ]
        );
    }

    #[test]
    fn a_menus_choices_resolve_by_key_and_unknown_ones_are_reported() {
        let steps = vec![
            StepConfig::Menu(MenuStep {
                choices: [("1", "intro"), ("0", "agent"), ("9", "nowhere")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..MenuStep::default()
            }),
            play("intro"),
            StepConfig::Transfer(TransferStep {
                id: Some("agent".into()),
                on_failure: Some("intro".into()),
                ..TransferStep::default()
            }),
        ];
        let unknown = resolve_jumps(&steps).unwrap_err();
        assert_eq!(
            unknown,
            [UnknownTarget {
                step: 0,
                key: "choices.9".into(),
                id: "nowhere".into()
            }]
        );
        let mut steps = steps;
        if let StepConfig::Menu(m) = &mut steps[0] {
            m.choices.remove("9");
        }
        let jumps = resolve_jumps(&steps).unwrap();
        assert_eq!(jumps[0].choices, [('0', 2), ('1', 1)]);
        assert_eq!(jumps[2].on_failure, Some(1));
    }

    #[test]
    fn with_a_shared_id_the_first_step_is_the_target() {
        let steps = vec![
            play("again"),
            play("again"),
            StepConfig::Branch(BranchStep {
                id: None,
                open: Some("again".into()),
                closed: None,
            }),
        ];
        assert_eq!(resolve_jumps(&steps).unwrap()[2].open, 0);
    }
}
