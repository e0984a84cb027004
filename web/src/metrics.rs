//! `GET /metrics`: every part's counters, gauges and histograms in the Prometheus text
//! format. Parts record through the `metrics` facade; the binary installs the recorder whose
//! handle renders here. Queue-like depths (the outbox, outgoing webhooks — configured endpoints
//! and those added in Settings) are read from the database at each scrape, so they are right
//! with several processes too.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    match state.inbox.outbox_depth().await {
        Ok(depth) => {
            for s in ["pending", "sending", "sent", "dead"] {
                let n = depth.get(s).copied().unwrap_or(0);
                metrics::gauge!("deflect_outbox_depth", "state" => s).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(cause = %e, "metrics: cannot read the outbox depth"),
    }
    // Every endpoint: configured, and added in Settings.
    let endpoints = async {
        Ok::<_, deflect_chat::ChatError>((
            state.inbox.hook_depth().await?,
            state.inbox.webhook_names().await?,
        ))
    };
    match endpoints.await {
        Ok((depth, names)) => {
            for name in names {
                for s in ["pending", "sending", "done", "dead"] {
                    let n = depth
                        .get(&(name.clone(), s.to_string()))
                        .copied()
                        .unwrap_or(0);
                    metrics::gauge!("deflect_hooks_depth", "endpoint" => name.clone(), "state" => s)
                        .set(n as f64);
                }
            }
        }
        Err(e) => tracing::warn!(cause = %e, "metrics: cannot read the webhook deliveries"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
