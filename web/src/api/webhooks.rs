//! The outgoing webhook endpoints admins manage beside `[[http.webhooks]]`
//! (`/api/v1/webhooks`): admins only, reading too. The configured endpoints are listed
//! read-only (`"source": "config"`, with their `key`); changing or deleting one answers 409.
//! Endpoints are named in the path by their name or their id. The answer lists the webhook
//! types endpoints can take (`events`). A signing secret is never in an answer: only
//! `secret_set`. A refused value answers 422 (`invalid`) with a message naming its field.

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::{NewWebhookEndpoint, WebhookEndpointChange};
use deflect_config::WEBHOOK_EVENTS;
use serde_json::{Value, json};

pub(super) async fn webhooks(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    let all = s.inbox.webhooks(&p.viewer).await?;
    Ok(Json(json!({ "webhooks": all, "events": WEBHOOK_EVENTS })))
}

pub(super) async fn add_webhook(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewWebhookEndpoint>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let e = s.inbox.add_webhook(&p.viewer, &b).await?;
    Ok((StatusCode::CREATED, Json(json!({ "webhook": e }))).into_response())
}

pub(super) async fn update_webhook(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: JsonBody<WebhookEndpointChange>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    let e = s.inbox.update_webhook(&p.viewer, &id, &b).await?;
    Ok(Json(json!({ "webhook": e })))
}

pub(super) async fn delete_webhook(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.inbox.delete_webhook(&p.viewer, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
