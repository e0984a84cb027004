//! The per-call IVR engine: a sans-IO state machine that runs a flow for one call.
//!
//! See [`Call`] for how to drive it, and the crate docs for the gather rules. Here: the
//! driving API, timers, the steps and the ending; `types` holds what goes in and out,
//! `collect` the attempts of gather and confirm steps.

mod collect;
mod path;
mod types;

pub use types::{
    Action, CallStart, HangupReason, PlaybackEnd, PlaybackId, SpeechResult, TransferResult,
};

use crate::deflection::{CallContext, Deflection, InputMethod};
use crate::flow::{BridgeSpec, Flow, Prompt, PromptItem, Step, TransferSpec};
use crate::limits::{ANONYMOUS_CALLER, LimitDecision, LimitRequest};
use crate::number::{CallbackNumber, Word, read_back};
use collect::{Collector, Outcome};
use deflect_config::HuntStrategy;
use jiff::Timestamp;
use path::{Path, attempt_exit};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// A prompt playing for this long without a "finished" report counts as finished, so a lost
/// media event cannot leave a call waiting forever.
pub const PROMPT_WATCHDOG: Duration = Duration::from_secs(120);
/// An abuse-limit check unanswered for this long counts as [`LimitDecision::Unavailable`].
pub const LIMITS_WATCHDOG: Duration = Duration::from_secs(5);
/// A call still in the IVR after this long is hung up (time in a bridge's hold queue, which
/// its own `timeout` bounds, and in the bridged conversation does not count).
pub const MAX_CALL: Duration = Duration::from_secs(15 * 60);
/// A bridge whose every target failed at once (busy, refused) waits this long before the
/// next round of its hunt list.
pub const HUNT_PAUSE: Duration = Duration::from_secs(5);

/// The engine for one call. Sans-IO: it never reads a clock, sleeps or touches a socket;
/// every input carries `now`, and outputs are drained with `poll_*`.
///
/// # Driving it
///
/// 1. Pick the flow with [`Flows::route`](crate::Flows::route) and create the call with
///    [`Call::new`] when the call is answered.
/// 2. After creating it and after every `handle_*` call, drain [`Call::poll_action`] until it
///    returns `None`, carrying each action out in order, then re-arm one timer at
///    [`Call::poll_timeout`].
/// 3. Feed events as they happen: `handle_dtmf`, `handle_playback_ended`,
///    `handle_speech_started`, `handle_speech`, `handle_limits`, `handle_hangup` (the caller
///    hung up), and `handle_timeout` when the timer fires.
/// 4. Stop when [`Call::is_finished`] and the actions are drained.
///
/// ```
/// use deflect_ivr::{Action, Call, CallStart, Flows, LimitDecision, MemoryCounter, PlaybackEnd};
/// use std::time::{Duration, Instant};
///
/// let flows = Flows::new(&deflect_config::IvrConfig::default(), |_| false).unwrap();
/// let counter = MemoryCounter::new();
/// let mut now = Instant::now();
/// let start = CallStart {
///     call_id: "a84b4c76e66710".into(),
///     asserted_identity: None,
///     from: Some("+31612345678".into()),
///     dialled: "+31201234567".into(),
///     started_at: "2026-11-21T10:00:00Z".parse().unwrap(),
/// };
/// let mut call = Call::new(flows.route(&start.dialled).clone(), start, now);
/// // The caller presses 1 (their own number), then 1 (confirm), barging in each time.
/// let mut keys = vec!['1', '1'].into_iter();
/// let mut deflection = None;
/// while !call.is_finished() {
///     while let Some(action) = call.poll_action() {
///         match action {
///             // A gather's prompt: press the next key over it (barge-in).
///             Action::Play { .. } if call.is_collecting() => {
///                 call.handle_dtmf(now, keys.next().expect("two prompts ask"));
///             }
///             Action::Play { id, .. } => call.handle_playback_ended(now, id, PlaybackEnd::Finished),
///             Action::CheckLimits(request) => call.handle_limits(now, counter.record(&request)),
///             Action::Deflect(d) => deflection = Some(d), // journal it, before the BYE
///             Action::Hangup(_) => {}                     // send BYE, then hand off
///             _ => {}
///         }
///     }
///     if let Some(at) = call.poll_timeout() {
///         now = now.max(at);
///         call.handle_timeout(now);
///     }
/// }
/// assert_eq!(deflection.unwrap().call.callback_number, "+31612345678");
/// ```
#[derive(Debug)]
pub struct Call {
    flow: Arc<Flow>,
    call_id: String,
    dialled: String,
    started: Instant,
    started_at: Timestamp,
    /// The caller's number in E.164 where it parses, as received otherwise.
    caller: Option<String>,
    /// The caller's number when it is a valid callback number (offered by gathers).
    caller_number: Option<CallbackNumber>,
    /// Digits received while no gather was listening, for the next one.
    typeahead: String,
    state: State,
    actions: VecDeque<Action>,
    next_playback: u64,
    callback: Option<Callback>,
    /// A confirm's "enter it again": the next gather does not offer the caller's number.
    reentries: u32,
    timers: [Option<Instant>; TIMERS],
    ended: bool,
    /// The target of the last transfer asked for.
    transfer_target: Option<Arc<str>>,
    /// The steps visited so far, for the deflection's call context.
    path: Path,
}

