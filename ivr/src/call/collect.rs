//! Collecting input: one attempt of a gather, confirm or menu step ([`Collector`]) and how
//! the engine starts, times and finishes attempts — retries, the caller's own number, the
//! callback number's checks, a menu's choices. The rules are the crate docs' "Gather semantics".

use super::{Action, Call, Callback, INPUT, PROMPT, PlaybackId, State};
use crate::deflection::InputMethod;
use crate::flow::{ConfirmSpec, GatherSpec, InputRules, MenuSpec, PromptItem, Step};
use crate::number::Rejection;
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, info};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Gather,
    Confirm { confirm: char, reenter: char },
    Menu,
}

/// Said before hanging up when a gather's or confirm's attempts ran out.
const NUMBER_GOODBYE: &[&str] = &["too_many_attempts", "goodbye"];
/// Said before hanging up when a menu's attempts ran out.
const MENU_GOODBYE: &[&str] = &["goodbye"];

/// One attempt of a gather, confirm or menu.
#[derive(Debug)]
pub(super) struct Collector {
    pub(super) step: usize,
    pub(super) kind: Kind,
    pub(super) rules: InputRules,
    pub(super) attempt: u32,
    pub(super) digits: String,
    /// The attempt's prompts while they play.
    pub(super) prompt: Option<PlaybackId>,
    /// The key choosing the caller's number, on an offering attempt.
    pub(super) offer_key: Option<char>,
    /// The recogniser listens for this attempt.
    pub(super) listening: bool,
    /// Speech started (the first-input timeout is met).
    pub(super) speech_heard: bool,
}

/// How an attempt ended.
#[derive(Debug)]
pub(super) enum Outcome {
    Digits(String),
    Speech { digits: String, words: String },
    NotUnderstood,
    CallerNumber,
    Key(char),
    NoInput,
    TooShort,
}

/// Which prompts open a retry.
#[derive(Clone, Copy, Debug)]
pub(super) enum Retry {
    NoInput,
    Invalid,
}

impl Call {
    pub(super) fn start_gather(
        &mut self,
        now: Instant,
        step: usize,
        g: &GatherSpec,
        attempt: u32,
        retry: Option<Retry>,
    ) {
        let offer = g
            .offer
            .as_ref()
            .filter(|_| self.caller_number.is_some() && self.reentries == 0);
        let mut items: Vec<PromptItem> = match retry {
            Some(Retry::NoInput) => g.no_input_prompts.clone(),
            Some(Retry::Invalid) => g.invalid_prompts.clone(),
            None => Vec::new(),
        };
        match offer {
            Some((_, offer_prompts)) => items.extend(offer_prompts.iter().cloned()),
            None => items.extend(g.prompts.iter().cloned()),
        }
        let collector = Collector {
            step,
            kind: Kind::Gather,
            rules: g.rules,
            attempt,
            digits: String::new(),
            prompt: None,
            offer_key: offer.map(|(k, _)| *k),
            listening: false,
            speech_heard: false,
        };
        self.start_collecting(now, collector, &items);
    }

    pub(super) fn start_confirm(
        &mut self,
        now: Instant,
        step: usize,
        c: &ConfirmSpec,
        attempt: u32,
    ) {
        let collector = Collector {
            step,
            kind: Kind::Confirm {
                confirm: c.confirm_key,
                reenter: c.reenter_key,
            },
            rules: c.rules,
            attempt,
            digits: String::new(),
            prompt: None,
            offer_key: None,
            listening: false,
            speech_heard: false,
        };
        self.start_collecting(now, collector, &c.prompts);
    }

    pub(super) fn start_menu(
        &mut self,
        now: Instant,
        step: usize,
        m: &MenuSpec,
        attempt: u32,
        retry: Option<Retry>,
    ) {
        let mut items: Vec<PromptItem> = match retry {
            Some(Retry::NoInput) => m.no_input_prompts.clone(),
            Some(Retry::Invalid) => m.invalid_prompts.clone(),
            None => Vec::new(),
        };
        items.extend(m.prompts.iter().cloned());
        let collector = Collector {
            step,
            kind: Kind::Menu,
            rules: m.rules,
            attempt,
            digits: String::new(),
            prompt: None,
            offer_key: None,
            listening: false,
            speech_heard: false,
        };
        self.start_collecting(now, collector, &items);
    }

    fn start_collecting(&mut self, now: Instant, mut c: Collector, items: &[PromptItem]) {
        self.timers[INPUT] = None;
        // Digits typed before this gather started are its first input.
        let typed = std::mem::take(&mut self.typeahead);
        if c.rules.dtmf {
            for (i, d) in typed.char_indices() {
                if let Some(outcome) = c.push(d) {
                    // What follows the end of this input is for the next step.
                    self.typeahead = typed[i + d.len_utf8()..].to_string();
                    self.state = State::Collecting(c);
                    return self.finish(now, outcome);
                }
            }
        }
        if !c.digits.is_empty() {
            // The caller is already typing: no prompt, the inter-digit timeout runs.
            self.timers[INPUT] = Some(now + c.rules.inter_digit_timeout);
            self.state = State::Collecting(c);
            return;
        }
        if c.rules.speech {
            c.listening = true;
            self.actions.push_back(Action::StartSpeech);
        }
        let prompts = self.expand(items);
        if prompts.is_empty() {
            // Nothing to play: the first-input timeout starts now.
            self.timers[INPUT] = Some(now + c.rules.timeout);
        } else {
            c.prompt = Some(self.play(now, prompts));
        }
        self.state = State::Collecting(c);
    }

