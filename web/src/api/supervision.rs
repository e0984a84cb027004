//! Supervision and API tokens: the live board, the customers' satisfaction scores, and tokens
//! listed, created and revoked.

use super::{JsonBody, QueryOf};
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) async fn board(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "board": s.inbox.board(&p.viewer).await? })))
}

/// `GET /api/v1/reports/csat?from=&to=`: the period the scores were given in (ms; both
/// optional).
#[derive(Deserialize)]
pub(super) struct PeriodQuery {
    from: Option<i64>,
    to: Option<i64>,
}

pub(super) async fn csat_report(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Json<deflect_chat::CsatReport>> {
    let Query(q) = q?;
    Ok(Json(s.inbox.csat_report(&p.viewer, q.from, q.to).await?))
}

pub(super) async fn tokens(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "tokens": s.inbox.api_tokens(&p.viewer).await? }),
    ))
}

#[derive(Deserialize)]
pub(super) struct NewTokenBody {
    agent_id: i64,
    name: String,
}

pub(super) async fn create_token(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewTokenBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let (t, secret) = s
        .inbox
        .create_api_token(&p.viewer, b.agent_id, &b.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": t, "secret": secret })),
    )
        .into_response())
}

pub(super) async fn revoke_token(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.revoke_api_token(&p.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
