//! A provider's webhook delivery, provider-neutral: the gateway's one route
//! (`POST /webhooks/<provider>/<account>`) hands each delivery to [`receive`], which checks
//! the provider's signature over the raw request and reads its items; the route then stores
//! them and answers with the provider's [`acknowledgement`].
//!
//! Adding a provider adds one arm to [`receive`] and [`acknowledgement`] (and its module's
//! `verify` and `parse`); the route, the metrics and the storing stay as they are.

use super::{Inbound, WebhookError, kaleyra, meta, sinch, twilio};
use deflect_config::{AccountConfig, Provider as ProviderKind};
use reqwest::header::HeaderMap;

/// One webhook request as it reached the gateway.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    /// The URL the provider called: the gateway's public base URL, the path and the query
    /// (Twilio signs it; its status callbacks carry their send's correlation in it).
    pub url: &'a str,
    /// The request's headers (where the signatures are).
    pub headers: &'a HeaderMap,
    /// The raw body, as signed.
    pub body: &'a [u8],
}

impl Delivery<'_> {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The URL's query string.
    pub fn query(&self) -> Option<&str> {
        self.url.split_once('?').map(|(_, q)| q)
    }
}

/// An item of a delivery and the provider's id of the business number it arrived for, when
/// the delivery names one (Meta's `phone_number_id`: one app may deliver several numbers'
/// traffic to one URL).
pub type Routed = (Option<String>, Inbound);

/// Why a delivery was not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A missing or bad signature (→ 401; nothing is stored).
    #[error("missing or bad signature")]
    Unauthenticated,
    /// The account's provider takes no webhooks (the sandbox; → 404).
    #[error("this provider takes no webhooks")]
    NoWebhooks,
    /// Signed, but not understood (→ 400).
    #[error(transparent)]
    Malformed(#[from] WebhookError),
}

/// Checks `delivery`'s signature with `account`'s secret and reads its items.
pub fn receive(account: &AccountConfig, delivery: &Delivery<'_>) -> Result<Vec<Routed>, Refusal> {
    match account.provider {
        ProviderKind::Meta => meta::receive(account, delivery),
        ProviderKind::Twilio => twilio::receive(account, delivery),
        ProviderKind::Sinch => sinch::receive(account, delivery),
        ProviderKind::Kaleyra => kaleyra::receive(account, delivery),
        ProviderKind::Sandbox => Err(Refusal::NoWebhooks),
    }
}

/// What the provider expects in a stored delivery's `200` answer: content type and body.
pub fn acknowledgement(provider: ProviderKind) -> (&'static str, &'static str) {
    match provider {
        // An empty TwiML answer: Twilio sends nothing back to the customer.
        ProviderKind::Twilio => ("text/xml", "<Response/>"),
        ProviderKind::Meta
        | ProviderKind::Sinch
        | ProviderKind::Kaleyra
        | ProviderKind::Sandbox => ("text/plain; charset=utf-8", "ok"),
    }
}

/// The account a routed item belongs to: the one of `accounts` with `provider` whose
/// number id is the item's, else `fallback` (the account the URL names).
pub fn account_of<'a>(
    accounts: &'a [AccountConfig],
    provider: ProviderKind,
    number_id: Option<&str>,
    fallback: &'a str,
) -> &'a str {
    number_id
        .and_then(|id| {
            accounts
                .iter()
                .find(|a| a.provider == provider && a.receiving_id() == Some(id))
        })
        .map_or(fallback, |a| a.name.as_str())
}
