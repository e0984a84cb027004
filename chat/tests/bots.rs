//! The bot client against a local server speaking Rasa's REST channel as Rasa does
//! (`rasa/core/channels/rest.py`): it reads `sender`, `message` and `metadata` from the posted
//! JSON and answers `200` with the list of the bot's messages, each carrying `recipient_id`.

#![allow(clippy::unwrap_used)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use deflect_chat::bot::{BotButton, BotClient, BotError, BotReply, BotTurnRequest, Handover};
use deflect_config::BotConfig;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the fake bot answers to the next turn.
enum Answer {
    /// `200` with these messages, each given the turn's sender as `recipient_id`.
    Messages(Value),
    /// This status, no body.
    Status(u16),
    /// `200` with this body as it is.
    Raw(&'static str),
    /// Nothing, ever: the request is held open.
    Never,
}

/// A turn as the fake bot received it.
struct Seen {
    path_and_query: String,
    content_type: Option<String>,
    authorization: Option<String>,
    body: Value,
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct FakeRasa {
    addr: SocketAddr,
    script: Script,
}

impl FakeRasa {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Script::default();
        let app = axum::Router::new()
            .route("/webhooks/rest/webhook", axum::routing::post(webhook))
            .with_state(script.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script }
    }

    fn answer(&self, answer: Answer) {
        self.script.answers.lock().unwrap().push_back(answer);
    }

    fn seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.script.seen.lock().unwrap())
    }

    fn url(&self) -> String {
        format!("http://{}/webhooks/rest/webhook", self.addr)
    }
}

async fn webhook(State(s): State<Script>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let sender = body["sender"].clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    s.seen.lock().unwrap().push(Seen {
        path_and_query: uri.to_string(),
        content_type: header("content-type"),
        authorization: header("authorization"),
        body,
    });
    let answer = s.answers.lock().unwrap().pop_front();
    match answer.unwrap_or(Answer::Messages(json!([]))) {
        Answer::Messages(Value::Array(messages)) => {
            let messages: Vec<Value> = messages
                .into_iter()
                .map(|mut m| {
                    m["recipient_id"] = sender.clone();
                    m
                })
                .collect();
            axum::Json(messages).into_response()
        }
        Answer::Messages(other) => axum::Json(other).into_response(),
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Raw(text) => (StatusCode::OK, text).into_response(),
        Answer::Never => std::future::pending().await,
    }
}

fn config(url: &str, timeout: Duration) -> BotConfig {
    BotConfig {
        name: "rasa".into(),
        url: Some(url.parse().unwrap()),
        timeout,
        queue: Some("support".into()),
        ..BotConfig::default()
    }
}

fn client(fake: &FakeRasa) -> BotClient {
    BotClient::new(&config(&fake.url(), Duration::from_secs(5)))
}

fn request<'a>(message: &'a str) -> BotTurnRequest<'a> {
    BotTurnRequest {
        sender: "C-1042",
        message,
        metadata: json!({"account": "main", "channel": "whatsapp", "customer_name": "Ada"}),
    }
}

/// A port nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn two_turns_post_the_rest_channel_request_and_read_text_buttons_and_an_image() {
    let fake = FakeRasa::start().await;
    let bot = client(&fake);
    fake.answer(Answer::Messages(json!([
        {"text": "Hi Ada!"},
        {"text": "What is it about?", "buttons": [
            {"title": "Billing", "payload": "/billing"},
            {"title": "Something else", "payload": "/other"},
        ]},
    ])));
    fake.answer(Answer::Messages(json!([
        {"text": "This is where to find your invoice number:"},
        {"image": "https://bot.example.com/invoice.png", "extra": {"unknown": true}},
    ])));

    let first = bot.turn(request("hello")).await.unwrap();
    assert_eq!(
        first.replies,
        [
            BotReply::Text("Hi Ada!".into()),
            BotReply::Buttons {
                text: "What is it about?".into(),
                buttons: vec![
                    BotButton {
                        title: "Billing".into(),
                        payload: "/billing".into()
                    },
                    BotButton {
                        title: "Something else".into(),
                        payload: "/other".into()
                    },
                ],
            },
        ]
    );
    assert_eq!(first.handover, None);
    // The customer chose a button: its payload is the next message.
    let second = bot.turn(request("/billing")).await.unwrap();
    assert_eq!(
        second.replies,
        [
            BotReply::Text("This is where to find your invoice number:".into()),
            BotReply::Image {
                url: "https://bot.example.com/invoice.png".into(),
                caption: None
            },
        ]
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    for (s, message) in seen.iter().zip(["hello", "/billing"]) {
        assert_eq!(s.path_and_query, "/webhooks/rest/webhook");
        assert_eq!(s.content_type.as_deref(), Some("application/json"));
        assert_eq!(s.authorization, None);
        assert_eq!(
            s.body,
            json!({
                "sender": "C-1042",
                "message": message,
                "metadata": {"account": "main", "channel": "whatsapp", "customer_name": "Ada"},
            })
        );
    }
}

