//! The HTTP listener's driver: accepts connections, admits them ([`super::admission`]) or
//! refuses them ([`super::refusal`]), and serves each taken one with hyper (HTTP/1.1, with
//! upgrades to WebSockets) under the header timeout, until shutdown.
//!
//! hyper's header timeout runs from the moment a connection waits for a request head — when
//! it opens and again after each answer — so one timer closes both a client that trickles its
//! headers and an idle keep-alive connection. It needs hyper's timer, which `axum::serve`
//! does not set; that, and the admission before a connection is served, is why the listener
//! is driven here rather than by `axum::serve`.

use super::admission::{Admission, Permit, Refusal};
use super::refusal::{REFUSING_AT_ONCE, refuse};
use super::stream::TrackedStream;
use super::{ConnectionInfo, ConnectionLimits, HEALTH_RESERVE, MAX_BUF_SIZE, MAX_HEADER_SIZE};
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::Service;
use tracing::{debug, warn};

/// Serves `router` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, lets requests in progress finish, and returns when every HTTP connection has
/// closed (upgraded connections — WebSockets — end on their own).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    super::fd_limit::warn_if_too_low(&limits);
    let admission = Admission::new(
        limits.max_connections,
        limits.max_connections_per_source,
        HEALTH_RESERVE,
    );
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let retry_after_secs = limits.retry_after_secs();
    let limits = Arc::new(limits);
    // `stop` tells connections to finish; each holds a `done` receiver until it has.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        match admission.admit(peer.ip()) {
            Ok(permit) => {
                tokio::spawn(connection(
                    stream,
                    peer,
                    permit,
                    router.clone(),
                    limits.clone(),
                    stop_rx.clone(),
                    done_rx.clone(),
                ));
            }
            Err(refusal) => {
                let reason = match refusal {
                    Refusal::SourceFull => "per_source",
                    Refusal::TotalFull => "total",
                };
                metrics::counter!("deflect_http_connections_refused_total", "reason" => reason)
                    .increment(1);
                debug!(%peer, reason, "connection refused at the cap");
                // Beyond the refusals being answered, a refused connection is closed unanswered.
                if let Ok(slot) = refusing.clone().try_acquire_owned() {
                    tokio::spawn(refuse(stream, refusal, retry_after_secs, slot));
                }
            }
        }
    }
    drop(listener);
    // Best effort: no connection may be left to tell.
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// After a failed accept: errors about one connection are passed over; others (out of file
/// descriptors) are retried after a pause, so the loop does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    warn!(cause = %e, "cannot accept HTTP connections; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one taken connection.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: Permit,
    router: Router,
    limits: Arc<ConnectionLimits>,
    mut stop: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let info = ConnectionInfo {
        admitted: permit.admitted(),
        retry_after_secs: limits.retry_after_secs(),
    };
    let io = TokioIo::new(TrackedStream::new(stream, permit, limits.send_timeout));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(info);
        // A Router is always ready: no `poll_ready` needed.
        router.clone().call(req)
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_BUF_SIZE)
        .max_header_size(MAX_HEADER_SIZE);
    let mut conn = std::pin::pin!(http.serve_connection(io, service).with_upgrades());
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    closed_on_error(&e, peer, &limits);
                }
                return;
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

fn closed_on_error(e: &hyper::Error, peer: SocketAddr, limits: &ConnectionLimits) {
    if e.is_timeout() {
        metrics::counter!("deflect_http_connections_closed_total", "reason" => "header_timeout")
            .increment(1);
        debug!(%peer, timeout = ?limits.header_timeout, "no request head in time (idle or slow); connection closed");
    } else {
        debug!(%peer, cause = %e, "connection ended on an error");
    }
}
