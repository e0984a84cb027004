//! Load generator for the inbox (see BENCHMARKS.md, section "Inbox"; run by
//! `scripts/bench-inbox`).
//!
//! ```text
//! inbox_load inbound DB_URL PROCESSES MESSAGES CONCURRENCY [RATE [CUSTOMERS [open]]]
//!     Signed Meta webhooks (one text message each, from CUSTOMERS customers in turn, 500 by
//!     default: each customer's first message opens a conversation, later ones join it)
//!     posted over HTTP to
//!     PROCESSES gateway processes (this program in `serve` mode: the gateway's router and
//!     inbox) on one database (SQLite: always one); measures webhook → committed → event
//!     published: the time from sending the request to the message's `message.created` event
//!     (SQLite: an in-process subscription of the gateway process; PostgreSQL: a LISTEN
//!     connection of this program, i.e. as another process sees it).
//!     Without RATE (or 0), CONCURRENCY requests are kept in flight (closed loop: the most
//!     the gateway sustains). With RATE, requests are sent at RATE per second on schedule
//!     (open loop, by up to CONCURRENCY senders) and latency counts from the scheduled
//!     time, so a late sender counts against the result.
//!     With `open`, each customer's first message is sent (and its event awaited) before the
//!     measured run, so that every measured message joins an open conversation.
//!     Also reports CPU per message of the gateway processes, this program and (PostgreSQL)
//!     the database server's processes, from /proc.
//! inbox_load outbox DB_URL MESSAGES
//!     MESSAGES deflection templates committed, then sent by the outbox worker to a local
//!     fake Cloud API; measures the send rate (account paced at 1000 messages/s).
//! inbox_load media DB_URL FILES SIZE_KB
//!     A burst of FILES signed Meta webhooks, each a customer's image (a different customer
//!     each), posted at once over HTTP to the gateway's router; a local fake Graph API
//!     answers the media lookups and serves each file (SIZE_KB KiB of JPEG, generated as it
//!     streams, so the fake holds none of it) with the bearer token; the attachment worker
//!     downloads them into a local attachment store. Measures the time until every file is
//!     stored (its `message.attachments` event) and this process's peak memory growth
//!     (VmHWM over the resident size before the burst) against the files' total size.
//! inbox_load serve DB_URL PORT [report]
//!     One gateway-like process (used by `inbound`); with `report` it prints each
//!     `message.created` event's external id and the time it was published (µs since the
//!     Unix epoch).
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
    deflect_web::testing::app(
        inbox.clone(),
        "http://127.0.0.1".parse().unwrap(),
        &Config::default(),
    )
}

fn body(i: usize, run: &str, customers: usize) -> Vec<u8> {
    let from = 31_600_000_000u64 + (i % customers) as u64;
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"31201234567","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Load {from}"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"wamid.{run}.{i}","timestamp":"1767225600","type":"text","text":{{"body":"message {i}"}}}}]}},"field":"messages"}}]}}]}}"#
    )
    .into_bytes()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e3
}

/// Microseconds since the Unix epoch (comparable between processes on this machine).
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// CPU time (user + system) a process has used, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')').map(|i| i + 2).unwrap_or(0)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks * 10.0 // USER_HZ is 100
}

/// CPU time of every PostgreSQL server process, in milliseconds.
fn postgres_cpu_ms() -> f64 {
    let mut total = 0.0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim() == "postgres")
        {
            total += cpu_ms(pid);
        }
    }
    total
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(1).as_str() {
        "serve" => serve(&arg(2), arg(3).parse().unwrap(), arg(4) == "report").await,
        "inbound" => {
            inbound(
                &arg(2),
                arg(3).parse().unwrap_or(1),
                arg(4).parse().unwrap_or(10_000),
                arg(5).parse().unwrap_or(64),
                arg(6).parse().unwrap_or(0.0),
                arg(7).parse().unwrap_or(500),
                arg(8) == "open",
            )
            .await
        }
        "outbox" => outbox(&arg(2), arg(3).parse().unwrap_or(5_000)).await,
        "media" => {
            media(
                &arg(2),
                arg(3).parse().unwrap_or(200),
                arg(4).parse().unwrap_or(2048),
            )
            .await
        }
        _ => {
            eprintln!("usage: inbox_load inbound|outbox|media|serve … (see the source's header)");
            std::process::exit(64);
        }
    }
}

