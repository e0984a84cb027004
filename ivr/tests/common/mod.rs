//! A fake call around the engine: a virtual clock, a media side that plays prompts for as
//! long as the test says, and a record of every action with the time it came out.

#![allow(clippy::unwrap_used, dead_code)]

use deflect_config::IvrConfig;
use deflect_ivr::{
    Action, Call, CallStart, Deflection, Flows, HangupReason, LimitDecision, MemoryCounter,
    PlaybackEnd, PlaybackId, SpeechResult, TransferResult,
};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `[ivr]` from TOML, through the full configuration loader (so it is validated).
pub fn ivr_config(toml: &str) -> IvrConfig {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(toml.as_bytes()).unwrap();
    match deflect_config::load(Some(f.path()), Vec::<(String, String)>::new()) {
        Ok(c) => c.ivr,
        Err(e) => panic!("{e}"),
    }
}

/// Flows from TOML; `speech` says whether every language has a model.
pub fn flows(toml: &str, speech: bool) -> Arc<Flows> {
    Arc::new(Flows::new(&ivr_config(toml), |_| speech).unwrap())
}

pub fn start(from: Option<&str>, dialled: &str) -> CallStart {
    CallStart {
        call_id: "call-1@test".into(),
        asserted_identity: None,
        from: from.map(str::to_string),
        dialled: dialled.into(),
        started_at: "2026-11-23T10:00:00Z".parse().unwrap(),
    }
}

/// One action as the fake call saw it, with the virtual time.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    Play(Vec<String>),
    Stop,
    StartSpeech,
    StopSpeech,
    CheckLimits,
    Deflect(Box<Deflection>),
    Transfer(String),
    Dial(usize, String),
    CancelDial(usize),
    Hangup(HangupReason),
}

pub struct FakeCall {
    pub call: Call,
    pub t0: Instant,
    pub now: Instant,
    /// Every action with its time since the start.
    pub seen: Vec<(Duration, Seen)>,
    /// The playback in progress, and how long it still has to play.
    pub playing: Option<(PlaybackId, Vec<String>)>,
    /// How long each prompt list plays when `play_prompts` is used.
    pub prompt_length: Duration,
    pub counter: Arc<MemoryCounter>,
    /// Answer limit checks automatically with the counter.
    pub auto_limits: bool,
}

impl FakeCall {
    pub fn new(flows: &Flows, start: CallStart) -> Self {
        Self::with_counter(flows, start, Arc::new(MemoryCounter::new()))
    }

    pub fn with_counter(flows: &Flows, start: CallStart, counter: Arc<MemoryCounter>) -> Self {
        let t0 = Instant::now();
        let flow = flows.route(&start.dialled).clone();
        let call = Call::new(flow, start, t0);
        let mut c = Self {
            call,
            t0,
            now: t0,
            seen: Vec::new(),
            playing: None,
            prompt_length: Duration::from_secs(2),
            counter,
            auto_limits: true,
        };
        c.drain();
        c
    }

    pub fn at(&self) -> Duration {
        self.now - self.t0
    }

    fn drain(&mut self) {
        while let Some(a) = self.call.poll_action() {
            let seen = match a {
                Action::Play { id, prompts } => {
                    let names: Vec<String> = prompts.iter().map(|p| p.name().to_string()).collect();
                    self.playing = Some((id, names.clone()));
                    Seen::Play(names)
                }
                Action::StopPlayback { id } => {
                    if self.playing.as_ref().is_some_and(|(p, _)| *p == id) {
                        self.playing = None;
                    }
                    Seen::Stop
                }
                Action::StartSpeech => Seen::StartSpeech,
                Action::StopSpeech => Seen::StopSpeech,
                Action::CheckLimits(r) => {
                    self.seen.push((self.at(), Seen::CheckLimits));
                    if self.auto_limits {
                        let d = self.counter.record(&r);
                        self.call.handle_limits(self.now, d);
                    }
                    continue;
                }
                Action::Deflect(d) => Seen::Deflect(d),
                Action::Transfer { target } => Seen::Transfer(target.to_string()),
                Action::Dial { leg, target, .. } => Seen::Dial(leg, target.to_string()),
                Action::CancelDial { leg } => Seen::CancelDial(leg),
                Action::Hangup(r) => {
                    self.playing = None;
                    Seen::Hangup(r)
                }
            };
            self.seen.push((self.at(), seen));
        }
    }

