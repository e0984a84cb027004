//! Agents' sessions (the inbox's login) and API tokens (integrations).
//!
//! Both are random bearer secrets given to the client once; only their SHA-256 is stored
//! (they carry 160 bits of randomness, so a fast hash is enough — unlike passwords). A
//! session also carries a CSRF token the browser must echo on every change; it ends at
//! its expiry, at logout, or when the agent is disabled. An API token acts as the agent it
//! belongs to (give integrations an agent of their own, usually a supervisor) until it is
//! revoked.

use crate::clock::{self, Millis};
use crate::context::Ctx;
use crate::model::{Agent, ApiToken, ChatError, Role, Viewer, hash_token, random_token};
use crate::repo;
use crate::routing::AgentId;

/// Prefix of API tokens, so they are recognisable in secret scanners.
pub const API_TOKEN_PREFIX: &str = "dfk_";

/// A session just opened: give `token` to the browser (HttpOnly cookie) and `csrf` to the
/// page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The session's bearer secret.
    pub token: String,
    /// The CSRF token changes must carry.
    pub csrf: String,
    /// When it ends (ms).
    pub expires_at: Millis,
}

/// A live session.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The agent.
    pub agent: Agent,
    /// Their access.
    pub viewer: Viewer,
    /// The CSRF token.
    pub csrf: String,
    /// When it ends (ms).
    pub expires_at: Millis,
}

fn require_admin(viewer: &Viewer) -> Result<(), ChatError> {
    if viewer.role == Role::Admin {
        Ok(())
    } else {
        Err(ChatError::Forbidden("only admins manage API tokens".into()))
    }
}

/// The enabled agent `id`, if any.
async fn enabled_agent(ctx: &Ctx, id: AgentId) -> Result<Option<Agent>, ChatError> {
    let agent = repo::agents::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("agent"))?;
    Ok((!agent.disabled).then_some(agent))
}

/// Opens a session for `agent` lasting `ttl`.
pub(crate) async fn create_session(
    ctx: &Ctx,
    agent: AgentId,
    ttl: std::time::Duration,
) -> Result<NewSession, ChatError> {
    let now = ctx.now();
    let s = NewSession {
        token: random_token(32),
        csrf: random_token(32),
        expires_at: now + clock::ms(ttl),
    };
    let hash = hash_token(&s.token);
    repo::sessions::insert(ctx.store(), &hash, agent, &s.csrf, now, s.expires_at).await?;
    Ok(s)
}

/// The live session of `token`; `None` when unknown, expired, or its agent is disabled.
pub(crate) async fn session(ctx: &Ctx, token: &str) -> Result<Option<Session>, ChatError> {
    let live = repo::sessions::live(ctx.store(), &hash_token(token), ctx.now()).await?;
    let Some((agent, csrf, expires_at)) = live else {
        return Ok(None);
    };
    let Some(agent) = enabled_agent(ctx, agent).await? else {
        return Ok(None);
    };
    Ok(Some(Session {
        viewer: Viewer::of(&agent),
        agent,
        csrf,
        expires_at,
    }))
}

/// Ends a session (logout).
pub(crate) async fn end_session(ctx: &Ctx, token: &str) -> Result<(), ChatError> {
    Ok(repo::sessions::delete(ctx.store(), &hash_token(token)).await?)
}

/// Creates an API token acting as `agent` (admins only); returns it with its secret,
/// shown this once.
pub(crate) async fn create_api_token(
    ctx: &Ctx,
    viewer: &Viewer,
    agent: AgentId,
    name: &str,
) -> Result<(ApiToken, String), ChatError> {
    require_admin(viewer)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ChatError::Invalid(
            "a token needs a name of 1 to 100 characters".into(),
        ));
    }
    if enabled_agent(ctx, agent).await?.is_none() {
        return Err(ChatError::Invalid("that agent is disabled".into()));
    }
    let token = format!("{API_TOKEN_PREFIX}{}", random_token(32));
    let now = ctx.now();
    let hash = hash_token(&token);
    let id =
        repo::sessions::insert_token(ctx.store(), name, &hash, agent, viewer.agent_id, now).await?;
    Ok((
        ApiToken {
            id,
            name: name.into(),
            agent_id: agent,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        },
        token,
    ))
}

/// Every API token (admins only).
pub(crate) async fn api_tokens(ctx: &Ctx, viewer: &Viewer) -> Result<Vec<ApiToken>, ChatError> {
    require_admin(viewer)?;
    Ok(repo::sessions::tokens(ctx.store()).await?)
}

/// Revokes an API token (admins only); it stops working at once.
pub(crate) async fn revoke_api_token(ctx: &Ctx, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
    require_admin(viewer)?;
    if !repo::sessions::revoke_token(ctx.store(), id, ctx.now()).await? {
        return Err(ChatError::NotFound("API token"));
    }
    Ok(())
}

/// The agent an API token acts as; `None` for an unknown or revoked token or a disabled
/// agent.
pub(crate) async fn api_token_agent(
    ctx: &Ctx,
    token: &str,
) -> Result<Option<(Agent, Viewer)>, ChatError> {
    if !token.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = hash_token(token);
    let Some((agent, last_used_at)) = repo::sessions::live_token(ctx.store(), &hash).await? else {
        return Ok(None);
    };
    let Some(agent) = enabled_agent(ctx, agent).await? else {
        return Ok(None);
    };
    // Recorded to the minute: not a write per request.
    let now = ctx.now();
    if last_used_at.is_none_or(|t| now - t > 60_000) {
        repo::sessions::token_used(ctx.store(), &hash, now).await?;
    }
    let viewer = Viewer::of(&agent);
    Ok(Some((agent, viewer)))
}
