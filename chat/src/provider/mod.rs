//! WhatsApp providers behind one trait: Meta's Cloud API ([`meta`]), Twilio ([`twilio`]),
//! Sinch's Conversation API ([`sinch`]), Kaleyra ([`kaleyra`]) and a [`sandbox`] that needs no
//! external service. Each speaks its provider's real wire format,
//! both ways: sending, and turning webhook deliveries into [`Inbound`] items.
//!
//! # HTTP client
//!
//! reqwest (on hyper, which axum already brings) with rustls on the `ring` crypto provider —
//! the one sqlx already uses, so no second crypto library (aws-lc) is built — and Mozilla's
//! root certificates compiled in (webpki-roots, also already in the tree), so the binary needs
//! no CA bundle on the host. Features are the minimum: `json` and `form` bodies; no HTTP/2,
//! no proxy discovery, no cookies, no compression (the APIs answer small JSON).

pub mod kaleyra;
pub mod media;
pub mod meta;
pub mod meta_calls;
mod multipart;
pub mod sandbox;
pub mod sinch;
pub mod sms;
pub mod templates;
pub mod twilio;
pub mod webhook;

use crate::clock::Millis;
use crate::model::Interactive;
use deflect_config::{AccountConfig, MediaKind, Provider as ProviderKind};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub use crate::model::{Button, Row, Section};

/// An outgoing WhatsApp message as committed in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Outgoing {
    /// Free text (within the 24 h window).
    Text {
        /// The text.
        body: String,
    },
    /// An approved template with its parameters: positional or named body parameters, a
    /// header's text parameter or media link, URL buttons' parameters and a quick-reply
    /// payload.
    Template {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// Body parameters `{{1}}`, `{{2}}`, ….
        body_params: Vec<String>,
        /// Named body parameters (`{{first_name}}`), in the template's order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        named_params: Vec<NamedParam>,
        /// The header's parameter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        header: Option<HeaderParam>,
        /// URL buttons' parameters.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        url_buttons: Vec<UrlButtonParam>,
        /// Payload of quick-reply button 0, returned when the customer taps it.
        button_payload: Option<String>,
        /// Payloads of quick-reply buttons 1, 2, … (a relay's offer: accept, reject).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        more_payloads: Vec<String>,
        /// Twilio's Content SID for the template.
        content_sid: Option<String>,
        /// Twilio: the `ContentVariables` by placeholder, when the template was filled in
        /// from its listing (otherwise they are numbered from the body parameters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        variables: Option<std::collections::BTreeMap<String, String>>,
        /// The text the customer reads, when known (shown where only text is sent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Text with up to three reply buttons.
    Buttons {
        /// The text.
        body: String,
        /// Buttons.
        buttons: Vec<Button>,
    },
    /// Text with a button that opens a list of up to ten choices in sections; the chosen
    /// row's id comes back like a reply button's.
    List(ListMessage),
    /// Text with a button that opens a web page.
    CtaUrl {
        /// The text.
        body: String,
        /// The button's label (at most 20 characters).
        display_text: String,
        /// The page.
        url: String,
    },
    /// Text with a button that calls the business on WhatsApp (Meta's `voice_call`).
    VoiceCall {
        /// The text.
        body: String,
        /// The button's label; WhatsApp's own ("Call Now") without one.
        display_text: Option<String>,
        /// How long the button calls, in minutes.
        ttl_minutes: Option<u32>,
    },
    /// Text asking the customer whether the business may call them on WhatsApp (Meta's
    /// `call_permission_request`).
    CallPermissionRequest {
        /// The text.
        body: String,
    },
    /// An SMS to the conversation's number, through the account's SMS fallback
    /// ([`sms`]), when WhatsApp cannot reach it.
    Sms {
        /// The text.
        body: String,
    },
    /// A stored file (an image, a voice note, a video, a document or a sticker), with a
    /// caption where WhatsApp takes one. The provider gets it its own way: Meta by the id of
    /// an upload, Twilio by a signed, expiring link to the gateway ([`MediaLink`]).
    Media(MediaMessage),
}

