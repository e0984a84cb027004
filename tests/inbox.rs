//! The inbox in the running binary: schema migrations, provider webhooks on the HTTP
//! listener, SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::session::{Session, agent};
use common::{Gateway, get, http, run_cli};
use deflect_chat::provider::meta;

/// One Meta account `main`; its API is never reached in these tests.
fn meta() -> String {
    common::meta::account("http://127.0.0.1:9")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/chat/tests/data/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn metric(addr: std::net::SocketAddr, needle: &str) -> bool {
    get(addr, "/metrics")
        .1
        .lines()
        .any(|l| l.starts_with(needle))
}

fn webhooks_are_verified_and_stored(gw: &Gateway) {
    let addr = gw.http_addr();
    let (status, body) = get(
        addr,
        "/webhooks/meta/main?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42",
    );
    assert_eq!((status, body.as_str()), (200, "42"));
    let body = fixture("batch.json");
    let (status, _) = http(
        addr,
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", "sha256=00")],
        &body,
    );
    assert_eq!(status, 401);
    let sig = meta::sign("app-secret", &body);
    let (status, _) = http(
        addr,
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        &body,
    );
    assert_eq!(status, 200);
    assert!(metric(
        addr,
        r#"deflect_inbox_messages_total{direction="in",channel="whatsapp"} 3"#
    ));
    // Again: a duplicate delivery stores nothing more.
    let (status, _) = http(
        addr,
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        &body,
    );
    assert_eq!(status, 200);
    assert!(metric(
        addr,
        r#"deflect_inbox_duplicate_deliveries_total 3"#
    ));
}

#[test]
fn migrate_creates_the_schema_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("DEFLECT_DATA_DIR", data.to_str().unwrap())];
    for _ in 0..2 {
        let (code, _out, err) = run_cli(&["--log-format", "json", "migrate"], &env);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("database schema up to date"), "{err}");
    }
    assert!(data.join("deflect.db").exists());
}

#[test]
fn sqlite_gateway_takes_webhooks() {
    let gw = Gateway::builder().config(&meta()).start();
    webhooks_are_verified_and_stored(&gw);
    assert_eq!(gw.stop().code(), Some(0));
}

#[test]
fn postgres_gateways_share_one_database() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(deflect_chat::testing::postgres_database());
    let a = Gateway::builder()
        .config(&meta())
        .env("DEFLECT_DATABASE__URL", url.expose())
        .start();
    webhooks_are_verified_and_stored(&a);
    // A second process on the same database sees those messages as already stored.
    let b = Gateway::builder()
        .config(&meta())
        .env("DEFLECT_DATABASE__URL", url.expose())
        .start();
    let body = fixture("batch.json");
    let sig = meta::sign("app-secret", &body);
    let (status, _) = http(
        b.http_addr(),
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        &body,
    );
    assert_eq!(status, 200);
    assert!(metric(
        b.http_addr(),
        r#"deflect_inbox_duplicate_deliveries_total 3"#
    ));
    assert_eq!(a.stop().code(), Some(0));
    assert_eq!(b.stop().code(), Some(0));
}

/// A signed Meta webhook delivery of one text message `id` from `from` (named Ann).
fn post_text(gw: &Gateway, id: &str, from: &str, text: &str) {
    let message = serde_json::json!({"from": from, "id": id, "timestamp": "1767225600",
                                     "type": "text", "text": {"body": text}});
    post_message(gw, message);
}

/// `[inbox.automations]` in the running binary, against the fake Cloud API: a first message
/// gets exactly one welcome; a number off the account's whitelist gets the whitelist reply
/// and its conversation closes without reaching a queue.
#[test]
fn automations_welcome_first_contacts_and_turn_strangers_away() {
    let api = common::meta::FakeMeta::start();
    let config = format!(
        r#"{}
[whatsapp.accounts.automations]
whitelist = ["+3161*"]
whitelist_reply = "Members only, {{{{customer_name}}}}."
ice_breakers = ["Track my order", "Opening hours"]

[inbox.automations]
welcome_message = "Welcome {{{{customer_name}}}}!"
"#,
        common::meta::account(&format!("http://{}", api.addr))
    );
    let gw = Gateway::builder().config(&config).start();
    // At start-up, the account's ice breakers go to its conversational components.
    let pushed = api.wait_for(1).remove(0);
    assert_eq!(
        (pushed.method.as_str(), pushed.path.as_str()),
        ("POST", "/v24.0/106540352242922/conversational_automation")
    );
    assert_eq!(pushed.headers["authorization"], "Bearer EAAG-test-token");
    assert_eq!(
        pushed.body,
        serde_json::json!({"enable_welcome_message": false, "prompts": ["Track my order", "Opening hours"]})
    );
    post_text(&gw, "wamid.1", "31612345678", "hi");
    post_text(&gw, "wamid.2", "31612345678", "are you there?");
    post_text(&gw, "wamid.3", "4930111222", "let me in");
    let sent = api.wait_for(3);
    let texts: Vec<(String, String)> = sent[1..]
        .iter()
        .map(|r| {
            (
                r.body["to"].as_str().unwrap().to_string(),
                r.body["text"]["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        texts.contains(&("31612345678".into(), "Welcome Ann!".into())),
        "{texts:?}"
    );
    assert!(
        texts.contains(&("4930111222".into(), "Members only, Ann.".into())),
        "{texts:?}"
    );
    // Every delivery was committed before it was answered: one welcome, one refusal, and
    // the stranger's conversation closed unqueued.
    let addr = gw.http_addr();
    assert!(metric(
        addr,
        r#"deflect_inbox_automations_total{rule="welcome"} 1"#
    ));
    assert!(metric(
        addr,
        r#"deflect_inbox_automations_total{rule="whitelist"} 1"#
    ));
    assert!(metric(
        addr,
        r#"deflect_inbox_conversations_closed_total{disposition="not whitelisted"} 1"#
    ));
    assert_eq!(api.requests().len(), 3);
    assert_eq!(gw.stop().code(), Some(0));
}

/// A bot speaking Rasa's REST channel on a thread of its own: each turn is answered with the
/// next scripted list of messages.
fn scripted_rasa(answers: Vec<serde_json::Value>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/webhooks/rest/webhook",
        listener.local_addr().unwrap()
    );
    listener.set_nonblocking(true).unwrap();
    let script = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
        answers,
    )));
    common::on_thread(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let app = axum::Router::new().route(
            "/webhooks/rest/webhook",
            axum::routing::post(move |axum::Json(_turn): axum::Json<serde_json::Value>| {
                let next = script.lock().unwrap().pop_front();
                async move { axum::Json(next.unwrap_or(serde_json::json!([]))) }
            }),
        );
        axum::serve(listener, app).await.unwrap();
    });
    url
}

