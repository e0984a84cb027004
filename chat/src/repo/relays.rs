//! The SQL of relays (a conversation relayed to agents' own WhatsApp numbers) and of the
//! agents' numbers they registered.

use crate::clock::Millis;
use crate::model::{Relay, RelayAgent, RelayState, StoreError};
use crate::store::{Store, Tx, opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Records the relay of conversation `conversation` on `account` to `agents` (waiting for
/// the customer), and registers the agents' numbers on the account (a name given again is
/// the one kept).
pub(crate) async fn insert(
    tx: &mut Tx,
    conversation: i64,
    account: &str,
    agents: &[RelayAgent],
    now: Millis,
) -> Result<(), StoreError> {
    let list = serde_json::to_string(agents).expect("relay agents serialize");
    sqlx::query(
        "INSERT INTO relays (conversation_id, account, agents, position, state, updated_at) \
         VALUES ($1, $2, $3, 0, 'waiting', $4)",
    )
    .bind(conversation)
    .bind(account)
    .bind(list)
    .bind(now)
    .execute(tx.conn())
    .await?;
    for a in agents {
        sqlx::query(
            "INSERT INTO relay_agents (account, wa_id, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account, wa_id) DO UPDATE SET name = excluded.name",
        )
        .bind(account)
        .bind(a.wa_id())
        .bind(&a.name)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

fn from_row(r: &AnyRow) -> Relay {
    Relay {
        conversation: r.get("conversation_id"),
        account: r.get("account"),
        agents: serde_json::from_str(&r.get::<String, _>("agents")).unwrap_or_default(),
        position: usize::try_from(r.get::<i64, _>("position")).unwrap_or(usize::MAX),
        state: RelayState::parse(&r.get::<String, _>("state")),
        offered_at: opt_i64(r, "offered_at"),
    }
}

/// The relay of conversation `conversation`, if it is relayed (locked on PostgreSQL).
pub(crate) async fn get(tx: &mut Tx, conversation: i64) -> Result<Option<Relay>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT conversation_id, account, agents, position, state, offered_at FROM relays \
         WHERE conversation_id = $1{}",
        tx.for_update()
    ))
    .bind(conversation)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// Replaces the agents of the relay of `conversation` (one added by a transfer).
pub(crate) async fn set_agents(
    tx: &mut Tx,
    conversation: i64,
    agents: &[RelayAgent],
) -> Result<(), StoreError> {
    let list = serde_json::to_string(agents).expect("relay agents serialize");
    sqlx::query("UPDATE relays SET agents = $1 WHERE conversation_id = $2")
        .bind(list)
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Moves the relay of `conversation` to agent `position` in `state` (an offer made at
/// `offered_at`).
pub(crate) async fn set(
    tx: &mut Tx,
    conversation: i64,
    position: usize,
    state: RelayState,
    agent_number: Option<&str>,
    offered_at: Option<Millis>,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE relays SET position = $1, state = $2, agent_number = $3, offered_at = $4, \
         updated_at = $5 WHERE conversation_id = $6",
    )
    .bind(i64::try_from(position).unwrap_or(i64::MAX))
    .bind(state.as_str())
    .bind(agent_number)
    .bind(offered_at)
    .bind(now)
    .bind(conversation)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A registered agent's number on an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegisteredAgent {
    /// Their WhatsApp id.
    pub(crate) wa_id: String,
    /// Their name.
    pub(crate) name: String,
    /// The relayed conversation their messages go to when they answer none in particular.
    pub(crate) current: Option<i64>,
}

/// The agent registered with WhatsApp id `wa_id` on `account`, if any.
pub(crate) async fn agent(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
) -> Result<Option<RegisteredAgent>, StoreError> {
    let row = sqlx::query(
        "SELECT name, current_conversation_id FROM relay_agents WHERE account = $1 AND wa_id = $2",
    )
    .bind(account)
    .bind(wa_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| RegisteredAgent {
        wa_id: wa_id.to_string(),
        name: r.get("name"),
        current: opt_i64(&r, "current_conversation_id"),
    }))
}

/// The agent registered on `account` under `name` (any case), if exactly one is.
pub(crate) async fn agent_named(
    tx: &mut Tx,
    account: &str,
    name: &str,
) -> Result<Option<RelayAgent>, StoreError> {
    let rows = sqlx::query(
        "SELECT wa_id, name FROM relay_agents WHERE account = $1 AND LOWER(name) = LOWER($2) LIMIT 2",
    )
    .bind(account)
    .bind(name)
    .fetch_all(tx.conn())
    .await?;
    Ok(match rows.as_slice() {
        [r] => Some(RelayAgent {
            name: r.get("name"),
            number: format!("+{}", r.get::<String, _>("wa_id")),
        }),
        _ => None,
    })
}

/// Makes `conversation` (or none) the one agent `wa_id`'s messages on `account` go to.
pub(crate) async fn set_current(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
    conversation: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE relay_agents SET current_conversation_id = $1 WHERE account = $2 AND wa_id = $3",
    )
    .bind(conversation)
    .bind(account)
    .bind(wa_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A conversation relayed to an agent now: (conversation, reference, customer's name).
pub(crate) type Held = (i64, String, Option<String>);

/// The conversations agent `wa_id` holds on `account`, oldest first.
pub(crate) async fn held_by(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
) -> Result<Vec<Held>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.conversation_id, c.reference, k.name FROM relays r \
         JOIN conversations c ON c.id = r.conversation_id JOIN contacts k ON k.id = c.contact_id \
         WHERE r.account = $1 AND r.agent_number = $2 AND r.state = 'active' \
         AND c.status = 'relay' ORDER BY r.conversation_id",
    )
    .bind(account)
    .bind(wa_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), opt_str(r, "name")))
        .collect())
}

