//! Agents: who is signed in (`me`, presence), the queues, and agents managed by admins.

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::{NewAgent, Presence, Role};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) async fn me(p: Principal) -> Json<Value> {
    Json(json!({ "agent": p.agent }))
}

#[derive(Deserialize)]
pub(super) struct PresenceBody {
    presence: Presence,
}

pub(super) async fn presence(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<PresenceBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    s.inbox.set_presence(p.agent.id, b.presence).await?;
    if b.presence != Presence::Available {
        // Calls that rang only for them stop now.
        s.phones.recheck_ringing().await;
    }
    Ok(Json(json!({ "agent": s.inbox.agent(p.agent.id).await? })))
}

/// `PUT /api/v1/me/preferences`: the caller's own choices (auto-accept, language).
pub(super) async fn preferences(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<deflect_chat::Preferences>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    Ok(Json(
        json!({ "agent": s.inbox.set_preferences(p.agent.id, &b).await? }),
    ))
}

pub(super) async fn queues(State(s): State<AppState>, _p: Principal) -> Json<Value> {
    let q: Vec<Value> = s
        .inbox
        .settings()
        .inbox
        .queues
        .iter()
        .map(|q| json!({ "name": q.name, "dispositions": q.dispositions, "disposition_required": q.disposition_required,
            "sla_warning_ms": q.sla_warning.as_millis() as u64, "sla_breach_ms": q.sla_breach.as_millis() as u64 }))
        .collect();
    let accounts: Vec<Value> = s
        .inbox
        .settings()
        .whatsapp
        .accounts
        .iter()
        .map(|a| json!({ "name": a.name, "provider": a.provider, "business_number": a.business_number }))
        .collect();
    Json(json!({ "queues": q, "accounts": accounts }))
}

/// The agents the caller may list, with `load` (conversations offered to or held by each,
/// by agent id) and `capacity` (how many each takes: `inbox.max_conversations_per_agent`).
pub(super) async fn agents(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    let load: serde_json::Map<String, Value> = (s.inbox.agent_loads(&p.viewer).await?)
        .into_iter()
        .map(|(id, n)| (id.to_string(), json!(n)))
        .collect();
    Ok(Json(json!({
        "agents": s.inbox.colleagues(&p.viewer).await?,
        "load": load,
        "capacity": s.inbox.settings().inbox.max_conversations_per_agent,
    })))
}

fn admin(p: &Principal) -> ApiResult<()> {
    if p.viewer.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins manage agents",
        ))
    }
}

#[derive(Deserialize)]
pub(super) struct NewAgentBody {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    role: Role,
    #[serde(default)]
    queues: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

pub(super) async fn create_agent(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewAgentBody>,
) -> ApiResult<Response> {
    admin(&p)?;
    let Json(b) = body?;
    let a = s
        .inbox
        .create_agent(NewAgent {
            username: b.username,
            display_name: b.display_name,
            password: b.password,
            role: b.role,
            queues: b.queues,
            accounts: b.accounts,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "agent": a }))).into_response())
}

#[derive(Deserialize)]
pub(super) struct AgentChange {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    queues: Option<Vec<String>>,
    #[serde(default)]
    accounts: Option<Vec<String>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    password: Option<String>,
}

pub(super) async fn update_agent(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<AgentChange>,
) -> ApiResult<Json<Value>> {
    admin(&p)?;
    let Json(b) = body?;
    // Everything the inbox may refuse first (unknown queues or accounts, a short password,
    // then the last admin), so that a refusal changes nothing.
    s.inbox.check_agent_change(
        b.queues.as_deref(),
        b.accounts.as_deref(),
        b.password.as_deref(),
    )?;
    if let Some(role) = b.role {
        s.inbox.set_role(Some(&p.viewer), id, role).await?;
    }
    if let Some(d) = b.disabled {
        s.inbox.set_disabled(id, d).await?;
    }
    let current = s.inbox.agent(id).await?;
    if b.queues.is_some() || b.accounts.is_some() {
        let q = b.queues.unwrap_or(current.queues);
        let a = b.accounts.unwrap_or(current.accounts);
        s.inbox.set_memberships(id, &q, &a).await?;
    }
    if let Some(pw) = &b.password {
        s.inbox.set_password(id, pw).await?;
    }
    Ok(Json(json!({ "agent": s.inbox.agent(id).await? })))
}
