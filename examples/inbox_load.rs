//! Load generator for the inbox (see BENCHMARKS.md, section "Inbox"; run by
//! `scripts/bench-inbox`).
//!
//! ```text
//! inbox_load inbound DB_URL PROCESSES MESSAGES CONCURRENCY
//!     Signed Meta webhooks (one text message each, 500 customers) posted over HTTP to
//!     PROCESSES gateway processes (this program in `serve` mode: the gateway's router and
//!     inbox) on one database; measures webhook → committed → event published: the time from
//!     sending the request to receiving the message's `message.created` event (in-process
//!     subscription on SQLite; LISTEN on PostgreSQL, i.e. as another process sees it).
//! inbox_load outbox DB_URL MESSAGES
//!     MESSAGES deflection templates committed, then sent by the outbox worker to a local
//!     fake Cloud API; measures the send rate (account paced at 1000 messages/s).
//! inbox_load serve DB_URL PORT
//!     One gateway-like process (used by `inbound`).
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use deflect_chat::{Inbox, InboxSettings, Store, SystemClock};
use deflect_config::{AccountConfig, Config, DatabaseUrl, Provider, Secret};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-app-secret";

fn settings(api: Option<std::net::SocketAddr>) -> InboxSettings {
    let mut c = Config::default();
    c.whatsapp.accounts = vec![AccountConfig {
        name: "main".into(),
        provider: Provider::Meta,
        business_number: "+31201234567".into(),
        phone_number_id: Some("106540352242922".into()),
        access_token: Some(Secret::new("token")),
        app_secret: Some(Secret::new(SECRET)),
        verify_token: Some(Secret::new("verify")),
        api_base_url: api.map(|a| format!("http://{a}").parse().unwrap()),
        messages_per_second: 1000,
        ..AccountConfig::default()
    }];
    InboxSettings::from_config(&c)
}

async fn open(url: &str, api: Option<std::net::SocketAddr>) -> Inbox {
    let url: DatabaseUrl = url.parse().unwrap();
    let store = Store::connect(&url, 16).await.unwrap();
    store.migrate().await.unwrap();
    Inbox::open(store, settings(api), Arc::new(SystemClock))
        .await
        .unwrap()
}

fn router(inbox: &Inbox) -> axum::Router {
    deflect_web::router(deflect_web::AppState::new(
        inbox.clone(),
        "http://127.0.0.1".parse().unwrap(),
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle(),
        &Config::default(),
    ))
}

fn body(i: usize, run: &str) -> Vec<u8> {
    let from = 31_600_000_000u64 + (i % 500) as u64;
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"31201234567","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Load {from}"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"wamid.{run}.{i}","timestamp":"1767225600","type":"text","text":{{"body":"message {i}"}}}}]}},"field":"messages"}}]}}]}}"#
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(1).as_str() {
        "serve" => serve(&arg(2), arg(3).parse().unwrap()).await,
        "inbound" => {
            inbound(
                &arg(2),
                arg(3).parse().unwrap_or(1),
                arg(4).parse().unwrap_or(10_000),
                arg(5).parse().unwrap_or(64),
            )
            .await
        }
        "outbox" => outbox(&arg(2), arg(3).parse().unwrap_or(5_000)).await,
        _ => {
            eprintln!("usage: inbox_load inbound|outbox|serve … (see the source's header)");
            std::process::exit(64);
        }
    }
}

