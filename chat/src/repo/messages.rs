//! The message aggregate's SQL: messages of conversations, either way, as [`Message`] rows.

use crate::clock::Millis;
use crate::model::{Channel, DeliveryStatus, Direction, Interactive, Message, Sender, StoreError};
use crate::provider::error_meaning;
use crate::routing::AgentId;
use crate::store::{Store, Tx, opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The columns of a [`Message`].
pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, direction, kind, body, payload, interactive, internal, \
    agent_id, sender, channel, external_id, client_key, status, error_code, error_title, created_at, sender_name";

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
        interactive: opt_str(r, "interactive").and_then(|i| serde_json::from_str(&i).ok()),
        internal: r.get::<i64, _>("internal") != 0,
        agent_id: opt_i64(r, "agent_id"),
        sender: Sender::parse(&r.get::<String, _>("sender")),
        channel: Channel::parse(&r.get::<String, _>("channel")),
        external_id: opt_str(r, "external_id"),
        client_key: opt_str(r, "client_key"),
        status: r.get("status"),
        error_code: opt_i64(r, "error_code"),
        error_title: opt_str(r, "error_title"),
        error_meaning: opt_i64(r, "error_code").map(|c| error_meaning(Some(c))),
        created_at: r.get("created_at"),
        attachments: Vec::new(),
        sender_name: opt_str(r, "sender_name"),
    }
}

/// What an outgoing message is stored with.
#[derive(Clone, Debug)]
pub(crate) struct NewOutgoing<'a> {
    pub(crate) conversation: i64,
    pub(crate) kind: &'a str,
    pub(crate) body: &'a str,
    /// The provider request, as JSON.
    pub(crate) payload: &'a str,
    /// What is interactive in it (buttons, a list, a link button), as JSON.
    pub(crate) interactive: Option<&'a str>,
    pub(crate) agent: Option<AgentId>,
    pub(crate) sender: Sender,
    pub(crate) channel: Channel,
    /// The WhatsApp account it goes out on (none for web chats).
    pub(crate) account: Option<&'a str>,
    pub(crate) client_key: Option<&'a str>,
    pub(crate) status: DeliveryStatus,
    /// Never shown to the customer (a relay's messages to its agent).
    pub(crate) internal: bool,
    /// The sender's name when it is no agent of the inbox (a relay's agent).
    pub(crate) sender_name: Option<&'a str>,
}

/// Stores an outgoing message; an agent's carries the agent's display name as the customer
/// sees it now (`sender_name`, a snapshot).
pub(crate) async fn insert_outgoing(
    tx: &mut Tx,
    m: &NewOutgoing<'_>,
    now: Millis,
) -> Result<Message, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, payload, interactive, internal, \
         agent_id, sender, channel, account, client_key, status, status_rank, created_at, sender_name) \
         VALUES ($1, 'out', $2, $3, $4, $5, $14, $6, $7, $8, $9, $10, $11, $12, $13, \
         COALESCE($15, (SELECT display_name FROM agents WHERE id = $6))) RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(m.conversation)
    .bind(m.kind)
    .bind(m.body)
    .bind(m.payload)
    .bind(m.interactive)
    .bind(m.agent)
    .bind(m.sender.as_str())
    .bind(m.channel.as_str())
    .bind(m.account)
    .bind(m.client_key)
    .bind(m.status.as_str())
    .bind(m.status.rank())
    .bind(now)
    .bind(i64::from(m.internal))
    .bind(m.sender_name)
    .fetch_one(tx.conn())
    .await?;
    Ok(from_row(&row))
}

/// The message of conversation `conversation` sent with idempotency key `key`.
pub(crate) async fn by_client_key(
    tx: &mut Tx,
    conversation: i64,
    key: &str,
) -> Result<Option<Message>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND client_key = $2"
    ))
    .bind(conversation)
    .bind(key)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// Whether an agent has written to the customer in conversation `conversation`.
pub(crate) async fn agent_answered(tx: &mut Tx, conversation: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT 1 FROM messages WHERE conversation_id = $1 AND direction = 'out' \
         AND internal = 0 AND agent_id IS NOT NULL LIMIT 1",
    )
    .bind(conversation)
    .fetch_optional(tx.conn())
    .await?
    .is_some())
}

