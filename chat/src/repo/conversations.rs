//! The conversation aggregate's SQL: a conversation with its contact's name and numbers, as
//! [`Conversation`] rows.

use crate::model::{Channel, Conversation, Origin, Status, StoreError};
use crate::store::{Tx, opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The columns of a [`Conversation`], selected from [`CONVERSATION_FROM`] a conversation and its contact.
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.reference, c.contact_id, k.name AS contact_name, \
    k.phone AS contact_phone, k.form_phone AS contact_form_phone, c.channel, c.origin, c.account, c.site, c.status, c.queue, c.agent_id, \
    c.return_agent_id, c.queued_at, c.last_inbound_at, c.last_activity_at, c.unreachable, \
    c.disposition, c.closed_at, c.created_at, c.declined, c.identity_id, c.metadata, c.escalation_at";

/// A conversation `c` joined to its contact `k`.
pub(crate) const CONVERSATION_FROM: &str = "conversations c JOIN contacts k ON k.id = c.contact_id";

/// A conversation from a row of [`CONVERSATION_COLUMNS`].
pub(crate) fn from_row(r: &AnyRow) -> Conversation {
    Conversation {
        id: r.get("id"),
        reference: r.get("reference"),
        contact_id: r.get("contact_id"),
        contact_name: opt_str(r, "contact_name"),
        contact_phone: opt_str(r, "contact_phone"),
        contact_form_phone: opt_str(r, "contact_form_phone"),
        channel: Channel::parse(&r.get::<String, _>("channel")),
        origin: Origin::parse(&r.get::<String, _>("origin")),
        account: opt_str(r, "account"),
        site: opt_str(r, "site"),
        status: Status::parse(&r.get::<String, _>("status")).unwrap_or(Status::Closed),
        queue: r.get("queue"),
        agent_id: opt_i64(r, "agent_id"),
        return_agent_id: opt_i64(r, "return_agent_id"),
        queued_at: opt_i64(r, "queued_at"),
        last_inbound_at: opt_i64(r, "last_inbound_at"),
        last_activity_at: r.get("last_activity_at"),
        unreachable: r.get::<i64, _>("unreachable") != 0,
        disposition: opt_str(r, "disposition"),
        closed_at: opt_i64(r, "closed_at"),
        created_at: r.get("created_at"),
        metadata: opt_str(r, "metadata").and_then(|m| serde_json::from_str(&m).ok()),
        escalation_at: opt_i64(r, "escalation_at"),
    }
}

/// Advances conversation `id`'s event sequence; returns the number its next event takes.
pub(crate) async fn next_event_seq(tx: &mut Tx, id: i64) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "UPDATE conversations SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?
    .get::<i64, _>(0))
}
