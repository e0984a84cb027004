//! Bridged transfers through the whole binary (`mode = "bridge"`): deflect calls a baresip
//! agent itself and relays the audio between the caller (another baresip) and the agent —
//! each hears the other's tone — until the agent hangs up and the caller gets the BYE (or
//! the caller hangs up and the agent gets it); `ringall` ringing two agents until one
//! answers; and a caller waiting in the hold queue while the agent rings presses 1, the agent's call is
//! cancelled and the caller is deflected to WhatsApp; hold passed through a bridge both ways
//! (sipp as caller and agent), also when the caller held while the agent rang; a bridge through a trunk failing over from a server answering
//! 503 to the next, which asks for digest credentials.

#![allow(clippy::unwrap_used)]

mod common;

use common::baresip::{self, Baresip};
use common::sipp::{Caller, Sipp, free_port};
use common::{Gateway, message};
use std::time::Duration;

/// A flow that goes straight to a bridge to `agent` (baresip's account), with `extra` keys,
/// and the deflection behind its leave key.
fn flow(agent: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
[[ivr.flows]]
name = "queue"
[[ivr.flows.steps]]
step = "transfer"
mode = "bridge"
target = "sip:31612345678@{agent}"
prompts = []
{extra}
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

fn gateway(config: &str) -> Gateway {
    Gateway::builder()
        .config(config)
        .log("info,deflect_ivr=debug")
        .start()
}

/// Caller and agent hear each other's tones (1000 Hz from the caller, 600 Hz from the
/// agent) through the bridge; the agent hangs up, the caller gets the BYE, and the call is
/// recorded as transferred to the agent.
#[test]
fn a_bridged_call_carries_audio_both_ways_until_the_agent_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent =
        Baresip::start_with(&baresip::tone(dir.path(), 600, 120), "", ";answermode=auto");
    let gw = gateway(&flow(agent.sip, ""));
    let mut caller = Baresip::start(&baresip::tone(dir.path(), 1000, 120));
    caller.dial(gw.listener("sip", Some("udp")), "31201234567");
    agent.wait_for("CALL_ESTABLISHED");
    gw.logs.wait_for("bridged", |l| message(l, "call bridged"));
    // The conversation: two seconds of each side's tone.
    std::thread::sleep(Duration::from_secs(2));
    agent.command("hangup", "");
    agent.wait_for("CALL_CLOSED");
    let bye = caller.wait_for("CALL_CLOSED");
    // baresip's words for a BYE from the far end.
    assert_eq!(bye["param"], "Connection reset by peer", "{bye}");
    let finished = gw
        .logs
        .wait_for("call finished", |l| message(l, "call finished"));
    assert_eq!(finished["outcome"], "transferred", "{finished}");
    let heard_by_agent = baresip::frames_of_tone(&agent.heard(), 1000);
    let heard_by_caller = baresip::frames_of_tone(&caller.heard(), 600);
    // Two seconds are 100 frames; allow for the set-up and the jitter buffer.
    assert!(
        heard_by_agent >= 50,
        "the agent heard {heard_by_agent} frames of the caller"
    );
    assert!(
        heard_by_caller >= 50,
        "the caller heard {heard_by_caller} frames of the agent"
    );
    // Neither heard its own tone back.
    assert!(baresip::frames_of_tone(&agent.heard(), 600) < 5);
    assert!(baresip::frames_of_tone(&caller.heard(), 1000) < 5);
}

/// The caller hanging up ends the agent's call too, and the call still counts as
/// transferred.
#[test]
fn a_caller_hanging_up_a_bridged_call_ends_the_agents_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Baresip::start_with(&baresip::silence(dir.path(), 120), "", ";answermode=auto");
    let gw = gateway(&flow(agent.sip, ""));
    let mut caller = Baresip::start(&baresip::silence(dir.path(), 120));
    caller.dial(gw.listener("sip", Some("udp")), "31201234567");
    agent.wait_for("CALL_ESTABLISHED");
    gw.logs.wait_for("bridged", |l| message(l, "call bridged"));
    caller.command("hangup", "");
    let bye = agent.wait_for("CALL_CLOSED");
    assert_eq!(bye["param"], "Connection reset by peer", "{bye}");
    let finished = gw
        .logs
        .wait_for("call finished", |l| message(l, "call finished"));
    assert_eq!(finished["outcome"], "transferred", "{finished}");
}

/// `ringall`: both agents ring; the second answers and takes the call, the first stops
/// ringing (CANCEL).
#[test]
fn ringall_rings_both_agents_and_the_first_to_answer_takes_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Baresip::start(&baresip::silence(dir.path(), 120));
    let mut second = Baresip::start(&baresip::silence(dir.path(), 120));
    let gw = gateway(&flow(
        first.sip,
        &format!(
            "hunt = [\"sip:31612345678@{}\"]\nstrategy = \"ringall\"",
            second.sip
        ),
    ));
    let mut caller = Baresip::start(&baresip::silence(dir.path(), 120));
    caller.dial(gw.listener("sip", Some("udp")), "31201234567");
    first.wait_for("CALL_INCOMING");
    second.wait_for("CALL_INCOMING");
    second.command("accept", "");
    second.wait_for("CALL_ESTABLISHED");
    first.wait_for("CALL_CLOSED");
    let bridged = gw.logs.wait_for("bridged", |l| message(l, "call bridged"));
    assert!(
        bridged["to"]
            .as_str()
            .unwrap_or_default()
            .contains(&second.sip.to_string()),
        "{bridged}"
    );
    caller.command("hangup", "");
    second.wait_for("CALL_CLOSED");
}

