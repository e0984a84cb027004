//! Agents: accounts with argon2 password hashes, roles, queue and WhatsApp-account
//! memberships, and presence.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate, RustCrypto; its defaults follow
//! OWASP's recommendation) into PHC strings, with a random salt per hash. Verifying an
//! unknown username still runs one hash, so timing does not tell which usernames exist.

use crate::clock::Millis;
use crate::context::Ctx;
use crate::lifecycle::dispatch;
use crate::model::{Agent, ChatError, Colleagues, EventKind, Preferences, Role, Viewer};
use crate::repo;
use crate::routing::{AgentId, Presence};
use crate::store::Tx;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};

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

fn check_queues(ctx: &Ctx, queues: &[String]) -> Result<(), ChatError> {
    for q in queues {
        if ctx.queue_config(q).is_none() {
            return Err(ChatError::Invalid(format!(
                "unknown queue {q:?}; configured: {}",
                ctx.queue_names().join(", ")
            )));
        }
    }
    Ok(())
}

fn check_accounts(ctx: &Ctx, accounts: &[String]) -> Result<(), ChatError> {
    for a in accounts {
        if ctx.account(a).is_none() {
            return Err(ChatError::Invalid(format!(
                "unknown WhatsApp account {a:?}"
            )));
        }
    }
    Ok(())
}

/// Checks, without changing anything, what [`set_memberships`] and [`set_password`] would
/// refuse.
pub(crate) fn check_change(
    ctx: &Ctx,
    queues: Option<&[String]>,
    accounts: Option<&[String]>,
    password: Option<&str>,
) -> Result<(), ChatError> {
    check_queues(ctx, queues.unwrap_or_default())?;
    check_accounts(ctx, accounts.unwrap_or_default())?;
    password.map_or(Ok(()), check_password_rules)
}

/// Agent `id` within `tx` ("not found" when there is none).
async fn load(tx: &mut Tx, id: AgentId) -> Result<Agent, ChatError> {
    repo::agents::load(tx.conn(), id)
        .await?
        .ok_or(ChatError::NotFound("agent"))
}

/// Creates an agent, offline.
pub(crate) async fn create(ctx: &Ctx, new: NewAgent) -> Result<Agent, ChatError> {
    let username = new.username.trim().to_string();
    if username.is_empty() || username.len() > 64 {
        return Err(ChatError::Invalid(
            "the username must have 1 to 64 characters".into(),
        ));
    }
    check_password_rules(&new.password)?;
    check_queues(ctx, &new.queues)?;
    check_accounts(ctx, &new.accounts)?;
    let hash = hash_password(&new.password)?;
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    let display_name = if new.display_name.is_empty() {
        &username
    } else {
        &new.display_name
    };
    let inserted =
        repo::agents::insert(&mut tx, &username, display_name, &hash, new.role, now).await?;
    let Some(id) = inserted else {
        return Err(ChatError::Conflict(format!(
            "an agent called {username:?} exists already"
        )));
    };
    repo::agents::add_memberships(&mut tx, id, &new.queues, &new.accounts).await?;
    let agent = load(&mut tx, id).await?;
    let data = serde_json::to_value(&agent).unwrap_or_default();
    repo::events::log(&mut tx, None, EventKind::AgentCreated, data, now).await?;
    tx.commit().await?;
    Ok(agent)
}

/// The agent with this login and password; [`ChatError::InvalidCredentials`] otherwise
/// (also for disabled agents).
pub(crate) async fn verify_password(
    ctx: &Ctx,
    username: &str,
    password: &str,
) -> Result<Agent, ChatError> {
    let row = repo::agents::credentials(ctx.store(), username.trim()).await?;
    let (id, hash, disabled) = match row {
        Some((id, hash, disabled)) => (Some(id), hash, disabled),
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
        Some(id) if ok && !disabled => get(ctx, id).await,
        _ => Err(ChatError::InvalidCredentials),
    }
}