/// The texts the fake Cloud API was asked to send, as (to, body).
fn texts(requests: &[common::meta::Request]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| {
            (
                r.body["to"].as_str().unwrap_or_default().to_string(),
                r.body["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Bots in the running binary: a Rasa-REST bot answers two turns and hands over (the
/// customer is queued); the built-in FAQ bot answers a question it knows and hands over
/// when asked for an agent; a dead bot hands over within its timeout.
#[test]
fn bots_answer_then_hand_over_and_a_dead_one_hands_over_at_once() {
    let api = common::meta::FakeMeta::start();
    let rasa = scripted_rasa(vec![
        serde_json::json!([{"recipient_id": "x", "text": "Hi! Your order number?"}]),
        serde_json::json!([{"recipient_id": "x", "text": "Thanks, a colleague takes over."},
                           {"recipient_id": "x", "custom": {"handover": true}}]),
    ]);
    let account = common::meta::account(&format!("http://{}", api.addr));
    let config = |bot: &str, url: &str| {
        format!(
            r#"{account}
[inbox.automations]
bot = "{bot}"

[[inbox.bots]]
name = "rasa"
url = "{url}"
timeout = "2s"

[[inbox.faq]]
question = "What are your opening hours? When are you open?"
answer = "Monday to Friday, 9-17."
"#
        )
    };
    let gw = Gateway::builder().config(&config("rasa", &rasa)).start();
    post_text(&gw, "wamid.r1", "31612345678", "hi");
    api.wait_for(1);
    post_text(&gw, "wamid.r2", "31612345678", "A-1234");
    let sent = texts(&api.wait_for(2));
    assert_eq!(
        sent,
        [
            (
                "31612345678".to_string(),
                "Hi! Your order number?".to_string()
            ),
            (
                "31612345678".to_string(),
                "Thanks, a colleague takes over.".to_string()
            ),
        ]
    );
    let handed = gw.logs.wait_for("the hand-over", |l| {
        common::message(l, "handed over by its bot")
    });
    assert_eq!(handed["reason"], "the bot handed the conversation over");
    assert_eq!(gw.stop().code(), Some(0));

    // The FAQ bot; then a bot whose URL answers nothing.
    let api_requests_before = api.requests().len();
    let gw = Gateway::builder().config(&config("faq", &rasa)).start();
    post_text(&gw, "wamid.f1", "31687654321", "when are you open?");
    let sent = texts(&api.wait_for(api_requests_before + 1));
    assert_eq!(sent.last().unwrap().1, "Monday to Friday, 9-17.");
    let answered = gw
        .logs
        .wait_for("the FAQ answer", |l| common::message(l, "FAQ answered"));
    assert_eq!(answered["entry"], 0);
    post_text(&gw, "wamid.f2", "31687654321", "I want an agent");
    // Committed before the webhook was answered.
    let handed = gw.logs.wait_for("the hand-over", |l| {
        common::message(l, "handed over by its bot")
    });
    assert_eq!(handed["reason"], "the customer asked for a person");
    assert_eq!(gw.stop().code(), Some(0));

    let gw = Gateway::builder()
        .config(&config("rasa", "http://127.0.0.1:9/"))
        .start();
    post_text(&gw, "wamid.d1", "31600000001", "hi");
    let handed = gw.logs.wait_for("the dead bot's hand-over", |l| {
        common::message(l, "handed over by its bot")
    });
    let reason = handed["reason"].as_str().unwrap();
    assert!(reason.starts_with("bot rasa: "), "{reason}");
    assert!(metric(
        gw.http_addr(),
        r#"deflect_bot_requests_total{bot="rasa",outcome="unreachable"} 1"#
    ));
    assert_eq!(gw.stop().code(), Some(0));
}

/// Seconds since the Unix epoch, as Meta writes a message's `timestamp` (the 24 h window
/// runs from it).
fn unix_now() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.unwrap().as_secs().to_string()
}

/// A signed Meta webhook delivery of `message` (from a contact named Ann), answered 200.
fn post_message(gw: &Gateway, message: serde_json::Value) {
    let body = common::meta::messages_webhook(message);
    let sig = meta::sign("app-secret", body.as_bytes());
    let headers = [("X-Hub-Signature-256", sig.as_str())];
    let (status, _) = http(
        gw.http_addr(),
        "POST",
        "/webhooks/meta/main",
        &headers,
        body.as_bytes(),
    );
    assert_eq!(status, 200);
}

/// Templates in the running binary, against the fake Cloud API: the WhatsApp Business
/// Account's list is fetched at start (with the bearer token), an agent sees it, and a
/// template with two parameters goes out in Meta's send format, the message showing the text
/// the customer received.
#[test]
fn the_template_list_is_fetched_and_a_template_with_two_parameters_is_sent() {
    let api = common::meta::FakeMeta::start();
    api.templates(vec![common::meta::order_update_template()]);
    let config = format!(
        "{}business_account_id = \"102290129340398\"\n",
        common::meta::account(&format!("http://{}", api.addr))
    );
    let gw = Gateway::builder().config(&config).start();
    let addr = gw.http_addr();
    let listed = gw.logs.wait_for("the template list", |l| {
        common::message(l, "message templates listed")
    });
    assert_eq!(listed["templates"], 1, "{listed}");
    let fetched = api.requests();
    let list = fetched
        .iter()
        .find(|r| r.path.contains("/message_templates"))
        .expect("the template list was asked for");
    assert_eq!(list.method, "GET");
    assert!(
        list.path.starts_with("/v24.0/102290129340398/message_templates?fields=name,language,status,category,components,parameter_format"),
        "{}",
        list.path
    );
    assert_eq!(list.headers["authorization"], "Bearer EAAG-test-token");

    let ann = agent(&gw, "ann", "main");
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.t1", "timestamp": unix_now(),
                           "type": "text", "text": {"body": "Where is my order?"}}),
    );
    let (status, listed) = ann.call("GET", "/api/v1/templates", None);
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["templates"][0]["name"], "order_update");
    assert_eq!(
        listed["templates"][0]["parameters"],
        serde_json::json!(["1", "2"])
    );
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    let (status, claimed) = ann.call("POST", &format!("/api/v1/conversations/{id}/claim"), None);
    assert_eq!(status, 200, "{claimed}");
    let before = api.requests().len();
    let (status, sent) = ann.call(
        "POST",
        &format!("/api/v1/conversations/{id}/messages"),
        Some(
            serde_json::json!({"template": {"name": "order_update", "language": "en_US",
                                              "parameters": ["Ann", "Monday"]}}),
        ),
    );
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        sent["message"]["body"],
        "Hi Ann, your order ships on Monday."
    );
    let requests = api.wait_for(before + 1);
    let send = &requests[before];
    assert_eq!(
        (send.method.as_str(), send.path.as_str()),
        ("POST", "/v24.0/106540352242922/messages")
    );
    assert_eq!(send.body["type"], "template");
    assert_eq!(
        send.body["template"],
        serde_json::json!({"name": "order_update", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Ann"}, {"type": "text", "text": "Monday"}]}]})
    );
    let metrics = get(addr, "/metrics").1;
    assert!(
        metrics.lines().any(
            |l| l.starts_with("deflect_whatsapp_template_refreshes_total{")
                && l.contains(r#"account="main""#)
                && l.contains(r#"outcome="ok""#)
                && l.ends_with(" 1")
        ),
        "{metrics}"
    );
    assert_eq!(gw.stop().code(), Some(0));
}

/// The issue's CSAT promise in the running binary, against the fake Cloud API: an agent
/// answers a customer and closes the conversation; exactly one interactive survey goes out,
/// and the customer's button reply (a signed webhook) is stored on the closed conversation —
/// nothing new opens — and the follow-up question is asked.
#[test]
fn csat_an_agents_close_sends_one_interactive_survey_whose_button_reply_is_stored() {
    let api = common::meta::FakeMeta::start();
    let config = format!(
        "{}\n[inbox.automations]\ncsat = true\n",
        common::meta::account(&format!("http://{}", api.addr))
    );
    let gw = Gateway::builder().config(&config).start();
    let addr = gw.http_addr();
    let ann = available_agent(&gw);

    // The customer writes; the conversation is offered to Ann, who answers and closes it.
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.in1", "timestamp": unix_now(),
                           "type": "text", "text": {"body": "My order is late"}}),
    );
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    let c = &list["conversations"][0];
    assert_eq!(c["status"], "offered", "{list}");
    let (id, reference) = (
        c["id"].as_i64().unwrap(),
        c["reference"].as_str().unwrap().to_string(),
    );
    let path = |p: &str| format!("/api/v1/conversations/{id}{p}");
    assert_eq!(ann.call("POST", &path("/accept"), None).0, 200);
    let text = serde_json::json!({ "text": "Sorry! It ships today." });
    assert_eq!(ann.call("POST", &path("/messages"), Some(text)).0, 201);
    let (status, closed) = ann.call("POST", &path("/close"), Some(serde_json::json!({})));
    assert_eq!(status, 200, "{closed}");

    // Two sends: Ann's text and exactly one interactive survey.
    let sent = api.wait_for(2);
    let surveys: Vec<_> = sent
        .iter()
        .filter(|r| r.body["type"] == "interactive")
        .collect();
    assert_eq!(surveys.len(), 1, "{sent:?}");
    let survey = &surveys[0].body;
    assert_eq!(survey["to"], "31612345678");
    assert_eq!(survey["interactive"]["type"], "button");
    assert_eq!(
        survey["interactive"]["body"]["text"],
        "How would you rate your conversation with us?"
    );
    let buttons = &survey["interactive"]["action"]["buttons"];
    assert_eq!(
        *buttons,
        serde_json::json!([
            {"type": "reply", "reply": {"id": format!("csat:{reference}:5"), "title": "Good"}},
            {"type": "reply", "reply": {"id": format!("csat:{reference}:3"), "title": "Neutral"}},
            {"type": "reply", "reply": {"id": format!("csat:{reference}:1"), "title": "Bad"}}
        ])
    );

    // The customer taps "Good": Meta's signed interactive button_reply webhook.
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.in2", "timestamp": unix_now(),
                           "context": {"from": "31201234567", "id": "wamid.fake2"},
                           "type": "interactive",
                           "interactive": {"type": "button_reply", "button_reply":
                               {"id": format!("csat:{reference}:5"), "title": "Good"}}}),
    );
    // Committed before it was answered: the score is on the closed conversation, and no
    // conversation opened.
    let (_, detail) = ann.call("GET", &path(""), None);
    assert_eq!(detail["conversation"]["csat_score"], 5, "{detail}");
    assert_eq!(detail["conversation"]["status"], "closed");
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    assert_eq!(list["conversations"].as_array().unwrap().len(), 1, "{list}");
    assert!(metric(
        addr,
        r#"deflect_inbox_csat_answers_total{score="5"} 1"#
    ));
    assert!(metric(
        addr,
        r#"deflect_inbox_automations_total{rule="csat"} 1"#
    ));
    // The follow-up question goes out; still one survey.
    let sent = api.wait_for(3);
    assert_eq!(
        sent[2].body["text"]["body"],
        "Thank you! Anything you would like to tell us?"
    );
    assert_eq!(
        sent.iter()
            .filter(|r| r.body["type"] == "interactive")
            .count(),
        1
    );
    assert_eq!(gw.stop().code(), Some(0));
}

