//! The HTTP listener under many, slow and idle connections, over real sockets: a source over
//! its share gets 429 and all sources over the total 503, both with `Retry-After`; health
//! checks get through the reserve; WebSockets count and stay open while their pings flow;
//! slow headers, idle keep-alive connections and slow bodies are closed.
//!
//! Timeouts here are short and configured; the tests wait for what can be observed (an
//! answer, the connection closing), each bounded by a generous deadline so a failure does
//! not hang.

#![allow(clippy::unwrap_used)]

use deflect_chat::{Inbox, Role};
use deflect_config::Config;
use deflect_web::connections::ConnectionLimits;
use deflect_web::testing::{self, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Bounds every wait, so that a broken promise fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(20);

struct Server {
    addr: String,
    inbox: Inbox,
    _server: TestServer,
}

async fn server(limits: ConnectionLimits, body_timeout: Duration) -> Server {
    let mut c = Config::default();
    c.http.body_timeout = body_timeout;
    let server = TestServer::with_limits(&c, limits).await;
    Server {
        addr: server.addr.to_string(),
        inbox: server.inbox.clone(),
        _server: server,
    }
}

fn limits(per_source: usize, total: usize, header_timeout: Duration) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: total,
        max_connections_per_source: per_source,
        header_timeout,
        send_timeout: Duration::from_secs(30),
    }
}

/// An answer as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn code(&self) -> String {
        let v: Value = serde_json::from_str(&self.body).unwrap();
        v["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

/// Reads one answer; `None` when the connection closes first.
async fn read_answer(s: &mut (impl AsyncRead + Unpin)) -> Option<Answer> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let mut a = Answer {
                    status: head.split_whitespace().nth(1)?.parse().ok()?,
                    head,
                    body: String::new(),
                };
                let length: usize = a.header("content-length").map_or(0, |l| l.parse().unwrap());
                while buf.len() < end + 4 + length {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                a.body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                return Some(a);
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("an answer or a close in time")
}

async fn get(s: &mut TcpStream, path: &str) -> Option<Answer> {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .ok()?;
    read_answer(s).await
}

/// A connection that got through: it answered `GET /healthz` with 200 and stays open.
async fn taken(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let a = get(&mut s, "/healthz").await.expect("an answer");
    assert_eq!(a.status, 200, "{a:?}");
    s
}

/// The answer a connection gets without asking anything: a refusal at the cap.
async fn refused(addr: &str) -> Answer {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let a = read_answer(&mut s)
        .await
        .expect("an answer before any request");
    assert_eq!(a.header("connection"), Some("close"), "{a:?}");
    a
}

/// Waits until the server has closed `s` (a read sees the end); how long that took.
async fn closed_by_server(s: &mut (impl AsyncRead + Unpin)) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, closed)
        .await
        .expect("the server closes the connection");
    started.elapsed()
}

