//! The settings admins change while the gateway runs (`/api/v1/settings`): every scope —
//! `inbox`, `account:NAME`, `site:NAME`, `flow:NAME`, `queue:NAME` — with the keys the
//! configuration file sets (read-only), the overrides stored and the values as they apply.
//! `PUT /api/v1/settings/{scope}` replaces a scope's overrides with a JSON object of the keys
//! to override; `DELETE` gives the configuration's values back. A key the file sets answers
//! 409, a refused value 422 naming its key, an unknown scope 404.

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub(super) async fn all(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "settings": s.inbox.setting_scopes(&p.viewer).await? }),
    ))
}

pub(super) async fn one(
    State(s): State<AppState>,
    p: Principal,
    Path(scope): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "settings": s.inbox.setting_scope(&p.viewer, &scope).await? }),
    ))
}

pub(super) async fn put(
    State(s): State<AppState>,
    p: Principal,
    Path(scope): Path<String>,
    body: JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    let set = s.inbox.put_setting_overrides(&p.viewer, &scope, &b).await?;
    Ok(Json(json!({ "settings": set })))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    p: Principal,
    Path(scope): Path<String>,
) -> ApiResult<StatusCode> {
    s.inbox.delete_setting_overrides(&p.viewer, &scope).await?;
    Ok(StatusCode::NO_CONTENT)
}
