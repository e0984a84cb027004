//! Meta's WhatsApp Business Cloud API (Graph API): sending, webhook verification, signature
//! checking and parsing.
//!
//! - Send: `POST {api_base_url}/{api_version}/{phone_number_id}/messages` with
//!   `Authorization: Bearer <access_token>` and a JSON body; the answer's `messages[0].id`
//!   (`wamid…`) becomes the message's external id. `biz_opaque_callback_data` carries the
//!   send's correlation, which Meta returns with each status of the message.
//!   Reply buttons go as `interactive` of type `button` (`action.buttons[].reply{id,title}`),
//!   a list as `interactive` of type `list` (`action.button` and `action.sections[]` of
//!   `title` and `rows[]{id,title,description}`), a link button as `interactive` of type
//!   `cta_url` (`action.name: "cta_url"`, `action.parameters{display_text,url}`) — limits in
//!   [`crate::model::Interactive`]. The customer's tap comes back as
//!   `interactive.button_reply` / `list_reply` (a template's quick reply as `button`), read
//!   into the inbound message's `interactive` (`button_reply` / `list_reply`: id and title)
//!   with the id as its `button_payload`.
//! - Webhook subscription: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` is
//!   answered with the challenge when the token matches ([`verify_subscription`]).
//! - Webhook deliveries: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`,
//!   checked over the raw bytes in constant time ([`verify_signature`]); then every entry,
//!   change, message and status is read ([`parse_webhook`]). Message types this version does
//!   not know are kept as `unsupported` with their JSON, never dropped.
//! - Calls (the Calling API): the `calls` field's events and the call actions, in
//!   [`super::meta_calls`]; [`MetaClient::call`] posts an action.

use super::meta_calls::{CallAction, CallPermission, action_body};
use super::{
    HeaderParam, Inbound, InboundMedia, InboundMessage, MediaLink, MediaMessage, MediaSource,
    Outgoing, Receipt, Row, SendContext, SendError, Sent, StatusUpdate, WebhookError,
};
use crate::model::{DeliveryStatus, Interactive};
use deflect_config::{AccountConfig, MediaKind, Secret};
use serde_json::{Value, json};

/// Sends through the Cloud API for one account.
#[derive(Clone, Debug)]
pub struct MetaClient {
    http: reqwest::Client,
    endpoint: String,
    /// Where files are uploaded (`/{phone_number_id}/media`).
    media_endpoint: String,
    /// The number's conversational components (ice breakers, welcome request).
    components_endpoint: String,
    /// Call actions (`/{phone_number_id}/calls`).
    calls_endpoint: String,
    /// Permissions to call customers (`/{phone_number_id}/call_permissions`).
    permissions_endpoint: String,
    timeout: std::time::Duration,
    token: Option<Secret>,
}

impl MetaClient {
    /// A client for `account`.
    pub fn new(account: &AccountConfig, http: reqwest::Client) -> Self {
        let base = super::api_base(account);
        let number = format!(
            "{base}/{}/{}",
            account.api_version,
            account.phone_number_id.as_deref().unwrap_or_default()
        );
        Self {
            http,
            endpoint: format!("{number}/messages"),
            media_endpoint: format!("{number}/media"),
            components_endpoint: format!("{number}/conversational_automation"),
            calls_endpoint: format!("{number}/calls"),
            permissions_endpoint: format!("{number}/call_permissions"),
            token: account.access_token.clone(),
            timeout: account.request_timeout,
        }
    }

    /// Sends one message, with the context's correlation as `biz_opaque_callback_data`
    /// (returned with every status callback of the message).
    pub async fn send(
        &self,
        to: &str,
        message: &Outgoing,
        context: &SendContext,
    ) -> Result<Sent, SendError> {
        if matches!(message, Outgoing::Media(_)) && context.media.is_none() {
            return Err(SendError::Rejected {
                code: None,
                message: "a file is sent to Meta by the id of its upload, and none was given"
                    .into(),
            });
        }
        let mut body = request_body(to, message, context.media.as_ref());
        body["biz_opaque_callback_data"] = context.correlation.clone().into();
        let res = self.post(&self.endpoint, &body).await?;
        super::read_send_answer(res, &["/messages/0/id"], error_of).await
    }

    /// Asks Meta for a call action (see [`super::meta_calls`]); a `connect` is answered
    /// with the new call's id, the other actions with none.
    pub async fn call(&self, action: &CallAction<'_>) -> Result<Option<String>, SendError> {
        let req = self
            .http
            .post(&self.calls_endpoint)
            .json(&action_body(action));
        let json = self.answer_of(req).await?;
        Ok(json["calls"][0]["id"].as_str().map(str::to_owned))
    }

    /// Asks Meta whether the business may call the customer `wa_id` (see
    /// [`super::meta_calls`]); an answer that does not read as one is
    /// [`SendError::Rejected`].
    pub async fn call_permission(&self, wa_id: &str) -> Result<CallPermission, SendError> {
        let rejected = |message: String| SendError::Rejected {
            code: None,
            message,
        };
        let url = url::Url::parse_with_params(&self.permissions_endpoint, [("user_wa_id", wa_id)])
            .map_err(|e| rejected(format!("the account's API address does not read: {e}")))?;
        let json = self.answer_of(self.http.get(url)).await?;
        serde_json::from_value(json)
            .map_err(|e| rejected(format!("Meta's call permission answer does not read: {e}")))
    }