/// A file to send ([`Outgoing::Media`]): what the attachment store holds and how the
/// customer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaMessage {
    /// Its kind (WhatsApp's message type).
    pub kind: MediaKind,
    /// Its key in the attachment store (`sha256/<hex>`).
    pub blob_key: String,
    /// The token of its URL (the signed public link names it).
    pub token: String,
    /// Its type, read from its bytes.
    pub mime_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its file name (shown for a document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Its caption (images, videos and documents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

impl MediaMessage {
    /// Whether WhatsApp shows a caption with a file of `kind` (images, videos and
    /// documents; not audio or stickers).
    pub fn takes_caption(kind: MediaKind) -> bool {
        matches!(
            kind,
            MediaKind::Image | MediaKind::Video | MediaKind::Document
        )
    }
}

/// How a provider reaches a file it is sent ([`SendContext::media`]).
#[derive(Clone, PartialEq, Eq)]
pub enum MediaLink {
    /// The id the provider gave the file when it was uploaded to it (Meta).
    Id(String),
    /// A public URL the provider fetches it from (Twilio's `MediaUrl`: signed and expiring;
    /// never logged).
    Url(String),
}

impl std::fmt::Debug for MediaLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => f.debug_tuple("Id").field(id).finish(),
            // The URL's signature lets anyone fetch the file until it expires.
            Self::Url(_) => f.write_str("Url(<signed link>)"),
        }
    }
}

/// A named body parameter of a template ([`Outgoing::Template`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedParam {
    /// The parameter's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A template header's parameter ([`Outgoing::Template`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HeaderParam {
    /// A text header's value.
    Text {
        /// The value.
        text: String,
        /// The parameter's name, when the template's parameters are named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A media header, by link.
    Media {
        /// Which media.
        format: crate::model::HeaderMedia,
        /// Its https link.
        link: String,
    },
}

/// A URL button's parameter ([`Outgoing::Template`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlButtonParam {
    /// The button's index among the template's buttons.
    pub index: usize,
    /// The value completing its URL.
    pub text: String,
}

/// A list message ([`Outgoing::List`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ListWire")]
pub struct ListMessage {
    /// The text.
    pub body: String,
    /// The label of the button that opens the list (at most 20 characters).
    pub button: String,
    /// The sections (at most ten rows in all, titles of at most 24 characters).
    pub sections: Vec<Section>,
}

/// A list as stored: `sections`, or — committed by versions that sent one section — its
/// `section` title and `rows`.
#[derive(Deserialize)]
struct ListWire {
    body: String,
    button: String,
    #[serde(default)]
    sections: Vec<Section>,
    #[serde(default)]
    section: Option<String>,
    #[serde(default)]
    rows: Vec<Row>,
}

impl From<ListWire> for ListMessage {
    fn from(w: ListWire) -> Self {
        let mut sections = w.sections;
        if sections.is_empty() && !w.rows.is_empty() {
            sections.push(Section {
                title: w.section.unwrap_or_default(),
                rows: w.rows,
            });
        }
        Self {
            body: w.body,
            button: w.button,
            sections,
        }
    }
}

impl Outgoing {
    /// The message as a customer reads it where only text can be sent (Twilio, the
    /// sandbox): reply buttons listed by number (`1. Yes`), a list's rows as `Reply a, b or
    /// c` (a row's description in brackets), a link button as `label: url`, a template by
    /// its name and parameters, a file by its caption (empty without one).
    pub fn as_text(&self) -> String {
        match self {
            Self::Text { body } | Self::Sms { body } | Self::CallPermissionRequest { body } => {
                body.clone()
            }
            Self::Media(m) => m.caption.clone().unwrap_or_default(),
            Self::Template {
                text: Some(text), ..
            } => text.clone(),
            Self::Template {
                name, body_params, ..
            } => format!("{name} {}", body_params.join(" ")),
            Self::Buttons { body, buttons } => {
                let mut text = body.clone();
                for (i, b) in buttons.iter().enumerate() {
                    text.push_str(&format!("\n{}. {}", i + 1, b.title));
                }
                text
            }
            Self::List(ListMessage { body, sections, .. }) => {
                let titles: Vec<String> = (sections.iter().flat_map(|s| &s.rows))
                    .map(|r| match &r.description {
                        Some(d) => format!("{} ({d})", r.title),
                        None => r.title.clone(),
                    })
                    .collect();
                match titles.split_last() {
                    None => body.clone(),
                    Some((only, [])) => format!("{body}\nReply {only}"),
                    Some((last, rest)) => format!("{body}\nReply {} or {last}", rest.join(", ")),
                }
            }
            Self::CtaUrl {
                body,
                display_text,
                url,
            } => format!("{body}\n{display_text}: {url}"),
            Self::VoiceCall {
                body, display_text, ..
            } => format!(
                "{body}\n[{}]",
                display_text.as_deref().unwrap_or("Call Now")
            ),
        }
    }

