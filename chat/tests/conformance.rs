//! The inbox's rules, run against SQLite and PostgreSQL alike (each test exists once per
//! backend: `sqlite::name` and `postgres::name`). Time is a manual clock.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use common::{Backend, Env, FakeProvider, T0, deflection, text};
use deflect_chat::provider::{Inbound, InboundMessage, StatusUpdate};
use deflect_chat::{
    BOT_ENDED, ChatError, ConversationFilter, DeliveryStatus, ErrorMeaning, EventKind, LimitCheck,
    LimitOutcome, NOT_WHITELISTED, OUTSIDE_HOURS, Presence, SandboxReply, Sender, Status,
};
use deflect_chat::{ListSource, NewFaqEntry, NewWhitelistEntry};
use std::time::Duration;

const S: Duration = Duration::from_secs(1);

async fn deflection_is_queued_once_per_call(b: Backend) {
    let env = Env::new(b).await;
    let other = env.another().await;
    let req = deflection("call-1@example", "+31612345678");
    // Twice, and concurrently from two "processes".
    let (a, c) = tokio::join!(env.inbox.deflect(&req), other.deflect(&req));
    let (a, c) = (a.unwrap(), c.unwrap());
    assert_eq!(a.conversation_id, c.conversation_id);
    assert!(a.created != c.created, "exactly one of them created it");
    let again = env.inbox.deflect(&req).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.message_id, a.message_id.max(c.message_id));
    assert_eq!(env.outbox().await.get("pending"), Some(&1));

    let d = env
        .inbox
        .conversation_unchecked(a.conversation_id)
        .await
        .unwrap();
    assert_eq!(d.conversation.status, Status::Pending);
    assert_eq!(d.conversation.origin, deflect_chat::Origin::Call);
    assert_eq!(
        d.conversation.contact_phone.as_deref(),
        Some("+31612345678")
    );
    let call = d.call.unwrap();
    assert_eq!(call.call_id, "call-1@example");
    assert_eq!(call.dialled_number.as_deref(), Some("+31201234567"));
    assert_eq!(call.ended_at - call.started_at, 59_000);
    // The call object the conversation API shows, and the `deflection.created` event's data
    // (what webhooks carry), keep their JSON form.
    assert_eq!(
        serde_json::to_value(&call).unwrap(),
        serde_json::json!({
            "call_id": "call-1@example", "caller": "+31612345678",
            "callback_number": "+31612345678", "dialled_number": "+31201234567",
            "flow": "support", "language": "en", "started_at": T0 - 60_000,
            "ended_at": T0 - 1_000, "input_method": "dtmf", "transcript": null,
            "path": []
        })
    );
    let events = env.inbox.events_after(0, 100).await.unwrap();
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::DeflectionCreated)
        .collect();
    assert_eq!(created.len(), 1, "{events:?}");
    let created_message = if a.created {
        a.message_id
    } else {
        c.message_id
    };
    let mut call_and_route = serde_json::to_value(&call).unwrap();
    call_and_route["account"] = serde_json::Value::Null;
    call_and_route["queue"] = serde_json::Value::Null;
    assert_eq!(
        created[0].data,
        serde_json::json!({ "call": call_and_route, "message_id": created_message })
    );

    let pass = env.inbox.send_due().await.unwrap();
    assert_eq!(pass.sent, 1);
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 0, "sent once");
    let out = env
        .inbox
        .sandbox_outgoing("sandbox", "+31612345678")
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, "template");
    assert_eq!(out[0].status, "sent");
    let payload = out[0].payload.as_ref().unwrap();
    assert_eq!(payload["name"], "deflect_callback");
    assert_eq!(payload["body_params"][0], d.conversation.reference);
    assert_eq!(
        payload["button_payload"],
        format!("deflect:{}", d.conversation.reference)
    );
    // Bad input.
    let mut bad = deflection("call-2", "0612345678");
    assert!(matches!(
        env.inbox.deflect(&bad).await,
        Err(ChatError::Invalid(_))
    ));
    bad.call.callback_number = "+31612345678".into();
    bad.queue = Some("nope".into());
    assert!(matches!(
        env.inbox.deflect(&bad).await,
        Err(ChatError::Invalid(_))
    ));
}

/// A deflection held before the call's BYE sends nothing until the hang-up's deflection
/// releases it — or, when the process holding it died, until the hold ends, sent by another
/// process; either way once.
async fn a_held_deflection_waits_for_its_release_or_its_hold(b: Backend) {
    let env = Env::new(b).await;
    let hold = 5 * S;
    let released = deflection("call-held@example", "+31612345678");
    let held = env.inbox.hold_deflection(&released, hold).await.unwrap();
    assert!(held.created);
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 0, "held back");
    let again = env.inbox.deflect(&released).await.unwrap();
    assert_eq!((again.created, again.message_id), (false, held.message_id));
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1, "released");

    // The process that held this one stops before the hang-up: another sends it once the
    // hold has passed, and a late release changes nothing.
    let node = env.another().await;
    let orphan = deflection("call-orphan@example", "+31687654321");
    node.hold_deflection(&orphan, hold).await.unwrap();
    drop(node);
    env.clock.advance(hold - Duration::from_millis(1));
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 0);
    env.clock.advance(Duration::from_millis(1));
    assert_eq!(
        env.inbox.send_due().await.unwrap().sent,
        1,
        "sent at the hold's end"
    );
    env.inbox.deflect(&orphan).await.unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 0, "sent once");
    let to = |n: &str| {
        let inbox = env.inbox.clone();
        let n = n.to_owned();
        async move { inbox.sandbox_outgoing("sandbox", &n).await.unwrap().len() }
    };
    assert_eq!((to("+31612345678").await, to("+31687654321").await), (1, 1));
}

async fn a_reply_joins_the_deflected_call_and_is_routed(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let d = env
        .inbox
        .deflect(&deflection("c1", "+31612345678"))
        .await
        .unwrap();
    env.inbox.send_due().await.unwrap();
    let template = &env
        .inbox
        .sandbox_outgoing("sandbox", "31612345678")
        .await
        .unwrap()[0];
    // The customer taps the quick reply: context = the template's id, payload = ours.
    let r = env
        .inbox
        .sandbox_reply(
            "sandbox",
            "+31612345678",
            &SandboxReply {
                text: "Yes, chat with me".into(),
                button_payload: Some(format!("deflect:{}", d.reference)),
                context_id: template.external_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![d.conversation_id]);
    let c = env
        .inbox
        .conversation(&ann, d.conversation_id)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.status, Status::Offered, "pending → queued → offered");
    assert_eq!(c.agent_id, Some(ann.agent_id));
    // A payload alone also links (a different WhatsApp id for the same person).
    let r = env
        .inbox
        .sandbox_reply(
            "sandbox",
            "+31699999999",
            &SandboxReply {
                text: "Chat".into(),
                button_payload: Some(format!("deflect:{}", d.reference)),
                context_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![d.conversation_id]);
    // Plain text from another number opens its own conversation.
    let r = env
        .inbox
        .receive("sandbox", &[text("m-other", "31688888888", "hello")])
        .await
        .unwrap();
    assert_ne!(r.conversations, vec![d.conversation_id]);
    // Later text from the first number joins the open conversation.
    let r = env
        .inbox
        .receive("sandbox", &[text("m-more", "31612345678", "more")])
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![d.conversation_id]);
}

async fn duplicate_deliveries_are_no_ops(b: Backend) {
    let env = Env::new(b).await;
    let first = env
        .inbox
        .receive("sandbox", &[text("wamid.A", "31611111111", "hi")])
        .await
        .unwrap();
    assert_eq!((first.messages, first.duplicates), (1, 0));
    let again = env
        .inbox
        .receive("sandbox", &[text("wamid.A", "31611111111", "hi")])
        .await
        .unwrap();
    assert_eq!((again.messages, again.duplicates), (0, 1));
    let all = env
        .inbox
        .list_conversations(&env.supervisor().await, &ConversationFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let msgs = env
        .inbox
        .messages_unchecked(all[0].id, None, 100)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);
}

async fn concurrent_deliveries_lose_nothing_and_keep_each_customers_order(b: Backend) {
    // Deliveries that arrive together are committed together: many customers write at once,
    // each message reaches both processes at the same time (the provider retrying at another
    // one), and each customer's next message follows the acknowledgement of the previous.
    const CUSTOMERS: usize = 8;
    const EACH: usize = 12;
    let env = Env::new(b).await;
    let other = env.another().await;
    let mut customers = tokio::task::JoinSet::new();
    for c in 0..CUSTOMERS {
        let (one, two) = (env.inbox.clone(), other.clone());
        customers.spawn(async move {
            let (mut messages, mut duplicates) = (0, 0);
            for k in 0..EACH {
                let m = [text(
                    &format!("w{c}.{k}"),
                    &format!("3161000{c:04}"),
                    &k.to_string(),
                )];
                let (a, b) = tokio::join!(one.receive("sandbox", &m), two.receive("sandbox", &m));
                for r in [a.unwrap(), b.unwrap()] {
                    messages += r.messages;
                    duplicates += r.duplicates;
                }
            }
            (messages, duplicates)
        });
    }
    let (mut messages, mut duplicates) = (0, 0);
    while let Some(r) = customers.join_next().await {
        let (m, d) = r.unwrap();
        messages += m;
        duplicates += d;
    }
    assert_eq!((messages, duplicates), (CUSTOMERS * EACH, CUSTOMERS * EACH));
    let all = env
        .inbox
        .list_conversations(&env.supervisor().await, &ConversationFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), CUSTOMERS);
    for conversation in all {
        // Every message once, in the customer's order.
        let stored = env
            .inbox
            .messages_unchecked(conversation.id, None, 1000)
            .await
            .unwrap();
        let bodies: Vec<String> = stored.iter().map(|m| m.body.clone().unwrap()).collect();
        let sent: Vec<String> = (0..EACH).map(|k| k.to_string()).collect();
        assert_eq!(bodies, sent);
        // The conversation's events: numbered without gaps, one per message, in order.
        let events = env
            .inbox
            .conversation_events(conversation.id, 0, 1000)
            .await
            .unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
        let announced: Vec<i64> = events
            .iter()
            .filter(|e| e.kind == EventKind::MessageCreated)
            .map(|e| e.data["message"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(announced, stored.iter().map(|m| m.id).collect::<Vec<_>>());
    }
}

/// Every row and event a set of deliveries leaves, ids included, conversation references left
/// out (they are random): two runs with the same input must dump the same.
async fn dump(env: &Env) -> Vec<String> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(env.url.expose())
        .await
        .unwrap();
    let tables = [
        "SELECT id, name, phone, created_at FROM contacts ORDER BY id",
        "SELECT id, contact_id, channel, external_id FROM contact_identities ORDER BY id",
        "SELECT id, contact_id, identity_id, channel, origin, account, status, queue, agent_id, declined, \
         queued_at, last_inbound_at, last_activity_at, event_seq, created_at FROM conversations ORDER BY id",
        "SELECT id, conversation_id, direction, kind, body, payload, external_id, status FROM messages ORDER BY id",
        "SELECT conversation_id, kind, due_at, agent_id FROM timers ORDER BY conversation_id, kind",
        "SELECT id, conversation_id, agent_id, queue, action, at FROM assignments ORDER BY id",
        "SELECT id, last_offer_at FROM agents ORDER BY id",
        "SELECT id, conversation_id, seq, kind, at FROM events ORDER BY id",
    ];
    let mut out = Vec::new();
    for sql in tables {
        let columns = sql["SELECT ".len()..sql.find(" FROM").unwrap()]
            .split(", ")
            .map(|c| format!("CAST({c} AS TEXT)"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {columns}{}", &sql[sql.find(" FROM").unwrap()..]);
        for r in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .unwrap()
        {
            let values: Vec<String> = (0..r.len())
                .map(|i| {
                    r.get::<Option<String>, _>(i)
                        .unwrap_or_else(|| "NULL".into())
                })
                .collect();
            out.push(values.join("|"));
        }
    }
    // The events' data, with the conversations' references taken out.
    for r in sqlx::query("SELECT data FROM events ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
    {
        let mut data: serde_json::Value = serde_json::from_str(&r.get::<String, _>(0)).unwrap();
        if let Some(c) = data.get_mut("conversation").and_then(|c| c.as_object_mut()) {
            c.remove("reference");
        }
        out.push(data.to_string());
    }
    out
}

async fn first_contacts_together_are_stored_as_one_at_a_time(b: Backend) {
    // A burst of first contacts, in one delivery, among other messages. Stored together by
    // one inbox; stored one at a time by another (each carries a reply context that points
    // nowhere, which takes the per-message path). Both must leave the same rows and events
    // behind, routing included.
    let burst = |reply_context: bool| {
        let mut items = vec![
            text("b1", "31611110001", "first"),
            text("b2", "31611110002", "first"),
            text("x2", "31600000001", "again"), // an earlier customer's conversation
            text("b3", "31611110003", "first"),
            text("b4", "31611110002", "second"), // joins the conversation b2 opened
            text("b5", "31611110004", "first"),
            text("b6", "31611110005", "first"),
            text("b7", "31611110006", "first"),
        ];
        // A customer without a profile name, who gets one with their second message.
        let mut anonymous = text("b8", "31611110007", "first");
        let mut named = text("b9", "31611110007", "second");
        if let (Inbound::Message(a), Inbound::Message(n)) = (&mut anonymous, &mut named) {
            a.profile_name = None;
            n.profile_name = Some("Zoe".into());
        }
        items.extend([anonymous, named]);
        if reply_context {
            for item in &mut items {
                if let Inbound::Message(m) = item {
                    m.context_id = Some("wamid.unknown".into());
                }
            }
        }
        items
    };
    let mut dumps = Vec::new();
    for reply_context in [false, true] {
        let env = Env::new(b).await;
        let ann = env.agent("ann", &["support"]).await;
        let bob = env.agent("bob", &["support"]).await;
        let _carl = env.agent("carl", &["overflow"]).await;
        let earlier = env
            .inbox
            .receive("sandbox", &[text("x1", "31600000001", "hi")])
            .await
            .unwrap()
            .conversations[0];
        env.advance(S).await;
        let before = env.inbox.inbound_stats();
        let r = env
            .inbox
            .receive("sandbox", &burst(reply_context))
            .await
            .unwrap();
        assert_eq!((r.messages, r.duplicates), (10, 0));
        assert_eq!(r.conversations.len(), 8, "seven new and the earlier one");
        let stats = env.inbox.inbound_stats();
        let grouped = stats.grouped - before.grouped;
        if reply_context {
            assert_eq!(grouped, 0);
        } else {
            // All but the message that names its contact.
            assert_eq!((grouped, stats.alone - before.alone), (9, 1));
        }
        // Routing in the order they came: Ann had the earlier one; each agent takes two.
        let mut offered = std::collections::HashMap::new();
        for c in &r.conversations {
            let c = env
                .inbox
                .conversation_unchecked(*c)
                .await
                .unwrap()
                .conversation;
            if c.status == Status::Offered {
                *offered.entry(c.agent_id.unwrap()).or_insert(0) += 1;
            } else {
                assert_eq!((c.status, c.agent_id), (Status::Queued, None));
            }
        }
        assert_eq!(
            offered.get(&ann.agent_id),
            Some(&2),
            "the earlier one and one more"
        );
        assert_eq!(offered.get(&bob.agent_id), Some(&2));
        let first = env
            .inbox
            .conversation_unchecked(r.conversations[0])
            .await
            .unwrap()
            .conversation;
        assert_eq!(first.agent_id, Some(bob.agent_id), "Bob was less busy");
        assert!(r.conversations.contains(&earlier));
        dumps.push(dump(&env).await);
    }
    for (a, b) in dumps[0].iter().zip(&dumps[1]) {
        assert_eq!(a, b, "stored together (left) and one at a time (right)");
    }
    assert_eq!(dumps[0].len(), dumps[1].len());
}

async fn statuses_only_move_forward_and_may_come_first(b: Backend) {
    let fake = FakeProvider::start().await;
    let env = Env::with(b, common::settings(Some(fake.addr))).await;
    let sup = env.supervisor().await;
    let r = env
        .inbox
        .receive("meta", &[text("wamid.in1", "31612345678", "hi")])
        .await
        .unwrap();
    let conv = r.conversations[0];
    let m = env
        .inbox
        .send_text(&sup, conv, "Hello!", None)
        .await
        .unwrap();
    // The provider will answer with wamid.fake1; its "read" arrives before the answer.
    let st = |s| {
        Inbound::Status(StatusUpdate {
            external_id: "wamid.fake1".into(),
            correlation: None,
            status: s,
            timestamp: 0,
            error_code: None,
            error_title: None,
        })
    };
    env.inbox
        .receive("meta", &[st(DeliveryStatus::Read)])
        .await
        .unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    let get = || async {
        env.inbox
            .messages_unchecked(conv, None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.id == m.id)
            .unwrap()
    };
    let now = get().await;
    assert_eq!(now.external_id.as_deref(), Some("wamid.fake1"));
    assert_eq!(
        now.status, "read",
        "the early status applied on recording the id"
    );
    env.inbox
        .receive(
            "meta",
            &[st(DeliveryStatus::Delivered), st(DeliveryStatus::Sent)],
        )
        .await
        .unwrap();
    assert_eq!(get().await.status, "read", "never backwards");
}

async fn free_text_only_within_24_hours(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let r = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap();
    let conv = r.conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    env.inbox
        .send_text(&ann, conv, "Hello", Some("k1"))
        .await
        .unwrap();
    // Idempotent by client key.
    let again = env
        .inbox
        .send_text(&ann, conv, "Hello", Some("k1"))
        .await
        .unwrap();
    let msgs = env.inbox.messages(&ann, conv, None, 100).await.unwrap();
    assert_eq!(
        msgs.iter()
            .filter(|m| m.client_key.as_deref() == Some("k1"))
            .count(),
        1
    );
    assert_eq!(again.client_key.as_deref(), Some("k1"));
    // Keep the conversation active, but let the customer's window lapse.
    env.clock.advance(Duration::from_secs(23 * 3600 + 3599));
    env.inbox
        .send_text(&ann, conv, "still in", None)
        .await
        .unwrap();
    env.clock.advance(2 * S);
    let e = env
        .inbox
        .send_text(&ann, conv, "too late", None)
        .await
        .unwrap_err();
    match &e {
        ChatError::OutsideWindow { recontact_template } => {
            assert_eq!(recontact_template, "deflect_recontact")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "outside_window");
    assert!(e.to_string().contains("deflect_recontact"));
    let t = env.inbox.send_recontact(&ann, conv, None).await.unwrap();
    assert_eq!(t.kind, "template");
    // The customer answers: the window reopens.
    env.inbox
        .receive("sandbox", &[text("w2", "31612345678", "yes?")])
        .await
        .unwrap();
    env.inbox
        .send_text(&ann, conv, "welcome back", None)
        .await
        .unwrap();
}

async fn offers_time_out_to_the_next_agent(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let bob = env.agent("bob", &["support"]).await;
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    let get = || async {
        env.inbox
            .conversation_unchecked(conv)
            .await
            .unwrap()
            .conversation
    };
    assert_eq!(get().await.agent_id, Some(ann.agent_id));
    env.advance(9 * S).await;
    assert_eq!(get().await.agent_id, Some(ann.agent_id), "not before 10 s");
    env.advance(S).await;
    let c = get().await;
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Offered, Some(bob.agent_id))
    );
    // Ann cannot accept any more; Bob rejects; nobody is left this round.
    assert!(matches!(
        env.inbox.accept_offer(ann.agent_id, conv).await,
        Err(ChatError::Conflict(_))
    ));
    env.inbox.reject_offer(bob.agent_id, conv).await.unwrap();
    assert_eq!(get().await.status, Status::Queued);
    // Ann comes back (presence): a new round offers it again.
    env.inbox
        .set_presence(ann.agent_id, Presence::Away)
        .await
        .unwrap();
    env.inbox
        .set_presence(ann.agent_id, Presence::Available)
        .await
        .unwrap();
    assert_eq!(get().await.agent_id, Some(ann.agent_id));
    let c = env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    assert_eq!(c.status, Status::Assigned);
    // Going offline passes open offers on.
    let conv2 = env
        .inbox
        .receive("sandbox", &[text("w2", "31600000002", "hi")])
        .await
        .unwrap()
        .conversations[0];
    let c2 = env
        .inbox
        .conversation_unchecked(conv2)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c2.agent_id, Some(bob.agent_id), "Bob is less busy");
    env.inbox
        .set_presence(bob.agent_id, Presence::Offline)
        .await
        .unwrap();
    let c2 = env
        .inbox
        .conversation_unchecked(conv2)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c2.agent_id, Some(ann.agent_id));
}

