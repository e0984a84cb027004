//! An accepted HTTP connection's socket, as hyper (and after an upgrade, a WebSocket) uses it:
//! it holds the connection's [`Permit`] — so a WebSocket keeps counting against the caps for
//! as long as it lives — and fails a send that makes no progress for the send timeout, so a
//! peer that stops reading (or vanished without a FIN) cannot hold the connection with
//! answers or frames queued for it.
//!
//! A send stalls when the socket's buffer is full: the write is pending. The stall is timed
//! from the first pending write after the last one that went through; any write or flush
//! that goes through ends it.

use super::admission::Permit;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// The error a stalled send ends the connection with.
#[derive(Debug, thiserror::Error)]
#[error("the peer took nothing sent to it for {0:?}")]
pub struct SendStalled(pub Duration);

/// A connection's socket with its permit and send timeout.
#[derive(Debug)]
pub(crate) struct TrackedStream {
    stream: TcpStream,
    _permit: Permit,
    send_timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl TrackedStream {
    pub(crate) fn new(stream: TcpStream, permit: Permit, send_timeout: Duration) -> Self {
        metrics::gauge!("deflect_http_connections").increment(1.0);
        Self {
            stream,
            _permit: permit,
            send_timeout,
            stalled: None,
        }
    }

    /// Passes a send's outcome on, timing the stall while it is pending.
    fn watch<T>(&mut self, cx: &mut Context<'_>, sent: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if sent.is_ready() {
            self.stalled = None;
            return sent;
        }
        let timeout = self.send_timeout;
        let stall = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stall.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        metrics::counter!("deflect_http_connections_closed_total", "reason" => "send_timeout")
            .increment(1);
        tracing::debug!(timeout = ?timeout, "closing a connection whose peer stopped reading");
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            SendStalled(timeout),
        )))
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        metrics::gauge!("deflect_http_connections").decrement(1.0);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let sent = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch(cx, sent)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let sent = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch(cx, sent)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let sent = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch(cx, sent)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let sent = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.watch(cx, sent)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::connections::admission::Admission;
    use tokio::io::AsyncWriteExt;

    /// Over a real socket (so real time): the peer connects and never reads.
    #[tokio::test]
    async fn a_send_the_peer_never_takes_fails_after_the_send_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, from) = listener.accept().await.unwrap();
        let admission = Admission::new(10, 10, 0);
        let permit = admission.admit(from.ip()).unwrap();
        let timeout = Duration::from_millis(300);
        let mut s = TrackedStream::new(accepted, permit, timeout);
        let chunk = vec![0u8; 64 * 1024];
        let started = tokio::time::Instant::now();
        let e = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Err(e) = s.write_all(&chunk).await {
                    return e;
                }
            }
        })
        .await
        .expect("the send fails once the buffers are full");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.get_ref().unwrap().is::<SendStalled>(), "{e}");
        assert!(started.elapsed() >= timeout);
        assert_eq!(admission.open(), 1, "the permit lives with the stream");
        drop(s);
        assert_eq!(admission.open(), 0, "and goes with it");
        drop(peer);
    }
}
