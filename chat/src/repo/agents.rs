//! The agent aggregate's SQL: agents, their memberships of queues and WhatsApp accounts, and
//! their presence and load as routing sees them.

use crate::clock::Millis;
use crate::model::{Agent, Colleague, Role, StoreError};
use crate::routing::{AgentId, AgentState, Presence};
use crate::store::{Store, Tx};
use deflect_config::DatabaseKind;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The SQL condition "agent `agent` works for the account `account`" (both SQL
/// expressions) — [`crate::Viewer::may_use_account`] in a query: a conversation without an
/// account is open to its queue's agents; one with an account to supervisors and admins, and
/// to the plain agents given that account.
pub(crate) fn agent_works_account_sql(agent: &str, account: &str) -> String {
    format!(
        "({account} IS NULL \
         OR EXISTS (SELECT 1 FROM agents r WHERE r.id = {agent} AND r.role <> 'agent') \
         OR EXISTS (SELECT 1 FROM agent_accounts x WHERE x.agent_id = {agent} AND x.account = {account}))"
    )
}

/// A stored presence (offline when unreadable).
pub(crate) fn presence_of(s: &str) -> Presence {
    Presence::parse(s).unwrap_or(Presence::Offline)
}

/// A stored role (a plain agent when unreadable).
pub(crate) fn role_of(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Agent)
}

/// How many conversations are offered to or held by agent `a` (an SQL expression).
const LOAD: &str = "(SELECT COUNT(*) FROM conversations c WHERE c.agent_id = a.id \
    AND c.status IN ('offered', 'assigned')) AS load";

/// Agent `id` with their memberships, on any connection.
pub(crate) async fn load(
    conn: &mut sqlx::AnyConnection,
    id: AgentId,
) -> Result<Option<Agent>, StoreError> {
    let row = sqlx::query(
        "SELECT id, username, display_name, role, presence, disabled, auto_accept, language \
         FROM agents WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut names = async |query: &'static str| -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(query).bind(id).fetch_all(&mut *conn).await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    };
    let queues = names("SELECT queue FROM agent_queues WHERE agent_id = $1 ORDER BY queue").await?;
    let accounts =
        names("SELECT account FROM agent_accounts WHERE agent_id = $1 ORDER BY account").await?;
    Ok(Some(Agent {
        id: row.get("id"),
        username: row.get("username"),
        display_name: row.get("display_name"),
        role: role_of(&row.get::<String, _>("role")),
        presence: presence_of(&row.get::<String, _>("presence")),
        queues,
        accounts,
        disabled: row.get::<i64, _>("disabled") != 0,
        auto_accept: row.get::<i64, _>("auto_accept") != 0,
        language: crate::store::opt_str(&row, "language"),
    }))
}

/// Whether agent `id` takes offers at once.
pub(crate) async fn auto_accepts(tx: &mut Tx, id: AgentId) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT auto_accept FROM agents WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.is_some_and(|r| r.get::<i64, _>("auto_accept") != 0))
}

/// Sets agent `id`'s own choices (`None`: unchanged); false when there is no such agent.
pub(crate) async fn set_preferences(
    tx: &mut Tx,
    id: AgentId,
    auto_accept: Option<bool>,
    language: Option<Option<&str>>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE agents SET auto_accept = COALESCE($1, auto_accept), \
         language = CASE WHEN $2 = 1 THEN $3 ELSE language END WHERE id = $4",
    )
    .bind(auto_accept.map(i64::from))
    .bind(i64::from(language.is_some()))
    .bind(language.flatten())
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The enabled agents of `queue` who may see conversations of `account`, as routing sees
/// them (each with `capacity`); locked on PostgreSQL (in id order) so two processes never
/// over-assign one agent.
pub(crate) async fn of_queue(
    tx: &mut Tx,
    queue: &str,
    account: Option<&str>,
    capacity: u32,
) -> Result<Vec<AgentState>, StoreError> {
    let lock = match tx.kind() {
        DatabaseKind::Sqlite => "",
        DatabaseKind::Postgres => " FOR UPDATE OF a",
    };
    let rows = sqlx::query(sql!(
        "SELECT a.id, a.presence, a.last_offer_at, {LOAD} \
         FROM agents a JOIN agent_queues q ON q.agent_id = a.id \
         WHERE q.queue = $1 AND a.disabled = 0 AND {works} \
         ORDER BY a.id{lock}",
        works = agent_works_account_sql("a.id", "$2")
    ))
    .bind(queue)
    .bind(account)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| AgentState {
            id: r.get("id"),
            presence: presence_of(&r.get::<String, _>("presence")),
            load: u32::try_from(r.get::<i64, _>("load")).unwrap_or(u32::MAX),
            capacity,
            last_offer_at: r.get("last_offer_at"),
        })
        .collect())
}

