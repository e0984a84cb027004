//! The TCP listener under connection floods, on loopback: connections beyond the per-source
//! and total caps are closed at once (allow-listed sources pass a full total), and a
//! connection that trickles bytes without ever finishing a message is closed after
//! `tcp_message_timeout` although it is never idle.

#![allow(clippy::unwrap_used)]

use deflect_config::{ListenAddr, SipConfig, TrunkConfig};
use deflect_sip::runtime::{Incoming, Sip};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

const PATIENCE: Duration = Duration::from_secs(20);

async fn stack(config: SipConfig) -> (Sip, Incoming, SocketAddr) {
    let config = SipConfig {
        listen: vec!["tcp:127.0.0.1:0".parse::<ListenAddr>().unwrap()],
        ..config
    };
    let listeners = deflect_sip::transport::bind(&config.listen).await.unwrap();
    let (sip, incoming) = Sip::start(&config, listeners).unwrap();
    let addr = sip.local_addrs()[0].1;
    (sip, incoming, addr)
}

/// Trunks that allow-list only 127.0.0.9 (so other loopback sources are untrusted).
fn config(total: u32, per_source: u32) -> SipConfig {
    SipConfig {
        tcp_max_connections: total,
        tcp_max_connections_per_source: per_source,
        trunks: vec![TrunkConfig {
            name: "trusted".into(),
            allow: vec!["127.0.0.9".parse().unwrap()],
            ..TrunkConfig::default()
        }],
        ..SipConfig::default()
    }
}

async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends OPTIONS and reads until a whole response line arrives (`Some(status line)`) or
/// the server closes the connection (`None`).
async fn probe(conn: &mut TcpStream, to: SocketAddr, n: u32) -> Option<String> {
    let local = conn.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:x@{to};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKp{n}\r\n\
         From: <sip:p@{local}>;tag={n}\r\nTo: <sip:x@{to}>\r\nCall-ID: probe{n}-{}\r\nCSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        local.port()
    );
    // A refused connection may already be closed: a failed write is an answer too.
    if conn.write_all(options.as_bytes()).await.is_err() {
        return None;
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let n = match timeout(PATIENCE, conn.read(&mut buf)).await.unwrap() {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        seen.extend_from_slice(&buf[..n]);
        if let Some(end) = seen.windows(2).position(|w| w == b"\r\n") {
            return Some(String::from_utf8_lossy(&seen[..end]).into_owned());
        }
    }
}

#[tokio::test]
async fn connections_beyond_the_per_source_cap_are_closed_at_once() {
    let (_sip, _incoming, addr) = stack(config(100, 3)).await;
    let mut held = Vec::new();
    for i in 0..3 {
        let mut c = connect_from("127.0.0.2", addr).await;
        // Served: 403 (127.0.0.2 is on no trunk), but an answer on this connection.
        let status = probe(&mut c, addr, i).await;
        assert_eq!(status.as_deref(), Some("SIP/2.0 403 Forbidden"), "{i}");
        held.push(c);
    }
    let mut fourth = connect_from("127.0.0.2", addr).await;
    assert_eq!(
        probe(&mut fourth, addr, 3).await,
        None,
        "closed, never served"
    );
    // Another source is not affected.
    let mut other = connect_from("127.0.0.3", addr).await;
    assert!(probe(&mut other, addr, 4).await.is_some());
    // A connection closed gives its place back.
    drop(held.pop());
    let deadline = Instant::now() + PATIENCE;
    let mut n = 5;
    loop {
        let mut again = connect_from("127.0.0.2", addr).await;
        if probe(&mut again, addr, n).await.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was never given back"
        );
        n += 1;
    }
}

#[tokio::test]
async fn the_total_cap_refuses_everyone_but_allow_listed_sources() {
    let (_sip, _incoming, addr) = stack(config(3, 2)).await;
    let mut held = Vec::new();
    for (i, from) in ["127.0.0.2", "127.0.0.2", "127.0.0.3"].iter().enumerate() {
        let mut c = connect_from(from, addr).await;
        assert!(probe(&mut c, addr, i as u32).await.is_some(), "{i}");
        held.push(c);
    }
    let mut late = connect_from("127.0.0.4", addr).await;
    assert_eq!(probe(&mut late, addr, 10).await, None);
    // The trunk's address still gets in (and is answered as the trunk: 200).
    let mut trunk = connect_from("127.0.0.9", addr).await;
    assert_eq!(
        probe(&mut trunk, addr, 11).await.as_deref(),
        Some("SIP/2.0 200 OK")
    );
}

#[tokio::test]
async fn a_trickle_that_never_finishes_a_message_is_closed() {
    let (_sip, _incoming, addr) = stack(SipConfig {
        tcp_idle_timeout: Duration::from_secs(60),
        tcp_message_timeout: Duration::from_secs(1),
        ..SipConfig::default()
    })
    .await;
    let mut conn = connect_from("127.0.0.2", addr).await;
    let start = Instant::now();
    let head = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2:5060;branch=z9hG4bKs\r\nX-Pad: ";
    conn.write_all(head).await.unwrap();
    // One byte every 100 ms: never idle for a second, never a whole message.
    let mut buf = [0u8; 64];
    let closed = loop {
        assert!(
            start.elapsed() < PATIENCE,
            "the slow connection was never closed"
        );
        if conn.write_all(b"a").await.is_err() {
            break start.elapsed();
        }
        match timeout(Duration::from_millis(100), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break start.elapsed(),
            Ok(Ok(_)) => panic!("nothing should be answered"),
            Err(_) => {}
        }
    };
    assert!(closed >= Duration::from_secs(1), "closed after {closed:?}");
}
