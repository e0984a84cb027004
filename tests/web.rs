//! The web side of the running binary: `deflect agent add`, and the widget and inbox in
//! headless Chromium (Debian's `chromium`, driven by npm `playwright-core` from
//! tests/browser): a live chat with a network cut, the QR hand-off to WhatsApp, the sandbox
//! phone answering an agent, and the inbox at 1,000 open conversations. Screenshots go to
//! tests/browser/artifacts/.

#![allow(clippy::unwrap_used)]

mod common;

use common::dialler::Dialler;
use common::{Gateway, run_cli};
use std::path::{Path, PathBuf};
use std::process::Command;

const APP_SECRET: &str = "app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";
const BUSINESS_NUMBER: &str = "+31201234567";

/// The gateway's configuration: Meta account `main` with its Graph API at `api_port` (where a
/// scenario may serve a fake of it), the sandbox, queue `support` and the shop's widget.
fn config(page_port: u16, api_port: u16) -> String {
    format!(
        r#"
[whatsapp]
default_account = "main"

[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "{BUSINESS_NUMBER}"
phone_number_id = "{PHONE_NUMBER_ID}"
access_token = "token"
app_secret = "{APP_SECRET}"
verify_token = "verify-me"
api_base_url = "http://127.0.0.1:{api_port}"

[[whatsapp.accounts]]
name = "sandbox"
provider = "sandbox"
business_number = "+15550100000"

[[inbox.queues]]
name = "support"

[[widget.sites]]
name = "shop"
origins = ["http://127.0.0.1:{page_port}"]
queue = "support"
escalation_timeout = "5s"
"#
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn add_admin(gw: &Gateway) {
    let pw = gw.dir().join("password");
    std::fs::write(&pw, "correct horse battery\n").unwrap();
    let data = gw.data_dir();
    let conf = gw.dir().join("deflect.toml");
    let (code, out, err) = run_cli(
        &[
            "agent",
            "add",
            "--config",
            conf.to_str().unwrap(),
            "--username",
            "admin",
            "--role",
            "admin",
            "--queue",
            "support",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &[("DEFLECT_DATA_DIR", data.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created admin \"admin\""), "{out}");
}

/// Delivers a webhook of field `field` carrying `value` to account `main`, signed as Meta
/// signs it; it must be taken (200).
fn post_meta(http: std::net::SocketAddr, field: &str, value: serde_json::Value) {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": field, "value": value}]}]
    })
    .to_string();
    let signature = deflect_chat::provider::meta::sign(APP_SECRET, body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, _, answer) = common::request(
        http,
        "POST",
        "/webhooks/meta/main",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
}

/// A gateway of [`config`] whose account `main` has `calling = true`, with `extra`
/// configuration; the admin added.
fn calling_gateway(page_port: u16, api_port: u16, extra: &str) -> Gateway {
    let base = format!(r#"api_base_url = "http://127.0.0.1:{api_port}""#);
    let text = config(page_port, api_port).replace(&base, &format!("{base}\ncalling = true"));
    let gw = Gateway::builder().config(&(text + extra)).start();
    add_admin(&gw);
    gw
}

/// Seconds since the epoch.
fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.unwrap().as_secs() as i64
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn scenario(name: &str) {
    scenario_with(name, "");
}

/// Runs browser scenario `name` against a gateway configured with `config` and `extra`.
fn scenario_with(name: &str, extra: &str) {
    let (page_port, api_port) = (free_port(), free_port());
    let text = format!("{}{extra}", config(page_port, api_port));
    scenario_on(name, page_port, api_port, &text);
}

/// Runs browser scenario `name` against a gateway configured with `text`, its widget page
/// on `page_port` and its Graph API on `api_port`.
fn scenario_on(name: &str, page_port: u16, api_port: u16, text: &str) {
    scenario_after(name, page_port, api_port, text, |_| {});
}

/// Runs browser scenario `name` as [`scenario_on`] does, after `before` did its part with the
/// gateway (a call, say).
fn scenario_after(
    name: &str,
    page_port: u16,
    api_port: u16,
    text: &str,
    before: impl FnOnce(&Gateway),
) {
    let gw = Gateway::builder().config(text).start();
    add_admin(&gw);
    before(&gw);
    run_scenario(name, gw, page_port, api_port, &[]);
}

/// Runs browser scenario `name` against running gateway `gw` (with its admin), with
/// `extra` environment for the scenario, then stops the gateway.
fn run_scenario(name: &str, gw: Gateway, page_port: u16, api_port: u16, extra: &[(&str, &str)]) {
    let dir = browser_dir();
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "run scripts/test (or `npm ci` in tests/browser) to install playwright-core"
    );
    let out = Command::new("node")
        .arg(dir.join("run.mjs"))
        .arg(name)
        .current_dir(&dir)
        .env("GATEWAY", format!("http://{}", gw.http_addr()))
        .env("PAGE_PORT", page_port.to_string())
        .env("META_PORT", api_port.to_string())
        .env("USERNAME", "admin")
        .env("PASSWORD", "correct horse battery")
        .env("APP_SECRET", APP_SECRET)
        .env("PHONE_NUMBER_ID", PHONE_NUMBER_ID)
        .env("BUSINESS_NUMBER", BUSINESS_NUMBER)
        .env("ARTIFACTS", dir.join("artifacts"))
        .env("DATABASE", gw.data_dir().join("deflect.db"))
        .envs(extra.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser scenario {name} failed:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gw.logs.raw().join("\n")
    );
    assert!(stdout.contains(&format!("all checks passed: {name}")));
    let metrics = common::get(gw.http_addr(), "/metrics").1;
    // Every scenario but a bare phone call exchanges messages; the softphone's count theirs.
    let messages = (name != "sipPhone").then_some("deflect_inbox_messages_total{");
    let answered = ["phone", "whatsappPhone", "sipPhone"]
        .contains(&name)
        .then_some("deflect_phone_calls_total{outcome=\"answered\"} 1");
    let names = [
        "deflect_http_requests_total{",
        "deflect_http_request_seconds",
        "deflect_outbox_depth{state=\"pending\"}",
        "deflect_inbox_sockets",
    ];
    let placed =
        (name == "whatsappCallOut").then_some("deflect_placed_calls_total{outcome=\"answered\"} 1");
    for name in names
        .into_iter()
        .chain(messages)
        .chain(answered)
        .chain(placed)
    {
        assert!(metrics.contains(name), "/metrics lacks {name}:\n{metrics}");
    }
    assert_eq!(gw.stop().code(), Some(0));
}

#[test]
fn agent_add_takes_the_password_from_a_file_or_stdin_never_an_argument_and_set_role_keeps_an_admin()
{
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("DEFLECT_DATA_DIR", data.to_str().unwrap())];
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "short\n").unwrap();
    let (code, _, err) = run_cli(
        &[
            "agent",
            "add",
            "--username",
            "root",
            "--role",
            "admin",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 1);
    assert!(err.contains("at least 8 characters"), "{err}");
    std::fs::write(&pw, "long enough password\n").unwrap();
    let (code, out, err) = run_cli(
        &[
            "agent",
            "add",
            "--username",
            "root",
            "--role",
            "admin",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created admin \"root\""), "{out}");
    let (code, _, err) = run_cli(
        &[
            "agent",
            "add",
            "--username",
            "root",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 1);
    assert!(err.contains("exists already"), "{err}");
    // From standard input (not a terminal here).
    let out = Command::new(common::binary())
        .args(["agent", "add", "--username", "sam", "--role", "supervisor"])
        .env("DEFLECT_DATA_DIR", &data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"another long password\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No password argument exists.
    let (code, _, err) = run_cli(
        &["agent", "add", "--username", "x", "--password", "secret123"],
        &env,
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run_cli(
        &[
            "agent",
            "add",
            "--username",
            "x",
            "--queue",
            "nope",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 1);
    assert!(err.contains("unknown queue"), "{err}");
    // Roles change from the command line too, and the last admin stays an admin.
    let set_role = |user: &str, role: &str| {
        run_cli(
            &["agent", "set-role", "--username", user, "--role", role],
            &env,
        )
    };
    let (code, out, err) = set_role("root", "agent");
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("\"root\" is the last admin"), "{err}");
    let (code, out, err) = set_role("sam", "admin");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"sam\" is now admin (was supervisor)"),
        "{out}"
    );
    let (code, out, err) = set_role("root", "supervisor");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"root\" is now supervisor (was admin)"),
        "{out}"
    );
    let (code, _, err) = set_role("nobody", "agent");
    assert_eq!(code, 1);
    assert!(err.contains("no agent is called \"nobody\""), "{err}");
    let (code, _, err) = set_role("sam", "owner");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn browser_visitor_and_agent_chat_live_through_a_network_cut() {
    scenario("chat");
}

#[test]
fn browser_no_agent_gives_a_qr_code_that_continues_on_whatsapp() {
    scenario("escalation");
}

#[test]
fn browser_widget_welcomes_tells_the_queue_position_and_asks_for_a_rating() {
    scenario_with(
        "automations",
        r#"
[inbox.automations]
welcome_message = "Welcome, {{customer_name}}! We answer within minutes."
queue_message = "You are number {{position}} in line; the wait is {{wait}}."
csat = true
"#,
    );
}

/// The contact panel lists a returning customer's earlier conversation with the label put
/// on it from the panel, opens it, and takes the label off.
#[test]
fn browser_contact_panel_shows_the_earlier_conversation_and_its_labels() {
    let (page_port, api_port) = (free_port(), free_port());
    let text = config(page_port, api_port);
    scenario_after("contact", page_port, api_port, &text, |gw| {
        // A call deflected by keypad, whose conversation the scenario opens.
        let call = Dialler::call(
            gw.listener("sip", Some("udp")),
            "31201234567",
            &["--dtmf", "0623456789#1", "--from", "+31201110000"],
        );
        call.wait_for("far end hung up");
        let (status, out) = call.finish();
        assert!(status.success(), "{out}");
    });
}

/// The SMS fallback's continue link, end to end: a deflected call's template fails as
/// undeliverable (131026), one SMS (Twilio's wire format) carries the signed link; opening
/// it spends nothing and a tampered one is refused; in Chromium the customer continues the
/// same conversation in the widget, history included, and chats with an agent.
#[test]
fn browser_an_sms_link_continues_the_deflected_call_in_the_widget() {
    let api = common::meta::FakeMeta::start();
    let (page_port, http_port) = (free_port(), free_port());
    let gateway = format!("http://127.0.0.1:{http_port}");
    // The SMS fallback is account main's (the first account): its section goes before the
    // next account's.
    let sms = format!(
        r#"[whatsapp.accounts.sms_fallback]
provider = "twilio"
from = "+3197010200300"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "twilio-sms-token"
api_base_url = "http://{}"
text = "We missed you on WhatsApp: {{{{link}}}}"

[[whatsapp.accounts]]
name = "sandbox""#,
        api.addr
    );
    let text = format!(
        "{}\n[http]\npublic_base_url = \"{gateway}\"\n",
        config(page_port, api.addr.port()).replacen(
            "[[whatsapp.accounts]]\nname = \"sandbox\"",
            &sms,
            1
        )
    );
    let gw = Gateway::builder()
        .config(&text)
        .env("DEFLECT_HTTP__LISTEN", &format!("127.0.0.1:{http_port}"))
        .start();
    add_admin(&gw);
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "+31201110000"],
    );
    let template = api.wait_for(1).remove(0);
    assert_eq!(template.body["to"], "31623456789");
    let status = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": "wamid.fake1", "status": "failed", "timestamp": "1767225601",
                "recipient_id": "31623456789",
                "errors": [{"code": 131026, "title": "Message undeliverable"}]}]
        }}]}]
    })
    .to_string();
    let sig = deflect_chat::provider::meta::sign(APP_SECRET, status.as_bytes());
    let headers = [("X-Hub-Signature-256", sig.as_str())];
    let (code, _) = common::http(
        gw.http_addr(),
        "POST",
        "/webhooks/meta/main",
        &headers,
        status.as_bytes(),
    );
    assert_eq!(code, 200);
    let sms = api.wait_for(2).remove(1);
    let form = deflect_chat::provider::twilio::parse_form(&sms.raw);
    let body = &form.iter().find(|(k, _)| k == "Body").unwrap().1;
    let link = body
        .strip_prefix("We missed you on WhatsApp: ")
        .unwrap()
        .to_string();
    let prefix = format!("{gateway}/continue/");
    assert!(link.starts_with(&prefix), "{link}");
    // A previewer's GET shows the page and spends nothing; a tampered link is refused.
    let path = link.strip_prefix(&gateway).unwrap();
    let (code, page) = common::get(gw.http_addr(), path);
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Continue here"), "{page}");
    let tampered = path.replace("signature=", "signature=00");
    let (code, page) = common::get(gw.http_addr(), &tampered);
    assert_eq!(code, 403, "{page}");
    assert!(page.contains("expired or is not valid"), "{page}");
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    run_scenario(
        "continued",
        gw,
        page_port,
        api.addr.port(),
        &[("CONTINUE_URL", link.as_str())],
    );
}

