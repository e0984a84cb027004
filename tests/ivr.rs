//! The IVR on real calls, through the whole binary: the default flow entered with RFC 2833
//! digits by sipp, the caller's own number chosen with 1 (From, and P-Asserted-Identity
//! first), a wrong number refused and entered again, a caller hanging up mid-flow, baresip
//! typing with `sndcode`, the `deflect call` dialler, spoken Korean digits, and a menu's
//! "press 0" transferring the call by REFER to sipp playing the PBX.
//!
//! Each test asserts the exact outcome from the gateway's log lines: `deflection` (call id,
//! callback number in E.164, input method) when the deflection is handed to the inbox, and
//! `call finished` with the call's outcome.

#![allow(clippy::unwrap_used)]

mod common;

use common::baresip::{self, Baresip};
use common::dialler::Dialler;
use common::sipp::Caller;
use common::{Gateway, message};
use serde_json::Value;
use std::path::Path;

fn gateway(config: &str) -> Gateway {
    Gateway::builder()
        .config(config)
        .log("info,deflect_ivr=debug")
        .start()
}

/// The deflections the gateway handed off, after the call finished.
fn deflections(gw: &Gateway) -> Vec<Value> {
    gw.logs
        .wait_for("call finished", |l| message(l, "call finished"));
    gw.logs
        .json()
        .into_iter()
        .filter(|l| message(l, "deflection"))
        .collect()
}

/// The one deflection of the call: its callback number and input method.
fn deflected_to(gw: &Gateway) -> (String, String) {
    let d = deflections(gw);
    assert_eq!(d.len(), 1, "{d:?}");
    (
        d[0]["callback_number"].as_str().unwrap().to_owned(),
        d[0]["input_method"].as_str().unwrap().to_owned(),
    )
}

fn finished_with(gw: &Gateway) -> String {
    let l = gw
        .logs
        .wait_for("call finished", |l| message(l, "call finished"));
    l["outcome"].as_str().unwrap().to_owned()
}

const DEFLECTED: &str = "Q.850;cause=16;text=.deflected.";

#[test]
fn a_number_entered_with_rfc2833_digits_is_deflected_to_in_e164() {
    let gw = gateway("");
    // Typed at once, over the greeting: digits are kept (type-ahead), # ends the number,
    // 1 confirms it after the read-back.
    Caller::pcmu(96)
        .play_dtmf("0623456789#1")
        .await_bye(DEFLECTED)
        .run(gw.listener("sip", Some("udp")));
    assert_eq!(
        deflected_to(&gw),
        ("+31623456789".to_owned(), "dtmf".to_owned())
    );
    assert_eq!(finished_with(&gw), "deflected");
    // Counted once, as one series.
    let (_, metrics) = common::get(gw.http_addr(), "/metrics");
    let series: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("deflect_deflections_total"))
        .collect();
    assert_eq!(
        series,
        ["deflect_deflections_total{account=\"sandbox\",input_method=\"dtmf\"} 1"]
    );
}

#[test]
fn pressing_1_takes_the_calling_number_from_p_asserted_identity_else_from() {
    let gw = gateway("");
    let sip = gw.listener("sip", Some("udp"));
    Caller::pcmu(96)
        .from("+31612345678")
        .play_dtmf("11")
        .await_bye(DEFLECTED)
        .run(sip);
    assert_eq!(
        deflected_to(&gw),
        ("+31612345678".to_owned(), "caller_number".to_owned())
    );

    let gw = gateway("");
    let sip = gw.listener("sip", Some("udp"));
    Caller::pcmu(96)
        .from("+31612345678")
        .header("P-Asserted-Identity: <sip:+31687654321@carrier.example>")
        .play_dtmf("11")
        .await_bye(DEFLECTED)
        .run(sip);
    assert_eq!(
        deflected_to(&gw),
        ("+31687654321".to_owned(), "caller_number".to_owned())
    );
}

#[test]
fn a_landline_is_refused_and_the_number_entered_again() {
    let gw = gateway("");
    Caller::pcmu(96)
        .from("anonymous")
        .play_dtmf("0201234567#0623456789#1")
        .await_bye(DEFLECTED)
        .run(gw.listener("sip", Some("udp")));
    let refused = gw
        .logs
        .wait_for("refusal", |l| message(l, "callback number rejected"));
    assert_eq!(refused["reason"], "not_mobile");
    assert_eq!(
        deflected_to(&gw),
        ("+31623456789".to_owned(), "dtmf".to_owned())
    );
}

