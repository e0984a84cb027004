//! `GET /healthz` (the process is alive) and `GET /readyz` (the database answers and every
//! listener is bound) for load balancers and orchestrators.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Start-up and shutdown progress, shared between the binary and `/readyz`.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    listeners_bound: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
}

impl Readiness {
    /// Every listener is bound.
    pub fn set_listeners_bound(&self) {
        self.listeners_bound.store(true, Ordering::Release);
    }

    /// Shutdown began: report not ready so load balancers stop sending work.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let r = &state.readiness;
    let listeners = r.listeners_bound.load(Ordering::Acquire);
    let stopping = r.stopping.load(Ordering::Acquire);
    let database = match state.store.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => {
            tracing::warn!(cause = %e, "readiness check: database does not answer");
            "unreachable".to_string()
        }
    };
    let ready = listeners && !stopping && database == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else if stopping { "stopping" } else { "not ready" },
            "checks": {
                "database": database,
                "listeners": if listeners { "bound" } else { "starting" },
            }
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn state() -> (tempfile::TempDir, AppState) {
        let config = deflect_config::Config::default();
        let (inbox, dir) =
            crate::testing::sqlite_inbox(&config, std::sync::Arc::new(deflect_chat::SystemClock))
                .await;
        let state = crate::testing::state(inbox, "http://127.0.0.1:8080".parse().unwrap(), &config);
        (dir, state)
    }

    async fn get(app: &Router, path: &str) -> (StatusCode, Value) {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn ready_only_once_listeners_are_bound_and_until_stopping() {
        let (_dir, state) = state().await;
        let readiness = state.readiness.clone();
        let app = crate::router(state);
        assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["checks"]["listeners"], "starting");
        readiness.set_listeners_bound();
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["checks"]["database"], "ok");
        readiness.set_stopping();
        assert_eq!(
            get(&app, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn not_ready_when_the_database_is_gone() {
        let (_dir, state) = state().await;
        state.readiness.set_listeners_bound();
        state.store.close().await;
        let app = crate::router(state);
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["checks"]["database"], "unreachable");
    }
}