/// Agent `ann` (queue `default`, account `main`) added with the command line, logged in and
/// available.
fn available_agent(gw: &Gateway) -> Session {
    let ann = agent(gw, "ann", "main");
    let (status, _) = ann.call(
        "PUT",
        "/api/v1/me/presence",
        Some(serde_json::json!({ "presence": "available" })),
    );
    assert_eq!(status, 200);
    ann
}

/// A gateway on the fake Cloud API with agent ann available, and the conversation a customer
/// opened by writing `text` (message `wamid.in1`).
fn customer_wrote(text: &str) -> (common::meta::FakeMeta, Gateway, Session, i64) {
    let api = common::meta::FakeMeta::start();
    let config = common::meta::account(&format!("http://{}", api.addr));
    let gw = Gateway::builder().config(&config).start();
    let ann = available_agent(&gw);
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.in1", "timestamp": unix_now(),
                           "type": "text", "text": {"body": text}}),
    );
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    (api, gw, ann, id)
}

/// Interactive messages in the running binary, against the fake Cloud API: an agent sends a
/// list through the API and Meta receives exactly its interactive list message; the
/// customer's choice (a signed `list_reply` webhook) is in the message API with the row's id
/// and title.
#[test]
fn interactive_an_agents_list_reaches_meta_and_the_customers_choice_comes_back() {
    let (api, gw, ann, id) = customer_wrote("How can I get it delivered?");
    let path = |p: &str| format!("/api/v1/conversations/{id}{p}");
    assert_eq!(ann.call("POST", &path("/accept"), None).0, 200);

    let interactive = serde_json::json!({"type": "list", "button": "Shipping options", "sections": [
        {"title": "Fast", "rows": [{"id": "express", "title": "Express", "description": "Next day"}]},
        {"title": "Cheap", "rows": [{"id": "standard", "title": "Standard"}, {"id": "pickup", "title": "Pick-up point"}]}
    ]});
    let (status, created) = ann.call(
        "POST",
        &path("/messages"),
        Some(serde_json::json!({ "text": "Which shipping do you prefer?", "interactive": interactive })),
    );
    assert_eq!(status, 201, "{created}");
    let mut shown = interactive.clone();
    shown["body"] = "Which shipping do you prefer?".into();
    assert_eq!(created["message"]["interactive"], shown);

    // Exactly Meta's interactive list message (and the send's correlation).
    let sent = api.wait_for(1);
    assert_eq!(sent.len(), 1);
    let mut body = sent[0].body.clone();
    let correlation = body
        .as_object_mut()
        .unwrap()
        .remove("biz_opaque_callback_data")
        .unwrap();
    assert!(correlation.as_str().unwrap().starts_with("deflect-outbox-"));
    assert_eq!(
        body,
        serde_json::json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Which shipping do you prefer?"},
                "action": {
                    "button": "Shipping options",
                    "sections": [
                        {"title": "Fast", "rows": [
                            {"id": "express", "title": "Express", "description": "Next day"}
                        ]},
                        {"title": "Cheap", "rows": [
                            {"id": "standard", "title": "Standard"},
                            {"id": "pickup", "title": "Pick-up point"}
                        ]}
                    ]
                }
            }
        })
    );

    // The customer picks "Pick-up point": Meta's signed list_reply webhook.
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.in2", "timestamp": unix_now(),
                           "context": {"from": "31201234567", "id": "wamid.fake1"},
                           "type": "interactive",
                           "interactive": {"type": "list_reply", "list_reply":
                               {"id": "pickup", "title": "Pick-up point"}}}),
    );
    let (status, msgs) = ann.call("GET", &path("/messages"), None);
    assert_eq!(status, 200);
    let msgs = msgs["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[0]["interactive"], serde_json::Value::Null);
    assert_eq!(msgs[1]["interactive"], shown);
    let choice = &msgs[2];
    assert_eq!(
        (&choice["direction"], &choice["kind"], &choice["body"]),
        (&"in".into(), &"interactive".into(), &"Pick-up point".into())
    );
    assert_eq!(
        choice["interactive"],
        serde_json::json!({"type": "list_reply", "id": "pickup", "title": "Pick-up point"})
    );
    assert_eq!(gw.stop().code(), Some(0));
}

