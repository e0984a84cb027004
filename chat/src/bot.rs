//! Bots a conversation can start with (`[[inbox.bots]]`), spoken to over the Rasa REST
//! channel — an existing open format, so Rasa and anything that speaks its REST channel plug
//! in. This module is the wire format and the client, one turn at a time; who talks to a bot,
//! the hand-over with the bot's transcript and closing a silent bot conversation are the
//! inbox's.
//!
//! # The wire format
//!
//! As Rasa's REST channel reads and writes it (`rasa/core/channels/rest.py`, `RestInput`,
//! and the `CollectingOutputChannel` of `rasa/core/channels/channel.py`). A turn is
//! `POST <url>` — for Rasa `http://<host>:5005/webhooks/rest/webhook` — with
//! `Content-Type: application/json`:
//!
//! ```json
//! {"sender": "<the conversation's reference>", "message": "<the customer's text, or a button's payload>",
//!  "metadata": {"account": "main", "channel": "whatsapp", "customer_name": "Ada", "…": "…"}}
//! ```
//!
//! The bot answers `200` with a JSON list of its messages, each an object holding
//! `recipient_id` and any of `text`, `buttons` (`[{"title": …, "payload": …}]`), `image` (a
//! URL), `attachment` and `custom` (any JSON). Keys this module does not know are ignored. A
//! message becomes [`BotReply`]s, in the order the bot sent them:
//!
//! | the message holds | reply |
//! |---|---|
//! | `text` | [`BotReply::Text`] (an empty text is no reply) |
//! | `text` and `buttons` | [`BotReply::Buttons`]; a button without `payload` answers with its `title` |
//! | `image` (and `text`) | [`BotReply::Image`], the text as its caption |
//! | `attachment` | [`BotReply::Attachment`] when it is a string (Rasa's form); any other JSON as [`BotReply::Custom`] `{"attachment": …}` |
//! | `custom` | a hand-over (below), else [`BotReply::Custom`] |
//!
//! An empty list is a silent turn — the bot has nothing to say to this message — and not a
//! hand-over. An answer that is not a list of objects, or whose known keys have the wrong
//! type, is [`BotError::Malformed`]; answers larger than 1 MiB are too.
//!
//! # Hand-over
//!
//! A `custom` payload hands the conversation to a person in either form:
//!
//! - `{"handover": true}`, optionally with `"queue": "billing"` and `"reason": "…"`;
//! - `{"intent": "<handover_intent>"}` (`human_handoff` unless configured), optionally with
//!   `"queue"` and `"reason"` too.
//!
//! The turn's [`BotTurn::handover`] is then set (the first such payload counts); the queue is
//! the payload's, else the bot's configured `queue`, else none — the inbox's default queue.
//! The turn's other replies are still the bot's to show (a goodbye, say).
//!
//! # Failures
//!
//! Every [`BotError`] — no answer within the bot's `timeout` (connecting included), no
//! connection, a status other than 2xx, an answer that is not the REST channel's — means the
//! bot cannot go on: the conversation goes to a person ([`BotClient::handover_after`]), so a
//! customer is never left talking to a dead bot. Redirects are not followed (a 3xx is a
//! [`BotError::Status`]): the customer's details go to the configured URL and nowhere else.
//!
//! User information in the URL (`https://user:password@…`) is sent as HTTP Basic
//! authentication, and a query (`?token=…`) as it is, for a bot behind a proxy that wants
//! either.
//!
//! # Metrics and logs
//!
//! `deflect_bot_requests_total{bot, outcome}` (`ok`, `timeout`, `unreachable`, `status`,
//! `malformed`) and `deflect_bot_request_seconds{bot}`. Logs name the bot, never its URL
//! (which may carry a token) nor what the customer wrote.
//!
//! The HTTP client is the providers' (reqwest on rustls, see [`crate::provider`]), one per
//! bot so that its connect timeout is the bot's own.

use crate::provider::http_client_builder;
use deflect_config::BotConfig;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// The largest answer read from a bot.
const MAX_ANSWER: usize = 1 << 20;

/// Talks to one configured bot.
#[derive(Clone)]
pub struct BotClient {
    name: String,
    /// `None` only for a configuration that failed validation: every turn is then
    /// [`BotError::Unreachable`].
    url: Option<url::Url>,
    http: reqwest::Client,
    timeout: Duration,
    handover_intent: String,
    queue: Option<String>,
}