async fn serve(url: &str, port: u16, report: bool) {
    // Warnings and errors (a delivery that could not be stored) on the terminal.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let inbox = open(url, None).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    if report {
        let mut events = inbox.subscribe(None).await.unwrap();
        tokio::spawn(async move {
            use std::io::Write;
            let mut out = std::io::BufWriter::new(std::io::stdout());
            while let Ok(Some(e)) = events.next().await {
                if e.kind == deflect_chat::EventKind::MessageCreated
                    && let Some(id) = e.data["message"]["external_id"].as_str()
                {
                    writeln!(out, "{id} {}", now_us()).unwrap();
                    out.flush().unwrap();
                }
            }
        });
    }
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

async fn inbound(
    url: &str,
    processes: usize,
    messages: usize,
    concurrency: usize,
    rate: f64,
    customers: usize,
    open_first: bool,
) {
    use futures_util::StreamExt;
    use tokio::io::AsyncBufReadExt;
    let run = format!("{}", std::process::id());
    let postgres = url.starts_with("postgres");
    let processes = if postgres { processes.max(1) } else { 1 };
    // External id → when its event was published.
    let received: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    // Schema first, then the gateway processes.
    open(url, None).await;
    let mut children = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..processes {
        let port = free_port();
        let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["serve", url, &port.to_string()]);
        if !postgres {
            cmd.arg("report");
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).await.unwrap();
        assert_eq!(line.trim(), "ready");
        if !postgres {
            let received = received.clone();
            tokio::spawn(async move {
                let mut lines = out.lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    if let Some((id, at)) = l.split_once(' ') {
                        received
                            .lock()
                            .unwrap()
                            .insert(id.to_string(), at.parse().unwrap());
                    }
                }
            });
        }
        children.push(child);
        targets.push(format!("http://127.0.0.1:{port}/webhooks/meta/main"));
    }
    if postgres {
        let mut listener = sqlx::postgres::PgListener::connect(url).await.unwrap();
        listener
            .listen(deflect_chat::events::PG_CHANNEL)
            .await
            .unwrap();
        let received = received.clone();
        tokio::spawn(async move {
            loop {
                let n = listener.recv().await.unwrap();
                let at = now_us();
                let v: serde_json::Value = serde_json::from_str(n.payload()).unwrap_or_default();
                let events = match v {
                    serde_json::Value::Array(a) => a,
                    other => vec![other],
                };
                let mut received = received.lock().unwrap();
                for e in events {
                    if e["kind"] == deflect_chat::EventKind::MessageCreated.as_str()
                        && let Some(id) = e["data"]["message"]["external_id"].as_str()
                    {
                        received.insert(id.to_string(), at);
                    }
                }
            }
        });
    }
    let pids: Vec<u32> = children.iter().filter_map(|c| c.id()).collect();
    let gateway_cpu = || pids.iter().map(|p| cpu_ms(*p)).sum::<f64>();
    let own_cpu = || cpu_ms(std::process::id());
    let pg_cpu = || if postgres { postgres_cpu_ms() } else { 0.0 };
    let client = deflect_chat::provider::http_client();
    if open_first {
        // Each customer's first message, committed before the measured run (not measured).
        let warm = format!("{run}w");
        let sends = (0..customers).map(|c| {
            let body = body(c, &warm, customers);
            let sig = deflect_chat::provider::meta::sign(SECRET, &body);
            client
                .post(&targets[c % targets.len()])
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
        });
        let mut sends = futures_util::stream::iter(sends).buffer_unordered(concurrency);
        while let Some(res) = sends.next().await {
            assert_eq!(res.unwrap().status(), 200);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while received.lock().unwrap().len() < customers && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        received.lock().unwrap().clear();
    }
    let cpu_before = (gateway_cpu(), own_cpu(), pg_cpu());

    // External id → when it was sent (scheduled, at a fixed rate).
    let sent: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let started_us = now_us();
    let late = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, sent, next, targets, run, late) = (
            client.clone(),
            sent.clone(),
            next.clone(),
            targets.clone(),
            run.clone(),
            late.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= messages {
                    return;
                }
                let body = body(i, &run, customers);
                let sig = deflect_chat::provider::meta::sign(SECRET, &body);
                let at = if rate > 0.0 {
                    let offset = Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until((started + offset).into()).await;
                    if started.elapsed() > offset + Duration::from_millis(5) {
                        late.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    started_us + offset.as_micros() as u64
                } else {
                    now_us()
                };
                sent.lock().unwrap().insert(format!("wamid.{run}.{i}"), at);
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
    let cpu_after = (gateway_cpu(), own_cpu(), pg_cpu());
    let received = received.lock().unwrap();
    let sent = sent.lock().unwrap();
    let last = received.values().max().copied().unwrap_or_else(now_us);
    let elapsed = last.saturating_sub(started_us) as f64 / 1e6;
    let mut lat: Vec<u64> = sent
        .iter()
        .filter_map(|(id, t)| received.get(id).map(|r| r.saturating_sub(*t)))
        .collect();
    if std::env::var_os("INBOX_LOAD_WINDOWS").is_some() {
        for w in (0..messages).step_by(1000) {
            let mut l: Vec<u64> = (w..(w + 1000).min(messages))
                .filter_map(|i| {
                    let id = format!("wamid.{run}.{i}");
                    Some(received.get(&id)?.saturating_sub(*sent.get(&id)?))
                })
                .collect();
            l.sort();
            eprintln!(
                "messages {w}..: p50={:.2}ms p99={:.2}ms max={:.2}ms",
                percentile(&l, 0.5),
                percentile(&l, 0.99),
                l.last().copied().unwrap_or(0) as f64 / 1e3
            );
        }
    }
    lat.sort();
    let n = lat.len().max(1) as f64;
    let per_message = |before: f64, after: f64| (after - before) / n;
    println!(
        "inbound db={} processes={} messages={} customers={customers} opened_first={open_first} concurrency={} offered={} events={} elapsed={:.2}s rate={:.0}/s \
         p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms sent_late={} cpu_per_message: gateway={:.3}ms generator={:.3}ms postgres={:.3}ms cores_used={:.2}",
        if postgres { "postgres" } else { "sqlite" },
        processes,
        messages,
        concurrency,
        if rate > 0.0 {
            format!("{rate:.0}/s")
        } else {
            "closed-loop".into()
        },
        lat.len(),
        elapsed,
        lat.len() as f64 / elapsed,
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default() as f64 / 1e3,
        late.load(std::sync::atomic::Ordering::Relaxed),
        per_message(cpu_before.0, cpu_after.0),
        per_message(cpu_before.1, cpu_after.1),
        per_message(cpu_before.2, cpu_after.2),
        ((cpu_after.0 - cpu_before.0)
            + (cpu_after.1 - cpu_before.1)
            + (cpu_after.2 - cpu_before.2))
            / 1e3
            / elapsed,
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
            .deflect(&deflect_chat::Deflection {
                call: deflect_chat::CallContext {
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
                    path: Vec::new(),
                },
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

/// A `/proc/self/status` figure in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    (status.lines())
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The fake Graph API of `media`: `GET /{version}/{id}` → the lookup, `GET /media/{id}` →
/// `size` bytes of JPEG, generated chunk by chunk (different for each id).
fn fake_graph(size: usize) -> axum::Router {
    use axum::http::{StatusCode, Uri};
    use axum::response::IntoResponse;
    axum::Router::new().fallback(move |uri: Uri, headers: axum::http::HeaderMap| async move {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer token") {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let parts: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["media", id] => {
                let seed: u64 = id.trim_start_matches("img").parse().unwrap_or(0);
                let chunks = (0..size.div_ceil(64 * 1024)).map(move |c| {
                    let start = c * 64 * 1024;
                    let len = (size - start).min(64 * 1024);
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| ((start + i) as u64 * 31 + seed * 7919) as u8)
                        .collect();
                    if c == 0 {
                        b[..11].copy_from_slice(&[
                            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
                        ]);
                    }
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(b))
                });
                let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
                ([("content-type", "image/jpeg")], body).into_response()
            }
            [_version, id] => axum::Json(serde_json::json!({
                "messaging_product": "whatsapp",
                "url": format!("http://{}/media/{id}", headers["host"].to_str().unwrap()),
                "mime_type": "image/jpeg", "sha256": "not checked", "file_size": size, "id": id,
            }))
            .into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    })
}

async fn media(url: &str, files: usize, size_kb: usize) {
    use futures_util::StreamExt;
    let size = size_kb * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, fake_graph(size)).await });
    let dir = tempfile::tempdir().unwrap();
    let blobs = deflect_chat::BlobStore::open(&Default::default(), dir.path())
        .await
        .unwrap();
    let url_parsed: DatabaseUrl = url.parse().unwrap();
    let store = Store::connect(&url_parsed, 16).await.unwrap();
    store.migrate().await.unwrap();
    let inbox =
        Inbox::open_with_attachments(store, settings(Some(api)), Arc::new(SystemClock), blobs)
            .await
            .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = inbox.clone();
    let workers = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = listener.local_addr().unwrap();
    let app = router(&inbox);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut events = inbox.subscribe(None).await.unwrap();
    let run = std::process::id();
    let bodies: Vec<Vec<u8>> = (0..files)
        .map(|i| {
            let from = 31_610_000_000u64 + i as u64;
            format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"31201234567","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Photo {from}"}},"wa_id":"{from}"}}],"messages":[{{"from":"{from}","id":"wamid.{run}.img{i}","timestamp":"1767225600","type":"image","image":{{"id":"img{i}","mime_type":"image/jpeg","caption":"photo {i}"}}}}]}},"field":"messages"}}]}}]}}"#
            )
            .into_bytes()
        })
        .collect();
    let http = deflect_chat::provider::http_client();
    let target = format!("http://{gateway}/webhooks/meta/main");
    let rss_before = status_kib("VmRSS");
    let started = Instant::now();
    let answered = futures_util::stream::iter(bodies)
        .map(|b| {
            let sig = deflect_chat::provider::meta::sign(SECRET, &b);
            http.post(&target)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(b)
                .send()
        })
        .buffer_unordered(files)
        .filter(|r| std::future::ready(r.as_ref().is_ok_and(|r| r.status() == 200)))
        .count()
        .await;
    let webhooks = started.elapsed();
    assert_eq!(answered, files, "every webhook answered 200");
    let (mut stored, mut failed) = (0, 0);
    while stored + failed < files {
        let e = events.next().await.unwrap().unwrap();
        if e.kind == deflect_chat::EventKind::MessageAttachments {
            match e.data["attachments"][0]["state"].as_str() {
                Some("stored") => stored += 1,
                Some("failed") => failed += 1,
                _ => {}
            }
        }
    }
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM");
    let _ = stop.send(());
    let _ = workers.await;
    println!(
        "media db={} files={files} size={size_kb}KiB webhooks_answered={:.2}s all_stored={:.2}s \
         rate={:.1} files/s throughput={:.1} MiB/s stored={stored} failed={failed} \
         rss_before={}MiB peak_growth={}MiB (files total {}MiB)",
        if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        },
        webhooks.as_secs_f64(),
        elapsed.as_secs_f64(),
        files as f64 / elapsed.as_secs_f64(),
        (files * size) as f64 / 1048576.0 / elapsed.as_secs_f64(),
        rss_before / 1024,
        peak.saturating_sub(rss_before) / 1024,
        files * size / 1048576,
    );
}
