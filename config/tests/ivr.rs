//! `[ivr]` flows are checked at load time: every mistake with its key path and what is valid.

#![allow(clippy::unwrap_used)]

use deflect_config::{ConfigError, GatherInput, StepConfig, load};
use std::io::Write;

fn load_text(text: &str) -> Result<deflect_config::Config, ConfigError> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    load(Some(f.path()), Vec::<(String, String)>::new())
}

fn problems(text: &str) -> Vec<String> {
    load_text(text)
        .unwrap_err()
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect()
}

fn has(problems: &[String], path: &str, words: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("{path}:")) && p.contains(words)),
        "no problem at {path} mentioning {words:?} in {problems:#?}"
    );
}

#[test]
fn a_flow_of_steps_loads() {
    let c = load_text(
        r#"
[[ivr.flows]]
name = "support"
numbers = ["1000"]
language = "ko"
country = "KR"
[ivr.flows.hours]
time_zone = "Asia/Seoul"
weekly = ["mon-fri 09:00-18:00"]
holidays = ["2026-12-25"]
[[ivr.flows.steps]]
step = "branch"
closed = "bye"
[[ivr.flows.steps]]
step = "gather"
input = "speech"
min_digits = 10
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "deflect"
[[ivr.flows.steps]]
step = "hangup"
id = "bye"
prompts = ["closed"]
"#,
    )
    .unwrap();
    let f = &c.ivr.flows[0];
    assert_eq!(f.steps.len(), 5);
    match &f.steps[1] {
        StepConfig::Gather(g) => {
            assert_eq!(g.input, GatherInput::Speech);
            assert_eq!(g.min_digits, 10);
            assert_eq!(g.max_digits, 20);
            assert_eq!(g.finish_on_key, "#");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn step_mistakes_are_reported_with_their_paths() {
    let p = problems(
        r#"
[[ivr.flows]]
name = "bad"
numbers = ["1"]
language = "english"
[[ivr.flows.steps]]
step = "confirm"
[[ivr.flows.steps]]
step = "gather"
min_digits = 12
max_digits = 8
finish_on_key = "12"
timeout = "10m"
attempts = 0
on_failure = "nowhere"
prompts = ["enter_number", "no such prompt"]
[[ivr.flows.steps]]
step = "branch"
open = "x"
[[ivr.flows.steps]]
step = "play"
prompts = ["custom_greeting"]
"#,
    );
    has(&p, "ivr.flows[0].language", "not a language code");
    has(
        &p,
        "ivr.flows[0].steps[0].step",
        "needs a gather step before it",
    );
    has(
        &p,
        "ivr.flows[0].steps[1].min_digits",
        "more than max_digits",
    );
    has(&p, "ivr.flows[0].steps[1].finish_on_key", "not a key");
    has(&p, "ivr.flows[0].steps[1].timeout", "500ms–2m");
    has(&p, "ivr.flows[0].steps[1].attempts", "1–10");
    has(
        &p,
        "ivr.flows[0].steps[1].on_failure",
        "no step (by id) is named \"nowhere\"",
    );
    has(&p, "ivr.flows[0].steps[1].prompts[1]", "not a prompt name");
    has(&p, "ivr.flows[0].steps[2].step", "needs opening hours");
    has(
        &p,
        "ivr.flows[0].steps[3].prompts[0]",
        "not built in (valid: welcome",
    );
}

#[test]
fn unknown_step_kinds_and_keys_are_named() {
    let p = problems(
        r#"
[[ivr.flows]]
name = "bad"
[[ivr.flows.steps]]
step = "dance"
"#,
    );
    has(
        &p,
        "ivr.flows[0].steps[0].step",
        "unknown value `dance`; valid: `play`, `gather`",
    );
    let p = problems(
        r#"
[[ivr.flows]]
name = "bad"
[[ivr.flows.steps]]
step = "gather"
max_digit = 5
"#,
    );
    has(
        &p,
        "ivr.flows[0].steps[0].max_digit",
        "unknown key `max_digit`; valid: `id`, `input`",
    );
}

#[test]
fn hours_speech_and_flow_routing_mistakes_are_named() {
    let p = problems(
        r#"
[ivr.speech]
min_confidence = 1.5
[ivr.speech.digit_words.nl]
een = "one"

[[ivr.flows]]
name = "a"
[ivr.flows.hours]
time_zone = "Europe/Amsterdm"
weekly = []
holidays = ["25-12-2026"]

[[ivr.flows]]
name = "b"
"#,
    );
    has(&p, "ivr.speech.min_confidence", "from 0 to 1");
    has(
        &p,
        "ivr.speech.digit_words.nl.een",
        "\"double\", \"triple\"",
    );
    has(&p, "ivr.flows[0].hours.time_zone", "IANA");
    has(&p, "ivr.flows[0].hours.weekly", "at least one interval");
    has(&p, "ivr.flows[0].hours.holidays[0]", "YYYY-MM-DD");
    has(&p, "ivr.flows[1].numbers", "already takes every number");

    let p = problems(
        r#"
[[ivr.flows]]
name = "a"
[ivr.flows.hours]
time_zone = "UTC"
weekly = ["weekdays 9-5"]
"#,
    );
    has(&p, "ivr.flows[0].hours.weekly[0]", "unknown day");
}

#[test]
fn custom_prompts_must_exist_as_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("custom_greeting.wav"), b"RIFF").unwrap();
    let text = format!(
        r#"
[[ivr.flows]]
name = "a"
prompts_dir = "{}"
[[ivr.flows.steps]]
step = "play"
prompts = ["custom_greeting"]
"#,
        dir.path().display()
    );
    assert!(load_text(&text).is_ok());
    std::fs::remove_file(dir.path().join("custom_greeting.wav")).unwrap();
    let p = problems(&text);
    has(
        &p,
        "ivr.flows[0].steps[0].prompts[0]",
        "custom_greeting.wav",
    );
}

#[test]
fn bridge_mistakes_are_reported_with_their_paths() {
    let p = problems(
        r#"
[[ivr.flows]]
name = "queue"
[[ivr.flows.steps]]
step = "transfer"
mode = "bridge"
target = "tel:+31201234567"
hunt = ["sip:alice@10.0.0.5", "alice"]
ring_timeout = "2s"
hold_repeat = "10m"
leave_key = "11"
on_leave = "nowhere"
timeout = "2h"
trunk = "carrier-x"
[[ivr.flows.steps]]
step = "transfer"
target = "sip:queue@pbx.example.com"
hunt = ["sip:bob@10.0.0.6"]
strategy = "ringall"
on_leave = "x"
trunk = "loopback"
"#,
    );
    let at = "ivr.flows[0].steps[0]";
    has(
        &p,
        &format!("{at}.target"),
        "write a sip: or sips: URI deflect can call",
    );
    has(&p, &format!("{at}.hunt[1]"), "not a usable URI");
    has(
        &p,
        &format!("{at}.ring_timeout"),
        "2s is out of range; expected 5s–5m",
    );
    has(&p, &format!("{at}.hold_repeat"), "expected 5s–5m");
    has(&p, &format!("{at}.leave_key"), "not a key");
    has(
        &p,
        &format!("{at}.on_leave"),
        "no step (by id) is named \"nowhere\"",
    );
    has(
        &p,
        &format!("{at}.timeout"),
        "2h is out of range; expected 5s–1h",
    );
    has(&p, "ivr.flows[0].steps[1].hunt", "only a bridge has it");
    has(&p, "ivr.flows[0].steps[1].on_leave", "only a bridge has it");
    has(&p, "ivr.flows[0].steps[1].strategy", "only a bridge has it");
    has(&p, "ivr.flows[0].steps[1].trunk", "only a bridge has it");
    has(
        &p,
        &format!("{at}.trunk"),
        "no trunk is named \"carrier-x\"; valid: loopback",
    );
    let fine = load_text(
        r#"
[[ivr.flows]]
name = "queue"
[[ivr.flows.steps]]
step = "transfer"
mode = "bridge"
target = "sip:agents@10.0.0.5"
hunt = ["sips:bob@agents.example.com"]
strategy = "ringall"
timeout = "30m"
on_leave = "number"
[[ivr.flows.steps]]
step = "gather"
id = "number"
[[ivr.flows.steps]]
step = "deflect"
"#,
    );
    if let Err(e) = fine {
        panic!("a whole bridge step is refused: {:#?}", e.problems);
    }
}

#[test]
fn a_bridge_rings_the_inbox_queues_that_exist() {
    let flow = |targets: &str| {
        format!(
            r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "transfer"
mode = "bridge"
{targets}
"#
        )
    };
    let p = problems(&flow(
        r#"target = "inbox:sales"
hunt = ["inbox:", "sip:bob@10.0.0.6", "INBOX:default"]"#,
    ));
    let at = "ivr.flows[0].steps[0]";
    has(
        &p,
        &format!("{at}.target"),
        "no queue is named \"sales\"; valid: default",
    );
    has(
        &p,
        &format!("{at}.hunt[0]"),
        "or inbox:<queue> for the inbox's agents",
    );
    // The IVR reads the prefix as written: another spelling would be dialled as SIP.
    has(&p, &format!("{at}.hunt[2]"), "not a usable URI");
    let p = problems(
        r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "transfer"
target = "inbox:default"
"#,
    );
    has(&p, "ivr.flows[0].steps[0].target", "not a usable URI");
    if let Err(e) = load_text(&flow(
        r#"target = "inbox:default"
hunt = ["sip:bob@10.0.0.6"]"#,
    )) {
        panic!("an inbox target is refused: {:#?}", e.problems);
    }
}

#[test]
fn menu_and_transfer_mistakes_are_reported_with_their_paths() {
    let p = problems(
        r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "menu"
choices = { "0" = "agent", "12" = "agent", "5" = "nowhere" }
attempts = 11
[[ivr.flows.steps]]
step = "menu"
prompts = []
[[ivr.flows.steps]]
step = "transfer"
id = "agent"
mode = "bridge"
target = "agents at the pbx"
timeout = "1s"
on_failure = "gone"
[[ivr.flows.steps]]
step = "transfer"
target = "http://pbx.example.com"
[[ivr.flows.steps]]
step = "transfer"
mode = "hold"
[[ivr.flows.steps]]
step = "transfer"
id = "again"
target = "sip:agents@pbx.example.com"
on_failure = "again"
"#,
    );
    has(
        &p,
        "ivr.flows[0].steps[5].on_failure",
        "cannot try itself again",
    );
    has(&p, "ivr.flows[0].steps[0].choices.12", "not a key");
    has(
        &p,
        "ivr.flows[0].steps[0].choices.5",
        "no step (by id) is named \"nowhere\"",
    );
    has(&p, "ivr.flows[0].steps[0].attempts", "1–10");
    has(
        &p,
        "ivr.flows[0].steps[1].prompts",
        "name at least one prompt",
    );
    has(
        &p,
        "ivr.flows[0].steps[1].choices",
        "name at least one choice",
    );
    has(&p, "ivr.flows[0].steps[2].target", "spaces");
    has(&p, "ivr.flows[0].steps[2].timeout", "5s–1h");
    has(
        &p,
        "ivr.flows[0].steps[2].on_failure",
        "no step (by id) is named \"gone\"",
    );
    has(
        &p,
        "ivr.flows[0].steps[3].target",
        "not a usable URI; write a sip:, sips: or tel: URI",
    );
    has(
        &p,
        "ivr.flows[0].steps[4]",
        "unknown value `hold`; expected `refer` or `bridge`",
    );
}

#[test]
fn an_outbound_proxy_and_outbound_credentials_need_bridges_to_carry() {
    let trunk = r#"
[[sip.trunks]]
name = "carrier"
allow = ["192.0.2.1"]
outbound_proxy = "sip:proxy.carrier.example"
outbound_auth = { username = "3120", password = "hunter2" }
"#;
    let p = problems(trunk);
    has(
        &p,
        "sip.trunks[0].outbound_proxy",
        "only the trunk's REGISTERs and the bridges placed through it go through it",
    );
    has(
        &p,
        "sip.trunks[0].outbound_auth",
        "only calls placed through the trunk answer its challenges with it",
    );
    let empty = problems(
        &trunk
            .replace("\"3120\"", "\"\"")
            .replace("\"hunter2\"", "\"\""),
    );
    has(
        &empty,
        "sip.trunks[0].outbound_auth.username",
        "must not be empty",
    );
    has(
        &empty,
        "sip.trunks[0].outbound_auth.password",
        "must not be empty",
    );
    let bridged = format!(
        r#"{trunk}
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "transfer"
mode = "bridge"
target = "sip:agents@carrier.example"
trunk = "carrier"
"#
    );
    if let Err(e) = load_text(&bridged) {
        panic!("a bridge through the proxy is its use: {e}");
    }
}
