//! Every gather rule of the crate docs, and the peers' known timer bugs shown absent, on a
//! virtual clock.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_ivr::{HangupReason, InputMethod, PlaybackEnd};
use std::time::Duration;

/// A flow: gather (with `extra` keys) → confirm → deflect, on number 100.
fn gather_flow(extra: &str, speech: bool) -> std::sync::Arc<deflect_ivr::Flows> {
    flows(
        &format!(
            r#"
[[ivr.flows]]
name = "g"
numbers = ["100"]

[[ivr.flows.steps]]
step = "gather"
{extra}

[[ivr.flows.steps]]
step = "confirm"

[[ivr.flows.steps]]
step = "deflect"
"#
        ),
        speech,
    )
}

fn call(extra: &str) -> FakeCall {
    FakeCall::new(&gather_flow(extra, false), start(None, "100"))
}

fn readback(number: &str) -> Vec<String> {
    let mut v = names(&["you_entered"]);
    v.extend(digits(number));
    v.push("confirm_options".into());
    v
}

fn is_readback(s: &Seen) -> bool {
    matches!(s, Seen::Play(p) if p.first().map(String::as_str) == Some("you_entered"))
}

#[test]
fn the_first_input_timeout_runs_from_the_end_of_the_prompts() {
    let mut c = call(r#"input = "dtmf""#);
    assert_eq!(c.plays(), [names(&["enter_number"])]);
    // The prompt takes 3 s; the 6 s timeout starts only then.
    c.secs(3.0);
    c.prompt_ends();
    c.secs(5.9);
    assert_eq!(c.plays().len(), 1, "timed out early: {:?}", c.seen);
    c.secs(0.1);
    assert_eq!(c.last_play(), names(&["no_input", "enter_number"]));
    assert_eq!(c.last_time(|s| matches!(s, Seen::Play(_))), Some(9 * S));
}

#[test]
fn the_first_input_timeout_applies_whatever_min_digits_is() {
    // Peers ignore the first-digit timeout when min_digits is unset; here it always runs.
    for extra in [r#"input = "dtmf""#, "input = \"dtmf\"\nmin_digits = 1"] {
        let mut c = call(extra);
        c.prompt_ends();
        c.secs(6.0);
        assert_eq!(
            c.last_play(),
            names(&["no_input", "enter_number"]),
            "{extra}"
        );
    }
}

#[test]
fn every_digit_restarts_the_inter_digit_timeout() {
    // A slow caller: a digit every 3.9 s, 35 s in all — far past the 6 s first-input
    // timeout. Partial input keeps extending the wait; nothing times out.
    let mut c = call(r#"input = "dtmf""#);
    c.prompt_ends();
    c.secs(5.0);
    c.keys_every("0612345678", ms(3900));
    let last_digit = c.at();
    assert_eq!(c.plays().len(), 1, "timed out while typing: {:?}", c.seen);
    // No '#': after the inter-digit timeout, enough digits are taken as the number.
    c.secs(3.9);
    assert!(!c.seen.iter().any(|(_, s)| is_readback(s)));
    c.secs(0.1);
    assert_eq!(c.last_play(), readback("06 12345678"));
    assert_eq!(c.last_time(is_readback), Some(last_digit + 4 * S));
}

#[test]
fn too_few_digits_when_the_pause_expires_are_invalid() {
    let mut c = call(r#"input = "dtmf""#);
    c.prompt_ends();
    c.keys("061");
    c.secs(4.0);
    assert_eq!(c.last_play(), names(&["invalid_number", "enter_number"]));
}

#[test]
fn the_finish_key_ends_input_and_is_not_part_of_the_number() {
    let mut c = call(r#"input = "dtmf""#);
    c.prompt_ends();
    c.keys("0612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));
    assert_eq!(c.last_time(is_readback), Some(Duration::ZERO));

    // Pressed too early, or alone, it makes the input invalid.
    for typed in ["06#", "#"] {
        let mut c = call(r#"input = "dtmf""#);
        c.prompt_ends();
        c.keys(typed);
        assert_eq!(
            c.last_play(),
            names(&["invalid_number", "enter_number"]),
            "{typed}"
        );
    }

    // Another key can finish; then '#' is an ordinary (invalid) digit of the number.
    let mut c = call("input = \"dtmf\"\nfinish_on_key = \"*\"");
    c.prompt_ends();
    c.keys("0612345678*");
    assert_eq!(c.last_play(), readback("06 12345678"));
}

#[test]
fn the_digit_reaching_max_digits_ends_input_at_once() {
    let mut c = call("input = \"dtmf\"\nmax_digits = 10");
    c.prompt_ends();
    c.keys("0612345678");
    assert_eq!(c.last_play(), readback("06 12345678"));
    assert_eq!(c.last_time(is_readback), Some(Duration::ZERO));
}

#[test]
fn a_digit_barges_in_and_the_timer_starts_at_the_interruption() {
    // Peers wait for the media's "stopped" report before starting the timer, and hang when
    // it never comes. Here the report is never sent, and the timer runs anyway.
    let mut c = call(r#"input = "dtmf""#);
    c.secs(1.0);
    let (old, _) = c.playing.clone().unwrap();
    c.keys("0");
    assert_eq!(
        c.seen
            .iter()
            .filter(|(t, s)| *s == Seen::Stop && *t == S)
            .count(),
        1
    );
    c.secs(4.0);
    assert_eq!(c.last_play(), names(&["invalid_number", "enter_number"]));
    assert_eq!(c.last_time(|s| matches!(s, Seen::Play(_))), Some(5 * S));
    // A late report for the interrupted prompt changes nothing.
    let before = c.seen.len();
    c.call
        .handle_playback_ended(c.now, old, PlaybackEnd::Interrupted);
    assert!(c.call.poll_action().is_none());
    assert_eq!(c.seen.len(), before);
}

#[test]
fn without_barge_in_digits_during_the_prompt_are_kept_and_timing_starts_at_its_end() {
    let mut c = call("input = \"dtmf\"\nbarge_in = false");
    c.secs(1.0);
    c.keys("0612345678");
    assert!(
        !c.seen.iter().any(|(_, s)| *s == Seen::Stop),
        "the prompt was stopped"
    );
    c.secs(4.0);
    c.prompt_ends(); // at 5 s
    c.secs(3.9);
    assert!(!c.seen.iter().any(|(_, s)| is_readback(s)));
    c.secs(0.1);
    assert_eq!(c.last_play(), readback("06 12345678"));
    assert_eq!(c.last_time(is_readback), Some(9 * S));
}

#[test]
fn digits_typed_before_the_gather_are_kept() {
    let flow = |barge_in: bool| {
        flows(
            &format!(
                r#"
[[ivr.flows]]
name = "t"
numbers = ["100"]
[[ivr.flows.steps]]
step = "play"
prompts = ["welcome"]
barge_in = {barge_in}
[[ivr.flows.steps]]
step = "gather"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
"#
            ),
            false,
        )
    };
    // During a welcome that cannot be interrupted: everything typed is kept; when it ends,
    // the gather is already complete and plays nothing, and the '1' after the '#' is the
    // confirm's answer.
    let mut c = FakeCall::new(&flow(false), start(None, "100"));
    c.secs(0.5);
    c.keys("0612345678#1");
    assert_eq!(c.plays(), [names(&["welcome"])]);
    c.prompt_ends();
    assert_eq!(
        c.plays(),
        [names(&["welcome"]), names(&["message_sent", "goodbye"])]
    );
    c.prompt_ends();
    assert_eq!(c.deflections()[0].call.callback_number, "+31612345678");

    // During a welcome that can: the first digit stops it and starts the gather without
    // its prompt; the inter-digit timeout runs from there.
    let mut c = FakeCall::new(&flow(true), start(None, "100"));
    c.secs(0.5);
    c.keys("06123");
    assert_eq!(c.plays(), [names(&["welcome"])]);
    assert_eq!(c.seen.iter().filter(|(_, s)| *s == Seen::Stop).count(), 1);
    c.keys("45678");
    c.secs(4.0);
    assert_eq!(c.plays(), [names(&["welcome"]), readback("06 12345678")]);
}

#[test]
fn digits_are_taken_when_no_prompt_plays() {
    // A gather without prompts: nothing plays, digits still count and the timer runs.
    let mut c = call("input = \"dtmf\"\nprompts = []");
    assert!(c.plays().is_empty());
    c.secs(1.0);
    c.keys("0612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));

    let mut c = call("input = \"dtmf\"\nprompts = []");
    c.secs(6.0);
    assert_eq!(c.last_play(), names(&["no_input"]));
    // And between prompts: after the re-prompt ended, digits still count.
    c.prompt_ends();
    c.keys("0612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));
}

#[test]
fn attempts_run_out_into_the_default_goodbye() {
    let mut c = call("input = \"dtmf\"\nattempts = 3");
    for _ in 0..3 {
        c.prompt_ends();
        c.secs(6.0);
    }
    assert_eq!(
        c.plays(),
        [
            names(&["enter_number"]),
            names(&["no_input", "enter_number"]),
            names(&["no_input", "enter_number"]),
            names(&["too_many_attempts", "goodbye"]),
        ]
    );
    assert_eq!(c.hangup(), None);
    c.prompt_ends();
    assert_eq!(c.hangup(), Some(HangupReason::TooManyAttempts));
    assert!(c.deflections().is_empty());
    assert!(c.call.poll_timeout().is_none());
}

#[test]
fn attempts_run_out_into_on_failure() {
    let f = flows(
        r#"
[[ivr.flows]]
name = "t"
numbers = ["100"]
[[ivr.flows.steps]]
step = "gather"
attempts = 1
on_failure = "sorry"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
[[ivr.flows.steps]]
step = "hangup"
id = "sorry"
prompts = ["closed"]
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, "100"));
    c.prompt_ends();
    c.keys("12#");
    assert_eq!(c.last_play(), names(&["closed"]));
    c.prompt_ends();
    assert_eq!(c.hangup(), Some(HangupReason::FlowEnded));
}

#[test]
fn rejected_numbers_are_explained_and_retried() {
    let mut c = call(r#"input = "dtmf""#);
    c.prompt_ends();
    // A landline, then a premium-rate number: each explained, then asked for again.
    for bad in ["0201234567#", "0906123456#"] {
        c.keys(bad);
        assert_eq!(
            c.last_play(),
            names(&["invalid_number", "enter_number"]),
            "{bad}"
        );
        c.prompt_ends();
    }
    // A short code on the last attempt: the default goodbye.
    c.keys("112#");
    assert_eq!(c.last_play(), names(&["too_many_attempts", "goodbye"]));

    // After a rejection, a valid number goes on; '*' stands for '+'.
    let mut c = call(r#"input = "dtmf""#);
    c.prompt_ends();
    c.keys("0201234567#");
    c.prompt_ends();
    c.keys("*31612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));
}

#[test]
fn speech_barges_in_and_its_result_goes_to_the_confirm() {
    let f = gather_flow(r#"input = "both""#, true);
    let mut c = FakeCall::new(&f, start(None, "100"));
    assert_eq!(c.seen[0].1, Seen::StartSpeech);
    c.secs(1.0);
    c.speech_started();
    assert_eq!(c.seen.last().unwrap(), &(S, Seen::Stop));
    c.secs(3.0);
    c.speech("oh six one two three four five six seven eight", 0.9);
    assert!(
        c.seen
            .iter()
            .any(|(t, s)| *s == Seen::StopSpeech && *t == 4 * S)
    );
    assert_eq!(c.last_play(), readback("06 12345678"));
    c.prompt_ends();
    c.keys("1");
    c.play_out();
    let d = c.deflections();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].call.input_method, InputMethod::Speech);
    assert_eq!(
        d[0].call.transcript.as_deref(),
        Some("oh six one two three four five six seven eight")
    );
    assert_eq!(d[0].call.callback_number, "+31612345678");
}

#[test]
fn unsure_or_endless_speech_is_not_understood() {
    let f = gather_flow(r#"input = "both""#, true);
    // Below ivr.speech.min_confidence (0.5).
    let mut c = FakeCall::new(&f, start(None, "100"));
    c.speech_started();
    c.speech("oh six one two three four five six seven eight", 0.3);
    assert_eq!(c.last_play(), names(&["invalid_number", "enter_number"]));

    // Speech that never ends: after speech_timeout (12 s) the recogniser is stopped.
    let mut c = FakeCall::new(&f, start(None, "100"));
    c.secs(1.0);
    c.speech_started();
    c.secs(11.9);
    assert_eq!(c.plays().len(), 1);
    c.secs(0.1);
    assert_eq!(c.last_play(), names(&["invalid_number", "enter_number"]));
    assert!(
        c.seen
            .iter()
            .any(|(t, s)| *s == Seen::StopSpeech && *t == 13 * S)
    );

    // Silence-only results do not end the attempt; the first-input timeout does.
    let mut c = FakeCall::new(&f, start(None, "100"));
    c.prompt_ends();
    c.secs(2.0);
    c.speech("", 0.0);
    assert_eq!(c.plays().len(), 1);
    c.secs(4.0);
    assert_eq!(c.last_play(), names(&["no_input", "enter_number"]));
}

#[test]
fn digits_win_over_speech() {
    let f = gather_flow(r#"input = "both""#, true);
    let mut c = FakeCall::new(&f, start(None, "100"));
    c.secs(1.0);
    c.keys("0");
    assert!(c.seen.iter().any(|(_, s)| *s == Seen::StopSpeech));
    // A result arriving after the recogniser was stopped is ignored.
    c.speech("nine nine nine", 1.0);
    c.keys("612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));
}

#[test]
fn dtmf_gathers_do_not_listen_and_speech_gathers_without_a_model_take_digits() {
    let f = gather_flow(r#"input = "dtmf""#, true);
    let c = FakeCall::new(&f, start(None, "100"));
    assert!(!c.seen.iter().any(|(_, s)| *s == Seen::StartSpeech));

    let f = gather_flow(r#"input = "speech""#, false);
    let mut c = FakeCall::new(&f, start(None, "100"));
    assert!(!c.seen.iter().any(|(_, s)| *s == Seen::StartSpeech));
    c.keys("0612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));

    // With a model, a speech gather ignores digits.
    let f = gather_flow(r#"input = "speech""#, true);
    let mut c = FakeCall::new(&f, start(None, "100"));
    c.keys("0612345678#");
    assert_eq!(c.plays().len(), 1);
}
