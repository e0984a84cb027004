//! The path of a call through its flow: the steps visited, in order, with what chose the
//! way out of each where that is meaningful, as the deflection's `CallContext::path`
//! carries it. Bounded: a loop (a confirm's "enter it again", branches jumping back) repeats
//! entries, and past [`MAX_PATH`] the middle is left out behind one marker, so the first
//! steps and the last ones — how the call ended — stay.

use crate::deflection::{MAX_PATH, PathStep};
use std::collections::VecDeque;

/// Entries kept from the start of a long path.
const HEAD: usize = MAX_PATH / 2;
/// Entries kept from its end (the marker takes the last place).
const TAIL: usize = MAX_PATH - HEAD - 1;

/// The steps a call went through so far.
#[derive(Debug, Default)]
pub(super) struct Path {
    head: Vec<PathStep>,
    tail: VecDeque<PathStep>,
    /// Entries dropped from the middle.
    skipped: usize,
}

impl Path {
    /// The call entered step `step` (its id, else its kind).
    pub(super) fn enter(&mut self, step: &str) {
        if self.head.len() < HEAD {
            self.head.push(PathStep::new(step));
            return;
        }
        self.tail.push_back(PathStep::new(step));
        if self.tail.len() > TAIL {
            self.tail.pop_front();
            self.skipped += 1;
        }
    }

    /// What chose the way out of the step entered last.
    pub(super) fn exit(&mut self, exit: String) {
        if let Some(last) = self.tail.back_mut().or(self.head.last_mut()) {
            last.exit = Some(exit);
        }
    }

    /// The path, with a marker where steps were left out.
    pub(super) fn steps(&self) -> Vec<PathStep> {
        let mut out = Vec::with_capacity(self.head.len() + self.tail.len() + 1);
        out.extend(self.head.iter().cloned());
        if self.skipped > 0 {
            out.push(PathStep::skipped(self.skipped));
        }
        out.extend(self.tail.iter().cloned());
        out
    }
}

/// The exit of a gather or confirm whose attempt `attempt` (from 1) ended as `how`:
/// `confirmed`, or `retry 2, failed` after earlier attempts failed; `None` for a first
/// attempt that simply went on (`how` empty).
pub(super) fn attempt_exit(attempt: u32, how: &str) -> Option<String> {
    match (attempt.saturating_sub(1), how) {
        (0, "") => None,
        (0, how) => Some(how.to_string()),
        (retries, "") => Some(format!("retry {retries}")),
        (retries, how) => Some(format!("retry {retries}, {how}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(path: &Path) -> Vec<String> {
        path.steps().iter().map(PathStep::label).collect()
    }

    #[test]
    fn steps_are_kept_in_order_with_their_exits() {
        let mut p = Path::default();
        p.enter("welcome");
        p.enter("hours");
        p.exit("open".into());
        p.enter("ask_number");
        p.enter("confirm");
        p.exit("retry 1, confirmed".into());
        p.enter("deflect");
        assert_eq!(
            labels(&p),
            [
                "welcome",
                "hours (open)",
                "ask_number",
                "confirm (retry 1, confirmed)",
                "deflect"
            ]
        );
    }

    #[test]
    fn a_long_path_keeps_its_start_and_end_around_one_marker() {
        let mut p = Path::default();
        for i in 0..HEAD {
            p.enter(&format!("start{i}"));
        }
        let middle = 200;
        for i in 0..middle {
            p.enter(&format!("loop{i}"));
        }
        p.enter("confirm");
        p.exit("confirmed".into());
        p.enter("deflect");
        let steps = p.steps();
        assert_eq!(steps.len(), MAX_PATH);
        assert_eq!(steps[0].step, "start0");
        assert_eq!(steps[HEAD - 1].step, format!("start{}", HEAD - 1));
        let dropped = middle + 2 - TAIL;
        assert_eq!(steps[HEAD], PathStep::skipped(dropped));
        assert_eq!(
            steps[HEAD + 1].step,
            format!("loop{}", middle + 2 - TAIL),
            "the tail starts right after the dropped entries"
        );
        assert_eq!(steps[MAX_PATH - 2].label(), "confirm (confirmed)");
        assert_eq!(steps[MAX_PATH - 1].step, "deflect");
    }

    #[test]
    fn a_path_at_the_bound_has_no_marker() {
        let mut p = Path::default();
        for i in 0..HEAD + TAIL {
            p.enter(&i.to_string());
        }
        let steps = p.steps();
        assert_eq!(steps.len(), HEAD + TAIL);
        assert!(steps.iter().all(|s| s.step != PathStep::SKIPPED));
        p.enter("one more");
        let steps = p.steps();
        assert_eq!(steps.len(), MAX_PATH);
        assert_eq!(steps[HEAD], PathStep::skipped(1));
        assert_eq!(steps[MAX_PATH - 1].step, "one more");
    }

    #[test]
    fn an_exit_before_any_step_is_ignored() {
        let mut p = Path::default();
        p.exit("open".into());
        assert!(p.steps().is_empty());
    }

    #[test]
    fn attempts_name_their_retries() {
        assert_eq!(attempt_exit(1, ""), None);
        assert_eq!(attempt_exit(1, "confirmed").as_deref(), Some("confirmed"));
        assert_eq!(attempt_exit(3, "").as_deref(), Some("retry 2"));
        assert_eq!(
            attempt_exit(2, "failed").as_deref(),
            Some("retry 1, failed")
        );
    }
}
