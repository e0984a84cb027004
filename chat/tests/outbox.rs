//! The outbox under provider faults, on SQLite and PostgreSQL with a manual clock: once a
//! provider has accepted a message it is never sent again — not when its answer names an id
//! another message has, not when the answer is lost, not when the worker dies mid-send — and
//! what the provider refused is sent exactly once after it recovers.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Env, FakeProvider};
use deflect_chat::provider::{Inbound, StatusUpdate};
use deflect_chat::{DeliveryStatus, OutboxPass};
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

/// The correlation the provider was given with request `i`.
fn correlation(fake: &FakeProvider, i: usize) -> String {
    let body: serde_json::Value = serde_json::from_slice(&fake.requests()[i].body).unwrap();
    body["biz_opaque_callback_data"]
        .as_str()
        .unwrap()
        .to_string()
}

fn status(id: &str, correlation: Option<String>, status: DeliveryStatus) -> Inbound {
    Inbound::Status(StatusUpdate {
        external_id: id.into(),
        correlation,
        status,
        timestamp: 0,
        error_code: None,
        error_title: None,
    })
}

async fn a_provider_answering_two_sends_with_one_id_sends_each_once(b: Backend) {
    let (env, fake) = Env::meta(b, Some(Duration::from_millis(300))).await;
    fake.accept_as("wamid.same");
    fake.accept_as("wamid.same");
    let first = env.deflect("c1", "+31612345671").await;
    let second = env.deflect("c2", "+31612345672").await;
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 2);
    // Long after every lease, nothing goes out again.
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(env.outbox().await.get("sent"), Some(&2));
    let (a, c) = (env.message(first).await, env.message(second).await);
    assert_eq!((a.status.as_str(), c.status.as_str()), ("sent", "sent"));
    let ids = [a.external_id, c.external_id];
    assert!(
        ids.contains(&Some("wamid.same".into())) && ids.contains(&None),
        "one keeps the id, the other is recorded without it: {ids:?}"
    );
}