    /// The interactive message to send for `interactive` with body `body`; none for a
    /// customer's reply.
    pub fn interactive(body: &str, interactive: &Interactive) -> Option<Self> {
        let body = body.to_string();
        Some(match interactive.clone() {
            Interactive::Button { buttons, .. } => Self::Buttons { body, buttons },
            Interactive::List {
                button, sections, ..
            } => Self::List(ListMessage {
                body,
                button,
                sections,
            }),
            Interactive::CtaUrl {
                display_text, url, ..
            } => Self::CtaUrl {
                body,
                display_text,
                url,
            },
            Interactive::VoiceCall {
                display_text,
                ttl_minutes,
                ..
            } => Self::VoiceCall {
                body,
                display_text,
                ttl_minutes,
            },
            Interactive::CallPermissionRequest { .. } => Self::CallPermissionRequest { body },
            Interactive::ButtonReply { .. }
            | Interactive::ListReply { .. }
            | Interactive::CallPermissionReply { .. } => return None,
        })
    }

    /// What is interactive in this message (the API's `interactive`, with the body); none
    /// for a text or a template.
    pub fn as_interactive(&self) -> Option<Interactive> {
        let i = match self {
            Self::Text { .. } | Self::Sms { .. } | Self::Template { .. } | Self::Media(_) => {
                return None;
            }
            Self::Buttons { buttons, .. } => Interactive::Button {
                body: None,
                buttons: buttons.clone(),
            },
            Self::List(l) => Interactive::List {
                body: None,
                button: l.button.clone(),
                sections: l.sections.clone(),
            },
            Self::CtaUrl {
                display_text, url, ..
            } => Interactive::CtaUrl {
                body: None,
                display_text: display_text.clone(),
                url: url.clone(),
            },
            Self::VoiceCall {
                display_text,
                ttl_minutes,
                ..
            } => Interactive::VoiceCall {
                body: None,
                display_text: display_text.clone(),
                ttl_minutes: *ttl_minutes,
            },
            Self::CallPermissionRequest { .. } => Interactive::CallPermissionRequest { body: None },
        };
        Some(i.with_body(self.body()))
    }

    /// The text of the message (a template's name).
    fn body(&self) -> &str {
        match self {
            Self::Text { body }
            | Self::Sms { body }
            | Self::Buttons { body, .. }
            | Self::List(ListMessage { body, .. })
            | Self::CtaUrl { body, .. }
            | Self::VoiceCall { body, .. }
            | Self::CallPermissionRequest { body } => body,
            Self::Template { name, .. } => name,
            Self::Media(m) => m.caption.as_deref().unwrap_or_default(),
        }
    }
}

/// The provider accepted the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Its id at the provider (`wamid…`, `SM…`); `None` when a success answer did not
    /// carry one (the provider's status callback, which names the send, brings it later).
    pub external_id: Option<String>,
}

/// What every send carries besides the message: the string the provider hands back with the
/// message's status callbacks (Meta: `biz_opaque_callback_data`; Twilio: a parameter of the
/// per-message `StatusCallback` URL), so that a send whose answer was lost is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendContext {
    /// The correlation string (see [`correlation`]).
    pub correlation: String,
    /// For an [`Outgoing::Media`]: how the provider reaches the file (prepared by the
    /// outbox: uploaded to Meta, or a signed link for Twilio); none for the sandbox.
    pub media: Option<MediaLink>,
}

impl SendContext {
    /// For a file sent to `provider`, which fetches it from a link to the gateway (Twilio,
    /// Sinch, Kaleyra): the link; none for another message; an error when the file has none.
    pub(crate) fn link_for(
        &self,
        message: &Outgoing,
        provider: &str,
    ) -> Result<Option<&str>, SendError> {
        match (message, &self.media) {
            (Outgoing::Media(_), Some(MediaLink::Url(link))) => Ok(Some(link)),
            (Outgoing::Media(_), _) => Err(SendError::Rejected {
                code: None,
                message: format!(
                    "{provider} fetches a file from a link to the gateway, and none was given (is http.public_base_url set?)"
                ),
            }),
            _ => Ok(None),
        }
    }
}

