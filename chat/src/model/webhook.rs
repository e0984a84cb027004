//! Outgoing webhook endpoints as admins manage them: the configured ones (`[[http.webhooks]]`,
//! read-only here) and those added through the API (the `webhooks` service stores them).
//! A signing secret is set, replaced or left as it is, and never shown: a listed endpoint
//! only says whether it has one.

use super::ListSource;
use crate::clock::Millis;
use deflect_config::Secret;
use serde::{Deserialize, Serialize};

/// The most endpoints the API keeps (the configuration's are not counted): every event is
/// matched against each.
pub const MAX_WEBHOOK_ENDPOINTS: usize = 100;

/// One outgoing webhook endpoint as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Id of an API endpoint; `None` for a configured one.
    pub id: Option<i64>,
    /// Its name (in deliveries, metrics and logs); unique among all endpoints.
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// The webhook types it takes (`deflect_config::WEBHOOK_EVENTS`); empty: all.
    pub events: Vec<String>,
    /// Attempts before a delivery is given up.
    pub max_attempts: u32,
    /// How long one attempt may take, in seconds.
    pub timeout_seconds: u64,
    /// Whether events are delivered to it (configured endpoints always are).
    pub enabled: bool,
    /// Where it comes from.
    pub source: ListSource,
    /// A configured endpoint's key (`http.webhooks[0]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Whether it has a signing secret (the secret itself is never shown).
    pub secret_set: bool,
    /// When an API endpoint was added (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Millis>,
    /// When an API endpoint was last changed (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Millis>,
}

/// An endpoint to add. Checked as `[[http.webhooks]]` entries are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// Its name: 1–64 characters a-z, 0-9, `-` and `_`, not one of the configuration's.
    pub name: String,
    /// An `http://` or `https://` URL.
    pub url: String,
    /// The key of the `X-Deflect-Signature` HMAC (at least 16 characters).
    pub signing_secret: Secret,
    /// The webhook types it takes; empty: all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Attempts before a delivery is given up (1–100; 12 when not given).
    #[serde(default)]
    pub max_attempts: Option<i64>,
    /// How long one attempt may take, in seconds (1–60; 10 when not given).
    #[serde(default)]
    pub timeout_seconds: Option<i64>,
    /// Whether events are delivered to it (`true` when not given).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A change to an API endpoint: each field given replaces the endpoint's; the signing
/// secret is replaced only when given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointChange {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// A new signing secret.
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    /// The webhook types it takes from now on; empty: all.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Attempts before a delivery is given up (1–100).
    #[serde(default)]
    pub max_attempts: Option<i64>,
    /// How long one attempt may take, in seconds (1–60).
    #[serde(default)]
    pub timeout_seconds: Option<i64>,
    /// Whether events are delivered to it; disabling gives up its deliveries still waiting.
    #[serde(default)]
    pub enabled: Option<bool>,
}
