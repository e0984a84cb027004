//! Canned answers: listed, created, changed, deleted, and filled in for a conversation.

use super::{JsonBody, QueryOf};
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::NewCannedAnswer;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub(super) struct CannedQuery {
    conversation_id: Option<i64>,
}

pub(super) async fn canned(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<CannedQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let account = match q.conversation_id {
        Some(id) => {
            s.inbox
                .conversation(&p.viewer, id)
                .await?
                .conversation
                .account
        }
        None => None,
    };
    Ok(Json(
        json!({ "canned_answers": s.inbox.canned_answers(&p.viewer, account.as_deref()).await? }),
    ))
}

pub(super) async fn create_canned(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewCannedAnswer>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let c = s.inbox.create_canned_answer(&p.viewer, &b).await?;
    Ok((StatusCode::CREATED, Json(json!({ "canned_answer": c }))).into_response())
}

pub(super) async fn update_canned(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<NewCannedAnswer>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    Ok(Json(
        json!({ "canned_answer": s.inbox.update_canned_answer(&p.viewer, id, &b).await? }),
    ))
}

pub(super) async fn delete_canned(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.delete_canned_answer(&p.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct TextQuery {
    conversation_id: i64,
}

pub(super) async fn canned_text(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    q: QueryOf<TextQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    Ok(Json(
        json!({ "text": s.inbox.render_canned_answer(&p.viewer, id, q.conversation_id).await? }),
    ))
}
