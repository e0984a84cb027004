//! Connection load from one source (see BENCHMARKS.md, section "Connections"; run by
//! `scripts/bench-connections`, which starts a release gateway and passes its address and pid).
//!
//! ```text
//! connection_load http|sip ADDRESS PID CONNECTIONS ROUNDS [SETTLE_SECS]
//! ```
//!
//! Each round opens CONNECTIONS TCP connections from 127.0.0.1 to ADDRESS (256 being opened
//! at a time), sends one request on each (`GET /healthz` keep-alive, or a SIP `OPTIONS`) and
//! reads its answer, holds them all, then closes them all and waits until the gateway has
//! closed its ends (its count of open file descriptors is back where it was). It prints the
//! answers by status and the gateway's resident memory (`VmRSS` from /proc/PID/status) before,
//! while the connections are held and after they are closed, so that rounds show whether
//! memory that stays after the first round is reused (allocator retention) or keeps growing
//! (a leak). With SETTLE_SECS, it also reports the memory that long after the close, for
//! allocators that give memory back to the system after a delay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::rss_kib;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn request(kind: &str, address: &str, local: &str, tag: &str) -> String {
    match kind {
        "http" => format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n"),
        _ => format!(
            "OPTIONS sip:gw@{address};transport=tcp SIP/2.0\r\n\
             Via: SIP/2.0/TCP {local};branch=z9hG4bK-{tag}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:load@127.0.0.1>;tag={tag}\r\n\
             To: <sip:gw@{address}>\r\n\
             Call-ID: {tag}@127.0.0.1\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        ),
    }
}

/// Connects, sends one request and reads the answer's head and body; the status code (or
/// what went wrong) and the stream, when it is still open.
async fn one(kind: &str, address: &str, tag: String) -> (String, Option<TcpStream>) {
    let mut s = match TcpStream::connect(address).await {
        Ok(s) => s,
        Err(e) => return (format!("connect failed: {}", e.kind()), None),
    };
    let local = s.local_addr().unwrap().to_string();
    if s.write_all(request(kind, address, &local, &tag).as_bytes())
        .await
        .is_err()
    {
        return ("closed before the request was sent".into(), None);
    }
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status = head
                .split_whitespace()
                .nth(1)
                .unwrap_or("unparsable")
                .to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return (status, None),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let closes = head.to_ascii_lowercase().contains("connection: close");
            return (status, (!closes).then_some(s));
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return ("closed without an answer".into(), None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (kind, address, pid, connections, rounds, settle) = match &a[..] {
        [_, k, ad, p, c, r] => (k, ad, p, c, r, 0),
        [_, k, ad, p, c, r, s] => (k, ad, p, c, r, s.parse().unwrap()),
        _ => {
            eprintln!(
                "usage: connection_load http|sip ADDRESS PID CONNECTIONS ROUNDS [SETTLE_SECS]"
            );
            std::process::exit(64);
        }
    };
    let settle = Duration::from_secs(settle);
    assert!(kind == "http" || kind == "sip", "http or sip, not {kind}");
    let connections: usize = connections.parse().unwrap();
    let rounds: usize = rounds.parse().unwrap();
    let opening = Arc::new(tokio::sync::Semaphore::new(256));
    println!(
        "| listener | round | answers | RSS before | RSS held | RSS after close | {}held − before per connection |",
        if settle.is_zero() {
            String::new()
        } else {
            format!("RSS {} s later | ", settle.as_secs())
        }
    );
    println!(
        "|---|---|---|---|---|---|---|{}",
        if settle.is_zero() { "" } else { "---|" }
    );
    for round in 1..=rounds {
        let fds_before = open_fds(pid);
        let before = rss_kib(pid);
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..connections {
            let permit = opening.clone().acquire_owned().await.unwrap();
            let (kind, address) = (kind.clone(), address.clone());
            let tag = format!("load-{}-{round}-{i}", std::process::id());
            tasks.spawn(async move {
                let r = one(&kind, &address, tag).await;
                drop(permit);
                r
            });
        }
        let mut answers: BTreeMap<String, usize> = BTreeMap::new();
        let mut held = Vec::with_capacity(connections);
        while let Some(r) = tasks.join_next().await {
            let (status, stream) = r.unwrap();
            *answers.entry(status).or_default() += 1;
            held.extend(stream);
        }
        let opened = started.elapsed();
        let during = rss_kib(pid);
        let open_during = held.len();
        drop(held);
        // The gateway notices each close when it next reads; wait for all of them.
        let deadline = Instant::now() + Duration::from_secs(60);
        while open_fds(pid) > fds_before + 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let after = rss_kib(pid);
        let settled = if settle.is_zero() {
            String::new()
        } else {
            tokio::time::sleep(settle).await;
            format!("{:.1} MiB | ", rss_kib(pid) as f64 / 1024.0)
        };
        let answers = answers
            .iter()
            .map(|(s, n)| format!("{n} × {s}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "| {kind} | {round} | {answers}; {open_during} held open (opened in {:.1} s) | {:.1} MiB | {:.1} MiB | {:.1} MiB | {settled}{:.1} KiB |",
            opened.as_secs_f64(),
            before as f64 / 1024.0,
            during as f64 / 1024.0,
            after as f64 / 1024.0,
            during.saturating_sub(before) as f64 / connections.max(1) as f64,
        );
        if open_fds(pid) > fds_before + 2 {
            println!(
                "warning: the gateway still has {} more open descriptors than before the round",
                open_fds(pid) - fds_before
            );
        }
    }
}