/// Whose turn it is in a conversation: when its agents last wrote to the customer, and the
/// customer's first message since (none: answered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Turn {
    /// When an agent last wrote to the customer (internal notes and automatic messages do
    /// not count).
    pub(crate) agent_at: Option<Millis>,
    /// When the customer's first message after that came (after none: their first).
    pub(crate) waiting_since: Option<Millis>,
}

impl Turn {
    /// The customer waits for an answer.
    pub(crate) fn customer_waits(self) -> bool {
        self.waiting_since.is_some()
    }

    /// When the agent answered the customer's last message, if they did: the inbox now
    /// waits for the customer.
    pub(crate) fn answered_at(self) -> Option<Millis> {
        self.agent_at.filter(|_| self.waiting_since.is_none())
    }
}

/// Whose turn it is in conversation `conversation` (two index lookups).
pub(crate) async fn turn(tx: &mut Tx, conversation: i64) -> Result<Turn, StoreError> {
    let agent = sqlx::query(
        "SELECT id, created_at FROM messages WHERE conversation_id = $1 AND direction = 'out' \
         AND internal = 0 AND agent_id IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation)
    .fetch_optional(tx.conn())
    .await?;
    let (after, agent_at) = match &agent {
        Some(r) => (r.get::<i64, _>("id"), Some(r.get::<i64, _>("created_at"))),
        None => (0, None),
    };
    let waiting = sqlx::query(
        "SELECT created_at FROM messages WHERE conversation_id = $1 AND direction = 'in' \
         AND id > $2 ORDER BY id LIMIT 1",
    )
    .bind(conversation)
    .bind(after)
    .fetch_optional(tx.conn())
    .await?;
    Ok(Turn {
        agent_at,
        waiting_since: waiting.map(|r| r.get::<i64, _>("created_at")),
    })
}

/// Message `id` as it is now within `tx`.
pub(crate) async fn reload(tx: &mut Tx, id: i64) -> Result<Message, StoreError> {
    let row = sqlx::query(sql!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"))
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    Ok(from_row(&row))
}

/// The conversation of message `id`.
pub(crate) async fn conversation_of(tx: &mut Tx, id: i64) -> Result<i64, StoreError> {
    Ok(
        sqlx::query("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(tx.conn())
            .await?
            .get(0),
    )
}

/// The message of `account` the provider knows as `external_id`, with its conversation.
pub(crate) async fn by_external_id(
    tx: &mut Tx,
    account: &str,
    external_id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(sqlx::query(
        "SELECT id, conversation_id FROM messages WHERE account = $1 AND external_id = $2",
    )
    .bind(account)
    .bind(external_id)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| (r.get("id"), r.get("conversation_id"))))
}

/// Another message of `account` than `except` that has the provider's id `external_id`.
pub(crate) async fn other_with_external_id(
    tx: &mut Tx,
    account: &str,
    external_id: &str,
    except: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query("SELECT id FROM messages WHERE account = $1 AND external_id = $2 AND id <> $3")
            .bind(account)
            .bind(external_id)
            .bind(except)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.get(0)),
    )
}

/// Gives message `id` the provider's id.
pub(crate) async fn set_external_id(
    tx: &mut Tx,
    id: i64,
    external_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE messages SET external_id = $1 WHERE id = $2")
        .bind(external_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Moves message `id` to `status` unless it has one of equal or higher rank; returns whether
/// it moved.
pub(crate) async fn advance_status(
    tx: &mut Tx,
    id: i64,
    status: DeliveryStatus,
    error_code: Option<i64>,
    error_title: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE messages SET status = $1, status_rank = $2, error_code = $3, error_title = $4 \
         WHERE id = $5 AND status_rank < $2",
    )
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error_code)
    .bind(error_title)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The provider id of the customer's latest WhatsApp message in `conversation`.
pub(crate) async fn latest_from_customer(
    store: &Store,
    conversation: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT external_id FROM messages WHERE conversation_id = $1 AND direction = 'in' \
         AND internal = 0 AND channel = 'whatsapp' AND external_id IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| r.get("external_id")))
}

