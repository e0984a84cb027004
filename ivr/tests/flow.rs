//! Whole flows against a fake call on a virtual clock: the default flow end to end, the
//! caller's own number, re-entry, hang-ups, abuse limits, opening hours, routing.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_ivr::{HangupReason, InputMethod, LimitDecision, MemoryCounter, PlaybackEnd};
use std::sync::Arc;

fn default_flows() -> Arc<deflect_ivr::Flows> {
    flows("", false)
}

fn readback(number: &str) -> Vec<String> {
    let mut v = names(&["you_entered"]);
    v.extend(digits(number));
    v.push("confirm_options".into());
    v
}

#[test]
fn the_default_flow_end_to_end_with_a_typed_number() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("anonymous"), "+31201234567"));
    assert_eq!(c.call.flow().name(), "default");
    c.play_out(); // welcome
    // A withheld number is not offered: the plain prompt.
    assert_eq!(c.last_play(), names(&["enter_number"]));
    c.play_out();
    c.keys_every("0612345678#", ms(300));
    assert_eq!(c.last_play(), readback("06 12345678"));
    c.play_out();
    c.keys("1");
    assert_eq!(c.last_play(), names(&["message_sent", "goodbye"]));
    assert!(c.deflections().is_empty(), "deflected before the goodbye");
    let before_end = c.at();
    c.play_out();
    let tail: Vec<&Seen> = c.seen.iter().rev().take(2).map(|(_, s)| s).collect();
    assert!(
        matches!(tail[1], Seen::Deflect(_)),
        "the deflection comes before the BYE"
    );
    assert_eq!(tail[0], &Seen::Hangup(HangupReason::Deflected));
    let d = c.deflections();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].account, None);
    assert_eq!(d[0].queue, None);
    let d = &d[0].call;
    assert_eq!(d.call_id, "call-1@test");
    assert_eq!(d.caller, None);
    assert_eq!(d.callback_number, "+31612345678");
    assert_eq!(d.dialled_number.as_deref(), Some("+31201234567"));
    assert_eq!(d.flow.as_deref(), Some("default"));
    assert_eq!(d.language.as_deref(), Some("en"));
    assert_eq!(d.input_method, InputMethod::Dtmf);
    assert_eq!(d.transcript.as_deref(), Some("0612345678"));
    let started: jiff::Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
    assert_eq!(d.started_at, started.as_millisecond());
    let expected_end = started.checked_add(before_end + c.prompt_length).unwrap();
    assert_eq!(d.ended_at, expected_end.as_millisecond());
    assert!(c.call.is_finished());
    assert!(c.call.poll_timeout().is_none());
}

#[test]
fn pressing_1_takes_the_number_called_from() {
    let f = default_flows();
    let mut s = start(Some("0611111111"), "+31201234567");
    s.asserted_identity = Some("+31622222222".into());
    let mut c = FakeCall::new(&f, s);
    c.play_out();
    assert_eq!(c.last_play(), names(&["offer_caller_number"]));
    c.secs(1.0);
    c.keys("1");
    // P-Asserted-Identity wins over From; read back in the national form.
    assert_eq!(c.last_play(), readback("06 22222222"));
    c.keys("1");
    c.play_out();
    let d = &c.deflections()[0].call;
    assert_eq!(d.callback_number, "+31622222222");
    assert_eq!(d.caller.as_deref(), Some("+31622222222"));
    assert_eq!(d.input_method, InputMethod::CallerNumber);
    assert_eq!(d.transcript, None);

    // The From number when there is no P-Asserted-Identity.
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.play_out();
    c.keys("11");
    c.play_out();
    assert_eq!(c.deflections()[0].call.callback_number, "+31611111111");
}

