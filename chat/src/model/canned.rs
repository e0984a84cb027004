//! Canned answers: texts agents insert into a reply, with placeholders filled from the
//! conversation (the canned-answer service, [`crate::canned`], stores them).

use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// The variables a canned answer may use (`{{customer_name}}`; see [`deflect_config::check_text`]).
pub const PLACEHOLDERS: &[&str] = &["customer_name", "customer_phone", "agent_name", "reference"];

/// A canned answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedAnswer {
    /// Id.
    pub id: i64,
    /// WhatsApp account it is for; `None`: every conversation.
    pub account: Option<String>,
    /// Short title agents pick it by.
    pub title: String,
    /// Text, with placeholders.
    pub body: String,
    /// Last change (ms).
    pub updated_at: Millis,
}

/// A canned answer to create or replace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCannedAnswer {
    /// WhatsApp account; `None`: global.
    #[serde(default)]
    pub account: Option<String>,
    /// Title (1 to 100 characters).
    pub title: String,
    /// Text (1 to 4096 characters).
    pub body: String,
}
