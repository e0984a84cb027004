//! Sinch's Conversation API, WhatsApp channel
//! (<https://developers.sinch.com/docs/conversation/>): messages are sent with
//! `POST /v1/projects/{project_id}/messages:send` on the app's region
//! (`https://{us|eu|br}.conversation.api.sinch.com`), authenticated by an OAuth2 bearer token
//! from `https://auth.sinch.com/oauth2/token` (client credentials: the access key's id and
//! secret; kept until a minute before it expires, fetched again after a 401). The app's
//! webhook brings customers' messages (`message`) and delivery reports
//! (`message_delivery_report`), signed with the webhook's secret: `x-sinch-webhook-signature`
//! is the base64 HMAC-SHA256 of `<raw body>.<nonce>.<timestamp>` (the `-nonce` and
//! `-timestamp` headers).
//!
//! Deflect's messages map to Sinch's kinds: text → `text_message`; a template →
//! `template_message.channel_template.WHATSAPP` with WhatsApp's parameter keys
//! (`body[1]text`, `header[1]image.link`, `button[0]url[1]text`,
//! `button[0]quick_reply[1]payload`); reply buttons and a link button → `choice_message`; a
//! list → `list_message`; a file → `media_message` (with a caption: `card_message`, Sinch's
//! media with text), fetched by Sinch from a signed, expiring link to the gateway.
//!
//! Each send carries its outbox correlation as `correlation_id` and `message_metadata`; the
//! delivery reports return them. Failure reasons (`reason.code`) are sorted into the classes
//! of Meta's codes (see [`error_code`]), the reason itself kept in the error's title.

use super::webhook::{Delivery, Refusal, Routed};
use super::{
    HeaderParam, Inbound, InboundMedia, InboundMessage, MediaSource, Outgoing, Receipt,
    SendContext, SendError, Sent, StatusUpdate, WebhookError,
};
use crate::model::{DeliveryStatus, Interactive};
use base64::Engine;
use deflect_config::{AccountConfig, MediaKind, Secret};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sinch's OAuth2 token endpoint.
pub const TOKEN_URL: &str = "https://auth.sinch.com/oauth2/token";

/// A token is fetched again this long before Sinch says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Sends through Sinch's Conversation API for one account.
#[derive(Clone, Debug)]
pub struct SinchClient {
    http: reqwest::Client,
    /// `{base}/v1/projects/{project_id}/messages:send`.
    endpoint: String,
    token_url: String,
    app_id: String,
    key_id: String,
    key_secret: Option<Secret>,
    timeout: Duration,
    token: Arc<tokio::sync::Mutex<Option<Token>>>,
}

/// A bearer token and when to fetch the next.
struct Token {
    value: Secret,
    renew_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl SinchClient {
    /// A client for `account`.
    pub fn new(account: &AccountConfig, http: reqwest::Client) -> Self {
        let base = super::api_base(account);
        let project = account.project_id.clone().unwrap_or_default();
        Self {
            http,
            endpoint: format!("{base}/v1/projects/{project}/messages:send"),
            token_url: account
                .token_url
                .as_ref()
                .map_or_else(|| TOKEN_URL.to_string(), |u| u.to_string()),
            app_id: account.app_id.clone().unwrap_or_default(),
            key_id: account.key_id.clone().unwrap_or_default(),
            key_secret: account.key_secret.clone(),
            timeout: account.request_timeout,
            token: Arc::default(),
        }
    }

    /// Sends one message; a 401 (an expired or revoked token) fetches a new token and tries
    /// once more.
    pub async fn send(
        &self,
        to: &str,
        message: &Outgoing,
        context: &SendContext,
    ) -> Result<Sent, SendError> {
        let link = context.link_for(message, "Sinch")?;
        let body = request_body(&self.app_id, to, message, link, &context.correlation);
        for attempt in 0..2 {
            let token = self.token(attempt > 0).await?;
            let res = self
                .http
                .post(&self.endpoint)
                .timeout(self.timeout)
                .bearer_auth(token.expose())
                .json(&body)
                .send()
                .await
                .map_err(|e| super::classify_transport(&e))?;
            if res.status() == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                continue;
            }
            return super::read_send_answer(res, &["/message_id"], error_of).await;
        }
        Err(SendError::Rejected {
            code: None,
            message: "Sinch refused the access token twice (401): check key_id and key_secret"
                .into(),
        })
    }