#[derive(Clone, Debug)]
struct Callback {
    number: CallbackNumber,
    method: InputMethod,
    transcript: Option<String>,
    gather_step: usize,
}

/// Timers, by index into `Call::timers`.
const INPUT: usize = 0;
const PROMPT: usize = 1;
const LIMITS: usize = 2;
const CALL: usize = 3;
const TRANSFER: usize = 4;
/// A bridge: the current target's ring time, or the pause before the next round.
const RING: usize = 5;
/// A bridge: the next round of the hold queue's prompts.
const HOLD: usize = 6;
const TIMERS: usize = 7;

#[derive(Debug)]
enum State {
    /// Prompts playing, then `then`.
    Prompting {
        id: PlaybackId,
        barge_in: bool,
        then: Then,
    },
    /// A gather or confirm attempt.
    Collecting(Collector),
    /// Waiting for the abuse-limit answer of the deflect step `step`.
    CheckingLimits { step: usize },
    /// The transfer step `step` asked for a transfer; waiting for how it ends.
    Transferring { step: usize },
    /// A bridge: the caller waits in the hold queue while the targets in `ringing` (a bit
    /// per index of the hunt list) ring, or — none ringing — the round after `next` is due.
    Queued {
        step: usize,
        /// `linear`: the target rung last (or to ring next).
        next: usize,
        ringing: u64,
        /// What the caller hears.
        hold: Hold,
    },
    /// A bridge (the transfer step `step`): the caller talks with the target; the driver
    /// relays until one hangs up.
    Bridged {
        step: usize,
        /// While the agent holds the caller: what the caller hears instead.
        held: Option<Hold>,
    },
    /// Hung up (by either side), or between two states.
    Ended,
}

/// What a caller waiting in a bridge's queue, or held by its agent, hears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    /// Nothing (no music).
    Quiet,
    /// A round of the queue's prompts.
    Round(PlaybackId),
    /// The music, over and over: this time round started `since`.
    Music { id: PlaybackId, since: Instant },
}

impl Hold {
    fn playing(self) -> Option<PlaybackId> {
        match self {
            Hold::Quiet => None,
            Hold::Round(id) | Hold::Music { id, .. } => Some(id),
        }
    }
}

/// Music ending sooner than this after it started is not started again (an empty file
/// would spin).
pub const SHORTEST_MUSIC: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
enum Then {
    Step(usize),
    Transfer(usize),
    Hangup(HangupReason),
    Deflect,
}

impl Call {
    /// Starts the IVR on an answered call with `flow` (see [`Flows::route`](crate::Flows::route)).
    pub fn new(flow: Arc<Flow>, start: CallStart, now: Instant) -> Self {
        let raw_caller = start
            .asserted_identity
            .as_deref()
            .filter(|c| !is_withheld(c))
            .or(start.from.as_deref().filter(|c| !is_withheld(c)));
        let (caller, caller_number) = match raw_caller {
            // Classifying a number costs several times reading it (phone number metadata
            // patterns): only flows that offer the caller's number need it.
            Some(c) if flow.offers_caller_number() => {
                let (e164, callback) = flow.rules.caller(c);
                (Some(e164.unwrap_or_else(|| c.to_string())), callback)
            }
            Some(c) => (
                Some(flow.rules.e164(c).unwrap_or_else(|| c.to_string())),
                None,
            ),
            None => (None, None),
        };
        metrics::counter!("deflect_ivr_calls_total", "flow" => flow.name.clone()).increment(1);
        let mut call = Self {
            flow,
            call_id: start.call_id,
            dialled: start.dialled,
            started: now,
            started_at: start.started_at,
            caller,
            caller_number,
            typeahead: String::new(),
            state: State::Ended,
            actions: VecDeque::new(),
            next_playback: 0,
            callback: None,
            reentries: 0,
            timers: [None; TIMERS],
            ended: false,
            transfer_target: None,
            path: Path::default(),
        };
        call.timers[CALL] = Some(now + MAX_CALL);
        call.run_step(now, 0);
        call
    }

