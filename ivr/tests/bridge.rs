//! Bridges (`mode = "bridge"`) against a fake call on a virtual clock: the hunt list is
//! called in turn with its ring time, round after round; the hold queue's prompts repeat,
//! with music between; an agent holding the caller plays the music; the leave key takes the caller out of the queue to a deflection; an answer bridges the
//! call until the target hangs up; the queue's timeout fails the transfer.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use deflect_ivr::{HangupReason, TransferResult};
use std::time::Duration;

const QUEUE: &str = "sip:queue@10.0.0.5";
const ALICE: &str = "sip:alice@10.0.0.6";

fn flow(bridge_extra: &str) -> String {
    format!(
        r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "transfer"
id = "agent"
mode = "bridge"
target = "{QUEUE}"
hunt = ["{ALICE}"]
ring_timeout = "15s"
hold_repeat = "20s"
timeout = "5m"
{bridge_extra}
[[ivr.flows.steps]]
step = "gather"
id = "number"
offer_caller_number = true
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
"#
    )
}

/// What the engine asked of the bridge's calls, with the time since the start: a target
/// called, or `cancel <leg>`.
fn dials(c: &FakeCall) -> Vec<(Duration, String)> {
    c.seen
        .iter()
        .filter_map(|(at, s)| match s {
            Seen::Dial(_, t) => Some((*at, t.clone())),
            Seen::CancelDial(leg) => Some((*at, format!("cancel {leg}"))),
            _ => None,
        })
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn the_hunt_list_rings_in_turn_round_after_round_while_the_queue_offer_repeats() {
    let f = flows(&flow(r#"on_leave = "number""#), false);
    let mut c = FakeCall::new(&f, start(Some("+31612345678"), "+31201234567"));
    assert_eq!(c.last_play(), names(&["transferring"]));
    assert!(dials(&c).is_empty(), "the transfer's prompt plays first");
    c.prompt_length = secs(4);
    c.play_out();
    let t0 = c.at();
    // The queue starts: its offer plays (on_leave is set) and the first target rings.
    assert_eq!(c.last_play(), names(&["queue_offer"]));
    assert_eq!(dials(&c), [(t0, QUEUE.to_string())]);
    c.play_out();
    assert_eq!(
        c.last_play(),
        names(&["hold_music"]),
        "music after the offer"
    );
    // 15 s of ringing: cancelled, the next target rings.
    c.advance(secs(11));
    assert_eq!(
        dials(&c)[1..],
        [
            (t0 + secs(15), "cancel 0".into()),
            (t0 + secs(15), ALICE.into())
        ]
    );
    // 20 s after the first round of hold prompts, the next: the music stops for it.
    assert_eq!(c.plays().len(), 3);
    c.advance(secs(5));
    assert_eq!(c.plays().len(), 4);
    assert_eq!(c.last_play(), names(&["queue_offer"]));
    assert!(matches!(c.seen[c.seen.len() - 2].1, Seen::Stop));
    // Alice is busy at once: the list starts again after a pause, not in a tight loop.
    c.dial_result(1, TransferResult::Failed(486));
    let failed_at = c.at();
    c.advance(deflect_ivr::call::HUNT_PAUSE - Duration::from_millis(1));
    assert_eq!(dials(&c).len(), 3, "no call during the pause");
    c.advance(Duration::from_millis(1));
    assert_eq!(
        dials(&c).last(),
        Some(&(failed_at + deflect_ivr::call::HUNT_PAUSE, QUEUE.into()))
    );
    assert_eq!(c.hangup(), None);
}

#[test]
fn an_answer_bridges_the_call_until_the_target_hangs_up() {
    let f = flows(&flow(r#"on_leave = "number""#), false);
    let mut c = FakeCall::new(&f, start(Some("+31612345678"), "+31201234567"));
    c.play_out();
    c.dial_result(0, TransferResult::Answered);
    assert!(c.call.is_bridged());
    assert!(
        c.seen.iter().any(|(_, s)| matches!(s, Seen::Stop)),
        "hold prompts stop"
    );
    assert_eq!(c.call.poll_timeout(), None, "no timer runs while bridged");
    // The caller's keys are the target's now: the leave key does nothing.
    let before = c.seen.len();
    c.keys("1");
    assert_eq!(c.seen.len(), before);
    c.advance(secs(3600));
    assert_eq!(c.hangup(), None, "a conversation has no IVR time limit");
    c.bridge_ends();
    assert_eq!(c.hangup(), Some(HangupReason::Transferred));
    assert_eq!(c.call.transfer_target(), Some(QUEUE));
    assert_eq!(c.path(), ["agent (bridged)"]);
    assert!(c.deflections().is_empty());
}

#[test]
fn the_leave_key_cancels_the_ringing_call_and_takes_the_caller_to_the_deflection() {
    let f = flows(&flow(r#"on_leave = "number""#), false);
    let mut c = FakeCall::new(&f, start(Some("+31612345678"), "+31201234567"));
    c.play_out();
    c.advance(secs(10));
    let before = dials(&c).len();
    c.keys("7");
    assert_eq!(dials(&c).len(), before, "another key does nothing");
    c.keys("1");
    assert!(dials(&c).last().unwrap().1.starts_with("cancel"));
    assert_eq!(c.last_play(), names(&["offer_caller_number"]));
    c.keys("1");
    c.play_out();
    c.keys("1");
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::Deflected));
    assert_eq!(c.deflections()[0].call.callback_number, "+31612345678");
    assert_eq!(c.path()[0], "agent (left queue)");
    // A late answer of the cancelled call changes nothing.
    c.dial_result(0, TransferResult::Answered);
    c.dial_result(1, TransferResult::Answered);
    assert!(!c.call.is_bridged());
}

#[test]
fn without_on_leave_the_queue_plays_music_only_and_the_key_does_nothing() {
    let f = flows(&flow(""), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    assert_eq!(
        c.plays()[1..],
        [names(&["hold_music"])],
        "no hold prompts by default without on_leave: music from the start"
    );
    c.keys("1");
    assert_eq!(dials(&c), [(c.at(), QUEUE.to_string())]);
    // The music loops until the queue ends.
    c.play_out();
    assert_eq!(c.plays().len(), 3);
    c.dial_result(0, TransferResult::Answered);
    assert!(c.playing.is_none(), "the music stops for the answer");
}

#[test]
fn music_that_ends_at_once_is_not_started_again() {
    let f = flows(&flow(""), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    c.prompt_length = Duration::from_millis(500);
    c.play_out();
    assert_eq!(c.plays().len(), 2, "an empty file would spin");
    assert!(c.playing.is_none());
}

#[test]
fn a_queue_without_music_is_quiet_between_its_rounds() {
    let f = flows(&flow("on_leave = \"number\"\nhold_music = []"), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    assert_eq!(c.last_play(), names(&["queue_offer"]));
    c.play_out();
    assert_eq!(c.plays().len(), 2);
    c.advance(secs(18));
    assert_eq!(c.plays().len(), 3, "the next round");
}

#[test]
fn the_agent_holding_the_caller_plays_the_music_until_they_take_them_back() {
    let f = flows(&flow(r#"on_leave = "number""#), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    c.hold(true);
    assert!(!c.call.is_held(), "only a bridged call is held");
    c.dial_result(0, TransferResult::Answered);
    let plays = c.plays().len();
    c.hold(true);
    assert!(c.call.is_held());
    assert_eq!(c.plays().len(), plays + 1);
    assert_eq!(c.last_play(), names(&["hold_music"]));
    c.hold(true);
    assert_eq!(c.plays().len(), plays + 1, "held already");
    c.play_out();
    assert_eq!(c.plays().len(), plays + 2, "the music loops");
    // Keys still pass to the agent; the IVR takes none.
    c.keys("1");
    assert!(c.call.is_bridged());
    c.hold(false);
    assert!(!c.call.is_held());
    assert!(matches!(c.seen.last().unwrap().1, Seen::Stop));
    assert!(c.playing.is_none());
    assert_eq!(c.call.poll_timeout(), None, "no timer runs while bridged");
    c.hold(true);
    c.bridge_ends();
    assert_eq!(c.hangup(), Some(HangupReason::Transferred));
}

#[test]
fn without_music_a_held_caller_hears_nothing() {
    let f = flows(&flow("hold_music = []"), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    c.dial_result(0, TransferResult::Answered);
    let plays = c.plays().len();
    c.hold(true);
    assert!(c.call.is_held());
    assert_eq!(c.plays().len(), plays);
    c.hold(false);
    assert!(!c.call.is_held());
}

#[test]
fn ringall_rings_every_target_and_the_first_answer_stops_the_others() {
    let f = flows(&flow(r#"strategy = "ringall""#), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    let t0 = c.at();
    assert_eq!(dials(&c), [(t0, QUEUE.into()), (t0, ALICE.into())]);
    // The queue is busy; Alice still rings.
    c.dial_result(0, TransferResult::Failed(486));
    assert_eq!(dials(&c).len(), 2);
    c.advance(secs(1));
    c.dial_result(1, TransferResult::Answered);
    assert!(c.call.is_bridged());
    assert_eq!(c.call.transfer_target(), Some(ALICE));
    assert_eq!(dials(&c).len(), 2, "nothing else rings to cancel");
}

#[test]
fn ringall_rounds_ring_out_together_and_start_again() {
    let f = flows(&flow(r#"strategy = "ringall""#), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    let t0 = c.at();
    c.advance(secs(15));
    let mut round: Vec<String> = dials(&c)[2..].iter().map(|(_, d)| d.clone()).collect();
    round.sort();
    assert_eq!(
        round,
        ["cancel 0", "cancel 1"],
        "both stop ringing at ring_timeout"
    );
    c.advance(deflect_ivr::call::HUNT_PAUSE);
    assert_eq!(
        dials(&c)[4..],
        [
            (t0 + secs(15) + deflect_ivr::call::HUNT_PAUSE, QUEUE.into()),
            (t0 + secs(15) + deflect_ivr::call::HUNT_PAUSE, ALICE.into())
        ]
    );
    // A first answer cancels the other call still ringing.
    c.dial_result(0, TransferResult::Answered);
    assert_eq!(dials(&c).last().unwrap().1, "cancel 1");
    assert_eq!(c.call.transfer_target(), Some(QUEUE));
}

#[test]
fn nobody_answering_within_the_queue_timeout_fails_the_transfer() {
    let f = flows(&flow(r#"hold_prompts = ["queue_offer"]"#), false);
    let mut c = FakeCall::new(&f, start(None, "+31201234567"));
    c.play_out();
    let t0 = c.at();
    c.advance(secs(299));
    assert_eq!(c.hangup(), None);
    c.advance(secs(1));
    // Rounds of 15 + 15 s of ringing and a 5 s pause: Alice rings since 295 s.
    assert_eq!(dials(&c).last(), Some(&(t0 + secs(300), "cancel 1".into())));
    assert_eq!(c.last_play(), names(&["transfer_failed", "goodbye"]));
    c.play_out();
    assert_eq!(c.hangup(), Some(HangupReason::FlowEnded));
    assert_eq!(c.path()[0], "agent (failed 408)");
    assert_eq!(
        c.call.transfer_target(),
        Some(QUEUE),
        "the first target, though none answered"
    );
}

/// The queue's prompts and its music are made ready at start-up with the flow's other
/// prompts (a bridge's `hold_prompts` used to be left out, and its queue played nothing),
/// and the music, one for every language, is no reason to warn of English prompts.
#[cfg(feature = "runtime")]
#[test]
fn the_queues_prompts_and_music_are_ready_to_play() {
    use deflect_ivr::flow::Prompt;
    use deflect_ivr::runtime::FlowPrompts;
    use deflect_media::playback::{PlayItem, PromptLibrary};
    let f = flows(
        &flow(r#"hold_prompts = ["menu_options"]"#)
            .replace("name = \"agents\"", "name = \"agents\"\nlanguage = \"nl\""),
        false,
    );
    let prompts = FlowPrompts::load(&f, &PromptLibrary::builtin()).unwrap();
    let wanted = [Prompt::new("menu_options"), Prompt::new("hold_music")];
    let items = prompts.items(f.route("+31201234567"), &wanted);
    let played: Vec<&str> = (items.iter())
        .filter_map(|i| match i {
            PlayItem::Prompt(p) => Some(p.name.as_str()),
            PlayItem::Silence(_) => None,
        })
        .collect();
    assert_eq!(played, ["nl/menu_options", "en/hold_music"]);
    assert!(
        prompts.in_english().is_empty(),
        "{:?}",
        prompts.in_english()
    );
}
