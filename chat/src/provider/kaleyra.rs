//! Kaleyra's WhatsApp API, version 2 (<https://developers.kaleyra.io/docs/>): messages are
//! sent with `POST /v2/{sid}/whatsapp/{business_number}/messages` on the account's pod
//! (`https://api.{in|ap|eu}.kaleyra.io`, `https://api.na.kaleyra.ai`), the API key in the
//! `api-key` header, the body `{"messaging_object": <a Cloud API message>, "extra_info":
//! {"ref": …}}` — the message is Meta's, built by [`super::meta::request_body`], a file sent
//! by link. The webhooks of the number's callback profiles bring customers' messages and
//! statuses as `{"meta_object": {"field", "value": <a Cloud API change value>},
//! "extra_info": {…}}`, read by Meta's parser; a customer's file is fetched from Kaleyra's
//! copy (`extra_info.media_url`).
//!
//! Kaleyra signs no callback. Its callback profiles send custom static headers: the account's
//! `webhook_secret` goes in [`TOKEN_HEADER`], compared in constant time (401 otherwise).
//!
//! Each send carries its outbox correlation as `extra_info.ref`; the status webhooks echo it.
//! Send errors: 429, 5xx and Kaleyra's `WA500` are retried; a Cloud API error code in the
//! answer is classified as Meta's.

use super::webhook::{Delivery, Refusal, Routed};
use super::{
    Inbound, MediaLink, MediaSource, Outgoing, Receipt, SendContext, SendError, Sent, WebhookError,
    meta,
};
use deflect_config::{AccountConfig, Secret};
use serde_json::{Value, json};

/// The header Kaleyra's callback profiles are set to send, holding the account's
/// `webhook_secret`.
pub const TOKEN_HEADER: &str = "x-deflect-webhook-token";

/// Sends through Kaleyra for one account.
#[derive(Clone, Debug)]
pub struct KaleyraClient {
    http: reqwest::Client,
    /// `{base}/v2/{sid}/whatsapp/{business_number}/messages`.
    endpoint: String,
    api_key: Option<Secret>,
    timeout: std::time::Duration,
}

impl KaleyraClient {
    /// A client for `account`.
    pub fn new(account: &AccountConfig, http: reqwest::Client) -> Self {
        let base = super::api_base(account);
        let sid = account.account_sid.clone().unwrap_or_default();
        Self {
            http,
            endpoint: format!(
                "{base}/v2/{sid}/whatsapp/{}/messages",
                account.business_number
            ),
            api_key: account.api_key.clone(),
            timeout: account.request_timeout,
        }
    }

    /// Sends one message.
    pub async fn send(
        &self,
        to: &str,
        message: &Outgoing,
        context: &SendContext,
    ) -> Result<Sent, SendError> {
        let link = (context.link_for(message, "Kaleyra")?).map(|l| MediaLink::Url(l.to_string()));
        let body = request_body(to, message, link.as_ref(), &context.correlation);
        let res = self
            .http
            .post(&self.endpoint)
            .timeout(self.timeout)
            .header("api-key", self.api_key.as_ref().map_or("", Secret::expose))
            .json(&body)
            .send()
            .await
            .map_err(|e| super::classify_transport(&e))?;
        let ids = ["/messages/0/id", "/message_id", "/data/0/message_id", "/id"];
        super::read_send_answer(res, &ids, error_of).await
    }

    /// No read receipt is documented for Kaleyra's API.
    pub fn mark_read(&self) -> Receipt {
        Receipt::NotSupported
    }
}

/// The JSON body of a send to `to` (digits): Meta's message with the correlation as `ref`.
pub fn request_body(
    to: &str,
    message: &Outgoing,
    media: Option<&MediaLink>,
    correlation: &str,
) -> Value {
    json!({
        "messaging_object": meta::request_body(to.trim_start_matches('+'), message, media),
        "extra_info": {"ref": correlation},
    })
}

