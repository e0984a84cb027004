//! Agents' sessions (the inbox's login) and API tokens (integrations).
//!
//! Both are random bearer secrets given to the client once; only their SHA-256 is stored
//! (they carry 160 bits of randomness, so a fast hash is enough — unlike passwords). A
//! session also carries a CSRF token the browser must echo on every change; it ends at
//! its expiry, at logout, or when the agent is disabled. An API token acts as the agent it
//! belongs to (give integrations an agent of their own, usually a supervisor) until it is
//! revoked.

use crate::Inbox;
use crate::clock::Millis;
use crate::model::hash_token;
use crate::model::{Agent, ChatError, Viewer};
use crate::routing::AgentId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

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

/// An API token as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// The agent it acts as.
    pub agent_id: AgentId,
    /// When it was made (ms).
    pub created_at: Millis,
    /// When it was last used (ms).
    pub last_used_at: Option<Millis>,
    /// When it was revoked (ms).
    pub revoked_at: Option<Millis>,
}

fn secret(len: usize) -> String {
    crate::model::random_token(len)
}

fn require_admin(viewer: &Viewer) -> Result<(), ChatError> {
    if viewer.role == crate::Role::Admin {
        Ok(())
    } else {
        Err(ChatError::Forbidden("only admins manage API tokens".into()))
    }
}

impl Inbox {
    /// Opens a session for `agent` lasting `ttl`.
    pub async fn create_session(
        &self,
        agent: AgentId,
        ttl: std::time::Duration,
    ) -> Result<NewSession, ChatError> {
        let now = self.now();
        let s = NewSession {
            token: secret(32),
            csrf: secret(32),
            expires_at: now + crate::clock::ms(ttl),
        };
        // Expired sessions are swept while we are here.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.store().pool())
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, agent_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash_token(&s.token))
        .bind(agent)
        .bind(&s.csrf)
        .bind(now)
        .bind(s.expires_at)
        .execute(self.store().pool())
        .await?;
        Ok(s)
    }

    /// The live session of `token`; `None` when unknown, expired, or its agent is disabled.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, ChatError> {
        let row = sqlx::query(
            "SELECT agent_id, csrf, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(hash_token(token))
        .bind(self.now())
        .fetch_optional(self.store().pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let agent = self.agent(row.get("agent_id")).await?;
        if agent.disabled {
            return Ok(None);
        }
        Ok(Some(Session {
            viewer: viewer_of(&agent),
            agent,
            csrf: row.get("csrf"),
            expires_at: row.get("expires_at"),
        }))
    }

    /// Ends a session (logout).
    pub async fn end_session(&self, token: &str) -> Result<(), ChatError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash_token(token))
            .execute(self.store().pool())
            .await?;
        Ok(())
    }

    /// Creates an API token acting as `agent` (admins only); returns it with its secret,
    /// shown this once.
    pub async fn create_api_token(
        &self,
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
        let target = self.agent(agent).await?;
        if target.disabled {
            return Err(ChatError::Invalid("that agent is disabled".into()));
        }
        let token = format!("{API_TOKEN_PREFIX}{}", secret(32));
        let now = self.now();
        let id: i64 = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, agent_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(hash_token(&token))
        .bind(agent)
        .bind(viewer.agent_id)
        .bind(now)
        .fetch_one(self.store().pool())
        .await?
        .get(0);
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
    pub async fn api_tokens(&self, viewer: &Viewer) -> Result<Vec<ApiToken>, ChatError> {
        require_admin(viewer)?;
        let rows = sqlx::query(
            "SELECT id, name, agent_id, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id",
        )
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| ApiToken {
                id: r.get("id"),
                name: r.get("name"),
                agent_id: r.get("agent_id"),
                created_at: r.get("created_at"),
                last_used_at: crate::store::opt_i64(r, "last_used_at"),
                revoked_at: crate::store::opt_i64(r, "revoked_at"),
            })
            .collect())
    }

    /// Revokes an API token (admins only); it stops working at once.
    pub async fn revoke_api_token(&self, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
        require_admin(viewer)?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(self.now())
        .bind(id)
        .execute(self.store().pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(ChatError::NotFound("API token"));
        }
        Ok(())
    }

    /// The agent an API token acts as; `None` for an unknown or revoked token or a disabled
    /// agent.
    pub async fn api_token_agent(&self, token: &str) -> Result<Option<(Agent, Viewer)>, ChatError> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = hash_token(token);
        let row = sqlx::query("SELECT agent_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(&hash)
            .fetch_optional(self.store().pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let agent = self.agent(row.get("agent_id")).await?;
        if agent.disabled {
            return Ok(None);
        }
        // Recorded to the minute: not a write per request.
        let now = self.now();
        if crate::store::opt_i64(&row, "last_used_at").is_none_or(|t| now - t > 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(self.store().pool())
                .await?;
        }
        let viewer = viewer_of(&agent);
        Ok(Some((agent, viewer)))
    }
}

pub(crate) fn viewer_of(a: &Agent) -> Viewer {
    Viewer {
        agent_id: a.id,
        role: a.role,
        queues: a.queues.clone(),
        accounts: a.accounts.clone(),
    }
}
