//! From the call's BYE to WhatsApp, through the whole binary: the deflection's template
//! reaches a local fake of the Meta Cloud API in its exact wire format after the BYE, and
//! exactly once even when the gateway is killed (SIGKILL) after committing it and before
//! sending it. How soon after the BYE is a benchmark, not a test (`scripts/bench-calls
//! handoff`, BENCHMARKS.md); this test prints the delay it saw.

#![allow(clippy::unwrap_used)]

mod common;

use common::dialler::Dialler;
use common::meta::{self, FakeMeta};
use common::{Gateway, message};

const TEMPLATE: &str = r#"
[whatsapp.accounts.templates.deflection]
name = "callback_nl"
language = "nl"

# A send cut short by the SIGKILL (this fake sends no status callbacks) goes again after this.
[inbox.outbox]
unconfirmed_wait = "10s"
"#;

fn start(api: &str) -> Gateway {
    Gateway::builder()
        .config(&meta::account(api))
        .config(TEMPLATE)
        .log("info,deflect_ivr=debug")
        .start()
}

/// Checks one template request exactly as the Cloud API documents it.
fn assert_template(r: &meta::Request, to: &str) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v24.0/106540352242922/messages");
    assert_eq!(r.headers["authorization"], "Bearer EAAG-test-token");
    assert_eq!(r.headers["content-type"], "application/json");
    let b = &r.body;
    assert_eq!(b["messaging_product"], "whatsapp");
    assert_eq!(b["to"], to);
    assert_eq!(b["type"], "template");
    assert_eq!(b["template"]["name"], "callback_nl");
    assert_eq!(b["template"]["language"]["code"], "nl");
    let components = b["template"]["components"].as_array().unwrap();
    let reference = components[0]["parameters"][0]["text"].as_str().unwrap();
    assert_eq!(components[0]["type"], "body");
    assert!(reference.len() >= 4, "{b}");
    assert_eq!(components[1]["sub_type"], "quick_reply");
    assert_eq!(
        components[1]["parameters"][0]["payload"],
        format!("deflect:{reference}")
    );
}

#[test]
fn the_template_reaches_the_provider_after_the_bye() {
    let api = FakeMeta::start();
    let gw = start(&format!("http://{}", api.addr));
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    let (bye_at, _) = call.wait_for("far end hung up");
    let requests = api.wait_for(1);
    assert_template(&requests[0], "31623456789");
    let delay = requests[0].at.saturating_duration_since(bye_at);
    let early = bye_at.saturating_duration_since(requests[0].at);
    eprintln!(
        "BYE → template request: {:.1} ms{}",
        delay.as_secs_f64() * 1000.0,
        if early.is_zero() {
            String::new()
        } else {
            format!(
                " (the request came {:.1} ms before the dialler printed the BYE)",
                early.as_secs_f64() * 1000.0
            )
        }
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
}

#[test]
fn a_deflection_sends_exactly_one_template_across_a_sigkill() {
    // First run: the provider cannot be reached, so the template is committed but not sent.
    let gw = start("http://127.0.0.1:9");
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    gw.logs.wait_for("the hand-off", |l| {
        message(l, "deflection") && l["callback_number"] == "+31623456789"
    });
    gw.logs
        .wait_for("a failed send", |l| message(l, "send failed; will retry"));
    gw.signal("KILL");
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    let dir = gw.into_dir();

    // Second run on the same data, the provider answering: the template goes out once.
    let api = FakeMeta::start();
    let mut gw = Gateway::builder()
        .config(&meta::account("http://127.0.0.1:9"))
        .config(TEMPLATE)
        .env(
            "DEFLECT_WHATSAPP__ACCOUNTS__MAIN__API_BASE_URL",
            &format!("http://{}", api.addr),
        )
        .dir(dir)
        .start();
    let requests = api.wait_for(1);
    assert_template(&requests[0], "31623456789");
    // A clean stop lets the send in progress record its result.
    gw.signal("TERM");
    assert_eq!(gw.wait().code(), Some(0));
    assert_eq!(api.requests().len(), 1);
    let db = gw.data_dir().join("deflect.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (outbox, deflections): (Vec<(String, i64)>, i64) = rt.block_on(async {
        use sqlx::Row;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let outbox = sqlx::query("SELECT state, attempts FROM outbox")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect();
        let deflections: i64 = sqlx::query("SELECT COUNT(*) FROM deflections")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        (outbox, deflections)
    });
    assert_eq!(deflections, 1);
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].0, "sent");
    assert!(
        outbox[0].1 >= 2,
        "the failed attempt and the one that went: {outbox:?}"
    );
}

