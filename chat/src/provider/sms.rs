//! The SMS an account sends when WhatsApp cannot reach a number
//! (`[whatsapp.accounts.sms_fallback]`): Twilio Programmable SMS (`POST
//! /2010-04-01/Accounts/{sid}/Messages.json`, the same form as Twilio's WhatsApp messages
//! with plain numbers) or Sinch's SMS API (`POST /xms/v1/{service_plan_id}/batches` with the
//! service plan's bearer token, `{"from", "to": [..], "body", "type": "mt_text",
//! "client_reference"}`).
//!
//! Callbacks come to `<public_base_url>/webhooks/sms/<account>` ([`receive`]):
//!
//! - Twilio posts an SMS to the fallback's number to the URL configured on that number ("A
//!   message comes in"), and each send names that URL as its `StatusCallback` (with the
//!   send's correlation), so its statuses (`sent`, `delivered`, `undelivered`, `failed` with
//!   `ErrorCode`) come too: forms signed with `X-Twilio-Signature` by the auth token the
//!   fallback sends with.
//! - Sinch posts to the service plan's callback URL its inbound SMS (`mo_text`: `id`, `from`,
//!   `to`, `body`) and, since each batch asks for `delivery_report: "per_recipient_final"`
//!   with that URL as its `callback_url`, one `recipient_delivery_report_sms` per SMS
//!   (`batch_id`, `status` `Delivered`, `Failed`, `Expired`, `Rejected`, `Aborted`, `code`,
//!   `client_reference`): JSON signed as Sinch signs its callbacks (`x-sinch-webhook-signature`,
//!   HMAC-SHA256 over `<body>.<nonce>.<timestamp>`) with the fallback's `webhook_secret`.
//!
//! Without `http.public_base_url` no callback URL is named, and SMS stay `sent`.

use super::webhook::{Delivery, Refusal};
use super::{Inbound, SendError, Sent, StatusUpdate, WebhookError};
use crate::model::DeliveryStatus;
use deflect_config::{AccountConfig, Secret, SmsFallbackConfig, SmsProvider};
use serde_json::json;

/// Sends an account's fallback SMS.
#[derive(Clone, Debug)]
pub struct SmsClient {
    http: reqwest::Client,
    api: Api,
    from: String,
    timeout: std::time::Duration,
    /// Where the provider reports what became of each SMS (`<public_base_url>/webhooks/sms/
    /// <account>`), when the gateway has a public address.
    callback: Option<url::Url>,
}

#[derive(Clone, Debug)]
enum Api {
    Twilio {
        endpoint: String,
        sid: String,
        token: Option<Secret>,
    },
    Sinch {
        endpoint: String,
        token: Option<Secret>,
    },
}

impl SmsClient {
    /// The SMS client of `account`, when it has an SMS fallback; with `public_base_url`, each
    /// SMS asks for its delivery report there.
    pub fn for_account(
        account: &AccountConfig,
        http: reqwest::Client,
        public_base_url: Option<&url::Url>,
    ) -> Option<Self> {
        let sms: &SmsFallbackConfig = account.sms_fallback.as_ref()?;
        let base = sms.api_base_url();
        let base = base.as_str().trim_end_matches('/');
        let api = match sms.provider {
            SmsProvider::Twilio => {
                // A Twilio WhatsApp account lends its own SID and token.
                let sid = (sms.account_sid.clone())
                    .or_else(|| account.account_sid.clone())
                    .unwrap_or_default();
                Api::Twilio {
                    endpoint: format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
                    sid,
                    token: sms
                        .auth_token
                        .clone()
                        .or_else(|| account.auth_token.clone()),
                }
            }
            SmsProvider::Sinch => Api::Sinch {
                endpoint: format!(
                    "{base}/xms/v1/{}/batches",
                    sms.service_plan_id.as_deref().unwrap_or_default()
                ),
                token: sms.api_token.clone(),
            },
        };
        let path = format!("webhooks/sms/{}", account.name);
        let callback = public_base_url.and_then(|b| {
            let base = format!("{}/", b.as_str().trim_end_matches('/'));
            url::Url::parse(&base).and_then(|b| b.join(&path)).ok()
        });
        Some(Self {
            http,
            api,
            from: sms.from.clone(),
            timeout: account.request_timeout,
            callback,
        })
    }

