//! Step targets: where each step of a flow may jump, resolved from step `id`s to indices.
//!
//! A gather's or confirm's `on_failure` and a branch's `open` and `closed` name another step
//! of the same flow by its `id`. This is the one place those names are looked up and their
//! defaults decided: the configuration check reports the names that match no step (with
//! their key paths), and the IVR compiles the flow from the indices.

use crate::ivr::StepConfig;

/// Where one step may go besides the next step, as indices into the flow's steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Jumps {
    /// Gather and confirm: the step after too many failed attempts (`on_failure`); `None`
    /// when unset (the caller hears goodbye). `None` for other steps.
    pub on_failure: Option<usize>,
    /// Branch: the step while open; the next step when `open` is unset (and for steps that
    /// are not branches).
    pub open: usize,
    /// Branch: the step while closed; the next step when `closed` is unset (and for steps
    /// that are not branches).
    pub closed: usize,
}

/// A step target that names no step of the flow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {key} names no step; no step has the id {id:?}")]
pub struct UnknownTarget {
    /// Index of the step holding the target.
    pub step: usize,
    /// Its key: `on_failure`, `open` or `closed`.
    pub key: &'static str,
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
        let mut target = |key: &'static str, id: &Option<String>| -> Option<usize> {
            let id = id.as_deref()?;
            let found = steps.iter().position(|s| s.id() == Some(id));
            if found.is_none() {
                unknown.push(UnknownTarget {
                    step: i,
                    key,
                    id: id.to_owned(),
                });
            }
            found
        };
        jumps.push(match step {
            StepConfig::Gather(g) => Jumps {
                on_failure: target("on_failure", &g.on_failure),
                open: next,
                closed: next,
            },
            StepConfig::Confirm(c) => Jumps {
                on_failure: target("on_failure", &c.on_failure),
                open: next,
                closed: next,
            },
            StepConfig::Branch(b) => Jumps {
                on_failure: None,
                open: target("open", &b.open).unwrap_or(next),
                closed: target("closed", &b.closed).unwrap_or(next),
            },
            StepConfig::Play(_) | StepConfig::Deflect(_) | StepConfig::Hangup(_) => Jumps {
                on_failure: None,
                open: next,
                closed: next,
            },
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
    use crate::ivr::{BranchStep, ConfirmStep, GatherStep, HangupStep, PlayStep};

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
                    key: "closed",
                    id: "shut".into()
                },
                UnknownTarget {
                    step: 2,
                    key: "on_failure",
                    id: "Intro".into()
                },
            ]
        );
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