#[test]
fn a_calling_number_that_cannot_take_whatsapp_is_not_offered() {
    let f = default_flows();
    // A landline: the plain prompt, and '1' is the first digit of a number.
    let mut c = FakeCall::new(&f, start(Some("+31201234567"), "1"));
    c.play_out();
    assert_eq!(c.last_play(), names(&["enter_number"]));
    c.play_out();
    c.keys("1");
    assert_eq!(c.last_play(), names(&["enter_number"]));
    assert!(c.call.is_collecting());
    // The caller's own number typed in full is fine too.
    let mut c = FakeCall::new(&f, start(Some("+31201234567"), "1"));
    c.play_out();
    c.keys("0612345678#");
    assert_eq!(c.last_play(), readback("06 12345678"));
}

#[test]
fn a_flow_without_the_offer_still_knows_the_caller_in_e164() {
    let f = flows(
        r#"
[[ivr.flows]]
name = "typed"
[[ivr.flows.steps]]
step = "gather"
offer_caller_number = false
"#,
        false,
    );
    for (from, caller) in [
        ("0612345678", "+31612345678"),
        ("020 123 4567", "+31201234567"),
        ("reception", "reception"),
    ] {
        let mut c = FakeCall::new(&f, start(Some(from), ""));
        assert_eq!(c.call.caller(), Some(caller), "{from}");
        c.play_out();
        // Never offered: '1' is the first digit of a typed number.
        assert_eq!(c.last_play(), names(&["enter_number"]));
        c.keys("1");
        assert!(c.call.is_collecting());
    }
}

#[test]
fn pressing_2_enters_the_number_again_without_the_offer() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.play_out();
    c.keys("1");
    assert_eq!(c.last_play(), readback("06 11111111"));
    c.keys("2");
    assert_eq!(c.last_play(), names(&["enter_number"]));
    c.keys("0033612345678#");
    assert_eq!(c.last_play(), readback("+33 6 12 34 56 78"));
    c.keys("1");
    c.play_out();
    let d = &c.deflections()[0].call;
    assert_eq!(d.callback_number, "+33612345678");
    assert_eq!(d.input_method, InputMethod::Dtmf);
}

#[test]
fn a_confirm_without_an_answer_is_read_again_then_gives_up() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.play_out();
    c.keys("1");
    for _ in 0..3 {
        c.play_out();
        c.secs(6.0);
    }
    let plays = c.plays();
    assert_eq!(
        plays[plays.len() - 3..],
        [
            readback("06 11111111"),
            readback("06 11111111"),
            names(&["too_many_attempts", "goodbye"])
        ]
    );
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::TooManyAttempts));
    assert!(c.deflections().is_empty());
}

#[test]
fn a_caller_hanging_up_mid_flow_leaves_no_deflection() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.play_out();
    c.keys("1"); // chosen, not confirmed
    c.secs(1.0);
    c.caller_hangs_up();
    assert!(c.deflections().is_empty());
    assert_eq!(c.hangup(), None, "no BYE to a caller who hung up");
    assert!(c.call.is_finished());
    assert!(c.call.poll_timeout().is_none());
    // Later events change nothing.
    c.keys("1");
    c.secs(60.0);
    assert!(c.deflections().is_empty());
}

#[test]
fn a_caller_hanging_up_during_the_goodbye_is_deflected_once() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.play_out();
    c.keys("11");
    assert_eq!(c.last_play(), names(&["message_sent", "goodbye"]));
    c.secs(0.5);
    c.caller_hangs_up();
    assert_eq!(c.deflections().len(), 1);
    assert_eq!(c.hangup(), None);
    c.caller_hangs_up();
    c.secs(200.0);
    assert_eq!(c.deflections().len(), 1);
}

