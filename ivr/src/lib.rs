//! deflect's IVR: call flows that collect a callback number by DTMF or speech, confirm it,
//! hang up and hand a [`Deflection`] to the inbox — or offer a menu and transfer the call to
//! a person.
//!
//! The heart is [`Call`], a sans-IO engine per call (see there for how to drive it): inputs
//! carry `now` (`handle_*`), outputs are drained (`poll_action`, `poll_timeout`). The
//! driver — the binary, over the SIP and media crates — plays prompts, feeds DTMF, runs the
//! recogniser, asks the abuse [`limits`], journals and hands over the deflection.
//!
//! | module | what |
//! |---|---|
//! | [`flow`] | flows compiled from `[ivr]`, routing by dialled number, prompts by name |
//! | [`call`] | the engine |
//! | [`number`] | callback numbers: E.164, mobile-capable, no premium rate or short codes |
//! | [`hours`] | opening hours for `branch` steps |
//! | [`limits`] | deflections per caller and per callback number per hour |
//! | [`words`] | digit words per language ("oh", "double", "triple") |
//! | [`speech`] | Vosk models (once per language) and a recogniser per call |
//! | [`deflection`] | the deflection record and its journal: exactly once across crashes |
//! | [`handoff`] | the hand-off policy: retried with back-off, never dropped |
//! | `runtime` | (feature `runtime`) calls answered over SIP with media, each driving a [`Call`]; the one hand-off path (`HandOffs`) |
//! | `dialler` | (feature `runtime`) the test dialler behind `deflect call`, also a load generator |
//!
//! # Gather semantics
//!
//! Peers (Asterisk `Read`, FreeSWITCH `play_and_get_digits`, jambonz `gather`) differ on
//! timers, and callers trip over the differences. Here, precisely (each rule has a
//! virtual-clock test in `tests/gather.rs`):
//!
//! - **Input**: `dtmf`, `speech` or `both`. With `both`, the recogniser listens from the
//!   start of the attempt; the first digit stops it (digits win), and speech is ignored
//!   once a digit came. A `speech` gather in a language without a model takes digits.
//! - **Prompts and barge-in**: with `barge_in` (default), a digit or the start of speech
//!   stops the prompts at once. Without it, digits typed during the prompts are kept and
//!   the prompts play to the end.
//! - **Timers start when the prompts stop** — when they end, or the moment they are
//!   interrupted (the engine does not wait for the media's report of the interruption).
//!   A gather with no prompts starts its timer at once.
//! - **First-input timeout** (`timeout`): from the prompts' end to the first digit or the
//!   start of speech. It always applies, whatever `min_digits` is. On expiry with no input:
//!   `no_input_prompts`, then the next attempt.
//! - **Inter-digit timeout** (`inter_digit_timeout`): after every digit, restarted by each
//!   new digit, so a slow but steady caller is never cut off by the first-input timeout.
//!   On expiry, input with at least `min_digits` digits is taken as complete (no need for
//!   `#`); fewer is invalid.
//! - **`finish_on_key`** (`#`): ends input; it is not part of the number. Pressed with fewer
//!   than `min_digits` digits (or none), the input is invalid.
//! - **`max_digits`**: the digit reaching it ends input at once.
//! - **Speech**: once speech started, the utterance has `speech_timeout` to end (Vosk's
//!   end-of-speech detection delivers it); the words become digits through the language's
//!   digit words; a result below `ivr.speech.min_confidence` (the least certain digit
//!   word's confidence: see [`speech`]), with other words, or too long in coming is "not
//!   understood" (invalid).
//! - **Attempts**: a failed attempt (no input, invalid, a rejected number) plays
//!   `no_input_prompts` or `invalid_prompts` followed by the prompts again; after
//!   `attempts` failures the gather goes to `on_failure`, or says `too_many_attempts`,
//!   `goodbye` and hangs up.
//! - **Type-ahead**: digits that arrive when no gather is listening — during a `play` step
//!   (which, with `barge_in`, they also stop), between steps, before any prompt started —
//!   are kept and are the next gather's first input; if they already complete it (`#` or
//!   `max_digits`), its prompts are not played at all. Digits are never dropped because no
//!   prompt is playing.
//! - **Offering the caller's number**: when the calling number (P-Asserted-Identity, else
//!   From) is a valid callback number, a gather with `offer_caller_number` plays
//!   `offer_prompts` on its first attempt and takes `offer_key` (`1`) as the *first* key to
//!   mean "that number", at once. National numbers do not start with `1` in the countries
//!   the default serves; choose another key where they do.
//! - **Confirm** reads the number back (`$number`: the national form for the flow's
//!   country, `plus` and the international digits otherwise) with barge-in; `confirm_key`
//!   goes on, `reenter_key` returns to the gather (without the offer), anything else or
//!   silence reads it back again, up to `attempts`.
//! - **Menu** takes one key (barge-in, type-ahead as above): a key among its `choices` goes
//!   to that step, another key (`invalid_prompts`) or silence (`no_input_prompts`) asks
//!   again, up to `attempts`, then `on_failure` or `goodbye`.
//! - **Transfer** plays its prompts without barge-in, then asks for the transfer
//!   ([`Action::Transfer`]) and waits — digits are ignored from then on — for
//!   [`Call::handle_transfer`]: the target answered (hang up, [`HangupReason::Transferred`]),
//!   or it failed, or `timeout` passed: `failure_prompts`, then `on_failure` or `goodbye`.
//!   A bridge (`mode = "bridge"`) instead puts the caller in a hold queue (`hold_prompts`
//!   again every `hold_repeat`) and asks the driver to call the targets
//!   ([`Action::Dial`], one per leg: the hunt list in turn for `ring_timeout` each, or all
//!   at once with `ringall`, rounds [`HUNT_PAUSE`](call::HUNT_PAUSE) apart until `timeout`;
//!   [`Action::CancelDial`] ends a ringing one), hearing back through [`Call::handle_dial`];
//!   `leave_key` jumps to `on_leave`. The first answer bridges the call (the driver relays
//!   audio and digits) until [`Call::handle_bridge_ended`] or the caller hangs up.
//!
//! # The path
//!
//! The engine records the steps a call goes through, in order — each step's `id`, else its
//! kind — with what chose the way out where that means something: a branch's `open` or
//! `closed`, a gather's, confirm's or menu's failed attempts (`retry 1`), a confirm's
//! `confirmed` or `reenter`, a menu's key (`pressed 0`), a transfer's `transferred`,
//! `bridged`, `left queue` or `failed 486` (the SIP status), `failed` when the attempts ran out. A re-entry or a jump back repeats entries;
//! past [`MAX_PATH`] the middle is left out behind one marker ([`PathStep::skipped`]). The
//! deflection's [`CallContext::path`] carries it to the inbox.
//!
//! Known peer bugs, each shown absent by a test: the first-digit timeout ignored without
//! `min_digits`; partial input not extending the timeout; timeouts never starting after a
//! barge-in; DTMF lost when no prompt plays.