impl std::fmt::Debug for BotClient {
    // Without the URL: it may carry a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotClient")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("handover_intent", &self.handover_intent)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// One turn as the bot receives it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BotTurnRequest<'a> {
    /// Who the bot is talking to: stable for the whole conversation (its reference), so the
    /// bot keeps one dialogue per conversation.
    pub sender: &'a str,
    /// What the customer wrote, or the payload of the button they chose.
    pub message: &'a str,
    /// What the bot may want to know besides (account, channel, customer's name and phone,
    /// queue, the call's context, …); `null` for nothing.
    pub metadata: Value,
}

/// What the bot answered to one turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BotTurn {
    /// The bot's replies, in order; empty for a silent turn.
    pub replies: Vec<BotReply>,
    /// Set when the bot hands the conversation to a person.
    pub handover: Option<Handover>,
}

/// One reply of the bot to the customer.
#[derive(Clone, Debug, PartialEq)]
pub enum BotReply {
    /// Text.
    Text(String),
    /// Text with buttons to choose from.
    Buttons {
        /// The text (may be empty).
        text: String,
        /// The buttons, in order.
        buttons: Vec<BotButton>,
    },
    /// An image.
    Image {
        /// Where it is, as the bot sent it.
        url: String,
        /// The text that came with it.
        caption: Option<String>,
    },
    /// A file, as the bot sent it (Rasa: a URL or a path).
    Attachment(String),
    /// A custom payload that is not a hand-over, as the bot sent it.
    Custom(Value),
}

/// A button of [`BotReply::Buttons`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotButton {
    /// Shown on the button.
    pub title: String,
    /// Sent back to the bot as the next turn's `message` when chosen.
    pub payload: String,
}

/// The conversation goes to a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The queue to go to; `None`: the inbox's default queue. A name the bot sent may name
    /// no configured queue: the caller checks it.
    pub queue: Option<String>,
    /// Why, for the agent and the conversation's history.
    pub reason: String,
}

/// A turn that failed. Every one hands the conversation over ([`BotClient::handover_after`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BotError {
    /// No (whole) answer within the bot's `timeout`.
    #[error("no answer in time")]
    Timeout,
    /// No connection to the bot (refused, unresolvable, cut); says what happened, never the
    /// URL.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The bot answered with this status instead of 2xx.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// The answer is not a REST channel answer; says why, never what it held.
    #[error("answered something other than a REST channel answer: {0}")]
    Malformed(String),
}

impl BotError {
    /// The `outcome` label of `deflect_bot_requests_total`.
    fn outcome(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::Status(_) => "status",
            Self::Malformed(_) => "malformed",
        }
    }
}

impl BotClient {
    /// A client for the bot `config` describes (a validated configuration: its URL is set).
    pub fn new(config: &BotConfig) -> Self {
        let http = http_client_builder()
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with a preconfigured rustls backend builds");
        Self {
            name: config.name.clone(),
            url: config.url.as_ref().map(|u| u.expose().clone()),
            http,
            timeout: config.timeout,
            handover_intent: config.handover_intent.clone(),
            queue: config.queue.clone(),
        }
    }

