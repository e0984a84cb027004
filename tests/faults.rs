//! The whole binary killed (SIGABRT, from a fault injection point) at every step of a
//! deflection's way to WhatsApp, then started again on the same data: exactly one template
//! reaches the provider — a local fake of the Cloud API that, like Meta, posts each message's
//! status back to the gateway's webhook until it is answered. And a provider's webhook the
//! gateway stored but could not acknowledge is stored once when the provider delivers it again.
//!
//! Needs the `failpoints` feature (`cargo nextest run --features failpoints`).

#![allow(clippy::unwrap_used)]

mod common;

use common::dialler::Dialler;
use common::meta::{self, FakeMeta};
use common::{Gateway, GatewayBuilder, PATIENCE, message};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[whatsapp.accounts.templates.deflection]
name = "callback_nl"
language = "nl"

[inbox.outbox]
# A send cut short before it reached the fake (no status will come) goes again after this.
unconfirmed_wait = "10s"
initial_backoff = "100ms"
"#;

const APP_SECRET: &str = "app-secret";

/// A gateway on the fake `api` with the fault injection points `failpoints` (none: `""`).
fn builder(api: &FakeMeta, failpoints: &str) -> GatewayBuilder {
    let b = Gateway::builder()
        .config(&meta::account(&format!("http://{}", api.addr)))
        .config(CONFIG)
        .log("info,deflect_ivr=debug");
    if failpoints.is_empty() {
        b
    } else {
        b.env("FAILPOINTS", failpoints)
    }
}

/// A gateway with the fault injection points `failpoints` (none: `""`), its HTTP listener on
/// `http` (a run after a crash takes the same address, so the fake's callbacks reach it)
/// or a free port.
fn gateway(
    api: &FakeMeta,
    http: Option<std::net::SocketAddr>,
    failpoints: &str,
    dir: Option<tempfile::TempDir>,
) -> Gateway {
    let listen = http.map_or("127.0.0.1:0".to_string(), |a| a.to_string());
    let mut b = builder(api, failpoints).env("DEFLECT_HTTP__LISTEN", &listen);
    if let Some(d) = dir {
        b = b.dir(d);
    }
    b.start()
}

/// Waits until `f` holds (the database is polled: nothing pushes its state out).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Rows of `query` (one text or integer column) in the gateway's SQLite database.
fn column(gw: &Gateway, query: &str) -> Vec<String> {
    let db = gw.data_dir().join("deflect.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{Connection, Row};
        let mut c = sqlx::sqlite::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(query.to_string()))
            .fetch_all(&mut c)
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                r.try_get::<String, _>(0)
                    .or_else(|_| r.try_get::<i64, _>(0).map(|i| i.to_string()))
                    .unwrap()
            })
            .collect()
    })
}

/// A call deflected to +31623456789 on a gateway that aborts at `point`; then a second run
/// on the same data: one template, one deflection, nothing left to send.
fn killed_at(point: &str) {
    let api = FakeMeta::start();
    let mut gw = gateway(&api, None, &format!("{point}=return(abort)"), None);
    let http = gw.http_addr();
    api.call_back_to(&format!("http://{http}/webhooks/meta/main"), APP_SECRET);
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    let status = gw.wait();
    assert_eq!(status.signal(), Some(6), "aborted at {point}: {status:?}");
    call.kill();

    let gw = gateway(&api, Some(http), "", Some(gw.into_dir()));
    eventually("the template recorded as sent", || {
        column(&gw, "SELECT state FROM outbox") == ["sent"]
    });
    assert_eq!(api.requests().len(), 1, "one template reached the provider");
    let r = &api.requests()[0];
    assert_eq!(r.body["to"], "31623456789");
    assert_eq!(r.body["template"]["name"], "callback_nl");
    assert_eq!(column(&gw, "SELECT COUNT(*) FROM deflections"), ["1"]);
    assert_eq!(
        column(
            &gw,
            "SELECT external_id FROM messages WHERE direction = 'out'"
        ),
        ["wamid.fake1"]
    );
    assert_eq!(gw.stop().code(), Some(0));
}

#[test]
fn killed_after_the_journal_write() {
    killed_at("handoff-after-journal");
}

#[test]
fn killed_after_the_bye() {
    killed_at("handoff-after-bye");
}

#[test]
fn killed_after_the_inbox_committed_the_deflection() {
    killed_at("handoff-after-commit");
}

