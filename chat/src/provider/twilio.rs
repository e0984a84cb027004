//! Twilio's WhatsApp API.
//!
//! - Send: `POST {api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic
//!   auth (account SID, auth token), form fields `From=whatsapp:+<business number>`,
//!   `To=whatsapp:+<customer>` and `Body`, or for a template `ContentSid` and
//!   `ContentVariables` (`{"1": <reference>, "2": <quick-reply payload>}`). The answer's `sid`
//!   is the external id. Twilio has no free-form reply buttons outside Content templates, so
//!   [`Outgoing::Buttons`] goes out as text with the options listed (`1. Yes`),
//!   [`Outgoing::List`] as text ending `Reply 5, 4, 3, 2 or 1` and [`Outgoing::CtaUrl`] as
//!   text ending `label: url` ([`Outgoing::as_text`]). A quick reply's `ButtonPayload` (with
//!   `ButtonText`) comes back as a `button_reply`. With
//!   `http.public_base_url` set, each send also names its `StatusCallback`
//!   (`<public_base_url>/webhooks/twilio/<account>?correlation=<send's correlation>`), so that
//!   a status names the send it is about even when Twilio's answer to the send was lost.
//! - Files ([`Outgoing::Media`]): `MediaUrl` is a signed link to the gateway that expires
//!   (`<public_base_url>/media/<token>?expires=…&signature=…`, made by the outbox, see
//!   [`crate::blobs::links`]); Twilio fetches the file from it as it sends. The caption, if
//!   any, is the `Body`.
//! - Callbacks (inbound messages and status callbacks) are form posts signed with
//!   `X-Twilio-Signature` = Base64(HMAC-SHA1(auth token, full URL + every POST parameter's
//!   name and value, sorted by name)) — [`verify_signature`]; the URL is the gateway's
//!   `http.public_base_url` plus the request path, as Twilio was told to call it.

use super::{
    Inbound, InboundMedia, InboundMessage, MediaSource, Outgoing, Receipt, SendContext, SendError,
    Sent, StatusUpdate, WebhookError,
};
use crate::model::{DeliveryStatus, Interactive};
use base64::Engine;
use deflect_config::{AccountConfig, MediaKind, Secret};
use serde_json::{Value, json};

/// Sends through Twilio for one account.
#[derive(Clone, Debug)]
pub struct TwilioClient {
    http: reqwest::Client,
    endpoint: String,
    /// Twilio's typing indicator (`messaging.twilio.com/v2/Indicators/Typing.json`).
    typing_endpoint: String,
    timeout: std::time::Duration,
    sid: String,
    token: Option<Secret>,
    from: String,
    /// `<public_base_url>/webhooks/twilio/<account>`, when the public URL is configured.
    status_callback: Option<String>,
}

impl TwilioClient {
    /// A client for `account`; with the gateway's `public_base_url`, each send names its
    /// own status callback URL, carrying the send's correlation.
    pub fn new(
        account: &AccountConfig,
        http: reqwest::Client,
        public_base_url: Option<&url::Url>,
    ) -> Self {
        let base = super::api_base(account);
        let sid = account.account_sid.clone().unwrap_or_default();
        // The typing indicator is on another host; a configured base (tests) serves both.
        let messaging = match &account.api_base_url {
            Some(u) => u.as_str().trim_end_matches('/').to_string(),
            None => MESSAGING_API.to_string(),
        };
        Self {
            http,
            endpoint: format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
            typing_endpoint: format!("{messaging}/v2/Indicators/Typing.json"),
            sid,
            token: account.auth_token.clone(),
            timeout: account.request_timeout,
            from: format!("whatsapp:{}", account.business_number),
            status_callback: public_base_url.map(|u| {
                format!(
                    "{}/webhooks/twilio/{}",
                    u.as_str().trim_end_matches('/'),
                    account.name
                )
            }),
        }
    }

    /// Whether sends name their status callback (see [`super::Provider`]).
    pub fn confirms_by_callback(&self) -> bool {
        self.status_callback.is_some()
    }