#[test]
fn a_caller_hanging_up_mid_flow_leaves_no_deflection() {
    let gw = gateway("");
    Caller::pcmu(96)
        .play_dtmf("06234")
        .hang_up()
        .run(gw.listener("sip", Some("udp")));
    assert_eq!(finished_with(&gw), "caller_hung_up");
    assert!(deflections(&gw).is_empty());
    let (_, metrics) = common::get(gw.http_addr(), "/metrics");
    assert!(
        metrics.contains("deflect_calls_total{outcome=\"caller_hung_up\"} 1"),
        "{metrics}"
    );
    assert!(!metrics.contains("deflect_deflections_total"), "{metrics}");
}

#[test]
fn baresip_types_the_number_with_sndcode_and_hears_the_bye() {
    let gw = gateway("");
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Baresip::start(&baresip::silence(dir.path(), 120));
    phone.dial(gw.listener("sip", Some("udp")), "31201234567");
    phone.command("sndcode", "0623456789#1");
    phone.wait_for("CALL_CLOSED");
    assert_eq!(
        deflected_to(&gw),
        ("+31623456789".to_owned(), "dtmf".to_owned())
    );
}

#[test]
fn the_dialler_enters_a_number_and_reports_the_far_ends_bye() {
    let gw = gateway("");
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    assert!(
        out.contains("answered: Pcmu, telephone-event pt 101"),
        "{out}"
    );
    assert!(out.contains("digits sent: 0623456789#1"), "{out}");
    assert!(
        out.contains(r#"far end hung up (BYE, Reason: Q.850;cause=16;text="deflected")"#),
        "{out}"
    );
    assert_eq!(
        deflected_to(&gw),
        ("+31623456789".to_owned(), "dtmf".to_owned())
    );
}

#[test]
fn the_dialler_over_tcp() {
    let gw = gateway("");
    let call = Dialler::call(
        gw.listener("sip", Some("tcp")),
        "31201234567",
        &[
            "--transport",
            "tcp",
            "--dtmf",
            "11",
            "--from",
            "31612345678",
        ],
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    assert_eq!(
        deflected_to(&gw),
        ("+31612345678".to_owned(), "caller_number".to_owned())
    );
}

/// The Korean words for the digits 0–9, as the flow's grammar knows them.
const KOREAN: [&str; 10] = ["영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"];

/// A WAV of `number` spoken by espeak-ng in Korean, at telephone quality (8 kHz, 16 bits),
/// with silence around it.
fn spoken_korean(dir: &std::path::Path, number: &str) -> std::path::PathBuf {
    let words: Vec<&str> = number
        .chars()
        .map(|d| KOREAN[d.to_digit(10).unwrap() as usize])
        .collect();
    let raw = dir.join("espeak.wav");
    let wav = dir.join("spoken.wav");
    let run = |cmd: &mut std::process::Command| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}; scripts/test installs espeak-ng and sox"));
        assert!(out.status.success(), "{cmd:?}: {out:?}");
    };
    run(std::process::Command::new("espeak-ng")
        .args(["-v", "ko", "-s", "140", "-w"])
        .arg(&raw)
        .arg(words.join(" ")));
    run(std::process::Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"])
        .arg(&wav)
        .args(["pad", "0.2", "1.5"]));
    wav
}

#[test]
fn spoken_korean_digits_are_recognised_and_the_flow_completes() {
    let gw = gateway(
        r##"
[[ivr.flows]]
name = "seoul"
language = "ko"
country = "KR"
[[ivr.flows.steps]]
step = "gather"
input = "both"
prompts = ["enter_number"]
attempts = 4
[[ivr.flows.steps]]
step = "confirm"
confirm_key = "#"
[[ivr.flows.steps]]
step = "deflect"
"##,
    );
    gw.logs.wait_for("the Korean model", |l| {
        message(l, "speech model loaded") && l["language"] == "ko"
    });
    let dir = tempfile::tempdir().unwrap();
    let said = "01012345678";
    let wav = spoken_korean(dir.path(), said);
    // The spoken number first; then, once the next prompt has played, keys that complete
    // the flow either way (confirm_key is #): after a read-back of what was heard, # confirms
    // it; after "not a valid number" (espeak-ng's Korean voice is poor), # alone is refused
    // too, then the number is typed and # confirms its read-back.
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "1234",
        &[
            "--wav",
            wav.to_str().unwrap(),
            "--dtmf",
            &format!("#{said}##"),
            "--from",
            "anonymous",
        ],
    );
    // Silence before the number (the prompt playing) may end in an empty result first.
    let heard = gw.logs.wait_for("the recogniser's result", |l| {
        message(l, "speech heard") && l["text"].as_str().is_some_and(|t| !t.is_empty())
    });
    let text = heard["text"].as_str().unwrap();
    let digits: String = text
        .split_whitespace()
        .map(|w| {
            let d = KOREAN
                .iter()
                .position(|k| *k == w)
                .unwrap_or_else(|| panic!("{w:?} is not a Korean digit word: {text:?}"));
            char::from(b'0' + d as u8)
        })
        .collect();
    assert!(!digits.is_empty(), "{text:?}");
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    let (number, method) = deflected_to(&gw);
    eprintln!("said {said}, heard {digits} ({text}); deflected to {number} by {method}");
    assert!(
        method == "speech" || (method == "dtmf" && number == "+821012345678"),
        "{method} {number}"
    );
}

