//! The conversation aggregate's SQL: a conversation with its contact's name and numbers, as
//! [`Conversation`] rows.

use crate::clock::Millis;
use crate::model::{Channel, Conversation, Origin, Status, StoreError};
use crate::routing::{self, AgentId};
use crate::store::{Store, Tx, opt_i64, opt_str};
use deflect_config::DatabaseKind;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) mod csat;
mod list;
pub(crate) use list::{count, list, summaries};

/// The columns of a [`Conversation`], selected from [`CONVERSATION_FROM`] a conversation and its contact.
pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.reference, c.contact_id, k.name AS contact_name, \
    k.phone AS contact_phone, k.form_phone AS contact_form_phone, c.channel, c.origin, c.account, c.site, c.status, c.queue, c.agent_id, \
    c.return_agent_id, c.queued_at, c.last_inbound_at, c.last_activity_at, c.unreachable, \
    c.disposition, c.closed_at, c.created_at, c.declined, c.identity_id, c.metadata, c.escalation_at, c.bot, \
    c.csat_score, c.csat_comment, c.csat_at, c.flow, k.language AS contact_language";

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
        bot: opt_str(r, "bot"),
        csat_score: opt_i64(r, "csat_score"),
        csat_comment: opt_str(r, "csat_comment"),
        csat_at: opt_i64(r, "csat_at"),
        flow: opt_str(r, "flow"),
        contact_language: opt_str(r, "contact_language"),
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

/// Conversation `id` inside a write transaction, locked on PostgreSQL, with the agents who
/// let it pass this round.
pub(crate) async fn load_locked(
    tx: &mut Tx,
    id: i64,
) -> Result<Option<(Conversation, Vec<AgentId>)>, StoreError> {
    let lock = match tx.kind() {
        DatabaseKind::Sqlite => "",
        DatabaseKind::Postgres => " FOR UPDATE OF c",
    };
    let row = sqlx::query(sql!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|row| {
        let declined = routing::decode_declined(&row.get::<String, _>("declined"));
        (from_row(&row), declined)
    }))
}

/// Conversation `id` as it is now within `tx`.
pub(crate) async fn reload(tx: &mut Tx, id: i64) -> Result<Conversation, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    Ok(from_row(&row))
}