    /// Starts the input timeout once the attempt's prompts have stopped.
    pub(super) fn start_input_timer(&mut self, now: Instant) {
        let State::Collecting(c) = &self.state else {
            return;
        };
        if c.speech_heard {
            // The utterance's own timeout already runs.
            return;
        }
        let wait = if c.digits.is_empty() {
            c.rules.timeout
        } else {
            c.rules.inter_digit_timeout
        };
        self.timers[INPUT] = Some(now + wait);
    }

    pub(super) fn finish(&mut self, now: Instant, outcome: Outcome) {
        let State::Collecting(c) = std::mem::replace(&mut self.state, State::Ended) else {
            return;
        };
        self.timers[INPUT] = None;
        if let Some(id) = c.prompt {
            self.timers[PROMPT] = None;
            self.actions.push_back(Action::StopPlayback { id });
        }
        if c.listening {
            self.actions.push_back(Action::StopSpeech);
        }
        let flow = Arc::clone(&self.flow);
        match (&flow.steps[c.step], c.kind) {
            (Step::Gather(g), Kind::Gather) => self.finish_gather(now, &c, g, outcome),
            (Step::Confirm(s), Kind::Confirm { confirm, reenter }) => match outcome {
                Outcome::Key(k) if k == confirm => {
                    debug!(call_id = %self.call_id, "number confirmed");
                    self.exit_attempt(c.attempt, "confirmed");
                    self.run_step(now, c.step + 1)
                }
                Outcome::Key(k) if k == reenter => {
                    self.reentries += 1;
                    let gather = self.callback.as_ref().map_or(0, |cb| cb.gather_step);
                    if self.reentries > s.rules.attempts {
                        self.exit_attempt(c.attempt, "reenter, failed");
                        return self.fail(now, s.on_failure, NUMBER_GOODBYE);
                    }
                    self.exit_attempt(c.attempt, "reenter");
                    self.callback = None;
                    match &flow.steps[gather] {
                        Step::Gather(g) => {
                            self.path.enter(&flow.step_names[gather]);
                            self.start_gather(now, gather, g, 1, None)
                        }
                        _ => self.run_step(now, gather),
                    }
                }
                _ if c.attempt >= s.rules.attempts => {
                    self.exit_attempt(c.attempt, "failed");
                    self.fail(now, s.on_failure, NUMBER_GOODBYE)
                }
                _ => self.start_confirm(now, c.step, s, c.attempt + 1),
            },
            (Step::Menu(m), Kind::Menu) => {
                let retry = match outcome {
                    Outcome::Key(k) => match m.choice(k) {
                        Some(next) => {
                            debug!(call_id = %self.call_id, key = %k, "menu choice");
                            self.exit_attempt(c.attempt, &format!("pressed {k}"));
                            return self.run_step(now, next);
                        }
                        None => Retry::Invalid,
                    },
                    Outcome::NoInput => Retry::NoInput,
                    _ => Retry::Invalid,
                };
                if c.attempt >= m.rules.attempts {
                    self.exit_attempt(c.attempt, "failed");
                    return self.fail(now, m.on_failure, MENU_GOODBYE);
                }
                self.start_menu(now, c.step, m, c.attempt + 1, Some(retry));
            }
            _ => {}
        }
    }

    fn finish_gather(&mut self, now: Instant, c: &Collector, g: &GatherSpec, outcome: Outcome) {
        match &outcome {
            // Digits and speech are counted once their length is checked.
            Outcome::Digits(_) | Outcome::Speech { .. } => {}
            Outcome::CallerNumber => gathered("caller_number"),
            Outcome::NoInput => gathered("no_input"),
            Outcome::NotUnderstood => gathered("not_understood"),
            Outcome::TooShort | Outcome::Key(_) => gathered("too_short"),
        }
        let (input, method, transcript) = match outcome {
            Outcome::CallerNumber => {
                if let Some(number) = self.caller_number.clone() {
                    self.callback = Some(Callback {
                        number,
                        method: InputMethod::CallerNumber,
                        transcript: None,
                        gather_step: c.step,
                    });
                    self.exit_attempt(c.attempt, "");
                    return self.run_step(now, c.step + 1);
                }
                return self.retry_gather(now, c, g, Retry::Invalid);
            }
            Outcome::Digits(d) => {
                let typed = d.clone();
                (d, InputMethod::Dtmf, typed)
            }
            Outcome::Speech { digits, words } => (digits, InputMethod::Speech, words),
            Outcome::NoInput => return self.retry_gather(now, c, g, Retry::NoInput),
            Outcome::NotUnderstood | Outcome::TooShort | Outcome::Key(_) => {
                return self.retry_gather(now, c, g, Retry::Invalid);
            }
        };
        if input.len() < c.rules.min_digits {
            gathered("too_short");
            return self.retry_gather(now, c, g, Retry::Invalid);
        }
        gathered(method.as_str());
        match self.flow.rules.callback_number(&input) {
            Ok(number) => {
                debug!(call_id = %self.call_id, method = method.as_str(), "callback number taken");
                self.callback = Some(Callback {
                    number,
                    method,
                    transcript: Some(transcript),
                    gather_step: c.step,
                });
                self.exit_attempt(c.attempt, "");
                self.run_step(now, c.step + 1);
            }
            Err(rejection) => {
                self.rejected(rejection);
                self.retry_gather(now, c, g, Retry::Invalid);
            }
        }
    }