/// Whom a call may ring: the enabled agents available with fewer conversations offered or
/// held than `inbox.max_conversations_per_agent` (2 here), each with their memberships.
async fn calls_may_ring_the_available_agents_with_room(b: Backend) {
    let env = Env::new(b).await;
    env.agent("ann", &["support"]).await;
    for (id, from) in [("w1", "31600000001"), ("w2", "31600000002")] {
        let message = [text(id, from, "hi")];
        env.inbox.receive("sandbox", &message).await.unwrap();
    }
    let bob = env.agent("bob", &["support", "overflow"]).await;
    let cas = env.agent("cas", &["support"]).await;
    env.inbox
        .set_presence(cas.agent_id, Presence::Away)
        .await
        .unwrap();
    let room = env.inbox.agents_with_room().await.unwrap();
    let found: Vec<(i64, Vec<String>)> = (room.iter()).map(|a| (a.id, a.queues.clone())).collect();
    assert_eq!(
        found,
        [(bob.agent_id, vec!["overflow".into(), "support".into()])],
        "Ann holds two offers, Cas is away"
    );
}

async fn wait_timeout_applies_the_fallback(b: Backend) {
    let env = Env::new(b).await;
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    let get = || async {
        env.inbox
            .conversation_unchecked(conv)
            .await
            .unwrap()
            .conversation
    };
    assert_eq!(get().await.status, Status::Queued, "nobody available");
    env.advance(60 * S).await;
    assert_eq!(get().await.queue, "overflow");
    env.advance(120 * S).await;
    let msgs = env.inbox.messages_unchecked(conv, None, 10).await.unwrap();
    let reference = get().await.reference;
    assert_eq!(
        msgs.last().unwrap().body.as_deref(),
        Some(format!("All agents are busy in overflow; your reference is {reference}").as_str())
    );
    assert_eq!(get().await.status, Status::Queued);
    // Another customer, answered by a supervisor while waiting: no "all busy" reply.
    let answered = env
        .inbox
        .receive("sandbox", &[text("w2", "31687654321", "hello?")])
        .await
        .unwrap()
        .conversations[0];
    env.advance(60 * S).await;
    let sup = env.supervisor().await;
    env.inbox
        .send_text(&sup, answered, "Looking into it", None)
        .await
        .unwrap();
    env.advance(120 * S).await;
    let msgs = env
        .inbox
        .messages_unchecked(answered, None, 10)
        .await
        .unwrap();
    let bodies: Vec<_> = msgs.iter().filter_map(|m| m.body.as_deref()).collect();
    assert_eq!(bodies, ["hello?", "Looking into it"]);
}

async fn closing_needs_a_disposition_and_pulls_the_oldest(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let mut convs = Vec::new();
    for i in 0..4 {
        env.clock.advance(S);
        let r = env
            .inbox
            .receive(
                "sandbox",
                &[text(&format!("w{i}"), &format!("3161000000{i}"), "hi")],
            )
            .await
            .unwrap();
        convs.push(r.conversations[0]);
    }
    let inbox = &env.inbox;
    let status = |id| async move { inbox.conversation_unchecked(id).await.unwrap().conversation };
    // Reception limit 2.
    assert_eq!(status(convs[0]).await.status, Status::Offered);
    assert_eq!(status(convs[1]).await.status, Status::Offered);
    assert_eq!(status(convs[2]).await.status, Status::Queued);
    env.inbox
        .accept_offer(ann.agent_id, convs[0])
        .await
        .unwrap();
    let e = env.inbox.close(&ann, convs[0], None).await.unwrap_err();
    assert!(
        matches!(&e, ChatError::DispositionRequired { choices } if choices == &["resolved", "spam"])
    );
    assert!(matches!(
        env.inbox.close(&ann, convs[0], Some("bogus")).await,
        Err(ChatError::Invalid(_))
    ));
    let c = env
        .inbox
        .close(&ann, convs[0], Some("resolved"))
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.disposition.as_deref()),
        (Status::Closed, Some("resolved"))
    );
    assert_eq!(c.agent_id, Some(ann.agent_id), "who handled it is kept");
    assert_eq!(
        status(convs[2]).await.status,
        Status::Offered,
        "the oldest waiting"
    );
    // Her history lists it; her load does not count it.
    let handled = ConversationFilter {
        agent_id: Some(ann.agent_id),
        status: vec![Status::Closed],
        ..Default::default()
    };
    let listed = env.inbox.list_conversations(&ann, &handled).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [convs[0]]);
    assert_eq!(status(convs[3]).await.status, Status::Queued);
    // A new message from a closed conversation's customer opens a new one.
    let r = env
        .inbox
        .receive("sandbox", &[text("w-new", "316100000000", "again")])
        .await
        .unwrap();
    assert_ne!(r.conversations[0], convs[0]);
    // A conversation closed while only offered was handled by nobody.
    let offered = status(convs[1]).await;
    assert_eq!(offered.status, Status::Offered);
    let sup = env.supervisor().await;
    let c = env.inbox.close(&sup, convs[1], Some("spam")).await.unwrap();
    assert_eq!(c.agent_id, None);
}

async fn claim_and_transfers(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let bob = env.agent("bob", &["support", "overflow"]).await;
    let eve = env.agent("eve", &["overflow"]).await;
    for a in [&ann, &bob, &eve] {
        env.inbox
            .set_presence(a.agent_id, Presence::Away)
            .await
            .unwrap();
    }
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    assert!(
        matches!(
            env.inbox.claim(&eve, conv).await,
            Err(ChatError::NotFound(_))
        ),
        "not her queue"
    );
    let c = env.inbox.claim(&ann, conv).await.unwrap();
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Assigned, Some(ann.agent_id))
    );
    assert!(matches!(
        env.inbox.claim(&bob, conv).await,
        Err(ChatError::Conflict(_))
    ));
    // To an agent: not accepted in time → back to Ann.
    let c = env
        .inbox
        .transfer_to_agent(&ann, conv, bob.agent_id)
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Offered, Some(bob.agent_id))
    );
    env.advance(30 * S).await;
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Assigned, Some(ann.agent_id))
    );
    // Accepted: stays with Bob.
    env.inbox
        .transfer_to_agent(&ann, conv, bob.agent_id)
        .await
        .unwrap();
    env.inbox.accept_offer(bob.agent_id, conv).await.unwrap();
    env.advance(60 * S).await;
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.agent_id, Some(bob.agent_id));
    // To a queue: offered there; unaccepted → back to Bob.
    env.inbox
        .set_presence(eve.agent_id, Presence::Available)
        .await
        .unwrap();
    let c = env
        .inbox
        .transfer_to_queue(&bob, conv, "overflow")
        .await
        .unwrap();
    assert_eq!(
        (c.queue.as_str(), c.agent_id),
        ("overflow", Some(eve.agent_id))
    );
    env.advance(30 * S).await;
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Assigned, Some(bob.agent_id))
    );
    // Only the holder (or a supervisor) transfers; others of the queue see it but may not.
    assert!(matches!(
        env.inbox.transfer_to_queue(&eve, conv, "support").await,
        Err(ChatError::Forbidden(_))
    ));
    assert!(matches!(
        env.inbox.transfer_to_queue(&ann, conv, "support").await,
        Err(ChatError::NotFound(_))
    ));
}

/// The customer's inactivity closes an assigned conversation once its agent has answered:
/// measured from the agent's last message, never while the customer waits for an answer,
/// never for a conversation no agent holds; the closing message goes first.
async fn inactivity_closes_answered_conversations_with_a_system_disposition(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.automations.inactivity_message = "Closing this chat, {{customer_name}}.".into();
    let env = Env::with(b, settings).await;
    let ann = env.agent("ann", &["support"]).await;
    let status = |conv: i64| {
        let inbox = &env.inbox;
        async move {
            let c = inbox
                .conversation_unchecked(conv)
                .await
                .unwrap()
                .conversation;
            (c.status, c.disposition)
        }
    };
    // A deflected call nobody answered yet: no agent holds it, so it never closes this way.
    let pending = env
        .inbox
        .deflect(&deflection("c1", "+31687654321"))
        .await
        .unwrap();
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    env.advance(Duration::from_secs(2 * 3600)).await;
    assert_eq!(
        status(conv).await.0,
        Status::Assigned,
        "the customer waits for the agent"
    );

    env.inbox
        .send_text(&ann, conv, "Hello!", None)
        .await
        .unwrap();
    env.advance(Duration::from_secs(1800)).await;
    env.inbox
        .receive("sandbox", &[text("w2", "31612345678", "one more thing")])
        .await
        .unwrap();
    env.advance(Duration::from_secs(2 * 3600)).await;
    assert_eq!(status(conv).await.0, Status::Assigned, "waiting again");

    env.inbox
        .send_text(&ann, conv, "Sure?", None)
        .await
        .unwrap();
    env.advance(Duration::from_secs(1800)).await;
    env.inbox
        .send_text(&ann, conv, "Anything else?", None)
        .await
        .unwrap();
    env.advance(Duration::from_secs(1800)).await;
    assert_eq!(
        status(conv).await.0,
        Status::Assigned,
        "counted from the agent's last message"
    );
    env.advance(Duration::from_secs(1800)).await;
    assert_eq!(
        status(conv).await,
        (Status::Closed, Some(deflect_chat::INACTIVE.to_string()))
    );
    assert_eq!(deflect_chat::INACTIVE, "closed for inactivity");
    let last = env.inbox.messages_unchecked(conv, None, 20).await.unwrap();
    let last = last.last().unwrap();
    assert_eq!(
        (last.sender, last.body.as_deref()),
        (Sender::Automation, Some("Closing this chat, Ann."))
    );
    assert_eq!(status(pending.conversation_id).await.0, Status::Pending);
}

/// An agent who leaves the customer unanswered is reminded after `reminder_after` (the
/// customer hears `reminder_message`), and after `reoffer_after` the conversation goes to
/// another agent of its queue; an answer stops both. Customers' messages start them
/// whichever way they are stored (with the others of their run, or one at a time).
async fn unanswered_customers_remind_the_agent_then_go_to_another(b: Backend) {
    let mut settings = common::settings(None);
    let rules = &mut settings.inbox.automations;
    rules.reminder_after = Duration::from_secs(300);
    rules.reminder_message = "We are still here, {{customer_name}}.".into();
    rules.reoffer_after = Duration::from_secs(600);
    let env = Env::with(b, settings).await;
    let ann = env.agent("ann", &["support"]).await;
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    let bob = env.agent("bob", &["support"]).await;
    let reminders = || {
        let inbox = &env.inbox;
        async move {
            let events = inbox.conversation_events(conv, 0, 500).await.unwrap();
            events
                .into_iter()
                .filter(|e| e.kind == EventKind::ConversationReminder)
                .map(|e| e.data["agent_id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let automatic = || {
        let inbox = &env.inbox;
        async move {
            let msgs = inbox.messages_unchecked(conv, None, 50).await.unwrap();
            msgs.into_iter()
                .filter(|m| m.sender == Sender::Automation)
                .map(|m| m.body.unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    let holder = || {
        let inbox = &env.inbox;
        async move {
            let c = inbox
                .conversation_unchecked(conv)
                .await
                .unwrap()
                .conversation;
            (c.status, c.agent_id)
        }
    };

    // Assigned with the customer's message unanswered: counted from the assignment.
    env.advance(Duration::from_secs(240)).await;
    // A second message (one at a time: a quick reply) does not move the reminder.
    let reference = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation
        .reference;
    let mut quick = text("w2", "31612345678", "hello?");
    if let Inbound::Message(m) = &mut quick {
        m.button_payload = Some(format!("deflect:{reference}"));
    }
    env.inbox.receive("sandbox", &[quick]).await.unwrap();
    assert!(reminders().await.is_empty());
    env.advance(Duration::from_secs(60)).await;
    assert_eq!(reminders().await, [ann.agent_id]);
    assert_eq!(automatic().await, ["We are still here, Ann."]);
    assert_eq!(holder().await, (Status::Assigned, Some(ann.agent_id)));

    // Still unanswered at 10 minutes: offered to Bob, never to Ann again this round.
    env.advance(Duration::from_secs(300)).await;
    assert_eq!(holder().await, (Status::Offered, Some(bob.agent_id)));
    let mut sql = env.sql().await;
    let actions: Vec<String> =
        sqlx::query("SELECT action FROM assignments WHERE conversation_id = $1 ORDER BY id")
            .bind(conv)
            .fetch_all(&mut sql)
            .await
            .unwrap()
            .into_iter()
            .map(|r| sqlx::Row::get(&r, 0))
            .collect();
    assert!(
        actions.ends_with(&["reoffered".into(), "queued".into(), "offered".into()]),
        "{actions:?}"
    );
    env.inbox.accept_offer(bob.agent_id, conv).await.unwrap();

    // Bob answers: nothing more. The customer writes (with the others of a run): Bob is
    // reminded 5 minutes later.
    env.inbox
        .send_text(&bob, conv, "Here I am", None)
        .await
        .unwrap();
    env.advance(Duration::from_secs(900)).await;
    assert_eq!(reminders().await, [ann.agent_id]);
    env.inbox
        .receive("sandbox", &[text("w3", "31612345678", "thanks, and…")])
        .await
        .unwrap();
    env.advance(Duration::from_secs(299)).await;
    assert_eq!(reminders().await, [ann.agent_id]);
    env.advance(Duration::from_secs(1)).await;
    assert_eq!(reminders().await, [ann.agent_id, bob.agent_id]);
    // Bob answers in time: no re-offer.
    env.inbox
        .send_text(&bob, conv, "Go on", None)
        .await
        .unwrap();
    env.advance(Duration::from_secs(900)).await;
    assert_eq!(holder().await, (Status::Assigned, Some(bob.agent_id)));
    assert_eq!(automatic().await.len(), 2);
}

async fn agents_see_only_their_queues(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let eve = env.agent("eve", &["overflow"]).await;
    let sup = env.supervisor().await;
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "refund please")])
        .await
        .unwrap()
        .conversations[0];
    assert!(env.inbox.conversation(&ann, conv).await.is_ok());
    assert!(matches!(
        env.inbox.conversation(&eve, conv).await,
        Err(ChatError::NotFound(_))
    ));
    assert!(matches!(
        env.inbox.messages(&eve, conv, None, 10).await,
        Err(ChatError::NotFound(_))
    ));
    let all = ConversationFilter::default();
    assert_eq!(
        env.inbox
            .list_conversations(&ann, &all)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.inbox
            .list_conversations(&eve, &all)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        env.inbox
            .list_conversations(&sup, &all)
            .await
            .unwrap()
            .len(),
        1
    );
    let by_text = ConversationFilter {
        text: Some("REFUND".into()),
        ..Default::default()
    };
    assert_eq!(
        env.inbox
            .list_conversations(&sup, &by_text)
            .await
            .unwrap()
            .len(),
        1
    );
    let closed = ConversationFilter {
        status: vec![Status::Closed],
        ..Default::default()
    };
    assert_eq!(
        env.inbox
            .list_conversations(&sup, &closed)
            .await
            .unwrap()
            .len(),
        0
    );
    // Passwords.
    assert_eq!(
        env.inbox
            .verify_password("ann", "correct horse battery")
            .await
            .unwrap()
            .id,
        ann.agent_id
    );
    assert!(matches!(
        env.inbox.verify_password("ann", "wrong").await,
        Err(ChatError::InvalidCredentials)
    ));
    assert!(matches!(
        env.inbox.verify_password("nobody", "x").await,
        Err(ChatError::InvalidCredentials)
    ));
    // Internal notes: any viewer of the conversation.
    let n = env
        .inbox
        .add_note(&ann, conv, "VIP customer")
        .await
        .unwrap();
    assert!(n.internal);
    assert!(env.inbox.add_note(&eve, conv, "x").await.is_err());
}

async fn events_come_in_order_and_resume(b: Backend) {
    let env = Env::new(b).await;
    let mut live = env.inbox.subscribe(None).await.unwrap();
    let conv = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "one")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox
        .receive("sandbox", &[text("w2", "31612345678", "two")])
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let e = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(e);
    }
    let kinds: Vec<&EventKind> = seen.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        [
            &EventKind::ConversationCreated,
            &EventKind::MessageCreated,
            &EventKind::ConversationQueued,
            &EventKind::MessageCreated
        ]
    );
    let seqs: Vec<i64> = seen.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert!(seen.iter().all(|e| e.conversation_id == Some(conv)));
    // Resume after the second event: the rest, once each, then live ones.
    let mut resumed = env.inbox.subscribe(Some(seen[1].id)).await.unwrap();
    for expected in &seen[2..] {
        let e = resumed.next().await.unwrap().unwrap();
        assert_eq!(e.id, expected.id);
    }
    env.inbox
        .receive("sandbox", &[text("w3", "31612345678", "three")])
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), resumed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(e.id > seen[3].id);
    assert_eq!(e.kind, EventKind::MessageCreated);
    assert_eq!(e.data["message"]["body"], "three");
}

