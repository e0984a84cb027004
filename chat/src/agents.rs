//! Agents: accounts with argon2 password hashes, roles, queue and WhatsApp-account
//! memberships, and presence.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate, RustCrypto; its defaults follow
//! OWASP's recommendation) into PHC strings, with a random salt per hash. Verifying an
//! unknown username still runs one hash, so timing does not tell which usernames exist.

use crate::model::{Agent, ChatError, EventKind, Role, Viewer};
use crate::repo::agents::presence_of;
use crate::routing::{AgentId, Presence};
use crate::{Inbox, store::Tx};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// A new agent.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// Login name (unique).
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Password (at least 8 characters); only its hash is stored.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Queues they work.
    pub queues: Vec<String>,
    /// WhatsApp accounts they work (a plain agent with none sees no account's
    /// conversations).
    pub accounts: Vec<String>,
}

/// Another agent as a plain agent sees them: enough to show who wrote and to transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colleague {
    /// Id.
    pub id: AgentId,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Presence.
    pub presence: Presence,
}

/// The agents a viewer may list ([`Inbox::colleagues`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Colleagues {
    /// Supervisors and admins: every agent, in full.
    All(Vec<Agent>),
    /// Plain agents: the colleagues they share a queue or an account with.
    Shared(Vec<Colleague>),
}

fn hash_password(password: &str) -> Result<String, ChatError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ChatError::Invalid(format!("cannot hash the password: {e}")))
}

/// A fixed hash verified against when the username is unknown, so both paths cost the same.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

fn check_password_rules(p: &str) -> Result<(), ChatError> {
    if p.chars().count() < 8 {
        return Err(ChatError::Invalid(
            "the password needs at least 8 characters".into(),
        ));
    }
    Ok(())
}

impl Inbox {
    fn check_queues(&self, queues: &[String]) -> Result<(), ChatError> {
        for q in queues {
            if self.queue_config(q).is_none() {
                return Err(ChatError::Invalid(format!(
                    "unknown queue {q:?}; configured: {}",
                    self.queue_names().join(", ")
                )));
            }
        }
        Ok(())
    }

    fn check_accounts(&self, accounts: &[String]) -> Result<(), ChatError> {
        for a in accounts {
            if self.account(a).is_none() {
                return Err(ChatError::Invalid(format!(
                    "unknown WhatsApp account {a:?}"
                )));
            }
        }
        Ok(())
    }

    /// Checks, without changing anything, what [`Inbox::set_memberships`] and
    /// [`Inbox::set_password`] would refuse: a change of several parts checks them all before
    /// making any, so that a refusal changes nothing.
    pub fn check_agent_change(
        &self,
        queues: Option<&[String]>,
        accounts: Option<&[String]>,
        password: Option<&str>,
    ) -> Result<(), ChatError> {
        self.check_queues(queues.unwrap_or_default())?;
        self.check_accounts(accounts.unwrap_or_default())?;
        password.map_or(Ok(()), check_password_rules)
    }

