//! Calls from the widget: a visitor presses "Call us" and their browser calls the IVR over
//! WebRTC, with the chat conversation as its context.
//!
//! `POST /widget/sites/{site}/conversations/{id}/call` with `{"sdp": "<offer>"}` (the
//! browser's complete offer: ICE candidates gathered, not trickled) is answered 201 with
//! `{"call_id": "…", "sdp": "<answer>"}` once the IVR took the call — or 404 when the site
//! takes no calls (`[[widget.sites]] call_number`), 503 when no call could be set up for the
//! offer. The call goes to the flow the site's `call_number` routes to; the visitor's phone
//! from the pre-chat form, if any, is its caller. Keys the visitor presses reach the IVR as
//! RFC 4733 events (`RTCDTMFSender`).
//!
//! `POST …/conversations/{id}/call/hangup` with `{"call_id": "…"}` ends it (204; a call that
//! already ended is no error). When the IVR ends the call, the browser learns it from its
//! DTLS transport closing (deflect sends the close alert).
//!
//! The site's settings (`GET /widget/sites/{site}`) say `"calls": true` and carry
//! `ice_servers` for the browser's `RTCPeerConnection` ([`ice_servers`]).
//!
//! The web layer knows no IVR: the binary gives it a [`BrowserCalls`] ([`crate::Web::calls`]).

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::widget::{admit, site_conversation, visitor_token};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use deflect_config::IceServerConfig;
use serde::Deserialize;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

/// An SDP offer larger than this is refused (a browser's audio offer is 2–6 KiB).
const MAX_OFFER: usize = 32 * 1024;

/// A browser's call to place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserCall {
    /// Its id (`widget-<conversation>-<random>`).
    pub call_id: String,
    /// Where it comes from, for the call's record (`widget:<site>`).
    pub channel: String,
    /// The visitor's phone number (E.164), when the pre-chat form got one.
    pub caller: Option<String>,
    /// The number it routes by (the site's `call_number`).
    pub dialled: String,
    /// The browser's SDP offer.
    pub offer: String,
    /// The visitor's conversation it is placed from (the call shows there).
    pub conversation: i64,
}

/// Why a browser's call was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallRefused {
    /// No call could be set up for the offer (no codec in common, no port free, …).
    #[error("the call could not be set up")]
    Unavailable,
}

/// A call's answer, or why there is none.
pub type Placing = Pin<Box<dyn Future<Output = Result<String, CallRefused>> + Send>>;

/// Where browsers' calls go: the IVR, in the binary.
pub trait BrowserCalls: Send + Sync + std::fmt::Debug {
    /// Places `call`: resolves to the SDP answer once the IVR took it.
    fn place(&self, call: BrowserCall) -> Placing;
    /// The browser hung up call `call_id` (unknown or ended calls are ignored).
    fn hang_up(&self, call_id: &str);
}

/// The STUN and TURN servers of `media.ice_servers` as a browser's `RTCPeerConnection`
/// takes them (`[{"urls", "username", "credential"}]`), with credentials valid from `now`
/// (seconds since the epoch): a server's fixed ones, or ones made from its `auth_secret` as
/// coturn's TURN REST API checks them — user name `<expiry>:deflect`, password the base64 of
/// HMAC-SHA1(secret, user name).
pub fn ice_servers(servers: &[IceServerConfig], now: u64) -> Value {
    use base64::Engine;
    use hmac::{KeyInit, Mac};
    let server = |s: &IceServerConfig| {
        let (username, credential) = match (&s.auth_secret, &s.username, &s.password) {
            (Some(secret), _, _) => {
                let username = format!("{}:deflect", now + s.credential_ttl.as_secs());
                let mut mac =
                    <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret.expose().as_bytes())
                        .expect("HMAC takes a key of any length");
                mac.update(username.as_bytes());
                let password = mac.finalize().into_bytes();
                let b64 = base64::engine::general_purpose::STANDARD;
                (Some(username), Some(b64.encode(password)))
            }
            (None, Some(u), Some(p)) => (Some(u.clone()), Some(p.expose().to_owned())),
            _ => (None, None),
        };
        let mut v = json!({ "urls": s.urls });
        if let (Some(u), Some(c)) = (username, credential) {
            v["username"] = json!(u);
            v["credential"] = json!(c);
        }
        v
    };
    Value::Array(servers.iter().map(server).collect())
}