/// An agent's PDF: uploaded through the API (its type read from the bytes), sent with a
/// caption; the gateway uploads it to the fake Cloud API as Meta's multipart form
/// (`messaging_product`, `type`, the `file` with its name and type, bearer token) and sends a
/// document message by the media id Meta answered, with the caption and the file's name.
#[test]
fn an_agents_pdf_is_uploaded_to_meta_and_sent_as_a_document() {
    let api = common::meta::FakeMeta::start();
    let config = common::meta::account(&format!("http://{}", api.addr));
    let gw = Gateway::builder().config(&config).start();
    let addr = gw.http_addr();
    let ann = agent(&gw, "ann", "main");
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.ask1", "timestamp": unix_now(),
                           "type": "text", "text": {"body": "Can you send me the form?"}}),
    );
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    let (status, claimed) = ann.call("POST", &format!("/api/v1/conversations/{id}/claim"), None);
    assert_eq!(status, 200, "{claimed}");

    let pdf = [b"%PDF-1.7\n".as_slice(), &[b'x'; 20_000], b"\n%%EOF\n"].concat();
    let headers = [
        ("Cookie", ann.cookie.as_str()),
        ("X-CSRF-Token", ann.csrf.as_str()),
        ("Content-Type", "application/pdf"),
    ];
    let path = format!("/api/v1/conversations/{id}/attachments?filename=Form%2042.pdf");
    let (status, _, text) = common::request(addr, "POST", &path, &headers, &pdf);
    assert_eq!(status, 201, "{text}");
    let upload: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(upload["kind"], "document");
    assert_eq!(upload["mime_type"], "application/pdf");
    assert_eq!(upload["filename"], "Form 42.pdf");
    let body = serde_json::json!({"text": "The form, as promised",
                                  "attachments": [{"token": upload["token"]}]});
    let (status, sent) = ann.call(
        "POST",
        &format!("/api/v1/conversations/{id}/messages"),
        Some(body),
    );
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["message"]["attachments"][0]["url"], upload["url"]);

    // The upload, then the message (after whatever else the gateway asked the API before).
    let mut n = 2;
    let seen = loop {
        let seen = api.wait_for(n);
        if seen.iter().any(|r| r.path.ends_with("/messages")) {
            break seen;
        }
        n += 1;
    };
    let at = (seen.iter())
        .position(|r| r.path.ends_with("/media"))
        .expect("the file was uploaded");
    let (uploaded, message) = (&seen[at], &seen[at + 1]);
    assert_eq!(
        (uploaded.method.as_str(), uploaded.path.as_str()),
        ("POST", "/v24.0/106540352242922/media")
    );
    assert_eq!(uploaded.headers["authorization"], "Bearer EAAG-test-token");
    let boundary = uploaded.headers["content-type"]
        .strip_prefix("multipart/form-data; boundary=")
        .expect("a multipart upload")
        .to_string();
    assert_eq!(
        uploaded.headers["content-length"],
        uploaded.raw.len().to_string()
    );
    let mut expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Form 42.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    expected.extend_from_slice(&pdf);
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert!(
        uploaded.raw == expected,
        "the multipart body as Meta reads it"
    );
    // The fake numbers its answers by request.
    let media_id = format!("10375432915436{}", at + 1);
    assert_eq!(
        (message.method.as_str(), message.path.as_str()),
        ("POST", "/v24.0/106540352242922/messages")
    );
    assert_eq!(message.body["type"], "document");
    assert_eq!(
        message.body["document"],
        serde_json::json!({"id": media_id, "caption": "The form, as promised", "filename": "Form 42.pdf"})
    );
    assert_eq!(message.body["to"], "31612345678");
    assert_eq!(gw.stop().code(), Some(0));
}