const CORRELATION_PREFIX: &str = "deflect-outbox-";

/// The correlation string of outbox row `id`: sent with the message, returned by the
/// provider with each of its status callbacks.
pub fn correlation(id: i64) -> String {
    format!("{CORRELATION_PREFIX}{id}")
}

/// The outbox row a correlation string names.
pub(crate) fn correlated(correlation: &str) -> Option<i64> {
    correlation.strip_prefix(CORRELATION_PREFIX)?.parse().ok()
}

/// The provider did not accept the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: a timeout, a 5xx, a rate limit (130429, 131056, 429).
    #[error("temporary failure{}: {message}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Retry {
        /// Provider error code.
        code: Option<i64>,
        /// What it said.
        message: String,
    },
    /// Will not succeed as it is: outside the window (131047), not on WhatsApp (131026),
    /// template mismatch (132000), bad credentials, ….
    #[error("rejected{}: {message}", code.map(|c| format!(" ({c})")).unwrap_or_default())]
    Rejected {
        /// Provider error code.
        code: Option<i64>,
        /// What it said.
        message: String,
    },
    /// The request went out and no answer came back (a timeout, a connection cut while
    /// waiting): the provider may have accepted the message. Sending it again could deliver
    /// it twice, so the outbox waits for the provider's status callback first.
    #[error("no answer: {message}")]
    Unknown {
        /// What happened.
        message: String,
    },
}

/// Meta error: outside the 24 h customer-service window.
pub const ERR_OUTSIDE_WINDOW: i64 = 131_047;
/// Meta error: the number cannot receive WhatsApp messages.
pub const ERR_UNDELIVERABLE: i64 = 131_026;
/// Meta error: throughput limit.
pub const ERR_THROUGHPUT: i64 = 130_429;
/// Meta error: pair rate limit (too many messages to one user).
pub const ERR_PAIR_RATE: i64 = 131_056;
/// Twilio error: outside the 24 h window.
pub const TWILIO_OUTSIDE_WINDOW: i64 = 63_016;
/// Twilio error: the recipient is not a WhatsApp user / unreachable.
pub const TWILIO_UNREACHABLE: i64 = 63_003;

pub use crate::model::ErrorMeaning;

/// Classifies a Meta or Twilio error code.
pub fn error_meaning(code: Option<i64>) -> ErrorMeaning {
    match code {
        Some(ERR_OUTSIDE_WINDOW | TWILIO_OUTSIDE_WINDOW) => ErrorMeaning::OutsideWindow,
        Some(ERR_UNDELIVERABLE | TWILIO_UNREACHABLE) => ErrorMeaning::Unreachable,
        Some(ERR_THROUGHPUT | ERR_PAIR_RATE | 20_429 | 429) => ErrorMeaning::RateLimited,
        _ => ErrorMeaning::Other,
    }
}

/// Sends messages through one provider.
pub trait Provider: Send + Sync {
    /// Sends `message` to `to` (the customer's WhatsApp id: country code and number, digits
    /// only).
    fn send(
        &self,
        to: &str,
        message: &Outgoing,
        context: &SendContext,
    ) -> impl std::future::Future<Output = Result<Sent, SendError>> + Send;

    /// Marks the customer's message `message_id` (the provider's id) and every earlier one
    /// read on their phone; with `typing`, also shows them that someone is typing.
    fn mark_read(
        &self,
        message_id: &str,
        typing: bool,
    ) -> impl std::future::Future<Output = Result<Receipt, SendError>> + Send;

    /// Whether the provider's status callbacks name the sends they are about (see
    /// [`SendContext`]), so that a send without an answer can be confirmed by its callback
    /// instead of being sent again.
    fn confirms_by_callback(&self) -> bool;
}

/// What a provider needs to send a stored file ([`Client::media_need`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaNeed {
    /// Its bytes, uploaded first for a [`MediaLink::Id`] (Meta).
    Upload,
    /// A public link it fetches ([`MediaLink::Url`], Twilio).
    Link,
    /// Nothing (the sandbox keeps the file where it is).
    Nothing,
}

/// What became of a read receipt or typing indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// The provider took it.
    Sent,
    /// The provider has no such call (Twilio: a read receipt without the typing indicator).
    NotSupported,
}

