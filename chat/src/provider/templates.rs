//! The message templates of an account, listed from its provider and read into the inbox's
//! [`Template`] ([`TemplateSource`]).
//!
//! - **Meta** (Graph API, "WhatsApp Business Account > Message Templates"):
//!   `GET {api_base_url}/{api_version}/{business_account_id}/message_templates
//!   ?fields=name,language,status,category,components,parameter_format&limit=100` with the
//!   account's bearer token. The answer is `{"data": [...], "paging": {"cursors": {...},
//!   "next": "<url>"}}`; `paging.next` (absent on the last page) is followed. Each template's
//!   `components` are `HEADER` (`format` `TEXT` with `text`, or `IMAGE`/`VIDEO`/`DOCUMENT`;
//!   a `LOCATION` header is not offered), `BODY` (`text`), `FOOTER` (`text`) and `BUTTONS`
//!   (`buttons[]` of `type` `QUICK_REPLY`, `URL` with `url`, `PHONE_NUMBER` with
//!   `phone_number`, and others); examples come in `example.body_text` (positional) or
//!   `example.body_text_named_params` (named).
//! - **Twilio** (Content API, "Content and Approvals"): `GET {content_api_base_url}/v1/
//!   ContentAndApprovals?PageSize=100` with HTTP Basic auth (account SID, auth token). The
//!   answer is `{"contents": [...], "meta": {"next_page_url": <url or null>, ...}}`; each
//!   content has `sid` (`HX…`), `friendly_name`, `language`, `variables` (default values by
//!   placeholder), `types` (`twilio/text`, `twilio/media`, `twilio/quick-reply`,
//!   `twilio/call-to-action`, `twilio/card`, …, each with a `body` or `title` and
//!   `actions`) and `approval_requests` (WhatsApp's approval: `name`, `category`, `status`
//!   in lower case, `rejection_reason`). A content never submitted has no approval and is
//!   `UNSUBMITTED`. Its placeholders share one namespace, so a URL action's placeholder is
//!   filled from the same `ContentVariables` as the body's; a media URL's placeholders are
//!   asked for like the body's.
//!
//! A next page is followed only on the origin of the first request (the credentials go
//! nowhere else), and at most [`MAX_PAGES`] pages are read.

use crate::model::{HeaderMedia, Template, TemplateButton, TemplateHeader, placeholders};
use deflect_config::{AccountConfig, Provider as ProviderKind, Secret};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The most pages read in one listing (100 templates each: far more than an account has).
pub const MAX_PAGES: usize = 50;

/// Why an account's templates could not be listed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// Lists one account's templates.
#[derive(Clone, Debug)]
pub struct TemplateSource {
    http: reqwest::Client,
    account: String,
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    Meta {
        first: String,
        token: Option<Secret>,
    },
    Twilio {
        first: String,
        sid: String,
        token: Option<Secret>,
    },
}

impl TemplateSource {
    /// The source of `account`'s templates: none for the sandbox, Sinch, or a Meta account
    /// without `business_account_id`.
    pub fn for_account(account: &AccountConfig, http: reqwest::Client) -> Option<Self> {
        let source = match account.provider {
            ProviderKind::Meta => {
                let waba = account.business_account_id.as_deref()?;
                let base = account.api_base_url()?;
                let first = format!(
                    "{}/{}/{waba}/message_templates?fields=name,language,status,category,components,parameter_format&limit=100",
                    base.as_str().trim_end_matches('/'),
                    account.api_version
                );
                Source::Meta {
                    first,
                    token: account.access_token.clone(),
                }
            }
            ProviderKind::Twilio => {
                let base = account.content_api_base_url()?;
                let first = format!(
                    "{}/v1/ContentAndApprovals?PageSize=100",
                    base.as_str().trim_end_matches('/')
                );
                Source::Twilio {
                    first,
                    sid: account.account_sid.clone().unwrap_or_default(),
                    token: account.auth_token.clone(),
                }
            }
            // Sinch lists WhatsApp templates on its Template API (another host); not yet
            // read: such an account's templates are written in its configuration.
            // Kaleyra's template listing is not documented for the API.
            ProviderKind::Sinch | ProviderKind::Kaleyra | ProviderKind::Sandbox => return None,
        };
        Some(Self {
            http,
            account: account.name.clone(),
            source,
        })
    }