#[test]
fn killed_after_the_provider_accepted_the_template() {
    killed_at("outbox-after-accept");
}

/// On PostgreSQL a confirmed deflection is committed before the BYE, its template held
/// back: the node aborts right after (the caller not yet hung up), and another node on the
/// database — with none of the first one's files — sends the template once, when the hold
/// has passed.
#[test]
fn killed_after_holding_the_deflection_another_node_sends_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let database = rt.block_on(deflect_chat::testing::postgres_database());
    let api = FakeMeta::start();
    let on_postgres = |failpoints: &str| {
        builder(&api, failpoints)
            .env("DEFLECT_DATABASE__URL", database.expose())
            .start()
    };
    let mut first = on_postgres("handoff-after-journal=return(abort)");
    let call = Dialler::call(
        first.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    let status = first.wait();
    assert_eq!(
        status.signal(),
        Some(6),
        "aborted before the BYE: {status:?}"
    );
    call.kill();
    let held = |l: &serde_json::Value| message(l, "deflection held by the inbox");
    assert!(first.logs.json().iter().any(held), "held, not journalled");
    assert!(api.requests().is_empty(), "nothing sent during the call");

    let second = on_postgres("");
    let http = second.http_addr();
    api.call_back_to(&format!("http://{http}/webhooks/meta/main"), APP_SECRET);
    let is_template = |r: &meta::Request| r.body["type"] == "template";
    let sent = api.wait_until(PATIENCE, "the held template", |r| r.iter().any(is_template));
    let template = sent.iter().find(|r| is_template(r)).unwrap();
    assert_eq!(template.body["to"], "31623456789");
    eventually("the template recorded as sent", || {
        second.metric("deflect_outbox_sent_total{account=\"main\"}") == 1.0
    });
    assert_eq!(second.stop().code(), Some(0));
    assert_eq!(
        api.requests().iter().filter(|r| is_template(r)).count(),
        1,
        "one template reached the provider"
    );
}

#[test]
fn a_record_failing_after_the_provider_accepted_is_retried_as_a_record() {
    let api = FakeMeta::start();
    let gw = gateway(&api, None, "outbox-record=3*return", None);
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &["--dtmf", "0623456789#1", "--from", "anonymous"],
    );
    eventually("the template recorded as sent", || {
        column(&gw, "SELECT state FROM outbox") == ["sent"]
    });
    assert_eq!(api.requests().len(), 1);
    assert!(
        gw.logs.json().iter().any(|l| common::message(
            l,
            "cannot record a message the provider accepted; the record is retried, the message is not sent again"
        )),
        "the failed record is logged"
    );
    let (_, metrics) = common::get(gw.http_addr(), "/metrics");
    assert!(
        metrics.contains("deflect_outbox_record_failures_total{reason=\"database\"} 3"),
        "{metrics}"
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
}

/// Posts a signed Cloud API delivery; `None` when the connection closed without an answer.
fn deliver(addr: std::net::SocketAddr, body: &[u8]) -> Option<u16> {
    let sig = deflect_chat::provider::meta::sign(APP_SECRET, body);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let head = format!(
        "POST /webhooks/meta/main HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ').nth(1).and_then(|c| c.parse().ok())
}

#[test]
fn a_webhook_stored_but_not_acknowledged_is_stored_once_when_delivered_again() {
    let api = FakeMeta::start();
    let mut gw = gateway(&api, None, "inbound-after-commit=return(abort)", None);
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": "31612345678"}],
            "messages": [{"from": "31612345678", "id": "wamid.in.1", "timestamp": "1767225600",
                          "type": "text", "text": {"body": "hello"}}]
        }}]}]
    })
    .to_string();
    let addr = gw.http_addr();
    assert_eq!(
        deliver(addr, body.as_bytes()),
        None,
        "no answer: it died first"
    );
    assert_eq!(gw.wait().signal(), Some(6));
    // The provider delivers it again, to the gateway started again.
    let gw = gateway(&api, Some(addr), "", Some(gw.into_dir()));
    assert_eq!(deliver(addr, body.as_bytes()), Some(200));
    assert_eq!(deliver(addr, body.as_bytes()), Some(200));
    assert_eq!(
        column(
            &gw,
            "SELECT body FROM messages WHERE external_id = 'wamid.in.1'"
        ),
        ["hello"]
    );
    assert_eq!(column(&gw, "SELECT COUNT(*) FROM conversations"), ["1"]);
    assert_eq!(gw.stop().code(), Some(0));
}
