//! `[whatsapp]`: WhatsApp Business accounts and the provider each is reached through.

use crate::Problems;
use crate::automations::{AutomationOverrides, AutomationsConfig};
use crate::secret::{REDACTED, Secret};
use crate::value::is_e164;
use serde::{Deserialize, Serialize};

/// `[whatsapp]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// Account used where a flow or site names none. Not needed with exactly one account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_account: Option<String>,
    /// Accounts. The embedded default is one `sandbox` account, so the product can be tried
    /// with nothing but the binary.
    pub accounts: Vec<AccountConfig>,
    /// How often each account's approved message templates are fetched again from the
    /// provider (Meta's WhatsApp Business Account, Twilio's Content API); they are also
    /// fetched at start and when an admin or supervisor asks.
    #[serde(with = "crate::value::duration")]
    pub templates_refresh_interval: std::time::Duration,
}

/// The default of `whatsapp.templates_refresh_interval`: templates change when someone
/// edits them in WhatsApp Manager or Twilio's console and Meta reviews them, which takes
/// minutes to hours.
pub const TEMPLATES_REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

impl Default for WhatsAppConfig {
    fn default() -> Self {
        Self {
            default_account: None,
            accounts: vec![AccountConfig {
                name: "sandbox".into(),
                provider: Provider::Sandbox,
                business_number: "+15550100000".into(),
                ..AccountConfig::default()
            }],
            templates_refresh_interval: TEMPLATES_REFRESH_INTERVAL,
        }
    }
}

impl WhatsAppConfig {
    /// The account used when none is named: `default_account`, or the only account.
    pub fn default_account(&self) -> Option<&AccountConfig> {
        match &self.default_account {
            Some(name) => self.account(name),
            None if self.accounts.len() == 1 => self.accounts.first(),
            None => None,
        }
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// The automations of account `name` (none: the default account's): the inbox-wide
    /// `defaults` with the account's overrides; an unknown account (or none at all) has the
    /// defaults. A widget site's or IVR flow's rules start from its account's.
    pub fn automations_of(
        &self,
        defaults: &AutomationsConfig,
        name: Option<&str>,
    ) -> AutomationsConfig {
        let account = match name {
            Some(n) => self.account(n),
            None => self.default_account(),
        };
        account.map_or_else(|| defaults.clone(), |a| defaults.with(&a.automations))
    }

    /// Checks that `reference` (or, when absent, the default account) resolves; `path` is
    /// where the reference is written.
    pub(crate) fn check_reference(&self, p: &mut Problems, path: &str, reference: Option<&str>) {
        let names = self.accounts.iter().map(|a| a.name.as_str());
        match reference {
            Some(r) => p.reference(path, r, "WhatsApp account", names),
            None if self.default_account().is_none() && !self.accounts.is_empty() => p.push(
                path,
                format!(
                    "required when several WhatsApp accounts are configured and \
                     whatsapp.default_account is not set; valid: {}",
                    names.collect::<Vec<_>>().join(", ")
                ),
            ),
            None => {}
        }
    }

    pub(crate) fn validate(&self, p: &mut Problems) {
        p.unique_names(
            "whatsapp.accounts",
            self.accounts.iter().map(|a| a.name.as_str()),
        );
        if let Some(d) = &self.default_account {
            let names = self.accounts.iter().map(|a| a.name.as_str());
            p.reference("whatsapp.default_account", d, "WhatsApp account", names);
        }
        for (i, a) in self.accounts.iter().enumerate() {
            a.validate(p, &format!("whatsapp.accounts[{i}]"));
        }
        let interval = self.templates_refresh_interval;
        if !(std::time::Duration::from_secs(60)..=std::time::Duration::from_secs(7 * 86_400))
            .contains(&interval)
        {
            p.push(
                "whatsapp.templates_refresh_interval",
                "must be between 1m and 7d (default 1h)",
            );
        }
    }
}

/// Which API an account's messages go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Meta's WhatsApp Business Cloud API (Graph API).
    Meta,
    /// Twilio's WhatsApp API.
    Twilio,
    /// Sinch's Conversation API (WhatsApp channel).
    Sinch,
    /// Kaleyra's WhatsApp API (v2, Cloud API messages).
    Kaleyra,
    /// No external service: messages are stored and a simulated phone answers.
    Sandbox,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Self; 5] = [
        Self::Meta,
        Self::Twilio,
        Self::Sinch,
        Self::Kaleyra,
        Self::Sandbox,
    ];

    /// Name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Meta => "meta",
            Self::Twilio => "twilio",
            Self::Sinch => "sinch",
            Self::Kaleyra => "kaleyra",
            Self::Sandbox => "sandbox",
        }
    }
}