async fn timers_survive_restarts_and_fire_once(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let mut convs = Vec::new();
    for i in 0..6 {
        let r = env
            .inbox
            .receive(
                "sandbox",
                &[text(&format!("w{i}"), &format!("3162000000{i}"), "hi")],
            )
            .await
            .unwrap();
        convs.push(r.conversations[0]);
    }
    let _ = ann;
    // "Restart": a fresh inbox on the same database sees the timers.
    let reopened = env.another().await;
    env.inbox.shutdown();
    env.clock.advance(Duration::from_secs(60));
    // Two inboxes fire concurrently (on SQLite they take turns): no timer fires twice.
    let third = env.another().await;
    let (a, c) = tokio::join!(reopened.fire_due_timers(), third.fire_due_timers());
    let fired = a.unwrap() + c.unwrap();
    // Nothing due is left behind.
    let next = reopened.next_timer_due().await.unwrap().unwrap();
    assert!(
        next > deflect_chat::Clock::now(&env.clock),
        "a due timer was left unfired"
    );
    let events = reopened.events_after(0, 10_000).await.unwrap();
    // Per conversation: the wait timer moves it to overflow, once. The two offered ones also
    // had a due offer timer; when two processes race, the wait timer may win and withdraw
    // the offer (cancelling its timer) instead of the offer expiring first — both are right.
    let expiries = events
        .iter()
        .filter(|e| e.kind == EventKind::ConversationQueued && e.data.get("declined_by").is_some())
        .count();
    assert!(expiries <= 2, "{expiries} offer expiries for two offers");
    assert_eq!(fired, 6 + expiries, "each fired timer did its work once");
    for id in convs {
        let c = reopened
            .conversation_unchecked(id)
            .await
            .unwrap()
            .conversation;
        assert_eq!(c.queue, "overflow");
        let moves = events
            .iter()
            .filter(|e| {
                e.conversation_id == Some(id)
                    && e.kind == EventKind::ConversationQueued
                    && e.data["conversation"]["queue"] == "overflow"
            })
            .count();
        assert_eq!(moves, 1);
    }
}

async fn unsent_messages_are_sent_once_after_a_restart(b: Backend) {
    let fake = FakeProvider::start().await;
    let mut settings = common::settings(Some(fake.addr));
    settings.whatsapp.default_account = Some("meta".into());
    let env = Env::with(b, settings).await;
    for i in 0..20 {
        env.inbox
            .deflect(&deflection(
                &format!("call-{i}"),
                &format!("+316300000{i:02}"),
            ))
            .await
            .unwrap();
    }
    // The process "dies" before sending: a new one on the same database sends each once.
    env.inbox.shutdown();
    let a = env.another().await;
    let c = env.another().await;
    let (x, y) = tokio::join!(a.send_due(), c.send_due());
    assert_eq!(x.unwrap().sent + y.unwrap().sent, 20);
    assert_eq!(a.send_due().await.unwrap().sent, 0);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 20, "never twice");
    let mut to: Vec<String> = reqs
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["to"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 20);
}