async fn a_send_without_an_answer_waits_for_its_status_callback(b: Backend) {
    let (env, fake) = Env::meta(b, Some(Duration::from_millis(300))).await;
    // The provider takes the message but answers after the client gave up.
    fake.respond_after(2 * S, 200, r#"{"messages":[{"id":"wamid.late"}]}"#);
    let m = env.deflect("c1", "+31612345671").await;
    assert_eq!(env.inbox.send_due().await.unwrap().unconfirmed, 1);
    assert_eq!(env.outbox().await.get("unconfirmed"), Some(&1));
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    // The status callback names the send: it is recorded, and never sent again.
    let c = correlation(&fake, 0);
    env.inbox
        .receive(
            "meta",
            &[status("wamid.late", Some(c), DeliveryStatus::Delivered)],
        )
        .await
        .unwrap();
    let msg = env.message(m).await;
    assert_eq!(msg.external_id.as_deref(), Some("wamid.late"));
    assert_eq!(msg.status, "delivered");
    assert_eq!(env.outbox().await.get("sent"), Some(&1));
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(fake.requests().len(), 1, "sent once");
}

async fn without_a_callback_an_unanswered_send_goes_again_after_the_wait(b: Backend) {
    let (env, fake) = Env::meta(b, Some(Duration::from_millis(300))).await;
    let wait = env.settings.inbox.outbox.unconfirmed_wait;
    fake.respond_after(2 * S, 200, r#"{"messages":[{"id":"wamid.lost"}]}"#);
    let m = env.deflect("c1", "+31612345671").await;
    assert_eq!(env.inbox.send_due().await.unwrap().unconfirmed, 1);
    env.clock.advance(wait - S);
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    env.clock.advance(2 * S);
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(env.message(m).await.status, "sent");
}

async fn refused_connections_are_retried_and_sent_once_after_recovery(b: Backend) {
    let (env, fake) = Env::meta(b, Some(Duration::from_millis(300))).await;
    fake.down().await;
    let m = env.deflect("c1", "+31612345671").await;
    // Refused for a minute: retried with back-off (1 s, 2 s, 4 s, …); nothing reached it.
    let mut retries = 0;
    for _ in 0..6 {
        retries += env.inbox.send_due().await.unwrap().retried;
        env.clock.advance(Duration::from_secs(10));
    }
    assert!(retries >= 4, "{retries}");
    fake.up().await;
    // Back, but over its throughput limit once: one more back-off, then it goes.
    fake.respond(400, r#"{"error":{"message":"throughput","code":130429}}"#);
    env.clock.advance(Duration::from_secs(300));
    assert_eq!(env.inbox.send_due().await.unwrap().retried, 1);
    assert_eq!(
        env.inbox.send_due().await.unwrap(),
        OutboxPass::default(),
        "backing off"
    );
    env.clock.advance(Duration::from_secs(300));
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(fake.requests().len(), 2, "the 130429 and the one accepted");
    assert_eq!(env.message(m).await.status, "sent");
}

async fn a_send_cut_short_by_a_dead_worker_is_confirmed_not_repeated(b: Backend) {
    let (env, fake) = Env::meta(b, Some(Duration::from_millis(300))).await;
    let m = env.deflect("c1", "+31612345671").await;
    // A worker claimed the row and sent it — the provider took it — and died before the
    // answer.
    let row = env.mark_sending(m).await;
    env.clock.advance(Duration::from_secs(61));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(env.outbox().await.get("unconfirmed"), Some(&1));
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert!(fake.requests().is_empty(), "not sent again");
    let c = deflect_chat::outbox::correlation(row);
    env.inbox
        .receive(
            "meta",
            &[status("wamid.taken", Some(c), DeliveryStatus::Read)],
        )
        .await
        .unwrap();
    assert_eq!(env.outbox().await.get("sent"), Some(&1));
    let msg = env.message(m).await;
    assert_eq!(
        (msg.status.as_str(), msg.external_id.as_deref()),
        ("read", Some("wamid.taken"))
    );
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert!(fake.requests().is_empty());
}

/// A node `name` of the test's database.
fn node(name: &str) -> deflect_chat::NewNode {
    deflect_chat::NewNode {
        name: name.into(),
        version: "test".into(),
        http: "127.0.0.1:8080".into(),
        sip: String::new(),
    }
}

/// A node that falls silent in the middle of a send: once it has been silent for
/// `LOST_AFTER`, the next heartbeat of a node beating steadily marks it lost and its send is
/// taken over at once — confirmed before it is made again, as after an expired lease — not
/// when the lease runs out a minute later.
async fn a_send_of_a_lost_node_is_taken_over_before_its_lease_ends(b: Backend) {
    use deflect_chat::NodeLoad;
    use deflect_chat::nodes::{HEARTBEAT, LOST_AFTER};
    let (env, fake) = Env::meta(b, None).await;
    let here = env.inbox.join_nodes(&node("here")).await.unwrap();
    let other = env.another().await;
    let there = other.join_nodes(&node("there")).await.unwrap();
    env.deflect("c1", "+31612345671").await;
    // "there" leases the send, and dies while the provider holds its answer.
    fake.respond_after(60 * S, 200, r#"{"messages":[{"id":"wamid.held"}]}"#);
    let sending = tokio::spawn(async move { other.send_due().await });
    fake.wait_for(1).await;
    sending.abort();
    assert_eq!(env.outbox().await.get("sending"), Some(&1));

    let load = NodeLoad {
        draining: false,
        calls: 0,
    };
    // The first beat after a gap takes nothing over, however long the others were silent.
    env.clock.advance(LOST_AFTER + S);
    let first = env.inbox.node_beat(here, load, None).await.unwrap();
    assert!(first.took_over.is_empty(), "{first:?}");
    assert_eq!(first.live, 1, "the silent node does not count");
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(env.outbox().await.get("sending"), Some(&1), "still leased");
    // A steady beat finds "there" silent for longer than LOST_AFTER.
    let previous = env.inbox.now();
    env.clock.advance(HEARTBEAT);
    let beat = env
        .inbox
        .node_beat(here, load, Some(previous))
        .await
        .unwrap();
    assert_eq!(beat.took_over, [(there, 1)]);
    assert_eq!(beat.live, 1, "the pace is this node's alone again");
    assert_eq!(env.inbox.send_due().await.unwrap(), OutboxPass::default());
    assert_eq!(
        env.outbox().await.get("unconfirmed"),
        Some(&1),
        "waits for the provider's status callback, not sent again blindly"
    );
    assert_eq!(fake.requests().len(), 1);
    let states: Vec<(i64, String)> = (env.inbox.nodes().await.unwrap().into_iter())
        .map(|n| (n.id, n.state))
        .collect();
    assert_eq!(
        states,
        [(there, "lost".to_owned()), (here, "running".to_owned())]
    );
    // Taken over once: the next beat finds nothing more.
    let previous = env.inbox.now();
    env.clock.advance(HEARTBEAT);
    let next = env
        .inbox
        .node_beat(here, load, Some(previous))
        .await
        .unwrap();
    assert!(next.took_over.is_empty(), "{next:?}");
    // "there" was only cut off: beating again, it learns it was given up and runs on.
    let back = env.another().await;
    let again = back.node_beat(there, load, None).await.unwrap();
    assert!(again.was_lost);
    assert_eq!(
        again.live, 2,
        "both send for the accounts: each at half the pace"
    );
    let state = |id| {
        let inbox = env.inbox.clone();
        async move {
            let nodes = inbox.nodes().await.unwrap();
            nodes.into_iter().find(|n| n.id == id).unwrap().state
        }
    };
    assert_eq!(state(there).await, "running");
}

async fn the_sandbox_sends_a_cut_short_send_again_at_once(b: Backend) {
    let env = Env::new(b).await;
    let m = env.deflect("c1", "+31612345671").await;
    env.mark_sending(m).await;
    env.clock.advance(Duration::from_secs(61));
    // Its sends are local: one cut short never reached anybody.
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(env.message(m).await.status, "sent");
}

async fn an_sms_goes_again_at_once_and_a_known_unreachable_number_gets_one_at_once(b: Backend) {
    let fake = FakeProvider::start().await;
    let mut settings = common::settings(Some(fake.addr));
    settings.whatsapp.default_account = Some("meta".into());
    let meta = (settings.whatsapp.accounts.iter_mut())
        .find(|a| a.name == "meta")
        .unwrap();
    meta.request_timeout = Duration::from_millis(300);
    meta.sms_fallback = Some(deflect_config::SmsFallbackConfig {
        provider: deflect_config::SmsProvider::Twilio,
        from: "+3197010200300".into(),
        text: "Continue at {{link}}".into(),
        account_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
        auth_token: Some(deflect_config::Secret::new("sms-token")),
        api_base_url: Some(format!("http://{}", fake.addr).parse().unwrap()),
        ..Default::default()
    });
    settings.public_base_url = Some("https://gw.example.com".parse().unwrap());
    settings.widget.sites = vec![deflect_config::SiteConfig {
        name: "shop".into(),
        ..Default::default()
    }];
    let env = Env::with(b, settings).await;
    fake.accept_as("wamid.template");
    let template = env.deflect("c1", "+31612345671").await;
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    let failed = Inbound::Status(StatusUpdate {
        error_code: Some(131026),
        error_title: Some("Message undeliverable".into()),
        ..match status("wamid.template", None, DeliveryStatus::Failed) {
            Inbound::Status(s) => s,
            Inbound::Message(_) => unreachable!(),
        }
    });
    env.inbox.receive("meta", &[failed]).await.unwrap();
    // The SMS API takes the SMS but answers after the client gave up. No callback will
    // ever confirm an SMS: it goes again at once, not after `unconfirmed_wait`.
    fake.respond_after(2 * S, 201, r#"{"sid":"SMlost"}"#);
    assert_eq!(env.inbox.send_due().await.unwrap().unconfirmed, 1);
    fake.accept_as("SM0001");
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    let sms = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";
    assert_eq!(paths[1..], [sms, sms], "{paths:?}");
    // The SMS carries the signed continue link; the conversation shows it hidden, in its
    // text and its stored request alike.
    let form = deflect_chat::provider::twilio::parse_form(&fake.requests()[2].body);
    let body = &form.iter().find(|(k, _)| k == "Body").unwrap().1;
    assert!(
        body.starts_with("Continue at https://gw.example.com/continue/"),
        "{body}"
    );
    let id = env.message(template).await.conversation_id;
    let shown = env.inbox.messages_unchecked(id, None, 100).await.unwrap();
    let shown = shown.iter().find(|m| m.kind == "sms").unwrap();
    assert_eq!(shown.body.as_deref(), Some("Continue at [continue link]"));
    assert!(
        !serde_json::to_string(shown).unwrap().contains("/continue/"),
        "{shown:?}"
    );
    // The number is known not to be on WhatsApp now: the next call's deflection sends its
    // SMS at once, no template.
    fake.accept_as("SM0002");
    let again = env.deflect("c2", "+31612345671").await;
    assert_eq!(env.message(again).await.kind, "sms");
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths[3..], [sms], "{paths:?}");
    // Another number still gets the template.
    fake.accept_as("wamid.other");
    let other = env.deflect("c3", "+31612345672").await;
    assert_eq!(env.message(other).await.kind, "template");
}

on_both!(
    a_provider_answering_two_sends_with_one_id_sends_each_once,
    a_send_without_an_answer_waits_for_its_status_callback,
    without_a_callback_an_unanswered_send_goes_again_after_the_wait,
    refused_connections_are_retried_and_sent_once_after_recovery,
    a_send_cut_short_by_a_dead_worker_is_confirmed_not_repeated,
    a_send_of_a_lost_node_is_taken_over_before_its_lease_ends,
    the_sandbox_sends_a_cut_short_send_again_at_once,
    an_sms_goes_again_at_once_and_a_known_unreachable_number_gets_one_at_once,
);
