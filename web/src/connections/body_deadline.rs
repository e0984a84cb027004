//! A request's body must arrive in full within `http.body_timeout` of its head: a client
//! trickling its body (slowloris on bodies) would otherwise hold its connection and handler
//! for as long as it likes. The deadline is for the whole body, not between its pieces, so a
//! byte now and then does not extend it. Past it the body ends with an error (whatever was
//! reading it gives up), the answer is 408 `request_timeout`, and the connection is closed.
//!
//! A large body (an agent's 100 MB document) cannot arrive in `http.body_timeout` on an
//! ordinary link: a body that declares its length gets that long plus the time its length
//! takes at [`MIN_RATE`] ([`allowed`]). A client must still keep sending at that rate on
//! average — a trickle does not hold the connection any longer than before.

use crate::AppState;
use crate::error::ApiError;
use axum::BoxError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The error a body that missed its deadline ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request's body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

/// The slowest average rate a declared body may arrive at: 64 KiB/s, a poor mobile uplink.
pub const MIN_RATE: u64 = 64 * 1024;

/// How long a body of `length` bytes (when declared) may take: `timeout`, plus its length at
/// [`MIN_RATE`].
pub fn allowed(timeout: Duration, length: Option<u64>) -> Duration {
    let transfer = length.map_or(0.0, |n| n as f64 / MIN_RATE as f64);
    timeout + Duration::from_secs_f64(transfer)
}

/// The middleware.
pub(crate) async fn body_deadline(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let length = (req.headers().get(header::CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let timeout = allowed(state.web.body_timeout, length);
    let expired = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| Body::new(DeadlineBody::new(body, timeout, expired.clone())));
    let res = next.run(req).await;
    if !expired.load(Ordering::Acquire) {
        return res;
    }
    metrics::counter!("deflect_http_connections_closed_total", "reason" => "body_timeout")
        .increment(1);
    tracing::debug!(timeout = ?timeout, "request body too slow; closing the connection");
    let mut res = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "the request's body did not arrive within {}",
            humantime::format_duration(timeout)
        ),
    )
    .into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// A body that fails with [`BodyTimedOut`] when it is not complete by its deadline.
pub struct DeadlineBody<B> {
    inner: B,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

impl<B> DeadlineBody<B> {
    /// `inner`, due within `timeout` from now; `expired` is set when it misses that.
    pub fn new(inner: B, timeout: Duration, expired: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            expired,
        }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // What has arrived is passed on even when the deadline has just passed.
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.expired.store(true, Ordering::Release);
        Poll::Ready(Some(Err(BodyTimedOut(self.timeout).into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http_body_util::BodyExt;

    /// A body that sends a byte, then nothing, forever.
    struct Trickle(bool);

    impl HttpBody for Trickle {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            if std::mem::replace(&mut self.0, false) {
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
            } else {
                Poll::Pending
            }
        }
    }

    #[test]
    fn a_declared_body_gets_the_time_its_length_takes_at_the_slowest_rate() {
        let t = Duration::from_secs(30);
        assert_eq!(allowed(t, None), t);
        assert_eq!(allowed(t, Some(0)), t);
        assert_eq!(allowed(t, Some(2 * MIN_RATE)), Duration::from_secs(32));
        // WhatsApp's largest document, 100 MB: 30 s + 1,600 s.
        assert_eq!(
            allowed(t, Some(100 * 1024 * 1024)),
            Duration::from_secs(1630)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_not_complete_by_its_deadline_fails() {
        let expired = Arc::new(AtomicBool::new(false));
        let started = tokio::time::Instant::now();
        let mut body = DeadlineBody::new(Trickle(true), Duration::from_secs(30), expired.clone());
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "x");
        let e = body.frame().await.unwrap().unwrap_err();
        assert!(e.is::<BodyTimedOut>(), "{e}");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert!(expired.load(Ordering::Acquire));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_complete_in_time_is_passed_on_whole() {
        let expired = Arc::new(AtomicBool::new(false));
        let body = DeadlineBody::new(
            http_body_util::Full::new(Bytes::from_static(b"hello")),
            Duration::from_secs(30),
            expired.clone(),
        );
        assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
        assert!(!expired.load(Ordering::Acquire));
    }
}