    /// The account whose templates these are.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Every template of the account, all pages read.
    pub async fn fetch(&self) -> Result<Vec<Template>, FetchError> {
        let first = match &self.source {
            Source::Meta { first, .. } | Source::Twilio { first, .. } => first.clone(),
        };
        let origin = url::Url::parse(&first)
            .map_err(|e| FetchError(format!("bad templates URL {first:?}: {e}")))?
            .origin();
        let mut next = Some(first);
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(url) = next.take() else {
                return Ok(out);
            };
            let page = self.page(&url).await?;
            let more = match &self.source {
                Source::Meta { .. } => {
                    out.extend(meta_page(&self.account, &page));
                    page["paging"]["next"].as_str().map(str::to_string)
                }
                Source::Twilio { .. } => {
                    out.extend(twilio_page(&self.account, &page));
                    page["meta"]["next_page_url"].as_str().map(str::to_string)
                }
            };
            next = match more {
                Some(u) if url::Url::parse(&u).is_ok_and(|p| p.origin() == origin) => Some(u),
                Some(u) => {
                    return Err(FetchError(format!(
                        "the next page {u:?} is on another host than the first"
                    )));
                }
                None => None,
            };
        }
        Err(FetchError(format!(
            "more than {MAX_PAGES} pages of templates"
        )))
    }

    async fn page(&self, url: &str) -> Result<Value, FetchError> {
        let req = self.http.get(url).timeout(Duration::from_secs(30));
        let req = match &self.source {
            Source::Meta { token, .. } => match token {
                Some(t) => req.bearer_auth(t.expose()),
                None => req,
            },
            Source::Twilio { sid, token, .. } => {
                req.basic_auth(sid, token.as_ref().map(Secret::expose))
            }
        };
        let res = req
            .send()
            .await
            .map_err(|e| FetchError(format!("cannot list templates: {e}")))?;
        let status = res.status();
        let json: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // Meta: {"error": {"message", "code"}}; Twilio: {"message", "code"}.
            let said = json["error"]["message"]
                .as_str()
                .or_else(|| json["message"].as_str())
                .unwrap_or("no explanation");
            return Err(FetchError(format!(
                "the provider answered {status}: {said}"
            )));
        }
        if json.is_null() {
            return Err(FetchError("the provider's answer is not JSON".into()));
        }
        Ok(json)
    }
}

/// The templates of one page of Meta's `message_templates` listing.
pub fn meta_page(account: &str, page: &Value) -> Vec<Template> {
    (page["data"].as_array().into_iter().flatten())
        .filter_map(|t| meta_template(account, t))
        .collect()
}

fn text_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn meta_template(account: &str, t: &Value) -> Option<Template> {
    let name = text_of(&t["name"])?;
    let language = text_of(&t["language"])?;
    let mut template = Template {
        account: account.to_string(),
        name,
        language,
        status: text_of(&t["status"]).unwrap_or_default().to_uppercase(),
        category: text_of(&t["category"]).map(|c| c.to_uppercase()),
        header: None,
        body: String::new(),
        parameters: Vec::new(),
        footer: None,
        buttons: Vec::new(),
        content_sid: None,
        examples: BTreeMap::new(),
    };
    for c in t["components"].as_array().into_iter().flatten() {
        let kind = c["type"].as_str().unwrap_or_default().to_uppercase();
        match kind.as_str() {
            "HEADER" => {
                let format = c["format"].as_str().unwrap_or("TEXT").to_uppercase();
                template.header = match format.as_str() {
                    "TEXT" => {
                        let text = text_of(&c["text"]).unwrap_or_default();
                        let parameter = placeholders(&text).into_iter().next();
                        Some(TemplateHeader::Text { text, parameter })
                    }
                    "IMAGE" => Some(TemplateHeader::Media {
                        format: HeaderMedia::Image,
                    }),
                    "VIDEO" => Some(TemplateHeader::Media {
                        format: HeaderMedia::Video,
                    }),
                    "DOCUMENT" => Some(TemplateHeader::Media {
                        format: HeaderMedia::Document,
                    }),
                    _ => None,
                };
            }
            "BODY" => {
                template.body = text_of(&c["text"]).unwrap_or_default();
                template.parameters = placeholders(&template.body);
                let example = &c["example"];
                if let Some(first) = example["body_text"][0].as_array() {
                    for (i, v) in first.iter().enumerate() {
                        if let Some(v) = v.as_str() {
                            template.examples.insert((i + 1).to_string(), v.to_string());
                        }
                    }
                }
                for p in example["body_text_named_params"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let (Some(n), Some(v)) = (p["param_name"].as_str(), p["example"].as_str()) {
                        template.examples.insert(n.to_string(), v.to_string());
                    }
                }
            }
            "FOOTER" => template.footer = text_of(&c["text"]),
            "BUTTONS" => {
                template.buttons = (c["buttons"].as_array().into_iter().flatten())
                    .map(meta_button)
                    .collect();
            }
            _ => {}
        }
    }
    Some(template)
}