/// One account's provider.
#[derive(Clone, Debug)]
pub enum Client {
    /// Meta Cloud API.
    Meta(meta::MetaClient),
    /// Twilio.
    Twilio(twilio::TwilioClient),
    /// Sinch's Conversation API.
    Sinch(sinch::SinchClient),
    /// Kaleyra's WhatsApp API.
    Kaleyra(kaleyra::KaleyraClient),
    /// Sandbox.
    Sandbox(sandbox::SandboxClient),
}

impl Client {
    /// The client for an account; `public_base_url` is the gateway's own address as
    /// providers call it (Twilio's per-message status callbacks need it).
    pub fn for_account(
        account: &AccountConfig,
        http: &reqwest::Client,
        public_base_url: Option<&url::Url>,
    ) -> Self {
        match account.provider {
            ProviderKind::Meta => Self::Meta(meta::MetaClient::new(account, http.clone())),
            ProviderKind::Twilio => Self::Twilio(twilio::TwilioClient::new(
                account,
                http.clone(),
                public_base_url,
            )),
            ProviderKind::Sinch => Self::Sinch(sinch::SinchClient::new(account, http.clone())),
            ProviderKind::Kaleyra => {
                Self::Kaleyra(kaleyra::KaleyraClient::new(account, http.clone()))
            }
            ProviderKind::Sandbox => Self::Sandbox(sandbox::SandboxClient::default()),
        }
    }
}

impl Client {
    /// How this provider gets a file it is sent.
    pub fn media_need(&self) -> MediaNeed {
        match self {
            Self::Meta(_) => MediaNeed::Upload,
            Self::Twilio(_) | Self::Sinch(_) | Self::Kaleyra(_) => MediaNeed::Link,
            Self::Sandbox(_) => MediaNeed::Nothing,
        }
    }
}

impl Provider for Client {
    async fn send(
        &self,
        to: &str,
        message: &Outgoing,
        context: &SendContext,
    ) -> Result<Sent, SendError> {
        match self {
            Self::Meta(c) => c.send(to, message, context).await,
            Self::Twilio(c) => c.send(to, message, context).await,
            Self::Sinch(c) => c.send(to, message, context).await,
            Self::Kaleyra(c) => c.send(to, message, context).await,
            Self::Sandbox(c) => c.send(to, message).await,
        }
    }

    async fn mark_read(&self, message_id: &str, typing: bool) -> Result<Receipt, SendError> {
        match self {
            Self::Meta(c) => c.mark_read(message_id, typing).await,
            Self::Twilio(c) => c.mark_read(message_id, typing).await,
            Self::Sinch(c) => Ok(c.mark_read()),
            Self::Kaleyra(c) => Ok(c.mark_read()),
            Self::Sandbox(c) => Ok(c.mark_read(message_id, typing)),
        }
    }

    fn confirms_by_callback(&self) -> bool {
        match self {
            // Sinch's delivery reports carry the send's correlation_id, Kaleyra's statuses
            // its ref.
            Self::Meta(_) | Self::Sinch(_) | Self::Kaleyra(_) => true,
            Self::Twilio(c) => c.confirms_by_callback(),
            // Sending is local: a send cut short never reached anyone.
            Self::Sandbox(_) => false,
        }
    }
}