/// Relay mode through the sandbox: the agent's own (sandbox) phone gets the offer and the
/// customer's messages; the inbox shows both legs of the relayed conversation.
#[test]
fn browser_a_relayed_conversation_reaches_the_agents_phone_and_shows_in_the_inbox() {
    scenario("relay");
}

/// The report page for a seeded set: the queue row's numbers equal SQL over the gateway's
/// database, and both charts are drawn.
#[test]
fn browser_report_page_shows_the_numbers_sql_gives_and_its_charts() {
    scenario("reports");
}

/// With a fake microphone: the visitor's call from the widget reaches the IVR, is heard and
/// deflected by keypad.
#[test]
fn browser_visitor_calls_from_the_widget_and_is_deflected_by_keypad() {
    scenario_with("call", "call_number = \"+31201234567\"\n");
}

/// A flow that puts every call through to the support queue's agents in the inbox, silently
/// (no prompt before the bridge, a quiet hold queue).
const INBOX_FLOW: &str = r#"
[[ivr.flows]]
name = "agents"
[[ivr.flows.steps]]
step = "transfer"
mode = "bridge"
target = "inbox:support"
prompts = []
"#;

/// A widget visitor's call put through to the inbox's agents (a bridge to `inbox:support`):
/// the available agent answers on the softphone and both hear each other.
#[test]
fn browser_agent_answers_a_call_in_the_inbox_and_both_hear_each_other() {
    scenario_with(
        "phone",
        &format!("call_number = \"+31201234567\"\n{INBOX_FLOW}"),
    );
}