    /// The call's flow.
    pub fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Call::handle_timeout`] next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    /// The calling number (E.164 where the flow's rules make it one); `None` when withheld.
    pub fn caller(&self) -> Option<&str> {
        self.caller.as_deref()
    }

    /// The flow's steps the caller went through so far.
    pub fn path(&self) -> Vec<crate::deflection::PathStep> {
        self.path.steps()
    }

    /// The callback number the caller gave and has not confirmed yet (a confirmed one goes
    /// with the deflection): how they gave it, what they typed or said, and the number.
    pub fn captured(&self) -> Option<(InputMethod, Option<&str>, &str)> {
        let cb = self.callback.as_ref()?;
        Some((cb.method, cb.transcript.as_deref(), cb.number.e164()))
    }

    /// Where the call was sent by its last transfer, whether or not that succeeded.
    pub fn transfer_target(&self) -> Option<&str> {
        self.transfer_target.as_deref()
    }

    /// True once the call has hung up (either side). Drain the remaining actions.
    pub fn is_finished(&self) -> bool {
        self.ended
    }

    /// True while a transfer asked for with [`Action::Transfer`] has not ended.
    pub fn is_transferring(&self) -> bool {
        matches!(self.state, State::Transferring { .. })
    }

    /// True while a bridge's target and the caller talk (after [`Action::Dial`] answered).
    pub fn is_bridged(&self) -> bool {
        matches!(self.state, State::Bridged { .. })
    }

    /// True while a bridge's agent holds the caller (see [`Call::handle_hold`]).
    pub fn is_held(&self) -> bool {
        matches!(self.state, State::Bridged { held: Some(_), .. })
    }

    /// True while a gather or confirm is taking input.
    pub fn is_collecting(&self) -> bool {
        matches!(self.state, State::Collecting(_))
    }

    /// A DTMF digit (`0`–`9`, `*`, `#`, `A`–`D`) from RFC 4733, SIP INFO or in-band
    /// detection, once per key press.
    pub fn handle_dtmf(&mut self, now: Instant, digit: char) {
        if !matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D') {
            debug!(?digit, "not a DTMF digit; ignored");
            return;
        }
        match &mut self.state {
            State::Collecting(c) if c.rules.dtmf => {
                if let Some(id) = c.prompt
                    && c.rules.barge_in
                {
                    c.prompt = None;
                    self.timers[PROMPT] = None;
                    self.actions.push_back(Action::StopPlayback { id });
                }
                if c.listening {
                    c.listening = false;
                    c.speech_heard = false;
                    self.actions.push_back(Action::StopSpeech);
                }
                let prompt_playing = c.prompt.is_some();
                let inter_digit = c.rules.inter_digit_timeout;
                match c.push(digit) {
                    Some(outcome) => self.finish(now, outcome),
                    // Each digit restarts the inter-digit timeout; while a prompt that cannot
                    // be interrupted plays, timing starts when it ends.
                    None if !prompt_playing => self.timers[INPUT] = Some(now + inter_digit),
                    None => self.timers[INPUT] = None,
                }
            }
            State::Prompting { id, barge_in, then } => {
                self.typeahead.push(digit);
                if *barge_in {
                    let (id, then) = (*id, *then);
                    self.actions.push_back(Action::StopPlayback { id });
                    self.timers[PROMPT] = None;
                    self.then(now, then);
                }
            }
            State::Collecting(_) => debug!(?digit, "this gather takes speech only; digit ignored"),
            State::Queued { step, hold, .. } => {
                let (step, hold) = (*step, *hold);
                let Some(bridge) = self.bridge_of(step) else {
                    return;
                };
                if let Some((key, on_leave)) = bridge.leave
                    && key == digit
                {
                    info!(call_id = %self.call_id, "the caller left the queue");
                    metrics::counter!("deflect_ivr_transfers_total", "result" => "left_queue")
                        .increment(1);
                    if let Some(id) = hold.playing() {
                        self.actions.push_back(Action::StopPlayback { id });
                    }
                    self.leave_queue(now);
                    self.path.exit("left queue".into());
                    self.run_step(now, on_leave);
                }
            }
            // A bridged call's digits are the driver's to pass on.
            State::CheckingLimits { .. }
            | State::Transferring { .. }
            | State::Bridged { .. }
            | State::Ended => {}
        }
    }

    /// The prompts of `id` stopped playing.
    pub fn handle_playback_ended(&mut self, now: Instant, id: PlaybackId, how: PlaybackEnd) {
        debug!(?id, ?how, "playback ended");
        match &mut self.state {
            State::Prompting {
                id: current, then, ..
            } if *current == id => {
                let then = *then;
                self.timers[PROMPT] = None;
                self.then(now, then);
            }
            State::Collecting(c) if c.prompt == Some(id) => {
                c.prompt = None;
                self.timers[PROMPT] = None;
                self.start_input_timer(now);
            }
            State::Queued { .. } | State::Bridged { held: Some(_), .. } => {
                let Some((step, ended)) = self.hold_slot().map(|(step, hold)| (step, *hold)) else {
                    return;
                };
                if ended.playing() != Some(id) {
                    return;
                }
                self.timers[PROMPT] = None;
                let next = self.after_hold(now, step, ended, how);
                if let Some((_, hold)) = self.hold_slot() {
                    *hold = next;
                }
            }
            // A report for a prompt already stopped or replaced.
            _ => {}
        }
    }

    /// The recogniser heard the start of speech (a non-empty partial result).
    pub fn handle_speech_started(&mut self, now: Instant) {
        let State::Collecting(c) = &mut self.state else {
            return;
        };
        if !c.listening || c.speech_heard || !c.digits.is_empty() {
            return;
        }
        c.speech_heard = true;
        if let Some(id) = c.prompt
            && c.rules.barge_in
        {
            c.prompt = None;
            self.timers[PROMPT] = None;
            self.actions.push_back(Action::StopPlayback { id });
        }
        // The first-input timeout is met; the utterance now has speech_timeout to end.
        self.timers[INPUT] = Some(now + c.rules.speech_timeout);
    }

    /// The recogniser's final result for an utterance (end of speech detected).
    pub fn handle_speech(&mut self, now: Instant, result: SpeechResult) {
        let State::Collecting(c) = &mut self.state else {
            return;
        };
        if !c.listening {
            return;
        }
        if result.text.trim().is_empty() && !c.speech_heard {
            // Silence only: keep listening, the first-input timeout still runs.
            return;
        }
        c.listening = false;
        self.actions.push_back(Action::StopSpeech);
        if let Some(id) = c.prompt.take() {
            self.timers[PROMPT] = None;
            self.actions.push_back(Action::StopPlayback { id });
        }
        let words = self.flow.words.as_ref();
        let outcome = match words.map(|w| w.digits(&result.text)) {
            Some(Ok(digits)) if result.confidence >= self.flow.min_confidence => Outcome::Speech {
                digits,
                words: result.text,
            },
            Some(Ok(_)) => {
                debug!(
                    confidence = result.confidence,
                    "spoken digits below min_confidence"
                );
                Outcome::NotUnderstood
            }
            _ => Outcome::NotUnderstood,
        };
        self.finish(now, outcome);
    }

    /// The abuse-limit answer to `Action::CheckLimits`.
    pub fn handle_limits(&mut self, now: Instant, decision: LimitDecision) {
        let State::CheckingLimits { step } = self.state else {
            return;
        };
        self.timers[LIMITS] = None;
        let flow = Arc::clone(&self.flow);
        let Step::Deflect {
            prompts,
            limit_prompts,
        } = &flow.steps[step]
        else {
            return;
        };
        metrics::counter!("deflect_ivr_limit_checks_total", "decision" => decision.as_str())
            .increment(1);
        match decision {
            LimitDecision::Allowed | LimitDecision::Unavailable => {
                if decision == LimitDecision::Unavailable {
                    warn!(call_id = %self.call_id, "abuse limits could not be checked; deflecting anyway");
                }
                // From here the deflection is committed: a caller hanging up during the
                // goodbye still gets the message.
                self.prompt(now, prompts, false, Then::Deflect);
            }
            LimitDecision::CallerLimited | LimitDecision::CallbackNumberLimited => {
                info!(call_id = %self.call_id, decision = decision.as_str(), "deflection refused by an abuse limit");
                self.prompt(
                    now,
                    limit_prompts,
                    false,
                    Then::Hangup(HangupReason::LimitReached),
                );
            }
        }
    }

    /// How the transfer of [`Action::Transfer`] ended.
    pub fn handle_transfer(&mut self, now: Instant, result: TransferResult) {
        let State::Transferring { step } = self.state else {
            return;
        };
        self.timers[TRANSFER] = None;
        let flow = Arc::clone(&self.flow);
        let Step::Transfer(t) = &flow.steps[step] else {
            return;
        };
        match result {
            TransferResult::Answered => {
                info!(call_id = %self.call_id, to = %t.target, "call transferred");
                metrics::counter!("deflect_ivr_transfers_total", "result" => "answered")
                    .increment(1);
                self.path.exit("transferred".into());
                self.hang_up(HangupReason::Transferred);
            }
            TransferResult::Failed(status) => {
                info!(call_id = %self.call_id, to = %t.target, status, "transfer failed");
                metrics::counter!("deflect_ivr_transfers_total", "result" => "failed").increment(1);
                self.path.exit(format!("failed {status}"));
                self.transfer_failed(now, t);
            }
        }
    }

    /// The target of a bridge hung up: the caller is hung up too.
    pub fn handle_bridge_ended(&mut self) {
        if let State::Bridged { .. } = self.state {
            self.hang_up(HangupReason::Transferred);
        }
    }

    /// The agent of a bridge put the caller on hold (`true`) or took them back: while held,
    /// the caller hears the bridge's `hold_music` (the driver relays neither side meanwhile,
    /// see [`Call::is_held`]).
    pub fn handle_hold(&mut self, now: Instant, on: bool) {
        let State::Bridged { step, held } = self.state else {
            return;
        };
        match (on, held) {
            (true, None) => {
                debug!(call_id = %self.call_id, "the agent holds the caller");
                let music = self.music(now, step);
                self.state = State::Bridged {
                    step,
                    held: Some(music),
                };
            }
            (false, Some(held)) => {
                debug!(call_id = %self.call_id, "the agent takes the caller back");
                if let Some(id) = held.playing() {
                    self.actions.push_back(Action::StopPlayback { id });
                }
                self.timers[PROMPT] = None;
                self.state = State::Bridged { step, held: None };
            }
            _ => {}
        }
    }

    /// A bridge's step and what its caller hears, while they wait in its queue or are held.
    fn hold_slot(&mut self) -> Option<(usize, &mut Hold)> {
        match &mut self.state {
            State::Queued { step, hold, .. } => Some((*step, hold)),
            State::Bridged {
                step,
                held: Some(held),
            } => Some((*step, held)),
            _ => None,
        }
    }

    /// The bridge `step`'s music starts (again), if it has any.
    fn music(&mut self, now: Instant, step: usize) -> Hold {
        let prompts = match self.bridge_of(step) {
            Some(bridge) => self.expand(&bridge.hold_music),
            None => Vec::new(),
        };
        if prompts.is_empty() {
            return Hold::Quiet;
        }
        Hold::Music {
            id: self.play(now, prompts),
            since: now,
        }
    }

    /// What follows `ended` (`how` it ended) for a caller waiting in bridge `step`'s queue or
    /// held: after a round of prompts the music, after the music the music again (unless it
    /// was stopped, or was too short to loop).
    fn after_hold(&mut self, now: Instant, step: usize, ended: Hold, how: PlaybackEnd) -> Hold {
        match ended {
            Hold::Round(_) => self.music(now, step),
            Hold::Music { since, .. }
                if how == PlaybackEnd::Finished && now.duration_since(since) >= SHORTEST_MUSIC =>
            {
                self.music(now, step)
            }
            Hold::Music { .. } | Hold::Quiet => Hold::Quiet,
        }
    }

    fn bridge_of(&self, step: usize) -> Option<&BridgeSpec> {
        match self.flow.steps.get(step) {
            Some(Step::Transfer(t)) => t.bridge.as_ref(),
            _ => None,
        }
    }

    /// The transfer step `step` is a bridge: the hold queue starts and the first round of
    /// the hunt list rings.
    fn enter_queue(&mut self, now: Instant, step: usize, t: &TransferSpec, bridge: &BridgeSpec) {
        self.state = State::Queued {
            step,
            next: 0,
            ringing: 0,
            hold: Hold::Quiet,
        };
        // The record names the first target until one answers.
        self.transfer_target = bridge.targets.first().cloned();
        // The queue's own timeout bounds the wait; the IVR's limit resumes if it ends.
        self.timers[CALL] = None;
        self.timers[TRANSFER] = Some(now + t.timeout);
        self.play_hold(now, bridge);
        self.ring(now, 0);
    }

    /// A round of the hold prompts (unless one still plays; the music stops for it); the
    /// next is due in `hold_repeat`. Without prompts, the music starts.
    fn play_hold(&mut self, now: Instant, bridge: &BridgeSpec) {
        let prompts = self.expand(&bridge.hold_prompts);
        self.timers[HOLD] = (!prompts.is_empty()).then(|| now + bridge.hold_repeat);
        let State::Queued { step, hold, .. } = self.state else {
            return;
        };
        let next = match hold {
            Hold::Round(_) => return,
            Hold::Music { .. } if prompts.is_empty() => return,
            Hold::Quiet if prompts.is_empty() => self.music(now, step),
            Hold::Music { id, .. } => {
                self.actions.push_back(Action::StopPlayback { id });
                Hold::Round(self.play(now, prompts))
            }
            Hold::Quiet => Hold::Round(self.play(now, prompts)),
        };
        if let State::Queued { hold, .. } = &mut self.state {
            *hold = next;
        }
    }

    /// Rings target `index` of the hunt list (`linear`), or all of them (`ringall`).
    fn ring(&mut self, now: Instant, index: usize) {
        let State::Queued { step, .. } = self.state else {
            return;
        };
        let Some(bridge) = self.bridge_of(step) else {
            return;
        };
        let legs: Vec<usize> = match bridge.strategy {
            HuntStrategy::Linear => vec![index],
            HuntStrategy::Ringall => (0..bridge.targets.len()).collect(),
        };
        let targets: Vec<_> = legs
            .iter()
            .map(|&leg| (leg, Arc::clone(&bridge.targets[leg])))
            .collect();
        let trunk = bridge.trunk.clone();
        self.timers[RING] = Some(now + bridge.ring_timeout);
        if let State::Queued { next, ringing, .. } = &mut self.state {
            *next = index;
            *ringing = legs.iter().fold(0, |bits, leg| bits | 1 << leg);
        }
        for (leg, target) in targets {
            debug!(call_id = %self.call_id, to = %target, leg, "calling for the bridge");
            let trunk = trunk.clone();
            self.actions.push_back(Action::Dial { leg, target, trunk });
        }
    }

    /// A bridge's call of [`Action::Dial`] (`leg`) answered or failed.
    pub fn handle_dial(&mut self, now: Instant, leg: usize, result: TransferResult) {
        let State::Queued {
            step,
            next,
            ringing,
            hold,
        } = self.state
        else {
            return;
        };
        if leg >= 64 || ringing & 1 << leg == 0 {
            return; // cancelled already
        }
        match result {
            TransferResult::Answered => {
                let target = self.bridge_of(step).map(|b| Arc::clone(&b.targets[leg]));
                let shown = target.as_deref().unwrap_or_default();
                info!(call_id = %self.call_id, to = shown, "call bridged");
                metrics::counter!("deflect_ivr_transfers_total", "result" => "bridged")
                    .increment(1);
                self.transfer_target = target;
                if let Some(id) = hold.playing() {
                    self.actions.push_back(Action::StopPlayback { id });
                }
                self.cancel_ringing(ringing & !(1 << leg));
                self.timers = [None; TIMERS];
                self.state = State::Bridged { step, held: None };
                self.path.exit("bridged".into());
            }
            TransferResult::Failed(status) => {
                debug!(call_id = %self.call_id, leg, status, "bridge target did not answer");
                let left = ringing & !(1 << leg);
                if let State::Queued { ringing, .. } = &mut self.state {
                    *ringing = left;
                }
                if left == 0 {
                    self.round_over(now, next);
                }
            }
        }
    }

    fn cancel_ringing(&mut self, ringing: u64) {
        for leg in (0..64).filter(|leg| ringing & 1 << leg != 0) {
            self.actions.push_back(Action::CancelDial { leg });
        }
    }

    /// Nobody rings any more: `linear` goes on to the target after `last`; after the last
    /// one (and for `ringall`) the next round starts after a pause, so targets refusing at
    /// once are not called in a tight loop.
    fn round_over(&mut self, now: Instant, last: usize) {
        let State::Queued { step, .. } = self.state else {
            return;
        };
        let Some(bridge) = self.bridge_of(step) else {
            return;
        };
        if bridge.strategy == HuntStrategy::Linear && last + 1 < bridge.targets.len() {
            return self.ring(now, last + 1);
        }
        if let State::Queued { next, .. } = &mut self.state {
            *next = 0;
        }
        self.timers[RING] = Some(now + HUNT_PAUSE);
    }

    /// The caller leaves the queue (a key, or its timeout): no target is called any more.
    fn leave_queue(&mut self, now: Instant) {
        if let State::Queued { ringing, .. } = self.state {
            self.cancel_ringing(ringing);
        }
        self.state = State::Ended;
        for timer in [TRANSFER, RING, HOLD, PROMPT] {
            self.timers[timer] = None;
        }
        self.timers[CALL] = Some(now + MAX_CALL);
    }

    /// A failed transfer: its failure prompts, then `on_failure` or goodbye.
    fn transfer_failed(&mut self, now: Instant, t: &TransferSpec) {
        match t.on_failure {
            Some(step) => self.prompt(now, &t.failure_prompts, true, Then::Step(step)),
            None => {
                let mut items = t.failure_prompts.clone();
                items.push(PromptItem::Prompt(Prompt::new("goodbye")));
                self.prompt(now, &items, false, Then::Hangup(HangupReason::FlowEnded));
            }
        }
    }

    /// The caller hung up.
    pub fn handle_hangup(&mut self, now: Instant) {
        if let State::Prompting {
            then: Then::Deflect,
            ..
        } = self.state
        {
            self.deflect(now);
        }
        self.end();
    }

    /// The timer from [`Call::poll_timeout`] fired (late is fine, early is ignored).
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in [CALL, LIMITS, TRANSFER, RING, HOLD, PROMPT, INPUT] {
            if self.timers[timer].is_some_and(|t| t <= now) {
                self.timers[timer] = None;
                self.fire(now, timer);
            }
        }
    }

    fn fire(&mut self, now: Instant, timer: usize) {
        match (timer, &mut self.state) {
            (CALL, _) => {
                warn!(call_id = %self.call_id, "call reached the IVR's time limit");
                if let State::Prompting {
                    then: Then::Deflect,
                    ..
                } = self.state
                {
                    self.deflect(now);
                }
                self.hang_up(HangupReason::CallTooLong);
            }
            (LIMITS, State::CheckingLimits { .. }) => {
                self.handle_limits(now, LimitDecision::Unavailable)
            }
            (TRANSFER, State::Transferring { .. }) => {
                info!(call_id = %self.call_id, "the transfer target did not answer in time");
                self.handle_transfer(now, TransferResult::Failed(408))
            }
            (TRANSFER, State::Queued { step, hold, .. }) => {
                let (step, hold) = (*step, *hold);
                info!(call_id = %self.call_id, "nobody answered the bridge within its timeout");
                metrics::counter!("deflect_ivr_transfers_total", "result" => "failed").increment(1);
                if let Some(id) = hold.playing() {
                    self.actions.push_back(Action::StopPlayback { id });
                }
                self.leave_queue(now);
                self.path.exit("failed 408".into());
                let flow = Arc::clone(&self.flow);
                if let Some(Step::Transfer(t)) = flow.steps.get(step) {
                    self.transfer_failed(now, t);
                }
            }
            (RING, State::Queued { next, ringing, .. }) => {
                let (next, ringing) = (*next, *ringing);
                if ringing == 0 {
                    self.ring(now, next);
                } else {
                    debug!(call_id = %self.call_id, "bridge targets rang out");
                    self.cancel_ringing(ringing);
                    if let State::Queued { ringing, .. } = &mut self.state {
                        *ringing = 0;
                    }
                    self.round_over(now, next);
                }
            }
            (HOLD, State::Queued { step, .. }) => {
                let flow = Arc::clone(&self.flow);
                let Some(Step::Transfer(t)) = flow.steps.get(*step) else {
                    return;
                };
                if let Some(bridge) = &t.bridge {
                    self.play_hold(now, bridge);
                }
            }
            (PROMPT, State::Queued { .. } | State::Bridged { .. }) => {
                if let Some(id) = self.hold_slot().and_then(|(_, hold)| hold.playing()) {
                    self.handle_playback_ended(now, id, PlaybackEnd::Finished);
                }
            }
            (PROMPT, State::Prompting { id, .. }) => {
                let id = *id;
                warn!(call_id = %self.call_id, "no end reported for a prompt; going on");
                self.handle_playback_ended(now, id, PlaybackEnd::Finished);
            }
            (PROMPT, State::Collecting(c)) => {
                if let Some(id) = c.prompt {
                    warn!(call_id = %self.call_id, "no end reported for a prompt; going on");
                    self.handle_playback_ended(now, id, PlaybackEnd::Finished);
                }
            }
            (INPUT, State::Collecting(c)) => {
                let outcome = if c.speech_heard && c.digits.is_empty() {
                    c.listening = false;
                    self.actions.push_back(Action::StopSpeech);
                    Outcome::NotUnderstood
                } else if c.digits.is_empty() {
                    Outcome::NoInput
                } else if c.digits.len() >= c.rules.min_digits {
                    // Enough digits and no finish key: the pause ends the input.
                    Outcome::Digits(std::mem::take(&mut c.digits))
                } else {
                    Outcome::TooShort
                };
                if c.listening {
                    c.listening = false;
                    self.actions.push_back(Action::StopSpeech);
                }
                self.finish(now, outcome);
            }
            _ => {}
        }
    }

    // ----- steps -------------------------------------------------------------------------

    fn run_step(&mut self, now: Instant, mut index: usize) {
        // Branches jump without audio; the bound keeps a loop of branches from spinning.
        for _ in 0..=self.flow.steps.len() {
            let flow = Arc::clone(&self.flow);
            let Some(step) = flow.steps.get(index) else {
                return self.hang_up(HangupReason::FlowEnded);
            };
            self.path.enter(&flow.step_names[index]);
            match step {
                Step::Play { prompts, barge_in } => {
                    return self.prompt(now, prompts, *barge_in, Then::Step(index + 1));
                }
                Step::Gather(g) => return self.start_gather(now, index, g, 1, None),
                Step::Menu(m) => return self.start_menu(now, index, m, 1, None),
                Step::Transfer(t) => {
                    return self.prompt(now, &t.prompts, false, Then::Transfer(index));
                }
                Step::Confirm(c) => {
                    if self.callback.is_none() {
                        warn!(flow = %flow.name, "confirm step reached without a number; hanging up");
                        return self.hang_up(HangupReason::FlowEnded);
                    }
                    return self.start_confirm(now, index, c, 1);
                }
                Step::Branch { open, closed } => {
                    let wall = self.wall(now);
                    let is_open = flow.hours.as_ref().is_none_or(|h| h.is_open(wall));
                    self.path
                        .exit(if is_open { "open" } else { "closed" }.to_string());
                    index = if is_open { *open } else { *closed };
                }
                Step::Deflect { .. } => {
                    let Some(cb) = &self.callback else {
                        warn!(flow = %flow.name, "deflect step reached without a number; hanging up");
                        return self.hang_up(HangupReason::FlowEnded);
                    };
                    let request = LimitRequest {
                        call_id: self.call_id.clone(),
                        caller: self
                            .caller
                            .clone()
                            .unwrap_or_else(|| ANONYMOUS_CALLER.into()),
                        callback_number: cb.number.e164().to_string(),
                        per_caller: flow.limits.per_caller,
                        per_callback_number: flow.limits.per_callback_number,
                        at: self.wall(now),
                    };
                    self.state = State::CheckingLimits { step: index };
                    self.timers[LIMITS] = Some(now + LIMITS_WATCHDOG);
                    self.actions.push_back(Action::CheckLimits(request));
                    return;
                }
                Step::Hangup { prompts } => {
                    return self.prompt(now, prompts, false, Then::Hangup(HangupReason::FlowEnded));
                }
            }
        }
        warn!(flow = %self.flow.name, "branch steps loop; hanging up");
        self.hang_up(HangupReason::FlowEnded);
    }

    fn then(&mut self, now: Instant, then: Then) {
        match then {
            Then::Step(i) => self.run_step(now, i),
            Then::Transfer(step) => {
                let flow = Arc::clone(&self.flow);
                let Some(Step::Transfer(t)) = flow.steps.get(step) else {
                    return;
                };
                if let Some(bridge) = &t.bridge {
                    return self.enter_queue(now, step, t, bridge);
                }
                debug!(call_id = %self.call_id, to = %t.target, "transferring");
                self.transfer_target = Some(Arc::clone(&t.target));
                self.state = State::Transferring { step };
                self.timers[TRANSFER] = Some(now + t.timeout);
                self.actions.push_back(Action::Transfer {
                    target: Arc::clone(&t.target),
                });
            }
            Then::Hangup(reason) => self.hang_up(reason),
            Then::Deflect => {
                self.deflect(now);
                self.hang_up(HangupReason::Deflected);
            }
        }
    }

    /// Plays `items`, then `then` (at once when there is nothing to play).
    fn prompt(&mut self, now: Instant, items: &[PromptItem], barge_in: bool, then: Then) {
        let prompts = self.expand(items);
        if prompts.is_empty() {
            return self.then(now, then);
        }
        // Type-ahead digits stop a prompt that may be interrupted before it starts.
        if barge_in && !self.typeahead.is_empty() {
            return self.then(now, then);
        }
        let id = self.play(now, prompts);
        self.state = State::Prompting { id, barge_in, then };
    }

    fn play(&mut self, now: Instant, prompts: Vec<Prompt>) -> PlaybackId {
        self.next_playback += 1;
        let id = PlaybackId(self.next_playback);
        self.actions.push_back(Action::Play { id, prompts });
        self.timers[PROMPT] = Some(now + PROMPT_WATCHDOG);
        id
    }

    fn expand(&self, items: &[PromptItem]) -> Vec<Prompt> {
        let mut out = Vec::with_capacity(items.len() + 12);
        for item in items {
            match item {
                PromptItem::Prompt(p) => out.push(p.clone()),
                PromptItem::Number => {
                    let Some(cb) = &self.callback else { continue };
                    let spoken = cb.number.spoken(self.flow.rules.country());
                    let pairs = &self.flow.pair_prompts;
                    for word in read_back(spoken, !pairs.is_empty()) {
                        out.push(match word {
                            Word::Plus => self.flow.plus_prompt.clone(),
                            Word::Pause => self.flow.pause_prompt.clone(),
                            Word::Digit(d) => self.flow.digit_prompts[usize::from(d)].clone(),
                            Word::Pair(n) => pairs[usize::from(n - 10)].clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Attempt `attempt` of the current gather or confirm ended as `how` (empty: it simply
    /// went on): the step's exit in the path.
    fn exit_attempt(&mut self, attempt: u32, how: &str) {
        if let Some(exit) = attempt_exit(attempt, how) {
            self.path.exit(exit);
        }
    }

    /// The last attempt failed: the step's `on_failure`, else `goodbye` said before hanging
    /// up.
    fn fail(&mut self, now: Instant, on_failure: Option<usize>, goodbye: &[&str]) {
        match on_failure {
            Some(step) => self.run_step(now, step),
            None => {
                let items: Vec<PromptItem> = goodbye
                    .iter()
                    .map(|p| PromptItem::Prompt(Prompt::new(p)))
                    .collect();
                self.prompt(
                    now,
                    &items,
                    false,
                    Then::Hangup(HangupReason::TooManyAttempts),
                );
            }
        }
    }

    // ----- ending --------------------------------------------------------------------------

    fn deflect(&mut self, now: Instant) {
        let Some(cb) = self.callback.take() else {
            return;
        };
        let flow = &self.flow;
        debug!(call_id = %self.call_id, flow = %flow.name, input = cb.method.as_str(), "deflection confirmed");
        metrics::counter!("deflect_ivr_deflections_total", "flow" => flow.name.clone(), "input" => cb.method.as_str())
            .increment(1);
        self.actions.push_back(Action::Deflect(Box::new(Deflection {
            call: CallContext {
                call_id: self.call_id.clone(),
                caller: self.caller.clone(),
                callback_number: cb.number.e164().to_string(),
                dialled_number: Some(self.dialled.clone()).filter(|n| !n.is_empty()),
                flow: Some(flow.name.clone()),
                language: Some(flow.language.clone()),
                started_at: self.started_at.as_millisecond(),
                ended_at: self.wall(now).as_millisecond(),
                input_method: cb.method,
                transcript: cb.transcript,
                path: self.path.steps(),
            },
            account: flow.whatsapp_account.clone(),
            queue: flow.queue.clone(),
        })));
    }

    fn hang_up(&mut self, reason: HangupReason) {
        if self.ended {
            return;
        }
        if let State::Collecting(c) = &self.state
            && c.listening
        {
            self.actions.push_back(Action::StopSpeech);
        }
        metrics::counter!("deflect_ivr_hangups_total", "reason" => reason.as_str()).increment(1);
        self.actions.push_back(Action::Hangup(reason));
        self.end();
    }

    fn end(&mut self) {
        self.ended = true;
        self.state = State::Ended;
        self.timers = [None; TIMERS];
    }

    /// Wall-clock time at `now`.
    fn wall(&self, now: Instant) -> Timestamp {
        let elapsed = now.saturating_duration_since(self.started);
        self.started_at
            .checked_add(elapsed)
            .unwrap_or(self.started_at)
    }
}

/// Caller ids that mean "withheld".
fn is_withheld(user: &str) -> bool {
    let u = user.trim();
    u.is_empty()
        || [
            "anonymous",
            "unknown",
            "restricted",
            "private",
            "unavailable",
        ]
        .iter()
        .any(|w| u.eq_ignore_ascii_case(w))
}
