//! The contact card beside a conversation and the labels on conversations:
//! `GET /api/v1/conversations/{id}/contact`, `PUT`/`DELETE
//! /api/v1/conversations/{id}/labels/{label}` (answered with the conversation's labels now;
//! 422 for a label that is not 1–32 characters of a-z, 0-9, space, `-`, `_` once trimmed
//! and lower-cased), `GET /api/v1/labels` (the labels on the caller's conversations, with
//! counts). Access is the conversation's: "not found" for one the caller may not see.

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub(super) async fn contact(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.inbox.contact(&p.viewer, id).await?)))
}

pub(super) async fn add_label(
    State(s): State<AppState>,
    p: Principal,
    Path((id, label)): Path<(i64, String)>,
) -> ApiResult<Json<Value>> {
    let labels = s.inbox.add_label(&p.viewer, id, &label).await?;
    Ok(Json(json!({ "labels": labels })))
}

pub(super) async fn remove_label(
    State(s): State<AppState>,
    p: Principal,
    Path((id, label)): Path<(i64, String)>,
) -> ApiResult<Json<Value>> {
    let labels = s.inbox.remove_label(&p.viewer, id, &label).await?;
    Ok(Json(json!({ "labels": labels })))
}

pub(super) async fn labels(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "labels": s.inbox.labels(&p.viewer).await? })))
}