    /// Sends `body` to `to` (digits, or E.164); `correlation` names the send where the API
    /// keeps a reference (Sinch's `client_reference`).
    pub async fn send(&self, to: &str, body: &str, correlation: &str) -> Result<Sent, SendError> {
        let to = format!("+{}", to.trim_start_matches('+'));
        let request = match &self.api {
            Api::Twilio {
                endpoint,
                sid,
                token,
            } => {
                let mut form = vec![
                    ("From", self.from.clone()),
                    ("To", to),
                    ("Body", body.to_string()),
                ];
                if let Some(url) = &self.callback {
                    let mut url = url.clone();
                    (url.query_pairs_mut())
                        .append_pair(super::twilio::CORRELATION_PARAMETER, correlation);
                    form.push(("StatusCallback", url.into()));
                }
                (self.http.post(endpoint))
                    .basic_auth(sid, token.as_ref().map(Secret::expose))
                    .form(&form)
            }
            Api::Sinch { endpoint, token } => {
                let mut batch = json!({"from": self.from, "to": [to], "body": body,
                                       "type": "mt_text", "client_reference": correlation});
                if let Some(url) = &self.callback {
                    batch["delivery_report"] = json!("per_recipient_final");
                    batch["callback_url"] = json!(url.as_str());
                }
                (self.http.post(endpoint))
                    .bearer_auth(token.as_ref().map_or("", Secret::expose))
                    .json(&batch)
            }
        };
        let res = (request.timeout(self.timeout).send().await)
            .map_err(|e| super::classify_transport(&e))?;
        match &self.api {
            Api::Twilio { .. } => {
                super::read_send_answer(res, &["/sid"], super::twilio::error_of).await
            }
            Api::Sinch { .. } => super::read_send_answer(res, &["/id"], sinch_error).await,
        }
    }
}

/// A Sinch SMS error (`{"code": "syntax_invalid_json", "text": "…"}`): 429 and 5xx are
/// retried, the others will not succeed as sent.
fn sinch_error(status: reqwest::StatusCode, json: &serde_json::Value) -> SendError {
    let message = format!(
        "{}: {}",
        json["code"].as_str().unwrap_or("error"),
        json["text"].as_str().unwrap_or("no error text")
    );
    let code = Some(i64::from(status.as_u16()));
    if status.as_u16() == 429 || status.is_server_error() {
        SendError::Retry { code, message }
    } else {
        SendError::Rejected { code, message }
    }
}

/// An SMS a customer sent to the fallback's number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundSms {
    /// The provider's id of the SMS (Twilio's `MessageSid`, Sinch's `id`).
    pub external_id: String,
    /// The sender, E.164.
    pub from: String,
    /// The text.
    pub body: String,
}

/// What an SMS provider posted to the gateway.
#[derive(Clone, Debug, PartialEq)]
pub enum SmsCallback {
    /// A customer's SMS.
    Message(InboundSms),
    /// What became of an SMS the gateway sent.
    Status(StatusUpdate),
    /// Anything else the provider posts there (a binary SMS, a status on the way): taken,
    /// and ignored.
    Ignored,
}

/// Checks a callback for `account`'s SMS fallback (see the module documentation) and reads
/// it.
pub fn receive(account: &AccountConfig, delivery: &Delivery<'_>) -> Result<SmsCallback, Refusal> {
    let Some(sms) = &account.sms_fallback else {
        return Err(Refusal::NoWebhooks);
    };
    match sms.provider {
        SmsProvider::Twilio => {
            let token = sms.auth_token.as_ref().or(account.auth_token.as_ref());
            twilio_callback(token, delivery)
        }
        SmsProvider::Sinch => {
            let Some(secret) = &sms.webhook_secret else {
                return Err(Refusal::NoWebhooks);
            };
            sinch_callback(secret, delivery)
        }
    }
}