#[test]
fn abuse_limits_refuse_with_a_spoken_reason() {
    let f = default_flows();
    let counter = Arc::new(MemoryCounter::new());
    // Three deflections to one number from three callers: allowed.
    for caller in ["+31600000001", "+31600000002", "+31600000003"] {
        let mut s = start(Some(caller), "1");
        s.call_id = format!("{caller}@test");
        let mut c = FakeCall::with_counter(&f, s, counter.clone());
        c.play_out();
        c.keys("0611223344#1");
        c.play_out();
        assert_eq!(c.deflections().len(), 1);
    }
    // A fourth to the same number within the hour: refused, said, no deflection.
    let mut s = start(Some("+31600000004"), "1");
    s.call_id = "fourth@test".into();
    let mut c = FakeCall::with_counter(&f, s, counter.clone());
    c.play_out();
    c.keys("0611223344#1");
    assert_eq!(c.last_play(), names(&["limit_reached", "goodbye"]));
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::LimitReached));
    assert!(c.deflections().is_empty());

    // The caller limit: a fourth deflection by one caller to fresh numbers.
    let counter = Arc::new(MemoryCounter::new());
    for (i, number) in ["0611111111", "0622222222", "0633333333", "0644444444"]
        .iter()
        .enumerate()
    {
        let mut s = start(Some("+31655555555"), "1");
        s.call_id = format!("{i}@test");
        let mut c = FakeCall::with_counter(&f, s, counter.clone());
        c.play_out();
        c.keys(&format!("{number}#1"));
        if i < 3 {
            assert_eq!(c.last_play(), names(&["message_sent", "goodbye"]), "{i}");
        } else {
            assert_eq!(c.last_play(), names(&["limit_reached", "goodbye"]));
        }
    }
}

#[test]
fn an_unanswered_limit_check_lets_the_deflection_through() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.auto_limits = false;
    c.play_out();
    c.keys("11");
    assert_eq!(c.seen.last().unwrap().1, Seen::CheckLimits);
    c.secs(4.9);
    assert!(c.plays().last().unwrap() != &names(&["message_sent", "goodbye"]));
    c.secs(0.1);
    assert_eq!(c.last_play(), names(&["message_sent", "goodbye"]));
    // A late answer is ignored.
    c.limits(LimitDecision::CallerLimited);
    c.play_out();
    assert_eq!(c.deflections().len(), 1);
}

/// A French flow reads a French mobile number back the way it is said: `06 12 34 56 78`
/// is "zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit".
#[test]
fn a_french_flow_reads_numbers_back_in_pairs() {
    let f = flows(
        r#"
[[ivr.flows]]
name = "paris"
language = "fr"
country = "FR"
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, ""));
    c.play_out();
    c.play_out();
    c.keys_every("0612345608#", ms(300));
    let mut expected = names(&["you_entered", "digit_0", "digit_6", "pause"]);
    expected.extend(names(&["number_12", "pause", "number_34", "pause"]));
    expected.extend(names(&["number_56", "pause", "digit_0", "digit_8"]));
    expected.push("confirm_options".into());
    assert_eq!(c.last_play(), expected);
}

/// The deflection carries its flow's name, language, WhatsApp account and queue, and no
/// dialled number when the call named none.
#[test]
fn a_deflection_carries_its_flows_account_and_queue() {
    let mut cfg = ivr_config(
        r#"
[[ivr.flows]]
name = "support"
language = "en"
"#,
    );
    cfg.flows[0].whatsapp_account = Some("main".into());
    cfg.flows[0].queue = Some("callbacks".into());
    let f = Arc::new(deflect_ivr::Flows::new(&cfg, |_| false).unwrap());
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), ""));
    c.play_out();
    c.keys("11");
    c.play_out();
    let d = &c.deflections()[0];
    assert_eq!(d.account.as_deref(), Some("main"));
    assert_eq!(d.queue.as_deref(), Some("callbacks"));
    assert_eq!(d.call.flow.as_deref(), Some("support"));
    assert_eq!(d.call.language.as_deref(), Some("en"));
    assert_eq!(d.call.dialled_number, None);
    assert_eq!(d.call.callback_number, "+31611111111");
}

