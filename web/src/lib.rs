//! deflect's HTTP face (axum on hyper). Handlers turn HTTP into inbox-core calls and back;
//! no business rule lives here.
//!
//! | part | routes |
//! |---|---|
//! | health, metrics | `/healthz`, `/readyz`, `/metrics` |
//! | provider webhooks | `/webhooks/{provider}/{account}` (meta, twilio, sinch; [`webhooks`]) |
//! | agents' inbox | `/` (page), `/api/v1/session` (login), `/api/v1/events` (WebSocket) ([`auth`], [`live`]) |
//! | REST API | `/api/v1/…`, described by `/api/openapi.json` ([`api`]) |
//! | chat widget | `/widget.js` (loader), `/widget/…` (site settings, visitors' conversations, WebSocket, calls) ([`widget`], [`calls`]) |
//! | sandbox phone | `/sandbox` (page) over `/api/v1/sandbox/…` |
//! | texts by language | `/i18n/{bundle}/{languages}.json` ([`i18n`]) |
//!
//! [`router`] builds the whole application from its state, so handlers are tested with
//! `tower::ServiceExt::oneshot` and no server; [`serve`] runs it on a listener the caller
//! bound, until the shutdown future completes, under the connection caps and timeouts of
//! [`connections`]. Tests set the app up over a fresh SQLite inbox with `testing` (feature
//! `testing`). Every request gets a tracing span (method and the matched route's template —
//! never the query, headers, cookies or tokens in the path) and is counted in `deflect_http_requests_total` /
//! `deflect_http_request_seconds`.
//!
//! hyper and hyper-util (already under axum) are used directly because `axum::serve` sets
//! no timer for hyper's header timeout and has no place to admit or refuse a connection
//! before serving it ([`connections`]).

#![forbid(unsafe_code)]

pub mod api;
mod assets;
pub mod auth;
pub mod calls;
pub mod connections;
mod continuing;
pub mod error;
mod health;
pub mod i18n;
pub mod limits;
pub mod live;
mod metrics;
pub mod phone;
pub mod qr;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;
pub mod widget;

pub use health::Readiness;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderName, header};
use axum::middleware::Next;
use axum::response::Response;
use deflect_chat::{Inbox, Store};
use deflect_config::{Config, OpeningHours, WidgetConfig};
use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// The web layer's settings and shared state.
    pub web: Arc<Web>,
    /// The calls ringing on the agents' softphones.
    pub phones: Arc<phone::Phones>,
}

impl AppState {
    /// The state for `config`, not ready yet (see [`Readiness`]).
    pub fn new(
        inbox: Inbox,
        public_base_url: url::Url,
        metrics: PrometheusHandle,
        config: &Config,
    ) -> Self {
        Self {
            store: inbox.store().clone(),
            web: Arc::new(Web::new(config, &public_base_url)),
            phones: phone::Phones::new(inbox.clone()),
            inbox,
            public_base_url,
            readiness: Readiness::default(),
            metrics,
        }
    }
}

/// The web layer's settings (from `[http]` and `[widget]`), rate limiters and the widget
/// sockets' event hub.
#[derive(Debug)]
pub struct Web {
    /// `[widget]`.
    pub widget: WidgetConfig,
    /// Sites' opening hours, compiled, by site name (sites without hours are always open).
    pub site_hours: HashMap<String, OpeningHours>,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Cookies are `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// The gateway's own origin (`scheme://host[:port]`).
    pub own_origin: String,
    /// Header with the client's address behind a proxy.
    pub client_ip_header: Option<HeaderName>,
    /// The proxies whose `client_ip_header` is believed.
    pub trusted_proxies: Vec<deflect_config::Cidr>,
    /// How long a request's body may take to arrive (`http.body_timeout`).
    pub body_timeout: Duration,
    /// Failed logins.
    pub login_limiter: limits::RateLimiter,
    /// Widget requests.
    pub widget_limiter: limits::RateLimiter,
    /// Fan-out of conversation events to widget sockets.
    pub hub: widget::Hub,
    /// Where visitors' calls go, when the binary set it up (sites' `call_number`).
    pub calls: std::sync::OnceLock<Arc<dyn calls::BrowserCalls>>,
    /// `media.ice_servers`: the STUN and TURN servers browsers' calls use.
    pub ice_servers: Vec<deflect_config::IceServerConfig>,
}

