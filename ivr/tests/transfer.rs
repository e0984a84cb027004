//! Menus and transfers against a fake call on a virtual clock: a key chooses the next step,
//! a transfer asks the driver for a REFER and ends the call when the target answers, and a
//! failed transfer goes on to `on_failure` — here, the deflection.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_ivr::{HangupReason, TransferResult};
use std::time::Duration;

const TARGET: &str = "sip:agents@pbx.example.com";

fn flow(transfer_extra: &str) -> String {
    format!(
        r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "menu"
id = "menu"
choices = {{ "1" = "number", "0" = "agent" }}
on_failure = "number"
[[ivr.flows.steps]]
step = "gather"
id = "number"
offer_caller_number = true
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
[[ivr.flows.steps]]
step = "transfer"
id = "agent"
target = "{TARGET}"
{transfer_extra}
"#
    )
}

fn transfers(c: &FakeCall) -> Vec<String> {
    c.seen
        .iter()
        .filter_map(|(_, s)| match s {
            Seen::Transfer(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn pressing_0_transfers_after_the_prompt_and_an_answer_ends_the_call_transferred() {
    let f = flows(&flow(""), false);
    let mut c = FakeCall::new(&f, start(Some("anonymous"), "+31201234567"));
    assert_eq!(c.last_play(), names(&["menu_options"]));
    // The key interrupts the menu's prompt.
    c.keys("0");
    assert_eq!(c.last_play(), names(&["transferring"]));
    assert!(transfers(&c).is_empty(), "the prompt plays first");
    c.play_out();
    assert_eq!(transfers(&c), [TARGET]);
    // Keys while the transfer runs change nothing.
    c.keys("1");
    assert_eq!(transfers(&c).len(), 1);
    c.transfer(TransferResult::Answered);
    assert_eq!(c.hangup(), Some(HangupReason::Transferred));
    assert!(c.call.is_finished());
    assert_eq!(c.call.transfer_target(), Some(TARGET));
    assert_eq!(c.path(), ["menu (pressed 0)", "agent (transferred)"]);
    assert!(c.deflections().is_empty());
}

#[test]
fn a_failed_transfer_says_so_and_goes_on_to_on_failure() {
    let f = flows(&flow(r#"on_failure = "number""#), false);
    let mut c = FakeCall::new(&f, start(Some("+31612345678"), "+31201234567"));
    c.keys("0");
    c.play_out();
    c.transfer(TransferResult::Failed(486));
    assert_eq!(c.last_play(), names(&["transfer_failed"]));
    c.play_out();
    // On to the gather, which offers the calling number.
    assert_eq!(c.last_play(), names(&["offer_caller_number"]));
    c.keys("1");
    c.play_out();
    c.keys("1");
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::Deflected));
    assert_eq!(c.deflections()[0].call.callback_number, "+31612345678");
    assert_eq!(
        c.call.transfer_target(),
        Some(TARGET),
        "tried, even though it failed"
    );
    assert_eq!(c.path()[1], "agent (failed 486)");
}

#[test]
fn a_transfer_nobody_answers_in_time_fails_and_without_on_failure_says_goodbye() {
    let f = flows(&flow(r#"timeout = "20s""#), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.keys("0");
    c.play_out();
    c.advance(Duration::from_secs(19));
    assert_eq!(c.hangup(), None);
    c.advance(Duration::from_secs(1));
    assert_eq!(c.last_play(), names(&["transfer_failed", "goodbye"]));
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::FlowEnded));
    assert_eq!(c.path()[1], "agent (failed 408)");
    // A late answer is ignored.
    c.transfer(TransferResult::Answered);
    assert_eq!(c.hangup(), Some(HangupReason::FlowEnded));
}

#[test]
fn a_menu_retries_wrong_keys_and_silence_then_takes_on_failure() {
    let f = flows(&flow(""), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    c.keys("7");
    assert_eq!(c.last_play(), names(&["invalid_choice", "menu_options"]));
    c.play_out();
    c.secs(6.0);
    assert_eq!(c.last_play(), names(&["no_input", "menu_options"]));
    c.play_out();
    c.keys("#");
    // The third failed attempt: on to the gather.
    assert_eq!(c.last_play(), names(&["enter_number"]));
    assert_eq!(c.path()[0], "menu (retry 2, failed)");
}

#[test]
fn a_menu_without_on_failure_says_goodbye_after_its_attempts() {
    let f = flows(
        r#"
[[ivr.flows]]
name = "menu"
[[ivr.flows.steps]]
step = "menu"
attempts = 1
choices = { "0" = "agent" }
[[ivr.flows.steps]]
step = "transfer"
id = "agent"
target = "tel:+31201234999"
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    c.secs(6.0);
    assert_eq!(c.last_play(), names(&["goodbye"]));
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::TooManyAttempts));
    assert!(transfers(&c).is_empty());
}

#[test]
fn a_key_typed_during_a_play_step_chooses_in_the_menu_after_it() {
    let f = flows(
        r#"
[[ivr.flows]]
name = "menu"
[[ivr.flows.steps]]
step = "play"
prompts = ["welcome"]
[[ivr.flows.steps]]
step = "menu"
choices = { "0" = "agent" }
[[ivr.flows.steps]]
step = "transfer"
id = "agent"
target = "sip:desk@10.0.0.5:5060;transport=tcp"
prompts = []
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.keys("0");
    assert_eq!(transfers(&c), ["sip:desk@10.0.0.5:5060;transport=tcp"]);
    assert_eq!(
        c.plays(),
        [names(&["welcome"])],
        "no menu prompt, no transfer prompt"
    );
}