    /// Sends `req` with the account's token and reads Meta's JSON answer; an error answer
    /// becomes its [`SendError`].
    async fn answer_of(&self, req: reqwest::RequestBuilder) -> Result<Value, SendError> {
        let res = self.send_authed(req).await?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(error_of(status, &json));
        }
        Ok(json)
    }

    /// Posts `body` to `url` with the account's token.
    async fn post(&self, url: &str, body: &Value) -> Result<reqwest::Response, SendError> {
        self.send_authed(self.http.post(url).json(body)).await
    }

    /// Sends `req` with the account's token and timeout; a request that got no answer is
    /// classified by [`super::classify_transport`].
    async fn send_authed(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SendError> {
        let mut req = req.timeout(self.timeout);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        req.send().await.map_err(|e| super::classify_transport(&e))
    }

    /// Uploads a file (`POST /{phone_number_id}/media`, multipart: `messaging_product`,
    /// `type` and the `file`, streamed) and returns the media id Meta gives it (valid 30
    /// days). The upload sends no message, so a request without an answer is retried
    /// ([`SendError::Retry`]) rather than held as unknown.
    pub async fn upload_media<S, E>(
        &self,
        mime_type: &str,
        filename: &str,
        size: u64,
        bytes: S,
    ) -> Result<String, SendError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let form = super::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type)
            .with_file("file", filename, mime_type, size, bytes);
        let mut req = self
            .http
            .post(&self.media_endpoint)
            .timeout(upload_timeout(self.timeout, size))
            .header(reqwest::header::CONTENT_TYPE, form.content_type)
            .header(reqwest::header::CONTENT_LENGTH, form.length)
            .body(form.body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        let res = req.send().await.map_err(|e| SendError::Retry {
            code: None,
            message: format!("uploading the file to Meta failed: {e}"),
        })?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(error_of(status, &json));
        }
        match &json["id"] {
            Value::String(id) if !id.is_empty() => Ok(id.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(SendError::Retry {
                code: None,
                message: format!("Meta accepted the upload but its answer ({status}) had no id"),
            }),
        }
    }

    /// Marks the customer's message `message_id` (and so every earlier one) read, and with
    /// `typing` shows them the typing indicator (until the next message, at most ~25 s):
    /// `{"messaging_product": "whatsapp", "status": "read", "message_id", "typing_indicator":
    /// {"type": "text"}}` to the messages endpoint.
    pub async fn mark_read(&self, message_id: &str, typing: bool) -> Result<Receipt, SendError> {
        let body = read_receipt_body(message_id, typing);
        let res = self.post(&self.endpoint, &body).await?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(Receipt::Sent)
        } else {
            Err(error_of(status, &json))
        }
    }

    /// Sets the number's conversational components: its ice breakers (`prompts`) and
    /// whether Meta asks for a welcome (a `request_welcome` message) when a customer opens
    /// the chat for the first time. `POST /{phone_number_id}/conversational_automation`.
    pub async fn set_conversational_automation(
        &self,
        prompts: &[String],
        enable_welcome_message: bool,
    ) -> Result<(), SendError> {
        let body = json!({ "enable_welcome_message": enable_welcome_message, "prompts": prompts });
        let res = self.post(&self.components_endpoint, &body).await?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(())
        } else {
            Err(error_of(status, &json))
        }
    }
}

/// How long an upload of `size` bytes may take: the account's request timeout, plus a
/// second per 256 KiB (a 100 MB document gets about 7 minutes).
fn upload_timeout(base: std::time::Duration, size: u64) -> std::time::Duration {
    base + std::time::Duration::from_secs(size / (256 * 1024))
}

/// The error an unsuccessful Cloud API answer (`{"error": {"code", "message"}}`) means.
fn error_of(status: reqwest::StatusCode, json: &Value) -> SendError {
    let code = json["error"]["code"].as_i64();
    let message = json["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let retry = status.is_server_error()
        || status.as_u16() == 429
        || status.as_u16() == 401
        || matches!(
            super::error_meaning(code),
            super::ErrorMeaning::RateLimited
        )
        // 131000 something went wrong, 131016 service unavailable, 190 token expired.
        || matches!(code, Some(131_000 | 131_016 | 190));
    if retry {
        SendError::Retry { code, message }
    } else {
        SendError::Rejected { code, message }
    }
}

/// The JSON body that marks `message_id` read, with the typing indicator when `typing`.
pub fn read_receipt_body(message_id: &str, typing: bool) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    });
    if typing {
        body["typing_indicator"] = json!({ "type": "text" });
    }
    body
}

