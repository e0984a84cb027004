//! `[whatsapp.accounts.sms_fallback]`: the SMS sent when WhatsApp cannot reach a deflected
//! caller's number (not a WhatsApp user, undeliverable), through Twilio Programmable SMS or
//! Sinch's SMS API.

use crate::Problems;
use crate::secret::{REDACTED, Secret};
use crate::text::check_text;
use serde::{Deserialize, Serialize};

/// Which SMS API the fallback goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Twilio Programmable SMS (`POST /2010-04-01/Accounts/{sid}/Messages.json`).
    Twilio,
    /// Sinch SMS (`POST /xms/v1/{service_plan_id}/batches`).
    Sinch,
}

impl SmsProvider {
    /// Name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Sinch => "sinch",
        }
    }
}

/// The regions of Sinch's SMS API (`<region>.sms.api.sinch.com`).
pub const SINCH_SMS_REGIONS: [&str; 5] = ["us", "eu", "au", "br", "ca"];

/// The variables of the fallback's text.
pub const SMS_VARIABLES: &[&str] = &["link", "reference", "business_number"];

/// `[whatsapp.accounts.sms_fallback]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsFallbackConfig {
    /// `twilio` or `sinch`.
    pub provider: SmsProvider,
    /// The sender: a phone number in E.164, a short code, or an alphanumeric sender id where
    /// the country allows one.
    pub from: String,
    /// The text (at most 480 characters: three SMS parts); variables `{{link}}` (where the
    /// conversation continues: a signed page that continues it in the browser, or on
    /// WhatsApp — the business's WhatsApp chat when the gateway has no public address or
    /// widget site), `{{reference}}` and `{{business_number}}`.
    pub text: String,
    /// Twilio: account SID (`AC…`); the account's own for a Twilio WhatsApp account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    /// Twilio: auth token; the account's own for a Twilio WhatsApp account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<Secret>,
    /// Sinch: the SMS service plan id (dashboard: SMS → APIs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_plan_id: Option<String>,
    /// Sinch: the service plan's API token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<Secret>,
    /// Sinch: the region of the service plan, `us`, `eu`, `au`, `br` or `ca`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Sinch: the secret Sinch signs the service plan's callbacks with (HMAC, set up with
    /// Sinch for the service plan). Without it the customers' SMS answers and the delivery
    /// reports Sinch posts are refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<Secret>,
    /// The SMS API's base URL; defaults to `https://api.twilio.com` or
    /// `https://<region>.sms.api.sinch.com`. Tests point it at a local server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<url::Url>,
    /// How long `{{link}}` continues the conversation in the browser (1h – 30d), when the
    /// gateway has a `http.public_base_url` and a widget site to continue on.
    #[serde(with = "crate::value::duration")]
    pub link_ttl: std::time::Duration,
}

impl Default for SmsFallbackConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::Twilio,
            from: String::new(),
            text: "We could not reach you on WhatsApp. Your reference is {{reference}}. \
                   To continue the conversation, open {{link}}"
                .into(),
            account_sid: None,
            auth_token: None,
            service_plan_id: None,
            api_token: None,
            region: None,
            webhook_secret: None,
            api_base_url: None,
            link_ttl: std::time::Duration::from_secs(7 * 86_400),
        }
    }
}

/// Most characters of the fallback's text as written (three SMS parts).
pub const MAX_SMS_TEXT: usize = 480;

impl SmsFallbackConfig {
    /// The SMS API's base URL: configured, or the provider's public one.
    pub fn api_base_url(&self) -> url::Url {
        self.api_base_url.clone().unwrap_or_else(|| {
            let base = match self.provider {
                SmsProvider::Twilio => "https://api.twilio.com".to_string(),
                SmsProvider::Sinch => format!(
                    "https://{}.sms.api.sinch.com",
                    self.region.as_deref().unwrap_or("us")
                ),
            };
            url::Url::parse(&base).expect("a literal URL with a checked region")
        })
    }

    /// Checks the section at `at`; `twilio_account` says whether the WhatsApp account is a
    /// Twilio one (whose SID and token the fallback may share).
    pub(crate) fn validate(&self, p: &mut Problems, at: &str, twilio_account: bool) {
        if self.from.trim().is_empty() {
            p.push(
                format!("{at}.from"),
                "required: the sender, a number in E.164 (\"+3197010200300\"), a short code or an alphanumeric sender id",
            );
        }
        if self.text.chars().count() > MAX_SMS_TEXT {
            p.push(
                format!("{at}.text"),
                format!("at most {MAX_SMS_TEXT} characters (three SMS parts)"),
            );
        } else if let Err(e) = check_text(&self.text, SMS_VARIABLES) {
            p.push(format!("{at}.text"), e.to_string());
        }
        if !(3600..=30 * 86_400).contains(&self.link_ttl.as_secs()) {
            p.push(format!("{at}.link_ttl"), "must be between 1h and 30d");
        }
        let provider = self.provider.as_str();
        let mut require = |key: &str, present: bool| {
            if !present {
                p.push(
                    format!("{at}.{key}"),
                    format!("required for SMS provider {provider:?}"),
                );
            }
        };
        let set = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.is_empty());
        match self.provider {
            SmsProvider::Twilio => {
                require("account_sid", twilio_account || self.account_sid.is_some());
                require("auth_token", twilio_account || set(&self.auth_token));
            }
            SmsProvider::Sinch => {
                require("service_plan_id", self.service_plan_id.is_some());
                require("api_token", set(&self.api_token));
                match self.region.as_deref() {
                    Some(r) if SINCH_SMS_REGIONS.contains(&r) => {}
                    r => p.push(
                        format!("{at}.region"),
                        format!(
                            "{} for SMS provider \"sinch\"; valid: {}",
                            r.map_or("required".to_string(), |r| format!("{r:?} is not a region")),
                            SINCH_SMS_REGIONS.join(", ")
                        ),
                    ),
                }
            }
        }
        let own: [(&str, bool, SmsProvider); 6] = [
            (
                "account_sid",
                self.account_sid.is_some(),
                SmsProvider::Twilio,
            ),
            ("auth_token", self.auth_token.is_some(), SmsProvider::Twilio),
            (
                "service_plan_id",
                self.service_plan_id.is_some(),
                SmsProvider::Sinch,
            ),
            ("api_token", self.api_token.is_some(), SmsProvider::Sinch),
            ("region", self.region.is_some(), SmsProvider::Sinch),
            (
                "webhook_secret",
                self.webhook_secret.is_some(),
                SmsProvider::Sinch,
            ),
        ];
        for (key, _, owner) in own.iter().filter(|(_, set, _)| *set) {
            if *owner != self.provider {
                p.push(
                    format!("{at}.{key}"),
                    format!("only for SMS provider {:?}", owner.as_str()),
                );
            }
        }
        for (key, secret) in [
            ("auth_token", &self.auth_token),
            ("api_token", &self.api_token),
            ("webhook_secret", &self.webhook_secret),
        ] {
            if secret.as_ref().is_some_and(|s| s.expose() == REDACTED) {
                p.push(
                    format!("{at}.{key}"),
                    "holds the <redacted> placeholder copied from check-config output, not the secret",
                );
            }
        }
        if let Some(url) = &self.api_base_url
            && !matches!(url.scheme(), "http" | "https")
        {
            p.push(
                format!("{at}.api_base_url"),
                "must be an http:// or https:// URL",
            );
        }
    }
}
