//! `[http]`: the HTTP listener (inbox, widget, API, provider webhooks, health, metrics).

use crate::value::socket_addr;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// `[http]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on (port 0 picks a free port).
    #[serde(with = "socket_addr")]
    pub listen: SocketAddr,
    /// URL at which browsers and providers reach this gateway (links, QR codes, webhook
    /// URLs, Twilio signatures). Defaults to `http://<listen>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_base_url: Option<url::Url>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_base_url: None,
        }
    }
}

impl HttpConfig {
    pub(crate) fn validate(&self, p: &mut crate::Problems) {
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
    }
}