/// The JSON body of a send request; a file ([`Outgoing::Media`]) goes by `media`, its
/// upload's id (or a link).
pub fn request_body(to: &str, message: &Outgoing, media: Option<&MediaLink>) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    });
    match message {
        Outgoing::Text { body: text } | Outgoing::Sms { body: text } => {
            body["type"] = "text".into();
            body["text"] = json!({ "preview_url": false, "body": text });
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
            let mut components = Vec::new();
            match header {
                Some(HeaderParam::Text { text, name }) => {
                    let mut p = json!({ "type": "text", "text": text });
                    if let Some(n) = name {
                        p["parameter_name"] = n.as_str().into();
                    }
                    components.push(json!({ "type": "header", "parameters": [p] }));
                }
                Some(HeaderParam::Media { format, link }) => {
                    let kind = format.as_str();
                    components.push(json!({
                        "type": "header",
                        "parameters": [{ "type": kind, kind: { "link": link } }],
                    }));
                }
                None => {}
            }
            if !body_params.is_empty() {
                components.push(json!({
                    "type": "body",
                    "parameters": body_params
                        .iter()
                        .map(|p| json!({ "type": "text", "text": p }))
                        .collect::<Vec<_>>(),
                }));
            } else if !named_params.is_empty() {
                components.push(json!({
                    "type": "body",
                    "parameters": named_params
                        .iter()
                        .map(|p| json!({ "type": "text", "parameter_name": p.name, "text": p.value }))
                        .collect::<Vec<_>>(),
                }));
            }
            for b in url_buttons {
                components.push(json!({
                    "type": "button",
                    "sub_type": "url",
                    "index": b.index.to_string(),
                    "parameters": [{ "type": "text", "text": b.text }],
                }));
            }
            let payloads = button_payload.iter().map(|p| (0, p));
            let more = (more_payloads.iter().enumerate()).map(|(i, p)| (i + 1, p));
            for (index, payload) in payloads.chain(more) {
                components.push(json!({
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": index.to_string(),
                    "parameters": [{ "type": "payload", "payload": payload }],
                }));
            }
            body["type"] = "template".into();
            body["template"] = json!({
                "name": name,
                "language": { "code": language },
                "components": components,
            });
        }
        Outgoing::Buttons {
            body: text,
            buttons,
        } => {
            body["type"] = "interactive".into();
            body["interactive"] = json!({
                "type": "button",
                "body": { "text": text },
                "action": {
                    "buttons": buttons
                        .iter()
                        .map(|b| json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }))
                        .collect::<Vec<_>>(),
                },
            });
        }
        Outgoing::List(list) => {
            body["type"] = "interactive".into();
            body["interactive"] = json!({
                "type": "list",
                "body": { "text": list.body },
                "action": {
                    "button": list.button,
                    "sections": list.sections
                        .iter()
                        .map(|s| json!({
                            "title": s.title,
                            "rows": s.rows.iter().map(row).collect::<Vec<_>>(),
                        }))
                        .collect::<Vec<_>>(),
                },
            });
        }
        Outgoing::CtaUrl {
            body: text,
            display_text,
            url,
        } => {
            body["type"] = "interactive".into();
            body["interactive"] = json!({
                "type": "cta_url",
                "body": { "text": text },
                "action": {
                    "name": "cta_url",
                    "parameters": { "display_text": display_text, "url": url },
                },
            });
        }
        Outgoing::VoiceCall {
            body: text,
            display_text,
            ttl_minutes,
        } => {
            body["type"] = "interactive".into();
            let mut action = json!({ "name": "voice_call" });
            let mut parameters = serde_json::Map::new();
            if let Some(d) = display_text {
                parameters.insert("display_text".into(), d.as_str().into());
            }
            if let Some(m) = ttl_minutes {
                parameters.insert("ttl_minutes".into(), (*m).into());
            }
            if !parameters.is_empty() {
                action["parameters"] = parameters.into();
            }
            body["interactive"] = json!({
                "type": "voice_call",
                "body": { "text": text },
                "action": action,
            });
        }
        Outgoing::CallPermissionRequest { body: text } => {
            body["type"] = "interactive".into();
            body["interactive"] = json!({
                "type": "call_permission_request",
                "body": { "text": text },
                "action": { "name": "call_permission_request" },
            });
        }
        Outgoing::Media(m) => {
            let kind = m.kind.as_str();
            body["type"] = kind.into();
            body[kind] = media_object(m, media);
        }
    }
    body
}

/// The object of a media message (`image`, `audio`, `video`, `document`, `sticker`): the
/// upload's `id` (or a `link`), the caption where WhatsApp shows one, a document's
/// `filename`.
fn media_object(m: &MediaMessage, media: Option<&MediaLink>) -> Value {
    let mut v = match media {
        Some(MediaLink::Id(id)) => json!({ "id": id }),
        Some(MediaLink::Url(url)) => json!({ "link": url }),
        None => json!({}),
    };
    if let Some(c) = m
        .caption
        .as_deref()
        .filter(|_| MediaMessage::takes_caption(m.kind))
    {
        v["caption"] = c.into();
    }
    if m.kind == MediaKind::Document
        && let Some(name) = &m.filename
    {
        v["filename"] = name.as_str().into();
    }
    v
}

/// A list row as Meta takes it: `id`, `title` and, when it has one, `description`.
fn row(r: &Row) -> Value {
    let mut v = json!({ "id": r.id, "title": r.title });
    if let Some(d) = &r.description {
        v["description"] = d.as_str().into();
    }
    v
}

