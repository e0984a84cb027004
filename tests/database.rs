//! The database failing under the running binary: PostgreSQL crashed and started again while
//! webhooks keep coming, and SQLite's disk filling up and getting space back. In both, every
//! webhook the gateway acknowledged (200) is stored exactly once, the gateway keeps running
//! and takes deliveries again once the database is back.

#![allow(clippy::unwrap_used)]

mod common;

use common::meta;
use common::{Gateway, PATIENCE};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const APP_SECRET: &str = "app-secret";

/// A Cloud API delivery of customer `i`'s message `wamid.load.<i>` (with `pad` bytes of text).
fn delivery(i: usize, pad: usize) -> String {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": format!("Customer {i}")}, "wa_id": format!("3161{i:07}")}],
            "messages": [{"from": format!("3161{i:07}"), "id": format!("wamid.load.{i}"),
                          "timestamp": "1767225600", "type": "text",
                          "text": {"body": format!("message {i} {}", "x".repeat(pad))}}]
        }}]}]
    })
    .to_string()
}

/// Posts a signed delivery; the status, or `None` when no answer came.
fn deliver(addr: SocketAddr, body: &str) -> Option<u16> {
    let sig = deflect_chat::provider::meta::sign(APP_SECRET, body.as_bytes());
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let head = format!(
        "POST /webhooks/meta/main HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ').nth(1).and_then(|c| c.parse().ok())
}

/// Answers to deliveries, by customer, as a load runs.
#[derive(Default)]
struct Answers {
    by_customer: Mutex<BTreeMap<usize, Option<u16>>>,
}

impl Answers {
    fn count(&self, f: impl Fn(Option<u16>) -> bool) -> usize {
        let m = self.by_customer.lock().unwrap();
        m.values().filter(|s| f(**s)).count()
    }

    fn acknowledged(&self) -> Vec<usize> {
        let m = self.by_customer.lock().unwrap();
        m.iter()
            .filter(|(_, s)| **s == Some(200))
            .map(|(i, _)| *i)
            .collect()
    }
}

/// Delivers customer after customer until `stop`, recording each answer.
fn load(
    addr: SocketAddr,
    pad: usize,
    answers: Arc<Answers>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let status = deliver(addr, &delivery(i, pad));
            answers.by_customer.lock().unwrap().insert(i, status);
            i += 1;
        }
    })
}

/// Waits until `f` holds, checking every 20 ms (the load's progress is only observable).
fn until(what: &str, limit: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Each customer's stored message ids (`wamid.load.<i>`), as `i`.
fn stored(rows: Vec<String>) -> Vec<usize> {
    let mut v: Vec<usize> = rows
        .iter()
        .map(|id| id.trim_start_matches("wamid.load.").parse().unwrap())
        .collect();
    v.sort_unstable();
    v
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn external_ids(url: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("SELECT external_id FROM messages WHERE direction = 'in' ORDER BY id")
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

#[test]
fn postgres_crashing_under_load_loses_nothing_acknowledged() {
    let pg = deflect_chat::testing::PrivatePostgres::start();
    let url = block_on(pg.create("gateway"));
    let gw = Gateway::builder()
        .config(&meta::account("http://127.0.0.1:9"))
        .env("DEFLECT_DATABASE__URL", url.expose())
        .start();
    let addr = gw.http_addr();
    let answers = Arc::new(Answers::default());
    let stop = Arc::new(AtomicBool::new(false));
    let loader = load(addr, 0, answers.clone(), stop.clone());
    until("deliveries acknowledged", PATIENCE, || {
        answers.count(|s| s == Some(200)) >= 100
    });
    pg.crash();
    until(
        "deliveries refused while the database is down",
        PATIENCE,
        || answers.count(|s| s != Some(200)) >= 3,
    );
    let before = answers.count(|s| s == Some(200));
    pg.up();
    until("deliveries acknowledged again", PATIENCE * 2, || {
        answers.count(|s| s == Some(200)) >= before + 100
    });
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    let (status, _) = common::get(addr, "/readyz");
    assert_eq!(status, 200, "ready again");
    let acked = answers.acknowledged();
    let stored = stored(block_on(external_ids(url.expose())));
    let missing: Vec<_> = acked.iter().filter(|i| !stored.contains(i)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let mut once = stored.clone();
    once.dedup();
    assert_eq!(once, stored, "each stored once");
    assert!(
        gw.logs.json().iter().any(|l| l["level"] == "ERROR"
            && l["message"] == "storing a webhook failed; the provider will deliver it again"),
        "the refusals are logged"
    );
    assert_eq!(gw.stop().code(), Some(0));
}

/// A tmpfs of `size` mounted at `at` (root only), unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap()
            .success();
        assert!(
            ok,
            "mounting a tmpfs needs root (scripts/test runs as root in CI)"
        );
        Self(at.into())
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn sqlite_on_a_full_disk_refuses_clearly_and_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&dir.path().join("data"), "2m");
    let mut gw = Gateway::builder()
        .config(&meta::account("http://127.0.0.1:9"))
        .dir(dir)
        .start();
    let addr = gw.http_addr();
    // Large messages fill the 2 MiB until SQLite cannot write.
    let answers = Arc::new(Answers::default());
    let stop = Arc::new(AtomicBool::new(false));
    let loader = load(addr, 16_000, answers.clone(), stop.clone());
    until("deliveries refused on the full disk", PATIENCE, || {
        answers.count(|s| s.is_some_and(|s| s >= 500)) >= 3
    });
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    assert!(answers.count(|s| s == Some(200)) > 0);
    assert!(
        gw.logs.json().iter().any(|l| l["level"] == "ERROR"
            && l["cause"]
                .as_str()
                .is_some_and(|c| c.contains("disk is full"))),
        "the cause is named"
    );
    assert_eq!(common::get(addr, "/healthz").0, 200, "still running");
    // Space comes back: the same deliveries, sent again by the provider, are taken.
    disk.resize("64m");
    let refused: Vec<usize> = {
        let m = answers.by_customer.lock().unwrap();
        m.iter()
            .filter(|(_, s)| **s != Some(200))
            .map(|(i, _)| *i)
            .collect()
    };
    for i in &refused {
        assert_eq!(
            deliver(addr, &delivery(*i, 16_000)),
            Some(200),
            "customer {i}; log:\n{}",
            gw.logs
                .raw()
                .iter()
                .rev()
                .take(30)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    gw.signal("TERM");
    assert_eq!(gw.wait().code(), Some(0));
    let db = gw.data_dir().join("deflect.db");
    let url = format!("sqlite://{}", db.display());
    let stored = stored(block_on(external_ids(&url)));
    let all: Vec<usize> = (0..stored.len()).collect();
    assert_eq!(stored, all, "every delivery once, none lost");
    let integrity: String = block_on(async {
        use sqlx::{Connection, Row};
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA integrity_check")
            .fetch_one(&mut c)
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(integrity, "ok");
    let dir = gw.into_dir();
    drop(disk);
    drop(dir);
}
