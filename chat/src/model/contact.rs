//! Contacts as an agent's panel shows them — who the customer is on each channel, their
//! other conversations, what is known about them — and the labels agents put on
//! conversations.

use crate::clock::Millis;
use crate::model::{CallContext, Channel, ChatError, Status};
use crate::routing::AgentId;
use serde::{Deserialize, Serialize};

/// The longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 32;

/// `raw` as a label is stored: trimmed, lower case, inner runs of spaces made one; 1 to
/// [`MAX_LABEL_CHARS`] characters of `a`–`z`, `0`–`9`, space, `-` and `_` (so a label is the
/// same word however it was typed, and safe in a URL path, a CSV cell and a filter).
pub fn normalize_label(raw: &str) -> Result<String, ChatError> {
    let label = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return Err(ChatError::Invalid(format!(
            "a label has 1 to {MAX_LABEL_CHARS} characters"
        )));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ' ' | '-' | '_')))
    {
        return Err(ChatError::Invalid(format!(
            "a label may use a-z, 0-9, space, '-' and '_', not {bad:?}"
        )));
    }
    Ok(label)
}

/// A label and how many conversations the viewer may see carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelCount {
    /// The label.
    pub label: String,
    /// Conversations with it.
    pub count: i64,
}

/// How a contact is reached on a channel — never a web visitor's token (or its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum ContactIdentity {
    /// Their WhatsApp id (the number WhatsApp knows them by, without `+`).
    Whatsapp {
        /// The WhatsApp id.
        wa_id: String,
        /// Since when (ms).
        since: Millis,
    },
    /// A visitor of a widget site (one browser).
    Web {
        /// The widget site.
        site: String,
        /// Since when (ms).
        since: Millis,
    },
}

/// Who the customer is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactProfile {
    /// Contact id.
    pub id: i64,
    /// Their name, when known.
    pub name: Option<String>,
    /// The number they are reached on (E.164), when known.
    pub phone: Option<String>,
    /// Another number they typed into a form (the widget's pre-chat form, an API hand-off).
    pub form_phone: Option<String>,
    /// Their language (ISO 639-1), when known.
    pub language: Option<String>,
    /// Since when the inbox knows them (ms).
    pub created_at: Millis,
    /// How they are reached: WhatsApp ids, widget visits.
    pub identities: Vec<ContactIdentity>,
}

/// Another conversation of the contact, as a link in the panel shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactConversation {
    /// Id (open it with `GET /api/v1/conversations/{id}`).
    pub id: i64,
    /// Its reference.
    pub reference: String,
    /// Where it stands.
    pub status: Status,
    /// Where it happens.
    pub channel: Channel,
    /// Its queue.
    pub queue: String,
    /// The agent holding it, or who handled it when closed.
    pub agent_id: Option<AgentId>,
    /// When it began (ms).
    pub created_at: Millis,
    /// When it was closed (ms).
    pub closed_at: Option<Millis>,
    /// How it was closed.
    pub disposition: Option<String>,
    /// Its labels, sorted.
    pub labels: Vec<String>,
}

/// The deflected call behind the conversation, with the time the caller spent in the IVR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactCall {
    /// What the IVR knew (flow, language, input method, digits typed or words said, …).
    #[serde(flatten)]
    pub context: CallContext,
    /// From answering to the end of the call, in whole seconds.
    pub seconds_in_ivr: i64,
}

/// The contact panel of a conversation: the customer, their other conversations the viewer
/// may see, what integrations and the widget attached, and the call behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactCard {
    /// Who they are.
    pub contact: ContactProfile,
    /// Their other conversations the viewer may see, newest first (at most 20).
    pub conversations: Vec<ContactConversation>,
    /// What is known beside the profile: `metadata` (what an API hand-off attached, an
    /// object), `widget` (`site`, `page_url`, `referrer` of the page the chat began on, when
    /// the widget sent them), each absent when there is none.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The deflected call it came from.
    pub call: Option<ContactCall>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_spelling_of_a_safe_word() {
        assert_eq!(normalize_label("  VIP  ").unwrap(), "vip");
        assert_eq!(
            normalize_label("Needs   Call-back").unwrap(),
            "needs call-back"
        );
        assert_eq!(normalize_label("order_42").unwrap(), "order_42");
        assert_eq!(normalize_label(&"a".repeat(32)).unwrap().len(), 32);
        for bad in ["", "   ", "a/b", "é", "<b>", "a,b", "50%"] {
            assert!(
                matches!(normalize_label(bad), Err(ChatError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(normalize_label(&"a".repeat(33)).is_err());
    }
}