    fn rejected(&self, rejection: Rejection) {
        info!(call_id = %self.call_id, reason = rejection.as_str(), "callback number rejected");
        metrics::counter!("deflect_ivr_rejected_numbers_total", "reason" => rejection.as_str())
            .increment(1);
    }

    fn retry_gather(&mut self, now: Instant, c: &Collector, g: &GatherSpec, why: Retry) {
        if c.attempt >= c.rules.attempts {
            self.exit_attempt(c.attempt, "failed");
            return self.fail(now, g.on_failure, NUMBER_GOODBYE);
        }
        self.start_gather(now, c.step, g, c.attempt + 1, Some(why));
    }
}

impl Collector {
    /// Takes one digit; `Some` when it ends the attempt.
    pub(super) fn push(&mut self, digit: char) -> Option<Outcome> {
        if let Kind::Confirm { .. } | Kind::Menu = self.kind {
            return Some(Outcome::Key(digit));
        }
        if self.digits.is_empty() && self.offer_key == Some(digit) {
            return Some(Outcome::CallerNumber);
        }
        if self.rules.finish_on_key == Some(digit) {
            return Some(if self.digits.is_empty() {
                Outcome::TooShort
            } else {
                Outcome::Digits(std::mem::take(&mut self.digits))
            });
        }
        self.digits.push(digit);
        if self.digits.len() >= self.rules.max_digits {
            return Some(Outcome::Digits(std::mem::take(&mut self.digits)));
        }
        None
    }
}

/// Counts how a gather attempt ended (`deflect_ivr_gather_outcomes_total{outcome}`): the
/// input it took (`dtmf`, `speech`, `caller_number`) or why it failed (`no_input`,
/// `not_understood`, `too_short`; a number that is no valid callback number is counted in
/// `deflect_ivr_rejected_numbers_total{reason}`).
fn gathered(outcome: &'static str) {
    metrics::counter!("deflect_ivr_gather_outcomes_total", "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rules(max_digits: usize) -> InputRules {
        InputRules {
            min_digits: 3,
            max_digits,
            finish_on_key: Some('#'),
            timeout: Duration::from_secs(5),
            inter_digit_timeout: Duration::from_secs(3),
            speech_timeout: Duration::from_secs(5),
            attempts: 3,
            barge_in: true,
            speech: false,
            dtmf: true,
        }
    }

    fn attempt(kind: Kind, offer_key: Option<char>, max_digits: usize) -> Collector {
        Collector {
            step: 0,
            kind,
            rules: rules(max_digits),
            attempt: 1,
            digits: String::new(),
            prompt: None,
            offer_key,
            listening: false,
            speech_heard: false,
        }
    }

    fn keys(c: &mut Collector, keys: &str) -> Option<Outcome> {
        keys.chars().find_map(|k| c.push(k))
    }

    #[test]
    fn the_offer_key_means_the_callers_number_only_as_the_first_key() {
        let mut c = attempt(Kind::Gather, Some('1'), 20);
        assert!(matches!(keys(&mut c, "1"), Some(Outcome::CallerNumber)));
        let mut c = attempt(Kind::Gather, Some('1'), 20);
        assert!(matches!(keys(&mut c, "061#"), Some(Outcome::Digits(d)) if d == "061"));
    }

    #[test]
    fn the_finish_key_ends_input_and_is_not_part_of_it() {
        let mut c = attempt(Kind::Gather, None, 20);
        assert!(matches!(keys(&mut c, "#"), Some(Outcome::TooShort)));
        let mut c = attempt(Kind::Gather, None, 20);
        assert!(keys(&mut c, "0612").is_none(), "no end yet");
        assert!(matches!(keys(&mut c, "#"), Some(Outcome::Digits(d)) if d == "0612"));
    }

    #[test]
    fn the_digit_reaching_max_digits_ends_input_at_once() {
        let mut c = attempt(Kind::Gather, None, 4);
        assert!(keys(&mut c, "061").is_none());
        assert!(matches!(keys(&mut c, "2"), Some(Outcome::Digits(d)) if d == "0612"));
    }

    #[test]
    fn a_confirm_attempt_takes_any_one_key() {
        let confirm = Kind::Confirm {
            confirm: '1',
            reenter: '2',
        };
        for k in ['1', '2', '#', '9'] {
            let mut c = attempt(confirm, None, 1);
            assert!(matches!(c.push(k), Some(Outcome::Key(got)) if got == k));
        }
    }
}
