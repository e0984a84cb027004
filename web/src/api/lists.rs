//! The lists admins manage beside the configuration: the whitelist (`/api/v1/whitelist`) and
//! the FAQ (`/api/v1/faq`). Supervisors and admins read them, configured entries included
//! (`"source": "config"`, read-only); admins add, change and delete the API's own
//! (`"source": "api"`). A refused value answers 422 (`invalid`) with a message starting with its field, as
//! everywhere in the API; a body that is not the operation's JSON answers 400.

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::{NewFaqEntry, NewWhitelistEntry};
use serde_json::{Value, json};

pub(super) async fn whitelist(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "whitelist": s.inbox.whitelist(&p.viewer).await? }),
    ))
}

pub(super) async fn add_whitelist_entry(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewWhitelistEntry>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let e = (s.inbox.add_whitelist_entry(&p.viewer, &b).await)?;
    Ok((StatusCode::CREATED, Json(json!({ "whitelist_entry": e }))).into_response())
}

pub(super) async fn delete_whitelist_entry(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.delete_whitelist_entry(&p.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn faq(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "faq": s.inbox.faq_entries(&p.viewer).await? }),
    ))
}

pub(super) async fn add_faq_entry(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewFaqEntry>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let e = (s.inbox.add_faq_entry(&p.viewer, &b).await)?;
    Ok((StatusCode::CREATED, Json(json!({ "faq_entry": e }))).into_response())
}

pub(super) async fn update_faq_entry(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<NewFaqEntry>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    let e = (s.inbox.update_faq_entry(&p.viewer, id, &b).await)?;
    Ok(Json(json!({ "faq_entry": e })))
}

pub(super) async fn delete_faq_entry(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.delete_faq_entry(&p.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