/// A JPEG photo of about 40 kB whose bytes differ with `seed`.
fn photo(seed: u32) -> Vec<u8> {
    [
        &[
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
        ][..],
        &(0..40_000u32)
            .map(|i| (i * seed % 251) as u8)
            .collect::<Vec<_>>(),
    ]
    .concat()
}

/// The issue's media promise in the running binary, against the fake Cloud API: a customer's
/// image webhook is answered at once, and the photo is fetched with the bearer token (the
/// media URL, then the file) within a second of it, stored, and served from the URL its
/// message carries to an agent of its account — byte for byte, with the type read from the
/// bytes and `nosniff` — while an agent of another account gets 404.
#[test]
fn an_image_webhook_is_downloaded_at_once_and_served_to_its_accounts_agents_only() {
    let api = common::meta::FakeMeta::start();
    let photo = photo(7);
    api.media("1003383421387256", photo.clone());
    let config = format!(
        r#"{}
[[whatsapp.accounts]]
name = "other"
provider = "meta"
business_number = "+31207654321"
phone_number_id = "106540352242923"
access_token = "EAAG-other-token"
app_secret = "other-secret"
verify_token = "verify-other"
api_base_url = "http://{}"
"#,
        common::meta::account(&format!("http://{}", api.addr)),
        api.addr
    );
    let gw = Gateway::builder().config(&config).start();
    let addr = gw.http_addr();
    let (ann, bob) = (agent(&gw, "ann", "main"), agent(&gw, "bob", "other"));

    let posted = std::time::Instant::now();
    post_message(
        &gw,
        serde_json::json!({"from": "31612345678", "id": "wamid.img1", "timestamp": unix_now(),
                           "type": "image", "image": {"caption": "The broken part",
                           "mime_type": "image/png", "sha256": "x", "id": "1003383421387256"}}),
    );
    let stored = gw.logs.wait_for("the stored photo", |l| {
        common::message(l, "attachment stored")
    });
    assert_eq!(stored["size"], photo.len());
    assert_eq!(stored["mime_type"], "image/jpeg");
    let fetched = api.requests();
    let [lookup, download] = fetched.as_slice() else {
        panic!("the media URL and the file: {fetched:?}")
    };
    assert_eq!(
        (lookup.method.as_str(), lookup.path.as_str()),
        ("GET", "/v24.0/1003383421387256")
    );
    assert_eq!(download.path, "/media/1003383421387256");
    for r in [lookup, download] {
        assert_eq!(r.headers["authorization"], "Bearer EAAG-test-token");
    }
    let waited = download.at.saturating_duration_since(posted);
    assert!(
        waited < std::time::Duration::from_secs(1),
        "the download began {waited:?} after the webhook"
    );

    // Ann (account main) sees the message with its attachment and downloads the photo.
    let (_, list) = ann.call("GET", "/api/v1/conversations", None);
    let id = list["conversations"][0]["id"].as_i64().unwrap();
    let (status, messages) = ann.call("GET", &format!("/api/v1/conversations/{id}/messages"), None);
    assert_eq!(status, 200);
    let message = &messages["messages"][0];
    assert_eq!(message["body"], "The broken part");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["state"], "stored", "{message}");
    assert_eq!(attachment["mime_type"], "image/jpeg");
    assert_eq!(attachment["size"], photo.len());
    let url = attachment["url"].as_str().unwrap();
    let (status, headers, bytes) =
        common::request_bytes(addr, "GET", url, &[("Cookie", ann.cookie.as_str())], b"");
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("image/jpeg"));
    assert_eq!(header("x-content-type-options"), Some("nosniff"));
    assert_eq!(bytes, photo);

    // Bob works account other: for him the file does not exist.
    let (status, _, _) =
        common::request_bytes(addr, "GET", url, &[("Cookie", bob.cookie.as_str())], b"");
    assert_eq!(status, 404);
    assert!(metric(
        addr,
        r#"deflect_attachments_total{outcome="stored"} 1"#
    ));
    assert_eq!(gw.stop().code(), Some(0));
}

/// Receipts in the running binary, against the fake Cloud API: an agent opening a customer's
/// conversation marks their message read at Meta (once: opening it again sends nothing), and
/// typing in the inbox's live socket shows the customer WhatsApp's typing indicator.
#[test]
fn receipts_an_agent_opening_and_typing_reach_the_customer_on_whatsapp() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (api, gw, ann, id) = customer_wrote("Is anyone there?");
    let read = format!("/api/v1/conversations/{id}/read");
    assert_eq!(ann.call("POST", &read, None).0, 202);
    let receipt = serde_json::json!({"messaging_product": "whatsapp", "status": "read",
                                     "message_id": "wamid.in1"});
    let got = api.wait_for(1);
    assert_eq!(
        (got[0].method.as_str(), got[0].path.as_str()),
        ("POST", "/v24.0/106540352242922/messages")
    );
    assert_eq!(
        got[0].headers["authorization"],
        format!("Bearer {}", common::meta::ACCESS_TOKEN)
    );
    assert_eq!(got[0].body, receipt);
    assert_eq!(ann.call("POST", &read, None).0, 202);

    // Ann types: the inbox's socket says so, and the customer sees the indicator.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = gw.http_addr();
    let cookie = ann.cookie.clone();
    let _socket = rt.block_on(async move {
        let mut req = format!("ws://{addr}/api/v1/events")
            .into_client_request()
            .unwrap();
        let headers = req.headers_mut();
        headers.insert("origin", format!("http://{addr}").parse().unwrap());
        headers.insert("cookie", cookie.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let say = |v: serde_json::Value| {
            tokio_tungstenite::tungstenite::Message::Text(v.to_string().into())
        };
        ws.send(say(serde_json::json!({"type": "hello", "after": null})))
            .await
            .unwrap();
        ws.send(say(
            serde_json::json!({"type": "typing", "conversation_id": id}),
        ))
        .await
        .unwrap();
        ws
    });
    let got = api.wait_for(2);
    let mut typing = receipt.clone();
    typing["typing_indicator"] = serde_json::json!({"type": "text"});
    // The second open sent nothing: the next request is the indicator.
    assert_eq!(got[1].body, typing);
    assert_eq!(got.len(), 2);
    assert_eq!(gw.stop().code(), Some(0));
}

