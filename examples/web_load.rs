//! Load generator for the web side (see BENCHMARKS.md, section "Web"; run by
//! `scripts/bench-web`, which starts a release gateway and passes its address and pid).
//!
//! ```text
//! web_load GATEWAY PID SOCKETS MESSAGES APP_SECRET USERNAME PASSWORD
//! ```
//!
//! 1. Starts SOCKETS widget conversations (`POST /widget/sites/default/conversations`, one
//!    visitor token each) and opens one widget WebSocket per conversation (hello, wait for
//!    `ready`), then holds them all; reports the gateway's resident memory before and after
//!    (from /proc/PID/status) and so the memory per held socket.
//! 2. With the sockets held, logs in as USERNAME (a supervisor), opens the agents' live feed
//!    (`/api/v1/events`), and posts MESSAGES signed Meta webhooks one after another; for
//!    each, the time from sending the webhook to the agent's socket receiving its
//!    `message.created` event (fan-out latency), reported as p50/p90/p99.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::rss_kib;

use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send_text(ws: &mut Ws, text: String) {
    ws.send(Message::Text(text.into())).await.unwrap();
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await?.ok()? {
            Message::Text(t) => return Some(t.to_string()),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

async fn ws(url: &str, origin: &str, cookie: Option<&str>) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("origin", origin.parse().unwrap());
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let [_, gateway, pid, sockets, messages, secret, user, password] = &a[..] else {
        eprintln!("usage: web_load GATEWAY PID SOCKETS MESSAGES APP_SECRET USERNAME PASSWORD");
        std::process::exit(64);
    };
    let sockets: usize = sockets.parse().unwrap();
    let messages: usize = messages.parse().unwrap();
    let wsbase = gateway.replacen("http", "ws", 1);
    let http = deflect_chat::provider::http_client();

    // 1. Widget conversations and their sockets.
    let started = Instant::now();
    let mut ids = Vec::with_capacity(sockets);
    for i in 0..sockets {
        let r: serde_json::Value = http
            .post(format!("{gateway}/widget/sites/default/conversations"))
            .header("origin", gateway.as_str())
            .header("x-deflect-visitor", format!("load-visitor-{i:012}-token"))
            .json(&serde_json::json!({ "name": format!("Visitor {i}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(r["id"].as_i64().expect("a conversation id"));
    }
    println!(
        "created {sockets} widget conversations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let before = rss_kib(pid);
    let started = Instant::now();
    let mut held = Vec::with_capacity(sockets);
    for (i, id) in ids.iter().enumerate() {
        let mut s = ws(&format!("{wsbase}/widget/ws?site=default"), gateway, None).await;
        send_text(&mut s, serde_json::json!({ "type": "hello", "token": format!("load-visitor-{i:012}-token"), "conversation_id": id, "after_seq": 0 }).to_string()).await;
        // Wait for `ready`; the replay that follows stays unread in the socket buffers.
        loop {
            let t = next_text(&mut s).await.expect("the socket stays open");
            if t.contains("\"ready\"") {
                break;
            }
        }
        held.push(s);
    }
    let opened = started.elapsed();
    // Let the server settle the replays it sent.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    println!(
        "held {} widget sockets (opened in {:.1} s); gateway RSS {} MiB -> {} MiB: {:.1} KiB per socket",
        held.len(),
        opened.as_secs_f64(),
        before / 1024,
        after / 1024,
        (after.saturating_sub(before)) as f64 / held.len() as f64
    );

    // 2. Fan-out latency to an agent's socket.
    let r = http
        .post(format!("{gateway}/api/v1/session"))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut agent = ws(&format!("{wsbase}/api/v1/events"), gateway, Some(&cookie)).await;
    send_text(&mut agent, r#"{"type":"hello","after":null}"#.to_string()).await;
    while !next_text(&mut agent).await.unwrap().contains("\"ready\"") {}
    let mut lat = Vec::with_capacity(messages);
    for i in 0..messages {
        let from = 31_600_000_000u64 + (i % 200) as u64;
        let wamid = format!("wamid.fanout.{}.{i}", std::process::id());
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"31201234567","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Load {from}"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"{wamid}","timestamp":"1767225600","type":"text","text":{{"body":"fan-out {i}"}}}}]}},"field":"messages"}}]}}]}}"#
        );
        let sig = deflect_chat::provider::meta::sign(secret, body.as_bytes());
        let t0 = Instant::now();
        let res = http
            .post(format!("{gateway}/webhooks/meta/main"))
            .header("x-hub-signature-256", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        loop {
            let t = next_text(&mut agent)
                .await
                .expect("the agent socket stays open");
            if t.contains(&wamid) && t.contains(deflect_chat::EventKind::MessageCreated.as_str()) {
                break;
            }
        }
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!(
        "fan-out webhook -> agent socket, {} messages one after another, {} widget sockets held: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        held.len(),
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.90).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
    println!("gateway RSS at the end: {} MiB", rss_kib(pid) / 1024);
    drop(held);
}