/// The regions Sinch's Conversation API runs in (`<region>.conversation.api.sinch.com`).
pub const SINCH_REGIONS: [&str; 3] = ["us", "eu", "br"];

/// The fewest characters of a Kaleyra account's `webhook_secret`.
pub const KALEYRA_MIN_TOKEN: usize = 32;

/// Kaleyra's pods (`api.<pod>.kaleyra.io`; North America `api.na.kaleyra.ai`).
pub const KALEYRA_REGIONS: [&str; 4] = ["in", "ap", "eu", "na"];

/// `[[whatsapp.accounts]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// Name, used in webhook URLs (`/webhooks/<provider>/<name>`) and to refer to the account.
    pub name: String,
    /// `meta`, `twilio`, `sinch`, `kaleyra` or `sandbox`.
    pub provider: Provider,
    /// The business's WhatsApp number in E.164 (`+31201234567`), used in wa.me links.
    pub business_number: String,
    /// Meta: the phone number ID messages are sent from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// Meta: the WhatsApp Business Account (WABA) id the number belongs to, whose message
    /// templates the inbox lists (`GET /{waba_id}/message_templates`). Without it the
    /// account's templates are not fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_account_id: Option<String>,
    /// Meta: system-user access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Secret>,
    /// Meta: app secret, key of the X-Hub-Signature-256 webhook signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<Secret>,
    /// Meta: the token Meta echoes when verifying the webhook subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<Secret>,
    /// Twilio: account SID (`AC…`); Kaleyra: the account's SID (`HX…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    /// Twilio: auth token, used for API calls and X-Twilio-Signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<Secret>,
    /// Sinch: the project id (Sinch Build dashboard, "Projects").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Sinch: the Conversation API app the WhatsApp sender belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Sinch: the region the app was created in, `us`, `eu` or `br`; Kaleyra: the account's
    /// pod, `in`, `ap`, `eu` or `na` (the API's host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Sinch: the access key's id (Settings → Access keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Sinch: the access key's secret, exchanged for OAuth2 access tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_secret: Option<Secret>,
    /// Sinch: the app's webhook secret, key of `x-sinch-webhook-signature`; Kaleyra: the value
    /// its callback profiles send in the `X-Deflect-Webhook-Token` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<Secret>,
    /// Kaleyra: the API key (`api-key` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Sinch: the OAuth2 token endpoint; defaults to `https://auth.sinch.com/oauth2/token`.
    /// Tests point it at a local server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<url::Url>,
    /// Provider API base URL; defaults to `https://graph.facebook.com` (meta),
    /// `https://api.twilio.com` (twilio), `https://<region>.conversation.api.sinch.com`
    /// (sinch) or the pod's `https://api.<region>.kaleyra.io` (kaleyra; North America:
    /// `https://api.na.kaleyra.ai`). Tests point it at a local server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<url::Url>,
    /// Twilio: the Content API's base URL (templates are listed there, on another host than
    /// messages are sent); defaults to `https://content.twilio.com`. Tests point it at a
    /// local server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_api_base_url: Option<url::Url>,
    /// Meta Graph API version.
    pub api_version: String,
    /// Sending pace per business number.
    pub messages_per_second: u32,
    /// How long a send waits for the provider's answer. No answer in time counts as
    /// "maybe accepted": the message waits for its status callback before it is sent again.
    #[serde(with = "crate::value::duration")]
    pub request_timeout: std::time::Duration,
    /// Message templates this account uses.
    pub templates: TemplatesConfig,
    /// This account's changes to `[inbox.automations]`.
    pub automations: AutomationOverrides,
    /// The SMS sent when WhatsApp cannot reach a deflected caller's number; none: no SMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_fallback: Option<crate::SmsFallbackConfig>,
    /// Meta: answer WhatsApp voice calls to the business number (the Business Calling API;
    /// switch calling on for the number in WhatsApp Manager and subscribe the app to the
    /// `calls` webhook field). They reach the IVR flow routed by `business_number`.
    pub calling: bool,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            provider: Provider::Sandbox,
            business_number: String::new(),
            phone_number_id: None,
            business_account_id: None,
            access_token: None,
            app_secret: None,
            verify_token: None,
            account_sid: None,
            auth_token: None,
            project_id: None,
            app_id: None,
            region: None,
            key_id: None,
            key_secret: None,
            webhook_secret: None,
            api_key: None,
            token_url: None,
            api_base_url: None,
            content_api_base_url: None,
            api_version: "v24.0".into(),
            messages_per_second: 80,
            request_timeout: std::time::Duration::from_secs(20),
            templates: TemplatesConfig::default(),
            automations: AutomationOverrides::default(),
            sms_fallback: None,
            calling: false,
        }
    }
}