/// Answers Meta's subscription check: the challenge when `hub.mode` is `subscribe` and the
/// token matches (compared in constant time), else `None` (→ 403).
pub fn verify_subscription(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    verify_token: &Secret,
) -> Option<String> {
    use subtle::ConstantTimeEq;
    match (mode, token, challenge) {
        (Some("subscribe"), Some(t), Some(c))
            if bool::from(t.as_bytes().ct_eq(verify_token.expose().as_bytes())) =>
        {
            Some(c.to_string())
        }
        _ => None,
    }
}

/// Checks `X-Hub-Signature-256` (`sha256=<hex>`) over the raw body.
pub fn verify_signature(app_secret: &Secret, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    super::hmac_matches::<hmac::Hmac<sha2::Sha256>>(
        app_secret.expose().as_bytes(),
        &[body],
        &expected,
    )
}

/// Computes the `X-Hub-Signature-256` header for a body (for tests and load generators).
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a delivery's `X-Hub-Signature-256` with the account's app secret and reads it.
pub fn receive(
    account: &AccountConfig,
    delivery: &super::webhook::Delivery<'_>,
) -> Result<Vec<super::webhook::Routed>, super::webhook::Refusal> {
    let signature = delivery.header("x-hub-signature-256");
    let verified = (account.app_secret.as_ref())
        .is_some_and(|s| verify_signature(s, delivery.body, signature));
    if !verified {
        return Err(super::webhook::Refusal::Unauthenticated);
    }
    Ok(parse_webhook(delivery.body)?)
}

/// The items of one delivery, with the `phone_number_id` each arrived for.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<(Option<String>, Inbound)>, WebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError(format!("not JSON: {e}")))?;
    let entries = v["entry"]
        .as_array()
        .ok_or_else(|| WebhookError("no `entry` list".into()))?;
    let mut out = Vec::new();
    for (number_id, value) in changes(entries, "messages") {
        out.extend(
            parse_value(value)
                .into_iter()
                .map(|i| (number_id.clone(), i)),
        );
    }
    Ok(out)
}

/// The `value` of each change of `field` in a delivery's entries (a change without a field
/// counts as `messages`), with the `phone_number_id` it arrived for.
pub(crate) fn changes<'a>(
    entries: &'a [Value],
    field: &'a str,
) -> impl Iterator<Item = (Option<String>, &'a Value)> {
    (entries.iter())
        .flat_map(|entry| entry["changes"].as_array().into_iter().flatten())
        .filter(move |change| change["field"].as_str().unwrap_or("messages") == field)
        .map(|change| {
            let value = &change["value"];
            let number_id = value["metadata"]["phone_number_id"].as_str();
            (number_id.map(str::to_owned), value)
        })
}

/// The messages and statuses of one change's `value` (also what Kaleyra passes on).
pub(crate) fn parse_value(value: &Value) -> Vec<Inbound> {
    let contacts = value["contacts"].as_array().cloned().unwrap_or_default();
    let messages = (value["messages"].as_array().into_iter().flatten())
        .filter_map(|m| parse_message(m, &contacts))
        .map(|m| Inbound::Message(Box::new(m)));
    let statuses = (value["statuses"].as_array().into_iter().flatten())
        .filter_map(parse_status)
        .map(Inbound::Status);
    messages.chain(statuses).collect()
}

pub(crate) fn seconds(v: &Value) -> i64 {
    let s = v
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .or_else(|| v.as_i64())
        .unwrap_or(0);
    s.saturating_mul(1000)
}

const KNOWN: &[&str] = &[
    "text",
    "button",
    "interactive",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
];

fn parse_message(m: &Value, contacts: &[Value]) -> Option<InboundMessage> {
    let id = m["id"].as_str()?.to_string();
    let from = m["from"].as_str()?.to_string();
    let kind = m["type"].as_str().unwrap_or("unsupported");
    let profile_name = contacts
        .iter()
        .find(|c| c["wa_id"].as_str() == Some(&from))
        .or(contacts.first())
        .and_then(|c| c["profile"]["name"].as_str())
        .map(str::to_string);
    let mut interactive = None;
    let caption = |k: &str| {
        m[k]["caption"]
            .as_str()
            .map(str::to_string)
            .or_else(|| Some(format!("[{k}]")))
    };
    let (body, payload) = match kind {
        "text" => (m["text"]["body"].as_str().map(str::to_string), None),
        "button" | "interactive" => {
            interactive = reply_of(m);
            match &interactive {
                Some(Interactive::CallPermissionReply { response, .. }) => {
                    (Some(response.clone()), None)
                }
                Some(r) => (
                    r.reply_title().map(str::to_string),
                    r.reply_id().map(str::to_string),
                ),
                None => (
                    m[kind]["text"].as_str().map(str::to_string),
                    m[kind]["payload"].as_str().map(str::to_string),
                ),
            }
        }
        "image" | "video" | "document" | "audio" | "sticker" => (caption(kind), None),
        "location" => {
            let l = &m["location"];
            let place = (l["name"].as_str(), l["address"].as_str());
            let at = (l["latitude"].as_f64(), l["longitude"].as_f64());
            (Some(super::location_text(place, at)), None)
        }
        "reaction" => (m["reaction"]["emoji"].as_str().map(str::to_string), None),
        "contacts" => (Some(contacts_text(&m["contacts"])), None),
        other => (
            Some(format!("[message type {other} is not supported]")),
            None,
        ),
    };
    let kind = if KNOWN.contains(&kind) {
        kind
    } else {
        "unsupported"
    };
    Some(InboundMessage {
        external_id: id,
        from,
        profile_name,
        timestamp: seconds(&m["timestamp"]),
        kind: kind.to_string(),
        body,
        context_id: m["context"]["id"].as_str().map(str::to_string),
        button_payload: payload,
        interactive,
        media: media_of(kind, m).into_iter().collect(),
        raw: m.clone(),
    })
}

