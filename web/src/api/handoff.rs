//! Hand-off to WhatsApp: a web conversation continued on WhatsApp by QR code, or relayed to
//! agents' own WhatsApp numbers (`agents`).

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::{NewHandoff, RelayAgent};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Deserialize)]
pub(super) struct DeflectBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    /// How long the code works (default a day).
    #[serde(default)]
    ttl_seconds: Option<u64>,
    /// Relay mode: the agents (`name`, `number`) offered the conversation on their own
    /// WhatsApp, in this order.
    #[serde(default)]
    agents: Vec<RelayAgent>,
}

pub(super) async fn deflect_whatsapp(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<DeflectBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let (c, h) = s
        .inbox
        .start_handoff(
            &p.viewer,
            &NewHandoff {
                name: b.name,
                phone: b.phone,
                metadata: b.metadata,
                account: b.account,
                queue: b.queue,
                ttl: Duration::from_secs(b.ttl_seconds.unwrap_or(86_400)),
                agents: b.agents,
            },
        )
        .await?;
    let mut answer = crate::qr::handoff_json(&h);
    answer["conversation_id"] = json!(c.id);
    answer["reference"] = json!(c.reference);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