/// A WhatsApp call bridged to the inbox's agents: the Chromium agent answers and audio flows
/// both ways — the agent hears the customer's tone (the scenario checks), the customer's
/// WebRTC peer hears the agent's microphone (checked here: the flow itself is silent) — and
/// the agent's hang-up ends the call with `terminate`.
#[test]
fn browser_agent_answers_a_whatsapp_call_and_both_hear_each_other() {
    use common::meta::FakeMeta;
    use common::webrtc::WebRtcPeer;
    let api = FakeMeta::start();
    let (page_port, api_port) = (free_port(), api.addr.port());
    let gw = calling_gateway(page_port, api_port, INBOX_FLOW);
    let peer = WebRtcPeer::start();
    peer.speak();
    let call_id = "wacid.HBgLMzE2MTIzNDU2NzgVAgASGCA4";
    let dir = tempfile::tempdir().unwrap();
    let heard_file = dir.path().join("heard");
    let calls_path = format!("/v24.0/{PHONE_NUMBER_ID}/calls");
    let actions = || -> Vec<serde_json::Value> {
        (api.requests().into_iter())
            .filter(|r| r.path == calls_path)
            .map(|r| r.body)
            .collect()
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 1;
            let answer = loop {
                api.wait_for(n);
                n += 1;
                if let Some(a) = actions().into_iter().find(|a| a["action"] == "accept") {
                    break a["session"]["sdp"].as_str().unwrap().to_owned();
                }
            };
            peer.answered(&answer);
            // The flow plays nothing: what the caller hears is the agent's microphone.
            peer.wait_to_hear(5, std::time::Duration::from_secs(60));
            std::fs::write(&heard_file, b"heard").unwrap();
        });
        let heard = heard_file.display().to_string();
        run_scenario(
            "whatsappPhone",
            gw,
            page_port,
            api_port,
            &[
                ("CONNECT_OFFER", peer.offer.as_str()),
                ("CALL_ID", call_id),
                ("HEARD_FILE", heard.as_str()),
            ],
        );
    });
    let sent = actions();
    let kinds: Vec<&str> = sent.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["pre_accept", "accept", "terminate"], "{sent:?}");
    assert!(sent.iter().all(|a| a["call_id"] == call_id));
}