async fn provider_failures(b: Backend) {
    let fake = FakeProvider::start().await;
    let mut settings = common::settings(Some(fake.addr));
    settings.inbox.outbox.max_attempts = 3;
    settings.inbox.outbox.initial_backoff = Duration::from_secs(1);
    let env = Env::with(b, settings).await;
    let sup = env.supervisor().await;
    let conv = env
        .inbox
        .receive("meta", &[text("wamid.in", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    // 5xx and rate limits are retried with back-off, then dead-lettered.
    fake.respond(500, r#"{"error":{"message":"boom","code":1}}"#);
    fake.respond(400, r#"{"error":{"message":"rate","code":131056}}"#);
    fake.respond(503, "unavailable");
    let m = env
        .inbox
        .send_text(&sup, conv, "hello", None)
        .await
        .unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().retried, 1);
    assert_eq!(
        env.inbox.send_due().await.unwrap().retried,
        0,
        "not due before the back-off"
    );
    env.clock.advance(S);
    assert_eq!(env.inbox.send_due().await.unwrap().retried, 1);
    // While it waits, the message says why (kept across reloads) and the feed hears it.
    let waiting = env.message(m.id).await;
    assert_eq!(
        (
            waiting.status.as_str(),
            waiting.error_code,
            waiting.error_meaning
        ),
        ("queued", Some(131056), Some(ErrorMeaning::RateLimited))
    );
    let events = env.inbox.events_after(0, 10_000).await.unwrap();
    let retry = (events.iter().rev())
        .find(|e| e.kind == EventKind::MessageStatus && e.data["message_id"] == m.id)
        .unwrap();
    assert_eq!(
        (&retry.data["status"], &retry.data["error_code"]),
        (&"queued".into(), &131056.into())
    );
    assert_eq!(retry.data["error_meaning"], "rate_limited");
    assert_eq!(retry.data["retry_at"], T0 + 3 * 1000);
    env.clock.advance(2 * S);
    assert_eq!(env.inbox.send_due().await.unwrap().dead, 1);
    let msg = env
        .inbox
        .messages_unchecked(conv, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == m.id)
        .unwrap();
    assert_eq!(msg.status, "failed");
    assert_eq!(env.outbox().await.get("dead"), Some(&1));
    // 131026 from a status: the conversation is unreachable; sending is refused.
    env.inbox
        .send_text(&sup, conv, "again", None)
        .await
        .unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    let sent_id = fake.requests().len();
    env.inbox
        .receive(
            "meta",
            &[Inbound::Status(StatusUpdate {
                external_id: format!("wamid.fake{sent_id}"),
                correlation: None,
                status: DeliveryStatus::Failed,
                timestamp: 0,
                error_code: Some(131026),
                error_title: Some("Message undeliverable".into()),
            })],
        )
        .await
        .unwrap();
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert!(c.unreachable);
    assert!(matches!(
        env.inbox.send_text(&sup, conv, "x", None).await,
        Err(ChatError::Unreachable)
    ));
    // 131047 on send: failed, and the conversation says the recontact template is needed.
    let conv2 = env
        .inbox
        .receive("meta", &[text("wamid.in2", "31600000077", "hi")])
        .await
        .unwrap()
        .conversations[0];
    fake.respond(
        400,
        r#"{"error":{"message":"Re-engagement message","code":131047}}"#,
    );
    env.inbox
        .send_text(&sup, conv2, "hello", None)
        .await
        .unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().dead, 1);
    let events = env.inbox.events_after(0, 10_000).await.unwrap();
    let w = events
        .iter()
        .find(|e| e.conversation_id == Some(conv2) && e.kind == EventKind::ConversationWindowClosed)
        .unwrap();
    assert_eq!(w.data["recontact_template"], "deflect_recontact");
    // The failed message keeps its code and what it means, for the inbox to explain.
    let failed = env.inbox.messages_unchecked(conv2, None, 10).await.unwrap();
    let failed = failed.last().unwrap();
    assert_eq!(
        (
            failed.status.as_str(),
            failed.error_code,
            failed.error_meaning
        ),
        ("failed", Some(131047), Some(ErrorMeaning::OutsideWindow))
    );
}

/// Read receipts and the typing indicator: an agent opening a WhatsApp conversation marks
/// the customer's latest message read at Meta (exactly Meta's request), once; typing shows
/// the indicator at most every 20 s (virtual clock), and again at once for a newer message;
/// a refused receipt is sent again next time; a web chat has none.
async fn receipts_mark_read_once_and_typing_at_most_every_twenty_seconds(b: Backend) {
    let (env, fake) = Env::meta(b, None).await;
    let sup = env.supervisor().await;
    let conv = env
        .inbox
        .receive("meta", &[text("wamid.in1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    let read = |id: &str| serde_json::json!({"messaging_product": "whatsapp", "status": "read", "message_id": id});
    let typing = |id: &str| {
        let mut r = read(id);
        r["typing_indicator"] = serde_json::json!({"type": "text"});
        r
    };
    let bodies = || {
        (fake.requests().iter())
            .map(|r| {
                assert_eq!(r.path, "/v24.0/106540352242922/messages");
                assert_eq!(r.headers["authorization"], "Bearer EAAG-test-token");
                serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()
            })
            .collect::<Vec<_>>()
    };
    // A refusal is not remembered: the next open sends it again.
    fake.respond(
        400,
        r#"{"error":{"message":"Invalid parameter","code":100}}"#,
    );
    assert_eq!(env.inbox.send_read_receipt(&sup, conv).await.unwrap(), None);
    let sent = env.inbox.send_read_receipt(&sup, conv).await.unwrap();
    assert_eq!(sent, Some(deflect_chat::provider::Receipt::Sent));
    assert_eq!(env.inbox.send_read_receipt(&sup, conv).await.unwrap(), None);
    assert_eq!(bodies(), [read("wamid.in1"), read("wamid.in1")]);

    // Typing: the indicator at once (read already, but it shows typing), not again within 20 s.
    env.inbox.typing(conv, Some(sup.agent_id)).await.unwrap();
    fake.wait_for(3).await;
    env.inbox.typing(conv, Some(sup.agent_id)).await.unwrap();
    env.clock.advance(Duration::from_secs(19));
    env.inbox.typing(conv, Some(sup.agent_id)).await.unwrap();
    // A newer message from the customer is marked at once; 20 s later typing shows again.
    env.inbox
        .receive("meta", &[text("wamid.in2", "31612345678", "still there?")])
        .await
        .unwrap();
    env.inbox.typing(conv, Some(sup.agent_id)).await.unwrap();
    fake.wait_for(4).await;
    env.clock.advance(Duration::from_secs(20));
    env.inbox.typing(conv, Some(sup.agent_id)).await.unwrap();
    fake.wait_for(5).await;
    let got = bodies();
    assert_eq!(
        got[2..],
        [
            typing("wamid.in1"),
            typing("wamid.in2"),
            typing("wamid.in2")
        ]
    );
    // The visitor typing in a web chat, or an agent in one, sends nothing to WhatsApp.
    let web = env
        .inbox
        .start_web_conversation(&deflect_chat::NewWebConversation {
            site: "www".into(),
            visitor_token: "visitor-token-0123456789abcdef".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        env.inbox.send_read_receipt(&sup, web.id).await.unwrap(),
        None
    );
    assert_eq!(fake.requests().len(), 5);

    // Twilio has no read receipt alone; its typing indicator (which marks the message read)
    // goes to the Messaging API as a form.
    let sid = "SM0123456789abcdef0123456789abcdef";
    let conv = env
        .inbox
        .receive("twilio", &[text(sid, "31687654321", "hoi")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(
        env.inbox.send_read_receipt(&sup, conv).await.unwrap(),
        Some(deflect_chat::provider::Receipt::NotSupported)
    );
    env.inbox.typing(conv, Some(sup.agent_id)).await.unwrap();
    let r = fake.wait_for(6).await.pop().unwrap();
    assert_eq!(r.path, "/v2/Indicators/Typing.json");
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        format!("messageId={sid}&channel=whatsapp")
    );
    let auth = base64::engine::general_purpose::STANDARD
        .encode("AC0123456789abcdef0123456789abcdef:twilio-token");
    assert_eq!(r.headers["authorization"], format!("Basic {auth}"));
}

async fn web_conversation_continues_on_whatsapp(b: Backend) {
    let env = Env::new(b).await;
    let token = "visitor-token-0123456789abcdef";
    let c = env
        .inbox
        .start_web_conversation(&deflect_chat::NewWebConversation {
            site: "www".into(),
            visitor_token: token.into(),
            name: Some("Ann".into()),
            phone: Some("+31687654321".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (c.channel, c.status),
        (deflect_chat::Channel::Web, Status::Queued)
    );
    env.inbox
        .web_visitor_message(token, c.id, "Hello from the web", Some("k1"))
        .await
        .unwrap();
    env.inbox
        .web_visitor_message(token, c.id, "Hello from the web", Some("k1"))
        .await
        .unwrap();
    assert!(
        env.inbox
            .web_visitor_message("another-visitor-token-xyz", c.id, "x", None)
            .await
            .is_err()
    );
    let h = env
        .inbox
        .create_handoff(token, c.id, Duration::from_secs(600))
        .await
        .unwrap();
    assert!(
        h.url.starts_with("https://wa.me/15550100000?text="),
        "{}",
        h.url
    );
    assert!(h.text.contains(&h.code));
    let r = env
        .inbox
        .receive("sandbox", &[text("wa1", "31612345678", &h.text)])
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![c.id], "same conversation");
    let (after, msgs) = env.inbox.web_transcript(token, c.id, None).await.unwrap();
    assert_eq!(after.channel, deflect_chat::Channel::Whatsapp);
    // Replies go to the WhatsApp number: it is the contact's number now; the one typed into
    // the pre-chat form is kept beside it.
    assert_eq!(after.contact_phone.as_deref(), Some("+31612345678"));
    assert_eq!(after.contact_form_phone.as_deref(), Some("+31687654321"));
    assert_eq!(
        msgs.len(),
        2,
        "history kept: the web message and the WhatsApp one"
    );
    // The code is spent: another number sending it starts its own conversation.
    let r = env
        .inbox
        .receive("sandbox", &[text("wa2", "31699999999", &h.text)])
        .await
        .unwrap();
    assert_ne!(r.conversations, vec![c.id]);
}

/// The widget after a hand-off and while an agent chats: no WhatsApp hand-off while the
/// conversation is assigned; the agent's messages carry their display name as it was then.
async fn an_agent_chatting_keeps_the_visitor_in_the_widget_and_signs_their_replies(b: Backend) {
    let env = Env::new(b).await;
    let token = "visitor-token-0123456789abcdef";
    let c = env
        .inbox
        .start_web_conversation(&deflect_chat::NewWebConversation {
            site: "www".into(),
            visitor_token: token.into(),
            name: Some("Ann".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let boss = env.agent("ann", &["support"]).await;
    env.inbox.accept_offer(boss.agent_id, c.id).await.unwrap();
    let refused = env
        .inbox
        .create_handoff(token, c.id, Duration::from_secs(600))
        .await;
    assert!(
        matches!(refused, Err(ChatError::AgentChatting)),
        "{refused:?}"
    );
    assert_eq!(ChatError::AgentChatting.code(), "agent_chatting");
    let reply = env
        .inbox
        .send_text(&boss, c.id, "Hi Ann", None)
        .await
        .unwrap();
    let note = env.inbox.add_note(&boss, c.id, "VIP").await.unwrap();
    assert_eq!(reply.sender_name.as_deref(), Some("ann"));
    assert_eq!(note.sender_name.as_deref(), Some("ann"));
    let visitors = env
        .inbox
        .web_visitor_message(token, c.id, "Thanks", None)
        .await
        .unwrap();
    assert_eq!(visitors.sender_name, None);
    // What the visitor saw stays what it was: a later rename changes no stored message.
    sqlx::query("UPDATE agents SET display_name = 'Renamed' WHERE id = $1")
        .bind(boss.agent_id)
        .execute(&mut env.sql().await)
        .await
        .unwrap();
    assert_eq!(
        env.message(reply.id).await.sender_name.as_deref(),
        Some("ann")
    );
    let events = env.inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let shown: Vec<_> = events
        .iter()
        .filter_map(deflect_chat::webchat::visitor_event)
        .filter(|v| v.kind == deflect_chat::VisitorEventKind::Message)
        .map(|v| (v.data["from"].clone(), v.data["name"].clone()))
        .collect();
    assert!(
        shown.contains(&(serde_json::json!("agent"), serde_json::json!("ann"))),
        "{shown:?}"
    );
    assert!(
        shown.contains(&(serde_json::json!("visitor"), serde_json::Value::Null)),
        "{shown:?}"
    );
    // Back in the queue, the visitor may move to WhatsApp again.
    env.inbox
        .transfer_to_queue(&boss, c.id, "support")
        .await
        .unwrap();
    env.inbox
        .create_handoff(token, c.id, Duration::from_secs(600))
        .await
        .unwrap();
}

/// Labels on conversations (normalised, idempotent, logged, counted and filtered per viewer)
/// and the contact card: profile and identities, the contact's other conversations the
/// viewer may see — not a colleague's on an account the viewer does not work — and the call.
async fn labels_and_the_contact_card_follow_the_viewers_access(b: Backend) {
    let env = Env::new(b).await;
    let ann = env
        .agent_with("ann", &["support"], &["sandbox".to_string()])
        .await;
    let sup = env.supervisor().await;
    // A deflected call the customer answers on the sandbox account; later they write to the
    // meta account, which Ann does not work.
    let call = env.deflect("call-1", "+31612345678").await;
    let r = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hello")])
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![call]);
    let other = env
        .inbox
        .receive("meta", &[text("w2", "31612345678", "me again")])
        .await
        .unwrap()
        .conversations[0];
    assert_ne!(other, call);
    assert!(matches!(
        env.inbox.conversation(&ann, other).await,
        Err(ChatError::NotFound(_))
    ));
    // Labels: one spelling, a repeat changes nothing, bad ones refused, access as the
    // conversation's.
    assert_eq!(
        env.inbox.add_label(&ann, call, "  VIP ").await.unwrap(),
        ["vip"]
    );
    assert_eq!(
        env.inbox.add_label(&ann, call, "vip").await.unwrap(),
        ["vip"]
    );
    assert!(matches!(
        env.inbox.add_label(&ann, call, "a/b").await,
        Err(ChatError::Invalid(_))
    ));
    assert!(matches!(
        env.inbox.add_label(&ann, other, "vip").await,
        Err(ChatError::NotFound(_))
    ));
    env.inbox.add_label(&sup, other, "vip").await.unwrap();
    assert_eq!(
        env.inbox.add_label(&sup, other, "Billing").await.unwrap(),
        ["billing", "vip"]
    );
    let detail = env.inbox.conversation(&ann, call).await.unwrap();
    assert_eq!(detail.labels, ["vip"]);
    let counts = |v: Vec<deflect_chat::LabelCount>| -> Vec<(String, i64)> {
        v.into_iter().map(|l| (l.label, l.count)).collect()
    };
    assert_eq!(
        counts(env.inbox.labels(&ann).await.unwrap()),
        [("vip".to_string(), 1)]
    );
    assert_eq!(
        counts(env.inbox.labels(&sup).await.unwrap()),
        [("billing".to_string(), 1), ("vip".to_string(), 2)]
    );
    let by_label = |label: &str| ConversationFilter {
        label: Some(label.into()),
        ..ConversationFilter::default()
    };
    let ids = |v: Vec<deflect_chat::Conversation>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(env
            .inbox
            .list_conversations(&ann, &by_label("vip"))
            .await
            .unwrap()),
        [call]
    );
    assert_eq!(
        ids(env
            .inbox
            .list_conversations(&sup, &by_label("vip"))
            .await
            .unwrap()),
        [other, call]
    );
    assert!(
        ids(env
            .inbox
            .list_conversations(&ann, &by_label("billing"))
            .await
            .unwrap())
        .is_empty()
    );
    // The contact card: Ann sees no other conversation; the supervisor sees the meta one.
    let card = env.inbox.contact(&ann, call).await.unwrap();
    assert_eq!(card.contact.phone.as_deref(), Some("+31612345678"));
    assert!(card.contact.identities.iter().any(|i| matches!(
        i,
        deflect_chat::ContactIdentity::Whatsapp { wa_id, .. } if wa_id == "31612345678"
    )));
    assert!(card.conversations.is_empty(), "{:?}", card.conversations);
    let c = card.call.expect("the deflected call");
    assert_eq!(
        (
            c.context.flow.as_deref(),
            c.context.input_method,
            c.seconds_in_ivr
        ),
        (Some("support"), deflect_chat::InputMethod::Dtmf, 59)
    );
    let card = env.inbox.contact(&sup, call).await.unwrap();
    let listed: Vec<_> = (card.conversations.iter())
        .map(|c| (c.id, c.labels.clone()))
        .collect();
    assert_eq!(
        listed,
        [(other, vec!["billing".to_string(), "vip".to_string()])]
    );
    assert!(matches!(
        env.inbox.contact(&ann, other).await,
        Err(ChatError::NotFound(_))
    ));
    // Taking a label off; again changes nothing. Each change is one event.
    assert!(
        env.inbox
            .remove_label(&ann, call, "VIP")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        env.inbox
            .remove_label(&ann, call, "vip")
            .await
            .unwrap()
            .is_empty()
    );
    let events: Vec<_> = (env.inbox.conversation_events(call, 0, 500).await.unwrap())
        .into_iter()
        .filter(|e| e.kind == EventKind::ConversationLabelled)
        .collect();
    let changes: Vec<_> = (events.iter())
        .map(|e| {
            (
                e.data["label"].clone(),
                e.data["added"].clone(),
                e.data["by"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (
                serde_json::json!("vip"),
                serde_json::json!(true),
                serde_json::json!(ann.agent_id)
            ),
            (
                serde_json::json!("vip"),
                serde_json::json!(false),
                serde_json::json!(ann.agent_id)
            ),
        ]
    );
    assert_eq!(
        deflect_chat::hooks::hook_type(&events[0]),
        Some("conversation.labelled")
    );
    assert_eq!(events[0].data["conversation"]["id"], call);
}

/// A transfer carries a note for the agent taking over, stored as an internal note in the
/// same transaction; the picker's load counts each agent's offered and held conversations.
async fn a_transfer_carries_a_note_and_agents_show_their_load(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hello")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, id).await.unwrap();
    let bob = env.agent("bob", &["support"]).await;
    let loads = env.inbox.agent_loads(&ann).await.unwrap();
    assert_eq!(loads, [(ann.agent_id, 1), (bob.agent_id, 0)]);
    assert!(matches!(
        env.inbox
            .transfer_to_agent_with_note(&ann, id, bob.agent_id, Some(&"x".repeat(16 * 1024 + 1)))
            .await,
        Err(ChatError::Invalid(_))
    ));
    env.inbox
        .transfer_to_agent_with_note(
            &ann,
            id,
            bob.agent_id,
            Some("  Wants a refund; order A-17 "),
        )
        .await
        .unwrap();
    let notes: Vec<_> = (env.inbox.messages_unchecked(id, None, 100).await.unwrap())
        .into_iter()
        .filter(|m| m.internal)
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].body.as_deref(), notes[0].sender_name.as_deref()),
        (Some("Wants a refund; order A-17"), Some("ann"))
    );
    let events = env.inbox.conversation_events(id, 0, 500).await.unwrap();
    let moved = (events.iter())
        .find(|e| e.kind == EventKind::ConversationTransferred)
        .unwrap();
    assert_eq!(moved.data["note_message_id"], notes[0].id);
    assert_eq!(
        env.inbox.agent_loads(&ann).await.unwrap(),
        [(ann.agent_id, 0), (bob.agent_id, 1)]
    );
    // An empty note is none.
    env.inbox.accept_offer(bob.agent_id, id).await.unwrap();
    env.inbox
        .transfer_to_queue_with_note(&bob, id, "overflow", Some("   "))
        .await
        .unwrap();
    let internal = (env.inbox.messages_unchecked(id, None, 100).await.unwrap())
        .into_iter()
        .filter(|m| m.internal)
        .count();
    assert_eq!(internal, 1);
}

async fn deflection_limits_hold_across_processes(b: Backend) {
    let env = Env::new(b).await;
    let other = env.another().await;
    let check = |call: &str, caller: &str, number: &str, at: i64| LimitCheck {
        call_id: call.into(),
        caller: caller.into(),
        callback_number: number.into(),
        per_caller: 2,
        per_callback_number: 3,
        at,
    };
    let me = "+31611111111";
    // Two processes at once for the same caller, twice over: exactly two get through.
    let (first, second) = (
        check("a", me, "+31622222221", T0),
        check("b", me, "+31622222222", T0),
    );
    let (a, c) = tokio::join!(
        env.inbox.check_deflection_limits(&first),
        other.check_deflection_limits(&second)
    );
    assert_eq!(
        (a.unwrap(), c.unwrap()),
        (LimitOutcome::Allowed, LimitOutcome::Allowed)
    );
    let (third, fourth) = (
        check("c", me, "+31622222223", T0 + 1_000),
        check("d", me, "+31622222224", T0 + 1_000),
    );
    let (a, c) = tokio::join!(
        env.inbox.check_deflection_limits(&third),
        other.check_deflection_limits(&fourth)
    );
    assert_eq!(
        (a.unwrap(), c.unwrap()),
        (LimitOutcome::CallerLimited, LimitOutcome::CallerLimited)
    );
    // Asking again for a recorded call counts nothing more.
    assert_eq!(
        other
            .check_deflection_limits(&check("a", me, "+31622222221", T0 + 2_000))
            .await
            .unwrap(),
        LimitOutcome::Allowed
    );
    // A refused caller used up nothing of the callback number's allowance.
    let target = "+31622222223";
    for (i, caller) in ["+31600000001", "+31600000002"].iter().enumerate() {
        let r = env
            .inbox
            .check_deflection_limits(&check(&format!("n{i}"), caller, target, T0))
            .await
            .unwrap();
        assert_eq!(r, LimitOutcome::Allowed);
    }
    let r = other
        .check_deflection_limits(&check("n2", "+31600000003", target, T0))
        .await
        .unwrap();
    assert_eq!(r, LimitOutcome::Allowed, "two of three used");
    let r = other
        .check_deflection_limits(&check("n3", "+31600000004", target, T0))
        .await
        .unwrap();
    assert_eq!(r, LimitOutcome::CallbackNumberLimited);
    // A caller allowed one: of eight checks at once from two processes, one gets through.
    for round in 0..5 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let inbox = if i % 2 == 0 {
                env.inbox.clone()
            } else {
                other.clone()
            };
            let r = LimitCheck {
                per_caller: 1,
                ..check(
                    &format!("race{round}-{i}"),
                    &format!("+3165555555{round}"),
                    &format!("+3162000000{i}"),
                    T0,
                )
            };
            let barrier = barrier.clone();
            set.spawn(async move {
                barrier.wait().await;
                inbox.check_deflection_limits(&r).await.unwrap()
            });
        }
        let allowed = set
            .join_all()
            .await
            .into_iter()
            .filter(|r| *r == LimitOutcome::Allowed)
            .count();
        assert_eq!(allowed, 1, "round {round}");
    }
    // An hour after the first, the caller has room again.
    let r = env
        .inbox
        .check_deflection_limits(&check("e", me, "+31622222225", T0 + 3_600_000))
        .await
        .unwrap();
    assert_eq!(r, LimitOutcome::Allowed);
}

async fn an_agent_without_accounts_sees_no_accounts_conversations(b: Backend) {
    let env = Env::new(b).await;
    let nora = env.agent_with("nora", &["support"], &[]).await;
    let ann = env.agent("ann", &["support"]).await;
    let eve = env.agent_with("eve", &["overflow"], &[]).await;
    let sup = env.supervisor().await;
    // Ann takes one conversation; the second waits: Nora, available in its queue, is not
    // offered it, and sees neither.
    let first = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hello")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, first).await.unwrap();
    let second = env
        .inbox
        .receive("sandbox", &[text("w2", "31687654321", "anyone?")])
        .await
        .unwrap()
        .conversations[0];
    let c = env.inbox.conversation_unchecked(second).await.unwrap();
    assert_ne!(c.conversation.agent_id, Some(nora.agent_id));
    for id in [first, second] {
        assert!(matches!(
            env.inbox.conversation(&nora, id).await,
            Err(ChatError::NotFound(_))
        ));
    }
    let all = ConversationFilter::default();
    let listed = env.inbox.list_conversations(&nora, &all).await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    // Plain agents list only colleagues who share a queue or an account, and supervisors,
    // by name and presence; supervisors list everyone.
    let names = |c: deflect_chat::Colleagues| match c {
        deflect_chat::Colleagues::Shared(v) => v.into_iter().map(|c| c.display_name).collect(),
        deflect_chat::Colleagues::All(_) => vec!["(everyone)".to_string()],
    };
    let of_ann = names(env.inbox.colleagues(&ann).await.unwrap());
    assert_eq!(
        of_ann,
        ["nora", "ann", "Boss"],
        "not eve: no queue or account shared"
    );
    assert_eq!(
        names(env.inbox.colleagues(&eve).await.unwrap()),
        ["eve", "Boss"]
    );
    assert!(matches!(
        env.inbox.colleagues(&sup).await.unwrap(),
        deflect_chat::Colleagues::All(v) if v.len() == 4
    ));
    // Given the account, Nora sees the waiting conversation and can take it.
    let accounts = env.account_names();
    env.inbox
        .set_memberships(nora.agent_id, &["support".into()], &accounts)
        .await
        .unwrap();
    let nora = env.inbox.viewer(nora.agent_id).await.unwrap();
    assert!(env.inbox.conversation(&nora, second).await.is_ok());
    let listed = env.inbox.list_conversations(&nora, &all).await.unwrap();
    assert_eq!(
        listed.len(),
        2,
        "both, in her queue and account: {listed:?}"
    );
}

/// A database as version 3 left it, with a WhatsApp and a web message, a deflection and an
/// outbox row pointing at the first: upgraded, nothing is lost, messages know their account,
/// and provider ids are unique per account.
async fn an_older_database_is_upgraded_with_its_messages(b: Backend) {
    use sqlx::{Connection, Row};
    let (url, _dir) = common::database(b).await;
    let kind = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let old = tempfile::tempdir().unwrap();
    for entry in
        std::fs::read_dir(format!("{}/migrations/{kind}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0004" {
            std::fs::copy(&path, old.path().join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let create = match b {
        Backend::Sqlite => format!("{}?mode=rwc", url.expose()),
        Backend::Postgres => url.expose().to_string(),
    };
    let mut conn = sqlx::AnyConnection::connect(&create).await.unwrap();
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    for q in [
        "INSERT INTO contacts (id, name, phone, created_at) VALUES (1, 'Ann', '+31612345678', 0)",
        "INSERT INTO conversations (id, reference, contact_id, channel, origin, account, status, queue, \
         last_activity_at, created_at) VALUES (1, 'K7Q2MX', 1, 'whatsapp', 'call', 'meta', 'pending', 'support', 0, 0)",
        "INSERT INTO conversations (id, reference, contact_id, channel, origin, account, status, queue, \
         last_activity_at, created_at) VALUES (2, 'W3B000', 1, 'web', 'web', 'meta', 'queued', 'support', 0, 0)",
        "INSERT INTO messages (id, conversation_id, direction, kind, body, channel, external_id, status, created_at) \
         VALUES (1, 1, 'out', 'template', 'hi', 'whatsapp', 'wamid.1', 'sent', 0)",
        "INSERT INTO messages (id, conversation_id, direction, kind, body, channel, status, created_at) \
         VALUES (2, 2, 'in', 'text', 'hello', 'web', 'received', 0)",
        "INSERT INTO deflections (call_id, conversation_id, callback_number, started_at, ended_at, input_method, \
         account, queue, message_id, created_at) VALUES ('c1', 1, '+31612345678', 0, 0, 'dtmf', 'meta', 'support', 1, 0)",
        "INSERT INTO outbox (message_id, account, recipient, request, state, due_at, created_at) \
         VALUES (1, 'meta', '31612345678', '{}', 'sent', 0, 0)",
    ] {
        sqlx::query(q).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let store = deflect_chat::Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.applied_migrations().await.unwrap(),
        (1..=29).collect::<Vec<_>>()
    );
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(url.expose()).await.unwrap();
    let rows = sqlx::query("SELECT id, account, external_id FROM messages ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let got: Vec<(i64, Option<String>, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.try_get(1).ok().flatten(),
                r.try_get(2).ok().flatten(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, Some("meta".into()), Some("wamid.1".into())),
            (2, None, None)
        ]
    );
    let senders: Vec<String> = sqlx::query("SELECT sender FROM messages ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        senders,
        ["automation", "customer"],
        "the template was automatic"
    );
    let d: i64 = sqlx::query("SELECT message_id FROM deflections WHERE call_id = 'c1'")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(d, 1);
    if b == Backend::Sqlite {
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert!(broken.is_empty(), "foreign keys still hold");
    }
    // The same provider id on another account is another message; on the same, a duplicate.
    let insert = |id: i64, account: &'static str| {
        format!(
            "INSERT INTO messages (id, conversation_id, direction, kind, channel, account, external_id, status, \
             created_at) VALUES ({id}, 1, 'in', 'text', 'whatsapp', '{account}', 'wamid.1', 'received', 0)"
        )
    };
    sqlx::query(sqlx::AssertSqlSafe(insert(10, "twilio")))
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(
        sqlx::query(sqlx::AssertSqlSafe(insert(11, "meta")))
            .execute(&mut conn)
            .await
            .is_err()
    );
}

/// `[inbox.automations]`: a customer who opens a conversation by writing is welcomed once
/// per period (in the run of first contacts and one message at a time alike); a number
/// off the account's whitelist is answered and closed without reaching a queue.
async fn automations_welcome_once_and_turn_strangers_away(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.automations.welcome_message = "Welcome {{customer_name}} ({{reference}})".into();
    settings.inbox.automations.welcome_period = Duration::from_secs(24 * 3600);
    settings.whatsapp.accounts[0].automations.whitelist = Some(vec!["+3161*".into()]);
    settings.whatsapp.accounts[0].automations.whitelist_reply =
        Some("Sorry {{customer_name}}, members only.".into());
    let env = Env::with(b, settings).await;
    let sup = env.supervisor().await;
    let said = |conv: i64| {
        let inbox = &env.inbox;
        async move {
            let msgs = inbox.messages_unchecked(conv, None, 20).await.unwrap();
            msgs.into_iter()
                .map(|m| (m.sender, m.body.unwrap_or_default()))
                .collect::<Vec<_>>()
        }
    };
    let receive = |id: &'static str, from: &'static str, body: &'static str| {
        let inbox = &env.inbox;
        async move {
            inbox
                .receive("sandbox", &[text(id, from, body)])
                .await
                .unwrap()
                .conversations[0]
        }
    };

    // A first contact (stored with the run of first contacts): one welcome, and queued.
    let first = receive("w1", "31612345678", "hi").await;
    let reference = env
        .inbox
        .conversation_unchecked(first)
        .await
        .unwrap()
        .conversation
        .reference;
    assert_eq!(
        said(first).await,
        [
            (Sender::Customer, "hi".to_string()),
            (Sender::Automation, format!("Welcome Ann ({reference})")),
        ]
    );
    assert_eq!(receive("w2", "31612345678", "anyone?").await, first);
    assert_eq!(
        said(first).await.len(),
        3,
        "no second welcome in the same conversation"
    );
    let c = env
        .inbox
        .conversation_unchecked(first)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.status, Status::Queued);

    // Closed and opened again the same day (one message at a time: the contact is known):
    // not welcomed again; the next day, welcomed.
    env.inbox
        .close(&sup, first, Some("resolved"))
        .await
        .unwrap();
    let second = receive("w3", "31612345678", "me again").await;
    assert_ne!(second, first);
    assert_eq!(
        said(second).await,
        [(Sender::Customer, "me again".to_string())]
    );
    env.inbox
        .close(&sup, second, Some("resolved"))
        .await
        .unwrap();
    env.advance(Duration::from_secs(25 * 3600)).await;
    let third = receive("w4", "31612345678", "new day").await;
    let welcomed = said(third).await;
    assert_eq!(welcomed.len(), 2, "{welcomed:?}");
    assert_eq!(welcomed[1].0, Sender::Automation);

    // A number off the whitelist: answered, closed, never queued or offered.
    let stranger = receive("w5", "4930111222", "let me in").await;
    assert_eq!(
        said(stranger).await,
        [
            (Sender::Customer, "let me in".to_string()),
            (Sender::Automation, "Sorry Ann, members only.".to_string()),
        ]
    );
    let c = env
        .inbox
        .conversation_unchecked(stranger)
        .await
        .unwrap()
        .conversation;
    assert_eq!(
        (c.status, c.disposition.as_deref()),
        (Status::Closed, Some(NOT_WHITELISTED))
    );
    let kinds: Vec<EventKind> = env
        .inbox
        .conversation_events(stranger, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(!kinds.contains(&EventKind::ConversationQueued), "{kinds:?}");
    // An agent's message is the agent's.
    let agent = env
        .inbox
        .send_text(&sup, third, "Hello!", None)
        .await
        .unwrap();
    assert_eq!(agent.sender, Sender::Agent);
}

/// A scripted bot speaking Rasa's REST channel: answers each turn with the next list of
/// messages and records what it was sent.
struct ScriptedBot {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl ScriptedBot {
    async fn start(answers: Vec<serde_json::Value>) -> Self {
        use std::sync::{Arc, Mutex};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/webhooks/rest/webhook",
            listener.local_addr().unwrap()
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(std::collections::VecDeque::from(answers)));
        let (log, script) = (seen.clone(), answers.clone());
        let app = axum::Router::new().route(
            "/webhooks/rest/webhook",
            axum::routing::post(move |axum::Json(turn): axum::Json<serde_json::Value>| {
                let (log, script) = (log.clone(), script.clone());
                async move {
                    log.lock().unwrap().push(turn);
                    let next = script.lock().unwrap().pop_front();
                    axum::Json(next.unwrap_or(serde_json::json!([])))
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }
}

/// A bot slow to answer one conversation holds up no other: two customers' turns are with
/// the bot at the same time (the bot answers neither until it has both).
async fn a_slow_bot_answer_holds_up_no_other_conversation(b: Backend) {
    use std::sync::Arc;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/rest/webhook",
        listener.local_addr().unwrap()
    );
    let both = Arc::new(tokio::sync::Barrier::new(2));
    let app = axum::Router::new().route(
        "/webhooks/rest/webhook",
        axum::routing::post(move |axum::Json(turn): axum::Json<serde_json::Value>| {
            let both = both.clone();
            async move {
                both.wait().await;
                let text = format!("Hello {}", turn["message"].as_str().unwrap_or_default());
                axum::Json(serde_json::json!([{ "recipient_id": "x", "text": text }]))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut settings = common::settings(None);
    settings.inbox.bots = vec![deflect_config::BotConfig {
        name: "rasa".into(),
        url: Some(url.parse().unwrap()),
        timeout: Duration::from_secs(20),
        ..deflect_config::BotConfig::default()
    }];
    settings.inbox.automations.bot = "rasa".into();
    let env = Env::with(b, settings).await;
    let got = env
        .inbox
        .receive(
            "sandbox",
            &[
                text("p1", "31611111111", "one"),
                text("p2", "31622222222", "two"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(env.inbox.run_bot_turns().await.unwrap(), 2);
    for (id, word) in got.conversations.iter().zip(["one", "two"]) {
        let c = env
            .inbox
            .conversation_unchecked(*id)
            .await
            .unwrap()
            .conversation;
        assert_eq!(c.status, Status::Bot, "not handed over after a timeout");
        let msgs = env.inbox.messages_unchecked(*id, None, 10).await.unwrap();
        let last = msgs.last().unwrap();
        assert_eq!(
            (last.sender, last.body.clone()),
            (Sender::Bot, Some(format!("Hello {word}")))
        );
    }
}

/// `[inbox.automations] bot`: a conversation the customer opens starts with the bot (not
/// queued); the bot's replies are stored as the bot's; its hand-over queues the
/// conversation with the transcript in it; a dead bot hands over at once; a silent bot
/// conversation closes.
async fn bots_answer_hand_over_and_never_leave_a_customer_alone(b: Backend) {
    use serde_json::json;
    let bot = ScriptedBot::start(vec![
        json!([{"recipient_id": "x", "text": "Hi! Your order number?"}]),
        json!([{"recipient_id": "x", "text": "Let me get a colleague."},
               {"recipient_id": "x", "custom": {"handover": true, "queue": "overflow"}}]),
        json!([{"recipient_id": "x", "text": "Anything else?"}]),
    ])
    .await;
    let mut settings = common::settings(None);
    let config = |name: &str, url: &str| deflect_config::BotConfig {
        name: name.into(),
        url: Some(url.parse().unwrap()),
        timeout: Duration::from_secs(2),
        ..deflect_config::BotConfig::default()
    };
    settings.inbox.bots = vec![
        config("rasa", &bot.url),
        config("dead", "http://127.0.0.1:9/"),
    ];
    settings.inbox.automations.bot = "rasa".into();
    settings.whatsapp.accounts[1].automations.bot = Some("dead".into());
    let env = Env::with(b, settings).await;
    let inbox = &env.inbox;
    let conv = |id| async move { inbox.conversation_unchecked(id).await.unwrap().conversation };
    let said = |id: i64| async move {
        let msgs = inbox.messages_unchecked(id, None, 20).await.unwrap();
        msgs.into_iter()
            .map(|m| (m.sender, m.body.unwrap_or_default()))
            .collect::<Vec<_>>()
    };

    let id = env
        .inbox
        .receive("sandbox", &[text("b1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    let c = conv(id).await;
    assert_eq!((c.status, c.bot.as_deref()), (Status::Bot, Some("rasa")));
    assert_eq!(env.inbox.run_bot_turns().await.unwrap(), 1);
    let turn = bot.seen.lock().unwrap()[0].clone();
    assert_eq!(
        (turn["sender"].as_str(), turn["message"].as_str()),
        (Some(c.reference.as_str()), Some("hi"))
    );
    assert_eq!(turn["metadata"]["customer_name"], "Ann");
    // The second message joins the conversation, still the bot's; the bot hands over.
    env.inbox
        .receive("sandbox", &[text("b2", "31612345678", "A-1234")])
        .await
        .unwrap();
    assert_eq!(conv(id).await.status, Status::Bot);
    assert_eq!(env.inbox.run_bot_turns().await.unwrap(), 1);
    let c = conv(id).await;
    assert_eq!((c.status, c.queue.as_str()), (Status::Queued, "overflow"));
    assert_eq!(
        said(id).await,
        [
            (Sender::Customer, "hi".to_string()),
            (Sender::Bot, "Hi! Your order number?".to_string()),
            (Sender::Customer, "A-1234".to_string()),
            (Sender::Bot, "Let me get a colleague.".to_string()),
        ]
    );
    let events = env.inbox.conversation_events(id, 0, 100).await.unwrap();
    let handed = events
        .iter()
        .find(|e| e.kind == EventKind::ConversationHandedOver)
        .unwrap();
    assert_eq!(handed.data["queue"], "overflow");
    // Now an agent's: further messages do not go to the bot.
    env.inbox
        .receive("sandbox", &[text("b3", "31612345678", "hello?")])
        .await
        .unwrap();
    assert_eq!(env.inbox.run_bot_turns().await.unwrap(), 0);
    assert_eq!(bot.seen.lock().unwrap().len(), 2);

    // A dead bot: handed over within its timeout, to the default queue.
    let dead = env
        .inbox
        .receive("meta", &[text("d1", "31687654321", "hi")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(conv(dead).await.status, Status::Bot);
    assert_eq!(env.inbox.run_bot_turns().await.unwrap(), 1);
    let c = conv(dead).await;
    assert_eq!((c.status, c.queue.as_str()), (Status::Queued, "support"));
    let events = env.inbox.conversation_events(dead, 0, 100).await.unwrap();
    let handed = events
        .iter()
        .find(|e| e.kind == EventKind::ConversationHandedOver)
        .unwrap();
    assert!(
        handed.data["reason"]
            .as_str()
            .unwrap()
            .starts_with("bot dead: "),
        "{handed:?}"
    );

    // Silence with the bot: the conversation closes after the bot's silence_close.
    let quiet = env
        .inbox
        .receive("sandbox", &[text("q1", "31600000001", "hm")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(env.inbox.run_bot_turns().await.unwrap(), 1);
    env.advance(Duration::from_secs(9 * 60)).await;
    assert_eq!(conv(quiet).await.status, Status::Bot);
    env.advance(Duration::from_secs(60)).await;
    let c = conv(quiet).await;
    assert_eq!(
        (c.status, c.disposition.as_deref()),
        (Status::Closed, Some(BOT_ENDED))
    );
}

/// `bot = "faq"`: a question the FAQ knows is answered by the bot without an agent; asking
/// for a person, or a question it does not know, hands over at once.
async fn the_faq_bot_answers_what_it_knows_and_hands_over_the_rest(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.faq = vec![deflect_config::FaqEntry {
        question: "What are your opening hours? When are you open?".into(),
        answer: "Monday to Friday, 9-17, {{customer_name}}.".into(),
        language: None,
        account: None,
    }];
    settings.inbox.automations.bot = "faq".into();
    let env = Env::with(b, settings).await;
    let inbox = &env.inbox;
    let conv = |id| async move { inbox.conversation_unchecked(id).await.unwrap().conversation };
    let receive = |id: &'static str, from: &'static str, body: &'static str| async move {
        inbox
            .receive("sandbox", &[text(id, from, body)])
            .await
            .unwrap()
            .conversations[0]
    };
    let reason = |id: i64| async move {
        let events = inbox.conversation_events(id, 0, 100).await.unwrap();
        let handed = events
            .iter()
            .find(|e| e.kind == EventKind::ConversationHandedOver);
        handed.map(|e| e.data["reason"].as_str().unwrap_or_default().to_string())
    };

    let id = receive("f1", "31612345678", "when do you open?").await;
    let msgs = inbox.messages_unchecked(id, None, 10).await.unwrap();
    let last = msgs.last().unwrap();
    assert_eq!(
        (last.sender, last.body.as_deref()),
        (Sender::Bot, Some("Monday to Friday, 9-17, Ann."))
    );
    assert_eq!(conv(id).await.status, Status::Bot);
    assert_eq!(reason(id).await, None);
    receive("f2", "31612345678", "Can I talk to an agent please").await;
    assert_eq!(conv(id).await.status, Status::Queued);
    assert_eq!(
        reason(id).await.as_deref(),
        Some("the customer asked for a person")
    );

    let other = receive("f3", "31687654321", "my parcel never arrived").await;
    assert_eq!(conv(other).await.status, Status::Queued);
    assert_eq!(
        reason(other).await.as_deref(),
        Some("the FAQ had no answer")
    );
    let msgs = inbox.messages_unchecked(other, None, 10).await.unwrap();
    assert!(
        msgs.iter().all(|m| m.sender == Sender::Customer),
        "nothing answered: {msgs:?}"
    );
}

/// A supervisor steps into a conversation its bot is having: they hold it at once, the bot
/// says nothing more and its silence no longer closes the conversation; an agent cannot.
async fn a_supervisor_takes_a_conversation_from_its_bot(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.faq = vec![deflect_config::FaqEntry {
        question: "What are your opening hours?".into(),
        answer: "Monday to Friday, 9-17.".into(),
        language: None,
        account: None,
    }];
    settings.inbox.automations.bot = "faq".into();
    let env = Env::with(b, settings).await;
    let inbox = &env.inbox;
    let ann = env.agent("ann", &["support"]).await;
    let sup = env.supervisor().await;
    let id = inbox
        .receive("sandbox", &[text("t1", "31612345678", "opening hours?")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(
        inbox
            .conversation_unchecked(id)
            .await
            .unwrap()
            .conversation
            .status,
        Status::Bot
    );
    assert!(matches!(
        inbox.claim(&ann, id).await,
        Err(ChatError::Forbidden(_))
    ));
    let c = inbox.claim(&sup, id).await.unwrap();
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Assigned, Some(sup.agent_id))
    );
    let events = inbox.conversation_events(id, 0, 100).await.unwrap();
    let handed = events
        .iter()
        .find(|e| e.kind == EventKind::ConversationHandedOver)
        .expect("the take-over is recorded");
    assert_eq!(handed.data["reason"], "taken over");

    inbox
        .receive(
            "sandbox",
            &[text("t2", "31612345678", "opening hours again?")],
        )
        .await
        .unwrap();
    env.advance(Duration::from_secs(15 * 60)).await;
    let c = inbox.conversation_unchecked(id).await.unwrap().conversation;
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Assigned, Some(sup.agent_id))
    );
    let bot_replies = (inbox.messages_unchecked(id, None, 20).await.unwrap())
        .into_iter()
        .filter(|m| m.sender == Sender::Bot)
        .count();
    assert_eq!(bot_replies, 1, "only the answer before the take-over");
}

/// An FAQ entry the FAQ bot answers (`[[inbox.faq]]`).
fn opening_hours_faq() -> deflect_config::FaqEntry {
    deflect_config::FaqEntry {
        question: "What are your opening hours? When are you open?".into(),
        answer: "Monday to Friday, 9-17, {{customer_name}}.".into(),
        language: None,
        account: None,
    }
}

/// `[widget.sites.automations]`: a site's own welcome (in the visitor's browser language
/// when translated, once per period) and its own bot — the visitor's messages are the
/// bot's turns, its replies reach the widget as the bot's, and its hand-over queues the
/// conversation and starts the countdown to the WhatsApp offer. Another site keeps the
/// inbox-wide rules.
async fn a_widget_site_welcomes_in_its_own_words_and_starts_with_its_bot(b: Backend) {
    use deflect_chat::webchat::{VisitorEventKind, visitor_event};
    let mut settings = common::settings(None);
    settings.inbox.faq = vec![opening_hours_faq()];
    settings.inbox.automations.welcome_message = "Hello from the inbox".into();
    let shop = deflect_config::SiteConfig {
        name: "shop".into(),
        escalation_timeout: Duration::from_secs(45),
        automations: deflect_config::AutomationOverrides {
            welcome_message: Some("Welcome to the shop, {{customer_name}}".into()),
            welcome_translations: Some(
                [(
                    "de".to_string(),
                    "Willkommen im Shop, {{customer_name}}".to_string(),
                )]
                .into(),
            ),
            bot: Some("faq".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let plain = deflect_config::SiteConfig {
        name: "plain".into(),
        ..Default::default()
    };
    settings.widget.sites = vec![shop, plain];
    let env = Env::with(b, settings).await;
    let inbox = &env.inbox;
    let said = |id: i64| async move {
        let msgs = inbox.messages_unchecked(id, None, 20).await.unwrap();
        msgs.into_iter()
            .map(|m| (m.sender, m.body.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let start =
        |site: &str, token: &str, language: Option<&str>| deflect_chat::NewWebConversation {
            site: site.into(),
            visitor_token: token.into(),
            name: Some("Ann".into()),
            escalate_after: Some(Duration::from_secs(45)),
            language: language.map(str::to_string),
            ..Default::default()
        };
    let token = "visitor-token-0123456789abcdef";

    // The browser speaks German: welcomed in German, and the FAQ bot has the conversation.
    let c = inbox
        .start_web_conversation(&start("shop", token, Some("de-DE")))
        .await
        .unwrap();
    assert_eq!((c.status, c.bot.as_deref()), (Status::Bot, Some("faq")));
    assert_eq!(c.contact_language.as_deref(), Some("de"));
    assert_eq!(
        said(c.id).await,
        [(Sender::Automation, "Willkommen im Shop, Ann".to_string())]
    );
    let m = inbox
        .web_visitor_message(token, c.id, "When are you open?", Some("k1"))
        .await
        .unwrap();
    assert_eq!(m.sender, Sender::Customer);
    assert_eq!(
        said(c.id).await[2],
        (Sender::Bot, "Monday to Friday, 9-17, Ann.".to_string())
    );
    assert_eq!(
        inbox.web_conversation(token, c.id).await.unwrap().status,
        Status::Bot
    );
    // The widget shows the welcome as the inbox's notice and the answer as the bot's.
    let events = inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let from: Vec<String> = events
        .iter()
        .filter_map(visitor_event)
        .filter(|v| v.kind == VisitorEventKind::Message)
        .map(|v| v.data["from"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(from, ["system", "visitor", "bot"]);
    assert!(
        !events
            .iter()
            .any(|e| e.kind == EventKind::ConversationQueued)
    );

    // Asking for a person hands over: queued, and WhatsApp is offered when no agent took it
    // within the site's escalation timeout from then.
    env.advance(Duration::from_secs(120)).await;
    inbox
        .web_visitor_message(token, c.id, "Can I talk to an agent please", None)
        .await
        .unwrap();
    let c = inbox.web_conversation(token, c.id).await.unwrap();
    assert_eq!((c.status, c.escalation_at), (Status::Queued, None));
    env.advance(Duration::from_secs(44)).await;
    assert_eq!(
        inbox
            .web_conversation(token, c.id)
            .await
            .unwrap()
            .escalation_at,
        None
    );
    env.advance(Duration::from_secs(1)).await;
    let escalated = inbox.web_conversation(token, c.id).await.unwrap();
    assert_eq!(escalated.escalation_at, Some(T0 + 165_000));

    // Closed and started again the same day: not welcomed again.
    let sup = env.supervisor().await;
    inbox.close(&sup, c.id, Some("resolved")).await.unwrap();
    let again = inbox
        .start_web_conversation(&start("shop", token, Some("de-DE")))
        .await
        .unwrap();
    assert_ne!(again.id, c.id);
    assert_eq!(said(again.id).await, []);

    // Another site: the inbox-wide welcome, no bot; junk for a language is ignored.
    let other = "visitor-token-fedcba9876543210";
    let p = inbox
        .start_web_conversation(&start("plain", other, Some("<script>")))
        .await
        .unwrap();
    assert_eq!((p.status, p.bot.as_deref()), (Status::Queued, None));
    assert_eq!(p.contact_language, None);
    assert_eq!(
        said(p.id).await,
        [(Sender::Automation, "Hello from the inbox".to_string())]
    );
}

/// `[ivr.flows.automations] bot`: a deflected call's conversation keeps its flow, and when
/// the customer answers the template the flow's bot takes the answer instead of a queue;
/// the bot hands over as on WhatsApp. Another flow's conversation is queued as before.
async fn a_flows_bot_takes_the_customers_answer_to_the_template(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.faq = vec![opening_hours_faq()];
    settings.flows = vec![
        deflect_config::FlowConfig {
            name: "support".into(),
            automations: deflect_config::AutomationOverrides {
                bot: Some("faq".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        deflect_config::FlowConfig {
            name: "sales".into(),
            ..Default::default()
        },
    ];
    let env = Env::with(b, settings).await;
    let inbox = &env.inbox;
    let conv = |id| async move { inbox.conversation_unchecked(id).await.unwrap().conversation };
    let answer = |id: &str, from: &str, reference: &str, body: &str| {
        let mut reply = text(id, from, body);
        if let Inbound::Message(m) = &mut reply {
            m.button_payload = Some(format!("deflect:{reference}"));
        }
        reply
    };

    let d = inbox
        .deflect(&deflection("call-1", "+31610000001"))
        .await
        .unwrap();
    let c = conv(d.conversation_id).await;
    assert_eq!(
        (c.status, c.flow.as_deref()),
        (Status::Pending, Some("support"))
    );
    assert_eq!(c.contact_language.as_deref(), Some("en"));
    let r = answer("a1", "31610000001", &d.reference, "when are you open?");
    inbox.receive("sandbox", &[r]).await.unwrap();
    let c = conv(d.conversation_id).await;
    assert_eq!((c.status, c.bot.as_deref()), (Status::Bot, Some("faq")));
    let msgs = inbox.messages_unchecked(c.id, None, 10).await.unwrap();
    let last = msgs.last().unwrap();
    assert_eq!(
        (last.sender, last.body.as_deref()),
        (Sender::Bot, Some("Monday to Friday, 9-17, Ann."))
    );
    // The next message is the bot's turn too; asking for a person hands over.
    inbox
        .receive("sandbox", &[text("a2", "31610000001", "I want a human")])
        .await
        .unwrap();
    let c = conv(d.conversation_id).await;
    assert_eq!((c.status, c.queue.as_str()), (Status::Queued, "support"));

    // A flow without a bot: the answer queues the conversation.
    let mut call = deflection("call-2", "+31610000002");
    call.call.flow = Some("sales".into());
    let s = inbox.deflect(&call).await.unwrap();
    let r = answer("s1", "31610000002", &s.reference, "when are you open?");
    inbox.receive("sandbox", &[r]).await.unwrap();
    let c = conv(s.conversation_id).await;
    assert_eq!((c.status, c.bot.as_deref()), (Status::Queued, None));
}

/// `welcome_translations`: a contact whose language the inbox knows — from the flow of the
/// call they were deflected from — is welcomed in it when they open a conversation by
/// writing; others get `welcome_message`.
async fn the_welcome_speaks_the_language_of_the_call(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.automations.welcome_message = "Welcome {{customer_name}}".into();
    settings.inbox.automations.welcome_translations =
        [("nl".to_string(), "Welkom {{customer_name}}".to_string())].into();
    let env = Env::with(b, settings).await;
    let inbox = &env.inbox;
    let welcome = |id: i64| async move {
        let msgs = inbox.messages_unchecked(id, None, 10).await.unwrap();
        (msgs.into_iter())
            .filter(|m| m.sender == Sender::Automation)
            .map(|m| m.body.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    // Called in Dutch (a flow in "nl-NL"), deflected to the account `meta`.
    let mut call = deflection("call-nl", "+31610000003");
    call.call.language = Some("nl-NL".into());
    call.account = Some("meta".into());
    inbox.deflect(&call).await.unwrap();
    // Then writes to the sandbox number: a conversation they open, in Dutch.
    let nl = inbox
        .receive("sandbox", &[text("n1", "31610000003", "hoi")])
        .await
        .unwrap()
        .conversations[0];
    let c = inbox.conversation_unchecked(nl).await.unwrap().conversation;
    assert_eq!(c.contact_language.as_deref(), Some("nl"));
    assert_eq!(welcome(nl).await, ["Welkom Ann"]);
    // A first contact of unknown language.
    let other = inbox
        .receive("sandbox", &[text("e1", "31610000004", "hi")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(welcome(other).await, ["Welcome Ann"]);
}

/// Customers left waiting in a queue hear their position and the estimated wait when they
/// enter it, and again when it has improved by `queue_message_step`; the estimate comes
/// from the queue's recent waits.
async fn waiting_customers_hear_their_position_as_it_improves(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.queues[0].wait_timeout = Duration::from_secs(3600);
    settings.inbox.automations.queue_message =
        "{{customer_name}}, you are number {{position}} in {{queue}}; wait {{wait}}.".into();
    settings.inbox.automations.queue_message_step = 2;
    let env = Env::with(b, settings).await;
    let notices = |conv: i64| {
        let inbox = &env.inbox;
        async move {
            let msgs = inbox.messages_unchecked(conv, None, 50).await.unwrap();
            msgs.into_iter()
                .filter(|m| m.sender == Sender::Automation && m.kind == "text")
                .map(|m| m.body.unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    let mut convs = Vec::new();
    for (i, from) in ["31610000001", "31610000002", "31610000003", "31610000004"]
        .into_iter()
        .enumerate()
    {
        let r = env
            .inbox
            .receive("sandbox", &[text(&format!("w{i}"), from, "hi")])
            .await
            .unwrap();
        convs.push(r.conversations[0]);
    }
    // A fifth, one message at a time (a quick reply to a deflection).
    let d = env
        .inbox
        .deflect(&deflection("c1", "+31610000005"))
        .await
        .unwrap();
    let mut reply = text("w5", "31610000005", "yes");
    if let Inbound::Message(m) = &mut reply {
        m.button_payload = Some(format!("deflect:{}", d.reference));
    }
    env.inbox.receive("sandbox", &[reply]).await.unwrap();
    convs.push(d.conversation_id);
    for (i, conv) in convs.iter().enumerate() {
        assert_eq!(
            notices(*conv).await,
            [format!(
                "Ann, you are number {} in support; wait a few minutes.",
                i + 1
            )]
        );
    }

    // Two minutes later an agent comes: offered the first two, she takes them.
    env.advance(Duration::from_secs(120)).await;
    let ann = env.agent("ann", &["support"]).await;
    env.inbox
        .accept_offer(ann.agent_id, convs[0])
        .await
        .unwrap();
    env.advance(Duration::ZERO).await;
    // The third moved from 3 to 2: less than the step.
    assert_eq!(notices(convs[2]).await.len(), 1);
    env.inbox
        .accept_offer(ann.agent_id, convs[1])
        .await
        .unwrap();
    env.advance(Duration::ZERO).await;
    assert_eq!(
        notices(convs[2]).await[1],
        "Ann, you are number 1 in support; wait about 2 minutes."
    );
    assert_eq!(
        notices(convs[3]).await[1],
        "Ann, you are number 2 in support; wait about 4 minutes."
    );
    assert_eq!(
        notices(convs[4]).await[1],
        "Ann, you are number 3 in support; wait about 6 minutes."
    );
    // Closing one that waits moves the others up by one: less than the step again.
    let sup = env.supervisor().await;
    env.inbox.close(&sup, convs[2], Some("spam")).await.unwrap();
    env.advance(Duration::ZERO).await;
    assert_eq!(notices(convs[3]).await.len(), 2);
    assert_eq!(notices(convs[4]).await.len(), 2);
    // Those taken by an agent hear nothing more.
    assert_eq!(notices(convs[0]).await.len(), 1);
}

/// Outside an account's opening hours for chat a customer who writes hears
/// `closed_message`; their conversation still queues, or (`closed_queue = false`) closes.
async fn outside_opening_hours_customers_hear_so(b: Backend) {
    let mut settings = common::settings(None);
    // T0 is Thursday 2026-01-01 00:00 UTC: closed.
    settings.inbox.automations.hours = Some(deflect_config::HoursConfig {
        time_zone: "UTC".into(),
        weekly: vec!["mon-fri 09:00-17:00".parse().unwrap()],
        holidays: vec![],
    });
    settings.inbox.automations.closed_message =
        "We are closed, {{customer_name}}; we answer from 9:00.".into();
    settings.whatsapp.accounts[1].automations.closed_queue = Some(false);
    let env = Env::with(b, settings).await;
    let said = |conv: i64| {
        let inbox = &env.inbox;
        async move {
            let msgs = inbox.messages_unchecked(conv, None, 20).await.unwrap();
            msgs.into_iter()
                .map(|m| (m.sender, m.body.unwrap_or_default()))
                .collect::<Vec<_>>()
        }
    };
    let state = |conv: i64| {
        let inbox = &env.inbox;
        async move {
            let c = inbox
                .conversation_unchecked(conv)
                .await
                .unwrap()
                .conversation;
            (c.status, c.disposition)
        }
    };
    let closed = (
        Sender::Automation,
        "We are closed, Ann; we answer from 9:00.".to_string(),
    );

    // Queued anyway (the run of first contacts).
    let queued = env
        .inbox
        .receive("sandbox", &[text("w1", "31612345678", "hi")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(
        said(queued).await,
        [(Sender::Customer, "hi".to_string()), closed.clone()]
    );
    assert_eq!(state(queued).await, (Status::Queued, None));

    // Not queued on the account that says so.
    let turned = env
        .inbox
        .receive("meta", &[text("m1", "31687654321", "hello")])
        .await
        .unwrap()
        .conversations[0];
    assert_eq!(
        said(turned).await,
        [(Sender::Customer, "hello".to_string()), closed.clone()]
    );
    assert_eq!(
        state(turned).await,
        (Status::Closed, Some(OUTSIDE_HOURS.to_string()))
    );
    let kinds: Vec<EventKind> = env
        .inbox
        .conversation_events(turned, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(!kinds.contains(&EventKind::ConversationQueued), "{kinds:?}");

    // At 09:00 the same customer writes again: queued, nothing said.
    env.advance(Duration::from_secs(9 * 3600)).await;
    let again = env
        .inbox
        .receive("meta", &[text("m2", "31687654321", "hello?")])
        .await
        .unwrap()
        .conversations[0];
    assert_ne!(again, turned);
    assert_eq!(
        said(again).await,
        [(Sender::Customer, "hello?".to_string())]
    );
    assert_eq!(state(again).await, (Status::Queued, None));
}

/// The IVR path goes with the deflection: stored, shown on the conversation and the contact
/// card, carried by the `deflection.created` event; a row an older version wrote (no path:
/// NULL, as migration 0023 leaves every earlier row) reads with an empty one.
async fn a_deflected_calls_path_is_kept_and_an_older_row_has_none(b: Backend) {
    use deflect_chat::PathStep;
    let env = Env::new(b).await;
    let mut req = deflection("call-path", "+31612345678");
    req.call.path = vec![
        PathStep::new("greeting"),
        PathStep {
            step: "hours".into(),
            exit: Some("open".into()),
        },
        PathStep {
            step: "ask_number".into(),
            exit: Some("retry 1".into()),
        },
        PathStep {
            step: "confirm".into(),
            exit: Some("confirmed".into()),
        },
        PathStep::new("deflect"),
    ];
    let id = env.inbox.deflect(&req).await.unwrap().conversation_id;
    let d = env.inbox.conversation_unchecked(id).await.unwrap();
    assert_eq!(d.call.as_ref().unwrap().path, req.call.path);
    assert_eq!(
        serde_json::to_value(d.call.unwrap()).unwrap()["path"][1],
        serde_json::json!({"step": "hours", "exit": "open"})
    );
    let sup = env.supervisor().await;
    let card = env.inbox.contact(&sup, id).await.unwrap();
    assert_eq!(card.call.unwrap().context.path, req.call.path);
    let events = env.inbox.events_after(0, 100).await.unwrap();
    let created = events
        .iter()
        .find(|e| e.kind == EventKind::DeflectionCreated)
        .unwrap();
    assert_eq!(
        created.data["call"]["path"],
        serde_json::to_value(&req.call.path).unwrap()
    );

    // As an older version leaves it.
    let mut db = env.sql().await;
    sqlx::query("UPDATE deflections SET path = NULL WHERE call_id = 'call-path'")
        .execute(&mut db)
        .await
        .unwrap();
    let d = env.inbox.conversation_unchecked(id).await.unwrap();
    let call = d.call.unwrap();
    assert!(call.path.is_empty(), "{call:?}");
    assert_eq!(call.flow.as_deref(), Some("support"));

    // A deflection without a path stores none.
    let plain = env
        .inbox
        .deflect(&deflection("call-plain", "+31687654321"))
        .await
        .unwrap();
    let stored: Option<String> =
        sqlx::query_scalar("SELECT path FROM deflections WHERE call_id = 'call-plain'")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(stored, None);
    let d = env
        .inbox
        .conversation_unchecked(plain.conversation_id)
        .await
        .unwrap();
    assert!(d.call.unwrap().path.is_empty());
}

async fn migrations_are_idempotent(b: Backend) {
    let env = Env::new(b).await;
    env.inbox.store().migrate().await.unwrap();
    assert_eq!(
        env.inbox.store().applied_migrations().await.unwrap(),
        (1..=29).collect::<Vec<_>>()
    );
}

/// A rolling upgrade: the next version's `deflect migrate` applied a migration this version
/// does not know; this version's nodes still start on the database (they refused it before,
/// "migration 30 was previously applied but is missing") and work on it. A database lacking
/// one of this version's migrations is still brought up to date.
async fn a_database_migrated_by_the_next_version_is_used_as_it_is(b: Backend) {
    let env = Env::new(b).await;
    let mut conn = env.sql().await;
    sqlx::query("ALTER TABLE nodes ADD COLUMN zone TEXT")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (30, 'node zones', true, $1, 1)",
    )
    .bind(vec![0u8; 48])
    .execute(&mut conn)
    .await
    .unwrap();
    let node = env.another().await;
    node.store().migrate().await.unwrap();
    let m = env.deflect("call-after-upgrade", "+31612345678").await;
    assert_eq!(node.send_due().await.unwrap().sent, 1);
    assert_eq!(env.message(m).await.status, "sent");
    assert_eq!(
        env.inbox.store().applied_migrations().await.unwrap(),
        (1..=30).collect::<Vec<_>>()
    );
}

/// A customer's tap on a reply button or list row carrying `payload`.
fn tap(id: &str, from: &str, title: &str, payload: &str) -> Inbound {
    Inbound::Message(Box::new(InboundMessage {
        external_id: id.into(),
        from: from.into(),
        profile_name: Some("Ann".into()),
        timestamp: 0,
        kind: "interactive".into(),
        body: Some(title.into()),
        context_id: Some("wamid.SURVEY".into()),
        button_payload: Some(payload.into()),
        interactive: Some(deflect_chat::Interactive::ButtonReply {
            id: payload.into(),
            title: title.into(),
        }),
        media: Vec::new(),
        raw: serde_json::json!({ "id": id }),
    }))
}

/// The customer of a new conversation on `account` writes; agent `agent` takes it and
/// answers. Returns the conversation.
async fn handled(
    env: &Env,
    agent: &deflect_chat::Viewer,
    account: &str,
    id: &str,
    from: &str,
) -> i64 {
    let conv = env
        .inbox
        .receive(account, &[text(id, from, "help")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(agent.agent_id, conv).await.unwrap();
    env.inbox
        .send_text(agent, conv, "Happy to help", None)
        .await
        .unwrap();
    conv
}

/// The automatic messages of conversation `conv`: (kind, body, payload).
async fn automatic(env: &Env, conv: i64) -> Vec<(String, String, serde_json::Value)> {
    let msgs = env.inbox.messages_unchecked(conv, None, 50).await.unwrap();
    msgs.into_iter()
        .filter(|m| m.sender == Sender::Automation)
        .map(|m| {
            (
                m.kind,
                m.body.unwrap_or_default(),
                m.payload.unwrap_or_default(),
            )
        })
        .collect()
}

async fn open_conversations(env: &Env, sup: &deflect_chat::Viewer) -> usize {
    let filter = ConversationFilter {
        status: vec![
            Status::Queued,
            Status::Offered,
            Status::Assigned,
            Status::Pending,
        ],
        ..ConversationFilter::default()
    };
    env.inbox
        .list_conversations(sup, &filter)
        .await
        .unwrap()
        .len()
}

async fn csat_asks_after_an_agent_answered_and_keeps_score_and_comment(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.automations.csat = true;
    let env = Env::with(b, settings).await;
    let sup = env.supervisor().await;
    let ann = env.agent("ann", &["support"]).await;

    let conv = handled(&env, &ann, "sandbox", "c1", "31612345678").await;
    env.inbox.close(&ann, conv, Some("resolved")).await.unwrap();
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    let r = &c.reference;
    let survey = automatic(&env, conv).await;
    assert_eq!(survey.len(), 1, "exactly one survey: {survey:?}");
    assert_eq!(survey[0].0, "interactive");
    assert_eq!(
        survey[0].1,
        "How would you rate your conversation with us?\n1. Good\n2. Neutral\n3. Bad"
    );
    assert_eq!(
        survey[0].2,
        serde_json::json!({"type": "buttons", "body": "How would you rate your conversation with us?",
            "buttons": [{"id": format!("csat:{r}:5"), "title": "Good"},
                        {"id": format!("csat:{r}:3"), "title": "Neutral"},
                        {"id": format!("csat:{r}:1"), "title": "Bad"}]})
    );

    // The tap joins the closed conversation: scored, nothing opened; the follow-up asked.
    let got = env
        .inbox
        .receive(
            "sandbox",
            &[tap("c2", "31612345678", "Neutral", &format!("csat:{r}:3"))],
        )
        .await
        .unwrap();
    assert_eq!(got.conversations, [conv]);
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(
        (c.status, c.csat_score, c.csat_at),
        (Status::Closed, Some(3), Some(env.inbox.now()))
    );
    assert_eq!(open_conversations(&env, &sup).await, 0);
    let events = env.inbox.conversation_events(conv, 0, 100).await.unwrap();
    let rated: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::ConversationRated)
        .collect();
    assert_eq!(rated.len(), 1);
    assert_eq!(rated[0].data["score"], 3);
    let said = automatic(&env, conv).await;
    assert_eq!(said.len(), 2);
    assert_eq!(said[1].1, "Thank you! Anything you would like to tell us?");

    // The next text is the comment, stored there too; nothing opens.
    let got = env
        .inbox
        .receive(
            "sandbox",
            &[text("c3", "31612345678", "Quick and friendly")],
        )
        .await
        .unwrap();
    assert_eq!(got.conversations, [conv]);
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.csat_comment.as_deref(), Some("Quick and friendly"));
    assert_eq!(open_conversations(&env, &sup).await, 0);
    let events = env.inbox.conversation_events(conv, 0, 100).await.unwrap();
    let rated: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::ConversationRated)
        .map(|e| (e.data["score"].clone(), e.data["comment"].clone()))
        .collect();
    assert_eq!(
        rated,
        [
            (serde_json::json!(3), serde_json::Value::Null),
            (
                serde_json::json!(3),
                serde_json::json!("Quick and friendly")
            )
        ]
    );

    // A second tap is kept in the conversation; the first score stays.
    env.inbox
        .receive(
            "sandbox",
            &[tap("c4", "31612345678", "Good", &format!("csat:{r}:5"))],
        )
        .await
        .unwrap();
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.csat_score, Some(3));

    // After that, the customer's words open a conversation as always. Nobody answered it:
    // closed without a survey.
    let next = env
        .inbox
        .receive("sandbox", &[text("c5", "31612345678", "Another question")])
        .await
        .unwrap()
        .conversations[0];
    assert_ne!(next, conv);
    env.inbox.close(&sup, next, Some("resolved")).await.unwrap();
    assert_eq!(automatic(&env, next).await, []);

    // The report: one rating, Ann's, in support.
    let report = env.inbox.csat_report(&sup, None, None).await.unwrap();
    assert_eq!(report.overall.count, 1);
    assert_eq!(report.overall.average, Some(3.0));
    assert_eq!(report.by_agent.len(), 1);
    assert_eq!(
        (report.by_agent[0].agent_id, report.by_agent[0].count),
        (ann.agent_id, 1)
    );
    assert_eq!(report.by_queue[0].queue, "support");
    let later = Some(env.inbox.now() + 1);
    assert_eq!(
        env.inbox
            .csat_report(&sup, later, None)
            .await
            .unwrap()
            .overall
            .count,
        0
    );
    assert!(matches!(
        env.inbox.csat_report(&ann, None, None).await,
        Err(ChatError::Forbidden(_))
    ));
}

async fn csat_on_a_text_channel_takes_the_customers_words_and_respects_the_window(b: Backend) {
    let mut settings = common::settings(None);
    // Nothing closes on its own while the clock runs past the window.
    settings.inbox.inactivity_close = Duration::from_secs(72 * 3600);
    let twilio = settings
        .whatsapp
        .accounts
        .iter()
        .position(|a| a.name == "twilio")
        .unwrap();
    let meta = settings
        .whatsapp
        .accounts
        .iter()
        .position(|a| a.name == "meta")
        .unwrap();
    let o = &mut settings.whatsapp.accounts[twilio].automations;
    o.csat = Some(true);
    o.csat_scale = Some(deflect_config::CsatScale::OneToFive);
    o.csat_follow_up = Some(String::new());
    o.csat_template = Some(TWILIO_CSAT.into());
    settings.inbox.max_conversations_per_agent = 4;
    let o = &mut settings.whatsapp.accounts[meta].automations;
    o.csat = Some(true);
    o.csat_template = Some("deflect_csat".into());
    let env = Env::with(b, settings).await;
    let sup = env.supervisor().await;
    let ann = env.agent("ann", &["support"]).await;

    // Twilio, 1–5: a list (sent there as text); the customer's "4" is the score.
    let conv = handled(&env, &ann, "twilio", "t1", "31611111111").await;
    env.inbox.close(&ann, conv, Some("resolved")).await.unwrap();
    let survey = automatic(&env, conv).await;
    assert_eq!(survey.len(), 1);
    assert_eq!(survey[0].2["type"], "list");
    assert_eq!(
        survey[0].2["sections"][0]["rows"].as_array().unwrap().len(),
        5
    );
    assert_eq!(
        survey[0].1,
        "How would you rate your conversation with us?\nReply 5, 4, 3, 2 or 1"
    );
    let got = env
        .inbox
        .receive("twilio", &[text("t2", "31611111111", " 4 ")])
        .await
        .unwrap();
    assert_eq!(got.conversations, [conv]);
    let c = env
        .inbox
        .conversation_unchecked(conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.csat_score, Some(4));
    assert_eq!(
        automatic(&env, conv).await.len(),
        1,
        "no follow-up on this account"
    );
    // No follow-up asked: the next words open a conversation.
    let next = env
        .inbox
        .receive("twilio", &[text("t3", "31611111111", "thanks")])
        .await
        .unwrap();
    assert_ne!(next.conversations, [conv]);
    env.inbox
        .close(&sup, next.conversations[0], Some("resolved"))
        .await
        .unwrap();

    // Outside the 24 h window: Meta's template; nothing where csat is off (the sandbox).
    let quiet = handled(&env, &ann, "sandbox", "s1", "31622222222").await;
    let late = handled(&env, &ann, "meta", "m1", "31633333333").await;
    let late_twilio = handled(&env, &ann, "twilio", "t4", "31655555555").await;
    env.advance(Duration::from_secs(25 * 3600)).await;
    env.inbox
        .close(&ann, quiet, Some("resolved"))
        .await
        .unwrap();
    assert_eq!(
        automatic(&env, quiet).await,
        [],
        "csat is off on the sandbox here"
    );
    env.inbox.close(&ann, late, Some("resolved")).await.unwrap();
    let said = automatic(&env, late).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].0, "template");
    assert_eq!(said[0].2["name"], "deflect_csat");
    let reference = env
        .inbox
        .conversation_unchecked(late)
        .await
        .unwrap()
        .conversation
        .reference;
    assert_eq!(said[0].2["body_params"], serde_json::json!([reference]));
    // Twilio addresses the template by its Content SID.
    env.inbox
        .close(&ann, late_twilio, Some("resolved"))
        .await
        .unwrap();
    let said = automatic(&env, late_twilio).await;
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(
        (said[0].0.as_str(), &said[0].2["content_sid"]),
        ("template", &serde_json::json!(TWILIO_CSAT))
    );
}

/// A Twilio account's survey template: its Content SID.
const TWILIO_CSAT: &str = "HX00000000000000000000000000c5a7";

async fn csat_is_never_sent_outside_the_window_without_a_template(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.automations.csat = true;
    settings.inbox.inactivity_close = Duration::from_secs(72 * 3600);
    let env = Env::with(b, settings).await;
    let ann = env.agent("ann", &["support"]).await;
    let conv = handled(&env, &ann, "sandbox", "o1", "31644444444").await;
    env.advance(Duration::from_secs(25 * 3600)).await;
    env.inbox.close(&ann, conv, Some("resolved")).await.unwrap();
    assert_eq!(automatic(&env, conv).await, []);
    // A "5" now is no answer: it opens a conversation.
    let got = env
        .inbox
        .receive("sandbox", &[text("o2", "31644444444", "5")])
        .await
        .unwrap();
    assert_ne!(got.conversations, [conv]);
}

// ---------------------------------------------------------------- managed lists

/// Admins override settings the configuration file leaves at their defaults: the change
/// counts at once in this process and in another on the same database once its timer pass
/// runs; keys the file sets stay the file's; bad values are refused naming their key; a
/// deleted override gives the configuration's value back. Only admins see or change them.
async fn settings_overrides_count_at_once_and_the_file_keeps_its_keys(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.automations.welcome_message = "Hello from the file".into();
    let env = Env::with(b, settings).await;
    let other = env.another().await;
    let admin = env.admin("root").await;
    let sup = env.supervisor().await;
    let inbox = &env.inbox;
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    for who in [&sup] {
        let r = inbox.setting_scopes(who).await;
        assert!(matches!(r, Err(ChatError::Forbidden(_))), "{r:?}");
        let r = inbox.put_setting_overrides(who, "inbox", &json("{}")).await;
        assert!(matches!(r, Err(ChatError::Forbidden(_))), "{r:?}");
    }
    let scopes = inbox.setting_scopes(&admin).await.unwrap();
    let names: Vec<&str> = scopes.iter().map(|s| s.scope.as_str()).collect();
    assert_eq!(
        names,
        [
            "inbox",
            "account:sandbox",
            "account:meta",
            "account:twilio",
            "site:default",
            "queue:support",
            "queue:overflow"
        ]
    );
    assert!(
        scopes[0]
            .configured
            .contains(&"welcome_message".to_string())
    );
    let support = &scopes[5];
    assert_eq!(support.key, "inbox.queues[0]");
    assert!(
        support.configured.contains(&"dispositions".to_string()),
        "{support:?}"
    );

    // The file's keys are its own; unknown keys, bad values and unknown scopes are refused.
    let r = inbox
        .put_setting_overrides(&admin, "inbox", &json(r#"{"welcome_message": "x"}"#))
        .await;
    assert!(
        matches!(&r, Err(ChatError::Conflict(m)) if m.starts_with("inbox.automations.welcome_message: ")),
        "{r:?}"
    );
    let r = inbox
        .put_setting_overrides(&admin, "queue:support", &json(r#"{"dispositions": ["a"]}"#))
        .await;
    assert!(
        matches!(&r, Err(ChatError::Conflict(m)) if m.contains("inbox.queues[0].dispositions")),
        "{r:?}"
    );
    let r = inbox
        .put_setting_overrides(
            &admin,
            "site:default",
            &json(r#"{"escalation_timeout": "1s"}"#),
        )
        .await;
    assert!(
        matches!(&r, Err(ChatError::Invalid(m)) if m.starts_with("widget.sites[0].escalation_timeout: ")),
        "{r:?}"
    );
    let r = inbox
        .put_setting_overrides(&admin, "site:default", &json(r#"{"origins": []}"#))
        .await;
    assert!(
        matches!(&r, Err(ChatError::Invalid(m)) if m.contains("origins")),
        "{r:?}"
    );
    for scope in ["queue:nowhere", "trunk:x"] {
        let r = inbox
            .put_setting_overrides(&admin, scope, &json("{}"))
            .await;
        assert!(matches!(r, Err(ChatError::NotFound(_))), "{scope}: {r:?}");
    }

    // An account's welcome, changed here: the next new customer gets it, here and (after
    // its timer pass) in the other process.
    let set = inbox
        .put_setting_overrides(
            &admin,
            "account:sandbox",
            &json(r#"{"welcome_message": "Hello from Settings"}"#),
        )
        .await
        .unwrap();
    assert_eq!(
        set.overrides,
        json(r#"{"welcome_message": "Hello from Settings"}"#)
    );
    assert_eq!(
        set.automations.as_ref().unwrap()["welcome_message"],
        "Hello from Settings"
    );
    assert_eq!(set.updated_by, Some(admin.agent_id));
    let welcome = |inbox: &deflect_chat::Inbox, id: &str, from: &str| {
        let inbox = inbox.clone();
        let (id, from) = (id.to_string(), from.to_string());
        async move {
            let r = inbox
                .receive("sandbox", &[text(&id, &from, "hi")])
                .await
                .unwrap();
            let msgs = inbox
                .messages_unchecked(r.conversations[0], None, 10)
                .await
                .unwrap();
            let auto = msgs.into_iter().find(|m| m.sender == Sender::Automation);
            auto.and_then(|m| m.body).unwrap_or_default()
        }
    };
    assert_eq!(
        welcome(inbox, "s1", "31611110001").await,
        "Hello from Settings"
    );
    other.fire_due_timers().await.unwrap();
    assert_eq!(
        welcome(&other, "s2", "31611110002").await,
        "Hello from Settings"
    );
    // Another account keeps the inbox-wide (file's) welcome.
    let r = inbox
        .receive("meta", &[text("s3", "31611110003", "hi")])
        .await
        .unwrap();
    let msgs = inbox
        .messages_unchecked(r.conversations[0], None, 10)
        .await
        .unwrap();
    assert!(
        msgs.iter()
            .any(|m| m.body.as_deref() == Some("Hello from the file")),
        "{msgs:?}"
    );

    // A queue's dispositions the file leaves at their defaults.
    inbox
        .put_setting_overrides(
            &admin,
            "queue:overflow",
            &json(r#"{"dispositions": ["sold", "lost"]}"#),
        )
        .await
        .unwrap();
    assert_eq!(
        inbox.queue_config("overflow").unwrap().dispositions,
        ["sold", "lost"]
    );

    // Deleted: the configuration's values again, in both processes.
    inbox
        .delete_setting_overrides(&admin, "account:sandbox")
        .await
        .unwrap();
    let r = inbox
        .delete_setting_overrides(&admin, "account:sandbox")
        .await;
    assert!(matches!(r, Err(ChatError::NotFound(_))), "{r:?}");
    other.fire_due_timers().await.unwrap();
    assert_eq!(
        welcome(&other, "s4", "31611110004").await,
        "Hello from the file"
    );
    let scopes = other.setting_scopes(&admin).await.unwrap();
    assert_eq!(scopes[1].overrides, json("{}"));
    assert_eq!(
        scopes[6].overrides,
        json(r#"{"dispositions": ["sold", "lost"]}"#)
    );
}

/// Whitelist entries added through the API join the configured whitelist at once — one
/// message at a time and in a run of first contacts alike, in this process and in another
/// on the same database — and stop counting when deleted. Only admins change the list;
/// supervisors read it, configured entries included.
async fn whitelist_entries_added_through_the_api_count_at_once(b: Backend) {
    let mut settings = common::settings(None);
    settings.whatsapp.accounts[0].automations.whitelist = Some(vec!["+3161*".into()]);
    settings.whatsapp.accounts[0].automations.whitelist_reply = Some("Members only.".into());
    let env = Env::with(b, settings).await;
    let other = env.another().await;
    let admin = env.admin("root").await;
    let sup = env.supervisor().await;
    let agent = env.agent("ann", &[]).await;
    let inbox = &env.inbox;
    let entry = |account: Option<&str>, pattern: &str| NewWhitelistEntry {
        account: account.map(str::to_string),
        pattern: pattern.into(),
    };
    // Each new message's conversation by the customer's number: (status, disposition).
    let fates_on = |inbox: &deflect_chat::Inbox, account: &'static str, items: Vec<Inbound>| {
        let inbox = inbox.clone();
        async move {
            let r = inbox.receive(account, &items).await.unwrap();
            let mut out = std::collections::BTreeMap::new();
            for id in r.conversations {
                let c = inbox.conversation_unchecked(id).await.unwrap().conversation;
                let phone = c.contact_phone.unwrap_or_default();
                out.insert(
                    phone.trim_start_matches('+').to_string(),
                    (c.status, c.disposition),
                );
            }
            out
        }
    };
    let fates =
        |inbox: &deflect_chat::Inbox, items: Vec<Inbound>| fates_on(inbox, "sandbox", items);
    let admitted = (Status::Queued, None);
    let refused = (Status::Closed, Some(NOT_WHITELISTED.to_string()));

    // Off the configured whitelist: refused.
    let got = fates(inbox, vec![text("l1", "4930111222", "let me in")]).await;
    assert_eq!(got["4930111222"], refused);

    // Only admins add; bad values name their field; duplicates conflict.
    let add = entry(Some("sandbox"), "+4930111222");
    for who in [&sup, &agent] {
        let r = inbox.add_whitelist_entry(who, &add).await;
        assert!(matches!(r, Err(ChatError::Forbidden(_))), "{r:?}");
    }
    assert!(matches!(
        inbox.whitelist(&agent).await,
        Err(ChatError::Forbidden(_))
    ));
    for (bad, field) in [
        (entry(Some("sandbox"), "0800 123"), "pattern: "),
        (entry(Some("sandbox"), "+31*6"), "pattern: "),
        (entry(Some("nowhere"), "+4930111222"), "account: "),
    ] {
        match inbox.add_whitelist_entry(&admin, &bad).await {
            Err(ChatError::Invalid(m)) => assert!(m.starts_with(field), "{m}"),
            r => panic!("{bad:?} was {r:?}"),
        }
    }
    let one = inbox.add_whitelist_entry(&admin, &add).await.unwrap();
    assert_eq!(
        (one.account.as_deref(), one.pattern.as_str(), one.source),
        (Some("sandbox"), "+4930111222", ListSource::Api)
    );
    for dup in [add.clone(), entry(Some("sandbox"), "+3161*")] {
        let r = inbox.add_whitelist_entry(&admin, &dup).await;
        assert!(matches!(r, Err(ChatError::Conflict(_))), "{dup:?}: {r:?}");
    }

    // The refused number writes again (a known contact: one message at a time): admitted.
    let got = fates(inbox, vec![text("l2", "4930111222", "and now?")]).await;
    assert_eq!(got["4930111222"], admitted);

    // A run of first contacts: those the configuration or the API admits are opened
    // together; the others go one at a time and are turned away.
    let before = inbox.inbound_stats();
    let got = fates(
        inbox,
        vec![
            text("r1", "4940000001", "hi"),
            text("r2", "31611110001", "hi"),
        ],
    )
    .await;
    assert_eq!(
        (&got["4940000001"], &got["31611110001"]),
        (&refused, &admitted)
    );
    let every = inbox
        .add_whitelist_entry(&admin, &entry(None, "+4940*"))
        .await
        .unwrap();
    let mid = inbox.inbound_stats();
    assert_eq!(
        (mid.grouped - before.grouped, mid.alone - before.alone),
        (1, 1)
    );
    let got = fates(
        inbox,
        vec![
            text("r3", "4940000002", "hi"),
            text("r4", "4940000003", "hi"),
            text("r5", "33612345678", "hi"),
            text("r6", "31611110002", "hi"),
        ],
    )
    .await;
    let after = inbox.inbound_stats();
    assert_eq!(got.len(), 4);
    for n in ["4940000002", "4940000003", "31611110002"] {
        assert_eq!(got[n], admitted, "{n}");
    }
    assert_eq!(got["33612345678"], refused);
    assert_eq!(
        (after.grouped - mid.grouped, after.alone - mid.alone),
        (3, 1)
    );
    // An account without a configured whitelist is restricted by the entry for every
    // account, in a run of first contacts too.
    let got = fates_on(
        inbox,
        "twilio",
        vec![
            text("t1", "4940000009", "hi"),
            text("t2", "33699999999", "hi"),
        ],
    )
    .await;
    assert_eq!(
        (&got["4940000009"], &got["33699999999"]),
        (&admitted, &refused)
    );

    // Another process on the same database: the entry counts there too, and its deletion.
    let got = fates(&other, vec![text("p1", "4940000004", "hi")]).await;
    assert_eq!(got["4940000004"], admitted);
    inbox
        .delete_whitelist_entry(&admin, every.id.unwrap())
        .await
        .unwrap();
    let got = fates(&other, vec![text("p2", "4940000005", "hi")]).await;
    assert_eq!(got["4940000005"], refused);
    let r = inbox
        .delete_whitelist_entry(&admin, every.id.unwrap())
        .await;
    assert!(matches!(r, Err(ChatError::NotFound(_))), "{r:?}");

    // Supervisors read the whole list: the configured entry with its key, then the API's.
    let list = inbox.whitelist(&sup).await.unwrap();
    let seen: Vec<_> = list
        .iter()
        .map(|e| {
            (
                e.account.as_deref(),
                e.pattern.as_str(),
                e.source,
                e.key.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some("sandbox"),
                "+3161*",
                ListSource::Config,
                Some("whatsapp.accounts[0].automations.whitelist[0]")
            ),
            (Some("sandbox"), "+4930111222", ListSource::Api, None),
        ]
    );
}

/// FAQ entries added through the API are answered by the FAQ bot at once, in this process
/// and in another on the same database; a change changes the answer, a deletion ends it.
async fn faq_entries_added_through_the_api_answer_at_once(b: Backend) {
    let mut settings = common::settings(None);
    settings.inbox.faq = vec![deflect_config::FaqEntry {
        question: "What are your opening hours? When are you open?".into(),
        answer: "Monday to Friday, 9-17.".into(),
        language: None,
        account: None,
    }];
    settings.inbox.automations.bot = "faq".into();
    let env = Env::with(b, settings).await;
    let other = env.another().await;
    let admin = env.admin("root").await;
    let sup = env.supervisor().await;
    // What the FAQ bot told a new customer `from` who asked `body` (through `inbox`).
    let asked =
        |inbox: &deflect_chat::Inbox, id: &'static str, from: &'static str, body: &'static str| {
            let inbox = inbox.clone();
            async move {
                let r = inbox
                    .receive("sandbox", &[text(id, from, body)])
                    .await
                    .unwrap();
                let msgs = inbox
                    .messages_unchecked(r.conversations[0], None, 10)
                    .await
                    .unwrap();
                let bot = msgs.iter().rev().find(|m| m.sender == Sender::Bot);
                bot.and_then(|m| m.body.clone())
            }
        };
    let invoice = |answer: &str| NewFaqEntry {
        account: None,
        question: "Where is my invoice? Invoices".into(),
        answer: answer.into(),
        language: None,
    };

    assert_eq!(
        asked(&env.inbox, "f1", "31600000001", "where is my invoice?").await,
        None
    );

    // Checked as the configuration is; only admins add.
    let r = env.inbox.add_faq_entry(&sup, &invoice("x")).await;
    assert!(matches!(r, Err(ChatError::Forbidden(_))), "{r:?}");
    let bad = [
        (
            NewFaqEntry {
                answer: "Ask {{agent_name}}".into(),
                ..invoice("")
            },
            "answer: ",
        ),
        (
            NewFaqEntry {
                question: "?".repeat(501),
                ..invoice("a")
            },
            "question: ",
        ),
        (
            NewFaqEntry {
                language: Some("xx".into()),
                ..invoice("a")
            },
            "language: ",
        ),
        (
            NewFaqEntry {
                account: Some("nowhere".into()),
                ..invoice("a")
            },
            "account: ",
        ),
    ];
    for (entry, field) in bad {
        match env.inbox.add_faq_entry(&admin, &entry).await {
            Err(ChatError::Invalid(m)) => assert!(m.starts_with(field), "{m}"),
            r => panic!("{entry:?} was {r:?}"),
        }
    }

    let added = env
        .inbox
        .add_faq_entry(&admin, &invoice("In your account, {{customer_name}}."))
        .await
        .unwrap();
    let id = added.id.unwrap();
    assert_eq!(
        (added.language.as_str(), added.source),
        ("en", ListSource::Api)
    );
    let r = env.inbox.add_faq_entry(&admin, &invoice("again")).await;
    assert!(matches!(r, Err(ChatError::Conflict(_))), "{r:?}");
    let same_as_configured = NewFaqEntry {
        question: "What are your opening hours? When are you open?".into(),
        ..invoice("a")
    };
    let r = env.inbox.add_faq_entry(&admin, &same_as_configured).await;
    assert!(matches!(r, Err(ChatError::Conflict(_))), "{r:?}");

    // Answered here and in the other process; the configured entry still is.
    let first = Some("In your account, Ann.".to_string());
    assert_eq!(
        asked(
            &env.inbox,
            "f2",
            "31600000002",
            "where can I find my invoice"
        )
        .await,
        first
    );
    assert_eq!(
        asked(&other, "f3", "31600000003", "my invoice please").await,
        first
    );
    assert_eq!(
        asked(&other, "f4", "31600000004", "when are you open?")
            .await
            .as_deref(),
        Some("Monday to Friday, 9-17.")
    );

    // Changed here: the other process answers with the new text.
    let changed = env
        .inbox
        .update_faq_entry(&admin, id, &invoice("Under Billing, {{customer_name}}."))
        .await
        .unwrap();
    assert_eq!(changed.created_at, added.created_at);
    let second = Some("Under Billing, Ann.".to_string());
    assert_eq!(asked(&other, "f5", "31600000005", "invoice?").await, second);
    assert_eq!(
        asked(&env.inbox, "f6", "31600000006", "invoice?").await,
        second
    );
    let r = env
        .inbox
        .update_faq_entry(&admin, id + 100, &invoice("x"))
        .await;
    assert!(matches!(r, Err(ChatError::NotFound(_))), "{r:?}");

    // Listed with the configured entry.
    let list = env.inbox.faq_entries(&sup).await.unwrap();
    let seen: Vec<_> = list
        .iter()
        .map(|e| (e.id, e.source, e.key.as_deref(), e.answer.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                None,
                ListSource::Config,
                Some("inbox.faq[0]"),
                "Monday to Friday, 9-17."
            ),
            (
                Some(id),
                ListSource::Api,
                None,
                "Under Billing, {{customer_name}}."
            ),
        ]
    );

    // Deleted in the other process: no answer here any more.
    other.delete_faq_entry(&admin, id).await.unwrap();
    assert_eq!(
        asked(&env.inbox, "f7", "31600000007", "invoice?").await,
        None
    );
    let r = env.inbox.delete_faq_entry(&admin, id).await;
    assert!(matches!(r, Err(ChatError::NotFound(_))), "{r:?}");
}

/// A Meta webhook delivery of `message` from 31612345678, as the provider module reads it.
fn meta_delivery(message: serde_json::Value) -> Vec<Inbound> {
    let body = serde_json::json!({"entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": "31612345678"}],
        "messages": [message]
    }}]}]});
    deflect_chat::provider::meta::parse_webhook(body.to_string().as_bytes())
        .unwrap()
        .into_iter()
        .map(|(_, item)| item)
        .collect()
}

/// The refusal of an interactive message: its text (which names the field).
fn refused(r: Result<deflect_chat::Message, ChatError>) -> String {
    match r {
        Err(ChatError::Invalid(m)) => m,
        other => panic!("expected 422 invalid, got {other:?}"),
    }
}

async fn interactive_messages_go_out_within_limits_and_replies_come_back(b: Backend) {
    use deflect_chat::Interactive;
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let conv = env
        .inbox
        .receive("meta", &[text("w1", "31612345678", "Which delivery?")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    let list: Interactive = serde_json::from_value(serde_json::json!({
        "type": "list", "button": "Shipping options", "sections": [
            {"title": "Fast", "rows": [{"id": "express", "title": "Express", "description": "Next day"}]},
            {"title": "Cheap", "rows": [{"id": "standard", "title": "Standard"}]}
        ]
    }))
    .unwrap();
    let sent = env
        .inbox
        .send_interactive(&ann, conv, "Which one?", &list, Some("k1"))
        .await
        .unwrap();
    assert_eq!(
        (sent.kind.as_str(), sent.body.as_deref()),
        ("interactive", Some("Which one?"))
    );
    let expected = list.clone().with_body("Which one?");
    assert_eq!(sent.interactive.as_ref(), Some(&expected));
    // The outbox's request is the list, in sections.
    assert_eq!(
        sent.payload,
        Some(
            serde_json::json!({"type": "list", "body": "Which one?", "button": "Shipping options",
            "sections": [
                {"title": "Fast", "rows": [{"id": "express", "title": "Express", "description": "Next day"}]},
                {"title": "Cheap", "rows": [{"id": "standard", "title": "Standard"}]}
            ]})
        )
    );
    // Idempotent by client key; read back as stored.
    let again = env
        .inbox
        .send_interactive(&ann, conv, "Which one?", &list, Some("k1"))
        .await
        .unwrap();
    assert_eq!(again.id, sent.id);
    let stored = env.inbox.messages(&ann, conv, None, 100).await.unwrap();
    let stored = stored.iter().find(|m| m.id == sent.id).unwrap();
    assert_eq!(stored.interactive.as_ref(), Some(&expected));
    assert_eq!(env.outbox().await.get("pending"), Some(&1));

    // Beyond WhatsApp's limits: refused, naming the field; nothing stored.
    let four: Interactive = serde_json::from_value(serde_json::json!({"type": "button", "buttons": [
        {"id": "a", "title": "A"}, {"id": "b", "title": "B"}, {"id": "c", "title": "C"}, {"id": "d", "title": "D"}
    ]}))
    .unwrap();
    let r = env
        .inbox
        .send_interactive(&ann, conv, "Pick", &four, None)
        .await;
    assert_eq!(refused(r), "interactive.buttons: at most 3 (has 4)");
    let long: Interactive = serde_json::from_value(serde_json::json!({"type": "cta_url",
        "display_text": "Track my parcel right now", "url": "https://example.com/t/1"}))
    .unwrap();
    let r = env
        .inbox
        .send_interactive(&ann, conv, "Track", &long, None)
        .await;
    assert_eq!(
        refused(r),
        "interactive.display_text: at most 20 characters (has 25)"
    );
    let reply = Interactive::ButtonReply {
        id: "x".into(),
        title: "X".into(),
    };
    let r = env
        .inbox
        .send_interactive(&ann, conv, "X", &reply, None)
        .await;
    assert!(refused(r).starts_with("interactive.type:"));
    // The body in `interactive.body` instead of the text is the same message; both differing
    // is refused.
    let with_body: Interactive = serde_json::from_value(serde_json::json!({"type": "button",
        "body": "Shall we call you?", "buttons": [{"id": "yes", "title": "Yes"}]}))
    .unwrap();
    let r = env
        .inbox
        .send_interactive(&ann, conv, "Other text", &with_body, None)
        .await;
    assert!(refused(r).starts_with("interactive.body:"));
    let m = env
        .inbox
        .send_interactive(&ann, conv, "", &with_body, None)
        .await
        .unwrap();
    assert_eq!(m.body.as_deref(), Some("Shall we call you?"));
    let msgs = env.inbox.messages(&ann, conv, None, 100).await.unwrap();
    assert_eq!(msgs.len(), 3, "the customer's text and two sent");

    // The customer picks a row (Meta's list_reply): the message's interactive holds the
    // row's id and title, its body the title; the conversation is the same.
    let got = env
        .inbox
        .receive(
            "meta",
            &meta_delivery(serde_json::json!({"from": "31612345678", "id": "wamid.in2",
                "timestamp": "0", "context": {"from": "31201234567", "id": "wamid.x"},
                "type": "interactive", "interactive": {"type": "list_reply",
                "list_reply": {"id": "express", "title": "Express", "description": "Next day"}}})),
        )
        .await
        .unwrap();
    assert_eq!(got.conversations, [conv]);
    let msgs = env.inbox.messages(&ann, conv, None, 100).await.unwrap();
    let answer = msgs.last().unwrap();
    assert_eq!(
        (answer.kind.as_str(), answer.body.as_deref()),
        ("interactive", Some("Express"))
    );
    assert_eq!(
        serde_json::to_value(&answer.interactive).unwrap(),
        serde_json::json!({"type": "list_reply", "id": "express", "title": "Express", "description": "Next day"})
    );
    // A template's quick reply is a button reply too.
    env.inbox
        .receive(
            "meta",
            &meta_delivery(serde_json::json!({"from": "31612345678", "id": "wamid.in3",
                "timestamp": "0", "type": "button",
                "button": {"payload": "later", "text": "Later"}})),
        )
        .await
        .unwrap();
    let msgs = env.inbox.messages(&ann, conv, None, 100).await.unwrap();
    assert_eq!(
        serde_json::to_value(&msgs.last().unwrap().interactive).unwrap(),
        serde_json::json!({"type": "button_reply", "id": "later", "title": "Later"})
    );
    // Plain messages carry none.
    assert_eq!(msgs[0].interactive, None);
    assert_eq!(
        serde_json::to_value(&msgs[0]).unwrap()["interactive"],
        serde_json::Value::Null
    );

    // Outside the window an interactive message is refused like free text.
    env.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let r = env
        .inbox
        .send_interactive(&ann, conv, "Which one?", &list, None)
        .await;
    assert!(matches!(r, Err(ChatError::OutsideWindow { .. })), "{r:?}");
}

async fn web_visitors_see_buttons_and_tap_them(b: Backend) {
    use deflect_chat::Interactive;
    use deflect_chat::webchat::visitor_event;
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let token = "visitor-token-0123456789abcdef";
    let c = env
        .inbox
        .start_web_conversation(&deflect_chat::NewWebConversation {
            site: "www".into(),
            visitor_token: token.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    env.inbox.accept_offer(ann.agent_id, c.id).await.unwrap();
    let buttons: Interactive = serde_json::from_value(serde_json::json!({"type": "button",
        "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]}))
    .unwrap();
    let sent = env
        .inbox
        .send_interactive(&ann, c.id, "Did that help?", &buttons, None)
        .await
        .unwrap();
    // The widget's message event carries the buttons.
    let events = env.inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let shown: Vec<_> = events.iter().filter_map(visitor_event).collect();
    let event = shown.iter().find(|e| e.data["id"] == sent.id).unwrap();
    assert_eq!(
        event.data["interactive"],
        serde_json::json!({"type": "button", "body": "Did that help?",
            "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]})
    );
    // The visitor taps "Yes": their message is the reply, once per key.
    let tap = Interactive::ButtonReply {
        id: "yes".into(),
        title: "Yes".into(),
    };
    let m = env
        .inbox
        .web_visitor_reply(token, c.id, &tap, Some("t1"))
        .await
        .unwrap();
    let again = env
        .inbox
        .web_visitor_reply(token, c.id, &tap, Some("t1"))
        .await
        .unwrap();
    assert_eq!(again.id, m.id);
    assert_eq!(
        (m.kind.as_str(), m.body.as_deref(), m.interactive.as_ref()),
        ("interactive", Some("Yes"), Some(&tap))
    );
    let msgs = env.inbox.messages(&ann, c.id, None, 100).await.unwrap();
    assert_eq!(msgs.last().unwrap().interactive.as_ref(), Some(&tap));
    // Only replies, within the limits, come from a visitor.
    let r = env
        .inbox
        .web_visitor_reply(token, c.id, &buttons, None)
        .await;
    assert!(refused(r).starts_with("reply.type:"));
    let long = Interactive::ButtonReply {
        id: "i".repeat(257),
        title: "Yes".into(),
    };
    let r = env.inbox.web_visitor_reply(token, c.id, &long, None).await;
    assert_eq!(refused(r), "reply.id: at most 256 characters (has 257)");
}

on_both!(
    deflection_is_queued_once_per_call,
    a_held_deflection_waits_for_its_release_or_its_hold,
    a_deflected_calls_path_is_kept_and_an_older_row_has_none,
    a_reply_joins_the_deflected_call_and_is_routed,
    duplicate_deliveries_are_no_ops,
    concurrent_deliveries_lose_nothing_and_keep_each_customers_order,
    first_contacts_together_are_stored_as_one_at_a_time,
    statuses_only_move_forward_and_may_come_first,
    free_text_only_within_24_hours,
    offers_time_out_to_the_next_agent,
    calls_may_ring_the_available_agents_with_room,
    wait_timeout_applies_the_fallback,
    closing_needs_a_disposition_and_pulls_the_oldest,
    claim_and_transfers,
    inactivity_closes_answered_conversations_with_a_system_disposition,
    unanswered_customers_remind_the_agent_then_go_to_another,
    waiting_customers_hear_their_position_as_it_improves,
    outside_opening_hours_customers_hear_so,
    agents_see_only_their_queues,
    an_agent_without_accounts_sees_no_accounts_conversations,
    events_come_in_order_and_resume,
    timers_survive_restarts_and_fire_once,
    unsent_messages_are_sent_once_after_a_restart,
    provider_failures,
    receipts_mark_read_once_and_typing_at_most_every_twenty_seconds,
    web_conversation_continues_on_whatsapp,
    deflection_limits_hold_across_processes,
    migrations_are_idempotent,
    a_database_migrated_by_the_next_version_is_used_as_it_is,
    automations_welcome_once_and_turn_strangers_away,
    whitelist_entries_added_through_the_api_count_at_once,
    settings_overrides_count_at_once_and_the_file_keeps_its_keys,
    bots_answer_hand_over_and_never_leave_a_customer_alone,
    the_faq_bot_answers_what_it_knows_and_hands_over_the_rest,
    a_supervisor_takes_a_conversation_from_its_bot,
    a_slow_bot_answer_holds_up_no_other_conversation,
    faq_entries_added_through_the_api_answer_at_once,
    csat_asks_after_an_agent_answered_and_keeps_score_and_comment,
    csat_on_a_text_channel_takes_the_customers_words_and_respects_the_window,
    csat_is_never_sent_outside_the_window_without_a_template,
    an_older_database_is_upgraded_with_its_messages,
    a_widget_site_welcomes_in_its_own_words_and_starts_with_its_bot,
    a_flows_bot_takes_the_customers_answer_to_the_template,
    the_welcome_speaks_the_language_of_the_call,
    interactive_messages_go_out_within_limits_and_replies_come_back,
    web_visitors_see_buttons_and_tap_them,
    an_agent_chatting_keeps_the_visitor_in_the_widget_and_signs_their_replies,
    labels_and_the_contact_card_follow_the_viewers_access,
    a_transfer_carries_a_note_and_agents_show_their_load,
);

#[allow(dead_code)]
fn unused(_: InboundMessage) {}
