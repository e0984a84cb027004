//! What goes in and out of the engine: the call's start, playback and speech reports, and
//! the [`Action`]s the driver carries out.

use crate::deflection::Deflection;
use crate::flow::Prompt;
use crate::limits::LimitRequest;
use jiff::Timestamp;
use std::sync::Arc;

/// What the driver knows when a call is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallStart {
    /// SIP Call-ID.
    pub call_id: String,
    /// User part of P-Asserted-Identity, if the trunk sent one.
    pub asserted_identity: Option<String>,
    /// User part of From.
    pub from: Option<String>,
    /// The number called: Request-URI user part (else To).
    pub dialled: String,
    /// Wall-clock time of the answer; later times are derived from the `now`s passed in.
    pub started_at: Timestamp,
}

/// Identifies one `Play` action, so late reports of an earlier prompt are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlaybackId(pub u64);

/// How a prompt list stopped playing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaybackEnd {
    /// Played to the end.
    Finished,
    /// Stopped early (by `StopPlayback`, or by media).
    Interrupted,
}

/// A recogniser's final result for one utterance.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeechResult {
    /// The recognised words, separated by spaces.
    pub text: String,
    /// The recogniser's confidence, 0–1.
    pub confidence: f32,
}

/// Why the engine hangs up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HangupReason {
    /// The deflection is done.
    Deflected,
    /// An abuse limit refused the deflection.
    LimitReached,
    /// The attempts of a gather, confirm or menu ran out.
    TooManyAttempts,
    /// A `transfer` step's target answered: the call is theirs.
    Transferred,
    /// A `hangup` step, or the end of the steps.
    FlowEnded,
    /// The call reached [`MAX_CALL`](super::MAX_CALL).
    CallTooLong,
}

impl HangupReason {
    /// Stable name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deflected => "deflected",
            Self::LimitReached => "limit_reached",
            Self::TooManyAttempts => "too_many_attempts",
            Self::Transferred => "transferred",
            Self::FlowEnded => "flow_ended",
            Self::CallTooLong => "call_too_long",
        }
    }
}

/// What the engine asks the driver to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Play these prompts in order, replacing anything playing; report the end with
    /// [`Call::handle_playback_ended`](super::Call::handle_playback_ended) and `id`.
    Play {
        /// Echoed in the report.
        id: PlaybackId,
        /// Prompts by name ([`Flow::prompt_file`](crate::Flow::prompt_file) finds a flow's own files).
        prompts: Vec<Prompt>,
    },
    /// Stop the prompts of `id` (a barge-in). The engine does not wait for the report.
    StopPlayback {
        /// The playback to stop.
        id: PlaybackId,
    },
    /// Start recognising afresh (a new recogniser, or `Recogniser::reset`): feed the
    /// caller's audio to it (`SpeechModels::recogniser` for the call's flow) and report with
    /// [`Call::handle_speech_started`](super::Call::handle_speech_started) and [`Call::handle_speech`](super::Call::handle_speech). Each gather attempt
    /// starts its own.
    StartSpeech,
    /// Stop recognising; results after this are ignored.
    StopSpeech,
    /// Ask the [`DeflectionCounter`](crate::DeflectionCounter) and answer with
    /// [`Call::handle_limits`](super::Call::handle_limits).
    CheckLimits(LimitRequest),
    /// Journal the deflection now, before the BYE (see [`crate::deflection`]); hand it to the
    /// inbox after the BYE.
    Deflect(Box<Deflection>),
    /// Ask the caller's side to take the call to `target` (a blind transfer: SIP REFER) and
    /// report how it ended with [`Call::handle_transfer`](super::Call::handle_transfer).
    Transfer {
        /// The URI the call goes to.
        target: Arc<str>,
    },
    /// Call `target` for a bridge (`mode = "bridge"`) as its call `leg` (the target's index
    /// in the hunt list; a call of the same leg placed before is over by now); report how it
    /// went with [`Call::handle_dial`](super::Call::handle_dial). Once one answers, relay
    /// audio and digits between it and the caller until either hangs up
    /// ([`Call::handle_bridge_ended`](super::Call::handle_bridge_ended) when it is the
    /// target).
    Dial {
        /// Which of the bridge's calls.
        leg: usize,
        /// The URI to call.
        target: Arc<str>,
        /// The trunk to call it through (none: the URI's own host).
        trunk: Option<Arc<str>>,
    },
    /// Give up the bridge's call `leg` (CANCEL, or BYE once answered); nothing more is
    /// reported about it.
    CancelDial {
        /// Which call.
        leg: usize,
    },
    /// Send BYE. Nothing follows.
    Hangup(HangupReason),
}

/// How a transfer from [`Action::Transfer`] (or a bridge's call from [`Action::Dial`]) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferResult {
    /// The target answered (a 2xx in the REFER's NOTIFY; a bridge's call answered).
    Answered,
    /// It failed with this SIP status: the REFER's refusal (408 when unanswered), or the
    /// target's final failure (486 busy, 480 not answering, …).
    Failed(u16),
}
