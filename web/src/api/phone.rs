//! The inbox's softphone (`crate::phone`): the calls ringing for the agent with the STUN
//! and TURN servers their browser uses, answering with the browser's offer, declining,
//! holding the caller, hanging up, and calling a WhatsApp customer from their conversation.

use super::JsonBody;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::phone::{AnswerRefused, PlaceCall, PlaceRefused};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/v1/phone`: the calls ringing for the agent or answered by them, and
/// `ice_servers` for `RTCPeerConnection`.
pub(super) async fn phone(State(s): State<AppState>, p: Principal) -> Json<Value> {
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    Json(json!({
        "calls": s.phones.calls_for(&p.viewer),
        "ice_servers": crate::calls::ice_servers(&s.web.ice_servers, now),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Offer {
    sdp: String,
}

/// `POST /api/v1/phone/calls/{id}/answer` `{"sdp"}` → `{"sdp"}`: 404 when it does not ring
/// for the agent, 409 when another agent answered first, 422 for an offer that cannot be
/// taken.
pub(super) async fn answer(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: JsonBody<Offer>,
) -> ApiResult<Json<Value>> {
    let Json(Offer { sdp }) = body?;
    crate::calls::check_offer(&sdp)?;
    let sdp = s.phones.answer(&id, &p.viewer, sdp).await.map_err(|e| {
        let (status, code) = match e {
            AnswerRefused::NotRinging => (StatusCode::NOT_FOUND, "not_found"),
            AnswerRefused::Taken => (StatusCode::CONFLICT, "conflict"),
            AnswerRefused::Offer(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        };
        ApiError::new(status, code, e.to_string())
    })?;
    Ok(Json(json!({ "sdp": sdp })))
}

/// `POST /api/v1/phone/calls/{id}/decline` → 204; 404 when it does not ring for the agent.
pub(super) async fn decline(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if s.phones.decline(&id, &p.viewer).await {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such call rings for you",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Hold {
    held: bool,
}

/// `POST /api/v1/phone/calls/{id}/hold` `{"held": true|false}` → 204: the caller is held
/// (hears music; neither hears the other) or taken back, and the call's `held` changes on
/// the agent's pages; 404 unless the agent is on it and it is answered.
pub(super) async fn hold(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    body: JsonBody<Hold>,
) -> ApiResult<StatusCode> {
    let Json(Hold { held }) = body?;
    on_the_call(s.phones.hold(&id, p.agent.id, held))
}

/// `POST /api/v1/phone/calls/{id}/hangup` → 204; 404 unless the agent answered it.
pub(super) async fn hang_up(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    on_the_call(s.phones.hang_up(&id, p.agent.id))
}

/// 204 for what the agent did on their call (`done`), else 404: it is not theirs, or over.
fn on_the_call(done: bool) -> ApiResult<StatusCode> {
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "you are not on this call",
        ))
    }
}

/// `POST /api/v1/conversations/{id}/call` `{"sdp"}` → 201 `{"call", "sdp"}`: the agent calls
/// the conversation's WhatsApp customer, their browser offering `sdp`; the call is
/// `calling` until the customer answers. 404 for a conversation they may not see, 422 for
/// one that cannot have calls (not WhatsApp, an account without `calling`) or an offer
/// that cannot be taken, 409 without the customer's permission (ask with a
/// `call_permission_request`) or when the agent is on another call, 503 when nothing
/// places calls.
pub(super) async fn place(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<Offer>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(Offer { sdp }) = body?;
    crate::calls::check_offer(&sdp)?;
    let target = s.inbox.call_target(&p.viewer, id).await?;
    let call = PlaceCall {
        account: target.account,
        whatsapp_id: target.whatsapp_id,
        conversation_id: target.conversation_id,
        offer: sdp,
    };
    let (call, sdp) = s.phones.place(&p.viewer, call).map_err(|e| {
        let (status, code) = match e {
            PlaceRefused::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            PlaceRefused::Busy => (StatusCode::CONFLICT, "conflict"),
            PlaceRefused::Offer(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        };
        ApiError::new(status, code, e.to_string())
    })?;
    let body = json!({ "call": call, "sdp": sdp });
    Ok((StatusCode::CREATED, Json(body)))
}
