//! A conversation as the inbox's list shows it: its last message, what the viewer has not read
//! yet, how long the customer has waited for an answer and until when an offer stands; and the
//! number of conversations (and unread messages) in each of the inbox's views.

use super::{Conversation, Direction, Sender};
use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// The longest preview of a message's text a list row carries (characters).
pub const PREVIEW_CHARS: usize = 120;

/// A conversation with what its row in the list shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Its newest message that is not an internal note.
    pub last_message: Option<Preview>,
    /// The customer's messages after the newest one the viewer has read.
    pub unread: i64,
    /// When the customer's oldest message still without an agent's answer came (open
    /// conversations only).
    pub waiting_since: Option<Millis>,
    /// Until when the offer stands (offered conversations only).
    pub offer_expires_at: Option<Millis>,
}

/// The start of a message, as a list row shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// The message.
    pub id: i64,
    /// Which way it went.
    pub direction: Direction,
    /// Who wrote it.
    pub sender: Sender,
    /// Its kind (`text`, `image`, `location`, …).
    pub kind: String,
    /// Its text, cut to [`PREVIEW_CHARS`] characters (with `…` when cut).
    pub body: Option<String>,
    /// When it was stored.
    pub created_at: Millis,
    /// The agent who wrote it, if one of the inbox's.
    pub agent_id: Option<i64>,
    /// The writer's name as the customer saw it (an agent's, a relay's agent's).
    pub sender_name: Option<String>,
}

impl Preview {
    /// `body` cut to [`PREVIEW_CHARS`] characters.
    pub(crate) fn cut(body: &str) -> String {
        match body.char_indices().nth(PREVIEW_CHARS) {
            Some((end, _)) => format!("{}…", &body[..end]),
            None => body.to_string(),
        }
    }
}

/// How many conversations a view holds and how many of their customers' messages the viewer
/// has not read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCount {
    /// Conversations in the view.
    pub conversations: i64,
    /// Unread customer messages in them.
    pub unread: i64,
}

/// The inbox's working views, counted for the viewer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCounts {
    /// Offered to or held by the viewer.
    pub mine: ViewCount,
    /// Queued for an agent (in the queues the viewer may see).
    pub queue: ViewCount,
    /// Deflections waiting for the customer's first message.
    pub waiting_for_customer: ViewCount,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_is_cut_on_a_character_boundary() {
        assert_eq!(Preview::cut("short"), "short");
        let long = "é".repeat(PREVIEW_CHARS + 5);
        let cut = Preview::cut(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            Preview::cut(&"a".repeat(PREVIEW_CHARS)).len(),
            PREVIEW_CHARS
        );
    }
}