/// An agent calls a WhatsApp customer who allowed calls: deflect sends `connect` with the
/// customer's number and its offer; the agent hears a ringing tone; the test, as WhatsApp,
/// reports the phone ringing and answers with an ICE-lite peer (`connect` with the answer, `BUSINESS_INITIATED`); audio
/// flows both ways — the agent hears the customer's tone (the scenario checks), the customer
/// hears the agent's microphone (checked here) — and the agent's hang-up sends `terminate`.
#[test]
fn browser_agent_calls_a_whatsapp_customer_who_allowed_it() {
    use common::meta::FakeMeta;
    use common::webrtc::WebRtcPeer;
    let api = FakeMeta::start();
    let (page_port, api_port) = (free_port(), api.addr.port());
    let gw = calling_gateway(page_port, api_port, "");
    // Meta knows what the customer's reply (sent by the scenario) allowed.
    api.call_permission(
        "31612345678",
        200,
        serde_json::json!({
            "messaging_product": "whatsapp",
            "permission": {"status": "temporary",
                           "expiration_time": unix_now() + 7 * 86_400},
            "actions": [{"action_name": "start_call", "can_perform_action": true, "limits": []}]
        }),
    );
    let http = gw.http_addr();
    let dir = tempfile::tempdir().unwrap();
    let heard_file = dir.path().join("heard");
    let ringback_file = dir.path().join("ringback");
    let (held_file, music_file) = (dir.path().join("held"), dir.path().join("music"));
    let calls_path = format!("/v24.0/{PHONE_NUMBER_ID}/calls");
    // The request number of each call action, and its body.
    let actions = || -> Vec<(usize, serde_json::Value)> {
        (api.requests().into_iter().enumerate())
            .filter(|(_, r)| r.path == calls_path)
            .map(|(i, r)| (i + 1, r.body))
            .collect()
    };
    let deliver = |value: serde_json::Value| post_meta(http, "calls", value);
    let metadata = serde_json::json!({
        "display_phone_number": &BUSINESS_NUMBER[1..], "phone_number_id": PHONE_NUMBER_ID
    });
    let call_id =
        std::thread::scope(|s| {
            let customer = s.spawn(|| {
            let mut n = 1;
            let (number, connect) = loop {
                api.wait_for(n);
                n += 1;
                if let Some(c) = actions().into_iter().find(|(_, a)| a["action"] == "connect") {
                    break c;
                }
            };
            let call_id = format!("wacid.fake{number}");
            let offer = connect["session"]["sdp"].as_str().unwrap();
            deliver(serde_json::json!({
                "messaging_product": "whatsapp", "metadata": metadata,
                "statuses": [{"id": call_id, "type": "call", "status": "RINGING",
                    "timestamp": "1767225600", "recipient_id": "31612345678"}]
            }));
            // The customer answers once the agent heard the phone ring (the scenario says so).
            let deadline = std::time::Instant::now() + common::PATIENCE;
            while !ringback_file.exists() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the agent never heard the phone ring"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // The customer takes the call: their phone answers deflect's offer.
            let (peer, answer) = WebRtcPeer::answering(offer);
            peer.speak();
            deliver(serde_json::json!({
                "messaging_product": "whatsapp", "metadata": metadata,
                "calls": [{"id": call_id, "from": &BUSINESS_NUMBER[1..], "to": "31612345678",
                    "event": "connect", "direction": "BUSINESS_INITIATED",
                    "timestamp": "1767225601", "session": {"sdp_type": "answer", "sdp": answer}}]
            }));
            peer.wait_to_hear(5, std::time::Duration::from_secs(60));
            std::fs::write(&heard_file, b"heard").unwrap();
            // The agent holds the customer: the agent's side goes quiet, the music plays.
            let deadline = std::time::Instant::now() + common::PATIENCE;
            while !held_file.exists() {
                assert!(std::time::Instant::now() < deadline, "the agent never held");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            peer.heard();
            peer.wait_to_hear(50, std::time::Duration::from_secs(10));
            std::fs::write(&music_file, b"music").unwrap();
            // The peer lives on (its phone keeps talking) until the scenario is over.
            (connect, call_id, peer)
        });
            let heard = heard_file.display().to_string();
            let ringback = ringback_file.display().to_string();
            let (held, music) = (
                held_file.display().to_string(),
                music_file.display().to_string(),
            );
            run_scenario(
                "whatsappCallOut",
                gw,
                page_port,
                api_port,
                &[
                    ("HEARD_FILE", &heard),
                    ("RINGBACK_FILE", &ringback),
                    ("HELD_FILE", &held),
                    ("MUSIC_FILE", &music),
                ],
            );
            let (connect, call_id, _peer) = customer.join().unwrap();
            assert_eq!(connect["to"], "31612345678", "{connect}");
            assert_eq!(connect["messaging_product"], "whatsapp");
            assert_eq!(connect["session"]["sdp_type"], "offer");
            let data = connect["biz_opaque_callback_data"]
                .as_str()
                .unwrap_or_default();
            assert!(data.starts_with("conversation:"), "{connect}");
            call_id
        });
    let sent: Vec<serde_json::Value> = actions().into_iter().map(|(_, a)| a).collect();
    let kinds: Vec<&str> = sent.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["connect", "terminate"], "{sent:?}");
    assert_eq!(sent[1]["call_id"], call_id.as_str());
}