/// The customer's latest answer to a call permission request (an interactive
/// `call_permission_reply`) in `conversation` or in any other conversation of theirs on its
/// WhatsApp account (a permission outlives the conversation it was given in), if any.
pub(crate) async fn latest_call_permission_reply(
    store: &Store,
    conversation: i64,
) -> Result<Option<Interactive>, StoreError> {
    let row = sqlx::query(
        "SELECT m.interactive FROM messages m \
         JOIN conversations c ON c.id = m.conversation_id \
         JOIN conversations this ON this.id = $1 \
         WHERE (c.id = this.id OR (c.identity_id = this.identity_id AND c.account = this.account)) \
         AND m.direction = 'in' AND m.interactive LIKE $2 ORDER BY m.id DESC LIMIT 1",
    )
    .bind(conversation)
    .bind(r#"%"type":"call_permission_reply"%"#)
    .fetch_optional(store.pool())
    .await?;
    Ok(row
        .and_then(|r| opt_str(&r, "interactive"))
        .and_then(|i| serde_json::from_str(&i).ok()))
}

/// Records why a queued message waits for another attempt (the provider's code and text);
/// its status stays `queued`, and the next status it reaches replaces both. False when it
/// is not queued any more.
pub(crate) async fn note_retry(
    tx: &mut Tx,
    id: i64,
    error_code: Option<i64>,
    error_title: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE messages SET error_code = $1, error_title = $2 WHERE id = $3 AND status = 'queued'",
    )
    .bind(error_code)
    .bind(error_title)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Stores an internal note by `agent` (with their display name) in conversation
/// `conversation`.
pub(crate) async fn insert_note(
    tx: &mut Tx,
    conversation: i64,
    text: &str,
    agent: AgentId,
    channel: Channel,
    now: Millis,
) -> Result<Message, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, internal, agent_id, sender, \
         channel, status, created_at, sender_name) VALUES ($1, 'out', 'note', $2, 1, $3, 'agent', $4, \
         'internal', $5, (SELECT display_name FROM agents WHERE id = $3)) RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(conversation)
    .bind(text)
    .bind(agent)
    .bind(channel.as_str())
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    Ok(from_row(&row))
}

/// Stores `text` as the IVR's internal note in conversation `conversation` (on its channel);
/// `None` when there is no such conversation.
pub(crate) async fn insert_call_note(
    tx: &mut Tx,
    conversation: i64,
    text: &str,
    now: Millis,
) -> Result<Option<Message>, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, internal, agent_id, sender, \
         channel, status, created_at, sender_name) SELECT id, 'out', 'note', $2, 1, NULL, \
         'automation', channel, 'internal', $3, 'IVR' FROM conversations WHERE id = $1 \
         RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(conversation)
    .bind(text)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// Up to `limit` messages of conversation `conversation` after message `after`, oldest first.
pub(crate) async fn list(
    store: &Store,
    conversation: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    ))
    .bind(conversation)
    .bind(after)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    with_attachments(store, rows.iter().map(from_row).collect()).await
}

/// `messages` with their attachments (one query for all of them).
async fn with_attachments(
    store: &Store,
    mut messages: Vec<Message>,
) -> Result<Vec<Message>, StoreError> {
    // Customers' files and those agents send; notes carry none.
    let ids: Vec<i64> = (messages.iter())
        .filter(|m| !m.internal)
        .map(|m| m.id)
        .collect();
    let mut attachments = super::attachments::of_messages(store, &ids).await?;
    for m in &mut messages {
        m.attachments = attachments.remove(&m.id).unwrap_or_default();
    }
    Ok(messages)
}

