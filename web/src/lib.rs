//! deflect's HTTP face (axum on hyper). Handlers turn HTTP into inbox-core calls and back;
//! no business rule lives here.
//!
//! [`router`] builds the whole application from its state, so handlers are tested with
//! `tower::ServiceExt::oneshot` and no server; [`serve`] runs it on a listener the caller
//! bound, until the shutdown future completes.

#![forbid(unsafe_code)]

mod health;
mod metrics;
pub mod webhooks;

pub use health::Readiness;

use axum::Router;
use deflect_chat::{Inbox, Store};
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use tokio::net::TcpListener;

/// Everything handlers need.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The conversation store.
    pub store: Store,
    /// The inbox core.
    pub inbox: Inbox,
    /// Where browsers and providers reach the gateway (`http.public_base_url`); Twilio
    /// signs callbacks over it.
    pub public_base_url: url::Url,
    /// Start-up progress reported by `/readyz`.
    pub readiness: Readiness,
    /// Renders the process's metrics for `/metrics`.
    pub metrics: PrometheusHandle,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    health::routes()
        .merge(metrics::routes())
        .merge(webhooks::routes())
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and lets
/// requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