const HOURS: &str = r#"
[[ivr.flows]]
name = "office"
numbers = ["+31201234567", "2000"]
language = "en"
[ivr.flows.hours]
time_zone = "Europe/Amsterdam"
weekly = ["mon-fri 09:00-17:00"]
holidays = ["2026-12-25"]
[[ivr.flows.steps]]
step = "branch"
closed = "closed"
[[ivr.flows.steps]]
step = "gather"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
[[ivr.flows.steps]]
step = "hangup"
id = "closed"
prompts = ["closed", "goodbye"]
"#;

#[test]
fn branches_follow_the_opening_hours() {
    let f = flows(HOURS, false);
    // Monday 2026-11-23 10:00 UTC = 11:00 in Amsterdam: open.
    let c = FakeCall::new(&f, start(None, "2000"));
    assert_eq!(c.last_play(), names(&["enter_number"]));
    // Christmas: closed.
    let mut s = start(None, "2000");
    s.started_at = "2026-12-25T10:00:00Z".parse().unwrap();
    let mut c = FakeCall::new(&f, s);
    assert_eq!(c.last_play(), names(&["closed", "goodbye"]));
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::FlowEnded));
    // Monday 17:30 local.
    let mut s = start(None, "2000");
    s.started_at = "2026-11-23T16:30:00Z".parse().unwrap();
    let c = FakeCall::new(&f, s);
    assert_eq!(c.last_play(), names(&["closed", "goodbye"]));
}

#[test]
fn flows_are_chosen_by_the_dialled_number() {
    let f = flows(HOURS, false);
    assert_eq!(f.route("2000").name(), "office");
    assert_eq!(f.route("+31201234567").name(), "office");
    // The same number in national form.
    assert_eq!(f.route("0201234567").name(), "office");
    assert_eq!(f.route("+31207654321").name(), "default");
    assert_eq!(f.route("").name(), "default");

    // A flow listing no numbers takes the others.
    let f = flows(
        r#"
[[ivr.flows]]
name = "sales"
numbers = ["3000"]
[[ivr.flows]]
name = "everything-else"
language = "ko"
country = "KR"
"#,
        false,
    );
    assert_eq!(f.route("3000").name(), "sales");
    assert_eq!(f.route("4000").name(), "everything-else");
    assert!(f.iter().all(|f| f.name() != "default"));
    // Korean flow, Korean numbers: read back in the national form.
    let mut c = FakeCall::new(&f, start(None, "4000"));
    c.play_out();
    c.keys("01012345678#");
    assert_eq!(c.last_play(), readback("010 1234 5678"));
}

#[test]
fn a_prompt_whose_end_is_never_reported_does_not_stall_the_call() {
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(None, "1"));
    assert_eq!(c.last_play(), names(&["welcome"]));
    c.secs(119.0);
    assert_eq!(c.plays().len(), 1);
    c.secs(1.0);
    assert_eq!(c.last_play(), names(&["enter_number"]));
}

#[test]
fn the_call_is_hung_up_after_the_time_limit() {
    let f = flows(
        r#"
[[ivr.flows]]
name = "loop"
numbers = ["1"]
[[ivr.flows.steps]]
step = "gather"
id = "again"
attempts = 1
on_failure = "again"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, "1"));
    for _ in 0..200 {
        if c.call.is_finished() {
            break;
        }
        c.play_out();
        c.secs(6.0);
    }
    assert_eq!(c.hangup(), Some(HangupReason::CallTooLong));
    assert!(c.at() <= deflect_ivr::call::MAX_CALL + 10 * S);
    // Late reports are harmless.
    c.call
        .handle_playback_ended(c.now, deflect_ivr::PlaybackId(1), PlaybackEnd::Finished);
    assert!(c.call.poll_action().is_none());
}

#[test]
fn a_flow_whose_target_names_no_step_does_not_compile() {
    // Built in code, so the configuration check never saw it.
    let mut config = deflect_config::IvrConfig::default();
    config.flows.push(deflect_config::FlowConfig {
        name: "support".into(),
        steps: vec![deflect_config::StepConfig::Gather(
            deflect_config::GatherStep {
                on_failure: Some("operator".into()),
                ..Default::default()
            },
        )],
        ..Default::default()
    });
    let e = deflect_ivr::Flows::new(&config, |_| false).unwrap_err();
    assert!(
        matches!(&e, deflect_ivr::FlowError::Target { flow, id } if flow == "support" && id == "operator"),
        "{e}"
    );
}