    /// Creates an agent, offline.
    pub async fn create_agent(&self, new: NewAgent) -> Result<Agent, ChatError> {
        let username = new.username.trim().to_string();
        if username.is_empty() || username.len() > 64 {
            return Err(ChatError::Invalid(
                "the username must have 1 to 64 characters".into(),
            ));
        }
        check_password_rules(&new.password)?;
        self.check_queues(&new.queues)?;
        self.check_accounts(&new.accounts)?;
        let hash = hash_password(&new.password)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let inserted = sqlx::query(
            "INSERT INTO agents (username, display_name, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(&username)
        .bind(if new.display_name.is_empty() {
            &username
        } else {
            &new.display_name
        })
        .bind(&hash)
        .bind(new.role.as_str())
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = inserted else {
            return Err(ChatError::Conflict(format!(
                "an agent called {username:?} exists already"
            )));
        };
        let id: i64 = row.get(0);
        write_memberships(&mut tx, id, &new.queues, &new.accounts).await?;
        let agent = load_agent(&mut tx, id).await?;
        crate::repo::events::log(
            &mut tx,
            None,
            EventKind::AgentCreated,
            serde_json::to_value(&agent).unwrap_or_default(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(agent)
    }

    /// The agent with this login and password; [`ChatError::InvalidCredentials`] otherwise
    /// (also for disabled agents).
    pub async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Agent, ChatError> {
        let row = sqlx::query("SELECT id, password_hash, disabled FROM agents WHERE username = $1")
            .bind(username.trim())
            .fetch_optional(self.store().pool())
            .await?;
        let (id, hash, disabled) = match &row {
            Some(r) => (
                Some(r.get::<i64, _>("id")),
                r.get::<String, _>("password_hash"),
                r.get::<i64, _>("disabled") != 0,
            ),
            None => (None, dummy_hash().to_string(), false),
        };
        let password = password.to_string();
        // Argon2 takes tens of milliseconds of CPU: off the async threads.
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        match id {
            Some(id) if ok && !disabled => self.agent(id).await,
            _ => Err(ChatError::InvalidCredentials),
        }
    }

    /// Replaces an agent's password.
    pub async fn set_password(&self, agent: AgentId, password: &str) -> Result<(), ChatError> {
        check_password_rules(password)?;
        let hash = hash_password(password)?;
        let done = sqlx::query("UPDATE agents SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(agent)
            .execute(self.store().pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(ChatError::NotFound("agent"));
        }
        Ok(())
    }

    /// Replaces an agent's queues and accounts.
    pub async fn set_memberships(
        &self,
        agent: AgentId,
        queues: &[String],
        accounts: &[String],
    ) -> Result<Agent, ChatError> {
        self.check_queues(queues)?;
        self.check_accounts(accounts)?;
        let mut tx = self.store().write().await?;
        load_agent(&mut tx, agent).await?;
        sqlx::query("DELETE FROM agent_queues WHERE agent_id = $1")
            .bind(agent)
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM agent_accounts WHERE agent_id = $1")
            .bind(agent)
            .execute(tx.conn())
            .await?;
        write_memberships(&mut tx, agent, queues, accounts).await?;
        let a = load_agent(&mut tx, agent).await?;
        let now = self.now();
        self.pull_for_agent(&mut tx, agent, now).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Changes an agent's role. `by` is the admin asking (others are refused); `None` is an
    /// operator on the command line, who has the database already. The last enabled admin
    /// cannot be demoted, so the inbox always has someone who manages it. A change is logged
    /// as `agent.role_changed` (`agent_id`, `role`, `previous`, `by`: the admin's id or
    /// null); setting the role an agent has changes nothing and logs nothing.
    pub async fn set_role(
        &self,
        by: Option<&Viewer>,
        agent: AgentId,
        role: Role,
    ) -> Result<Agent, ChatError> {
        if by.is_some_and(|v| v.role != Role::Admin) {
            return Err(ChatError::Forbidden("only admins change roles".into()));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let current = load_agent(&mut tx, agent).await?;
        if current.role == role {
            return Ok(current);
        }
        ensure_another_admin(&mut tx, &current).await?;
        sqlx::query("UPDATE agents SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(agent)
            .execute(tx.conn())
            .await?;
        crate::repo::events::log(
            &mut tx,
            None,
            EventKind::AgentRoleChanged,
            serde_json::json!({
                "agent_id": agent,
                "role": role,
                "previous": current.role,
                "by": by.map(|v| v.agent_id),
            }),
            now,
        )
        .await?;
        let changed = load_agent(&mut tx, agent).await?;
        tx.commit().await?;
        tracing::info!(
            agent_id = agent,
            role = role.as_str(),
            previous = current.role.as_str(),
            by = ?by.map(|v| v.agent_id),
            "agent's role changed"
        );
        Ok(changed)
    }

    /// Enables or disables an agent (disabled agents cannot log in; they go offline). The last
    /// enabled admin cannot be disabled ([`ChatError::Conflict`]).
    pub async fn set_disabled(&self, agent: AgentId, disabled: bool) -> Result<(), ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let current = load_agent(&mut tx, agent).await?;
        if disabled && !current.disabled {
            ensure_another_admin(&mut tx, &current).await?;
            // Offline first: their open offers pass to other agents.
            self.presence_in(&mut tx, agent, Presence::Offline, now)
                .await?;
        }
        sqlx::query("UPDATE agents SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(agent)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One agent.
    pub async fn agent(&self, id: AgentId) -> Result<Agent, ChatError> {
        let mut conn = self.store().pool().acquire().await?;
        load_agent_conn(&mut conn, id).await
    }

    /// Every agent, by username.
    pub async fn agents(&self) -> Result<Vec<Agent>, ChatError> {
        let ids: Vec<i64> = sqlx::query("SELECT id FROM agents ORDER BY username")
            .fetch_all(self.store().pool())
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut conn = self.store().pool().acquire().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(load_agent_conn(&mut conn, id).await?);
        }
        Ok(out)
    }

    /// The agents `viewer` may list. Supervisors and admins: every agent, in full. Plain
    /// agents: only names and presence, of the enabled agents who share one of their queues
    /// or WhatsApp accounts, and of supervisors and admins (who may write in any
    /// conversation) — never every agent of every account, nor anyone's login, queues or
    /// accounts.
    pub async fn colleagues(&self, viewer: &Viewer) -> Result<Colleagues, ChatError> {
        if viewer.role.sees_everything() {
            return Ok(Colleagues::All(self.agents().await?));
        }
        let rows = sqlx::query(
            "SELECT a.id, a.display_name, a.role, a.presence FROM agents a WHERE a.disabled = 0 AND ( \
               a.id = $1 OR a.role <> 'agent' \
               OR EXISTS (SELECT 1 FROM agent_queues q JOIN agent_queues m ON m.queue = q.queue \
                          WHERE q.agent_id = a.id AND m.agent_id = $1) \
               OR EXISTS (SELECT 1 FROM agent_accounts q JOIN agent_accounts m ON m.account = q.account \
                          WHERE q.agent_id = a.id AND m.agent_id = $1)) \
             ORDER BY a.id",
        )
        .bind(viewer.agent_id)
        .fetch_all(self.store().pool())
        .await?;
        Ok(Colleagues::Shared(
            rows.iter()
                .map(|r| Colleague {
                    id: r.get("id"),
                    display_name: r.get("display_name"),
                    role: Role::parse(&r.get::<String, _>("role")).unwrap_or(Role::Agent),
                    presence: presence_of(&r.get::<String, _>("presence")),
                })
                .collect(),
        ))
    }

    /// Logs each enabled plain agent who works no WhatsApp account: access fails closed, so
    /// they see no account's conversations until an admin gives them one.
    pub(crate) async fn warn_agents_without_accounts(&self) -> Result<(), ChatError> {
        let rows = sqlx::query(
            "SELECT username FROM agents a WHERE a.role = 'agent' AND a.disabled = 0 \
             AND NOT EXISTS (SELECT 1 FROM agent_accounts x WHERE x.agent_id = a.id) ORDER BY username",
        )
        .fetch_all(self.store().pool())
        .await?;
        for r in rows {
            tracing::warn!(
                agent = %r.get::<String, _>(0),
                "agent works no WhatsApp account and sees no account's conversations; \
                 give them accounts in Settings → Agents or with PATCH /api/v1/agents/{{id}}"
            );
        }
        Ok(())
    }

    /// The access-control input for an agent.
    pub async fn viewer(&self, agent: AgentId) -> Result<Viewer, ChatError> {
        let a = self.agent(agent).await?;
        if a.disabled {
            return Err(ChatError::Forbidden("the agent is disabled".into()));
        }
        Ok(crate::access::viewer_of(&a))
    }

    /// Sets presence. Becoming available pulls waiting conversations; going offline passes
    /// open offers on to other agents.
    pub async fn set_presence(&self, agent: AgentId, presence: Presence) -> Result<(), ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        self.presence_in(&mut tx, agent, presence, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn presence_in(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        presence: Presence,
        now: crate::clock::Millis,
    ) -> Result<(), ChatError> {
        let done = sqlx::query("UPDATE agents SET presence = $1 WHERE id = $2 AND disabled = 0")
            .bind(presence.as_str())
            .bind(agent)
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(ChatError::NotFound("agent"));
        }
        crate::repo::events::log(
            tx,
            None,
            EventKind::AgentPresence,
            serde_json::json!({ "agent_id": agent, "presence": presence }),
            now,
        )
        .await?;
        match presence {
            Presence::Available => self.pull_for_agent(tx, agent, now).await,
            Presence::Offline => self.withdraw_offers(tx, agent, now).await,
            Presence::Away => Ok(()),
        }
    }
}

/// Refuses to take the last enabled admin away (by demotion or by disabling them): nobody
/// could manage agents any more. Locks every admin's row in id order (PostgreSQL), so two
/// admins doing it to each other at once neither both succeed nor deadlock: the second waits,
/// then no longer counts the first. On SQLite the write transaction is already exclusive.
async fn ensure_another_admin(tx: &mut Tx, current: &Agent) -> Result<(), ChatError> {
    if current.role != Role::Admin || current.disabled {
        return Ok(());
    }
    let others = sqlx::query(sql!(
        "SELECT id FROM agents WHERE role = 'admin' AND disabled = 0 ORDER BY id{}",
        tx.for_update()
    ))
    .fetch_all(tx.conn())
    .await?
    .iter()
    .filter(|r| r.get::<i64, _>(0) != current.id)
    .count();
    if others == 0 {
        return Err(ChatError::Conflict(format!(
            "{:?} is the last admin; make another agent admin first",
            current.username
        )));
    }
    Ok(())
}

async fn write_memberships(
    tx: &mut Tx,
    id: i64,
    queues: &[String],
    accounts: &[String],
) -> Result<(), ChatError> {
    for q in queues {
        sqlx::query(
            "INSERT INTO agent_queues (agent_id, queue) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(q)
        .execute(tx.conn())
        .await?;
    }
    for a in accounts {
        sqlx::query(
            "INSERT INTO agent_accounts (agent_id, account) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(a)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub(crate) async fn load_agent(tx: &mut Tx, id: i64) -> Result<Agent, ChatError> {
    load_agent_conn(tx.conn(), id).await
}

async fn load_agent_conn(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Agent, ChatError> {
    let row = sqlx::query(
        "SELECT id, username, display_name, role, presence, disabled FROM agents WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(ChatError::NotFound("agent"))?;
    let queues = sqlx::query("SELECT queue FROM agent_queues WHERE agent_id = $1 ORDER BY queue")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let accounts =
        sqlx::query("SELECT account FROM agent_accounts WHERE agent_id = $1 ORDER BY account")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    Ok(Agent {
        id: row.get("id"),
        username: row.get("username"),
        display_name: row.get("display_name"),
        role: Role::parse(&row.get::<String, _>("role")).unwrap_or(Role::Agent),
        presence: presence_of(&row.get::<String, _>("presence")),
        queues,
        accounts,
        disabled: row.get::<i64, _>("disabled") != 0,
    })
}