    /// Sends one message; with a status callback URL, `StatusCallback` is that URL with the
    /// send's correlation as its `correlation` parameter.
    pub async fn send(
        &self,
        to: &str,
        message: &Outgoing,
        context: &SendContext,
    ) -> Result<Sent, SendError> {
        let mut form = form_fields(&self.from, to, message);
        if let Some(link) = context.link_for(message, "Twilio")? {
            form.push(("MediaUrl".into(), link.to_string()));
        }
        if let Some(url) = &self.status_callback {
            let mut url = url::Url::parse(url).map_err(|e| SendError::Rejected {
                code: None,
                message: format!("bad status callback URL {url:?}: {e}"),
            })?;
            url.query_pairs_mut()
                .append_pair(CORRELATION_PARAMETER, &context.correlation);
            form.push(("StatusCallback".into(), url.into()));
        }
        let res = self
            .http
            .post(&self.endpoint)
            .timeout(self.timeout)
            .basic_auth(&self.sid, self.token.as_ref().map(Secret::expose))
            .form(&form)
            .send()
            .await
            .map_err(|e| super::classify_transport(&e))?;
        super::read_send_answer(res, &["/sid"], error_of).await
    }

    /// Shows the customer the typing indicator on their message `message_id` (a Twilio
    /// message SID); Twilio marks that message read with it. Twilio has no read receipt
    /// without the indicator: a receipt alone is [`Receipt::NotSupported`].
    pub async fn mark_read(&self, message_id: &str, typing: bool) -> Result<Receipt, SendError> {
        if !typing {
            return Ok(Receipt::NotSupported);
        }
        let res = self
            .http
            .post(&self.typing_endpoint)
            .timeout(self.timeout)
            .basic_auth(&self.sid, self.token.as_ref().map(Secret::expose))
            .form(&[("messageId", message_id), ("channel", "whatsapp")])
            .send()
            .await
            .map_err(|e| super::classify_transport(&e))?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(Receipt::Sent)
        } else {
            Err(error_of(status, &json))
        }
    }
}

/// Twilio's Messaging API host (the typing indicator).
const MESSAGING_API: &str = "https://messaging.twilio.com";

/// The error an unsuccessful Twilio answer (`{"code", "message"}`) means.
pub(crate) fn error_of(status: reqwest::StatusCode, json: &Value) -> SendError {
    let code = json["code"].as_i64();
    let message = json["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 401 {
        SendError::Retry { code, message }
    } else {
        SendError::Rejected { code, message }
    }
}

/// The query parameter of a per-message `StatusCallback` URL that carries the send's
/// correlation; the webhook handler hands it to [`parse_callback`]'s status.
pub const CORRELATION_PARAMETER: &str = "correlation";

/// Gives a status callback the correlation its URL carries (the `correlation` parameter of
/// the per-message `StatusCallback` URL Twilio called; `query` is that URL's query string).
pub fn correlate(item: &mut Inbound, query: Option<&str>) {
    if let (Inbound::Status(s), Some(q)) = (item, query) {
        s.correlation = url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == CORRELATION_PARAMETER)
            .map(|(_, v)| v.into_owned());
    }
}

/// The form fields of a send request, in order.
pub fn form_fields(from: &str, to: &str, message: &Outgoing) -> Vec<(String, String)> {
    let mut f = vec![
        ("From".to_string(), from.to_string()),
        (
            "To".to_string(),
            format!("whatsapp:+{}", to.trim_start_matches('+')),
        ),
    ];
    match message {
        Outgoing::Text { body } | Outgoing::Sms { body } => f.push(("Body".into(), body.clone())),
        Outgoing::Template {
            body_params,
            button_payload,
            more_payloads,
            content_sid,
            name,
            variables,
            text,
            ..
        } => {
            let mut vars = serde_json::Map::new();
            match variables {
                Some(filled) => {
                    for (k, v) in filled {
                        vars.insert(k.clone(), json!(v));
                    }
                }
                None => {
                    for (i, p) in body_params.iter().enumerate() {
                        vars.insert((i + 1).to_string(), json!(p));
                    }
                    // Quick replies' payloads follow the body's variables, in button order.
                    for p in button_payload.iter().chain(more_payloads) {
                        vars.insert((vars.len() + 1).to_string(), json!(p));
                    }
                }
            }
            match content_sid {
                Some(sid) => {
                    f.push(("ContentSid".into(), sid.clone()));
                    f.push(("ContentVariables".into(), Value::Object(vars).to_string()));
                }
                // Without a Content SID the template cannot be addressed; its name and
                // parameters go as text (accepted only within the 24 h window).
                None => f.push((
                    "Body".into(),
                    text.clone()
                        .unwrap_or_else(|| format!("{name} {}", body_params.join(" "))),
                )),
            }
        }
        Outgoing::Buttons { .. }
        | Outgoing::List(_)
        | Outgoing::CtaUrl { .. }
        | Outgoing::VoiceCall { .. }
        | Outgoing::CallPermissionRequest { .. } => {
            f.push(("Body".into(), message.as_text()));
        }
        // The file itself is the `MediaUrl` the send adds.
        Outgoing::Media(m) => {
            if let Some(caption) = &m.caption {
                f.push(("Body".into(), caption.clone()));
            }
        }
    }
    f
}

