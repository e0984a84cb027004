//! The SQL of agents' credentials besides their passwords: login sessions and API tokens,
//! both stored only as the SHA-256 of their secret.

use crate::clock::Millis;
use crate::model::{ApiToken, StoreError};
use crate::routing::AgentId;
use crate::store::{Store, Tx, opt_i64};
use sqlx::Row;

/// A new session of `agent`, known by `token_hash`, until `expires_at`; sessions expired at
/// `now` are swept first.
pub(crate) async fn insert(
    store: &Store,
    token_hash: &str,
    agent: AgentId,
    csrf: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(store.pool())
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, agent_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(agent)
    .bind(csrf)
    .bind(now)
    .bind(expires_at)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The live session known by `token_hash` at `now`: its agent, CSRF token and expiry.
pub(crate) async fn live(
    store: &Store,
    token_hash: &str,
    now: Millis,
) -> Result<Option<(AgentId, String, Millis)>, StoreError> {
    let row = sqlx::query(
        "SELECT agent_id, csrf, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| (r.get("agent_id"), r.get("csrf"), r.get("expires_at"))))
}

/// Ends the session known by `token_hash`.
pub(crate) async fn delete(store: &Store, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Ends every session of `agent` (their password changed: whoever signed in with the old
/// one signs in again).
pub(crate) async fn delete_of_agent(tx: &mut Tx, agent: AgentId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE agent_id = $1")
        .bind(agent)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A new API token named `name`, acting as `agent`, made by `by`; returns its id.
pub(crate) async fn insert_token(
    store: &Store,
    name: &str,
    token_hash: &str,
    agent: AgentId,
    by: AgentId,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO api_tokens (name, token_hash, agent_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(name)
    .bind(token_hash)
    .bind(agent)
    .bind(by)
    .bind(now)
    .fetch_one(store.pool())
    .await?
    .get(0))
}

/// Every API token, by id.
pub(crate) async fn tokens(store: &Store) -> Result<Vec<ApiToken>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, agent_id, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| ApiToken {
            id: r.get("id"),
            name: r.get("name"),
            agent_id: r.get("agent_id"),
            created_at: r.get("created_at"),
            last_used_at: opt_i64(r, "last_used_at"),
            revoked_at: opt_i64(r, "revoked_at"),
        })
        .collect())
}

/// Revokes API token `id`; `false` when there is no such live token.
pub(crate) async fn revoke_token(store: &Store, id: i64, now: Millis) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(store.pool())
            .await?;
    Ok(done.rows_affected() > 0)
}

/// The live API token known by `token_hash`: its agent and when it was last used.
pub(crate) async fn live_token(
    store: &Store,
    token_hash: &str,
) -> Result<Option<(AgentId, Option<Millis>)>, StoreError> {
    let row = sqlx::query(
        "SELECT agent_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| (r.get("agent_id"), opt_i64(&r, "last_used_at"))))
}

/// Records that the API token known by `token_hash` was used at `now`.
pub(crate) async fn token_used(
    store: &Store,
    token_hash: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(store.pool())
        .await?;
    Ok(())
}
