//! The inbox in the running binary: schema migrations, provider webhooks on the HTTP
//! listener, SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Gateway, get, http, run_cli};
use deflect_chat::provider::meta;

/// One Meta account `main`; its API is never reached in these tests.
fn meta() -> String {
    common::meta::account("http://127.0.0.1:9")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/chat/tests/data/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn metric(addr: std::net::SocketAddr, needle: &str) -> bool {
    get(addr, "/metrics")
        .1
        .lines()
        .any(|l| l.starts_with(needle))
}

fn webhooks_are_verified_and_stored(gw: &Gateway) {
    let addr = gw.http_addr();
    let (status, body) = get(
        addr,
        "/webhooks/meta/main?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42",
    );
    assert_eq!((status, body.as_str()), (200, "42"));
    let body = fixture("batch.json");
    let (status, _) = http(
        addr,
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", "sha256=00")],
        &body,
    );
    assert_eq!(status, 401);
    let sig = meta::sign("app-secret", &body);
    let (status, _) = http(
        addr,
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        &body,
    );
    assert_eq!(status, 200);
    assert!(metric(
        addr,
        r#"deflect_inbox_messages_total{direction="in",channel="whatsapp"} 3"#
    ));
    // Again: a duplicate delivery stores nothing more.
    let (status, _) = http(
        addr,
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        &body,
    );
    assert_eq!(status, 200);
    assert!(metric(
        addr,
        r#"deflect_inbox_duplicate_deliveries_total 3"#
    ));
}

#[test]
fn migrate_creates_the_schema_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("DEFLECT_DATA_DIR", data.to_str().unwrap())];
    for _ in 0..2 {
        let (code, _out, err) = run_cli(&["--log-format", "json", "migrate"], &env);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("database schema up to date"), "{err}");
    }
    assert!(data.join("deflect.db").exists());
}

#[test]
fn sqlite_gateway_takes_webhooks() {
    let gw = Gateway::builder().config(&meta()).start();
    webhooks_are_verified_and_stored(&gw);
    assert_eq!(gw.stop().code(), Some(0));
}

#[test]
fn postgres_gateways_share_one_database() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(deflect_chat::testing::postgres_database());
    let a = Gateway::builder()
        .config(&meta())
        .env("DEFLECT_DATABASE__URL", url.expose())
        .start();
    webhooks_are_verified_and_stored(&a);
    // A second process on the same database sees those messages as already stored.
    let b = Gateway::builder()
        .config(&meta())
        .env("DEFLECT_DATABASE__URL", url.expose())
        .start();
    let body = fixture("batch.json");
    let sig = meta::sign("app-secret", &body);
    let (status, _) = http(
        b.http_addr(),
        "POST",
        "/webhooks/meta/main",
        &[("X-Hub-Signature-256", &sig)],
        &body,
    );
    assert_eq!(status, 200);
    assert!(metric(
        b.http_addr(),
        r#"deflect_inbox_duplicate_deliveries_total 3"#
    ));
    assert_eq!(a.stop().code(), Some(0));
    assert_eq!(b.stop().code(), Some(0));
}