/// Meta decides whether an agent may call a customer on WhatsApp: a permission deflect never
/// saw (no `call_permission_reply`) lets the call go out; a reached limit refuses it, naming
/// the limit, though the customer's reply allowed calls; when Meta does not answer, the reply
/// decides.
#[test]
fn whatsapp_says_whether_an_agent_may_call_a_customer() {
    use common::meta::FakeMeta;
    use common::webrtc::WebRtcPeer;
    let api = FakeMeta::start();
    let (page_port, api_port) = (free_port(), api.addr.port());
    let gw = calling_gateway(page_port, api_port, "");
    let http = gw.http_addr();
    let admin = common::session::Session::login(http, "admin", "correct horse battery");
    let metadata = serde_json::json!({
        "display_phone_number": &BUSINESS_NUMBER[1..], "phone_number_id": PHONE_NUMBER_ID
    });
    let now = unix_now();
    // A customer writes (and, with `allow`, allows calls for a week); their conversation.
    let customer = |from: &str, allow: bool| -> i64 {
        let mut messages = vec![
            serde_json::json!({"from": from, "id": format!("wamid.{from}-1"),
            "timestamp": now.to_string(), "type": "text", "text": {"body": "Call me"}}),
        ];
        if allow {
            messages.push(
                serde_json::json!({"from": from, "id": format!("wamid.{from}-2"),
                "timestamp": now.to_string(), "type": "interactive", "interactive": {
                    "type": "call_permission_reply", "call_permission_reply": {
                        "response": "accept", "is_permanent": false,
                        "expiration_timestamp": now + 7 * 86_400}}}),
            );
        }
        post_meta(
            http,
            "messages",
            serde_json::json!({
                "messaging_product": "whatsapp", "metadata": metadata,
                "contacts": [{"profile": {"name": "Vera"}, "wa_id": from}],
                "messages": messages
            }),
        );
        let (status, list) = admin.call("GET", "/api/v1/conversations", None);
        assert_eq!(status, 200, "{list}");
        let phone = format!("+{from}");
        (list["conversations"].as_array().unwrap().iter())
            .find(|c| c["contact_phone"] == phone.as_str())
            .and_then(|c| c["id"].as_i64())
            .unwrap_or_else(|| panic!("no conversation of {phone}: {list}"))
    };
    let agent = WebRtcPeer::start();
    let call = |id: i64| {
        let path = format!("/api/v1/conversations/{id}/call");
        admin.call("POST", &path, Some(serde_json::json!({"sdp": agent.offer})))
    };
    let asked = |wa_id: &str| {
        let query = format!("/v24.0/{PHONE_NUMBER_ID}/call_permissions?user_wa_id={wa_id}");
        (api.requests().into_iter()).find(|r| r.method == "GET" && r.path == query)
    };

    // Allowed in the business profile: only Meta knows.
    api.call_permission(
        "31611110001",
        200,
        serde_json::json!({
            "messaging_product": "whatsapp",
            "permission": {"status": "permanent"},
            "actions": [{"action_name": "start_call", "can_perform_action": true, "limits": [
                {"time_period": "PT24H", "max_allowed": 100, "current_usage": 3}]}]
        }),
    );
    let profile = customer("31611110001", false);
    let (status, placed) = call(profile);
    assert_eq!(status, 201, "{placed}");
    let query = asked("31611110001").expect("Meta was asked");
    assert_eq!(query.headers["authorization"], "Bearer token");
    // The call goes out once it is placed.
    let connect = |r: &common::meta::Request| r.body["action"] == "connect";
    let sent = api.wait_until(common::PATIENCE, "the call's connect", |r| {
        r.iter().any(connect)
    });
    let placed_to = sent.into_iter().find(connect).unwrap().body["to"].clone();
    assert_eq!(placed_to, "31611110001");
    let hang_up = format!(
        "/api/v1/phone/calls/{}/hangup",
        placed["call"]["id"].as_str().unwrap()
    );
    let (status, body) = admin.call("POST", &hang_up, None);
    assert_eq!(status, 204, "{body}");

    // Their reply allowed calls, but five unanswered calls today used up what Meta allows.
    api.call_permission(
        "31611110002",
        200,
        serde_json::json!({
            "messaging_product": "whatsapp",
            "permission": {"status": "temporary", "expiration_time": now + 7 * 86_400},
            "actions": [{"action_name": "start_call", "can_perform_action": false, "limits": [
                {"time_period": "PT24H", "max_allowed": 5, "current_usage": 5,
                 "limit_expiration_time": 1_800_003_600}]}]
        }),
    );
    let limited = customer("31611110002", true);
    let (status, refused) = call(limited);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "WhatsApp allows no call to this customer now: 5 of 5 calls in 24h, until \
         2027-01-15T09:00:00Z",
        "{refused}"
    );

    // Meta does not answer: the customer's reply decides, for and against.
    let down = serde_json::json!({"error": {"message": "Service temporarily unavailable",
        "type": "OAuthException", "code": 131016}});
    api.call_permission("31611110003", 503, down.clone());
    api.call_permission("31611110004", 503, down);
    let replied = customer("31611110003", true);
    let (status, placed) = call(replied);
    assert_eq!(status, 201, "{placed}");
    let hang_up = format!(
        "/api/v1/phone/calls/{}/hangup",
        placed["call"]["id"].as_str().unwrap()
    );
    assert_eq!(admin.call("POST", &hang_up, None).0, 204);
    let silent = customer("31611110004", false);
    let (status, refused) = call(silent);
    assert_eq!(status, 409, "{refused}");
    let why = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("the customer has not allowed calls: ask them"),
        "{refused}"
    );
    assert!(asked("31611110004").is_some());
}