/// Connects until a connection is taken again (the server frees a place when it notices a
/// close, which it does on its own time).
async fn taken_again(addr: &str) -> TcpStream {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        match get(&mut s, "/healthz").await {
            Some(a) if a.status == 200 => return s,
            a => assert!(Instant::now() < deadline, "no place came free: {a:?}"),
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_over_its_share_gets_429_with_retry_after() {
    let s = server(
        limits(3, 100, Duration::from_secs(30)),
        Duration::from_secs(30),
    )
    .await;
    let mut held = vec![
        taken(&s.addr).await,
        taken(&s.addr).await,
        taken(&s.addr).await,
    ];
    let a = refused(&s.addr).await;
    assert_eq!(a.status, 429, "{a:?}");
    assert_eq!(a.header("retry-after"), Some("30"), "the header timeout");
    assert_eq!(a.code(), "too_many_connections");
    // The connections held are unaffected, and a closed one frees its place.
    let a = get(&mut held[0], "/healthz").await.unwrap();
    assert_eq!(a.status, 200);
    drop(held.pop());
    let _again = taken_again(&s.addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_sources_over_the_total_get_503_and_health_checks_use_the_reserve() {
    let s = server(
        limits(1000, 2, Duration::from_secs(30)),
        Duration::from_secs(30),
    )
    .await;
    let _full = [taken(&s.addr).await, taken(&s.addr).await];
    // Beyond the total, the reserve: health checks are answered, on a connection that closes.
    let mut r = TcpStream::connect(&s.addr).await.unwrap();
    let a = get(&mut r, "/healthz").await.unwrap();
    assert_eq!(
        (a.status, a.header("connection")),
        (200, Some("close")),
        "{a:?}"
    );
    closed_by_server(&mut r).await;
    let mut r = TcpStream::connect(&s.addr).await.unwrap();
    let a = get(&mut r, "/api/v1/conversations").await.unwrap();
    assert_eq!(
        (a.status, a.header("retry-after"), a.code().as_str()),
        (503, Some("30"), "server_busy"),
        "{a:?}"
    );
    // The reserve taken too: refused at once.
    let reserve: Vec<TcpStream> = {
        let mut v = Vec::new();
        for _ in 0..deflect_web::connections::HEALTH_RESERVE {
            v.push(TcpStream::connect(&s.addr).await.unwrap());
        }
        v
    };
    let a = refused(&s.addr).await;
    assert_eq!(
        (a.status, a.header("retry-after"), a.code().as_str()),
        (503, Some("30"), "server_busy"),
        "{a:?}"
    );
    // A reserve connection answers health checks only.
    let mut reserve = reserve.into_iter();
    let a = get(&mut reserve.next().unwrap(), "/healthz").await.unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    let a = get(&mut reserve.next().unwrap(), "/metrics").await.unwrap();
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_count_against_the_share_and_stay_open_while_pings_flow() {
    let header_timeout = Duration::from_millis(300);
    let s = server(limits(2, 100, header_timeout), Duration::from_secs(30)).await;
    let agent = testing::agent(&s.inbox, "ann", Role::Supervisor, &[]).await;
    let cookie = testing::session_cookie(&s.inbox, agent.id).await;
    let open = || async {
        let mut req = format!("ws://{}/api/v1/events", s.addr)
            .into_client_request()
            .unwrap();
        let h = req.headers_mut();
        h.insert("origin", format!("http://{}", s.addr).parse().unwrap());
        h.insert("cookie", cookie.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws.send(Message::Text(r#"{"type":"hello","after":null}"#.into()))
            .await
            .unwrap();
        assert_eq!(next_json(&mut ws).await["type"], "ready");
        ws
    };
    let mut sockets = [open().await, open().await];
    // Pings flow for several header timeouts: the sockets stay open.
    let started = Instant::now();
    while started.elapsed() < header_timeout * 4 {
        for ws in &mut sockets {
            ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
                .await
                .unwrap();
            assert_eq!(next_json(ws).await["type"], "pong");
        }
        tokio::time::sleep(header_timeout / 3).await;
    }
    // They count against the source's share.
    let a = refused(&s.addr).await;
    assert_eq!(a.status, 429, "{a:?}");
    let [mut first, second] = sockets;
    first
        .send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut first).await["type"], "pong");
    drop(second);
    let _again = taken_again(&s.addr).await;
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Value {
    let next = async {
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, next)
        .await
        .expect("a message in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_trickled_byte_by_byte_are_cut_off_at_the_header_timeout() {
    let header_timeout = Duration::from_millis(500);
    let s = server(limits(10, 100, header_timeout), Duration::from_secs(30)).await;
    let mut c = TcpStream::connect(&s.addr).await.unwrap();
    let started = Instant::now();
    // A slowloris client: one byte of a request head every 50 ms, never finishing it.
    let head = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ".repeat(10);
    let mut buf = [0u8; 256];
    let mut closed = false;
    for byte in head {
        if c.write_all(&[byte]).await.is_err() {
            closed = true;
            break;
        }
        match tokio::time::timeout(Duration::from_millis(50), c.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => panic!("an answer to an unfinished head: {:?}", &buf[..n]),
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the connection was never closed"
        );
    }
    assert!(closed, "the connection outlived the whole trickle");
    let took = started.elapsed();
    assert!(
        took >= header_timeout,
        "closed after {took:?}, before the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let header_timeout = Duration::from_millis(500);
    let s = server(limits(10, 100, header_timeout), Duration::from_secs(30)).await;
    let mut c = taken(&s.addr).await;
    let idle = closed_by_server(&mut c).await;
    assert!(idle >= header_timeout / 2, "closed after {idle:?}");
    // A connection that never sends anything: the same.
    let mut c = TcpStream::connect(&s.addr).await.unwrap();
    let silent = closed_by_server(&mut c).await;
    assert!(silent >= header_timeout / 2, "closed after {silent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_past_the_body_timeout_gets_408_and_is_closed() {
    let body_timeout = Duration::from_millis(500);
    let s = server(limits(10, 100, Duration::from_secs(30)), body_timeout).await;
    let mut c = TcpStream::connect(&s.addr).await.unwrap();
    let body = br#"{"username": "ann", "password": "correct horse battery"}"#;
    // The server's body timer starts once it has read the head, which may be before this
    // task runs again after writing it: the clock starts before the head is sent, so the
    // time measured is never shorter than the server's.
    let started = Instant::now();
    c.write_all(
        format!(
            "POST /api/v1/session HTTP/1.1\r\nHost: test\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (mut read, mut write) = c.into_split();
    // One byte every 50 ms: each arrives well within any gap limit, the whole never in time.
    tokio::spawn(async move {
        for byte in body {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let a = read_answer(&mut read).await.expect("an answer");
    assert_eq!(
        (a.status, a.code().as_str(), a.header("connection")),
        (408, "request_timeout", Some("close")),
        "{a:?}"
    );
    assert!(started.elapsed() >= body_timeout);
    closed_by_server(&mut read).await;
}
