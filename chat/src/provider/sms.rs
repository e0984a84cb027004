//! The SMS an account sends when WhatsApp cannot reach a number
//! (`[whatsapp.accounts.sms_fallback]`): Twilio Programmable SMS (`POST
//! /2010-04-01/Accounts/{sid}/Messages.json`, the same form as Twilio's WhatsApp messages
//! with plain numbers) or Sinch's SMS API (`POST /xms/v1/{service_plan_id}/batches` with the
//! service plan's bearer token, `{"from", "to": [..], "body", "type": "mt_text",
//! "client_reference"}`). SMS are sent once and not tracked: neither API is asked for
//! delivery reports.
//!
//! Replies: Twilio posts an SMS to the fallback's number to the URL configured on that
//! number ("A message comes in": `<public_base_url>/webhooks/sms/<account>`), a form signed
//! with `X-Twilio-Signature` by the auth token the fallback sends with ([`receive`]). Sinch's
//! inbound SMS are not taken yet.

use super::{SendError, Sent};
use deflect_config::{AccountConfig, Secret, SmsFallbackConfig, SmsProvider};
use serde_json::json;

/// Sends an account's fallback SMS.
#[derive(Clone, Debug)]
pub struct SmsClient {
    http: reqwest::Client,
    api: Api,
    from: String,
    timeout: std::time::Duration,
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
    /// The SMS client of `account`, when it has an SMS fallback.
    pub fn for_account(account: &AccountConfig, http: reqwest::Client) -> Option<Self> {
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
        Some(Self {
            http,
            api,
            from: sms.from.clone(),
            timeout: account.request_timeout,
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
            } => self
                .http
                .post(endpoint)
                .basic_auth(sid, token.as_ref().map(Secret::expose))
                .form(&[
                    ("From", &self.from),
                    ("To", &to),
                    ("Body", &body.to_string()),
                ]),
            Api::Sinch { endpoint, token } => self
                .http
                .post(endpoint)
                .bearer_auth(token.as_ref().map_or("", Secret::expose))
                .json(
                    &json!({"from": self.from, "to": [to], "body": body, "type": "mt_text",
                              "client_reference": correlation}),
                ),
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
    /// The provider's id of the SMS (Twilio's `MessageSid`).
    pub external_id: String,
    /// The sender, E.164.
    pub from: String,
    /// The text.
    pub body: String,
}

/// Checks an inbound SMS delivery for `account`'s fallback (Twilio: `X-Twilio-Signature`
/// with the auth token it sends with, over the URL and the form) and reads it.
pub fn receive(
    account: &AccountConfig,
    delivery: &super::webhook::Delivery<'_>,
) -> Result<InboundSms, super::webhook::Refusal> {
    use super::webhook::Refusal;
    let Some(sms) = &account.sms_fallback else {
        return Err(Refusal::NoWebhooks);
    };
    if sms.provider != SmsProvider::Twilio {
        return Err(Refusal::NoWebhooks);
    }
    let params = super::twilio::parse_form(delivery.body);
    let token = sms.auth_token.as_ref().or(account.auth_token.as_ref());
    let signature = delivery.header("x-twilio-signature");
    let verified =
        token.is_some_and(|t| super::twilio::verify_signature(t, delivery.url, &params, signature));
    if !verified {
        return Err(Refusal::Unauthenticated);
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let missing = |k: &str| super::WebhookError(format!("no {k}"));
    let from = get("From").ok_or_else(|| missing("From"))?;
    if !deflect_config::is_e164(&from) {
        return Err(super::WebhookError(format!("From {from:?} is not a phone number")).into());
    }
    Ok(InboundSms {
        external_id: get("MessageSid")
            .or_else(|| get("SmsSid"))
            .ok_or_else(|| missing("MessageSid"))?,
        from,
        body: get("Body").unwrap_or_default(),
    })
}