/// `account`'s API base URL without its trailing slash (empty for the sandbox).
fn api_base(account: &AccountConfig) -> String {
    (account.api_base_url())
        .map(|u| u.as_str().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

/// The HTTP client providers share (see the module documentation).
pub fn http_client() -> reqwest::Client {
    http_client_builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client with a preconfigured rustls backend builds")
}

/// An HTTP client's builder as the module documentation says (rustls on `ring`, compiled-in
/// roots, deflect's user agent), without timeouts: each client sets its own.
pub(crate) fn http_client_builder() -> reqwest::ClientBuilder {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("deflect/", env!("CARGO_PKG_VERSION")))
}

/// A request that failed before an answer: a connection that could not be made means the
/// provider never saw it (retry); anything later — a timeout, a connection cut while waiting
/// — may come after the provider accepted it (unknown).
pub(crate) fn classify_transport(e: &reqwest::Error) -> SendError {
    if e.is_connect() {
        SendError::Retry {
            code: None,
            message: format!("cannot reach the provider: {e}"),
        }
    } else if e.is_timeout() {
        SendError::Unknown {
            message: "the provider did not answer in time".into(),
        }
    } else {
        SendError::Unknown {
            message: format!("the request to the provider failed: {e}"),
        }
    }
}

/// A success answer whose body could not be read or named no id: the provider accepted the
/// message, and its status callback will bring the id.
fn accepted_without_id(status: reqwest::StatusCode, what: &str) -> Sent {
    tracing::warn!(%status, "the provider accepted a message but its answer {what}; its id comes with the status callback");
    Sent { external_id: None }
}

/// Reads a send's answer: a success is [`Sent`] with the message's id at the first of the
/// JSON pointers `id_at` (`/sid`) that holds one, an error answer is what `error_of` makes of
/// its status and JSON body.
pub(crate) async fn read_send_answer(
    res: reqwest::Response,
    id_at: &[&str],
    error_of: impl FnOnce(reqwest::StatusCode, &serde_json::Value) -> SendError,
) -> Result<Sent, SendError> {
    let status = res.status();
    let text = match res.text().await {
        Ok(t) => t,
        Err(_) if status.is_success() => {
            return Ok(accepted_without_id(status, "could not be read"));
        }
        Err(e) => return Err(classify_transport(&e)),
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if !status.is_success() {
        return Err(error_of(status, &json));
    }
    let id = (id_at.iter()).find_map(|at| json.pointer(at).and_then(|v| v.as_str()));
    Ok(match id {
        Some(id) => Sent {
            external_id: Some(id.to_string()),
        },
        None => accepted_without_id(status, &format!("had no {}", id_at.join(" or "))),
    })
}

/// Something a webhook delivery carried.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    /// A customer's message.
    Message(Box<InboundMessage>),
    /// A delivery status of a message we sent.
    Status(StatusUpdate),
}

/// A customer's message, provider-neutral.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundMessage {
    /// The provider's id (unique per channel; a repeated delivery carries the same).
    pub external_id: String,
    /// The customer's WhatsApp id (digits).
    pub from: String,
    /// Their profile name.
    pub profile_name: Option<String>,
    /// When they sent it (ms).
    pub timestamp: Millis,
    /// `text`, `button`, `interactive`, `image`, …, or `unsupported`.
    pub kind: String,
    /// Text to show.
    pub body: Option<String>,
    /// The message we sent that this answers (WhatsApp `context.id`, Twilio
    /// `OriginalRepliedMessageSid`).
    pub context_id: Option<String>,
    /// Payload of a quick-reply button or interactive reply.
    pub button_payload: Option<String>,
    /// The customer's choice (`button_reply` for a reply button or a template's quick reply,
    /// `list_reply` for a list's row), when the message is one; its id is the
    /// `button_payload`.
    pub interactive: Option<Interactive>,
    /// The files it carries, to download ([`media`]): one for Meta's media messages, up
    /// to ten for Twilio's (`MediaUrl0`…); none for the others.
    pub media: Vec<InboundMedia>,
    /// The provider's message as received.
    pub raw: serde_json::Value,
}

/// A file a customer's message carries, as the webhook names it: where to fetch it and what
/// the sender said it is (only said: its type is read from the bytes once downloaded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundMedia {
    /// Its kind (its size cap and accepted types).
    pub kind: deflect_config::MediaKind,
    /// Where it is fetched.
    pub source: MediaSource,
    /// The type the sender declared.
    pub declared_mime: Option<String>,
    /// The document's file name, as the sender gave it.
    pub filename: Option<String>,
    /// Its caption.
    pub caption: Option<String>,
}

/// Where a customer's file is fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaSource {
    /// Meta's media id: `GET /{media-id}` names a short-lived URL (see [`media`]).
    MetaId(String),
    /// A URL fetched with the account's credentials (Twilio's `MediaUrlN`).
    Url(String),
}

/// A shared location as text, the same from every provider: `[location] <name>, <address>
/// (<latitude>, <longitude>)`, the place's name and address when given (the message's
/// payload keeps them as the provider sent them).
pub(crate) fn location_text(
    (name, address): (Option<&str>, Option<&str>),
    (latitude, longitude): (Option<f64>, Option<f64>),
) -> String {
    let place: Vec<&str> = [name, address]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let coordinate = |v: Option<f64>| v.map_or_else(|| "?".to_string(), |f| f.to_string());
    let at = format!("{}, {}", coordinate(latitude), coordinate(longitude));
    if place.is_empty() {
        format!("[location] {at}")
    } else {
        format!("[location] {} ({at})", place.join(", "))
    }
}