/// A Sinch account in the running binary, against the fake Conversation API: a customer's
/// signed message is stored and welcomed; the welcome goes out with an OAuth2 token in
/// Sinch's send format; its failed delivery report is matched to it; an unsigned or badly
/// signed callback is 401 and stores nothing.
#[test]
fn a_sinch_account_receives_sends_and_tracks_deliveries() {
    use common::sinch;
    let api = common::meta::FakeMeta::start();
    let config = format!(
        r#"{}
[inbox.automations]
# Sinch's callbacks carry no WhatsApp profile name: {{{{customer_name}}}} would be empty.
welcome_message = "Welcome to Acme!"
"#,
        sinch::account(&format!("http://{}", api.addr))
    );
    let gw = Gateway::builder().config(&config).start();
    let post = |body: &serde_json::Value, secret: Option<&str>| {
        let body = body.to_string();
        let headers = secret
            .map(|s| sinch::signed(s, body.as_bytes()))
            .unwrap_or_default();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        http(
            gw.http_addr(),
            "POST",
            "/webhooks/sinch/sinch",
            &headers,
            body.as_bytes(),
        )
        .0
    };
    let inbound = serde_json::json!({
        "app_id": sinch::APP, "project_id": sinch::PROJECT,
        "accepted_time": "2026-12-05T12:00:00.123Z", "event_time": "2026-12-05T12:00:00Z",
        "message": {"id": "01HINBOUND1", "direction": "TO_APP",
            "contact_message": {"text_message": {"text": "Hi, I need help with order 12345"}},
            "channel_identity": {"channel": "WHATSAPP", "identity": "46732001122", "app_id": sinch::APP},
            "conversation_id": "01HCONV", "contact_id": "01HCONTACT",
            "accept_time": "2026-12-05T12:00:00.123Z", "sender_id": "46732000000",
            "processing_mode": "CONVERSATION"},
        "message_metadata": ""});
    assert_eq!(post(&inbound, None), 401);
    assert_eq!(post(&inbound, Some("not-the-secret")), 401);
    assert!(api.requests().is_empty(), "nothing stored, nobody welcomed");
    assert_eq!(post(&inbound, Some(sinch::WEBHOOK_SECRET)), 200);
    assert_eq!(
        post(&inbound, Some(sinch::WEBHOOK_SECRET)),
        200,
        "a repeated delivery"
    );

    let sent = api.wait_for(2);
    let (token, send) = (&sent[0], &sent[1]);
    assert_eq!(
        (token.method.as_str(), token.path.as_str()),
        ("POST", "/oauth2/token")
    );
    assert_eq!(
        token.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(token.raw, b"grant_type=client_credentials");
    assert_eq!(
        (send.method.as_str(), send.path.as_str()),
        (
            "POST",
            format!("/v1/projects/{}/messages:send", sinch::PROJECT).as_str()
        )
    );
    assert_eq!(send.headers["authorization"], "Bearer sinch-token-1");
    assert_eq!(send.headers["content-type"], "application/json");
    let correlation = send.body["correlation_id"].as_str().unwrap().to_string();
    assert!(correlation.starts_with("deflect-outbox-"), "{correlation}");
    assert_eq!(
        send.body,
        serde_json::json!({
            "app_id": sinch::APP,
            "recipient": {"identified_by": {"channel_identities": [
                {"channel": "WHATSAPP", "identity": "46732001122"}]}},
            "message": {"text_message": {"text": "Welcome to Acme!"}},
            "channel_priority_order": ["WHATSAPP"],
            "correlation_id": correlation,
            "message_metadata": correlation,
        })
    );
    assert!(metric(
        gw.http_addr(),
        r#"deflect_inbox_messages_total{direction="in",channel="whatsapp"} 1"#
    ));
    // Sinch's delivery report for the welcome: it failed.
    let report = serde_json::json!({
        "app_id": sinch::APP, "project_id": sinch::PROJECT, "correlation_id": correlation,
        "accepted_time": "2026-12-05T12:00:01.659Z",
        "message_delivery_report": {"message_id": "01SINCH000002", "conversation_id": "01HCONV",
            "status": "FAILED", "contact_id": "01HCONTACT", "metadata": correlation,
            "channel_identity": {"channel": "WHATSAPP", "identity": "46732001122", "app_id": sinch::APP},
            "reason": {"code": "RECIPIENT_NOT_REACHABLE", "description": "not a WhatsApp user",
                       "sub_code": "UNSPECIFIED_SUB_CODE"},
            "processing_mode": "CONVERSATION"}});
    assert_eq!(post(&report, Some(sinch::WEBHOOK_SECRET)), 200);
    assert!(metric(
        gw.http_addr(),
        "deflect_inbox_delivery_failures_total 1"
    ));
    assert!(metric(
        gw.http_addr(),
        r#"deflect_webhook_requests_total{provider="sinch",status="401"} 2"#
    ));
    assert_eq!(gw.stop().code(), Some(0));
}

/// A Kaleyra account in the running binary, against the fake API: a customer's message
/// from the number's callback profile (with its token header) is stored and welcomed; the
/// welcome goes out with the API key as a Cloud API message wrapped in `messaging_object`,
/// the outbox correlation as `extra_info.ref`; its failed status is matched to it; a
/// callback without the token or with another is 401 and stores nothing.
#[test]
fn a_kaleyra_account_receives_sends_and_tracks_deliveries() {
    use common::kaleyra;
    let api = common::meta::FakeMeta::start();
    let config = format!(
        r#"{}
[inbox.automations]
welcome_message = "Welcome {{{{customer_name}}}}!"
"#,
        kaleyra::account(&format!("http://{}", api.addr))
    );
    let gw = Gateway::builder().config(&config).start();
    let post = |body: &serde_json::Value, token: Option<&str>| {
        let body = body.to_string();
        let headers: Vec<(&str, &str)> = token
            .map(|t| ("X-Deflect-Webhook-Token", t))
            .into_iter()
            .collect();
        http(
            gw.http_addr(),
            "POST",
            "/webhooks/kaleyra/kaleyra",
            &headers,
            body.as_bytes(),
        )
        .0
    };
    let inbound = serde_json::json!({
        "meta_object": {"value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "919800000000", "phone_number_id": "104600000000060"},
            "contacts": [{"profile": {"name": "Samuel"}, "wa_id": "919000000001"}],
            "messages": [{"from": "919000000001", "id": "wamid.HBgMIN1", "timestamp": "1764936000",
                          "type": "text", "text": {"body": "Where is my order?"}}]},
            "field": "messages"},
        "extra_info": {"trace_id": "cb94fee2", "waba_id": "347000000000069"}});
    assert_eq!(post(&inbound, None), 401);
    assert_eq!(post(&inbound, Some("not-the-token")), 401);
    assert!(api.requests().is_empty(), "nothing stored, nobody welcomed");
    assert_eq!(post(&inbound, Some(kaleyra::WEBHOOK_SECRET)), 200);

    let sent = api.wait_for(1);
    let send = &sent[0];
    assert_eq!(
        (send.method.as_str(), send.path.as_str()),
        (
            "POST",
            format!("/v2/{}/whatsapp/{}/messages", kaleyra::SID, kaleyra::NUMBER).as_str()
        )
    );
    assert_eq!(send.headers["api-key"], kaleyra::API_KEY);
    assert_eq!(send.headers["content-type"], "application/json");
    let correlation = send.body["extra_info"]["ref"].as_str().unwrap().to_string();
    assert!(correlation.starts_with("deflect-outbox-"), "{correlation}");
    assert_eq!(
        send.body,
        serde_json::json!({
            "messaging_object": {"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": "919000000001", "type": "text",
                "text": {"preview_url": false, "body": "Welcome Samuel!"}},
            "extra_info": {"ref": correlation},
        })
    );
    // The welcome's status: failed, as the Cloud API reports it through Kaleyra.
    let status = serde_json::json!({
        "meta_object": {"value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "919800000000", "phone_number_id": "104600000000060"},
            "statuses": [{"id": "a07f9c32d9de4acac299cfb", "status": "failed", "timestamp": "1764936001",
                "recipient_id": "919000000001",
                "errors": [{"code": 131047, "title": "Re-engagement message"}]}]},
            "field": "messages"},
        "extra_info": {"message_id": "wamid.kaleyra1", "ref": correlation},
        "status": "failed", "message_id": "wamid.kaleyra1"});
    assert_eq!(post(&status, Some(kaleyra::WEBHOOK_SECRET)), 200);
    assert!(metric(
        gw.http_addr(),
        "deflect_inbox_delivery_failures_total 1"
    ));
    assert!(metric(
        gw.http_addr(),
        r#"deflect_webhook_requests_total{provider="kaleyra",status="401"} 2"#
    ));
    assert_eq!(gw.stop().code(), Some(0));
}