/// The open conversation of the message `account`'s provider knows as `external_id`.
pub(crate) async fn open_conversation_of(
    tx: &mut Tx,
    account: &str,
    external_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(
        "SELECT c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.account = $1 AND m.external_id = $2 AND c.status <> 'closed'",
    )
    .bind(account)
    .bind(external_id)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// How the ids of messages typed into the sandbox phone begin: `sandbox.in.<digits>.`, then a
/// random token.
pub(crate) const SANDBOX_IN: &str = "sandbox.in.";

/// The messages, internal notes excluded, of `account`'s conversations with WhatsApp id
/// `wa_id`, oldest first; for a relay's agent, what the relay sent them and what they wrote
/// from the sandbox phone.
pub(crate) async fn of_whatsapp_id(
    store: &Store,
    account: &str,
    wa_id: &str,
) -> Result<Vec<Message>, StoreError> {
    let columns = MESSAGE_COLUMNS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // A relay's agent gets its messages as their own conversation's (the outbox names them).
    let rows = sqlx::query(sql!(
        "SELECT {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         JOIN contact_identities i ON i.id = c.identity_id \
         WHERE c.account = $1 AND i.channel = 'whatsapp' AND i.external_id = $2 \
         AND m.internal = 0 \
         UNION ALL SELECT {columns} FROM messages m JOIN outbox o ON o.message_id = m.id \
         WHERE o.account = $1 AND o.recipient = $2 AND m.internal = 1 AND m.kind = 'relay' \
         UNION ALL SELECT {columns} FROM messages m WHERE m.account = $1 \
         AND m.direction = 'in' AND m.internal = 1 AND m.kind = 'relay' AND m.external_id LIKE $3 \
         ORDER BY 1"
    ))
    .bind(account)
    .bind(wa_id)
    .bind(format!("{SANDBOX_IN}{wa_id}.%"))
    .fetch_all(store.pool())
    .await?;
    with_attachments(store, rows.iter().map(from_row).collect()).await
}

/// Inserts a web visitor's file message of kind `kind` (`image`, `document`) with text
/// `body` in conversation `conversation`.
pub(crate) async fn insert_web_file(
    tx: &mut Tx,
    conversation: i64,
    kind: &str,
    body: &str,
    now: Millis,
) -> Result<Message, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, channel, status, created_at) \
         VALUES ($1, 'in', $2, $3, 'web', 'received', $4) RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(conversation)
    .bind(kind)
    .bind(body)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    Ok(from_row(&row))
}

/// Inserts a web visitor's text `text` in conversation `conversation`; with `reply` (JSON of
/// a `button_reply` or `list_reply`), the button or row they tapped, whose title `text` is.
pub(crate) async fn insert_web_incoming(
    tx: &mut Tx,
    conversation: i64,
    text: &str,
    reply: Option<&str>,
    client_key: Option<&str>,
    now: Millis,
) -> Result<Message, StoreError> {
    let kind = if reply.is_some() {
        "interactive"
    } else {
        "text"
    };
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, interactive, channel, client_key, \
         status, created_at) VALUES ($1, 'in', $2, $3, $4, 'web', $5, 'received', $6) RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(conversation)
    .bind(kind)
    .bind(text)
    .bind(reply)
    .bind(client_key)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    Ok(from_row(&row))
}

/// Stores what a relay's agent wrote on their WhatsApp (external id `external_id` on
/// `account`) in conversation `conversation`, internal (kind `relay`, the agent's name as
/// its sender's); none when that message was stored before.
pub(crate) async fn insert_from_relay_agent(
    tx: &mut Tx,
    conversation: i64,
    (account, external_id): (&str, &str),
    body: &str,
    agent_name: &str,
    now: Millis,
) -> Result<Option<Message>, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, internal, sender, channel, \
         account, external_id, status, created_at, sender_name) VALUES ($1, 'in', 'relay', $2, 1, \
         'agent', 'whatsapp', $3, $4, 'received', $5, $6) ON CONFLICT DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(conversation)
    .bind(body)
    .bind(account)
    .bind(external_id)
    .bind(now)
    .bind(agent_name)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// The customer's first `limit` messages in `conversation`, oldest first.
pub(crate) async fn from_customer(
    tx: &mut Tx,
    conversation: i64,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND direction = 'in' \
         AND internal = 0 ORDER BY id LIMIT $2"
    ))
    .bind(conversation)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Stores SMS `external_id` of `account` from the customer of `conversation`; none when it
/// was stored before.
pub(crate) async fn insert_sms_in(
    tx: &mut Tx,
    conversation: i64,
    (account, external_id): (&str, &str),
    body: &str,
    now: Millis,
) -> Result<Option<Message>, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO messages (conversation_id, direction, kind, body, channel, account, external_id, \
         status, created_at) VALUES ($1, 'in', 'text', $2, 'sms', $3, $4, 'received', $5) \
         ON CONFLICT DO NOTHING RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(conversation)
    .bind(body)
    .bind(account)
    .bind(external_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(from_row))
}
