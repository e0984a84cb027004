//! Faults injected at the outbox's steps (the `failpoints` feature): a database that fails
//! after the provider accepted a message costs a retried record, never a second send.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Env, FakeProvider, T0};
use deflect_chat::{DeflectionRequest, InputMethod, OutboxPass};
use std::time::Duration;

async fn meta_env(b: Backend) -> (Env, FakeProvider) {
    let fake = FakeProvider::start().await;
    let mut settings = common::settings(Some(fake.addr));
    settings.whatsapp.default_account = Some("meta".into());
    (Env::with(b, settings).await, fake)
}

async fn deflect(env: &Env) -> i64 {
    env.inbox
        .deflect(&DeflectionRequest {
            call_id: "c1".into(),
            caller: None,
            callback_number: "+31612345671".into(),
            dialled_number: None,
            flow: None,
            language: None,
            started_at: T0 - 60_000,
            ended_at: T0 - 1_000,
            input_method: InputMethod::Dtmf,
            transcript: None,
            account: None,
            queue: None,
        })
        .await
        .unwrap()
        .message_id
}

async fn depth(env: &Env, state: &str) -> i64 {
    let d = env.inbox.outbox_depth().await.unwrap();
    d.get(state).copied().unwrap_or(0)
}

async fn a_failed_record_is_retried_as_a_record(b: Backend) {
    let scenario = fail::FailScenario::setup();
    let (env, fake) = meta_env(b).await;
    let m = deflect(&env).await;
    fail::cfg("outbox-record", "2*return").unwrap();
    // Accepted, but recording it fails: the row keeps the provider's id, `accepted`.
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(depth(&env, "accepted").await, 1);
    assert_eq!(
        env.inbox.send_due().await.unwrap(),
        OutboxPass::default(),
        "backing off"
    );
    // The record is tried again with back-off — and fails once more, then holds.
    for _ in 0..2 {
        env.clock.advance(Duration::from_secs(600));
        assert_eq!(env.inbox.send_due().await.unwrap().recorded, 1);
    }
    assert_eq!(depth(&env, "sent").await, 1);
    let msg = env.message(m).await;
    assert_eq!(
        (msg.status.as_str(), msg.external_id.as_deref()),
        ("sent", Some("wamid.fake1"))
    );
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(fake.requests().len(), 1, "sent once");
    scenario.teardown();
}

async fn keeping_the_providers_id_is_retried_in_memory(b: Backend) {
    let scenario = fail::FailScenario::setup();
    let (env, fake) = meta_env(b).await;
    let m = deflect(&env).await;
    fail::cfg("outbox-hold", "3*return").unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(depth(&env, "sent").await, 1);
    assert_eq!(
        env.message(m).await.external_id.as_deref(),
        Some("wamid.fake1")
    );
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(fake.requests().len(), 1, "sent once");
    scenario.teardown();
}

on_both!(
    a_failed_record_is_retried_as_a_record,
    keeping_the_providers_id_is_retried_in_memory,
);
