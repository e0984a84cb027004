//! The answer to a connection refused at the cap — 429 (its source holds too many) or 503
//! (all sources together do), with `Retry-After` and `Connection: close` — and its delivery.
//!
//! The answer is written as soon as the connection is accepted, without reading the request:
//! reading it first would let a refused client hold the connection as long as a taken one.
//! HTTP/1.1 clients read an answer that arrives before their request is sent. The connection
//! is then closed the way servers close after an early answer ("lingering close"): our side
//! is shut down for writing, and what the client sends (its request) is read and thrown
//! away for up to [`LINGER`], because closing a socket with unread data resets the
//! connection, and a reset can destroy the answer before the client has read it. At most
//! [`REFUSING_AT_ONCE`] refusals are answered at once; beyond that, refused connections are
//! closed at once, unanswered, so that a flood costs no more than that.

use super::admission::Refusal;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

/// How long a refused connection is kept to read what its client sends.
pub const LINGER: Duration = Duration::from_secs(2);

/// Refused connections answered at once.
pub const REFUSING_AT_ONCE: usize = 256;

/// The most of a refused client's request that is read before its connection is closed.
const READ_AT_MOST: usize = 64 * 1024;

/// The whole HTTP/1.1 answer to a refused connection.
pub fn answer(refusal: Refusal, retry_after_secs: u64) -> Vec<u8> {
    let (status, code, message) = match refusal {
        Refusal::SourceFull => (
            "429 Too Many Requests",
            "too_many_connections",
            format!(
                "this address has too many connections open; close some, or retry in {retry_after_secs} s"
            ),
        ),
        Refusal::TotalFull => (
            "503 Service Unavailable",
            "server_busy",
            format!("the server has too many connections open; retry in {retry_after_secs} s"),
        ),
    };
    let body = json!({ "error": { "code": code, "message": message } }).to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: {retry_after_secs}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers a refused connection and closes it (see the module's documentation); `_slot` is
/// its place among the refusals answered at once.
pub(crate) async fn refuse(
    mut stream: TcpStream,
    refusal: Refusal,
    retry_after_secs: u64,
    _slot: OwnedSemaphorePermit,
) {
    let answer = answer(refusal, retry_after_secs);
    let delivered = tokio::time::timeout(LINGER, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 2048];
        let mut read = 0;
        while read < READ_AT_MOST {
            match stream.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    if let Ok(Err(e)) = delivered {
        tracing::debug!(cause = %e, "refused connection: the answer could not be delivered");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parts(bytes: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len(), "content-length matches the body");
        (head.to_string(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn a_source_over_its_share_gets_429_with_retry_after() {
        let (head, body) = parts(&answer(Refusal::SourceFull, 10));
        assert!(
            head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nretry-after: 10\r\n"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert_eq!(body["error"]["code"], "too_many_connections");
    }

    #[test]
    fn a_full_server_answers_503_with_retry_after() {
        let (head, body) = parts(&answer(Refusal::TotalFull, 3));
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nretry-after: 3\r\n"), "{head}");
        assert_eq!(body["error"]["code"], "server_busy");
        assert!(body["error"]["message"].as_str().unwrap().contains("3 s"));
    }
}