    /// Sinch's Conversation API has no read receipt for a customer's WhatsApp message.
    pub fn mark_read(&self) -> Receipt {
        Receipt::NotSupported
    }

    /// A bearer token: the one kept, unless it is due or `renew`, else a new one.
    async fn token(&self, renew: bool) -> Result<Secret, SendError> {
        let mut kept = self.token.lock().await;
        if let Some(t) = kept.as_ref()
            && !renew
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let res = self
            .http
            .post(&self.token_url)
            .timeout(self.timeout)
            .basic_auth(&self.key_id, self.key_secret.as_ref().map(Secret::expose))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            // No message went out: whatever happened, sending again is safe.
            .map_err(|e| SendError::Retry {
                code: None,
                message: format!("cannot get a Sinch access token: {e}"),
            })?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        let (Some(value), true) = (json["access_token"].as_str(), status.is_success()) else {
            let why = json["error_description"]
                .as_str()
                .or(json["error"].as_str())
                .unwrap_or("no access_token in the answer");
            let message = format!("Sinch's token endpoint answered {status}: {why}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                SendError::Retry {
                    code: None,
                    message,
                }
            } else {
                SendError::Rejected {
                    code: None,
                    message,
                }
            });
        };
        let lifetime = Duration::from_secs(json["expires_in"].as_u64().unwrap_or(3600));
        let token = Token {
            value: Secret::new(value),
            renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        };
        let value = token.value.clone();
        *kept = Some(token);
        Ok(value)
    }
}

/// An error answer (`{"error": {"code", "message", "status"}}`): 429 and 5xx are worth
/// retrying, the rest will not succeed as sent.
fn error_of(status: reqwest::StatusCode, json: &Value) -> SendError {
    let e = &json["error"];
    let message = format!(
        "{}{}",
        e["status"]
            .as_str()
            .map(|s| format!("{s}: "))
            .unwrap_or_default(),
        e["message"].as_str().unwrap_or("no error message")
    );
    let code = Some(i64::from(status.as_u16()));
    if status.as_u16() == 429 || status.is_server_error() {
        SendError::Retry { code, message }
    } else {
        SendError::Rejected { code, message }
    }
}

/// The class of a delivery report's failure `reason.code`, as the Meta code of the same
/// class (how deflect sorts failures: see [`super::error_meaning`]); none for the others.
pub fn error_code(reason: &str) -> Option<i64> {
    Some(match reason {
        "OUTSIDE_ALLOWED_SENDING_WINDOW" => super::ERR_OUTSIDE_WINDOW,
        "RECIPIENT_NOT_REACHABLE" | "RECIPIENT_INVALID_CHANNEL_IDENTITY" => {
            super::ERR_UNDELIVERABLE
        }
        "RATE_LIMITED" => super::ERR_THROUGHPUT,
        _ => return None,
    })
}

/// The JSON body of a send to `to` (digits); `link` is where Sinch fetches a file.
pub fn request_body(
    app_id: &str,
    to: &str,
    message: &Outgoing,
    link: Option<&str>,
    correlation: &str,
) -> Value {
    json!({
        "app_id": app_id,
        "recipient": {"identified_by": {"channel_identities": [
            {"channel": "WHATSAPP", "identity": to.trim_start_matches('+')}
        ]}},
        "message": app_message(message, link),
        "channel_priority_order": ["WHATSAPP"],
        "correlation_id": correlation,
        "message_metadata": correlation,
    })
}

fn text(body: &str) -> Value {
    json!({"text_message": {"text": body}})
}