/// The customer's choice a message carries: a template's quick reply (`button`: its
/// `payload` and `text`), a reply button's `interactive.button_reply` or a list's
/// `interactive.list_reply` (`id`, `title`, `description`).
fn reply_of(m: &Value) -> Option<Interactive> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let b = &m["button"];
    let i = &m["interactive"];
    if m["type"] == "button" {
        return Some(Interactive::ButtonReply {
            id: text(&b["payload"])?,
            title: text(&b["text"]).unwrap_or_default(),
        });
    }
    // Indexing a `Value` (never a `Map`, which panics): a missing field reads as null.
    let r = &i["call_permission_reply"];
    if r.is_object() {
        return Some(Interactive::CallPermissionReply {
            response: text(&r["response"])?,
            is_permanent: r["is_permanent"].as_bool().unwrap_or(false),
            expiration_timestamp: r["expiration_timestamp"].as_i64(),
        });
    }
    let r = &i["button_reply"];
    if r.is_object() {
        return Some(Interactive::ButtonReply {
            id: text(&r["id"])?,
            title: text(&r["title"]).unwrap_or_default(),
        });
    }
    let r = &i["list_reply"];
    if !r.is_object() {
        return None;
    }
    Some(Interactive::ListReply {
        id: text(&r["id"])?,
        title: text(&r["title"]).unwrap_or_default(),
        description: text(&r["description"]),
    })
}

