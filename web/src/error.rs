//! The API's error answer: `{"error": {"code": "...", "message": "..."}}` with the status
//! that fits. Codes are stable ([`deflect_chat::ChatError::code`] plus the HTTP layer's own:
//! `unauthorized`, `csrf`, `rate_limited`, `bad_request`, `no_route`); 5xx details are
//! logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::ChatError;
use serde_json::json;

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in, or send an API token as `Authorization: Bearer <token>`",
        )
    }

    /// 429 `rate_limited`.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; try again in a minute",
        )
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        let status = match &e {
            ChatError::NotFound(_) => StatusCode::NOT_FOUND,
            ChatError::Forbidden(_) => StatusCode::FORBIDDEN,
            ChatError::Invalid(_) | ChatError::DispositionRequired { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ChatError::Conflict(_)
            | ChatError::OutsideWindow { .. }
            | ChatError::AgentChatting
            | ChatError::Unreachable => StatusCode::CONFLICT,
            ChatError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ChatError::Store(_) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            ChatError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status.is_server_error() {
            tracing::error!(cause = %e, "request failed");
            "the request could not be completed; try again".to_string()
        } else {
            e.to_string()
        };
        Self {
            status,
            code: e.code(),
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

/// A JSON body that failed to parse answers 400 in the same shape.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}

/// A query string that failed to parse answers 400 in the same shape.
impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        Self::bad_request(r.body_text())
    }
}

/// Handlers' result.
pub type ApiResult<T> = Result<T, ApiError>;