/// Checks `X-Twilio-Signature` for a form post to `url` with `params`.
pub fn verify_signature(
    auth_token: &Secret,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(expected) = header.and_then(|h| {
        base64::engine::general_purpose::STANDARD
            .decode(h.trim())
            .ok()
    }) else {
        return false;
    };
    let data = signed_data(url, params);
    super::hmac_matches::<hmac::Hmac<sha1::Sha1>>(
        auth_token.expose().as_bytes(),
        &[data.as_bytes()],
        &expected,
    )
}

fn signed_data(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    data
}

/// Computes `X-Twilio-Signature` (for tests and load generators).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(signed_data(url, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a delivery's `X-Twilio-Signature` with the account's auth token (over the URL
/// Twilio called and the form's parameters) and reads it; a status callback gets the
/// correlation its URL carries.
pub fn receive(
    account: &AccountConfig,
    delivery: &super::webhook::Delivery<'_>,
) -> Result<Vec<super::webhook::Routed>, super::webhook::Refusal> {
    let params = parse_form(delivery.body);
    let signature = delivery.header("x-twilio-signature");
    let verified = (account.auth_token.as_ref())
        .is_some_and(|t| verify_signature(t, delivery.url, &params, signature));
    if !verified {
        return Err(super::webhook::Refusal::Unauthenticated);
    }
    let mut item = parse_callback(&params)?;
    correlate(&mut item, delivery.query());
    Ok(vec![(None, item)])
}

/// Decodes a form body.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Reads an inbound message or a status callback.
pub fn parse_callback(params: &[(String, String)]) -> Result<Inbound, WebhookError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let sid = get("MessageSid")
        .or_else(|| get("SmsSid"))
        .ok_or_else(|| WebhookError("no MessageSid".into()))?;
    let status = get("MessageStatus").or_else(|| get("SmsStatus"));
    let is_status = status.as_deref().is_some_and(|s| s != "received") && get("Body").is_none();
    if is_status {
        let s = status.unwrap_or_default();
        let status = DeliveryStatus::parse(&s)
            .ok_or_else(|| WebhookError(format!("unknown MessageStatus {s:?}")))?;
        return Ok(Inbound::Status(StatusUpdate {
            external_id: sid,
            correlation: None,
            status,
            timestamp: 0,
            error_code: get("ErrorCode").and_then(|c| c.parse().ok()),
            error_title: get("ErrorMessage"),
        }));
    }
    let from = get("WaId")
        .or_else(|| {
            get("From").map(|f| {
                f.trim_start_matches("whatsapp:")
                    .trim_start_matches('+')
                    .to_string()
            })
        })
        .ok_or_else(|| WebhookError("no From".into()))?;
    let payload = get("ButtonPayload");
    let body = get("Body").filter(|b| !b.is_empty());
    let interactive = payload.clone().map(|id| Interactive::ButtonReply {
        id,
        title: (get("ButtonText").or_else(|| body.clone())).unwrap_or_default(),
    });
    let count: usize = get("NumMedia").and_then(|n| n.parse().ok()).unwrap_or(0);
    let media: Vec<InboundMedia> = (0..count.min(MAX_MEDIA))
        .filter_map(|i| {
            let url = get(&format!("MediaUrl{i}"))?;
            Some(media_of(url, get(&format!("MediaContentType{i}")), &body))
        })
        .collect();
    let location = get("Latitude").map(|latitude| {
        let (label, address) = (get("Label"), get("Address"));
        super::location_text(
            (label.as_deref(), address.as_deref()),
            (
                latitude.parse().ok(),
                get("Longitude").and_then(|l| l.parse().ok()),
            ),
        )
    });
    let kind = if payload.is_some() {
        "button"
    } else if let Some(first) = media.first() {
        if is_vcard(get("MediaContentType0").as_deref()) {
            "contacts"
        } else {
            first.kind.as_str()
        }
    } else if location.is_some() {
        "location"
    } else {
        "text"
    };
    let raw: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Ok(Inbound::Message(Box::new(InboundMessage {
        external_id: sid,
        from,
        profile_name: get("ProfileName"),
        timestamp: 0,
        kind: kind.to_string(),
        body: location
            .or(body)
            .or_else(|| get("ButtonText"))
            .or_else(|| Some(format!("[{kind}]"))),
        context_id: get("OriginalRepliedMessageSid"),
        button_payload: payload,
        interactive,
        media,
        raw: Value::Object(raw),
    })))
}