#![forbid(unsafe_code)]

/// A fault injection point, compiled in only with the `failpoints` feature (the fault tests'
/// builds; the `fail` crate): `FAILPOINTS="<name>=return(abort)"` aborts the process there.
/// Without the feature it is nothing. Usable in a function of any return type (the point
/// returns from a closure of its own).
#[cfg(feature = "runtime")]
macro_rules! fault {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        (|| {
            fail::fail_point!($name, |arg: Option<String>| {
                if arg.as_deref() == Some("abort") {
                    tracing::error!(point = $name, "fault injected: aborting");
                    std::process::abort();
                }
            });
        })();
    };
}

pub mod call;
pub mod deflection;
#[cfg(feature = "runtime")]
pub mod dialler;
pub mod flow;
pub mod handoff;
pub mod hours;
pub mod limits;
pub mod number;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod speech;
pub mod words;

pub use call::{
    Action, Call, CallStart, HangupReason, PlaybackEnd, PlaybackId, SpeechResult, TransferResult,
};
pub use deflection::{
    CallContext, Deflection, DeflectionConsumer, InputMethod, Journal, MAX_PATH, PathStep,
};
pub use flow::{Flow, FlowError, Flows, Prompt};
pub use limits::{DeflectionCounter, LimitDecision, LimitRequest, MemoryCounter};
pub use number::{CallbackNumber, NumberRules, Rejection};
pub use speech::{Heard, Recogniser, SpeechModels};