    /// Moves the virtual clock forward by `d`, firing every timer due on the way.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.call.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.call.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    pub fn secs(&mut self, s: f64) {
        self.advance(Duration::from_secs_f64(s));
    }

    /// The current prompts play to their end after `prompt_length`.
    pub fn play_out(&mut self) {
        let len = self.prompt_length;
        self.advance(len);
        if let Some((id, _)) = self.playing.take() {
            self.call
                .handle_playback_ended(self.now, id, PlaybackEnd::Finished);
            self.drain();
        }
    }

    /// Reports the end of whatever plays now.
    pub fn prompt_ends(&mut self) {
        let (id, _) = self.playing.take().expect("a prompt is playing");
        self.call
            .handle_playback_ended(self.now, id, PlaybackEnd::Finished);
        self.drain();
    }

    /// Presses keys, one at a time at the current time.
    pub fn keys(&mut self, keys: &str) {
        for k in keys.chars() {
            self.call.handle_dtmf(self.now, k);
            self.drain();
        }
    }

    /// Presses keys `gap` apart.
    pub fn keys_every(&mut self, keys: &str, gap: Duration) {
        for (i, k) in keys.chars().enumerate() {
            if i > 0 {
                self.advance(gap);
            }
            self.call.handle_dtmf(self.now, k);
            self.drain();
        }
    }

    pub fn speech_started(&mut self) {
        self.call.handle_speech_started(self.now);
        self.drain();
    }

    pub fn speech(&mut self, text: &str, confidence: f32) {
        self.call.handle_speech(
            self.now,
            SpeechResult {
                text: text.into(),
                confidence,
            },
        );
        self.drain();
    }

    pub fn limits(&mut self, d: LimitDecision) {
        self.call.handle_limits(self.now, d);
        self.drain();
    }

    pub fn transfer(&mut self, result: TransferResult) {
        self.call.handle_transfer(self.now, result);
        self.drain();
    }

    /// A bridge's call `leg` answered or failed.
    pub fn dial_result(&mut self, leg: usize, result: TransferResult) {
        self.call.handle_dial(self.now, leg, result);
        self.drain();
    }

    /// A bridge's target hung up.
    pub fn bridge_ends(&mut self) {
        self.call.handle_bridge_ended();
        self.drain();
    }

    /// The agent of the bridge holds the caller (`true`) or takes them back.
    pub fn hold(&mut self, on: bool) {
        self.call.handle_hold(self.now, on);
        self.drain();
    }

    /// The labels of the call's path so far (`step (exit)`).
    pub fn path(&self) -> Vec<String> {
        self.call.path().iter().map(|s| s.label()).collect()
    }

    pub fn caller_hangs_up(&mut self) {
        self.call.handle_hangup(self.now);
        self.drain();
    }

    /// Plays every prompt to its end until the engine waits for input (or ends).
    pub fn play_until_input(&mut self) {
        while self.playing.is_some() && !self.call.is_finished() {
            self.play_out();
            if self.call.is_collecting() && self.playing.is_none() {
                break;
            }
        }
    }

    /// Names of the prompt lists played, in order.
    pub fn plays(&self) -> Vec<Vec<String>> {
        self.seen
            .iter()
            .filter_map(|(_, s)| match s {
                Seen::Play(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn last_play(&self) -> Vec<String> {
        self.plays().last().cloned().unwrap_or_default()
    }

    /// The time of the last action matching `f`.
    pub fn last_time(&self, f: impl Fn(&Seen) -> bool) -> Option<Duration> {
        self.seen.iter().rev().find(|(_, s)| f(s)).map(|(t, _)| *t)
    }

    pub fn deflections(&self) -> Vec<Deflection> {
        self.seen
            .iter()
            .filter_map(|(_, s)| match s {
                Seen::Deflect(d) => Some((**d).clone()),
                _ => None,
            })
            .collect()
    }

    pub fn hangup(&self) -> Option<HangupReason> {
        self.seen.iter().find_map(|(_, s)| match s {
            Seen::Hangup(r) => Some(*r),
            _ => None,
        })
    }
}

pub fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The prompts reading `number` back: digits, `plus`, and `pause` between groups.
pub fn digits(number: &str) -> Vec<String> {
    number
        .chars()
        .map(|c| match c {
            '+' => "plus".to_string(),
            ' ' => "pause".to_string(),
            d => format!("digit_{d}"),
        })
        .collect()
}

pub const S: Duration = Duration::from_secs(1);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
