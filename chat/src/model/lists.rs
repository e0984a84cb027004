//! The lists admins manage beside the configuration: whitelist entries and FAQ entries,
//! added through the API (the `lists` service stores them). Listed together with the
//! configured entries, each marked with where it comes from.

use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// The most whitelist entries the API keeps (the configuration's are not counted).
pub const MAX_WHITELIST_ENTRIES: usize = 10_000;

/// The most FAQ entries the API keeps (the configuration's are not counted): every one
/// is in the search index of each process.
pub const MAX_FAQ_ENTRIES: usize = 1_000;

/// Where an entry of a managed list comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListSource {
    /// The configuration file: read-only here, changed by editing the file.
    Config,
    /// Added through the API (or the inbox's Settings): changed and deleted there.
    Api,
}

/// One entry of an account's effective whitelist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhitelistEntry {
    /// Id of an API entry; `None` for a configured one.
    pub id: Option<i64>,
    /// The WhatsApp account it admits to; `None`: every account.
    pub account: Option<String>,
    /// An E.164 number (`+31612345678`) or a prefix ending in `*` (`+31*`).
    pub pattern: String,
    /// Where it comes from.
    pub source: ListSource,
    /// A configured entry's key (`whatsapp.accounts[0].automations.whitelist[1]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// When an API entry was added (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Millis>,
}

/// A whitelist entry to add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWhitelistEntry {
    /// The WhatsApp account; `None`: every account.
    #[serde(default)]
    pub account: Option<String>,
    /// An E.164 number or a prefix ending in `*`.
    pub pattern: String,
}

/// One FAQ entry the FAQ bot matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqListEntry {
    /// Id of an API entry; `None` for a configured one.
    pub id: Option<i64>,
    /// The WhatsApp account whose customers get it; `None`: every account.
    pub account: Option<String>,
    /// The question as customers would ask it.
    pub question: String,
    /// The answer (a text with the conversation's variables).
    pub answer: String,
    /// The question's language (ISO 639-1, one of `deflect_config::FAQ_LANGUAGES`).
    pub language: String,
    /// Where it comes from.
    pub source: ListSource,
    /// A configured entry's key (`inbox.faq[2]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// When an API entry was added (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Millis>,
    /// When an API entry was last changed (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Millis>,
}

/// An FAQ entry to add or to replace one with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFaqEntry {
    /// The WhatsApp account; `None`: every account.
    #[serde(default)]
    pub account: Option<String>,
    /// The question (1 to 500 characters).
    pub question: String,
    /// The answer (1 to 4096 characters; the conversation's variables).
    pub answer: String,
    /// The question's language; `None`: `deflect_config::DEFAULT_FAQ_LANGUAGE`.
    #[serde(default)]
    pub language: Option<String>,
}