impl AccountConfig {
    /// The API base URL: configured, or the provider's public one (none for sandbox).
    pub fn api_base_url(&self) -> Option<url::Url> {
        let default = match self.provider {
            Provider::Meta => "https://graph.facebook.com",
            Provider::Twilio => "https://api.twilio.com",
            Provider::Sinch => {
                let region = self.region.as_deref().unwrap_or("us");
                return self.api_base_url.clone().or_else(|| {
                    url::Url::parse(&format!("https://{region}.conversation.api.sinch.com")).ok()
                });
            }
            Provider::Kaleyra => {
                let host = match self.region.as_deref() {
                    Some("na") => "api.na.kaleyra.ai".to_string(),
                    Some(pod) => format!("api.{pod}.kaleyra.io"),
                    None => "api.kaleyra.io".to_string(),
                };
                return self
                    .api_base_url
                    .clone()
                    .or_else(|| url::Url::parse(&format!("https://{host}")).ok());
            }
            Provider::Sandbox => return self.api_base_url.clone(),
        };
        Some(
            self.api_base_url
                .clone()
                .unwrap_or_else(|| url::Url::parse(default).expect("literal URL")),
        )
    }

    /// The provider's id of the business number that a webhook item names to say which
    /// number it arrived for (Meta: `phone_number_id`); none where deliveries don't say.
    pub fn receiving_id(&self) -> Option<&str> {
        match self.provider {
            Provider::Meta => self.phone_number_id.as_deref(),
            Provider::Twilio | Provider::Sinch | Provider::Kaleyra | Provider::Sandbox => None,
        }
    }