/// Agent `agent` as routing sees them (a disabled agent is offline), locked on PostgreSQL.
pub(crate) async fn state(
    tx: &mut Tx,
    agent: AgentId,
    capacity: u32,
) -> Result<Option<AgentState>, StoreError> {
    let r = sqlx::query(sql!(
        "SELECT a.presence, a.last_offer_at, a.disabled, {LOAD} FROM agents a WHERE a.id = $1{}",
        tx.for_update()
    ))
    .bind(agent)
    .fetch_optional(tx.conn())
    .await?;
    Ok(r.map(|r| {
        let disabled = r.get::<i64, _>("disabled") != 0;
        AgentState {
            id: agent,
            presence: if disabled {
                Presence::Offline
            } else {
                presence_of(&r.get::<String, _>("presence"))
            },
            load: u32::try_from(r.get::<i64, _>("load")).unwrap_or(u32::MAX),
            capacity,
            last_offer_at: r.get("last_offer_at"),
        }
    }))
}

/// Records that `agent` was offered something at `now`.
pub(crate) async fn set_last_offer(
    tx: &mut Tx,
    agent: AgentId,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE agents SET last_offer_at = $1 WHERE id = $2")
        .bind(now)
        .bind(agent)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Agent `id`, read outside a transaction.
pub(crate) async fn get(store: &Store, id: AgentId) -> Result<Option<Agent>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, id).await
}

/// Every agent, by username.
pub(crate) async fn all(store: &Store) -> Result<Vec<Agent>, StoreError> {
    let rows = sqlx::query("SELECT id FROM agents ORDER BY username")
        .fetch_all(store.pool())
        .await?;
    agents_of(store, &rows).await
}

/// The agents whose ids `rows` hold in their first column (those that exist), in order.
async fn agents_of(store: &Store, rows: &[AnyRow]) -> Result<Vec<Agent>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.extend(load(&mut conn, row.get(0)).await?);
    }
    Ok(out)
}

/// The enabled agents available with fewer than `capacity` conversations offered or held,
/// by username.
pub(crate) async fn with_room(store: &Store, capacity: i64) -> Result<Vec<Agent>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT id FROM (SELECT a.id, a.username, {LOAD} FROM agents a \
         WHERE a.disabled = 0 AND a.presence = $1) l WHERE l.load < $2 ORDER BY l.username"
    ))
    .bind(Presence::Available.as_str())
    .bind(capacity)
    .fetch_all(store.pool())
    .await?;
    agents_of(store, &rows).await
}