fn app_message(message: &Outgoing, link: Option<&str>) -> Value {
    match message {
        Outgoing::Text { body } | Outgoing::Sms { body } => text(body),
        // Only accounts with `calling` (Meta) send a call button; as text elsewhere.
        Outgoing::VoiceCall { .. } | Outgoing::CallPermissionRequest { .. } => {
            text(&message.as_text())
        }
        Outgoing::Template {
            name,
            language,
            body_params,
            named_params,
            header,
            url_buttons,
            button_payload,
            more_payloads,
            ..
        } => {
            let mut p = Map::new();
            // Named parameters go by their place in the template, as WhatsApp's channel
            // template keys number them.
            let values = body_params
                .iter()
                .chain(named_params.iter().map(|n| &n.value));
            for (i, v) in values.enumerate() {
                p.insert(format!("body[{}]text", i + 1), json!(v));
            }
            match header {
                Some(HeaderParam::Text { text, .. }) => {
                    p.insert("header[1]text".into(), json!(text));
                }
                Some(HeaderParam::Media { format, link }) => {
                    p.insert(format!("header[1]{}.link", format.as_str()), json!(link));
                }
                None => {}
            }
            for b in url_buttons {
                p.insert(format!("button[{}]url[1]text", b.index), json!(b.text));
            }
            let payloads = button_payload.iter().map(|p| (0, p));
            let more = (more_payloads.iter().enumerate()).map(|(i, p)| (i + 1, p));
            for (index, payload) in payloads.chain(more) {
                p.insert(
                    format!("button[{index}]quick_reply[1]payload"),
                    json!(payload),
                );
            }
            json!({"template_message": {"channel_template": {"WHATSAPP": {
                "template_id": name,
                "language_code": language.replace('-', "_"),
                "parameters": p,
            }}}})
        }
        Outgoing::Buttons { body, buttons } => json!({"choice_message": {
            "text_message": {"text": body},
            "choices": buttons.iter().map(|b| json!({
                "text_message": {"text": b.title}, "postback_data": b.id
            })).collect::<Vec<_>>(),
        }}),
        Outgoing::List(l) => json!({"list_message": {
            "title": l.body,
            "sections": l.sections.iter().map(|s| json!({
                "title": s.title,
                "items": s.rows.iter().map(|r| {
                    let mut choice = json!({"title": r.title, "postback_data": r.id});
                    if let Some(d) = &r.description {
                        choice["description"] = json!(d);
                    }
                    json!({"choice": choice})
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "message_properties": {"menu": l.button},
        }}),
        Outgoing::CtaUrl {
            body,
            display_text,
            url,
        } => json!({"choice_message": {
            "text_message": {"text": body},
            "choices": [{"url_message": {"title": display_text, "url": url}}],
        }}),
        Outgoing::Media(m) => {
            let mut media = json!({"url": link.unwrap_or_default()});
            if let Some(f) = &m.filename {
                media["filename_override"] = json!(f);
            }
            match &m.caption {
                Some(c) if !c.is_empty() => {
                    json!({"card_message": {"title": c, "media_message": media}})
                }
                _ => json!({ "media_message": media }),
            }
        }
    }
}

/// Checks a delivery's `x-sinch-webhook-signature` with the account's webhook secret and
/// reads it.
pub fn receive(account: &AccountConfig, delivery: &Delivery<'_>) -> Result<Vec<Routed>, Refusal> {
    let verified = account.webhook_secret.as_ref().is_some_and(|s| {
        verify_signature(
            s,
            delivery.body,
            delivery.header("x-sinch-webhook-signature-nonce"),
            delivery.header("x-sinch-webhook-signature-timestamp"),
            delivery.header("x-sinch-webhook-signature"),
        )
    });
    if !verified {
        return Err(Refusal::Unauthenticated);
    }
    Ok(parse_callback(delivery.body)?
        .into_iter()
        .map(|i| (None, i))
        .collect())
}

/// Checks a callback's signature: the base64 HMAC-SHA256, keyed by the webhook's secret,
/// of `<body>.<nonce>.<timestamp>`.
pub fn verify_signature(
    secret: &Secret,
    body: &[u8],
    nonce: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
) -> bool {
    let (Some(nonce), Some(timestamp), Some(signature)) = (nonce, timestamp, signature) else {
        return false;
    };
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    super::hmac_matches::<hmac::Hmac<sha2::Sha256>>(
        secret.expose().as_bytes(),
        &[body, b".", nonce.as_bytes(), b".", timestamp.as_bytes()],
        &expected,
    )
}

/// Computes `x-sinch-webhook-signature` (for tests and load generators).
pub fn sign(secret: &str, body: &[u8], nonce: &str, timestamp: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    for part in [body, b".", nonce.as_bytes(), b".", timestamp.as_bytes()] {
        mac.update(part);
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Reads a callback: a customer's message (`message`, WhatsApp only) or a delivery report
/// (`message_delivery_report`); the other triggers (contact and conversation events,
/// submissions) carry nothing deflect keeps.
pub fn parse_callback(body: &[u8]) -> Result<Vec<Inbound>, WebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError(format!("not JSON: {e}")))?;
    if !v.is_object() {
        return Err(WebhookError("not a JSON object".into()));
    }
    let correlation = (v["correlation_id"].as_str())
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if let Some(report) = v.get("message_delivery_report") {
        return parse_report(report, correlation).map(|s| vec![Inbound::Status(s)]);
    }
    if let Some(m) = v.get("message") {
        if m["channel_identity"]["channel"].as_str() != Some("WHATSAPP") {
            return Ok(Vec::new());
        }
        return parse_message(m, &v).map(|m| vec![Inbound::Message(Box::new(m))]);
    }
    Ok(Vec::new())
}

fn parse_report(r: &Value, correlation: Option<String>) -> Result<StatusUpdate, WebhookError> {
    let id = r["message_id"]
        .as_str()
        .ok_or_else(|| WebhookError("a delivery report without message_id".into()))?;
    let status = match r["status"].as_str() {
        Some("QUEUED_ON_CHANNEL") => DeliveryStatus::Sent,
        Some("DELIVERED") => DeliveryStatus::Delivered,
        Some("READ") => DeliveryStatus::Read,
        Some("FAILED") => DeliveryStatus::Failed,
        // Sinch tries another channel: none is configured but WhatsApp, so it is still on
        // its way.
        Some("SWITCHING_CHANNEL") => DeliveryStatus::Sent,
        other => return Err(WebhookError(format!("unknown delivery status {other:?}"))),
    };
    let reason = &r["reason"];
    let failed = status == DeliveryStatus::Failed;
    let code = reason["code"].as_str().filter(|_| failed);
    Ok(StatusUpdate {
        external_id: id.to_string(),
        correlation: correlation.or_else(|| {
            (r["metadata"].as_str())
                .filter(|m| !m.is_empty())
                .map(str::to_string)
        }),
        status,
        timestamp: 0,
        error_code: code.and_then(error_code),
        error_title: code.map(|c| match reason["description"].as_str() {
            Some(d) if !d.is_empty() => format!("{c}: {d}"),
            _ => c.to_string(),
        }),
    })
}

fn parse_message(m: &Value, envelope: &Value) -> Result<InboundMessage, WebhookError> {
    let id = m["id"]
        .as_str()
        .ok_or_else(|| WebhookError("a message without id".into()))?;
    let from = m["channel_identity"]["identity"]
        .as_str()
        .map(|f| f.trim_start_matches('+').to_string())
        .filter(|f| !f.is_empty())
        .ok_or_else(|| WebhookError("a message without channel_identity.identity".into()))?;
    let c = &m["contact_message"];
    let (mut kind, mut body, mut media, mut interactive, mut payload) =
        ("unsupported", None, Vec::new(), None, None);
    if let Some(t) = c["text_message"]["text"].as_str() {
        (kind, body) = ("text", Some(t.to_string()));
    } else if let Some(url) = c["media_message"]["url"].as_str() {
        let file = media_of(url, c["media_message"]["filename_override"].as_str(), None);
        kind = file.kind.as_str();
        media.push(file);
    } else if let Some(url) = c["media_card_message"]["url"].as_str() {
        let caption = c["media_card_message"]["caption"].as_str();
        let file = media_of(url, None, caption);
        kind = file.kind.as_str();
        body = caption.map(str::to_string);
        media.push(file);
    } else if c["location_message"].is_object() {
        let l = &c["location_message"];
        kind = "location";
        body = Some(super::location_text(
            (l["title"].as_str(), l["label"].as_str()),
            (
                l["coordinates"]["latitude"].as_f64(),
                l["coordinates"]["longitude"].as_f64(),
            ),
        ));
    } else if let Some(p) = c["choice_response_message"]["postback_data"].as_str() {
        // Sinch names the choice only by its postback data (deflect's button or row id).
        kind = "interactive";
        payload = Some(p.to_string());
        interactive = Some(Interactive::ButtonReply {
            id: p.to_string(),
            title: p.to_string(),
        });
        body = Some(p.to_string());
    }
    let context_id = (c["reply_to"]["message_id"].as_str())
        .or(c["choice_response_message"]["message_id"].as_str())
        .map(str::to_string);
    Ok(InboundMessage {
        external_id: id.to_string(),
        from,
        profile_name: None,
        timestamp: 0,
        kind: kind.to_string(),
        body: body.or_else(|| Some(format!("[{kind}]"))),
        context_id,
        button_payload: payload,
        interactive,
        media,
        raw: envelope.clone(),
    })
}

/// A customer's file at `url`; Sinch names no type, so its kind follows the URL's
/// extension (the bytes decide its type once downloaded).
fn media_of(url: &str, filename: Option<&str>, caption: Option<&str>) -> InboundMedia {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let extension = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let kind = match extension.as_str() {
        "jpg" | "jpeg" | "png" => MediaKind::Image,
        "webp" => MediaKind::Sticker,
        "ogg" | "opus" | "mp3" | "m4a" | "aac" | "amr" => MediaKind::Audio,
        "mp4" | "3gp" | "3gpp" => MediaKind::Video,
        _ => MediaKind::Document,
    };
    InboundMedia {
        kind,
        source: MediaSource::Url(url.to_string()),
        declared_mime: None,
        filename: filename.map(str::to_string),
        caption: caption.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "foo_secret1234";
    const NONCE: &str = "01FJA8B4A7BM43YGWSG9GBV067";
    const TIMESTAMP: &str = "1634579353";

    /// The delivery report Sinch's Python SDK verifies, byte for byte.
    const REPORT: &str = r#"{"app_id":"01EB37HMH1M6SV18BSNS3G135H","accepted_time":"2020-11-17T15:09:11.659Z","project_id":"c36f3d3d-1513-2edd-ae42-11995557ff61","message_delivery_report":{"message_id":"01EQBC1A3BEK731GY4YXEN0C2R","conversation_id":"01EPYATA64TMNZ1FV02JKF12JF","status":"QUEUED_ON_CHANNEL","contact_id":"01EXA07N79THJ20WSN6AS30TMW"}}"#;

    #[test]
    fn signatures_match_sinchs_published_test_vectors() {
        let contact = r#"{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS","identity":"48123456789","app_id":""}],"display_name":"New Test Contact","email":"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},"message_metadata":""}"#;
        for (body, expected) in [
            (contact, "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE="),
            (REPORT, "Yc+3R1pIS78xLASybulhs8BsSo9BPB3Pr92QCUoczfk="),
        ] {
            assert_eq!(sign(SECRET, body.as_bytes(), NONCE, TIMESTAMP), expected);
            let check = |secret: &str, body: &str, nonce, signature| {
                verify_signature(
                    &Secret::new(secret),
                    body.as_bytes(),
                    nonce,
                    Some(TIMESTAMP),
                    signature,
                )
            };
            assert!(check(SECRET, body, Some(NONCE), Some(expected)));
            assert!(!check("wrong_secret", body, Some(NONCE), Some(expected)));
            assert!(!check(
                SECRET,
                &format!("{body} "),
                Some(NONCE),
                Some(expected)
            ));
            assert!(!check(SECRET, body, Some("another"), Some(expected)));
            assert!(!check(SECRET, body, None, Some(expected)));
            assert!(!check(SECRET, body, Some(NONCE), None));
            assert!(!check(SECRET, body, Some(NONCE), Some("not base64!")));
        }
    }

    #[test]
    fn delivery_reports_become_statuses_with_their_failures_classified() {
        let items = parse_callback(REPORT.as_bytes()).unwrap();
        let [Inbound::Status(s)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(s.external_id, "01EQBC1A3BEK731GY4YXEN0C2R");
        assert_eq!(s.status, DeliveryStatus::Sent);
        assert_eq!(
            (s.error_code, &s.error_title, &s.correlation),
            (None, &None, &None)
        );
        let failed = json!({"app_id": "A", "correlation_id": "deflect-outbox-7",
            "message_delivery_report": {"message_id": "M1", "status": "FAILED",
            "reason": {"code": "RECIPIENT_NOT_REACHABLE", "description": "not on WhatsApp",
                       "sub_code": "UNSPECIFIED_SUB_CODE"}, "metadata": "deflect-outbox-7"}});
        let items = parse_callback(failed.to_string().as_bytes()).unwrap();
        let [Inbound::Status(s)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert_eq!(s.correlation.as_deref(), Some("deflect-outbox-7"));
        assert_eq!(s.error_code, Some(super::super::ERR_UNDELIVERABLE));
        assert_eq!(
            s.error_title.as_deref(),
            Some("RECIPIENT_NOT_REACHABLE: not on WhatsApp")
        );
        for (reason, meaning) in [
            (
                "OUTSIDE_ALLOWED_SENDING_WINDOW",
                super::super::ErrorMeaning::OutsideWindow,
            ),
            ("RATE_LIMITED", super::super::ErrorMeaning::RateLimited),
            ("TEMPLATE_NOT_FOUND", super::super::ErrorMeaning::Other),
        ] {
            assert_eq!(
                super::super::error_meaning(error_code(reason)),
                meaning,
                "{reason}"
            );
        }
        let odd = json!({"message_delivery_report": {"message_id": "M1", "status": "LOST"}});
        assert!(parse_callback(odd.to_string().as_bytes()).is_err());
        assert!(parse_callback(b"[1]").is_err());
        assert!(parse_callback(b"{").is_err());
    }

    #[test]
    fn whatsapp_messages_of_every_kind_are_read_and_other_channels_ignored() {
        let message = |content: Value| {
            let v = json!({"app_id": "A", "project_id": "P", "message": {
                "id": "01H98", "direction": "TO_APP", "contact_message": content,
                "channel_identity": {"channel": "WHATSAPP", "identity": "46732001122", "app_id": "A"},
                "conversation_id": "C", "contact_id": "K", "accept_time": "2024-06-15T14:23:45.123Z"}});
            let items = parse_callback(v.to_string().as_bytes()).unwrap();
            let [Inbound::Message(m)] = &items[..] else {
                panic!("{items:?}")
            };
            (**m).clone()
        };
        let m =
            message(json!({"text_message": {"text": "Hi"}, "reply_to": {"message_id": "01OUT"}}));
        assert_eq!(
            (m.external_id.as_str(), m.from.as_str()),
            ("01H98", "46732001122")
        );
        assert_eq!((m.kind.as_str(), m.body.as_deref()), ("text", Some("Hi")));
        assert_eq!(m.context_id.as_deref(), Some("01OUT"));
        let m = message(json!({"media_message": {"url": "https://media.sinch.com/f/a.JPG?x=1"}}));
        assert_eq!(m.kind, "image");
        assert_eq!(
            m.media[0].source,
            MediaSource::Url("https://media.sinch.com/f/a.JPG?x=1".into())
        );
        let m = message(
            json!({"media_card_message": {"url": "https://m/x.pdf", "caption": "Invoice"}}),
        );
        assert_eq!(
            (m.kind.as_str(), m.body.as_deref()),
            ("document", Some("Invoice"))
        );
        assert_eq!(m.media[0].caption.as_deref(), Some("Invoice"));
        let m = message(
            json!({"location_message": {"coordinates": {"latitude": 52.37, "longitude": 4.89},
            "title": "Office", "label": "Dam 1"}}),
        );
        assert_eq!(
            m.body.as_deref(),
            Some("[location] Office, Dam 1 (52.37, 4.89)")
        );
        let m = message(
            json!({"choice_response_message": {"message_id": "01OUT", "postback_data": "csat:K7:5"}}),
        );
        assert_eq!(m.button_payload.as_deref(), Some("csat:K7:5"));
        assert_eq!(m.context_id.as_deref(), Some("01OUT"));
        let m = message(json!({"fallback_message": {"raw_message": "?"}}));
        assert_eq!(
            (m.kind.as_str(), m.body.as_deref()),
            ("unsupported", Some("[unsupported]"))
        );
        let sms = json!({"message": {"id": "1", "contact_message": {"text_message": {"text": "x"}},
            "channel_identity": {"channel": "SMS", "identity": "1"}}});
        assert_eq!(
            parse_callback(sms.to_string().as_bytes()).unwrap(),
            Vec::new()
        );
        let nobody = json!({"message": {"id": "1", "contact_message": {},
            "channel_identity": {"channel": "WHATSAPP"}}});
        assert!(parse_callback(nobody.to_string().as_bytes()).is_err());
    }
}