/// While the agent rings, the caller hears the queue's offer and presses 1: the ringing
/// call is cancelled and the caller, taking their own number, is deflected.
#[test]
fn a_caller_leaving_the_hold_queue_is_deflected_and_the_ringing_agent_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Baresip::start(&baresip::silence(dir.path(), 120));
    let gw = gateway(&flow(agent.sip, r#"on_leave = "number""#));
    let mut caller = Baresip::start(&baresip::silence(dir.path(), 120));
    caller.dial(gw.listener("sip", Some("udp")), "31201234567");
    agent.wait_for("CALL_INCOMING");
    caller.command("sndcode", "1");
    agent.wait_for("CALL_CLOSED");
    // Own number (1), confirmed (1).
    caller.command("sndcode", "11");
    caller.wait_for("CALL_CLOSED");
    let deflection = gw.logs.wait_for("deflection", |l| message(l, "deflection"));
    assert_eq!(deflection["callback_number"], "+31612345678");
    let finished = gw
        .logs
        .wait_for("call finished", |l| message(l, "call finished"));
    assert_eq!(finished["outcome"], "deflected", "{finished}");
}

/// Hold passes through the bridge both ways: the agent's re-INVITE with `a=sendonly` is
/// answered `recvonly` and reaches the caller as deflect's own re-INVITE with `a=sendonly`
/// (then `a=sendrecv` when the agent takes the call back); the caller's hold reaches the
/// agent the same way, and its BYE ends the agent's call. Each sipp checks what it receives.
#[test]
fn hold_passes_through_a_bridge_both_ways() {
    bridge_sipp("hold_caller.xml", "hold_agent.xml");
}

/// A caller who holds while the agent still rings: once the agent answers, deflect passes
/// the hold on (the agent's scenario expects a re-INVITE with `a=sendonly`).
#[test]
fn a_hold_from_before_the_answer_is_passed_to_the_agent() {
    bridge_sipp("hold_early_caller.xml", "hold_early_agent.xml");
}

/// A sipp `caller` bridged to a sipp `agent`, each checking what it receives; the call ends
/// transferred.
fn bridge_sipp(caller: &str, agent: &str) {
    let agent_port = free_port();
    let agent_addr: std::net::SocketAddr = format!("127.0.0.1:{agent_port}").parse().unwrap();
    let gw = gateway(&flow(agent_addr, ""));
    let sip = gw.listener("sip", Some("udp"));
    let agent = Sipp::new(agent, &[]).port(agent_port).spawn(sip);
    Sipp::new(caller, &[]).run(sip);
    agent.wait();
    let finished = gw
        .logs
        .wait_for("call finished", |l| message(l, "call finished"));
    assert_eq!(finished["outcome"], "transferred", "{finished}");
}

/// Through a trunk: the bridge's INVITE goes to the trunk's first server, which answers 503,
/// then to the next, which challenges it (401) and takes it again with the trunk's outbound
/// credentials (a carrier that takes no registration); the agent answers and hangs up, and
/// the caller gets the BYE.
#[test]
fn a_bridge_through_a_trunk_fails_over_and_answers_its_challenge() {
    let (down, up) = (free_port(), free_port());
    let gw = gateway(&format!(
        r#"
[[sip.trunks]]
name = "callers"
allow = ["127.0.0.0/8"]
[[sip.trunks]]
name = "carrier"
allow = ["192.0.2.1"]
addresses = ["sip:127.0.0.1:{down}", "sip:127.0.0.1:{up}"]
options_interval = "0s"
[sip.trunks.outbound_auth]
username = "3120"
password = "hunter2"
{}"#,
        flow("127.0.0.1:9".parse().unwrap(), "trunk = \"carrier\"",)
            .replace("sip:31612345678@127.0.0.1:9", "sip:agents@carrier.invalid"),
    ));
    let sip = gw.listener("sip", Some("udp"));
    let refusing = Sipp::new("refusing_server.xml", &[]).port(down).spawn(sip);
    let agent = Sipp::new("challenging_agent.xml", &[]).port(up).spawn(sip);
    let caller = Caller::pcmu(101).await_bye("Q.850;cause=16").spawn(sip);
    gw.logs.wait_for("bridged", |l| message(l, "call bridged"));
    caller.wait();
    refusing.wait();
    agent.wait();
    let finished = gw
        .logs
        .wait_for("call finished", |l| message(l, "call finished"));
    assert_eq!(finished["outcome"], "transferred", "{finished}");
}