/// A new agent, offline; `None` when the username is taken.
pub(crate) async fn insert(
    tx: &mut Tx,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
    now: Millis,
) -> Result<Option<AgentId>, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO agents (username, display_name, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// Adds agent `id` to `queues` and `accounts`.
pub(crate) async fn add_memberships(
    tx: &mut Tx,
    id: AgentId,
    queues: &[String],
    accounts: &[String],
) -> Result<(), StoreError> {
    let inserts = [
        (
            "INSERT INTO agent_queues (agent_id, queue) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            queues,
        ),
        (
            "INSERT INTO agent_accounts (agent_id, account) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            accounts,
        ),
    ];
    for (insert, names) in inserts {
        for name in names {
            sqlx::query(insert)
                .bind(id)
                .bind(name)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// Takes agent `id` out of every queue and account.
pub(crate) async fn clear_memberships(tx: &mut Tx, id: AgentId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM agent_queues WHERE agent_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM agent_accounts WHERE agent_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// What a login is checked against: the agent with `username`, their password hash, and
/// whether they are disabled.
pub(crate) async fn credentials(
    store: &Store,
    username: &str,
) -> Result<Option<(AgentId, String, bool)>, StoreError> {
    let row = sqlx::query("SELECT id, password_hash, disabled FROM agents WHERE username = $1")
        .bind(username)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(|r| {
        (
            r.get("id"),
            r.get("password_hash"),
            r.get::<i64, _>("disabled") != 0,
        )
    }))
}

/// Replaces agent `id`'s password hash; `false` when there is no such agent.
pub(crate) async fn set_password_hash(
    tx: &mut Tx,
    id: AgentId,
    hash: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE agents SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives agent `id` the role `role`.
pub(crate) async fn set_role(tx: &mut Tx, id: AgentId, role: Role) -> Result<(), StoreError> {
    sqlx::query("UPDATE agents SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Enables or disables agent `id`.
pub(crate) async fn set_disabled(
    tx: &mut Tx,
    id: AgentId,
    disabled: bool,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE agents SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Sets enabled agent `id`'s presence (since `now` when it changes); `false` when there is no
/// such enabled agent.
pub(crate) async fn set_presence(
    tx: &mut Tx,
    id: AgentId,
    presence: Presence,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE agents SET presence_since = CASE WHEN presence = $1 THEN presence_since \
         ELSE $3 END, presence = $1 WHERE id = $2 AND disabled = 0",
    )
    .bind(presence.as_str())
    .bind(id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The enabled admins, locked in id order on PostgreSQL.
pub(crate) async fn enabled_admins(tx: &mut Tx) -> Result<Vec<AgentId>, StoreError> {
    Ok(sqlx::query(sql!(
        "SELECT id FROM agents WHERE role = 'admin' AND disabled = 0 ORDER BY id{}",
        tx.for_update()
    ))
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| r.get::<i64, _>(0))
    .collect())
}

/// The enabled agents a plain agent `viewer` may list: themselves, supervisors and admins,
/// and those who share one of their queues or accounts.
pub(crate) async fn colleagues(
    store: &Store,
    viewer: AgentId,
) -> Result<Vec<Colleague>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.id, a.display_name, a.role, a.presence FROM agents a WHERE a.disabled = 0 AND ( \
           a.id = $1 OR a.role <> 'agent' \
           OR EXISTS (SELECT 1 FROM agent_queues q JOIN agent_queues m ON m.queue = q.queue \
                      WHERE q.agent_id = a.id AND m.agent_id = $1) \
           OR EXISTS (SELECT 1 FROM agent_accounts q JOIN agent_accounts m ON m.account = q.account \
                      WHERE q.agent_id = a.id AND m.agent_id = $1)) \
         ORDER BY a.id",
    )
    .bind(viewer)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(colleague_of).collect())
}

/// A row's agent as colleagues see it (columns id, display_name, role, presence).
fn colleague_of(r: &sqlx::any::AnyRow) -> Colleague {
    Colleague {
        id: r.get("id"),
        display_name: r.get("display_name"),
        role: role_of(&r.get::<String, _>("role")),
        presence: presence_of(&r.get::<String, _>("presence")),
    }
}

/// The usernames of the enabled plain agents who work no WhatsApp account.
pub(crate) async fn without_accounts(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query(
        "SELECT username FROM agents a WHERE a.role = 'agent' AND a.disabled = 0 \
         AND NOT EXISTS (SELECT 1 FROM agent_accounts x WHERE x.agent_id = a.id) ORDER BY username",
    )
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect())
}

/// An enabled agent's load, as the supervisors' board shows it.
#[derive(Clone, Debug)]
pub(crate) struct Load {
    pub(crate) agent: Colleague,
    pub(crate) load: i64,
    /// Since when their presence is what it is (unknown before it first changed).
    pub(crate) presence_since: Option<Millis>,
}

/// Every enabled agent's load, by name.
pub(crate) async fn loads(store: &Store) -> Result<Vec<Load>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT a.id, a.display_name, a.role, a.presence, a.presence_since, {LOAD} \
         FROM agents a WHERE a.disabled = 0 ORDER BY a.display_name, a.id"
    ))
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Load {
            agent: colleague_of(r),
            load: r.get("load"),
            presence_since: crate::store::opt_i64(r, "presence_since"),
        })
        .collect())
}

/// Every (agent, queue) membership, by queue.
pub(crate) async fn queue_memberships(store: &Store) -> Result<Vec<(AgentId, String)>, StoreError> {
    Ok(
        sqlx::query("SELECT agent_id, queue FROM agent_queues ORDER BY queue")
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(|r| (r.get("agent_id"), r.get("queue")))
            .collect(),
    )
}
