//! Faults injected at the outbox's steps (the `failpoints` feature): a database that fails
//! after the provider accepted a message costs a retried record, never a second send.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Env};
use deflect_chat::OutboxPass;
use std::time::Duration;

async fn a_failed_record_is_retried_as_a_record(b: Backend) {
    let scenario = fail::FailScenario::setup();
    let (env, fake) = Env::meta(b, None).await;
    let m = env.deflect("c1", "+31612345671").await;
    fail::cfg("outbox-record", "2*return").unwrap();
    // Accepted, but recording it fails: the row keeps the provider's id, `accepted`.
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(env.outbox().await.get("accepted").copied().unwrap_or(0), 1);
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
    assert_eq!(env.outbox().await.get("sent").copied().unwrap_or(0), 1);
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
    let (env, fake) = Env::meta(b, None).await;
    let m = env.deflect("c1", "+31612345671").await;
    fail::cfg("outbox-hold", "3*return").unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(env.outbox().await.get("sent").copied().unwrap_or(0), 1);
    assert_eq!(
        env.message(m).await.external_id.as_deref(),
        Some("wamid.fake1")
    );
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(fake.requests().len(), 1, "sent once");
    scenario.teardown();
}

/// A transfer whose transaction fails after its note was written leaves neither: the
/// conversation stays with its agent and no note is stored.
async fn a_failed_transfer_keeps_no_note(b: Backend) {
    let scenario = fail::FailScenario::setup();
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = env
        .inbox
        .receive("sandbox", &[common::text("w1", "31612345678", "hello")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, id).await.unwrap();
    let bob = env.agent("bob", &["support"]).await;
    fail::cfg("transfer-note", "1*return").unwrap();
    assert!(
        env.inbox
            .transfer_to_agent_with_note(&ann, id, bob.agent_id, Some("over to you"))
            .await
            .is_err()
    );
    let c = env
        .inbox
        .conversation_unchecked(id)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.agent_id, Some(ann.agent_id));
    let messages = env.inbox.messages_unchecked(id, None, 100).await.unwrap();
    assert!(messages.iter().all(|m| !m.internal), "{messages:?}");
    // Tried again, both happen.
    env.inbox
        .transfer_to_agent_with_note(&ann, id, bob.agent_id, Some("over to you"))
        .await
        .unwrap();
    let messages = env.inbox.messages_unchecked(id, None, 100).await.unwrap();
    assert_eq!(messages.iter().filter(|m| m.internal).count(), 1);
    scenario.teardown();
}

on_both!(
    a_failed_record_is_retried_as_a_record,
    a_failed_transfer_keeps_no_note,
    keeping_the_providers_id_is_retried_in_memory,
);