#[test]
fn a_prompt_file_that_cannot_be_read_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    std::fs::write(prompts.join("welcome.wav"), b"not a WAV file").unwrap();
    let config = dir.path().join("deflect.toml");
    std::fs::write(
        &config,
        format!(
            "[[ivr.flows]]\nname = \"sales\"\nprompts_dir = \"{}\"\n",
            prompts.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let (code, _, err) = common::run_cli(
        &[
            "--log-format",
            "json",
            "run",
            "--config",
            config.to_str().unwrap(),
        ],
        &[
            ("DEFLECT_DATA_DIR", data.to_str().unwrap()),
            ("DEFLECT_HTTP__LISTEN", "127.0.0.1:0"),
            ("DEFLECT_SIP__LISTEN", r#"["udp:127.0.0.1:0"]"#),
        ],
    );
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("welcome.wav"), "{err}");
    assert!(!err.contains("listening"), "{err}");
    assert!(
        !data.exists(),
        "nothing is created before the prompts are read"
    );
}

/// A flow in a language without recordings of its own plays the English ones: the start
/// warns, naming the flow, its language and each prompt it plays in English (its steps'
/// and the read-back's) — not one recorded for that language, and no English flow.
#[test]
fn a_flow_whose_language_lacks_recordings_is_warned_of_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let italian = dir.path().join("it");
    std::fs::create_dir_all(&italian).unwrap();
    let english = Path::new(env!("CARGO_MANIFEST_DIR")).join("media/prompts/en/welcome.wav");
    std::fs::copy(english, italian.join("welcome.wav")).unwrap();
    let gw = gateway(&format!(
        r#"
[ivr]
prompts_dir = "{}"

[[ivr.flows]]
name = "rome"
numbers = ["3000"]
language = "it"
country = "IT"

[[ivr.flows.steps]]
step = "play"
prompts = ["welcome", "goodbye", "closed"]

[[ivr.flows.steps]]
step = "gather"
input = "speech"

[[ivr.flows.steps]]
step = "hangup"
"#,
        dir.path().display()
    ));
    // No Italian speech model either: its speech-only gather will take digits.
    let speech = gw.logs.wait_for("the speech warning", |l| {
        l["message"].as_str().is_some_and(|m| {
            m.starts_with("no Vosk model for flows whose gathers take speech only")
        })
    });
    assert_eq!(
        (speech["level"].as_str(), speech["flows"].as_str()),
        (Some("WARN"), Some("rome"))
    );
    let warned = |l: &Value| {
        message(
            l,
            "the flow's language has no recording of these prompts: they play in English (add <ivr.prompts_dir>/<language>/<prompt>.wav or the flow's prompts_dir)",
        )
    };
    let w = gw.logs.wait_for("the warning", warned);
    assert_eq!(
        (w["flow"].as_str(), w["language"].as_str()),
        (Some("rome"), Some("it"))
    );
    let prompts: Vec<&str> = w["prompts"].as_str().unwrap().split(", ").collect();
    for english in ["closed", "goodbye", "digit_0", "too_many_attempts"] {
        assert!(prompts.contains(&english), "{prompts:?}");
    }
    assert!(
        !prompts.contains(&"welcome"),
        "recorded in Italian: {prompts:?}"
    );
    gw.logs
        .wait_for("the flows", |l| message(l, "call flows ready"));
    let warnings = gw.logs.json().into_iter().filter(|l| warned(l)).count();
    assert_eq!(warnings, 1, "the English default flow is not named");
}

