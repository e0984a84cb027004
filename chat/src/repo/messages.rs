//! The message aggregate's SQL: messages of conversations, either way, as [`Message`] rows.

use crate::model::{Channel, Direction, Message};
use crate::store::{opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The columns of a [`Message`].
pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, direction, kind, body, payload, internal, agent_id, \
    channel, external_id, client_key, status, error_code, error_title, created_at";

/// A message from a row of [`MESSAGE_COLUMNS`].
pub(crate) fn from_row(r: &AnyRow) -> Message {
    Message {
        id: r.get("id"),
        conversation_id: r.get("conversation_id"),
        direction: if r.get::<String, _>("direction") == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        kind: r.get("kind"),
        body: opt_str(r, "body"),
        payload: opt_str(r, "payload").and_then(|p| serde_json::from_str(&p).ok()),
        internal: r.get::<i64, _>("internal") != 0,
        agent_id: opt_i64(r, "agent_id"),
        channel: Channel::parse(&r.get::<String, _>("channel")),
        external_id: opt_str(r, "external_id"),
        client_key: opt_str(r, "client_key"),
        status: r.get("status"),
        error_code: opt_i64(r, "error_code"),
        error_title: opt_str(r, "error_title"),
        created_at: r.get("created_at"),
    }
}
