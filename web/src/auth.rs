//! Who is calling: agents logged in to the inbox (session cookie + CSRF token) and
//! integrations (API token in `Authorization: Bearer`).
//!
//! - Login (`POST /api/v1/session`) checks the argon2 hash through the inbox core and sets
//!   the session cookie: `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//!   page sends it), `Secure` when `http.public_base_url` is https, `Path=/`. Failed logins
//!   are limited per client address and per username (`http.login_attempts_per_minute`).
//! - CSRF: every request that changes something and authenticates by cookie must carry the
//!   session's CSRF token in `X-CSRF-Token` (the page gets it from the login answer or
//!   `GET /api/v1/session`). Token-authenticated requests need none: a browser never sends
//!   them by itself.
//! - Cookies and tokens are never logged (the request span records method and route only,
//!   and the trace layer marks `Authorization` and `Cookie` sensitive).
//!
//! The cookie is written by hand: one fixed attribute set on a token of our own alphabet,
//! nothing a cookie crate would make safer.

use crate::error::{ApiError, ApiResult};
use crate::{AppState, client_ip};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deflect_chat::{Agent, ChatError, Viewer};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "deflect_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// The inbox's session cookie.
    Session,
    /// An API token.
    Token,
}

/// An authenticated agent or integration.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The agent (an API token acts as its agent).
    pub agent: Agent,
    /// Their access.
    pub viewer: Viewer,
    /// How.
    pub via: Via,
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Authenticates a request's headers (CSRF checked for `method`s that change things).
pub async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult<Principal> {
    if let Some(token) = bearer(headers) {
        return match state.inbox.api_token_agent(token).await? {
            Some((agent, viewer)) => Ok(Principal {
                agent,
                viewer,
                via: Via::Token,
            }),
            None => Err(ApiError::unauthorized()),
        };
    }
    let Some(token) = cookie(headers, COOKIE) else {
        return Err(ApiError::unauthorized());
    };
    let Some(session) = state.inbox.session(&token).await? else {
        return Err(ApiError::unauthorized());
    };
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = headers
            .get(CSRF_HEADER)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(sent.ct_eq(session.csrf.as_bytes())) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header; reload the page",
            ));
        }
    }
    Ok(Principal {
        agent: session.agent,
        viewer: session.viewer,
        via: Via::Session,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, &parts.method, &parts.headers).await
    }
}

#[derive(Deserialize)]
pub(crate) struct Login {
    username: String,
    password: String,
}

fn session_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.web.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("the cookie is made of header-safe characters")
}

/// `POST /api/v1/session`: logs in.
pub(crate) async fn login(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(login) = body?;
    let ip = client_ip(&state, &parts);
    let user_key = format!("user:{}", login.username.trim().to_lowercase());
    let ip_key = format!("ip:{ip}");
    let limiter = &state.web.login_limiter;
    if !limiter.peek(&ip_key) || !limiter.peek(&user_key) {
        metrics::counter!("deflect_http_login_total", "outcome" => "rate_limited").increment(1);
        return Err(ApiError::rate_limited());
    }
    let agent = match state
        .inbox
        .verify_password(&login.username, &login.password)
        .await
    {
        Ok(a) => a,
        Err(ChatError::InvalidCredentials) => {
            limiter.allow(&ip_key);
            limiter.allow(&user_key);
            metrics::counter!("deflect_http_login_total", "outcome" => "refused").increment(1);
            return Err(ChatError::InvalidCredentials.into());
        }
        Err(e) => return Err(e.into()),
    };
    let s = state
        .inbox
        .create_session(agent.id, state.web.session_ttl)
        .await?;
    metrics::counter!("deflect_http_login_total", "outcome" => "ok").increment(1);
    tracing::info!(agent_id = agent.id, "agent logged in");
    let mut res =
        Json(json!({ "agent": agent, "csrf": s.csrf, "expires_at": s.expires_at })).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&state, &s.token, state.web.session_ttl.as_secs()),
    );
    Ok(res)
}

/// `GET /api/v1/session`: the logged-in agent and the CSRF token.
pub(crate) async fn current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = cookie(&headers, COOKIE).ok_or_else(ApiError::unauthorized)?;
    let s = state
        .inbox
        .session(&token)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(
        Json(json!({ "agent": s.agent, "csrf": s.csrf, "expires_at": s.expires_at }))
            .into_response(),
    )
}

/// `DELETE /api/v1/session`: logs out.
pub(crate) async fn logout(
    State(state): State<AppState>,
    p: Principal,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = cookie(&headers, COOKIE) {
        state.inbox.end_session(&token).await?;
    }
    if p.via == Via::Session {
        state
            .inbox
            .set_presence(p.agent.id, deflect_chat::Presence::Offline)
            .await?;
        state.phones.recheck_ringing().await;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(res)
}