/// IPv6 end to end: SIP and RTP over `::1`; the answer's connection line is `IN IP6`, the
/// caller's RFC 4733 digits arrive over IPv6 and the call is deflected.
#[test]
fn a_call_over_ipv6_signalling_and_media_is_deflected() {
    let gw = Gateway::builder()
        .config("[media]\nrtp_address = \"::1\"\n")
        .env("DEFLECT_SIP__LISTEN", r#"["udp:[::1]:0"]"#)
        .log("info,deflect_ivr=debug")
        .start();
    let sip = gw.listener("sip", Some("udp"));
    assert!(sip.is_ipv6(), "{sip}");
    types_a_number_and_is_deflected(&gw, sip, "c=IN IP6 ::1");
}

const PCMU_AND_EVENTS: &str = "a=rtpmap:0 PCMU/8000\na=rtpmap:96 telephone-event/8000";

/// A caller whose answer's SDP matches `answer` types a number over RFC 4733 and is
/// deflected to it.
fn types_a_number_and_is_deflected(gw: &Gateway, sip: std::net::SocketAddr, answer: &str) {
    Caller::pcmu(96)
        .offer("0 96", PCMU_AND_EVENTS, answer)
        .play_dtmf("0623456789#1")
        .await_bye(DEFLECTED)
        .run(sip);
    assert_eq!(
        deflected_to(gw),
        ("+31623456789".to_owned(), "dtmf".to_owned())
    );
}

/// Behind NAT with an SBC beside it: with a public address, a caller in
/// `sip.local_networks` is given deflect's own addresses (its Contact reached, media at the
/// listen address: the call completes), any other the public one (`-rsa` makes that caller
/// send its requests to the gateway anyway).
#[test]
fn callers_in_the_local_networks_get_the_listen_address_and_others_the_public_one() {
    let gw = gateway(
        r#"
[sip]
public_address = "192.0.2.1"
local_networks = ["127.0.0.1/32"]

[media]
rtp_address = "0.0.0.0"
"#,
    );
    let sip = gw.listener("sip", Some("udp"));
    types_a_number_and_is_deflected(&gw, sip, "c=IN IP4 127\\.0\\.0\\.1[^0-9]");
    Caller::pcmu(96)
        .offer("0 96", PCMU_AND_EVENTS, "c=IN IP4 192\\.0\\.2\\.1[^0-9]")
        .hang_up()
        .local_ip("127.0.0.2")
        .args(&["-rsa", &sip.to_string()])
        .run(sip);
}

/// A flow in early media: a closed announcement plays on a 183 with SDP and the call is
/// refused with 480 after it, never answered; a flow that asks for a number is answered
/// (200 OK) once it listens, and completes as usual.
#[test]
fn early_media_plays_before_the_answer_and_answers_only_when_the_flow_listens() {
    let gw = gateway(
        r#"
[[ivr.flows]]
name = "closed"
numbers = ["2000"]
early_media = true
[[ivr.flows.steps]]
step = "play"
prompts = ["closed"]
[[ivr.flows.steps]]
step = "hangup"

[[ivr.flows]]
name = "open"
early_media = true
"#,
    );
    let sip = gw.listener("sip", Some("udp"));
    types_a_number_and_is_deflected(&gw, sip, "m=audio [0-9]+ RTP/AVP 0");
    gw.logs
        .wait_for("the answer", |l| message(l, "answering after early media"));
    let open = call_record(&gw, "deflected");
    assert!(open["answered_at"].as_i64().is_some(), "{open}");

    common::sipp::Sipp::new("early_refused.xml", &[])
        .args(&["-s", "2000"])
        .run(sip);
    let closed = call_record(&gw, "flow_ended");
    assert_eq!(closed["flow"], "closed");
    assert!(closed["answered_at"].is_null(), "never answered: {closed}");
    assert_eq!(closed["reason"], "SIP 480");
}

/// A Dutch flow speaks Dutch: every prompt from the built-in Dutch set, the number read
/// back in its Dutch groups (`06 12345678`: a pause after 06), and no warning at start.
#[test]
fn a_dutch_flow_plays_the_built_in_dutch_prompts() {
    speaks_its_language(
        ("nl", "NL"),
        "+31612345678",
        "nl/you_entered, nl/digit_0, nl/digit_6, pause, nl/digit_1, nl/digit_2, nl/digit_3, \
         nl/digit_4, nl/digit_5, nl/digit_6, nl/digit_7, nl/digit_8, nl/confirm_options",
    );
}

/// A French flow reads the number back as the French say it: `06 12 34 56 78` is "zéro
/// six, douze, trente-quatre, cinquante-six, soixante-dix-huit".
#[test]
fn a_french_flow_reads_the_number_back_in_pairs() {
    speaks_its_language(
        ("fr", "FR"),
        "+33612345678",
        "fr/you_entered, fr/digit_0, fr/digit_6, pause, fr/number_12, pause, fr/number_34, \
         pause, fr/number_56, pause, fr/number_78, fr/confirm_options",
    );
}

/// A caller from `caller` takes the offer of their own number in a flow of `language` and
/// `country` (the caller's), hears it read back as `readback`, and confirms: every prompt
/// comes from the language's built-in set, and the start-up warns of no English prompt.
fn speaks_its_language((language, country): (&str, &str), caller: &str, readback: &str) {
    let gw = gateway(&format!(
        r#"
[[ivr.flows]]
name = "local"
language = "{language}"
country = "{country}"
"#
    ));
    gw.logs
        .wait_for("the flows", |l| message(l, "call flows ready"));
    Caller::pcmu(96)
        .from(caller)
        .play_dtmf("1")
        .pause(2000)
        .play_dtmf("1")
        .await_bye(DEFLECTED)
        .run(gw.listener("sip", Some("udp")));
    assert_eq!(finished_with(&gw), "deflected");
    let played: Vec<String> = (gw.logs.json().into_iter())
        .filter(|l| message(l, "playing"))
        .map(|l| l["prompts"].as_str().unwrap().to_owned())
        .collect();
    // Whether the digit cuts the welcome or the offer short depends on when it lands.
    let own = |name: &str| format!("{language}/{name}");
    assert_eq!(played.first(), Some(&own("welcome")));
    assert!(played.iter().any(|p| p == readback), "{played:#?}");
    let goodbye = format!("{}, {}", own("message_sent"), own("goodbye"));
    assert_eq!(played.last(), Some(&goodbye));
    for prompt in played.iter().flat_map(|p| p.split(", ")) {
        assert!(
            prompt.starts_with(&format!("{language}/")) || prompt == "pause",
            "{prompt}"
        );
    }
    assert!(
        !gw.logs.json().iter().any(|l| (l["message"].as_str())
            .is_some_and(|m| m.starts_with("the flow's language has no recording"))),
        "no English to warn of"
    );
}

/// Call records through the API: five calls to one gateway end five ways — deflected, too
/// many invalid numbers, the abuse limit (the same caller again), the caller hanging up
/// mid-number, a flow that only plays and hangs up — and each leaves exactly one record with
/// its trunk, numbers, flow, path, what was typed, outcome and reason; filters select them,
/// the CSV lists them, and an agent is refused.
#[test]
fn every_call_leaves_one_record_the_api_lists_and_filters() {
    let gw = gateway(
        r#"
[ivr.limits]
per_caller_per_hour = 1

[[ivr.flows]]
name = "closed"
numbers = ["2000"]
language = "en"

[[ivr.flows.steps]]
step = "play"
prompts = ["closed"]

[[ivr.flows.steps]]
step = "hangup"
"#,
    );
    let sip = gw.listener("sip", Some("udp"));
    // The five calls at once (the same caller twice: one of the two meets the limit).
    let first = ["--dtmf", "0623456789#1", "--from", "+31611110001"];
    let landline = [
        "--dtmf",
        "0201234567#0201234567#0201234567#",
        "--from",
        "+31611110002",
    ];
    let hang_up = [
        "--dtmf",
        "06234",
        "--hang-up-after",
        "2s",
        "--from",
        "+31611110003",
    ];
    let calls = [
        Dialler::call(sip, "31201234567", &first),
        Dialler::call(sip, "31201234567", &landline),
        Dialler::call(sip, "31201234567", &first),
        Dialler::call(sip, "31201234567", &hang_up),
        Dialler::call(sip, "2000", &["--from", "+31611110004"]),
    ];
    for c in calls {
        let _ = c.finish();
    }
    let mut expected = [
        "deflected",
        "too_many_attempts",
        "limit_reached",
        "caller_hung_up",
        "flow_ended",
    ];
    // Each record is logged once the inbox took it.
    for outcome in expected {
        gw.logs.wait_for(outcome, |l| {
            message(l, "call record kept") && l["outcome"] == outcome
        });
    }
    let boss = common::session::member(&gw, "boss", "sandbox", "supervisor");
    let (status, page) = boss.call("GET", "/api/v1/calls", None);
    assert_eq!(status, 200, "{page}");
    let calls = page["calls"].as_array().unwrap().clone();
    let mut outcomes: Vec<&str> = (calls.iter())
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    outcomes.sort_unstable();
    expected.sort_unstable();
    assert_eq!(outcomes, expected, "one record per call");
    let ids: Vec<i64> = calls.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let by = |outcome: &str| {
        (calls.iter())
            .find(|c| c["outcome"] == outcome)
            .unwrap()
            .clone()
    };
    let deflected = by("deflected");
    assert_eq!(deflected["trunk"], "loopback");
    assert_eq!(deflected["caller"], "+31611110001");
    assert_eq!(deflected["dialled_number"], "31201234567");
    assert_eq!(deflected["input_method"], "dtmf");
    assert_eq!(deflected["transcript"], "0623456789");
    assert_eq!(deflected["callback_number"], "+31623456789");
    assert_eq!(deflected["reason"], "Q.850;cause=16;text=\"deflected\"");
    assert!(
        deflected["answered_at"].as_i64().unwrap() >= deflected["started_at"].as_i64().unwrap()
    );
    assert!(deflected["ended_at"].as_i64().unwrap() >= deflected["answered_at"].as_i64().unwrap());
    assert!(
        !deflected["path"].as_array().unwrap().is_empty(),
        "{deflected}"
    );
    let failed = by("too_many_attempts");
    assert!(failed["callback_number"].is_null(), "{failed}");
    let limited = by("limit_reached");
    assert_eq!(limited["caller"], "+31611110001");
    let hung_up = by("caller_hung_up");
    assert!(hung_up["callback_number"].is_null(), "{hung_up}");
    let closed = by("flow_ended");
    assert_eq!(
        (closed["flow"].as_str(), closed["dialled_number"].as_str()),
        (Some("closed"), Some("2000"))
    );

    // Filters, the CSV and the webhook events.
    let (_, page) = boss.call("GET", "/api/v1/calls?outcome=deflected", None);
    assert_eq!(page["calls"].as_array().unwrap().len(), 1, "{page}");
    let (_, page) = boss.call("GET", "/api/v1/calls?flow=closed", None);
    assert_eq!(page["calls"][0]["outcome"], "flow_ended", "{page}");
    let (_, page) = boss.call("GET", "/api/v1/calls?limit=2", None);
    let next = page["next_before_id"].as_i64().unwrap();
    let (_, rest) = boss.call("GET", &format!("/api/v1/calls?before_id={next}"), None);
    assert_eq!(rest["calls"].as_array().unwrap().len(), 3, "{rest}");
    let (status, bad) = boss.call("GET", "/api/v1/calls?outcome=answered", None);
    assert_eq!(status, 400, "{bad}");
    let cookie = [("Cookie", boss.cookie.as_str())];
    let (status, _, csv) = common::request_bytes(
        gw.http_addr(),
        "GET",
        "/api/v1/exports/calls.csv",
        &cookie,
        b"",
    );
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(
        csv.lines()
            // A leading + is guarded as CSV cells are against formulas.
            .any(|l| l.contains("\"deflected\"") && l.contains("\"'+31623456789\"")),
        "{csv}"
    );
    let ann = common::session::agent(&gw, "ann", "sandbox");
    let (status, _) = ann.call("GET", "/api/v1/calls", None);
    assert_eq!(status, 403);
}

/// A menu: 1 for a WhatsApp message, 0 for an agent reached by REFER; a failed transfer
/// goes on to the WhatsApp message.
const AGENTS: &str = r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "menu"
choices = { "1" = "number", "0" = "agent" }
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
target = "sip:agents@pbx.example.com"
on_failure = "number"
"#;

const AGENTS_URI: &str = "^ *.sip:agents@pbx\\.example\\.com.$";

/// A caller pressing 0 in the `AGENTS` menu and taking deflect's REFER as a PBX would: 202,
/// then `notifies`.
fn refer_taken(notifies: &[(&str, &str)]) -> Caller {
    Caller::pcmu(96)
        .play_dtmf("0")
        .refer(AGENTS_URI, 202, notifies)
}

/// The newest record with `outcome`, once the inbox kept it, as a supervisor lists it.
fn call_record(gw: &Gateway, outcome: &str) -> Value {
    gw.logs.wait_for(outcome, |l| {
        message(l, "call record kept") && l["outcome"] == outcome
    });
    let boss = common::session::member(gw, &format!("boss-{outcome}"), "sandbox", "supervisor");
    let (status, page) = boss.call("GET", &format!("/api/v1/calls?outcome={outcome}"), None);
    assert_eq!(status, 200, "{page}");
    page["calls"][0].clone()
}

#[test]
fn pressing_0_transfers_the_call_by_refer_and_deflect_leaves_once_the_target_answers() {
    let gw = gateway(AGENTS);
    refer_taken(&[
        ("SIP/2.0 100 Trying", "active;expires=60"),
        ("SIP/2.0 180 Ringing", "active;expires=60"),
        ("SIP/2.0 200 OK", "terminated;reason=noresource"),
    ])
    .await_bye("Q.850;cause=16;text=.transferred.")
    .run(gw.listener("sip", Some("udp")));
    assert_eq!(finished_with(&gw), "transferred");
    assert!(deflections(&gw).is_empty());
    let record = call_record(&gw, "transferred");
    assert_eq!(record["transfer_target"], "sip:agents@pbx.example.com");
    let path: Vec<String> = (record["path"].as_array().unwrap().iter())
        .map(|s| format!("{} {}", s["step"].as_str().unwrap(), s["exit"]))
        .collect();
    assert_eq!(path, ["menu \"pressed 0\"", "agent \"transferred\""]);
}

#[test]
fn a_pbx_ending_the_call_itself_once_it_took_the_transfer_counts_as_transferred() {
    let gw = gateway(AGENTS);
    refer_taken(&[("SIP/2.0 100 Trying", "active;expires=60")])
        .hang_up()
        .run(gw.listener("sip", Some("udp")));
    assert_eq!(finished_with(&gw), "transferred");
    let record = call_record(&gw, "transferred");
    assert_eq!(record["path"][1]["exit"], "transferred");
}

/// `deflect call` takes a transfer like a PBX whose target answers at once, so operators
/// can try a transfer flow end to end with deflect alone.
#[test]
fn the_dialler_takes_a_transfer_and_deflect_leaves_the_call() {
    let gw = gateway(AGENTS);
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0"],
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    assert!(
        out.contains("far end transfers the call to sip:agents@pbx.example.com"),
        "{out}"
    );
    assert!(out.contains("text=\"transferred\""), "{out}");
    assert_eq!(finished_with(&gw), "transferred");
}

/// In early media a transfer answers the call first; its REFER follows the ACK.
#[test]
fn an_early_media_flow_answers_before_its_transfer() {
    let gw = gateway(
        r#"
[[ivr.flows]]
name = "straight-through"
early_media = true
[[ivr.flows.steps]]
step = "play"
prompts = ["welcome"]
[[ivr.flows.steps]]
step = "transfer"
target = "sip:agents@pbx.example.com"
"#,
    );
    Caller::pcmu(96)
        .refer(
            AGENTS_URI,
            202,
            &[("SIP/2.0 200 OK", "terminated;reason=noresource")],
        )
        .await_bye("Q.850;cause=16;text=.transferred.")
        .run(gw.listener("sip", Some("udp")));
    let record = call_record(&gw, "transferred");
    assert!(record["answered_at"].as_i64().is_some(), "{record}");
}

#[test]
fn a_transfer_the_target_refuses_falls_back_to_the_whatsapp_message() {
    let gw = gateway(AGENTS);
    Caller::pcmu(96)
        .from("+31612345678")
        .play_dtmf("0")
        .refer(AGENTS_URI, 202, &[("SIP/2.0 486 Busy Here", "terminated")])
        // "Nobody can take your call", then the offer of the calling number: 1, and 1 to
        // confirm it.
        .pause(500)
        .play_dtmf("11")
        .await_bye(DEFLECTED)
        .run(gw.listener("sip", Some("udp")));
    assert_eq!(
        deflected_to(&gw),
        ("+31612345678".to_owned(), "caller_number".to_owned())
    );
    let record = call_record(&gw, "deflected");
    assert_eq!(record["transfer_target"], "sip:agents@pbx.example.com");
    assert_eq!(record["path"][1]["exit"], "failed 486");
}

#[test]
fn a_refer_the_trunk_refuses_falls_back_too() {
    let gw = gateway(AGENTS);
    Caller::pcmu(96)
        .from("+31612345678")
        .play_dtmf("0")
        .refer(AGENTS_URI, 603, &[])
        .pause(500)
        .play_dtmf("11")
        .await_bye(DEFLECTED)
        .run(gw.listener("sip", Some("udp")));
    assert_eq!(finished_with(&gw), "deflected");
    let record = call_record(&gw, "deflected");
    assert_eq!(record["path"][1]["exit"], "failed 603");
}

/// A WhatsApp call's `connect` webhook carrying `offer`, as Meta delivers it (field `calls`).
fn whatsapp_connect(call_id: &str, from: &str, offer: &str) -> String {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "calls", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": from}],
            "calls": [{
                "id": call_id, "from": from, "to": "31201234567", "event": "connect",
                "timestamp": "1767225600", "direction": "USER_INITIATED",
                "session": {"sdp_type": "offer", "sdp": offer}
            }]
        }}]}]
    })
    .to_string()
}