/// A Twilio form: an inbound SMS, or a status callback (carrying its send's correlation in
/// its URL).
fn twilio_callback(token: Option<&Secret>, d: &Delivery<'_>) -> Result<SmsCallback, Refusal> {
    let params = super::twilio::parse_form(d.body);
    let signature = d.header("x-twilio-signature");
    let verified =
        token.is_some_and(|t| super::twilio::verify_signature(t, d.url, &params, signature));
    if !verified {
        return Err(Refusal::Unauthenticated);
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let status = get("MessageStatus").or_else(|| get("SmsStatus"));
    if status.as_deref().is_some_and(|s| s != "received") && get("Body").is_none() {
        let mut item = super::twilio::parse_callback(&params)?;
        super::twilio::correlate(&mut item, d.query());
        return Ok(match item {
            Inbound::Status(s) => SmsCallback::Status(s),
            _ => SmsCallback::Ignored,
        });
    }
    let missing = |k: &str| WebhookError(format!("no {k}"));
    let from = get("From").ok_or_else(|| missing("From"))?;
    if !deflect_config::is_e164(&from) {
        return Err(WebhookError(format!("From {from:?} is not a phone number")).into());
    }
    Ok(SmsCallback::Message(InboundSms {
        external_id: get("MessageSid")
            .or_else(|| get("SmsSid"))
            .ok_or_else(|| missing("MessageSid"))?,
        from,
        body: get("Body").unwrap_or_default(),
    }))
}

/// A Sinch SMS callback: `mo_text`, or a recipient's final delivery report.
fn sinch_callback(secret: &Secret, d: &Delivery<'_>) -> Result<SmsCallback, Refusal> {
    let verified = super::sinch::verify_signature(
        secret,
        d.body,
        d.header("x-sinch-webhook-signature-nonce"),
        d.header("x-sinch-webhook-signature-timestamp"),
        d.header("x-sinch-webhook-signature"),
    );
    if !verified {
        return Err(Refusal::Unauthenticated);
    }
    let v: serde_json::Value =
        serde_json::from_slice(d.body).map_err(|e| WebhookError(format!("not JSON: {e}")))?;
    let text = |k: &str| v[k].as_str().map(str::to_string);
    let missing = |k: &str| WebhookError(format!("no {k}"));
    match v["type"].as_str() {
        Some("mo_text") => {
            let from = text("from").ok_or_else(|| missing("from"))?;
            let from = format!("+{}", from.trim_start_matches('+'));
            if !deflect_config::is_e164(&from) {
                return Err(WebhookError(format!("from {from:?} is not a phone number")).into());
            }
            Ok(SmsCallback::Message(InboundSms {
                external_id: text("id").ok_or_else(|| missing("id"))?,
                from,
                body: text("body").unwrap_or_default(),
            }))
        }
        Some("recipient_delivery_report_sms") => {
            let status = match v["status"].as_str() {
                Some("Delivered") => DeliveryStatus::Delivered,
                Some("Failed" | "Expired" | "Rejected" | "Aborted") => DeliveryStatus::Failed,
                _ => return Ok(SmsCallback::Ignored),
            };
            let failed = status == DeliveryStatus::Failed;
            Ok(SmsCallback::Status(StatusUpdate {
                external_id: text("batch_id").ok_or_else(|| missing("batch_id"))?,
                correlation: text("client_reference"),
                status,
                timestamp: 0,
                error_code: v["code"].as_i64().filter(|_| failed),
                error_title: (v["status"].as_str())
                    .filter(|_| failed)
                    .map(|s| format!("SMS {}", s.to_lowercase())),
            }))
        }
        Some(_) => Ok(SmsCallback::Ignored),
        None => Err(missing("type").into()),
    }
}