/// A browser's complete SDP offer: 422 unless it reads as one (and within 32 KiB).
pub(crate) fn check_offer(sdp: &str) -> Result<(), ApiError> {
    if sdp.len() > MAX_OFFER || !sdp.starts_with("v=0") {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "sdp must be the browser's SDP offer",
        ));
    }
    Ok(())
}

/// `<prefix>-` and 16 random hex digits: a call's id no one can guess.
pub(crate) fn random_id(prefix: &str) -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("the operating system provides random bytes");
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

pub(crate) fn routes() -> Router<AppState> {
    use axum::routing::post;
    Router::new()
        .route("/widget/sites/{site}/conversations/{id}/call", post(call))
        .route(
            "/widget/sites/{site}/conversations/{id}/call/hangup",
            post(hang_up),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Offer {
    sdp: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HangUp {
    call_id: String,
}

fn no_calls() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "this site takes no calls",
    )
}

/// The prefix of conversation `id`'s calls' ids.
fn call_prefix(id: i64) -> String {
    format!("widget-{id}-")
}

async fn call(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, id)): Path<(String, i64)>,
    body: Result<Json<Offer>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let cfg = admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    let c = site_conversation(&state, &token, id, &site).await?;
    let (Some(number), Some(calls)) = (cfg.call_number, state.web.calls.get()) else {
        return Err(no_calls());
    };
    let Json(Offer { sdp }) = body?;
    check_offer(&sdp)?;
    let call_id = random_id(call_prefix(id).trim_end_matches('-'));
    let answer = calls
        .place(BrowserCall {
            call_id: call_id.clone(),
            channel: format!("widget:{site}"),
            caller: c.contact_phone.or(c.contact_form_phone),
            dialled: number,
            offer: sdp,
            conversation: id,
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            )
        })?;
    metrics::counter!("deflect_widget_calls_total", "site" => site).increment(1);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "call_id": call_id, "sdp": answer })),
    )
        .into_response())
}

async fn hang_up(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, id)): Path<(String, i64)>,
    body: Result<Json<HangUp>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    site_conversation(&state, &token, id, &site).await?;
    let Json(HangUp { call_id }) = body?;
    let Some(calls) = state.web.calls.get() else {
        return Err(no_calls());
    };
    // A visitor ends only their conversation's calls.
    if !call_id.starts_with(&call_prefix(id)) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such call",
        ));
    }
    calls.hang_up(&call_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use deflect_config::Secret;

    #[test]
    fn browsers_get_each_servers_urls_and_turn_credentials_coturn_accepts() {
        let stun = IceServerConfig {
            urls: vec!["stun:stun.example.com:3478".into()],
            ..IceServerConfig::default()
        };
        let fixed = IceServerConfig {
            urls: vec!["turns:turn.example.com:5349".into()],
            username: Some("shop".into()),
            password: Some(Secret::new("pass")),
            ..IceServerConfig::default()
        };
        let rest = IceServerConfig {
            urls: vec!["turn:turn.example.com:3478?transport=udp".into()],
            auth_secret: Some(Secret::new("north-wind")),
            ..IceServerConfig::default()
        };
        // The password as coturn computes it for this user name (Python's hmac module:
        // base64(hmac.new(b"north-wind", b"1700086400:deflect", sha1).digest())).
        assert_eq!(
            ice_servers(&[stun, fixed, rest], 1_700_000_000),
            json!([
                { "urls": ["stun:stun.example.com:3478"] },
                { "urls": ["turns:turn.example.com:5349"], "username": "shop", "credential": "pass" },
                {
                    "urls": ["turn:turn.example.com:3478?transport=udp"],
                    "username": "1700086400:deflect",
                    "credential": "sUN982GdpQWWtfdMDe6lAjj0jnY="
                }
            ])
        );
    }
}
