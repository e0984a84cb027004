//! `[http]`: the HTTP listener (inbox, widget, API, provider webhooks, health, metrics), agents'
//! sessions, rate limits of public endpoints, and outgoing webhooks.

use crate::Problems;
use crate::secret::Secret;
use crate::value::{Cidr, duration, socket_addr};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// Events outgoing webhooks can subscribe to.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "conversation.created",
    "conversation.queued",
    "conversation.assigned",
    "conversation.closed",
    "conversation.handed_over",
    "conversation.reminder",
    "message.received",
    "message.sent",
    "message.delivered",
    "message.read",
    "message.failed",
    "message.attachments",
    "deflection.sent",
    "conversation.rated",
    "conversation.labelled",
    "conversation.relay",
    "call.finished",
];

/// `[http]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on (port 0 picks a free port).
    #[serde(with = "socket_addr")]
    pub listen: SocketAddr,
    /// URL at which browsers and providers reach this gateway (links, QR codes, webhook
    /// URLs, Twilio signatures). Defaults to `http://<listen>`. With `https://`, session
    /// cookies are marked `Secure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_base_url: Option<url::Url>,
    /// How long an agent's login lasts.
    #[serde(with = "duration")]
    pub session_ttl: Duration,
    /// Failed logins allowed per minute, per client address and per username.
    pub login_attempts_per_minute: u32,
    /// Requests per minute per client address to the widget's public endpoints.
    pub widget_requests_per_minute: u32,
    /// Header carrying the client's address when a reverse proxy sits in front (e.g.
    /// `x-forwarded-for`; its last entry is used). Unset: the TCP peer address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip_header: Option<String>,
    /// The reverse proxies (addresses or networks) whose `client_ip_header` is believed;
    /// from any other peer the header is ignored. Required with `client_ip_header`.
    pub trusted_proxies: Vec<Cidr>,
    /// Connections held open at once, from all sources together; beyond it new connections
    /// get 503 with `Retry-After` (a few more are kept for `/healthz`, `/readyz` and
    /// `/metrics`).
    pub max_connections: usize,
    /// Connections held open at once from one source (the TCP peer's address; IPv6 by /64),
    /// WebSockets included; beyond it new connections from that source get 429 with
    /// `Retry-After`. Behind a reverse proxy the proxy is one source.
    pub max_connections_per_source: usize,
    /// A request's head (request line and headers) must arrive within this long of the
    /// connection opening or of the previous answer on it: slow headers and idle keep-alive
    /// connections are closed after it.
    #[serde(with = "duration")]
    pub header_timeout: Duration,
    /// A request's body must arrive in full within this long of its head (else 408).
    #[serde(with = "duration")]
    pub body_timeout: Duration,
    /// A connection whose peer takes nothing of what is sent to it for this long (answers,
    /// WebSocket frames) is closed.
    #[serde(with = "duration")]
    pub send_timeout: Duration,
    /// Outgoing webhooks: events POSTed, signed, to these endpoints.
    pub webhooks: Vec<WebhookConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_base_url: None,
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts_per_minute: 10,
            widget_requests_per_minute: 120,
            client_ip_header: None,
            trusted_proxies: Vec::new(),
            max_connections: 10_000,
            max_connections_per_source: 256,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            send_timeout: Duration::from_secs(30),
            webhooks: Vec::new(),
        }
    }
}