/// A phone call from a SIP trunk put through to the inbox's agents: the dialler calls once
/// the agent (available, signed in over the API) has the inbox open — calls ring only for
/// agents with a live feed — the page shows it ringing, the agent answers, the dialler speaks
/// once it heard the agent (so each hears the other across G.711 and Opus), and the agent's
/// hang-up reaches the caller as a BYE.
#[test]
fn browser_agent_answers_a_phone_call_from_a_sip_trunk() {
    let (page_port, api_port) = (free_port(), free_port());
    let text = config(page_port, api_port) + INBOX_FLOW;
    let gw = Gateway::builder()
        .config(&text)
        .log("info,deflect_ivr=debug")
        .start();
    add_admin(&gw);
    let admin = common::session::Session::login(gw.http_addr(), "admin", "correct horse battery");
    let (status, body) = admin.call(
        "PUT",
        "/api/v1/me/presence",
        Some(serde_json::json!({ "presence": "available" })),
    );
    assert_eq!(status, 200, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let voice = common::baresip::tone(dir.path(), 440, 30);
    let (sip, http, logs) = (
        gw.listener("sip", Some("udp")),
        gw.http_addr(),
        gw.logs.clone(),
    );
    let (call, agent_answered) = std::thread::scope(|s| {
        let dialled = s.spawn(|| {
            let deadline = std::time::Instant::now() + common::PATIENCE;
            while !common::get(http, "/metrics")
                .1
                .contains("deflect_phone_agents_listening 1")
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the agent's page never opened its live feed"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let call = Dialler::call(
                sip,
                "31201234567",
                &[
                    "--wav",
                    voice.to_str().unwrap(),
                    "--silence",
                    "200ms",
                    "--from",
                    "+31201110000",
                ],
            );
            logs.wait_for("the agents rung", |l| {
                common::message(l, "ringing the inbox's agents")
            });
            logs.wait_for("the agent's answer", |l| {
                common::message(l, "an agent answered")
            });
            (call, std::time::Instant::now())
        });
        run_scenario("sipPhone", gw, page_port, api_port, &[]);
        dialled.join().unwrap()
    });
    let (spoke, _) = call.wait_for("playing 30.0 s of audio");
    assert!(
        spoke > agent_answered,
        "the dialler heard nothing before the agent answered"
    );
    call.wait_for("far end hung up");
    // The caller heard music while the agent's phone rang and while the agent held them.
    logs.wait_for("the agent taking the caller back", |l| {
        common::message(l, "the agent takes the caller back")
    });
    let lines = logs.json();
    let after = |from: usize, what: &str| {
        let music = what == "playing";
        from + (lines[from..].iter())
            .position(|l| {
                common::message(l, what)
                    && (!music
                        || l["prompts"]
                            .as_str()
                            .is_some_and(|p| p.contains("hold_music")))
            })
            .unwrap_or_else(|| panic!("no log line {what:?} after line {from}"))
    };
    let queued = after(0, "playing");
    let answered = after(queued, "an agent answered");
    let held = after(answered, "the agent holds the caller");
    let music = after(held, "playing");
    after(music, "the agent takes the caller back");
}