/// A call deflected to 0623456789: its template (checked), and the reference it carries.
fn deflect(gw: &Gateway, api: &FakeMeta) -> (Dialler, String) {
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    let template = api.wait_for(1).remove(0);
    assert_template(&template, "31623456789");
    let reference = template.body["template"]["components"][0]["parameters"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    (call, reference)
}

/// Meta reports (the `n`-th time) that the deflection's template cannot reach the number:
/// failed, 131026.
fn undeliverable(gw: &Gateway, n: usize) {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
            "statuses": [{"id": "wamid.fake1", "status": "failed", "timestamp": format!("176722560{n}"),
                "recipient_id": "31623456789",
                "errors": [{"code": 131026, "title": "Message undeliverable"}]}]
        }}]}]
    })
    .to_string();
    let sig = deflect_chat::provider::meta::sign("app-secret", body.as_bytes());
    let (status, _) = common::http(
        gw.http_addr(),
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        body.as_bytes(),
    );
    assert_eq!(status, 200);
}

/// WhatsApp cannot reach the deflected caller (Meta's status: failed, 131026): the account's
/// SMS fallback sends one SMS (Twilio Programmable SMS, in its wire format) to the callback
/// number with the conversation's reference and the business's WhatsApp link; a second
/// failure sends nothing more. The customer's SMS answer joins the conversation, and the
/// agent's reply goes back by SMS.
#[test]
fn an_undeliverable_deflection_falls_back_to_one_sms() {
    let api = FakeMeta::start();
    let base = format!("http://{}", api.addr);
    let gw = Gateway::builder()
        .config(&meta::account(&base))
        .config(&format!(
            r#"{TEMPLATE}
[whatsapp.accounts.sms_fallback]
provider = "twilio"
from = "+3197010200300"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "twilio-sms-token"
api_base_url = "{base}"
text = "No WhatsApp? Reference {{{{reference}}}}: {{{{link}}}}"
"#
        ))
        .start();
    let (call, reference) = deflect(&gw, &api);
    let failed = |n: usize| undeliverable(&gw, n);
    failed(1);
    let sms = api.wait_for(2).remove(1);
    assert_eq!(
        (sms.method.as_str(), sms.path.as_str()),
        (
            "POST",
            "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        )
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD
        .encode("AC0123456789abcdef0123456789abcdef:twilio-sms-token");
    assert_eq!(sms.headers["authorization"], format!("Basic {basic}"));
    let form = deflect_chat::provider::twilio::parse_form(&sms.raw);
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        form,
        vec![
            f("From", "+3197010200300"),
            f("To", "+31623456789"),
            f(
                "Body",
                &format!("No WhatsApp? Reference {reference}: https://wa.me/31201234567")
            ),
        ]
    );
    // Failing again (Meta may report it twice) sends no second SMS.
    failed(2);
    let (status, metrics) = common::get(gw.http_addr(), "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"deflect_inbox_sms_fallbacks_total{account="main"} 1"#),
        "{metrics}"
    );
    assert_eq!(api.requests().len(), 2, "{:?}", api.requests());

    // The customer answers by SMS (Twilio's inbound form, signed with the fallback's token):
    // a bad signature is refused; the signed one joins the conversation, which queues and
    // continues by SMS — an agent's reply goes out as an SMS.
    let url = format!("http://{}/webhooks/sms/main", gw.http_addr());
    let form = |sid: &str| {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        vec![
            p("MessageSid", sid),
            p("From", "+31623456789"),
            p("To", "+3197010200300"),
            p("Body", "No WhatsApp here, SMS is fine"),
        ]
    };
    let post = |params: &[(String, String)], token: &str| {
        // The form encoding of a URL's query is the body's.
        let encoded = reqwest::Url::parse_with_params("http://form/", params).unwrap();
        let body = encoded.query().unwrap_or_default().to_string();
        let sig = deflect_chat::provider::twilio::sign(token, &url, params);
        let headers = [
            ("X-Twilio-Signature", sig.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        common::http(
            gw.http_addr(),
            "POST",
            "/webhooks/sms/main",
            &headers,
            body.as_bytes(),
        )
        .0
    };
    assert_eq!(post(&form("SM1"), "another-token"), 401);
    assert_eq!(post(&form("SM1"), "twilio-sms-token"), 200);
    assert_eq!(
        post(&form("SM1"), "twilio-sms-token"),
        200,
        "a repeat stores nothing"
    );
    let ann = common::session::agent(&gw, "ann", "main");
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    let c = &list["conversations"][0];
    assert_eq!(
        (c["channel"].as_str(), c["status"].as_str()),
        (Some("sms"), Some("queued")),
        "{list}"
    );
    let id = c["id"].as_i64().unwrap();
    let (_, messages) = ann.call("GET", &format!("/api/v1/conversations/{id}/messages"), None);
    let answers = (messages["messages"].as_array().unwrap().iter())
        .filter(|m| m["body"] == "No WhatsApp here, SMS is fine" && m["channel"] == "sms")
        .count();
    assert_eq!(answers, 1, "{messages}");
    let (status, _) = ann.call("POST", &format!("/api/v1/conversations/{id}/claim"), None);
    assert_eq!(status, 200);
    let body = serde_json::json!({ "text": "We will call you back at 3 pm." });
    let (status, sent) = ann.call(
        "POST",
        &format!("/api/v1/conversations/{id}/messages"),
        Some(body),
    );
    assert_eq!(status, 201, "{sent}");
    let reply = api.wait_for(3).remove(2);
    let form = deflect_chat::provider::twilio::parse_form(&reply.raw);
    assert_eq!(
        (reply.path.as_str(), form),
        (
            "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json",
            vec![
                f("From", "+3197010200300"),
                f("To", "+31623456789"),
                f("Body", "We will call you back at 3 pm."),
            ]
        )
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
}

/// The SMS fallback on Sinch's SMS API, in the running binary: the deflection WhatsApp cannot
/// deliver sends one batch (Sinch's wire format, the plan's bearer token) asking for its
/// final delivery report at the gateway's SMS webhook; Sinch's signed report marks the SMS
/// delivered; the customer's answer (`mo_text`, signed with the fallback's webhook secret)
/// joins the conversation once; a bad signature is 401 and stores nothing.
#[test]
fn a_sinch_sms_fallback_reports_delivery_and_takes_the_answer() {
    use common::sinch::{SMS_PLAN, SMS_TOKEN, signed};
    let api = FakeMeta::start();
    let base = format!("http://{}", api.addr);
    let gw = Gateway::builder()
        .config(&meta::account(&base))
        .config(&format!(
            r#"{TEMPLATE}
[whatsapp.accounts.sms_fallback]
provider = "sinch"
from = "Acme"
service_plan_id = "{SMS_PLAN}"
api_token = "{SMS_TOKEN}"
region = "eu"
webhook_secret = "sinch-sms-secret"
api_base_url = "{base}"
text = "No WhatsApp? Reference {{{{reference}}}}"
"#
        ))
        .env("DEFLECT_HTTP__PUBLIC_BASE_URL", "https://gw.example.com")
        .start();
    let (call, reference) = deflect(&gw, &api);
    undeliverable(&gw, 1);
    let sms = api.wait_for(2).remove(1);
    assert_eq!(
        (sms.method.as_str(), sms.path.as_str()),
        ("POST", format!("/xms/v1/{SMS_PLAN}/batches").as_str())
    );
    assert_eq!(sms.headers["authorization"], format!("Bearer {SMS_TOKEN}"));
    let correlation = sms.body["client_reference"].as_str().unwrap().to_string();
    assert!(correlation.starts_with("deflect-outbox-"), "{}", sms.body);
    assert_eq!(
        sms.body,
        serde_json::json!({"from": "Acme", "to": ["+31623456789"], "type": "mt_text",
            "body": format!("No WhatsApp? Reference {reference}"),
            "client_reference": correlation, "delivery_report": "per_recipient_final",
            "callback_url": "https://gw.example.com/webhooks/sms/main"})
    );
    let post = |body: serde_json::Value, secret: &str| {
        let body = body.to_string();
        let headers = signed(secret, body.as_bytes());
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        common::http(
            gw.http_addr(),
            "POST",
            "/webhooks/sms/main",
            &headers,
            body.as_bytes(),
        )
        .0
    };
    // Sinch's final report: delivered.
    let report = serde_json::json!({"type": "recipient_delivery_report_sms",
        "batch_id": "01SMSBATCH000002", "recipient": "+31623456789", "code": 0,
        "status": "Delivered", "at": "2026-12-06T10:00:01.000Z", "client_reference": correlation});
    assert_eq!(post(report.clone(), "another-secret"), 401);
    assert_eq!(post(report, "sinch-sms-secret"), 200);
    let ann = common::session::agent(&gw, "ann", "main");
    let (_, list) = ann.call("GET", "/api/v1/conversations?status=pending", None);
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    let messages = |ann: &common::session::Session| {
        let (_, m) = ann.call("GET", &format!("/api/v1/conversations/{id}/messages"), None);
        m["messages"].as_array().unwrap().clone()
    };
    let sent = messages(&ann);
    let sms = (sent.iter()).find(|m| m["kind"] == "sms").unwrap();
    assert_eq!(sms["status"], "delivered", "{sms}");
    // The customer's answer joins the conversation, once.
    let mo = serde_json::json!({"type": "mo_text", "id": "01FC66621VHDBN119Z8PMV1AHY",
        "from": "31623456789", "to": "Acme", "body": "SMS is fine",
        "received_at": "2026-12-06T10:01:00.000Z"});
    assert_eq!(post(mo.clone(), "another-secret"), 401);
    assert_eq!(post(mo.clone(), "sinch-sms-secret"), 200);
    assert_eq!(post(mo, "sinch-sms-secret"), 200, "a repeat stores nothing");
    let answers = (messages(&ann).iter())
        .filter(|m| m["body"] == "SMS is fine" && m["channel"] == "sms")
        .count();
    assert_eq!(answers, 1);
    let (_, c) = ann.call("GET", &format!("/api/v1/conversations/{id}"), None);
    assert_eq!(c["conversation"]["channel"], "sms", "{c}");
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
}