/// An error answer: Kaleyra's code (`WA400`, `RBC001`, …) or a Cloud API one, and its
/// message, wherever the answer puts them.
fn error_of(status: reqwest::StatusCode, json: &Value) -> SendError {
    let e = if json["error"].is_object() {
        &json["error"]
    } else {
        json
    };
    let kaleyra_code = (e["code"].as_str()).or(json["code"].as_str());
    let meta_code = e["code"].as_i64();
    let text = (e["message"].as_str())
        .or(json["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| e.to_string());
    let message = match kaleyra_code {
        Some(c) => format!("{c}: {text}"),
        None => text,
    };
    let code = meta_code.or(Some(i64::from(status.as_u16())));
    let retry = status.as_u16() == 429
        || status.is_server_error()
        || kaleyra_code == Some("WA500")
        || super::error_meaning(meta_code) == super::ErrorMeaning::RateLimited;
    if retry {
        SendError::Retry { code, message }
    } else {
        SendError::Rejected { code, message }
    }
}

/// Checks a delivery's [`TOKEN_HEADER`] against the account's webhook secret and reads it.
pub fn receive(account: &AccountConfig, delivery: &Delivery<'_>) -> Result<Vec<Routed>, Refusal> {
    use subtle::ConstantTimeEq;
    let sent = delivery.header(TOKEN_HEADER).unwrap_or("");
    let verified = (account.webhook_secret.as_ref())
        .is_some_and(|s| !s.is_empty() && bool::from(sent.as_bytes().ct_eq(s.expose().as_bytes())));
    if !verified {
        return Err(Refusal::Unauthenticated);
    }
    Ok(parse_callback(delivery.body)?
        .into_iter()
        .map(|i| (None, i))
        .collect())
}

/// Reads a webhook: the Cloud API change value in `meta_object`, with Kaleyra's copy of a
/// customer's file (`extra_info.media_url`), and for a status the send's correlation
/// (`extra_info.ref`) and the message's id as Kaleyra names it (`message_id`).
pub fn parse_callback(body: &[u8]) -> Result<Vec<Inbound>, WebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError(format!("not JSON: {e}")))?;
    let object = &v["meta_object"];
    if !object.is_object() {
        return Err(WebhookError("no `meta_object`".into()));
    }
    if object["field"].as_str().is_some_and(|f| f != "messages") {
        return Ok(Vec::new());
    }
    let extra = &v["extra_info"];
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let mut items = meta::parse_value(&object["value"]);
    for item in &mut items {
        match item {
            Inbound::Message(m) => {
                if let Some(url) = text(&extra["media_url"]) {
                    for file in &mut m.media {
                        file.source = MediaSource::Url(url.clone());
                    }
                }
            }
            Inbound::Status(s) => {
                s.correlation = s.correlation.take().or_else(|| text(&extra["ref"]));
                if let Some(id) = text(&v["message_id"]).or_else(|| text(&extra["message_id"])) {
                    s.external_id = id;
                }
            }
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeliveryStatus;

    #[test]
    fn statuses_take_kaleyras_message_id_and_the_sends_ref() {
        // Kaleyra's "sent" status webhook sample, with a failure's error as the Cloud API
        // gives it.
        let body = json!({
            "meta_object": {"value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "91XXXXXXXXXX", "phone_number_id": "104XXXXXXXXXX60"},
                "statuses": [{"id": "a07f9c32d9de4acac299cfb", "status": "failed", "timestamp": "1722834665",
                    "recipient_id": "919407000000",
                    "errors": [{"code": 131026, "title": "Message undeliverable"}]}]},
                "field": "messages"},
            "extra_info": {"trace_id": "8f14e45f", "message_id": "wamid.HBgM1", "waba_id": "12345",
                           "ref": "deflect-outbox-9"},
            "status": "failed",
            "message_id": "wamid.HBgM1"});
        let items = parse_callback(body.to_string().as_bytes()).unwrap();
        let [Inbound::Status(s)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(s.external_id, "wamid.HBgM1");
        assert_eq!(s.correlation.as_deref(), Some("deflect-outbox-9"));
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert_eq!(s.error_code, Some(super::super::ERR_UNDELIVERABLE));
    }

    #[test]
    fn messages_are_read_as_the_cloud_api_gives_them_with_kaleyras_media_link() {
        let body = json!({
            "meta_object": {"value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "918000000000", "phone_number_id": "10460"},
                "contacts": [{"profile": {"name": "Samuel"}, "wa_id": "919000000001"}],
                "messages": [{"context": {"from": "919000000001", "id": "wamid.OUT"},
                    "from": "919000000001", "id": "wamid.IN1", "timestamp": "1764936000",
                    "type": "image", "image": {"mime_type": "image/jpeg", "sha256": "hYei", "id": "4621"}}]},
                "field": "messages"},
            "extra_info": {"media_url": "https://kaleyra-media.example/product123.jpg",
                           "reply_to": "48c38d78-4ec5", "trace_id": "cb94fee2", "waba_id": "347"}});
        let items = parse_callback(body.to_string().as_bytes()).unwrap();
        let [Inbound::Message(m)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (m.external_id.as_str(), m.from.as_str()),
            ("wamid.IN1", "919000000001")
        );
        assert_eq!(m.profile_name.as_deref(), Some("Samuel"));
        assert_eq!(m.context_id.as_deref(), Some("wamid.OUT"));
        assert_eq!(
            m.media[0].source,
            MediaSource::Url("https://kaleyra-media.example/product123.jpg".into())
        );
        let other = json!({"meta_object": {"field": "account_update", "value": {}}});
        assert_eq!(
            parse_callback(other.to_string().as_bytes()).unwrap(),
            Vec::new()
        );
        assert!(parse_callback(b"{}").is_err());
        assert!(parse_callback(b"nope").is_err());
    }

    #[test]
    fn errors_are_retried_or_rejected_by_their_code() {
        let s = |n: u16| reqwest::StatusCode::from_u16(n).unwrap();
        let retry = |e: &SendError| matches!(e, SendError::Retry { .. });
        assert!(retry(&error_of(
            s(500),
            &json!({"error": {"code": "WA500", "message": "Internal"}})
        )));
        assert!(retry(&error_of(s(429), &json!({}))));
        assert!(retry(&error_of(
            s(400),
            &json!({"error": {"code": 130429, "message": "throughput"}})
        )));
        let e = error_of(
            s(401),
            &json!({"code": "RBC001", "message": "Incorrect SID or API key"}),
        );
        assert_eq!(
            e,
            SendError::Rejected {
                code: Some(401),
                message: "RBC001: Incorrect SID or API key".into()
            }
        );
        let e = error_of(
            s(400),
            &json!({"error": {"code": 131047, "message": "Re-engagement message"}}),
        );
        assert_eq!(
            e,
            SendError::Rejected {
                code: Some(131047),
                message: "Re-engagement message".into()
            }
        );
    }
}