impl Web {
    /// From the configuration and the public base URL.
    pub fn new(config: &Config, public_base_url: &url::Url) -> Self {
        Self {
            widget: config.widget.clone(),
            site_hours: config
                .widget
                .sites
                .iter()
                .filter_map(|s| {
                    let h = s.hours.as_ref()?;
                    let compiled = OpeningHours::new(h).expect(
                        "the configuration was validated: time zones and holidays are known",
                    );
                    Some((s.name.clone(), compiled))
                })
                .collect(),
            session_ttl: config.http.session_ttl,
            secure_cookies: public_base_url.scheme() == "https",
            own_origin: public_base_url.origin().ascii_serialization(),
            client_ip_header: config
                .http
                .client_ip_header
                .as_deref()
                .and_then(|h| HeaderName::try_from(h).ok()),
            trusted_proxies: config.http.trusted_proxies.clone(),
            body_timeout: config.http.body_timeout,
            login_limiter: limits::RateLimiter::new(config.http.login_attempts_per_minute),
            widget_limiter: limits::RateLimiter::new(config.http.widget_requests_per_minute),
            hub: widget::Hub::default(),
            calls: std::sync::OnceLock::new(),
            ice_servers: config.media.ice_servers.clone(),
        }
    }
}

/// The embedded files as (path, content), for tests of their size.
#[doc(hidden)]
pub fn assets_for_tests() -> Vec<(&'static str, &'static str)> {
    assets::ASSETS.iter().map(|a| (a.path, a.body)).collect()
}

/// gzip as the server compresses, for tests of sizes.
#[doc(hidden)]
pub fn gzip_for_tests(body: &[u8]) -> Vec<u8> {
    assets::gzip(body)
}

/// The client's address: the configured proxy header's last entry when the TCP peer is a
/// trusted proxy, else the TCP peer.
pub(crate) fn client_ip(state: &AppState, parts: &axum::http::request::Parts) -> String {
    let peer = (parts.extensions.get::<ConnectInfo<SocketAddr>>()).map(|c| c.0.ip());
    let from_proxy =
        peer.is_some_and(|ip| state.web.trusted_proxies.iter().any(|p| p.contains(ip)));
    if from_proxy
        && let Some(h) = &state.web.client_ip_header
        && let Some(v) = parts.headers.get(h).and_then(|v| v.to_str().ok())
        && let Some(last) = v
            .rsplit(',')
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    {
        return last.to_string();
    }
    peer.map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    use tower_http::trace::TraceLayer;
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            // The route's template where one matched: a file's token (or a signed link's)
            // stays out of the logs.
            let path = req
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| req.uri().path(), |m| m.as_str());
            tracing::info_span!("http", method = %req.method(), path = %path)
        })
        .on_request(())
        .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG));
    health::routes()
        .merge(metrics::routes())
        .merge(webhooks::routes())
        .merge(api::routes())
        .merge(widget::routes(&state))
        .merge(continuing::routes())
        .merge(assets::routes())
        .fallback(api::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            connections::body_deadline::body_deadline,
        ))
        .layer(axum::middleware::from_fn(connections::reserve::health_only))
        .layer(axum::middleware::from_fn(count))
        .layer(trace)
        .layer(
            tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
                HeaderName::from_static(widget::VISITOR_HEADER),
            ]),
        )
        .with_state(state)
}

async fn count(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().to_string();
    let res = next.run(req).await;
    ::metrics::counter!("deflect_http_requests_total", "route" => route.clone(), "method" => method, "status" => res.status().as_u16().to_string())
        .increment(1);
    ::metrics::histogram!("deflect_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Serves `router` on `listener` with the default connection limits (those of
/// `[http]`'s embedded defaults) until `shutdown` completes, then stops accepting and lets
/// requests in progress finish. The gateway uses [`connections::serve`] with the configured
/// limits.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    connections::serve(
        listener,
        router,
        connections::ConnectionLimits::default(),
        shutdown,
    )
    .await
}