fn meta_button(b: &Value) -> TemplateButton {
    let text = text_of(&b["text"]).unwrap_or_default();
    match b["type"]
        .as_str()
        .unwrap_or_default()
        .to_uppercase()
        .as_str()
    {
        "QUICK_REPLY" => TemplateButton::QuickReply { text },
        "URL" => {
            let url = text_of(&b["url"]).unwrap_or_default();
            let parameter = placeholders(&url).into_iter().next();
            TemplateButton::Url {
                text,
                url,
                parameter,
            }
        }
        "PHONE_NUMBER" => TemplateButton::PhoneNumber {
            text,
            phone_number: text_of(&b["phone_number"]).unwrap_or_default(),
        },
        _ => TemplateButton::Other { text },
    }
}

/// The templates of one page of Twilio's `ContentAndApprovals` listing.
pub fn twilio_page(account: &str, page: &Value) -> Vec<Template> {
    (page["contents"].as_array().into_iter().flatten())
        .filter_map(|c| twilio_template(account, c))
        .collect()
}

/// The content types read, in order of preference when a content has several.
const TWILIO_TYPES: &[&str] = &[
    "twilio/call-to-action",
    "twilio/quick-reply",
    "twilio/card",
    "whatsapp/card",
    "twilio/media",
    "twilio/text",
];

fn twilio_template(account: &str, c: &Value) -> Option<Template> {
    let sid = text_of(&c["sid"])?;
    // The WhatsApp approval: `approval_requests` itself, or its `whatsapp` member.
    let approval = match &c["approval_requests"] {
        a if a["whatsapp"].is_object() => &a["whatsapp"],
        a => a,
    };
    let name = (approval["name"].as_str())
        .filter(|n| !n.is_empty())
        .or_else(|| c["friendly_name"].as_str())
        .unwrap_or(&sid)
        .to_string();
    let status = (approval["status"].as_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("unsubmitted")
        .to_uppercase();
    let types = &c["types"];
    let (kind, t) = TWILIO_TYPES
        .iter()
        .find_map(|k| types.get(*k).map(|t| (*k, t)))?;
    let body = (t["body"].as_str())
        .or_else(|| t["title"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut parameters = placeholders(&body);
    if kind == "twilio/card" || kind == "whatsapp/card" {
        for extra in [&t["subtitle"]] {
            for p in placeholders(extra.as_str().unwrap_or_default()) {
                if !parameters.contains(&p) {
                    parameters.push(p);
                }
            }
        }
    }
    for m in t["media"].as_array().into_iter().flatten() {
        for p in placeholders(m.as_str().unwrap_or_default()) {
            if !parameters.contains(&p) {
                parameters.push(p);
            }
        }
    }
    let buttons: Vec<TemplateButton> = (t["actions"].as_array().into_iter().flatten())
        .map(twilio_action)
        .collect();
    // A placeholder only a button's URL uses is that button's, not the body's.
    let examples = (c["variables"].as_object().into_iter().flatten())
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    Some(Template {
        account: account.to_string(),
        name,
        language: text_of(&c["language"]).unwrap_or_default(),
        status,
        category: (approval["category"].as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_uppercase),
        header: None,
        body,
        parameters,
        footer: None,
        buttons,
        content_sid: Some(sid),
        examples,
    })
}

fn twilio_action(a: &Value) -> TemplateButton {
    let text = text_of(&a["title"]).unwrap_or_default();
    match a["type"]
        .as_str()
        .unwrap_or("QUICK_REPLY")
        .to_uppercase()
        .as_str()
    {
        "QUICK_REPLY" => TemplateButton::QuickReply { text },
        "URL" => {
            let url = text_of(&a["url"]).unwrap_or_default();
            let parameter = placeholders(&url).into_iter().next();
            TemplateButton::Url {
                text,
                url,
                parameter,
            }
        }
        "PHONE_NUMBER" | "PHONE" => TemplateButton::PhoneNumber {
            text,
            phone_number: text_of(&a["phone"])
                .or_else(|| text_of(&a["phone_number"]))
                .unwrap_or_default(),
        },
        _ => TemplateButton::Other { text },
    }
}