/// The file of a media message of type `kind` (`image`, `audio`, `video`, `document`,
/// `sticker`): its media id (`image.id`, …), the type and file name (documents) the sender
/// declared, and its caption. None for other types, or without an id.
fn media_of(kind: &str, m: &Value) -> Option<InboundMedia> {
    let media_kind = MediaKind::ALL.into_iter().find(|k| k.as_str() == kind)?;
    let part = &m[kind];
    let text = |key: &str| {
        part[key]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Some(InboundMedia {
        kind: media_kind,
        source: MediaSource::MetaId(text("id")?),
        declared_mime: text("mime_type"),
        filename: text("filename"),
        caption: text("caption"),
    })
}

/// Shared contact cards as text: `[contacts] <name> <phone>, <phone>; <name> …` (each
/// card's formatted name and phone numbers); the cards stay in the message's payload.
fn contacts_text(cards: &Value) -> String {
    let people: Vec<String> = (cards.as_array().into_iter().flatten())
        .map(|c| {
            let name = (c["name"]["formatted_name"].as_str())
                .or(c["name"]["first_name"].as_str())
                .unwrap_or("(no name)");
            let phones: Vec<&str> = (c["phones"].as_array().into_iter().flatten())
                .filter_map(|p| p["phone"].as_str().or(p["wa_id"].as_str()))
                .collect();
            if phones.is_empty() {
                name.to_string()
            } else {
                format!("{name} {}", phones.join(", "))
            }
        })
        .collect();
    format!("[contacts] {}", people.join("; "))
}

fn parse_status(s: &Value) -> Option<StatusUpdate> {
    let status = DeliveryStatus::parse(s["status"].as_str()?)?;
    let err = &s["errors"][0];
    Some(StatusUpdate {
        external_id: s["id"].as_str()?.to_string(),
        correlation: s["biz_opaque_callback_data"].as_str().map(str::to_string),
        status,
        timestamp: seconds(&s["timestamp"]),
        error_code: err["code"].as_i64(),
        error_title: err["title"]
            .as_str()
            .or(err["message"].as_str())
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Button, ListMessage, Section};

    #[test]
    fn signatures_are_checked_over_the_raw_bytes() {
        let secret = Secret::new("s3cret");
        let body = br#"{"entry": []}"#;
        let good = sign("s3cret", body);
        assert!(verify_signature(&secret, body, Some(&good)));
        assert!(
            !verify_signature(&secret, br#"{"entry":[]}"#, Some(&good)),
            "re-serialized body"
        );
        assert!(!verify_signature(&secret, body, None));
        assert!(!verify_signature(&secret, body, Some("sha256=zz")));
        assert!(!verify_signature(
            &secret,
            body,
            Some(&good.replace("sha256=", "sha1="))
        ));
        let wrong = sign("other", body);
        assert!(!verify_signature(&secret, body, Some(&wrong)));
    }

    #[test]
    fn subscription_needs_mode_token_and_challenge() {
        let t = Secret::new("tok");
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("tok"), Some("123"), &t).as_deref(),
            Some("123")
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("tak"), Some("1"), &t),
            None
        );
        assert_eq!(
            verify_subscription(Some("unsubscribe"), Some("tok"), Some("1"), &t),
            None
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), None, Some("1"), &t),
            None
        );
    }

    /// The message of a one-message delivery.
    fn message(m: Value) -> InboundMessage {
        let body = json!({"entry": [{"changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": "31612345678"}],
            "messages": [m]
        }}]}]});
        let items = parse_webhook(body.to_string().as_bytes()).unwrap();
        match items.into_iter().next() {
            Some((_, Inbound::Message(m))) => *m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn media_messages_name_their_file_by_media_id() {
        let fixture = include_bytes!("../../tests/data/meta/image.json");
        let Some((_, Inbound::Message(image))) = parse_webhook(fixture).unwrap().pop() else {
            panic!("one message")
        };
        assert_eq!(image.kind, "image");
        assert_eq!(image.body.as_deref(), Some("This is the broken part"));
        assert_eq!(
            image.media,
            [InboundMedia {
                kind: MediaKind::Image,
                source: MediaSource::MetaId("1003383421387256".into()),
                declared_mime: Some("image/jpeg".into()),
                filename: None,
                caption: Some("This is the broken part".into()),
            }]
        );

        let document = message(
            json!({"from": "31612345678", "id": "wamid.d", "timestamp": "1",
            "type": "document", "document": {"id": "777", "mime_type": "application/pdf",
            "sha256": "x", "filename": "invoice 2026.pdf"}}),
        );
        assert_eq!(document.body.as_deref(), Some("[document]"));
        let file = &document.media[0];
        assert_eq!(
            (file.kind, &file.source, file.filename.as_deref()),
            (
                MediaKind::Document,
                &MediaSource::MetaId("777".into()),
                Some("invoice 2026.pdf")
            )
        );
        assert_eq!(file.caption, None);

        for (kind, expected) in [
            ("audio", MediaKind::Audio),
            ("video", MediaKind::Video),
            ("sticker", MediaKind::Sticker),
        ] {
            let m = message(
                json!({"from": "31612345678", "id": "wamid.x", "timestamp": "1",
                "type": kind, kind: {"id": "42", "mime_type": "x/y", "voice": true}}),
            );
            assert_eq!(m.kind, kind);
            assert_eq!(m.media.len(), 1, "{kind}");
            assert_eq!(m.media[0].kind, expected);
            assert_eq!(m.media[0].declared_mime.as_deref(), Some("x/y"));
        }

        // Without an id there is nothing to fetch; other types carry no file.
        let no_id = message(
            json!({"from": "31612345678", "id": "wamid.n", "timestamp": "1",
            "type": "image", "image": {"mime_type": "image/jpeg"}}),
        );
        assert!(no_id.media.is_empty());
        let text = message(
            json!({"from": "31612345678", "id": "wamid.t", "timestamp": "1",
            "type": "text", "text": {"body": "hi"}}),
        );
        assert!(text.media.is_empty());
    }

    #[test]
    fn locations_and_contacts_are_written_out() {
        let at = message(
            json!({"from": "31612345678", "id": "wamid.l", "timestamp": "1",
            "type": "location", "location": {"latitude": 52.370216, "longitude": 4.895168,
            "name": "Dam Square", "address": "Dam, Amsterdam"}}),
        );
        assert_eq!(at.kind, "location");
        assert_eq!(
            at.body.as_deref(),
            Some("[location] Dam Square, Dam, Amsterdam (52.370216, 4.895168)")
        );
        assert!(at.media.is_empty());
        assert_eq!(at.raw["location"]["latitude"], 52.370216);
        let pin = message(
            json!({"from": "31612345678", "id": "wamid.p", "timestamp": "1",
            "type": "location", "location": {"latitude": -33.5, "longitude": 151.25}}),
        );
        assert_eq!(pin.body.as_deref(), Some("[location] -33.5, 151.25"));

        let cards = message(
            json!({"from": "31612345678", "id": "wamid.c", "timestamp": "1",
            "type": "contacts", "contacts": [
                {"name": {"formatted_name": "Bea de Vries", "first_name": "Bea"},
                 "phones": [{"phone": "+31 6 1111 2222", "type": "CELL"},
                            {"phone": "+31 20 333 4444", "type": "WORK"}]},
                {"name": {"first_name": "Cas"}, "phones": [{"wa_id": "31655556666"}]},
                {"name": {"formatted_name": "No Phone"}}
            ]}),
        );
        assert_eq!(cards.kind, "contacts");
        assert_eq!(
            cards.body.as_deref(),
            Some(
                "[contacts] Bea de Vries +31 6 1111 2222, +31 20 333 4444; Cas 31655556666; No Phone"
            )
        );
    }

    #[test]
    fn template_body_has_parameters_and_a_quick_reply_payload() {
        let b = request_body(
            "31612345678",
            &Outgoing::Template {
                name: "deflect_callback".into(),
                language: "en".into(),
                body_params: vec!["K7Q2MX".into()],
                button_payload: Some("deflect:K7Q2MX".into()),
                content_sid: None,
                named_params: Vec::new(),
                header: None,
                url_buttons: Vec::new(),
                more_payloads: Vec::new(),
                variables: None,
                text: None,
            },
            None,
        );
        assert_eq!(
            b,
            json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
                "type": "template",
                "template": {"name": "deflect_callback", "language": {"code": "en"}, "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": "K7Q2MX"}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "0",
                     "parameters": [{"type": "payload", "payload": "deflect:K7Q2MX"}]}
                ]}
            })
        );
    }

    fn sent(message: &Outgoing) -> Value {
        request_body("31612345678", message, None)
    }

    fn file(kind: MediaKind, filename: Option<&str>, caption: Option<&str>) -> Outgoing {
        Outgoing::Media(MediaMessage {
            kind,
            blob_key: format!("sha256/{}", "ab".repeat(32)),
            token: "t0k3n".into(),
            mime_type: "application/pdf".into(),
            size: 1234,
            filename: filename.map(str::to_string),
            caption: caption.map(str::to_string),
        })
    }

    #[test]
    fn files_go_by_their_upload_id_with_a_caption_and_a_documents_name() {
        let id = MediaLink::Id("1037543291543636".into());
        let head = |kind: &str, object: Value| {
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": "31612345678", "type": kind, kind: object})
        };
        let doc = file(
            MediaKind::Document,
            Some("invoice.pdf"),
            Some("Your invoice"),
        );
        assert_eq!(
            request_body("31612345678", &doc, Some(&id)),
            head(
                "document",
                json!({"id": "1037543291543636", "caption": "Your invoice",
                "filename": "invoice.pdf"})
            )
        );
        let photo = file(MediaKind::Image, Some("ignored.jpg"), Some("Here"));
        assert_eq!(
            request_body("31612345678", &photo, Some(&id)),
            head(
                "image",
                json!({"id": "1037543291543636", "caption": "Here"})
            )
        );
        // Audio and stickers take no caption.
        for kind in [MediaKind::Audio, MediaKind::Sticker] {
            let f = file(kind, None, Some("dropped"));
            assert_eq!(
                request_body("31612345678", &f, Some(&id)),
                head(kind.as_str(), json!({"id": "1037543291543636"}))
            );
        }
        let link = MediaLink::Url("https://gw.example/media/t0k3n?expires=1&signature=ab".into());
        assert_eq!(
            request_body(
                "31612345678",
                &file(MediaKind::Video, None, None),
                Some(&link)
            ),
            head(
                "video",
                json!({"link": "https://gw.example/media/t0k3n?expires=1&signature=ab"})
            )
        );
        assert_eq!(format!("{link:?}"), "Url(<signed link>)");
    }

    fn envelope(interactive: Value) -> Value {
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
            "type": "interactive", "interactive": interactive,
        })
    }

    #[test]
    fn reply_buttons_lists_and_link_buttons_are_the_cloud_apis_interactive_objects() {
        let buttons = Outgoing::Buttons {
            body: "Pick one".into(),
            buttons: vec![
                Button {
                    id: "yes".into(),
                    title: "Yes".into(),
                },
                Button {
                    id: "no".into(),
                    title: "No".into(),
                },
            ],
        };
        assert_eq!(
            sent(&buttons),
            envelope(
                json!({"type": "button", "body": {"text": "Pick one"}, "action": {"buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}}
                ]}})
            )
        );
        let row = |id: &str, title: &str, description: Option<&str>| Row {
            id: id.into(),
            title: title.into(),
            description: description.map(str::to_string),
        };
        let list = Outgoing::List(ListMessage {
            body: "Which shipping?".into(),
            button: "Shipping options".into(),
            sections: vec![
                Section {
                    title: "Fast".into(),
                    rows: vec![row("express", "Express", Some("Next day"))],
                },
                Section {
                    title: "Cheap".into(),
                    rows: vec![row("standard", "Standard", None)],
                },
            ],
        });
        assert_eq!(
            sent(&list),
            envelope(
                json!({"type": "list", "body": {"text": "Which shipping?"}, "action": {
                    "button": "Shipping options",
                    "sections": [
                        {"title": "Fast", "rows": [{"id": "express", "title": "Express", "description": "Next day"}]},
                        {"title": "Cheap", "rows": [{"id": "standard", "title": "Standard"}]}
                    ]
                }})
            )
        );
        let link = Outgoing::CtaUrl {
            body: "Track your parcel".into(),
            display_text: "Track".into(),
            url: "https://example.com/t/1".into(),
        };
        assert_eq!(
            sent(&link),
            envelope(
                json!({"type": "cta_url", "body": {"text": "Track your parcel"}, "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Track", "url": "https://example.com/t/1"}
                }})
            )
        );
        // A WhatsApp call button: its parameters only when given.
        let call = Outgoing::VoiceCall {
            body: "Talk to us now".into(),
            display_text: Some("Call us".into()),
            ttl_minutes: Some(60),
        };
        assert_eq!(
            sent(&call),
            envelope(
                json!({"type": "voice_call", "body": {"text": "Talk to us now"}, "action": {
                    "name": "voice_call",
                    "parameters": {"display_text": "Call us", "ttl_minutes": 60}
                }})
            )
        );
        let plain = Outgoing::VoiceCall {
            body: "Talk to us now".into(),
            display_text: None,
            ttl_minutes: None,
        };
        assert_eq!(
            sent(&plain),
            envelope(
                json!({"type": "voice_call", "body": {"text": "Talk to us now"}, "action": {"name": "voice_call"}})
            )
        );
        let ask = Outgoing::CallPermissionRequest {
            body: "May we call you about your order?".into(),
        };
        assert_eq!(
            sent(&ask),
            envelope(json!({"type": "call_permission_request",
                "body": {"text": "May we call you about your order?"},
                "action": {"name": "call_permission_request"}}))
        );
    }

    #[test]
    fn a_call_permission_reply_is_read_with_its_answer_and_expiry() {
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.P", "timestamp": "1747659443",
            "type": "interactive", "interactive": {"type": "call_permission_reply",
            "call_permission_reply": {"response": "accept", "is_permanent": false,
                "expiration_timestamp": 1748264243, "response_source": "user_action"}}}),
        );
        assert_eq!(
            (
                m.kind.as_str(),
                m.body.as_deref(),
                m.button_payload.as_deref()
            ),
            ("interactive", Some("accept"), None)
        );
        assert_eq!(
            m.interactive,
            Some(Interactive::CallPermissionReply {
                response: "accept".into(),
                is_permanent: false,
                expiration_timestamp: Some(1_748_264_243),
            })
        );
        // A refusal has no expiry.
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.Q", "timestamp": "1747659443",
            "type": "interactive", "interactive": {"type": "call_permission_reply",
            "call_permission_reply": {"response": "reject", "response_source": "user_action"}}}),
        );
        assert_eq!(
            m.interactive,
            Some(Interactive::CallPermissionReply {
                response: "reject".into(),
                is_permanent: false,
                expiration_timestamp: None,
            })
        );
    }

    fn delivery(message: Value) -> InboundMessage {
        let body = json!({"entry": [{"changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": "31612345678"}],
            "messages": [message]
        }}]}]});
        let items = parse_webhook(body.to_string().as_bytes()).unwrap();
        match items.as_slice() {
            [(_, Inbound::Message(m))] => (**m).clone(),
            other => panic!("one message expected, got {other:?}"),
        }
    }

    #[test]
    fn the_customers_choice_is_read_as_a_reply_with_its_id_and_title() {
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.1", "timestamp": "1",
            "type": "interactive", "interactive": {"type": "list_reply",
            "list_reply": {"id": "express", "title": "Express", "description": "Next day"}}}),
        );
        assert_eq!(
            (
                m.kind.as_str(),
                m.body.as_deref(),
                m.button_payload.as_deref()
            ),
            ("interactive", Some("Express"), Some("express"))
        );
        assert_eq!(
            m.interactive,
            Some(Interactive::ListReply {
                id: "express".into(),
                title: "Express".into(),
                description: Some("Next day".into()),
            })
        );
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.2", "timestamp": "1",
            "type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": "yes", "title": "Yes"}}}),
        );
        assert_eq!(
            m.interactive,
            Some(Interactive::ButtonReply {
                id: "yes".into(),
                title: "Yes".into()
            })
        );
        assert_eq!(m.button_payload.as_deref(), Some("yes"));
        // A template's quick reply: its payload is the id.
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.3", "timestamp": "1",
            "type": "button", "button": {"payload": "deflect:K7Q2MX", "text": "Yes, chat with us"}}),
        );
        assert_eq!(
            (
                m.kind.as_str(),
                m.body.as_deref(),
                m.button_payload.as_deref()
            ),
            ("button", Some("Yes, chat with us"), Some("deflect:K7Q2MX"))
        );
        assert_eq!(
            m.interactive,
            Some(Interactive::ButtonReply {
                id: "deflect:K7Q2MX".into(),
                title: "Yes, chat with us".into()
            })
        );
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.4", "timestamp": "1",
            "type": "text", "text": {"body": "hi"}}),
        );
        assert_eq!(m.interactive, None);
        // Optional fields missing, or the id: read as far as they go, never a panic.
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.5", "timestamp": "1",
            "type": "interactive", "interactive": {"type": "list_reply",
            "list_reply": {"id": "pickup", "title": "Pick-up point"}}}),
        );
        assert_eq!(
            m.interactive,
            Some(Interactive::ListReply {
                id: "pickup".into(),
                title: "Pick-up point".into(),
                description: None,
            })
        );
        for odd in [
            json!({"type": "list_reply", "list_reply": {"title": "No id"}}),
            json!({"type": "button_reply", "button_reply": {}}),
            json!({"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}),
            json!("not an object"),
        ] {
            let m = delivery(
                json!({"from": "31612345678", "id": "wamid.6", "timestamp": "1",
                "type": "interactive", "interactive": odd}),
            );
            assert_eq!((m.interactive, m.button_payload), (None, None));
        }
        let m = delivery(
            json!({"from": "31612345678", "id": "wamid.7", "timestamp": "1",
            "type": "button", "button": {"text": "No payload"}}),
        );
        assert_eq!(
            (m.interactive, m.body.as_deref()),
            (None, Some("No payload"))
        );
    }
}