    /// The bot's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends the customer's message to the bot and reads its answer (see the module
    /// documentation for both). Takes at most the bot's `timeout`.
    pub async fn turn(&self, turn: BotTurnRequest<'_>) -> Result<BotTurn, BotError> {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, self.exchange(&turn)).await {
            Ok(r) => r,
            Err(_) => Err(BotError::Timeout),
        };
        metrics::histogram!("deflect_bot_request_seconds", "bot" => self.name.clone())
            .record(started.elapsed().as_secs_f64());
        let outcome = result.as_ref().map_or_else(BotError::outcome, |_| "ok");
        metrics::counter!("deflect_bot_requests_total", "bot" => self.name.clone(), "outcome" => outcome)
            .increment(1);
        match &result {
            Ok(t) => tracing::debug!(
                bot = %self.name,
                replies = t.replies.len(),
                handover = t.handover.is_some(),
                "bot turn"
            ),
            Err(e) => tracing::warn!(bot = %self.name, cause = %e, "bot turn failed"),
        }
        result
    }

    /// The hand-over after a failed turn: to the bot's configured queue (none: the inbox's
    /// default queue), the error as the reason.
    pub fn handover_after(&self, error: &BotError) -> Handover {
        Handover {
            queue: self.queue.clone(),
            reason: format!("bot {}: {error}", self.name),
        }
    }

    async fn exchange(&self, turn: &BotTurnRequest<'_>) -> Result<BotTurn, BotError> {
        let Some(url) = &self.url else {
            return Err(BotError::Unreachable("no URL is configured".into()));
        };
        let mut res = self
            .http
            .post(url.clone())
            .json(turn)
            .send()
            .await
            .map_err(transport)?;
        let status = res.status();
        if !status.is_success() {
            return Err(BotError::Status(status.as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(BotError::Malformed("larger than 1 MiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        parse_answer(&body, &self.handover_intent, self.queue.as_deref())
            .map_err(BotError::Malformed)
    }
}

/// A request that got no (whole) answer. reqwest's errors name the URL, which may carry a
/// token: it is left out.
fn transport(e: reqwest::Error) -> BotError {
    if e.is_connect() {
        BotError::Unreachable(describe(e))
    } else if e.is_timeout() {
        BotError::Timeout
    } else if e.is_decode() {
        BotError::Malformed(describe(e))
    } else {
        BotError::Unreachable(describe(e))
    }
}

/// The error and its causes, without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Reads a REST channel answer (see the module documentation).
fn parse_answer(
    body: &[u8],
    handover_intent: &str,
    queue: Option<&str>,
) -> Result<BotTurn, String> {
    let answer: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Array(messages) = answer else {
        return Err("not a list of messages".into());
    };
    let mut turn = BotTurn::default();
    for (i, message) in messages.iter().enumerate() {
        let Value::Object(m) = message else {
            return Err(format!("message {i} is not an object"));
        };
        let text = string(m, "text", i)?.filter(|t| !t.is_empty());
        let image = string(m, "image", i)?;
        // The text goes with the buttons, else with the image, else alone.
        let text = match buttons(m, i)? {
            Some(buttons) => {
                turn.replies.push(BotReply::Buttons {
                    text: text.unwrap_or_default(),
                    buttons,
                });
                None
            }
            None => text,
        };
        match (image, text) {
            (Some(url), caption) => turn.replies.push(BotReply::Image { url, caption }),
            (None, Some(text)) => turn.replies.push(BotReply::Text(text)),
            (None, None) => {}
        }
        match m.get("attachment") {
            None | Some(Value::Null) => {}
            Some(Value::String(a)) => turn.replies.push(BotReply::Attachment(a.clone())),
            Some(other) => turn
                .replies
                .push(BotReply::Custom(serde_json::json!({ "attachment": other }))),
        }
        match m.get("custom") {
            None | Some(Value::Null) => {}
            Some(custom) => match handover(custom, handover_intent, queue) {
                Some(h) => {
                    turn.handover.get_or_insert(h);
                }
                None => turn.replies.push(BotReply::Custom(custom.clone())),
            },
        }
    }
    Ok(turn)
}

/// A string-valued key of message `i`: absent and `null` are `None`.
fn string(m: &Map<String, Value>, key: &str, i: usize) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("message {i}: `{key}` is not a string")),
    }
}

/// Message `i`'s buttons: `None` when it has none (absent, `null` or empty).
fn buttons(m: &Map<String, Value>, i: usize) -> Result<Option<Vec<BotButton>>, String> {
    let list = match m.get("buttons") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) if list.is_empty() => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(format!("message {i}: `buttons` is not a list")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (j, b) in list.iter().enumerate() {
        let Value::Object(b) = b else {
            return Err(format!("message {i}: button {j} is not an object"));
        };
        let Some(title) = string(b, "title", i)? else {
            return Err(format!("message {i}: button {j} has no `title`"));
        };
        let payload = string(b, "payload", i)?.unwrap_or_else(|| title.clone());
        out.push(BotButton { title, payload });
    }
    Ok(Some(out))
}

/// The hand-over a `custom` payload asks for, if it does (see the module documentation).
fn handover(custom: &Value, handover_intent: &str, queue: Option<&str>) -> Option<Handover> {
    let asked = custom.get("handover") == Some(&Value::Bool(true));
    let intent = custom.get("intent").and_then(Value::as_str) == Some(handover_intent);
    if !asked && !intent {
        return None;
    }
    let given = |key: &str| {
        custom
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    Some(Handover {
        queue: given("queue").or(queue).map(str::to_string),
        reason: match given("reason") {
            Some(r) => r.to_string(),
            None if asked => "the bot handed the conversation over".into(),
            None => format!("the bot's intent {handover_intent}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(answer: Value) -> Result<BotTurn, String> {
        parse_answer(
            answer.to_string().as_bytes(),
            "human_handoff",
            Some("support"),
        )
    }

    #[test]
    fn every_kind_of_message_becomes_its_reply_in_order() {
        let turn = parse(json!([
            {"recipient_id": "c1", "text": "Hello"},
            {"recipient_id": "c1", "text": "Pick", "buttons": [
                {"title": "Yes", "payload": "/affirm"}, {"title": "No"}]},
            {"recipient_id": "c1", "image": "https://example.com/a.png"},
            {"recipient_id": "c1", "text": "Our shop", "image": "https://example.com/b.png"},
            {"recipient_id": "c1", "attachment": "https://example.com/terms.pdf"},
            {"recipient_id": "c1", "attachment": {"type": "video", "payload": {"src": "v.mp4"}}},
            {"recipient_id": "c1", "custom": {"type": "datepicker"}},
            {"recipient_id": "c1", "text": "", "future_key": 1},
            {"recipient_id": "c1"},
        ]))
        .unwrap();
        assert_eq!(
            turn.replies,
            [
                BotReply::Text("Hello".into()),
                BotReply::Buttons {
                    text: "Pick".into(),
                    buttons: vec![
                        BotButton {
                            title: "Yes".into(),
                            payload: "/affirm".into()
                        },
                        BotButton {
                            title: "No".into(),
                            payload: "No".into()
                        },
                    ],
                },
                BotReply::Image {
                    url: "https://example.com/a.png".into(),
                    caption: None
                },
                BotReply::Image {
                    url: "https://example.com/b.png".into(),
                    caption: Some("Our shop".into())
                },
                BotReply::Attachment("https://example.com/terms.pdf".into()),
                BotReply::Custom(
                    json!({"attachment": {"type": "video", "payload": {"src": "v.mp4"}}})
                ),
                BotReply::Custom(json!({"type": "datepicker"})),
            ]
        );
        assert_eq!(turn.handover, None);
    }

    #[test]
    fn an_empty_list_is_a_silent_turn() {
        assert_eq!(parse(json!([])).unwrap(), BotTurn::default());
    }

    #[test]
    fn hand_overs_take_the_first_payload_and_fall_back_to_the_configured_queue() {
        let turn = parse(json!([
            {"text": "Let me get a colleague"},
            {"custom": {"handover": true, "queue": "billing", "reason": "asked for a refund"}},
            {"custom": {"intent": "human_handoff"}},
            {"text": "Bye"},
        ]))
        .unwrap();
        assert_eq!(
            turn.handover,
            Some(Handover {
                queue: Some("billing".into()),
                reason: "asked for a refund".into()
            })
        );
        assert_eq!(
            turn.replies,
            [
                BotReply::Text("Let me get a colleague".into()),
                BotReply::Text("Bye".into())
            ]
        );
        let intent = parse(json!([{"custom": {"intent": "human_handoff"}}])).unwrap();
        assert_eq!(
            intent.handover,
            Some(Handover {
                queue: Some("support".into()),
                reason: "the bot's intent human_handoff".into()
            })
        );
        let unconfigured = parse_answer(br#"[{"custom": {"handover": true}}]"#, "x", None).unwrap();
        assert_eq!(unconfigured.handover.unwrap().queue, None);
        // Not a hand-over: another intent, a truthy string.
        let other =
            parse(json!([{"custom": {"intent": "greet"}}, {"custom": {"handover": "yes"}}]))
                .unwrap();
        assert_eq!(other.handover, None);
        assert_eq!(other.replies.len(), 2);
    }

    #[test]
    fn answers_that_are_not_the_rest_channels_say_why() {
        for (body, why) in [
            (&b"<html>502</html>"[..], "not JSON"),
            (br#"{"text": "hi"}"#, "not a list of messages"),
            (br#"["hi"]"#, "message 0 is not an object"),
            (br#"[{"text": 42}]"#, "message 0: `text` is not a string"),
            (
                br#"[{}, {"buttons": {}}]"#,
                "message 1: `buttons` is not a list",
            ),
            (
                br#"[{"buttons": [{"payload": "/x"}]}]"#,
                "message 0: button 0 has no `title`",
            ),
        ] {
            let e = parse_answer(body, "human_handoff", None).unwrap_err();
            assert!(e.starts_with(why), "{e}");
        }
    }
}