/// The newest relay offered to agent `wa_id` on `account` now, if any.
pub(crate) async fn offered_to(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "SELECT conversation_id FROM relays WHERE account = $1 AND agent_number = $2 \
         AND state = 'offered' ORDER BY offered_at DESC LIMIT 1",
    )
    .bind(account)
    .bind(wa_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The relayed conversation with reference `reference` on `account`, if any.
pub(crate) async fn by_reference(
    tx: &mut Tx,
    account: &str,
    reference: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "SELECT r.conversation_id FROM relays r JOIN conversations c ON c.id = r.conversation_id \
         WHERE r.account = $1 AND c.reference = $2",
    )
    .bind(account)
    .bind(reference)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Agent `wa_id` wrote on `account` at `now`: their side's window is open again.
pub(crate) async fn heard_from(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE relay_agents SET last_inbound_at = $1, reopen_sent_at = NULL \
         WHERE account = $2 AND wa_id = $3",
    )
    .bind(now)
    .bind(account)
    .bind(wa_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whether the template reopening agent `wa_id`'s window on `account` is to go out now:
/// once per closed window (recorded at `now`).
pub(crate) async fn reopen_due(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE relay_agents SET reopen_sent_at = $1 \
         WHERE account = $2 AND wa_id = $3 AND reopen_sent_at IS NULL",
    )
    .bind(now)
    .bind(account)
    .bind(wa_id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A message relayed to an agent that failed for their closed window: (message,
/// conversation, text).
pub(crate) type Lapsed = (i64, i64, String);

/// The messages relayed to agent `wa_id` on `account`, in the conversations they hold, that
/// failed for a closed window and were not sent again yet, oldest first.
pub(crate) async fn lapsed(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
) -> Result<Vec<Lapsed>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.id, m.conversation_id, m.body FROM relays r \
         JOIN messages m ON m.conversation_id = r.conversation_id \
         WHERE r.account = $1 AND r.agent_number = $2 AND r.state = 'active' \
         AND m.kind = 'relay' AND m.internal = 1 AND m.direction = 'out' \
         AND m.status = 'failed' AND m.error_code = 131047 \
         AND m.id > COALESCE((SELECT a.resent_through FROM relay_agents a \
             WHERE a.account = $1 AND a.wa_id = $2), 0) \
         ORDER BY m.id",
    )
    .bind(account)
    .bind(wa_id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), opt_str(r, "body").unwrap_or_default()))
        .collect())
}

/// The messages to agent `wa_id` on `account` up to `message` were sent again.
pub(crate) async fn resent_through(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
    message: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE relay_agents SET resent_through = $1 WHERE account = $2 AND wa_id = $3")
        .bind(message)
        .bind(account)
        .bind(wa_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// How busy each account is for a relay's choice of account: (conversations relayed now,
/// whether sends wait to be tried again after a failure), by account.
pub(crate) async fn channel_load(
    store: &Store,
) -> Result<std::collections::HashMap<String, (i64, bool)>, StoreError> {
    let mut out: std::collections::HashMap<String, (i64, bool)> = Default::default();
    let relays = sqlx::query(
        "SELECT account, COUNT(*) AS n FROM relays WHERE state IN ('offered', 'active') \
         GROUP BY account",
    )
    .fetch_all(store.pool())
    .await?;
    for r in &relays {
        out.entry(r.get("account")).or_default().0 = r.get("n");
    }
    let failing = sqlx::query(
        "SELECT DISTINCT account FROM outbox WHERE state = 'pending' AND attempts > 0 \
         AND last_error IS NOT NULL",
    )
    .fetch_all(store.pool())
    .await?;
    for r in &failing {
        out.entry(r.get("account")).or_default().1 = true;
    }
    Ok(out)
}