/// Most files one Twilio message carries (`NumMedia`).
const MAX_MEDIA: usize = 10;

/// The file at `url` (`MediaUrlN`) of declared type `content_type` (`MediaContentTypeN`),
/// captioned by the message's body. Its kind follows the declared type: WebP images are
/// stickers; a contact card (vCard, which is text) is kept as a plain-text document.
fn media_of(url: String, content_type: Option<String>, caption: &Option<String>) -> InboundMedia {
    let declared = content_type.as_deref().unwrap_or("");
    let (kind, filename) = match declared.split(';').next().unwrap_or("").trim() {
        "image/webp" => (MediaKind::Sticker, None),
        t if t.starts_with("image/") => (MediaKind::Image, None),
        t if t.starts_with("audio/") => (MediaKind::Audio, None),
        t if t.starts_with("video/") => (MediaKind::Video, None),
        _ if is_vcard(Some(declared)) => (MediaKind::Document, Some("contact.vcf".to_string())),
        _ => (MediaKind::Document, None),
    };
    let declared_mime = if is_vcard(Some(declared)) {
        Some("text/plain".to_string())
    } else {
        content_type
    };
    InboundMedia {
        kind,
        source: MediaSource::Url(url),
        declared_mime,
        filename,
        caption: caption.clone(),
    }
}