/// A delivery status, provider-neutral.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusUpdate {
    /// The id of the message we sent.
    pub external_id: String,
    /// The correlation string the send carried ([`SendContext`]), when the provider
    /// returns it.
    pub correlation: Option<String>,
    /// The status.
    pub status: crate::model::DeliveryStatus,
    /// When (ms).
    pub timestamp: Millis,
    /// Error code of a failure.
    pub error_code: Option<i64>,
    /// Error text of a failure.
    pub error_title: Option<String>,
}

/// A webhook delivery could not be understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed webhook: {0}")]
pub struct WebhookError(pub String);

/// Checks an HMAC signature in constant time (the `hmac` crate's `verify_slice`).
pub(crate) fn hmac_matches<M: hmac::Mac + hmac::digest::KeyInit>(
    key: &[u8],
    parts: &[&[u8]],
    expected: &[u8],
) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
        return false;
    };
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_name_their_row_and_nothing_else() {
        assert_eq!(correlated(&correlation(42)), Some(42));
        assert_eq!(correlated("deflect-outbox-"), None);
        assert_eq!(correlated("deflect-outbox-x1"), None);
        assert_eq!(correlated("someone-else-42"), None);
    }

    fn row(id: &str, title: &str, description: Option<&str>) -> Row {
        Row {
            id: id.into(),
            title: title.into(),
            description: description.map(str::to_string),
        }
    }

    #[test]
    fn a_list_committed_with_one_section_reads_as_sections() {
        let old = serde_json::json!({"type": "list", "body": "How was it?", "button": "Rate",
            "section": "Your rating", "rows": [{"id": "csat:K7Q2MX:5", "title": "5"}]});
        let read: Outgoing = serde_json::from_value(old).unwrap();
        let new = Outgoing::List(ListMessage {
            body: "How was it?".into(),
            button: "Rate".into(),
            sections: vec![Section {
                title: "Your rating".into(),
                rows: vec![row("csat:K7Q2MX:5", "5", None)],
            }],
        });
        assert_eq!(read, new);
        let again: Outgoing = serde_json::from_value(serde_json::to_value(&new).unwrap()).unwrap();
        assert_eq!(again, new);
    }

    #[test]
    fn text_only_providers_read_options_and_links_as_text() {
        let list = Outgoing::List(ListMessage {
            body: "Which one?".into(),
            button: "Choose".into(),
            sections: vec![
                Section {
                    title: "Fast".into(),
                    rows: vec![row("x", "Express", Some("next day"))],
                },
                Section {
                    title: "Slow".into(),
                    rows: vec![row("s", "Standard", None), row("p", "Pick-up", None)],
                },
            ],
        });
        assert_eq!(
            list.as_text(),
            "Which one?\nReply Express (next day), Standard or Pick-up"
        );
        let buttons = Outgoing::Buttons {
            body: "Pick one".into(),
            buttons: vec![
                Button {
                    id: "y".into(),
                    title: "Yes".into(),
                },
                Button {
                    id: "n".into(),
                    title: "No".into(),
                },
            ],
        };
        assert_eq!(buttons.as_text(), "Pick one\n1. Yes\n2. No");
        let link = Outgoing::CtaUrl {
            body: "Track it".into(),
            display_text: "Track".into(),
            url: "https://example.com/t/1".into(),
        };
        assert_eq!(link.as_text(), "Track it\nTrack: https://example.com/t/1");
    }

    #[test]
    fn interactive_messages_go_both_ways_between_the_api_and_the_outbox() {
        let sent = Interactive::CtaUrl {
            body: None,
            display_text: "Track".into(),
            url: "https://example.com/t/1".into(),
        };
        let out = Outgoing::interactive("Track it", &sent).unwrap();
        assert_eq!(out.as_interactive(), Some(sent.with_body("Track it")));
        let reply = Interactive::ButtonReply {
            id: "y".into(),
            title: "Yes".into(),
        };
        assert_eq!(Outgoing::interactive("Yes", &reply), None);
        assert_eq!(Outgoing::Text { body: "x".into() }.as_interactive(), None);
    }
}