#[test]
fn browser_sandbox_phone_and_agent_answer_each_other() {
    scenario("sandbox");
}

/// The scenario serves the Graph API itself: customers' photo and voice note (spoken by
/// espeak-ng) downloaded and shown, receipts and typing received, ticks, and a 131047
/// failure explained again after a reload.
#[test]
fn browser_inbox_shows_files_ticks_and_explains_a_failure_after_a_reload() {
    scenario("rich");
}

/// The agent's workspace: offer cards taken by keyboard, unread badges and previews live,
/// "/" canned answers, search by message text, the waiting-for-customer view.
#[test]
fn browser_workspace_offers_unread_canned_search_and_waiting_view() {
    scenario_with(
        "workspace",
        r#"
[inbox]
offer_timeout = "60s"
"#,
    );
}

/// The inbox and the widget in the browser's language (Dutch), and the agent's own choice.
#[test]
fn browser_inbox_and_widget_speak_dutch_to_a_dutch_browser() {
    scenario("dutch");
}

#[test]
fn browser_inbox_with_a_thousand_open_conversations() {
    scenario("scale");
}

/// The issue's template promise in a browser: the WhatsApp Business Account's template list
/// is fetched from the fake Graph API at start, the agent picks a template with two
/// parameters in the inbox, fills them in and sends it, and Meta receives it in its format.
#[test]
fn browser_template_picker_sends_a_template_with_two_parameters() {
    let api = common::meta::FakeMeta::start();
    api.templates(vec![common::meta::order_update_template()]);
    let (page_port, api_port) = (free_port(), api.addr.port());
    let base = format!(r#"api_base_url = "http://127.0.0.1:{api_port}""#);
    let text = config(page_port, api_port)
        .replace(
            &base,
            &format!("{base}\nbusiness_account_id = \"102290129340398\""),
        )
        .replace(
            r#"access_token = "token""#,
            &format!(r#"access_token = "{}""#, common::meta::ACCESS_TOKEN),
        );
    scenario_on("templates", page_port, api_port, &text);
    let requests = api.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path.contains("/102290129340398/message_templates")),
        "{requests:?}"
    );
    let send = requests
        .iter()
        .find(|r| {
            r.method == "POST"
                && r.path == format!("/v24.0/{PHONE_NUMBER_ID}/messages")
                && r.body["type"] == "template"
        })
        .expect("the template was sent to Meta");
    assert_eq!(
        send.body["template"],
        serde_json::json!({"name": "order_update", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Vera"}, {"type": "text", "text": "Monday"}]}]})
    );
}