fn path(d: &deflect_ivr::Deflection) -> Vec<String> {
    d.call.path.iter().map(|s| s.label()).collect()
}

#[test]
fn a_deflection_carries_the_steps_the_caller_went_through() {
    // The default flow's steps have no ids: their kinds name them.
    let f = default_flows();
    let mut c = FakeCall::new(&f, start(Some("+31611111111"), "1"));
    c.play_out();
    c.keys("1");
    c.keys("1");
    c.play_out();
    assert_eq!(
        path(&c.deflections()[0]),
        ["play", "gather", "confirm (confirmed)", "deflect"]
    );

    // Ids name steps; a branch shows the way it went, a gather its retries, a confirm its
    // answer, and going back to enter the number again repeats the steps.
    let f = flows(
        r#"
[[ivr.flows]]
name = "office"
numbers = ["2000"]
[ivr.flows.hours]
time_zone = "Europe/Amsterdam"
weekly = ["mon-fri 09:00-17:00"]
[[ivr.flows.steps]]
step = "play"
id = "greeting"
prompts = ["welcome"]
[[ivr.flows.steps]]
step = "branch"
id = "hours"
closed = "closed"
[[ivr.flows.steps]]
step = "gather"
id = "ask_number"
input = "dtmf"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
[[ivr.flows.steps]]
step = "hangup"
id = "closed"
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, "2000"));
    c.play_out(); // greeting; open on a Monday morning
    c.play_out(); // enter_number
    c.secs(6.0); // no input
    c.play_out();
    c.keys("0612345678#");
    c.play_out(); // read back, no answer
    c.secs(10.0);
    c.keys("2"); // enter it again
    c.keys("0687654321#");
    c.keys("1");
    c.play_out();
    assert_eq!(
        path(&c.deflections()[0]),
        [
            "greeting",
            "hours (open)",
            "ask_number (retry 1)",
            "confirm (retry 1, reenter)",
            "ask_number",
            "confirm (confirmed)",
            "deflect"
        ]
    );
}

#[test]
fn a_caller_going_round_and_round_gets_a_bounded_path() {
    // A failed gather goes back to the greeting: each round repeats both steps.
    let f = flows(
        r#"
[[ivr.flows]]
name = "loop"
numbers = ["100"]
[[ivr.flows.steps]]
step = "play"
id = "start"
prompts = ["welcome"]
[[ivr.flows.steps]]
step = "gather"
input = "dtmf"
attempts = 1
on_failure = "start"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
"#,
        false,
    );
    let mut c = FakeCall::new(&f, start(None, "100"));
    for _ in 0..30 {
        c.play_out(); // welcome
        c.keys("12#");
    }
    c.play_out();
    c.keys("0612345678#");
    c.keys("1");
    c.play_out();
    let steps = &c.deflections()[0].call.path;
    assert_eq!(steps.len(), deflect_ivr::MAX_PATH);
    let markers: Vec<_> = steps
        .iter()
        .filter(|s| s.step == deflect_ivr::PathStep::SKIPPED)
        .collect();
    assert_eq!(markers.len(), 1, "{steps:?}");
    // 30 failed rounds (60 visits) and start, gather, confirm, deflect: 64, 49 kept.
    assert_eq!(markers[0].exit.as_deref(), Some("15 steps"));
    assert_eq!(steps[0].label(), "start");
    assert_eq!(steps[1].label(), "gather (failed)");
    let last: Vec<String> = steps[steps.len() - 4..].iter().map(|s| s.label()).collect();
    assert_eq!(last, ["start", "gather", "confirm (confirmed)", "deflect"]);
}