#[test]
fn a_whatsapp_call_hears_the_flow_and_is_deflected_by_its_digits() {
    use common::meta::{self, FakeMeta};
    use common::webrtc::WebRtcPeer;
    let api = FakeMeta::start();
    let config = format!(
        "{}calling = true\n",
        meta::account(&format!("http://{}", api.addr))
    );
    let gw = gateway(&config);
    let peer = WebRtcPeer::start();
    let call_id = "wacid.HBgLMzE2MTIzNDU2NzgVAgASGCA3";
    let body = whatsapp_connect(call_id, "31612345678", &peer.offer);
    let signature = deflect_chat::provider::meta::sign("app-secret", body.as_bytes());
    let deliver = || {
        let (status, _, answer) = common::request(
            gw.http_addr(),
            "POST",
            "/webhooks/meta/main",
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", &signature),
            ],
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{answer}");
    };
    deliver();

    // pre_accept, then accept, each with deflect's answer.
    let calls_path = "/v24.0/106540352242922/calls";
    let actions = |n: usize| -> Vec<serde_json::Value> {
        let requests = api.wait_for(n);
        (requests.iter())
            .filter(|r| r.path == calls_path)
            .map(|r| r.body.clone())
            .collect()
    };
    let first = actions(2);
    assert_eq!(first[0]["action"], "pre_accept", "{first:?}");
    assert_eq!(first[1]["action"], "accept", "{first:?}");
    for a in &first {
        assert_eq!(a["call_id"], call_id);
        assert_eq!(a["messaging_product"], "whatsapp");
        assert_eq!(a["session"]["sdp_type"], "answer");
    }
    let sdp = first[1]["session"]["sdp"].as_str().unwrap();
    assert_eq!(sdp.matches("a=fingerprint:sha-256 ").count(), 1, "{sdp}");
    assert!(sdp.contains("a=setup:active"), "{sdp}");
    peer.answered(sdp);

    // The welcome is heard once ICE and DTLS are up: half a second of speech, at least.
    peer.wait_to_hear(25, common::PATIENCE);
    assert!(peer.is_connected());

    // 1: the number called from; 1: confirmed.
    peer.press('1');
    gw.logs.wait_for("the confirmation", |l| {
        message(l, "DTMF digit") && l["digit"] == "1"
    });
    let read_back = gw.logs.count();
    gw.logs
        .wait_from(read_back, "the read-back", |l| message(l, "playing"));
    peer.press('1');
    assert_eq!(
        deflected_to(&gw),
        ("+31612345678".to_owned(), "caller_number".to_owned())
    );
    assert_eq!(finished_with(&gw), "deflected");

    // The IVR hung up: terminate, after the two accepts.
    let mut n = api.requests().len();
    let terminate = loop {
        n += 1;
        let actions = actions(n);
        if let Some(t) = actions.iter().find(|a| a["action"] == "terminate") {
            assert_eq!(actions.len(), 3, "{actions:?}");
            break t.clone();
        }
    };
    assert_eq!(terminate["call_id"], call_id);

    // The same connect again (a retried webhook): the ended call does not start over.
    let sent = api.requests().len();
    deliver();
    gw.logs.wait_for("the repeat ignored", |l| {
        message(l, "WebRTC call taken before; ignored") && l["call_id"] == call_id
    });
    assert_eq!(api.requests().len(), sent, "no pre_accept for it");
}
