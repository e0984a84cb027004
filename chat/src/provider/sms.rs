//! The SMS an account sends when WhatsApp cannot reach a number
//! (`[whatsapp.accounts.sms_fallback]`): Twilio Programmable SMS (`POST
//! /2010-04-01/Accounts/{sid}/Messages.json`, the same form as Twilio's WhatsApp messages
//! with plain numbers) or Sinch's SMS API (`POST /xms/v1/{service_plan_id}/batches` with the
//! service plan's bearer token, `{"from", "to": [..], "body", "type": "mt_text",
//! "client_reference"}`). SMS are sent once and not tracked: neither API is asked for
//! delivery reports.

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
