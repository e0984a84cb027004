//! How the HTTP listener holds up against many, slow and idle connections.
//!
//! | promise | how | answer |
//! |---|---|---|
//! | one source holds at most `http.max_connections_per_source` connections (WebSockets included) | [`admission`] at accept | 429, `Retry-After` |
//! | all sources together hold at most `http.max_connections` | [`admission`] at accept | 503, `Retry-After` |
//! | health checks still get through when all are taken | [`HEALTH_RESERVE`] more connections for `/healthz`, `/readyz`, `/metrics` ([`reserve`]) | others 503 |
//! | a request head arrives within `http.header_timeout` of the connection opening or of the previous answer (slow headers, idle keep-alive) | hyper's header timeout ([`server`]) | closed |
//! | a request body arrives within `http.body_timeout` of its head | [`body_deadline`] | 408, closed |
//! | a peer that takes nothing sent to it for `http.send_timeout` is dropped (slow readers, vanished hosts, WebSockets too) | [`stream`] | closed |
//! | request heads are at most [`MAX_HEADER_SIZE`] | hyper | 431, closed |
//!
//! `Retry-After` is the header timeout in whole seconds: by then, idle connections have been
//! closed. A source is the TCP peer, never `http.client_ip_header`, which a client could
//! write: behind a reverse proxy all connections come from the proxy, so there
//! `http.max_connections_per_source` should be `http.max_connections` and clients are capped
//! at the proxy. WebSockets are not idle while their pings flow (`crate::live`,
//! `crate::widget`); they end by their own silence limit.
//!
//! At start the listener warns when `http.max_connections` does not fit under the process's
//! open-file limit ([`fd_limit`]).
//!
//! Metrics: `deflect_http_connections` (open), `deflect_http_connections_refused_total{reason}`
//! (`per_source`, `total`), `deflect_http_connections_closed_total{reason}` (`header_timeout`,
//! `body_timeout`, `send_timeout`).

pub mod admission;
pub mod body_deadline;
pub mod fd_limit;
pub mod refusal;
pub mod reserve;
mod server;
mod stream;

pub use server::serve;
pub use stream::SendStalled;

use admission::Admitted;
use deflect_config::HttpConfig;
use std::time::Duration;

/// Connections taken beyond `http.max_connections` for health checks only.
pub const HEALTH_RESERVE: usize = 8;

/// The largest request head (request line and headers) taken; larger ones get 431.
pub const MAX_HEADER_SIZE: usize = 32 * 1024;

/// The most a connection buffers of what it reads (hyper's read buffer).
const MAX_BUF_SIZE: usize = 64 * 1024;

/// The listener's settings (from `[http]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `http.max_connections`.
    pub max_connections: usize,
    /// `http.max_connections_per_source`.
    pub max_connections_per_source: usize,
    /// `http.header_timeout`.
    pub header_timeout: Duration,
    /// `http.send_timeout`.
    pub send_timeout: Duration,
}

impl ConnectionLimits {
    /// From `[http]`.
    pub fn from_config(http: &HttpConfig) -> Self {
        Self {
            max_connections: http.max_connections,
            max_connections_per_source: http.max_connections_per_source,
            header_timeout: http.header_timeout,
            send_timeout: http.send_timeout,
        }
    }

    /// `Retry-After` in refusals: the header timeout, rounded up to whole seconds.
    pub fn retry_after_secs(&self) -> u64 {
        self.header_timeout.as_secs_f64().ceil().max(1.0) as u64
    }
}

impl Default for ConnectionLimits {
    /// The embedded defaults of `[http]`.
    fn default() -> Self {
        Self::from_config(&HttpConfig::default())
    }
}

/// What the listener tells the router about a request's connection (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Whether it was taken fully or from the reserve.
    pub admitted: Admitted,
    /// `Retry-After` for refusals on it.
    pub retry_after_secs: u64,
}
