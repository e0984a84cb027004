//! Connections taken from the reserve beyond `http.max_connections` serve operators' health
//! checks only: `/healthz`, `/readyz` and `/metrics` are answered, anything else gets 503 with
//! `Retry-After`, and every answer closes the connection so the reserve's places come back
//! at once.

use super::ConnectionInfo;
use super::admission::Admitted;
use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths a reserve connection may ask for.
pub const HEALTH_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The middleware (a no-op for requests on connections taken fully, and for requests that
/// did not come through [`super::serve`], as in `oneshot` tests).
pub(crate) async fn health_only(req: Request, next: Next) -> Response {
    let Some(info) = req.extensions().get::<ConnectionInfo>().copied() else {
        return next.run(req).await;
    };
    if info.admitted == Admitted::Fully {
        return next.run(req).await;
    }
    let mut res = if HEALTH_PATHS.contains(&req.uri().path()) {
        next.run(req).await
    } else {
        let mut res = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            format!(
                "the server has too many connections open; retry in {} s",
                info.retry_after_secs
            ),
        )
        .into_response();
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(info.retry_after_secs),
        );
        res
    };
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}
