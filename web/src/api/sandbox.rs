//! The sandbox phone: the sandbox accounts' messages, and replies injected as a customer.

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::SandboxReply;
use serde_json::{Value, json};

/// The sandbox phone acts for the accounts the agent works for only.
fn sandbox_account(p: &Principal, account: &str) -> ApiResult<()> {
    if p.viewer.may_use_account(account) {
        Ok(())
    } else {
        Err(
            deflect_chat::ChatError::Forbidden(format!("not an agent of account {account:?}"))
                .into(),
        )
    }
}

pub(super) async fn sandbox_accounts(State(s): State<AppState>, p: Principal) -> Json<Value> {
    let a: Vec<Value> = s
        .inbox
        .settings()
        .whatsapp
        .accounts
        .iter()
        .filter(|a| a.provider == deflect_config::Provider::Sandbox)
        .filter(|a| p.viewer.may_use_account(&a.name))
        .map(|a| json!({ "name": a.name, "business_number": a.business_number }))
        .collect();
    Json(json!({ "accounts": a }))
}

pub(super) async fn sandbox_messages(
    State(s): State<AppState>,
    p: Principal,
    Path((account, number)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sandbox_account(&p, &account)?;
    Ok(Json(
        json!({ "messages": s.inbox.sandbox_outgoing(&account, &number).await? }),
    ))
}

pub(super) async fn sandbox_reply(
    State(s): State<AppState>,
    p: Principal,
    Path((account, number)): Path<(String, String)>,
    body: JsonBody<SandboxReply>,
) -> ApiResult<Response> {
    sandbox_account(&p, &account)?;
    let Json(b) = body?;
    if b.text.trim().is_empty() || b.text.chars().count() > deflect_chat::MAX_TEXT {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "a message needs 1 to 4096 characters",
        ));
    }
    let r = s.inbox.sandbox_reply(&account, &number, &b).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "conversations": r.conversations })),
    )
        .into_response())
}
