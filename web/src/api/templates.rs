//! The message templates agents can send (`/api/v1/templates`): each account's list as last
//! fetched from its provider, and how each listing went. Agents see their accounts'
//! templates, supervisors and admins every account's; only `APPROVED` ones unless
//! `?status=all`. Supervisors and admins fetch the lists again at once with
//! `POST /api/v1/templates/refresh` (optionally `?account=`). A template is sent with
//! `POST /api/v1/conversations/{id}/messages` and `{"template": {...}}`.

use super::QueryOf;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Filter {
    #[serde(default)]
    account: Option<String>,
    /// `approved` (the default) or `all`.
    #[serde(default)]
    status: Option<String>,
}

pub(super) async fn templates(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<Filter>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let all = match q.status.as_deref() {
        None | Some("approved") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("status: {other:?} is not a filter; valid: approved, all"),
            ));
        }
    };
    let account = q.account.as_deref();
    let templates = s.inbox.templates(&p.viewer, account, all).await?;
    let refreshes = s.inbox.template_refreshes(&p.viewer, account).await?;
    Ok(Json(
        json!({ "templates": templates, "refreshes": refreshes }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Which {
    #[serde(default)]
    account: Option<String>,
}

pub(super) async fn refresh(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<Which>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let refreshes = s
        .inbox
        .refresh_templates(&p.viewer, q.account.as_deref())
        .await?;
    Ok(Json(json!({ "refreshes": refreshes })))
}