    /// The regions `region` may name for this account's provider; none when it takes none.
    fn regions(&self) -> Option<&'static [&'static str]> {
        match self.provider {
            Provider::Sinch => Some(&SINCH_REGIONS),
            Provider::Kaleyra => Some(&KALEYRA_REGIONS),
            Provider::Meta | Provider::Twilio | Provider::Sandbox => None,
        }
    }

    /// Twilio's Content API base URL: configured, or `https://content.twilio.com`; none for
    /// other providers.
    pub fn content_api_base_url(&self) -> Option<url::Url> {
        (self.provider == Provider::Twilio).then(|| {
            self.content_api_base_url.clone().unwrap_or_else(|| {
                url::Url::parse("https://content.twilio.com").expect("literal URL")
            })
        })
    }

    fn validate(&self, p: &mut Problems, at: &str) {
        p.identifier(format!("{at}.name"), &self.name);
        if let Some(sms) = &self.sms_fallback {
            let twilio = self.provider == Provider::Twilio;
            sms.validate(p, &format!("{at}.sms_fallback"), twilio);
        }
        if let Some(id) = &self.business_account_id
            && (id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            p.push(
                format!("{at}.business_account_id"),
                format!(
                    "{id:?} is not a WhatsApp Business Account id: digits only, as WhatsApp \
                     Manager shows it (e.g. \"102290129340398\")"
                ),
            );
        }
        if self.calling && self.provider != Provider::Meta {
            p.push(
                format!("{at}.calling"),
                "only for provider \"meta\" (WhatsApp calls come through the Cloud API)",
            );
        }
        if self.business_account_id.is_some() && self.provider != Provider::Meta {
            p.push(
                format!("{at}.business_account_id"),
                "only for provider \"meta\" (Twilio's templates come from its Content API)",
            );
        }
        if self.content_api_base_url.is_some() && self.provider != Provider::Twilio {
            p.push(
                format!("{at}.content_api_base_url"),
                "only for provider \"twilio\"",
            );
        }
        if !is_e164(&self.business_number) {
            p.push(
                format!("{at}.business_number"),
                format!(
                    "{:?} is not an E.164 number; write \"+\", country code and number, e.g. \"+31201234567\"",
                    self.business_number
                ),
            );
        }
        let provider = self.provider.as_str();
        let mut require = |key: &str, present: bool| {
            if !present {
                p.push(
                    format!("{at}.{key}"),
                    format!("required for provider {provider:?}"),
                );
            }
        };
        let secret_set = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.is_empty());
        match self.provider {
            Provider::Meta => {
                require("phone_number_id", self.phone_number_id.is_some());
                require("access_token", secret_set(&self.access_token));
                require("app_secret", secret_set(&self.app_secret));
                require("verify_token", secret_set(&self.verify_token));
            }
            Provider::Twilio => {
                require("account_sid", self.account_sid.is_some());
                require("auth_token", secret_set(&self.auth_token));
            }
            Provider::Sinch => {
                require("project_id", self.project_id.is_some());
                require("app_id", self.app_id.is_some());
                require("key_id", self.key_id.is_some());
                require("key_secret", secret_set(&self.key_secret));
                require("webhook_secret", secret_set(&self.webhook_secret));
            }
            Provider::Kaleyra => {
                require("account_sid", self.account_sid.is_some());
                require("api_key", secret_set(&self.api_key));
                require("webhook_secret", secret_set(&self.webhook_secret));
                // Kaleyra signs nothing: the token alone makes a callback genuine.
                if let Some(s) = &self.webhook_secret
                    && !s.is_empty()
                    && s.expose().chars().count() < KALEYRA_MIN_TOKEN
                {
                    p.push(
                        format!("{at}.webhook_secret"),
                        format!(
                            "at least {KALEYRA_MIN_TOKEN} characters: it is all that tells Kaleyra's callbacks from anyone's (e.g. `openssl rand -hex 24`)"
                        ),
                    );
                }
            }
            Provider::Sandbox => {}
        }
        if let Some(regions) = self.regions() {
            match self.region.as_deref() {
                Some(r) if regions.contains(&r) => {}
                Some(r) => p.push(
                    format!("{at}.region"),
                    format!("{r:?} is not a region of {provider}; valid: {}", regions.join(", ")),
                ),
                None if self.provider == Provider::Sinch => p.push(
                    format!("{at}.region"),
                    format!(
                        "required for provider \"sinch\": the region of the Conversation API app; valid: {}",
                        regions.join(", ")
                    ),
                ),
                None => {}
            }
        }
        let own_keys: [(&str, bool, &[Provider]); 9] = [
            (
                "account_sid",
                self.account_sid.is_some(),
                &[Provider::Twilio, Provider::Kaleyra],
            ),
            ("project_id", self.project_id.is_some(), &[Provider::Sinch]),
            ("app_id", self.app_id.is_some(), &[Provider::Sinch]),
            (
                "region",
                self.region.is_some(),
                &[Provider::Sinch, Provider::Kaleyra],
            ),
            ("key_id", self.key_id.is_some(), &[Provider::Sinch]),
            ("key_secret", self.key_secret.is_some(), &[Provider::Sinch]),
            (
                "webhook_secret",
                self.webhook_secret.is_some(),
                &[Provider::Sinch, Provider::Kaleyra],
            ),
            ("token_url", self.token_url.is_some(), &[Provider::Sinch]),
            ("api_key", self.api_key.is_some(), &[Provider::Kaleyra]),
        ];
        for (key, _, owners) in own_keys.iter().filter(|(_, set, _)| *set) {
            if !owners.contains(&self.provider) {
                let names: Vec<String> =
                    owners.iter().map(|o| format!("{:?}", o.as_str())).collect();
                p.push(
                    format!("{at}.{key}"),
                    format!("only for provider {}", names.join(" or ")),
                );
            }
        }
        for (key, secret) in [
            ("access_token", &self.access_token),
            ("app_secret", &self.app_secret),
            ("verify_token", &self.verify_token),
            ("auth_token", &self.auth_token),
            ("key_secret", &self.key_secret),
            ("webhook_secret", &self.webhook_secret),
            ("api_key", &self.api_key),
        ] {
            if secret.as_ref().is_some_and(|s| s.expose() == REDACTED) {
                p.push(
                    format!("{at}.{key}"),
                    "holds the <redacted> placeholder copied from check-config output, not the secret",
                );
            }
        }
        for (key, url) in [
            ("api_base_url", &self.api_base_url),
            ("content_api_base_url", &self.content_api_base_url),
            ("token_url", &self.token_url),
        ] {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                p.push(format!("{at}.{key}"), "must be an http:// or https:// URL");
            }
        }
        if !(std::time::Duration::from_millis(100)..=std::time::Duration::from_secs(120))
            .contains(&self.request_timeout)
        {
            p.push(
                format!("{at}.request_timeout"),
                "must be between 100ms and 2m",
            );
        }
        if self.messages_per_second == 0 || self.messages_per_second > 1000 {
            p.push(
                format!("{at}.messages_per_second"),
                "must be between 1 and 1000 (Meta's default throughput is 80)",
            );
        }
        self.templates
            .deflection
            .validate(p, &format!("{at}.templates.deflection"));
        self.templates
            .recontact
            .validate(p, &format!("{at}.templates.recontact"));
        self.templates
            .relay_offer
            .validate(p, &format!("{at}.templates.relay_offer"));
    }
}