/// Whether a declared type is a contact card (`text/vcard`, `text/x-vcard`).
fn is_vcard(content_type: Option<&str>) -> bool {
    let t = content_type.unwrap_or("").split(';').next().unwrap_or("");
    matches!(
        t.trim().to_ascii_lowercase().as_str(),
        "text/vcard" | "text/x-vcard" | "text/directory"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_twilios_documented_example() {
        // Twilio's security documentation example.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let token = Secret::new("12345");
        let sig = sign("12345", url, &params);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify_signature(&token, url, &params, Some(&sig)));
        assert!(!verify_signature(
            &token,
            "https://example.com/other",
            &params,
            Some(&sig)
        ));
        assert!(!verify_signature(&token, url, &params, None));
    }

    #[test]
    fn inbound_and_status_callbacks_are_told_apart() {
        let p = parse_form(
            b"SmsMessageSid=SM1&NumMedia=0&ProfileName=Ann&SmsSid=SM1&WaId=31612345678&SmsStatus=received&Body=Hi&To=whatsapp%3A%2B31201234567&MessageSid=SM1&From=whatsapp%3A%2B31612345678",
        );
        let Inbound::Message(m) = parse_callback(&p).unwrap() else {
            panic!()
        };
        assert_eq!(m.from, "31612345678");
        assert_eq!(m.body.as_deref(), Some("Hi"));
        let p = parse_form(b"MessageSid=SM2&MessageStatus=undelivered&ErrorCode=63016&To=whatsapp%3A%2B31612345678");
        let Inbound::Status(s) = parse_callback(&p).unwrap() else {
            panic!()
        };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert_eq!(s.error_code, Some(63016));
    }

    #[test]
    fn a_quick_reply_is_a_button_reply() {
        let p = parse_form(
            b"MessageSid=SM3&WaId=31612345678&SmsStatus=received&Body=Yes&ButtonText=Yes&ButtonPayload=deflect%3AK7Q2MX&From=whatsapp%3A%2B31612345678",
        );
        let Inbound::Message(m) = parse_callback(&p).unwrap() else {
            panic!()
        };
        assert_eq!(m.kind, "button");
        assert_eq!(
            m.interactive,
            Some(Interactive::ButtonReply {
                id: "deflect:K7Q2MX".into(),
                title: "Yes".into()
            })
        );
    }

    #[test]
    fn interactive_messages_are_sent_as_text() {
        let f = form_fields(
            "whatsapp:+31201234567",
            "31612345678",
            &Outgoing::CtaUrl {
                body: "Track it".into(),
                display_text: "Track".into(),
                url: "https://example.com/t/1".into(),
            },
        );
        assert_eq!(
            f[2],
            (
                "Body".to_string(),
                "Track it\nTrack: https://example.com/t/1".to_string()
            )
        );
    }

    fn inbound(form: &str) -> InboundMessage {
        match parse_callback(&parse_form(form.as_bytes())).unwrap() {
            Inbound::Message(m) => *m,
            other => panic!("{other:?}"),
        }
    }

    const MEDIA: &str = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME";

    #[test]
    fn media_urls_are_the_files_of_the_message() {
        let m = inbound(&format!(
            "MessageSid=MM1&SmsStatus=received&WaId=31612345678&From=whatsapp%3A%2B31612345678\
             &Body=Both+pages&NumMedia=2&MediaContentType0=image%2Fjpeg&MediaUrl0={MEDIA}1\
             &MediaContentType1=application%2Fpdf&MediaUrl1={MEDIA}2"
        ));
        assert_eq!(m.kind, "image");
        assert_eq!(m.body.as_deref(), Some("Both pages"));
        assert_eq!(
            m.media,
            [
                InboundMedia {
                    kind: MediaKind::Image,
                    source: MediaSource::Url(format!("{MEDIA}1")),
                    declared_mime: Some("image/jpeg".into()),
                    filename: None,
                    caption: Some("Both pages".into()),
                },
                InboundMedia {
                    kind: MediaKind::Document,
                    source: MediaSource::Url(format!("{MEDIA}2")),
                    declared_mime: Some("application/pdf".into()),
                    filename: None,
                    caption: Some("Both pages".into()),
                },
            ]
        );

        // A voice note, no caption.
        let voice = inbound(&format!(
            "MessageSid=MM2&WaId=31612345678&NumMedia=1&MediaContentType0=audio%2Fogg&MediaUrl0={MEDIA}3"
        ));
        assert_eq!(
            (voice.kind.as_str(), voice.body.as_deref()),
            ("audio", Some("[audio]"))
        );
        assert_eq!(voice.media[0].kind, MediaKind::Audio);
        assert_eq!(voice.media[0].caption, None);

        // WebP images are stickers; a contact card is a contacts message with its vCard
        // kept as a text document.
        let sticker = inbound(&format!(
            "MessageSid=MM3&WaId=31612345678&NumMedia=1&MediaContentType0=image%2Fwebp&MediaUrl0={MEDIA}4"
        ));
        assert_eq!(
            (sticker.kind.as_str(), sticker.media[0].kind),
            ("sticker", MediaKind::Sticker)
        );
        let card = inbound(&format!(
            "MessageSid=MM4&WaId=31612345678&NumMedia=1&MediaContentType0=text%2Fvcard&MediaUrl0={MEDIA}5"
        ));
        assert_eq!(card.kind, "contacts");
        let file = &card.media[0];
        assert_eq!(
            (
                file.kind,
                file.declared_mime.as_deref(),
                file.filename.as_deref()
            ),
            (MediaKind::Document, Some("text/plain"), Some("contact.vcf"))
        );

        // NumMedia without its URL names nothing; at most ten are read.
        let missing = inbound("MessageSid=MM5&WaId=31612345678&NumMedia=1&Body=x");
        assert!(missing.media.is_empty());
        assert_eq!(missing.kind, "text");
        let mut many = "MessageSid=MM6&WaId=31612345678&NumMedia=12".to_string();
        for i in 0..12 {
            many.push_str(&format!(
                "&MediaContentType{i}=image%2Fpng&MediaUrl{i}={MEDIA}{i}"
            ));
        }
        assert_eq!(inbound(&many).media.len(), 10);
    }

    #[test]
    fn a_shared_location_is_written_out() {
        let m = inbound(
            "MessageSid=MM7&WaId=31612345678&NumMedia=0&Latitude=52.370216&Longitude=4.895168\
             &Label=Dam+Square&Address=Dam%2C+Amsterdam",
        );
        assert_eq!(m.kind, "location");
        assert_eq!(
            m.body.as_deref(),
            Some("[location] Dam Square, Dam, Amsterdam (52.370216, 4.895168)")
        );
        assert!(m.media.is_empty());
    }
}