/// Conversation `id`, read outside a transaction.
pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<Conversation>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// Conversation `id` starts with bot `bot`.
pub(crate) async fn set_bot(tx: &mut Tx, id: i64, bot: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET status = 'bot', bot = $1 WHERE id = $2")
        .bind(bot)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Conversation `id` is relayed to agents' own WhatsApp numbers.
pub(crate) async fn set_relayed(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET status = 'relay' WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Puts conversation `id` in `queue` to wait (since `since`), offered to nobody; the first
/// time, `since` is when it first entered a queue (the reports' fact).
pub(crate) async fn set_queued(
    tx: &mut Tx,
    id: i64,
    queue: &str,
    since: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET status = 'queued', queue = $1, agent_id = NULL, \
         declined = '', queued_at = $2, queue_notice = NULL, \
         first_queued_at = COALESCE(first_queued_at, $2) WHERE id = $3",
    )
    .bind(queue)
    .bind(since)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Back to waiting in its queue after an offer to someone lapsed (its place kept).
pub(crate) async fn set_waiting(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET status = 'queued', agent_id = NULL WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Offers conversation `id` to `agent`; `declined` are those who let it pass this round.
pub(crate) async fn set_offered(
    tx: &mut Tx,
    id: i64,
    agent: AgentId,
    declined: &[AgentId],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET status = 'offered', agent_id = $1, declined = $2 WHERE id = $3",
    )
    .bind(agent)
    .bind(routing::encode_declined(declined))
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Remembers who let conversation `id` pass this round.
pub(crate) async fn set_declined(
    tx: &mut Tx,
    id: i64,
    declined: &[AgentId],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET declined = $1 WHERE id = $2")
        .bind(routing::encode_declined(declined))
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Gives conversation `id` the `status` (offered or assigned) with `agent`, and the agent it
/// returns to when a transfer lapses; the round of decliners starts over. The first time an
/// agent holds it (assigned), `now` is when it was first taken (the reports' fact).
pub(crate) async fn set_holder(
    tx: &mut Tx,
    id: i64,
    status: Status,
    agent: AgentId,
    return_agent: Option<AgentId>,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET status = $1, agent_id = $2, return_agent_id = $3, \
         declined = '', first_assigned_at = CASE WHEN $1 = 'assigned' \
         THEN COALESCE(first_assigned_at, $5) ELSE first_assigned_at END WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(agent)
    .bind(return_agent)
    .bind(id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The agent conversation `id` returns to when a transfer lapses.
pub(crate) async fn set_return_agent(
    tx: &mut Tx,
    id: i64,
    agent: Option<AgentId>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET return_agent_id = $1 WHERE id = $2")
        .bind(agent)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Closes conversation `id`: `handled_by` stays its agent (who handled it).
pub(crate) async fn set_closed(
    tx: &mut Tx,
    id: i64,
    disposition: &str,
    by: Option<AgentId>,
    handled_by: Option<AgentId>,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET status = 'closed', disposition = $1, closed_by = $2, \
         closed_at = $3, agent_id = $4, return_agent_id = NULL WHERE id = $5",
    )
    .bind(disposition)
    .bind(by)
    .bind(now)
    .bind(handled_by)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The conversations offered to `agent` now.
pub(crate) async fn offered_to(tx: &mut Tx, agent: AgentId) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query("SELECT id FROM conversations WHERE status = 'offered' AND agent_id = $1")
            .bind(agent)
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    )
}

/// The oldest 50 conversations waiting in `agent`'s queues, of accounts they work (on
/// PostgreSQL those another transaction holds are skipped).
pub(crate) async fn waiting_for(
    tx: &mut Tx,
    agent: AgentId,
) -> Result<Vec<routing::Waiting>, StoreError> {
    let lock = tx.skip_locked(Some("c"));
    let rows = sqlx::query(sql!(
        "SELECT c.id, c.queued_at, c.declined, c.queue FROM conversations c \
         JOIN agent_queues q ON q.queue = c.queue AND q.agent_id = $1 \
         WHERE c.status = 'queued' AND {works} \
         ORDER BY c.queued_at, c.id LIMIT 50{lock}",
        works = super::agents::agent_works_account_sql("$1", "c.account")
    ))
    .bind(agent)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| routing::Waiting {
            id: r.get("id"),
            queued_at: opt_i64(r, "queued_at").unwrap_or(0),
            declined: routing::decode_declined(&r.get::<String, _>("declined")),
        })
        .collect())
}

/// Marks conversation `id`'s number as one WhatsApp cannot deliver to; whether it was not
/// marked yet.
pub(crate) async fn set_unreachable(tx: &mut Tx, id: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE conversations SET unreachable = 1 WHERE id = $1 AND unreachable = 0")
            .bind(id)
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether WhatsApp could not reach contact identity `identity` on `account` in a
/// conversation created since `since`.
pub(crate) async fn unreachable_since(
    tx: &mut Tx,
    identity: i64,
    account: &str,
    since: Millis,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 FROM conversations WHERE identity_id = $1 AND account = $2 AND unreachable = 1 \
         AND created_at >= $3 LIMIT 1",
    )
    .bind(identity)
    .bind(account)
    .bind(since)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.is_some())
}

/// Records when the widget offered conversation `id` WhatsApp.
pub(crate) async fn set_escalation_at(tx: &mut Tx, id: i64, at: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET escalation_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// An agent's message (one the customer sees) is activity on conversation `id`; the first
/// one is its first response (the reports' fact).
pub(crate) async fn touch(tx: &mut Tx, id: i64, now: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET last_activity_at = $1, \
         first_response_at = COALESCE(first_response_at, $1) WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The open conversation of contact identity `identity` on WhatsApp account `account`.
pub(crate) async fn open_of(
    tx: &mut Tx,
    identity: i64,
    account: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(
        "SELECT id FROM conversations WHERE identity_id = $1 AND account = $2 AND status <> 'closed'",
    )
    .bind(identity)
    .bind(account)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// A new WhatsApp conversation, unless one of the identity on that account is open already
/// (`None`: another process opened it, or the reference collided).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_whatsapp(
    tx: &mut Tx,
    reference: &str,
    contact: i64,
    identity: i64,
    account: &str,
    origin: Origin,
    status: Status,
    queue: &str,
    flow: Option<&str>,
    now: Millis,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO conversations (reference, contact_id, identity_id, channel, origin, account, \
         status, queue, last_activity_at, created_at, flow) \
         VALUES ($1, $2, $3, 'whatsapp', $4, $5, $6, $7, $8, $8, $9) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(reference)
    .bind(contact)
    .bind(identity)
    .bind(origin.as_str())
    .bind(account)
    .bind(status.as_str())
    .bind(queue)
    .bind(now)
    .bind(flow)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// The open conversation of contact identity `identity` on account `account` other than
/// `except`.
pub(crate) async fn other_open_of(
    tx: &mut Tx,
    identity: i64,
    account: &str,
    except: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(
        "SELECT id FROM conversations WHERE identity_id = $1 AND account = $2 \
         AND status <> 'closed' AND id <> $3",
    )
    .bind(identity)
    .bind(account)
    .bind(except)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// The open conversation whose reference is `reference`.
pub(crate) async fn open_by_reference(
    tx: &mut Tx,
    reference: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query("SELECT id FROM conversations WHERE reference = $1 AND status <> 'closed'")
            .bind(reference)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.get(0)),
    )
}

/// Conversation `id` continues on WhatsApp: account `account`, contact identity `identity`.
pub(crate) async fn move_to_whatsapp(
    tx: &mut Tx,
    id: i64,
    account: &str,
    identity: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET channel = 'whatsapp', account = $1, identity_id = $2 WHERE id = $3",
    )
    .bind(account)
    .bind(identity)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Conversation `id` continues by SMS.
pub(crate) async fn move_to_sms(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET channel = 'sms' WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Conversation `id` continues in the browser, on widget site `site` (its WhatsApp
/// identity and account kept).
pub(crate) async fn move_to_web(tx: &mut Tx, id: i64, site: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET channel = 'web', site = $1 WHERE id = $2")
        .bind(site)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The newest open web conversation of identity `identity` on `site`.
pub(crate) async fn open_web_of(
    tx: &mut Tx,
    identity: i64,
    site: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(
        "SELECT id FROM conversations WHERE identity_id = $1 AND channel = 'web' AND site = $2 \
         AND status <> 'closed' ORDER BY id DESC LIMIT 1",
    )
    .bind(identity)
    .bind(site)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// A new web conversation (status `queued`) of a visitor on `site`.
pub(crate) struct NewWeb<'a> {
    pub(crate) contact: i64,
    pub(crate) identity: i64,
    pub(crate) account: Option<&'a str>,
    pub(crate) site: &'a str,
    pub(crate) queue: &'a str,
    /// The widget's page details (JSON), if any.
    pub(crate) metadata: Option<&'a str>,
}

/// Inserts web conversation `w` with reference `reference`; returns its id.
pub(crate) async fn insert_web(
    tx: &mut Tx,
    reference: &str,
    w: &NewWeb<'_>,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO conversations (reference, contact_id, identity_id, channel, origin, \
         account, site, status, queue, last_activity_at, created_at, metadata) \
         VALUES ($1, $2, $3, 'web', 'web', $4, $5, 'queued', $6, $7, $7, $8) RETURNING id",
    )
    .bind(reference)
    .bind(w.contact)
    .bind(w.identity)
    .bind(w.account)
    .bind(w.site)
    .bind(w.queue)
    .bind(now)
    .bind(w.metadata)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Inserts a conversation an integration hands over to WhatsApp (origin `api`, or `relay`
/// when relayed to agents' own WhatsApp; `pending`
/// until the customer's first message); returns its id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_handoff(
    tx: &mut Tx,
    (reference, origin): (&str, Origin),
    contact: i64,
    account: &str,
    queue: &str,
    metadata: Option<&str>,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO conversations (reference, contact_id, channel, origin, account, status, queue, \
         metadata, last_activity_at, created_at) \
         VALUES ($1, $2, 'whatsapp', $7, $3, 'pending', $4, $5, $6, $6) RETURNING id",
    )
    .bind(reference)
    .bind(contact)
    .bind(account)
    .bind(queue)
    .bind(metadata)
    .bind(now)
    .bind(origin.as_str())
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Conversation `id` had a customer's message at `now` (its window opens, it is active).
pub(crate) async fn received(tx: &mut Tx, id: i64, now: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversations SET last_inbound_at = $1, last_activity_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Web conversation `id`, if the visitor whose token hashes to `token_hash` owns it.
pub(crate) async fn of_visitor(
    store: &Store,
    id: i64,
    token_hash: &str,
) -> Result<Option<Conversation>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} \
         JOIN web_visitors v ON v.contact_id = c.contact_id \
         WHERE c.id = $1 AND v.token_hash = $2 AND c.site IS NOT NULL"
    ))
    .bind(id)
    .bind(token_hash)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.as_ref().map(from_row))
}