/// `[whatsapp.accounts.templates]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplatesConfig {
    /// Sent to a caller's callback number after a deflected call.
    pub deflection: TemplateConfig,
    /// Offered to agents to reopen a conversation outside the 24 h window.
    pub recontact: TemplateConfig,
    /// Asks an agent on their own WhatsApp to accept or reject a relayed conversation
    /// (`[inbox.relay]`): body parameters `{{1}}` the customer's name, `{{2}}` their first
    /// message, `{{3}}` the details the API call gave, `{{4}}` the reference; quick-reply
    /// button 0 accepts, button 1 rejects.
    pub relay_offer: TemplateConfig,
}

impl Default for TemplatesConfig {
    fn default() -> Self {
        Self {
            deflection: TemplateConfig {
                name: "deflect_callback".into(),
                language: "en".into(),
                content_sid: None,
            },
            recontact: TemplateConfig {
                name: "deflect_recontact".into(),
                language: "en".into(),
                content_sid: None,
            },
            relay_offer: TemplateConfig {
                name: "deflect_relay_offer".into(),
                language: "en".into(),
                content_sid: None,
            },
        }
    }
}

/// One approved message template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateConfig {
    /// Template name as approved by Meta.
    pub name: String,
    /// Template language code (`en`, `en_US`, `nl`, …).
    pub language: String,
    /// Twilio: the Content SID (`HX…`) of the approved template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sid: Option<String>,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            language: "en".into(),
            content_sid: None,
        }
    }
}

impl TemplateConfig {
    fn validate(&self, p: &mut Problems, at: &str) {
        if self.name.is_empty() {
            p.push(format!("{at}.name"), "a template name is required");
        }
        if self.language.is_empty() {
            p.push(
                format!("{at}.language"),
                "a language code such as \"en\" is required",
            );
        }
        if let Some(sid) = &self.content_sid
            && !is_content_sid(sid)
        {
            p.push(
                format!("{at}.content_sid"),
                format!("{sid:?} is not a Twilio Content SID: \"HX\" and 32 hexadecimal digits"),
            );
        }
    }
}

/// Whether `s` is a Twilio Content SID: `HX` and 32 hexadecimal digits.
pub(crate) fn is_content_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("HX") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}