/// Replaces an agent's password and ends their sessions: whoever signed in with the old
/// password signs in again (their API tokens stay; revoke those apart).
pub(crate) async fn set_password(
    ctx: &Ctx,
    agent: AgentId,
    password: &str,
) -> Result<(), ChatError> {
    check_password_rules(password)?;
    let hash = hash_password(password)?;
    let mut tx = ctx.write().await?;
    if !repo::agents::set_password_hash(&mut tx, agent, &hash).await? {
        return Err(ChatError::NotFound("agent"));
    }
    repo::sessions::delete_of_agent(&mut tx, agent).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces an agent's queues and accounts.
pub(crate) async fn set_memberships(
    ctx: &Ctx,
    agent: AgentId,
    queues: &[String],
    accounts: &[String],
) -> Result<Agent, ChatError> {
    check_queues(ctx, queues)?;
    check_accounts(ctx, accounts)?;
    let mut tx = ctx.write().await?;
    load(&mut tx, agent).await?;
    repo::agents::clear_memberships(&mut tx, agent).await?;
    repo::agents::add_memberships(&mut tx, agent, queues, accounts).await?;
    let a = load(&mut tx, agent).await?;
    let now = ctx.now();
    dispatch::pull_for_agent(ctx, &mut tx, agent, now).await?;
    tx.commit().await?;
    Ok(a)
}

/// Changes an agent's role (see [`crate::Inbox::set_role`]).
pub(crate) async fn set_role(
    ctx: &Ctx,
    by: Option<&Viewer>,
    agent: AgentId,
    role: Role,
) -> Result<Agent, ChatError> {
    if by.is_some_and(|v| v.role != Role::Admin) {
        return Err(ChatError::Forbidden("only admins change roles".into()));
    }
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    let current = load(&mut tx, agent).await?;
    if current.role == role {
        return Ok(current);
    }
    ensure_another_admin(&mut tx, &current).await?;
    repo::agents::set_role(&mut tx, agent, role).await?;
    let data = serde_json::json!({
        "agent_id": agent,
        "role": role,
        "previous": current.role,
        "by": by.map(|v| v.agent_id),
    });
    repo::events::log(&mut tx, None, EventKind::AgentRoleChanged, data, now).await?;
    let changed = load(&mut tx, agent).await?;
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
pub(crate) async fn set_disabled(
    ctx: &Ctx,
    agent: AgentId,
    disabled: bool,
) -> Result<(), ChatError> {
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    let current = load(&mut tx, agent).await?;
    if disabled && !current.disabled {
        ensure_another_admin(&mut tx, &current).await?;
        // Offline first: their open offers pass to other agents.
        presence_in(ctx, &mut tx, agent, Presence::Offline, now).await?;
    }
    repo::agents::set_disabled(&mut tx, agent, disabled).await?;
    tx.commit().await?;
    Ok(())
}

/// One agent.
pub(crate) async fn get(ctx: &Ctx, id: AgentId) -> Result<Agent, ChatError> {
    repo::agents::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("agent"))
}

/// Every agent, by username.
pub(crate) async fn all(ctx: &Ctx) -> Result<Vec<Agent>, ChatError> {
    Ok(repo::agents::all(ctx.store()).await?)
}

/// The enabled agents available with room for another conversation (fewer offered or held
/// than `inbox.max_conversations_per_agent`): whom a conversation, or a call, may go to now.
pub(crate) async fn with_room(ctx: &Ctx) -> Result<Vec<Agent>, ChatError> {
    let capacity = i64::from(ctx.capacity());
    Ok(repo::agents::with_room(ctx.store(), capacity).await?)
}

/// The agents `viewer` may list (see [`crate::Inbox::colleagues`]).
pub(crate) async fn colleagues(ctx: &Ctx, viewer: &Viewer) -> Result<Colleagues, ChatError> {
    if viewer.role.sees_everything() {
        return Ok(Colleagues::All(all(ctx).await?));
    }
    let shared = repo::agents::colleagues(ctx.store(), viewer.agent_id).await?;
    Ok(Colleagues::Shared(shared))
}

/// How many conversations are offered to or held by each enabled agent the viewer may list
/// (supervisors and admins: everyone; plain agents: their colleagues), by agent.
pub(crate) async fn loads(ctx: &Ctx, viewer: &Viewer) -> Result<Vec<(AgentId, i64)>, ChatError> {
    let all = repo::agents::loads(ctx.store()).await?;
    let visible: Option<std::collections::HashSet<AgentId>> = if viewer.role.sees_everything() {
        None
    } else {
        let shared = repo::agents::colleagues(ctx.store(), viewer.agent_id).await?;
        Some(shared.into_iter().map(|c| c.id).collect())
    };
    let mut out: Vec<(AgentId, i64)> = all
        .into_iter()
        .filter(|l| visible.as_ref().is_none_or(|v| v.contains(&l.agent.id)))
        .map(|l| (l.agent.id, l.load))
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Logs each enabled plain agent who works no WhatsApp account: access fails closed, so
/// they see no account's conversations until an admin gives them one.
pub(crate) async fn warn_without_accounts(ctx: &Ctx) -> Result<(), ChatError> {
    for username in repo::agents::without_accounts(ctx.store()).await? {
        tracing::warn!(
            agent = %username,
            "agent works no WhatsApp account and sees no account's conversations; \
             give them accounts in Settings → Agents or with PATCH /api/v1/agents/{{id}}"
        );
    }
    Ok(())
}

/// The access-control input for an agent.
pub(crate) async fn viewer(ctx: &Ctx, agent: AgentId) -> Result<Viewer, ChatError> {
    let a = get(ctx, agent).await?;
    if a.disabled {
        return Err(ChatError::Forbidden("the agent is disabled".into()));
    }
    Ok(Viewer::of(&a))
}

/// Sets presence. Becoming available pulls waiting conversations; going offline passes
/// open offers on to other agents.
/// Sets what `agent` chooses for themselves: auto-accept and the inbox's language (a
/// language tag such as `nl` or `pt-BR`, or none for the browser's).
pub(crate) async fn set_preferences(
    ctx: &Ctx,
    agent: AgentId,
    p: &Preferences,
) -> Result<Agent, ChatError> {
    if let Some(Some(tag)) = &p.language
        && !is_language_tag(tag)
    {
        return Err(ChatError::Invalid(format!(
            "language {tag:?} is not a language tag (like \"nl\" or \"pt-BR\")"
        )));
    }
    let mut tx = ctx.write().await?;
    let language = p.language.as_ref().map(Option::as_deref);
    if !repo::agents::set_preferences(&mut tx, agent, p.auto_accept, language).await? {
        return Err(ChatError::NotFound("agent"));
    }
    tx.commit().await?;
    repo::agents::get(ctx.store(), agent)
        .await?
        .ok_or(ChatError::NotFound("agent"))
}

/// `nl`, `pt-BR`, `zh-Hant-TW`: a primary language of 2–3 letters and subtags of 2–8
/// letters or digits.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    tag.len() <= 35
        && (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub(crate) async fn set_presence(
    ctx: &Ctx,
    agent: AgentId,
    presence: Presence,
) -> Result<(), ChatError> {
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    presence_in(ctx, &mut tx, agent, presence, now).await?;
    tx.commit().await?;
    Ok(())
}

async fn presence_in(
    ctx: &Ctx,
    tx: &mut Tx,
    agent: AgentId,
    presence: Presence,
    now: Millis,
) -> Result<(), ChatError> {
    if !repo::agents::set_presence(tx, agent, presence, now).await? {
        return Err(ChatError::NotFound("agent"));
    }
    let data = serde_json::json!({ "agent_id": agent, "presence": presence });
    repo::events::log(tx, None, EventKind::AgentPresence, data, now).await?;
    match presence {
        Presence::Available => dispatch::pull_for_agent(ctx, tx, agent, now).await,
        Presence::Offline => dispatch::withdraw_offers(ctx, tx, agent, now).await,
        Presence::Away => Ok(()),
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
    let admins = repo::agents::enabled_admins(tx).await?;
    if !admins.iter().any(|id| *id != current.id) {
        return Err(ChatError::Conflict(format!(
            "{:?} is the last admin; make another agent admin first",
            current.username
        )));
    }
    Ok(())
}