#[tokio::test]
async fn custom_payloads_and_the_handover_intent_hand_over() {
    let fake = FakeRasa::start().await;
    let bot = client(&fake);
    // {"handover": true} with a queue, after a last word.
    fake.answer(Answer::Messages(json!([
        {"text": "I'll get you a colleague."},
        {"custom": {"handover": true, "queue": "billing"}},
    ])));
    // {"handover": true} alone: the bot's configured queue.
    fake.answer(Answer::Messages(json!([{"custom": {"handover": true}}])));
    // The configured intent.
    fake.answer(Answer::Messages(
        json!([{"custom": {"intent": "human_handoff", "reason": "asked for a person"}}]),
    ));
    // Other custom payloads are replies; an empty list is a silent turn.
    fake.answer(Answer::Messages(json!([
        {"custom": {"intent": "greet"}},
        {"custom": {"type": "datepicker"}},
    ])));
    fake.answer(Answer::Messages(json!([])));

    let turn = bot.turn(request("a person please")).await.unwrap();
    assert_eq!(
        turn.replies,
        [BotReply::Text("I'll get you a colleague.".into())]
    );
    assert_eq!(
        turn.handover,
        Some(Handover {
            queue: Some("billing".into()),
            reason: "the bot handed the conversation over".into()
        })
    );
    let turn = bot.turn(request("agent")).await.unwrap();
    assert!(turn.replies.is_empty());
    assert_eq!(turn.handover.unwrap().queue.as_deref(), Some("support"));
    let turn = bot.turn(request("human")).await.unwrap();
    assert_eq!(
        turn.handover,
        Some(Handover {
            queue: Some("support".into()),
            reason: "asked for a person".into()
        })
    );
    let turn = bot.turn(request("hi")).await.unwrap();
    assert_eq!(turn.handover, None);
    assert_eq!(
        turn.replies,
        [
            BotReply::Custom(json!({"intent": "greet"})),
            BotReply::Custom(json!({"type": "datepicker"})),
        ]
    );
    let silent = bot.turn(request("...")).await.unwrap();
    assert_eq!((silent.replies.len(), silent.handover), (0, None));
    assert_eq!(fake.seen().len(), 5);
}

#[tokio::test]
async fn a_bot_that_never_answers_times_out_within_its_timeout() {
    let fake = FakeRasa::start().await;
    let bot = BotClient::new(&config(&fake.url(), Duration::from_secs(1)));
    fake.answer(Answer::Never);
    let started = Instant::now();
    let e = bot.turn(request("hello")).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(e, BotError::Timeout);
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
    assert_eq!(fake.seen().len(), 1, "the request reached the bot");
    assert_eq!(
        bot.handover_after(&e),
        Handover {
            queue: Some("support".into()),
            reason: "bot rasa: no answer in time".into()
        }
    );
}

#[tokio::test]
async fn errors_and_answers_that_are_not_the_rest_channels_are_named() {
    let fake = FakeRasa::start().await;
    let bot = client(&fake);
    fake.answer(Answer::Status(500));
    fake.answer(Answer::Status(404));
    fake.answer(Answer::Raw("<html>Bad gateway</html>"));
    fake.answer(Answer::Messages(json!({"text": "not a list"})));
    assert_eq!(
        bot.turn(request("a")).await.unwrap_err(),
        BotError::Status(500)
    );
    assert_eq!(
        bot.turn(request("b")).await.unwrap_err(),
        BotError::Status(404)
    );
    for _ in 0..2 {
        let e = bot.turn(request("c")).await.unwrap_err();
        assert!(matches!(e, BotError::Malformed(_)), "{e:?}");
    }
}

#[tokio::test]
async fn a_closed_port_is_unreachable_and_no_error_shows_the_url() {
    let addr = closed_port();
    let url = format!("http://deflect:s3cr3t@{addr}/webhooks/rest/webhook?token=t0k3n");
    let bot = BotClient::new(&config(&url, Duration::from_secs(5)));
    let e = bot.turn(request("hello")).await.unwrap_err();
    let BotError::Unreachable(why) = &e else {
        panic!("{e:?}")
    };
    for shown in [
        why.clone(),
        e.to_string(),
        bot.handover_after(&e).reason,
        format!("{bot:?}"),
    ] {
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("t0k3n") && !shown.contains("deflect:"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn credentials_in_the_url_reach_the_bot() {
    let fake = FakeRasa::start().await;
    let url = format!(
        "http://deflect:s3cr3t@{}/webhooks/rest/webhook?token=t0k3n",
        fake.addr
    );
    let bot = BotClient::new(&config(&url, Duration::from_secs(5)));
    bot.turn(request("hello")).await.unwrap();
    let seen = fake.seen();
    assert_eq!(seen[0].path_and_query, "/webhooks/rest/webhook?token=t0k3n");
    let basic = base64::engine::general_purpose::STANDARD.encode("deflect:s3cr3t");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
}

#[tokio::test]
async fn every_turn_is_counted_by_outcome_and_timed() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // This test's runtime runs on one thread, which the recorder is the default of.
    let _guard = metrics::set_default_local_recorder(&recorder);
    let fake = FakeRasa::start().await;
    let bot = client(&fake);
    fake.answer(Answer::Messages(json!([{"text": "hi"}])));
    fake.answer(Answer::Status(503));
    fake.answer(Answer::Raw("nope"));
    for _ in 0..3 {
        let _ = bot.turn(request("hello")).await;
    }
    let closed = format!("http://{}/webhooks/rest/webhook", closed_port());
    let _ = BotClient::new(&config(&closed, Duration::from_secs(5)))
        .turn(request("hello"))
        .await;

    let rendered = handle.render();
    let value = |metric: &str, labels: &[&str]| -> Option<f64> {
        rendered
            .lines()
            .find(|l| l.starts_with(&format!("{metric}{{")) && labels.iter().all(|x| l.contains(x)))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    for outcome in ["ok", "status", "malformed", "unreachable"] {
        assert_eq!(
            value(
                "deflect_bot_requests_total",
                &["bot=\"rasa\"", &format!("outcome=\"{outcome}\"")]
            ),
            Some(1.0),
            "{outcome}: {rendered}"
        );
    }
    assert_eq!(
        value("deflect_bot_request_seconds_count", &["bot=\"rasa\""]),
        Some(4.0),
        "{rendered}"
    );
}