/// `[[http.webhooks]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Name (in metrics and logs).
    pub name: String,
    /// Where events are POSTed.
    pub url: Option<url::Url>,
    /// Key of the `X-Deflect-Signature` HMAC-SHA256 signature (at least 16 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<Secret>,
    /// Events to send (see [`WEBHOOK_EVENTS`]); empty: all.
    pub events: Vec<String>,
    /// Attempts before a delivery is given up (retried with back-off from 1s doubling to 10m).
    pub max_attempts: u32,
    /// How long one attempt may take.
    #[serde(with = "duration")]
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: None,
            signing_secret: None,
            events: Vec::new(),
            max_attempts: 12,
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookConfig {
    /// Whether this endpoint wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }

    /// This endpoint's problems as (field, message), the fields named as the API names them
    /// (`url`, `events[2]`, `timeout`); empty when it is valid.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Problems::default();
        self.validate_at("", &mut p);
        (p.into_vec().into_iter())
            .map(|x| (x.path, x.message))
            .collect()
    }

    /// Checks this endpoint as `[[http.webhooks]]` entry `at` (`http.webhooks[0]`): each
    /// problem's key is `at` and the field (`http.webhooks[0].url`); with `at` empty, the
    /// field alone (`url`, `events[2]`), as the API names it.
    pub fn validate_at(&self, at: &str, p: &mut Problems) {
        let key = |field: &str| {
            if at.is_empty() {
                field.to_string()
            } else {
                format!("{at}.{field}")
            }
        };
        p.identifier(key("name"), &self.name);
        match &self.url {
            Some(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            Some(u) => p.push(
                key("url"),
                format!("{u} must be an http:// or https:// URL"),
            ),
            None => p.push(
                key("url"),
                "required, e.g. \"https://crm.example.com/hooks/deflect\"",
            ),
        }
        if self
            .signing_secret
            .as_ref()
            .is_none_or(|s| s.expose().chars().count() < 16)
        {
            p.push(key("signing_secret"), "required, at least 16 characters");
        }
        for (j, e) in self.events.iter().enumerate() {
            if !WEBHOOK_EVENTS.contains(&e.as_str()) {
                p.push(
                    key(&format!("events[{j}]")),
                    format!("unknown event {e:?}; valid: {}", WEBHOOK_EVENTS.join(", ")),
                );
            }
        }
        if self.max_attempts == 0 || self.max_attempts > 100 {
            p.push(key("max_attempts"), "must be between 1 and 100");
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > Duration::from_secs(60) {
            p.push(key("timeout"), "must be between 1s and 60s");
        }
    }
}

impl HttpConfig {
    fn validate_connections(&self, p: &mut Problems) {
        const MAX: usize = 1_000_000;
        if !(1..=MAX).contains(&self.max_connections) {
            p.push(
                "http.max_connections",
                format!("{} is out of range; expected 1–{MAX}", self.max_connections),
            );
        }
        if self.max_connections_per_source == 0
            || self.max_connections_per_source > self.max_connections.clamp(1, MAX)
        {
            p.push(
                "http.max_connections_per_source",
                format!(
                    "{} is out of range; expected 1–{} (http.max_connections)",
                    self.max_connections_per_source,
                    self.max_connections.clamp(1, MAX)
                ),
            );
        }
        for (key, d, max) in [
            ("http.header_timeout", self.header_timeout, 300),
            ("http.body_timeout", self.body_timeout, 600),
            ("http.send_timeout", self.send_timeout, 600),
        ] {
            let max = Duration::from_secs(max);
            if d < Duration::from_secs(1) || d > max {
                p.push(
                    key,
                    format!(
                        "{} is out of range; expected 1s–{}",
                        humantime::format_duration(d),
                        humantime::format_duration(max)
                    ),
                );
            }
        }
    }

    pub(crate) fn validate(&self, p: &mut Problems) {
        if let Some(url) = &self.public_base_url
            && (!matches!(url.scheme(), "http" | "https") || url.host_str().is_none())
        {
            p.push(
                "http.public_base_url",
                format!(
                    "{url} must be an http:// or https:// URL such as \"https://chat.example.com\""
                ),
            );
        }
        if self.session_ttl < Duration::from_secs(60)
            || self.session_ttl > Duration::from_secs(30 * 86400)
        {
            p.push("http.session_ttl", "must be between 1m and 30d");
        }
        if self.login_attempts_per_minute == 0 {
            p.push("http.login_attempts_per_minute", "must be at least 1");
        }
        if self.widget_requests_per_minute == 0 {
            p.push("http.widget_requests_per_minute", "must be at least 1");
        }
        if let Some(h) = &self.client_ip_header
            && (h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            p.push(
                "http.client_ip_header",
                format!("{h:?} is not a header name; e.g. \"x-forwarded-for\""),
            );
        }
        match (&self.client_ip_header, self.trusted_proxies.is_empty()) {
            (Some(_), true) => p.push(
                "http.trusted_proxies",
                "required with http.client_ip_header: the reverse proxies' addresses or \
                 networks (e.g. [\"10.0.0.5/32\"]), the only peers whose header is believed",
            ),
            (None, false) => p.push(
                "http.trusted_proxies",
                "has no effect without http.client_ip_header (e.g. \"x-forwarded-for\")",
            ),
            _ => {}
        }
        self.validate_connections(p);
        p.unique_names(
            "http.webhooks",
            self.webhooks.iter().map(|w| w.name.as_str()),
        );
        for (i, w) in self.webhooks.iter().enumerate() {
            w.validate_at(&format!("http.webhooks[{i}]"), p);
        }
    }
}