/// The first request the fake Cloud API got (waiting for it) that goes to `to` and carries
/// `needle` anywhere in its body, with the WhatsApp id the fake answered it with.
fn sent_to(api: &common::meta::FakeMeta, to: &str, needle: &str) -> (String, serde_json::Value) {
    let mut n = 1;
    loop {
        let requests = api.wait_for(n);
        let found = requests
            .iter()
            .position(|r| r.body["to"].as_str() == Some(to) && r.body.to_string().contains(needle));
        if let Some(i) = found {
            return (format!("wamid.fake{}", i + 1), requests[i].body.clone());
        }
        n = requests.len() + 1;
    }
}

/// Relay mode in the running binary, against the fake Cloud API: an API call names two
/// agents; the customer's first message (the hand-off code) gets "finding an agent" and the
/// first agent the offer template with accept/reject payloads; a rejection offers it to the
/// second agent, who accepts and gets the customer's messages prefixed; their text reaches
/// the customer under their name; files go both ways as files once stored, locations with a
/// map link. A second customer relayed to the same agent is kept apart
/// (replies go by the quoted message, else to the current chat), `/close` closes one, and a
/// relay every agent rejects falls back to the inbox's queue.
#[test]
fn relay_offers_agents_in_turn_and_relays_both_ways_until_close() {
    let api = common::meta::FakeMeta::start();
    let config = format!(
        "{}\n[inbox.relay]\nfinding_message = \"Finding an agent for {{{{customer_name}}}}.\"\n",
        common::meta::account(&format!("http://{}", api.addr))
    );
    let gw = Gateway::builder().config(&config).start();
    let ann = agent(&gw, "ann", "main");
    let (zoe, max) = ("31611111111", "31622222222");
    let relay = |name: &str, agents: serde_json::Value| {
        let body =
            serde_json::json!({ "name": name, "metadata": { "order": 7 }, "agents": agents });
        let (status, answer) = ann.call("POST", "/api/v1/deflections/whatsapp", Some(body));
        assert_eq!(status, 201, "{answer}");
        answer
    };
    let both = serde_json::json!([{ "name": "Zoe", "number": "+31611111111" },
                                  { "name": "Max", "number": "+31622222222" }]);
    let first = relay("Bob", both);
    let reference = first["reference"].as_str().unwrap().to_string();
    let text = |from: &str, id: &str, body: &str| {
        serde_json::json!({"from": from, "id": id, "timestamp": unix_now(), "type": "text",
                           "text": {"body": body}})
    };
    let bob = "31612345678";
    post_message(
        &gw,
        text(bob, "wamid.bob1", first["text"].as_str().unwrap()),
    );
    sent_to(&api, bob, "Finding an agent for Bob.");
    let (offer_zoe, template) = sent_to(&api, zoe, "deflect_relay_offer");
    let [accept, reject] = [
        format!("relay:accept:{reference}"),
        format!("relay:reject:{reference}"),
    ];
    assert_eq!(
        template["template"],
        serde_json::json!({"name": "deflect_relay_offer", "language": {"code": "en"}, "components": [
            {"type": "body", "parameters": [
                {"type": "text", "text": "Bob"},
                {"type": "text", "text": first["text"]},
                {"type": "text", "text": "order: 7"},
                {"type": "text", "text": reference}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": accept}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": reject}]}]})
    );
    let tap = |from: &str, id: &str, payload: &str, context: &str| {
        serde_json::json!({"from": from, "id": id, "timestamp": unix_now(), "type": "button",
                           "context": {"from": "31201234567", "id": context},
                           "button": {"payload": payload, "text": "Tapped"}})
    };
    // Zoe rejects: Max is offered it, accepts, and gets Bob's first message.
    post_message(&gw, tap(zoe, "wamid.zoe1", &reject, &offer_zoe));
    let (offer_max, _) = sent_to(&api, max, "deflect_relay_offer");
    post_message(&gw, tap(max, "wamid.max1", &accept, &offer_max));
    sent_to(&api, bob, "You are now chatting with Max.");
    sent_to(&api, max, &format!("Bob ({reference}): Continue my chat"));
    // Both ways: Bob's next message reaches Max prefixed; Max's text reaches Bob.
    post_message(&gw, text(bob, "wamid.bob2", "Where is my parcel?"));
    let (bob_copy, _) = sent_to(
        &api,
        max,
        &format!("Bob ({reference}): Where is my parcel?"),
    );
    post_message(&gw, text(max, "wamid.max2", "It ships today."));
    let (_, reply) = sent_to(&api, bob, "It ships today.");
    assert_eq!(reply["text"]["body"], "It ships today.");
    // Files go as files once stored: Bob's photo reaches Max saying whose it is, Max's
    // reaches Bob with Max's caption; locations go with a map link.
    let image = |from: &str, id: &str, media: &str, caption: &str| {
        serde_json::json!({"from": from, "id": id, "timestamp": unix_now(), "type": "image",
                           "image": {"caption": caption, "mime_type": "image/jpeg",
                                     "sha256": "x", "id": media}})
    };
    api.media("1003383421387256", photo(7));
    post_message(
        &gw,
        image(bob, "wamid.bobimg", "1003383421387256", "Broken"),
    );
    let (_, copy) = sent_to(&api, max, &format!("Bob ({reference}): Broken"));
    assert_eq!(copy["type"], "image", "{copy}");
    assert_eq!(
        copy["image"]["caption"],
        format!("Bob ({reference}): Broken")
    );
    assert!(copy["image"]["id"].as_str().is_some(), "{copy}");
    api.media("1003383421387257", photo(11));
    post_message(
        &gw,
        image(max, "wamid.maximg", "1003383421387257", "The new part"),
    );
    let (_, sent) = sent_to(&api, bob, "The new part");
    assert_eq!(sent["type"], "image", "{sent}");
    assert_eq!(sent["image"]["caption"], "The new part");
    let uploads = api.requests();
    let uploads: Vec<_> = (uploads.iter())
        .filter(|r| r.method == "POST" && r.path.ends_with("/media"))
        .collect();
    assert_eq!(uploads.len(), 2, "each photo uploaded once to be sent on");
    let location = serde_json::json!({"from": max, "id": "wamid.maxloc", "timestamp": unix_now(),
        "type": "location", "location": {"latitude": 52.370216, "longitude": 4.895168,
                                         "name": "Depot"}});
    post_message(&gw, location);
    let (_, pin) = sent_to(&api, bob, "https://maps.google.com/?q=52.370216,4.895168");
    assert_eq!(
        pin["text"]["body"],
        "[location] Depot (52.370216, 4.895168)\nhttps://maps.google.com/?q=52.370216,4.895168"
    );

    // A second customer relayed to Max alone.
    let second = relay(
        "Cy",
        serde_json::json!([{ "name": "Max", "number": "+31622222222" }]),
    );
    let reference2 = second["reference"].as_str().unwrap().to_string();
    let cy = "31698765432";
    post_message(&gw, text(cy, "wamid.cy1", second["text"].as_str().unwrap()));
    let (offer2, _) = sent_to(&api, max, &format!("relay:accept:{reference2}"));
    post_message(
        &gw,
        tap(
            max,
            "wamid.max3",
            &format!("relay:accept:{reference2}"),
            &offer2,
        ),
    );
    sent_to(&api, max, &format!("Cy ({reference2}): Continue my chat"));
    // Quoting Bob's message answers Bob; a plain message goes to the current chat (Cy's,
    // since quoting switched back to Bob's: Max switches explicitly).
    let mut quoted = text(max, "wamid.max4", "Tracking: NL123");
    quoted["context"] = serde_json::json!({"from": "31201234567", "id": bob_copy});
    post_message(&gw, quoted);
    sent_to(&api, bob, "Tracking: NL123");
    post_message(
        &gw,
        text(max, "wamid.max5", &format!("/switch {reference2}")),
    );
    sent_to(&api, max, &format!("Now writing to Cy ({reference2})."));
    post_message(&gw, text(max, "wamid.max6", "Hello Cy"));
    sent_to(&api, cy, "Hello Cy");
    post_message(&gw, text(max, "wamid.max7", "/close"));
    sent_to(
        &api,
        max,
        &format!("Closed the chat with Cy ({reference2})."),
    );
    let (_, list) = ann.call("GET", "/api/v1/conversations?status=closed", None);
    assert!(
        (list["conversations"].as_array().unwrap().iter())
            .any(|c| c["reference"] == reference2.as_str() && c["origin"] == "relay"),
        "{list}"
    );
    // Bob's chat is Max's current one again, and still relayed.
    post_message(&gw, text(max, "wamid.max8", "Anything else?"));
    sent_to(&api, bob, "Anything else?");
    let none_texts = |to: &str, needle: &str| {
        texts(&api.requests())
            .iter()
            .filter(|(t, b)| t == to && b.contains(needle))
            .count()
    };
    // No message of an agent ever reached the other customer.
    assert_eq!(none_texts(cy, "Tracking"), 0);
    assert_eq!(none_texts(bob, "Hello Cy"), 0);

    // Nobody accepts: the customer is told, and the conversation waits in the inbox's queue.
    let third = relay(
        "Di",
        serde_json::json!([{ "name": "Zoe", "number": "+31611111111" }]),
    );
    let reference3 = third["reference"].as_str().unwrap().to_string();
    let di = "31655555555";
    post_message(&gw, text(di, "wamid.di1", third["text"].as_str().unwrap()));
    let (offer3, _) = sent_to(&api, zoe, &format!("relay:reject:{reference3}"));
    post_message(
        &gw,
        tap(
            zoe,
            "wamid.zoe2",
            &format!("relay:reject:{reference3}"),
            &offer3,
        ),
    );
    sent_to(&api, di, "no agent could take your chat");
    let (_, list) = ann.call("GET", "/api/v1/conversations?status=queued", None);
    assert!(
        (list["conversations"].as_array().unwrap().iter())
            .any(|c| c["reference"] == reference3.as_str()),
        "{list}"
    );
    // The agents' numbers never opened a conversation of their own.
    let (_, all) = ann.call("GET", "/api/v1/conversations", None);
    assert!(
        !(all["conversations"].as_array().unwrap().iter())
            .any(|c| c["contact_phone"] == "+31611111111" || c["contact_phone"] == "+31622222222"),
        "{all}"
    );
    assert_eq!(gw.stop().code(), Some(0));
}