async fn serve(url: &str, port: u16) {
    let inbox = open(url, None).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    println!("ready");
    axum::serve(listener, router(&inbox)).await.unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn inbound(url: &str, processes: usize, messages: usize, concurrency: usize) {
    let run = format!("{}", std::process::id());
    let postgres = url.starts_with("postgres");
    let received: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let mut children = Vec::new();
    let mut targets = Vec::new();
    let mut _local = None;
    if postgres {
        // Schema first, then the gateway processes.
        open(url, None).await;
        for _ in 0..processes {
            let port = free_port();
            let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
                .args(["serve", url, &port.to_string()])
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            tokio::io::AsyncBufReadExt::read_line(&mut out, &mut line)
                .await
                .unwrap();
            assert_eq!(line.trim(), "ready");
            children.push(child);
            targets.push(format!("http://127.0.0.1:{port}/webhooks/meta/main"));
        }
        let mut listener = sqlx::postgres::PgListener::connect(url).await.unwrap();
        listener
            .listen(deflect_chat::events::PG_CHANNEL)
            .await
            .unwrap();
        let received = received.clone();
        tokio::spawn(async move {
            loop {
                let n = listener.recv().await.unwrap();
                let e: serde_json::Value = serde_json::from_str(n.payload()).unwrap_or_default();
                if e["kind"] == "message.created"
                    && let Some(id) = e["data"]["message"]["external_id"].as_str()
                {
                    received
                        .lock()
                        .unwrap()
                        .insert(id.to_string(), Instant::now());
                }
            }
        });
    } else {
        let inbox = open(url, None).await;
        let mut events = inbox.subscribe(None).await.unwrap();
        let received = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(e)) = events.next().await {
                if e.kind == "message.created"
                    && let Some(id) = e.data["message"]["external_id"].as_str()
                {
                    received
                        .lock()
                        .unwrap()
                        .insert(id.to_string(), Instant::now());
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        targets.push(format!(
            "http://{}/webhooks/meta/main",
            listener.local_addr().unwrap()
        ));
        let app = router(&inbox);
        tokio::spawn(async move { axum::serve(listener, app).await });
        _local = Some(inbox);
    }
    let client = deflect_chat::provider::http_client();
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, sent, next, targets, run) = (
            client.clone(),
            sent.clone(),
            next.clone(),
            targets.clone(),
            run.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= messages {
                    return;
                }
                let body = body(i, &run);
                let sig = deflect_chat::provider::meta::sign(SECRET, &body);
                sent.lock()
                    .unwrap()
                    .insert(format!("wamid.{run}.{i}"), Instant::now());
                let res = client
                    .post(&targets[i % targets.len()])
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    res.status(),
                    200,
                    "{}",
                    res.text().await.unwrap_or_default()
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.lock().unwrap().len() < messages && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let received = received.lock().unwrap();
    let sent = sent.lock().unwrap();
    let last = received
        .values()
        .max()
        .copied()
        .unwrap_or_else(Instant::now);
    let elapsed = last - started;
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, t)| received.get(id).map(|r| *r - *t))
        .collect();
    lat.sort();
    println!(
        "inbound db={} processes={} messages={} concurrency={} events={} elapsed={:.2}s rate={:.0}/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
        if postgres { "postgres" } else { "sqlite" },
        if postgres { processes } else { 1 },
        messages,
        concurrency,
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    drop(children);
}

async fn outbox(url: &str, messages: usize) {
    // A fake Cloud API answering at once.
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = counter.clone();
    let app = axum::Router::new().fallback(move || {
        let n = c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            (
                [("content-type", "application/json")],
                format!(
                    r#"{{"messaging_product":"whatsapp","messages":[{{"id":"wamid.out.{n}"}}]}}"#
                ),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let inbox = open(url, Some(api)).await;
    let run = std::process::id();
    for i in 0..messages {
        inbox
            .deflect(&deflect_chat::DeflectionRequest {
                call_id: format!("bench-{run}-{i}"),
                caller: None,
                callback_number: format!("+316{:08}", i),
                dialled_number: None,
                flow: None,
                language: None,
                started_at: 0,
                ended_at: 0,
                input_method: deflect_chat::InputMethod::Dtmf,
                transcript: None,
                account: None,
                queue: None,
            })
            .await
            .unwrap();
    }
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        sent += inbox.send_due().await.unwrap().sent;
    }
    let elapsed = started.elapsed();
    println!(
        "outbox db={} messages={} elapsed={:.2}s rate={:.0}/s (account paced at 1000/s) provider_requests={}",
        if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        },
        messages,
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64(),
        counter.load(std::sync::atomic::Ordering::Relaxed)
    );
}
