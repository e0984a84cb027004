//! The inbox's web-facing rules — widget escalation, API hand-offs, sessions and API tokens,
//! canned answers, the supervisors' board, outgoing webhooks, visitors' view of events —
//! on SQLite and PostgreSQL alike. Time is a manual clock.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Env, FakeProvider, T0, settings, text};
use deflect_chat::{
    Channel, ChatError, EventKind, ListSource, NewCannedAnswer, NewHandoff, NewWebConversation,
    NewWebhookEndpoint, Origin, RelayAgent, Role, Status, VisitorEventKind, WebhookEndpointChange,
};
use deflect_config::{Secret, WebhookConfig};
use std::time::Duration;

const S: Duration = Duration::from_secs(1);
const TOKEN: &str = "visitor-token-0123456789abcdef";

fn web(site: &str, token: &str, escalate: Option<Duration>) -> NewWebConversation {
    NewWebConversation {
        site: site.into(),
        visitor_token: token.into(),
        name: Some("Ann".into()),
        escalate_after: escalate,
        ..Default::default()
    }
}

async fn next_of(feed: &mut deflect_chat::Subscription, kind: EventKind) -> deflect_chat::Event {
    loop {
        let e = feed.next().await.unwrap().unwrap();
        if e.kind == kind {
            return e;
        }
    }
}

async fn escalation_is_offered_only_without_an_agent(b: Backend) {
    let env = Env::new(b).await;
    let c = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, Some(30 * S)))
        .await
        .unwrap();
    let mut feed = env.inbox.subscribe(None).await.unwrap();
    env.advance(29 * S).await;
    assert_eq!(
        env.inbox
            .web_conversation(TOKEN, c.id)
            .await
            .unwrap()
            .escalation_at,
        None
    );
    env.advance(S).await;
    let after = env.inbox.web_conversation(TOKEN, c.id).await.unwrap();
    assert_eq!(after.escalation_at, Some(T0 + 30_000));
    // (On PostgreSQL, notifications of events committed before subscribing may still come.)
    let e = next_of(&mut feed, EventKind::ConversationEscalationOffered).await;
    let v = deflect_chat::webchat::visitor_event(&e).unwrap();
    assert_eq!(v.kind, VisitorEventKind::Escalation);
    // Another visitor whose chat an agent took in time gets no offer.
    let ann = env.agent("ann", &["support"]).await;
    let other = "visitor-token-fedcba9876543210";
    let d = env
        .inbox
        .start_web_conversation(&web("www", other, Some(30 * S)))
        .await
        .unwrap();
    env.inbox.accept_offer(ann.agent_id, d.id).await.unwrap();
    // Even when the agent later puts it back in a queue: the wait for an agent is over.
    env.advance(5 * S).await;
    env.inbox
        .transfer_to_queue(&ann, d.id, "support")
        .await
        .unwrap();
    env.advance(60 * S).await;
    assert_eq!(
        env.inbox
            .web_conversation(other, d.id)
            .await
            .unwrap()
            .escalation_at,
        None
    );
    // A visitor reaches only their own conversation.
    assert!(matches!(
        env.inbox.web_conversation(other, c.id).await,
        Err(ChatError::NotFound(_))
    ));
}

async fn outside_opening_hours_whatsapp_is_offered_at_once(b: Backend) {
    let env = Env::new(b).await;
    let hours = deflect_config::OpeningHours::new(&deflect_config::HoursConfig {
        time_zone: "Europe/Amsterdam".into(),
        weekly: vec!["mon-fri 09:00-17:00".parse().unwrap()],
        holidays: vec![],
    })
    .unwrap();
    let closed = NewWebConversation {
        hours: Some(hours.clone()),
        ..web("www", TOKEN, Some(30 * S))
    };
    // T0 is Thursday 2026-01-01 01:00 in Amsterdam: closed.
    assert!(!env.inbox.is_open(Some(&hours)));
    assert!(env.inbox.is_open(None));
    let mut feed = env.inbox.subscribe(None).await.unwrap();
    let c = env.inbox.start_web_conversation(&closed).await.unwrap();
    assert_eq!((c.status, c.escalation_at), (Status::Queued, Some(T0)));
    let e = next_of(&mut feed, EventKind::ConversationEscalationOffered).await;
    assert_eq!(e.conversation_id, Some(c.id));
    let v = deflect_chat::webchat::visitor_event(&e).unwrap();
    assert_eq!(
        (v.kind, &v.data),
        (
            VisitorEventKind::Escalation,
            &serde_json::json!({ "reason": "closed" })
        )
    );
    // No second offer when the escalation timeout passes, and the chat still waits for an agent.
    env.advance(60 * S).await;
    let offers = env
        .inbox
        .conversation_events(c.id, 0, 100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::ConversationEscalationOffered)
        .count();
    assert_eq!(offers, 1);
    let c = env.inbox.web_conversation(TOKEN, c.id).await.unwrap();
    assert_eq!((c.status, c.escalation_at), (Status::Queued, Some(T0)));
    // Friday 2026-01-02 09:00 in Amsterdam (08:00 UTC): open, so the timeout applies.
    env.clock.set(T0 + 32 * 3_600_000);
    assert!(env.inbox.is_open(Some(&hours)));
    let other = "visitor-token-fedcba9876543210";
    let d = env
        .inbox
        .start_web_conversation(&NewWebConversation {
            hours: Some(hours),
            ..web("www", other, Some(30 * S))
        })
        .await
        .unwrap();
    assert_eq!(d.escalation_at, None);
    env.advance(30 * S).await;
    let d = env.inbox.web_conversation(other, d.id).await.unwrap();
    assert_eq!(d.escalation_at, Some(T0 + 32 * 3_600_000 + 30_000));
    let e = next_of(&mut feed, EventKind::ConversationEscalationOffered).await;
    assert_eq!(e.conversation_id, Some(d.id));
    assert_eq!(e.data["reason"], "timeout");
}

async fn two_admins_demoting_each_other_at_once_leave_one_admin(b: Backend) {
    let env = Env::new(b).await;
    let admins = [env.admin("root").await, env.admin("toor").await];
    // Each process demotes the other admin at the same moment.
    let other = env.another().await;
    let (x, y) = tokio::join!(
        env.inbox
            .set_role(Some(&admins[0]), admins[1].agent_id, Role::Agent),
        other.set_role(Some(&admins[1]), admins[0].agent_id, Role::Agent),
    );
    let refused = [&x, &y]
        .iter()
        .filter(|r| matches!(r, Err(ChatError::Conflict(m)) if m.contains("last admin")))
        .count();
    assert_eq!(
        (x.is_ok() as u8 + y.is_ok() as u8, refused),
        (1, 1),
        "{x:?} {y:?}"
    );
    let left: Vec<_> = env
        .inbox
        .agents()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.role == Role::Admin)
        .collect();
    assert_eq!(left.len(), 1);
    // The operator on the command line (no viewer) is held to the same rule.
    assert!(matches!(
        env.inbox.set_role(None, left[0].id, Role::Supervisor).await,
        Err(ChatError::Conflict(_))
    ));
    // Nor can the last admin be disabled; once another is enabled, the first can be.
    assert!(matches!(
        env.inbox.set_disabled(left[0].id, true).await,
        Err(ChatError::Conflict(m)) if m.contains("last admin")
    ));
    assert!(!env.inbox.agent(left[0].id).await.unwrap().disabled);
    let demoted = admins.iter().find(|a| a.agent_id != left[0].id).unwrap();
    env.inbox
        .set_role(None, demoted.agent_id, Role::Admin)
        .await
        .unwrap();
    env.inbox.set_disabled(left[0].id, true).await.unwrap();
    assert!(env.inbox.agent(left[0].id).await.unwrap().disabled);
    assert!(matches!(
        env.inbox.set_disabled(demoted.agent_id, true).await,
        Err(ChatError::Conflict(_))
    ));
}

async fn a_handoff_code_moves_the_chat_to_whatsapp_once(b: Backend) {
    let env = Env::new(b).await;
    let c = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    env.inbox
        .web_visitor_message(TOKEN, c.id, "Hi", Some("k1"))
        .await
        .unwrap();
    let h = env
        .inbox
        .create_handoff(TOKEN, c.id, 600 * S)
        .await
        .unwrap();
    let mut feed = env.inbox.subscribe(None).await.unwrap();
    let r = env
        .inbox
        .receive("sandbox", &[text("wa1", "31612345678", &h.text)])
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![c.id]);
    // (On PostgreSQL, notifications of events committed before subscribing may still come.)
    let e = next_of(&mut feed, EventKind::ConversationChannelChanged).await;
    assert_eq!(
        deflect_chat::webchat::visitor_event(&e).map(|v| v.kind),
        Some(VisitorEventKind::ContinuedOnWhatsapp)
    );
    // The widget can no longer write into it, and cannot ask for another code; a resent
    // web message (same key) is still answered with the stored one.
    assert!(matches!(
        env.inbox
            .web_visitor_message(TOKEN, c.id, "still here?", Some("k2"))
            .await,
        Err(ChatError::Conflict(_))
    ));
    assert!(
        env.inbox
            .web_visitor_message(TOKEN, c.id, "Hi", Some("k1"))
            .await
            .is_ok()
    );
    assert!(matches!(
        env.inbox.create_handoff(TOKEN, c.id, 600 * S).await,
        Err(ChatError::Conflict(_))
    ));
    // Resuming the conversation's feed from a position replays what followed it.
    let all = env.inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let tail = env.inbox.conversation_events(c.id, 3, 100).await.unwrap();
    assert_eq!(tail.first().map(|e| e.seq), Some(4));
}

async fn api_handoffs_wait_for_the_customer_then_queue(b: Backend) {
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let ann = env.agent("ann", &["overflow"]).await;
    let new = NewHandoff {
        name: Some("Bob".into()),
        phone: Some("+31687654321".into()),
        metadata: Some(serde_json::json!({ "order": 1234 })),
        ttl: 3600 * S,
        ..Default::default()
    };
    let (c, h) = env.inbox.start_handoff(&boss, &new).await.unwrap();
    assert_eq!(
        (c.status, c.origin, c.channel),
        (Status::Pending, Origin::Api, Channel::Whatsapp)
    );
    assert_eq!(c.metadata, Some(serde_json::json!({ "order": 1234 })));
    assert_eq!(c.contact_name.as_deref(), Some("Bob"));
    assert!(
        h.url.starts_with("https://wa.me/15550100000?text=Continue"),
        "{}",
        h.url
    );
    let r = env
        .inbox
        .receive("sandbox", &[text("wa1", "31687654321", &h.text)])
        .await
        .unwrap();
    assert_eq!(r.conversations, vec![c.id]);
    let now = env
        .inbox
        .conversation_unchecked(c.id)
        .await
        .unwrap()
        .conversation;
    assert_eq!(now.status, Status::Queued);
    // Rules: agents only into their queues; numbers are E.164; metadata is an object.
    assert!(matches!(
        env.inbox.start_handoff(&ann, &new).await,
        Err(ChatError::Forbidden(_))
    ));
    let mine = NewHandoff {
        queue: Some("overflow".into()),
        ..new.clone()
    };
    assert!(env.inbox.start_handoff(&ann, &mine).await.is_ok());
    let bad = NewHandoff {
        phone: Some("0612".into()),
        ..new.clone()
    };
    assert!(matches!(
        env.inbox.start_handoff(&boss, &bad).await,
        Err(ChatError::Invalid(_))
    ));
    let bad = NewHandoff {
        metadata: Some(serde_json::json!([1])),
        ..new.clone()
    };
    assert!(matches!(
        env.inbox.start_handoff(&boss, &bad).await,
        Err(ChatError::Invalid(_))
    ));
    let bad = NewHandoff {
        account: Some("nope".into()),
        ..new
    };
    assert!(matches!(
        env.inbox.start_handoff(&boss, &bad).await,
        Err(ChatError::Invalid(_))
    ));
}

async fn sessions_and_api_tokens(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let s = env
        .inbox
        .create_session(ann.agent_id, 3600 * S)
        .await
        .unwrap();
    let live = env.inbox.session(&s.token).await.unwrap().unwrap();
    assert_eq!(
        (live.viewer.agent_id, live.csrf.clone()),
        (ann.agent_id, s.csrf.clone())
    );
    assert!(env.inbox.session("not-a-session").await.unwrap().is_none());
    env.clock.advance(3601 * S);
    assert!(
        env.inbox.session(&s.token).await.unwrap().is_none(),
        "expired"
    );
    let s = env
        .inbox
        .create_session(ann.agent_id, 3600 * S)
        .await
        .unwrap();
    env.inbox.set_disabled(ann.agent_id, true).await.unwrap();
    assert!(
        env.inbox.session(&s.token).await.unwrap().is_none(),
        "disabled"
    );
    env.inbox.set_disabled(ann.agent_id, false).await.unwrap();
    assert!(env.inbox.session(&s.token).await.unwrap().is_some());
    env.inbox.end_session(&s.token).await.unwrap();
    assert!(
        env.inbox.session(&s.token).await.unwrap().is_none(),
        "logged out"
    );

    let admin = env.admin("root").await;
    assert!(matches!(
        env.inbox.create_api_token(&ann, ann.agent_id, "mine").await,
        Err(ChatError::Forbidden(_))
    ));
    let (t, secret) = env
        .inbox
        .create_api_token(&admin, ann.agent_id, "CRM")
        .await
        .unwrap();
    assert!(secret.starts_with("dfk_") && secret.len() > 30);
    let (agent, viewer) = env.inbox.api_token_agent(&secret).await.unwrap().unwrap();
    assert_eq!(
        (agent.id, viewer.queues.clone()),
        (ann.agent_id, vec!["support".to_string()])
    );
    let listed = env.inbox.api_tokens(&admin).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(T0 + 3_601_000));
    assert!(
        env.inbox
            .api_token_agent("dfk_wrong")
            .await
            .unwrap()
            .is_none()
    );
    env.inbox.revoke_api_token(&admin, t.id).await.unwrap();
    assert!(
        env.inbox.api_token_agent(&secret).await.unwrap().is_none(),
        "revoked"
    );
    assert!(matches!(
        env.inbox.revoke_api_token(&admin, t.id).await,
        Err(ChatError::NotFound(_))
    ));
}

async fn canned_answers_by_account_with_placeholders(b: Backend) {
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let ann = env.agent("ann", &["support"]).await;
    env.inbox
        .set_memberships(ann.agent_id, &["support".into()], &["sandbox".into()])
        .await
        .unwrap();
    let ann = env.inbox.viewer(ann.agent_id).await.unwrap();
    let global = NewCannedAnswer {
        account: None,
        title: "Greeting".into(),
        body: "Hello {{customer_name}}, I am {{agent_name}} (ref {{reference}}).".into(),
    };
    assert!(matches!(
        env.inbox.create_canned_answer(&ann, &global).await,
        Err(ChatError::Forbidden(_))
    ));
    let g = env
        .inbox
        .create_canned_answer(&boss, &global)
        .await
        .unwrap();
    let meta_only = NewCannedAnswer {
        account: Some("meta".into()),
        title: "Meta".into(),
        body: "Meta text".into(),
    };
    env.inbox
        .create_canned_answer(&boss, &meta_only)
        .await
        .unwrap();
    let bad = NewCannedAnswer {
        body: "{{password}}".into(),
        ..global.clone()
    };
    assert!(matches!(
        env.inbox.create_canned_answer(&boss, &bad).await,
        Err(ChatError::Invalid(m)) if m.contains("unknown variable {{password}}")
    ));
    let unclosed = NewCannedAnswer {
        body: "Hello {{customer_name".into(),
        ..global.clone()
    };
    assert!(matches!(
        env.inbox.create_canned_answer(&boss, &unclosed).await,
        Err(ChatError::Invalid(m)) if m.contains("syntax error")
    ));
    // Ann works the sandbox account only: she sees the global answer, not Meta's.
    let titles: Vec<String> = env
        .inbox
        .canned_answers(&ann, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.title)
        .collect();
    assert_eq!(titles, vec!["Greeting"]);
    assert_eq!(
        env.inbox.canned_answers(&boss, None).await.unwrap().len(),
        2
    );
    let c = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    env.inbox.accept_offer(ann.agent_id, c.id).await.unwrap();
    let text = env
        .inbox
        .render_canned_answer(&ann, g.id, c.id)
        .await
        .unwrap();
    assert_eq!(text, format!("Hello Ann, I am ann (ref {}).", c.reference));
    let changed = NewCannedAnswer {
        title: "Hi".into(),
        ..global
    };
    assert_eq!(
        env.inbox
            .update_canned_answer(&boss, g.id, &changed)
            .await
            .unwrap()
            .title,
        "Hi"
    );
    env.inbox.delete_canned_answer(&boss, g.id).await.unwrap();
    assert!(matches!(
        env.inbox.render_canned_answer(&ann, g.id, c.id).await,
        Err(ChatError::NotFound(_))
    ));
}

async fn the_board_counts_queues_and_agents(b: Backend) {
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let ann = env.agent("ann", &["support"]).await;
    assert!(matches!(
        env.inbox.board(&ann).await,
        Err(ChatError::Forbidden(_))
    ));
    for i in 0..3 {
        env.inbox
            .start_web_conversation(&web("www", &format!("visitor-token-{i:020}"), None))
            .await
            .unwrap();
        env.clock.advance(S);
    }
    let board = env.inbox.board(&boss).await.unwrap();
    let support = board.queues.iter().find(|q| q.name == "support").unwrap();
    // Ann's capacity is 2: two offered to her, one waiting since T0 + 2 s.
    assert_eq!(
        (support.waiting, support.offered, support.assigned),
        (1, 2, 0)
    );
    assert_eq!(support.oldest_waiting_since, Some(T0 + 2_000));
    let a = board.agents.iter().find(|a| a.id == ann.agent_id).unwrap();
    assert_eq!(
        (a.load, a.capacity, a.queues.clone()),
        (2, 2, vec!["support".to_string()])
    );
    // Time in state: since Ann's presence last changed (the same presence again keeps it).
    assert_eq!(a.presence_since, Some(T0), "available since she started");
    env.clock.advance(S * 60);
    env.inbox
        .set_presence(ann.agent_id, deflect_chat::Presence::Available)
        .await
        .unwrap();
    let board = env.inbox.board(&boss).await.unwrap();
    let a = board.agents.iter().find(|a| a.id == ann.agent_id).unwrap();
    assert_eq!(a.presence_since, Some(T0));
    env.inbox
        .set_presence(ann.agent_id, deflect_chat::Presence::Away)
        .await
        .unwrap();
    let board = env.inbox.board(&boss).await.unwrap();
    let a = board.agents.iter().find(|a| a.id == ann.agent_id).unwrap();
    assert_eq!(a.presence_since, Some(T0 + 63_000), "away since now");
}

async fn outgoing_webhooks_are_signed_ordered_and_retried(b: Backend) {
    let api = FakeProvider::start().await;
    let mut s = settings(None);
    s.webhooks = vec![WebhookConfig {
        name: "crm".into(),
        url: Some(format!("http://{}/hooks", api.addr).parse().unwrap()),
        signing_secret: Some(Secret::new("0123456789abcdef")),
        events: vec![
            "conversation.created".into(),
            "message.received".into(),
            "message.sent".into(),
        ],
        max_attempts: 3,
        timeout: 5 * S,
    }];
    let env = Env::with(b, s).await;
    let ann = env.agent("ann", &["support"]).await;
    let c = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    env.inbox
        .web_visitor_message(TOKEN, c.id, "one", None)
        .await
        .unwrap();
    env.inbox.accept_offer(ann.agent_id, c.id).await.unwrap();
    env.inbox
        .add_note(&ann, c.id, "internal only")
        .await
        .unwrap();
    env.inbox.send_text(&ann, c.id, "two", None).await.unwrap();
    // The endpoint fails once: nothing later of that conversation overtakes the failure.
    api.respond(500, "{}");
    let pass = env.inbox.send_due_hooks().await.unwrap();
    assert_eq!((pass.delivered, pass.retried), (0, 1));
    assert_eq!(
        env.inbox.send_due_hooks().await.unwrap(),
        deflect_chat::HookPass::default()
    );
    env.clock.advance(S);
    let mut types = Vec::new();
    loop {
        let p = env.inbox.send_due_hooks().await.unwrap();
        if p == deflect_chat::HookPass::default() {
            break;
        }
    }
    for r in api.requests().iter().skip(1) {
        assert_eq!(r.path, "/hooks");
        let sig = r.headers["x-deflect-signature"].to_str().unwrap();
        assert!(deflect_chat::hooks::verify_signature(
            "0123456789abcdef",
            sig,
            &r.body,
            T0 / 1000 + 1,
            300
        ));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(r.headers["x-deflect-event"].to_str().unwrap(), body["type"]);
        assert_eq!(body["conversation_id"], c.id);
        types.push(body["type"].as_str().unwrap().to_string());
    }
    assert_eq!(
        types,
        vec!["conversation.created", "message.received", "message.sent"],
        "in order, no note"
    );
    // An endpoint that keeps failing: given up after max_attempts; later events still go.
    for _ in 0..3 {
        api.respond(503, "{}");
    }
    env.inbox
        .web_visitor_message(TOKEN, c.id, "three", None)
        .await
        .unwrap();
    for _ in 0..3 {
        env.inbox.send_due_hooks().await.unwrap();
        env.clock.advance(10 * S);
    }
    let depth = env.inbox.hook_depth().await.unwrap();
    assert_eq!(depth.get(&("crm".into(), "dead".into())), Some(&1));
    assert_eq!(depth.get(&("crm".into(), "done".into())), Some(&3));
}

/// Every delivery the fake endpoint server got, as (path, webhook type), in order.
fn posted(api: &FakeProvider) -> Vec<(String, String)> {
    (api.requests().iter())
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            (r.path.clone(), body["type"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Sends every delivery due until none is left.
async fn send_all_hooks(inbox: &deflect_chat::Inbox) {
    while inbox.send_due_hooks().await.unwrap() != deflect_chat::HookPass::default() {}
}

/// Endpoints admins add beside `[[http.webhooks]]` get the next event's deliveries at once —
/// written by another process on the same database too — and none once disabled or deleted
/// (what was still waiting is given up, never posted). Configured endpoints are listed
/// read-only and keep their names; no answer carries a signing secret.
async fn webhook_endpoints_added_by_admins_count_at_once(b: Backend) {
    let api = FakeProvider::start().await;
    let mut s = settings(None);
    s.webhooks = vec![WebhookConfig {
        name: "crm".into(),
        url: Some(format!("http://{}/crm", api.addr).parse().unwrap()),
        signing_secret: Some(Secret::new("0123456789abcdef")),
        events: vec!["conversation.created".into()],
        max_attempts: 3,
        timeout: 5 * S,
    }];
    let env = Env::with(b, s).await;
    // Another process, opened before the endpoint is added.
    let other = env.another().await;
    let admin = env.admin("root").await;
    let sup = env.supervisor().await;
    let inbox = &env.inbox;
    let ops = NewWebhookEndpoint {
        name: "ops".into(),
        url: format!("http://{}/ops", api.addr),
        signing_secret: Secret::new("ops-secret-0123456789"),
        events: vec!["conversation.created".into(), "message.received".into()],
        ..NewWebhookEndpoint::default()
    };

    // Admins only; the configuration's names are taken; each refused field is named.
    let r = inbox.add_webhook(&sup, &ops).await;
    assert!(matches!(r, Err(ChatError::Forbidden(_))), "{r:?}");
    assert!(matches!(
        inbox.webhooks(&sup).await,
        Err(ChatError::Forbidden(_))
    ));
    let taken = NewWebhookEndpoint {
        name: "crm".into(),
        ..ops.clone()
    };
    let r = inbox.add_webhook(&admin, &taken).await;
    assert!(
        matches!(&r, Err(ChatError::Conflict(m)) if m.contains("configuration")),
        "{r:?}"
    );
    for (bad, field) in [
        (
            NewWebhookEndpoint {
                url: "ftp://example.com/x".into(),
                ..ops.clone()
            },
            "url:",
        ),
        (
            NewWebhookEndpoint {
                signing_secret: Secret::new("short"),
                ..ops.clone()
            },
            "signing_secret:",
        ),
        (
            NewWebhookEndpoint {
                events: vec!["message.eaten".into()],
                ..ops.clone()
            },
            "events[0]:",
        ),
        (
            NewWebhookEndpoint {
                timeout_seconds: Some(0),
                ..ops.clone()
            },
            "timeout_seconds:",
        ),
        (
            NewWebhookEndpoint {
                max_attempts: Some(-1),
                ..ops.clone()
            },
            "max_attempts:",
        ),
        (
            NewWebhookEndpoint {
                name: "Not A Name".into(),
                ..ops.clone()
            },
            "name:",
        ),
    ] {
        let r = inbox.add_webhook(&admin, &bad).await;
        assert!(
            matches!(&r, Err(ChatError::Invalid(m)) if m.starts_with(field)),
            "{field} {r:?}"
        );
    }
    let r = inbox
        .add_webhook(
            &admin,
            &NewWebhookEndpoint {
                events: vec!["message.eaten".into()],
                ..ops.clone()
            },
        )
        .await;
    assert!(
        matches!(&r, Err(ChatError::Invalid(m)) if m.contains("conversation.created")),
        "the valid values: {r:?}"
    );

    let added = inbox.add_webhook(&admin, &ops).await.unwrap();
    assert_eq!(
        (
            added.enabled,
            added.secret_set,
            added.max_attempts,
            added.timeout_seconds
        ),
        (true, true, 12, 10)
    );
    let r = inbox.add_webhook(&admin, &ops).await;
    assert!(matches!(r, Err(ChatError::Conflict(_))), "{r:?}");
    let list = inbox.webhooks(&admin).await.unwrap();
    let seen: Vec<_> = (list.iter())
        .map(|e| (e.name.as_str(), e.source, e.key.as_deref(), e.id))
        .collect();
    assert_eq!(
        seen,
        [
            ("crm", ListSource::Config, Some("http.webhooks[0]"), None),
            ("ops", ListSource::Api, None, added.id),
        ]
    );
    let json = serde_json::to_string(&list).unwrap();
    assert!(!json.contains("0123456789abcdef") && !json.contains("ops-secret"));

    // The other process writes the next event's deliveries for both endpoints.
    let c = other
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    other
        .web_visitor_message(TOKEN, c.id, "one", None)
        .await
        .unwrap();
    send_all_hooks(inbox).await;
    let mut got = posted(&api);
    got.sort();
    let pair = |p: &str, t: &str| (p.to_string(), t.to_string());
    assert_eq!(
        got,
        [
            pair("/crm", "conversation.created"),
            pair("/ops", "conversation.created"),
            pair("/ops", "message.received"),
        ]
    );
    let ops_request = api
        .requests()
        .into_iter()
        .find(|r| r.path == "/ops")
        .unwrap();
    let sig = ops_request.headers["x-deflect-signature"].to_str().unwrap();
    assert!(deflect_chat::hooks::verify_signature(
        "ops-secret-0123456789",
        sig,
        &ops_request.body,
        T0 / 1000,
        300
    ));

    // Disabled (by name): what waits is given up, the next event has no delivery for it.
    inbox
        .web_visitor_message(TOKEN, c.id, "two", None)
        .await
        .unwrap();
    let off = WebhookEndpointChange {
        enabled: Some(false),
        ..WebhookEndpointChange::default()
    };
    let changed = inbox.update_webhook(&admin, "ops", &off).await.unwrap();
    assert!(!changed.enabled && changed.secret_set);
    other
        .web_visitor_message(TOKEN, c.id, "three", None)
        .await
        .unwrap();
    send_all_hooks(&other).await;
    assert_eq!(
        posted(&api).len(),
        3,
        "nothing posted to a disabled endpoint"
    );
    let depth = inbox.hook_depth().await.unwrap();
    assert_eq!(depth.get(&("ops".into(), "dead".into())), Some(&1));
    assert_eq!(depth.get(&("ops".into(), "done".into())), Some(&2));
    assert_eq!(depth.get(&("ops".into(), "pending".into())), None);

    // Enabled again with a new secret (by id): deliveries signed with it.
    let id = added.id.unwrap().to_string();
    let on = WebhookEndpointChange {
        enabled: Some(true),
        signing_secret: Some(Secret::new("a-newer-secret-0123")),
        ..WebhookEndpointChange::default()
    };
    inbox.update_webhook(&admin, &id, &on).await.unwrap();
    other
        .web_visitor_message(TOKEN, c.id, "four", None)
        .await
        .unwrap();
    send_all_hooks(inbox).await;
    let last = api.requests().pop().unwrap();
    assert_eq!(last.path, "/ops");
    let sig = last.headers["x-deflect-signature"].to_str().unwrap();
    assert!(deflect_chat::hooks::verify_signature(
        "a-newer-secret-0123",
        sig,
        &last.body,
        T0 / 1000,
        300
    ));

    // Renamed: what waits moves with it.
    other
        .web_visitor_message(TOKEN, c.id, "4b", None)
        .await
        .unwrap();
    let rename = WebhookEndpointChange {
        name: Some("ops-2".into()),
        ..WebhookEndpointChange::default()
    };
    let renamed = inbox.update_webhook(&admin, "ops", &rename).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.id), ("ops-2", added.id));
    send_all_hooks(&other).await;
    assert_eq!(posted(&api).len(), 5);
    let depth = inbox.hook_depth().await.unwrap();
    assert_eq!(depth.get(&("ops-2".into(), "done".into())), Some(&1));

    // Deleted: what waits is given up; later events have no delivery for it.
    inbox
        .web_visitor_message(TOKEN, c.id, "five", None)
        .await
        .unwrap();
    inbox.delete_webhook(&admin, &id).await.unwrap();
    other
        .web_visitor_message(TOKEN, c.id, "six", None)
        .await
        .unwrap();
    send_all_hooks(&other).await;
    assert_eq!(
        posted(&api).len(),
        5,
        "nothing posted to a deleted endpoint"
    );
    let depth = inbox.hook_depth().await.unwrap();
    assert_eq!(depth.get(&("ops-2".into(), "dead".into())), Some(&1));
    let r = inbox.delete_webhook(&admin, &id).await;
    assert!(matches!(r, Err(ChatError::NotFound(_))), "{r:?}");
    assert_eq!(inbox.webhooks(&admin).await.unwrap().len(), 1);

    // The configured endpoint is changed in the file only.
    let r = inbox.update_webhook(&admin, "crm", &on).await;
    assert!(
        matches!(&r, Err(ChatError::Conflict(m)) if m.contains("configuration file")),
        "{r:?}"
    );
    let r = inbox.delete_webhook(&admin, "crm").await;
    assert!(
        matches!(&r, Err(ChatError::Conflict(m)) if m.contains("configuration file")),
        "{r:?}"
    );
    other.shutdown();
}

/// With no endpoint configured the webhook worker still runs (idle until an event writes a
/// delivery): an endpoint added later gets the next event without a restart.
async fn the_webhook_worker_serves_endpoints_added_after_the_start(b: Backend) {
    let api = FakeProvider::start().await;
    let env = Env::new(b).await;
    let admin = env.admin("root").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let inbox = env.inbox.clone();
    let worker = tokio::spawn(async move {
        inbox
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    let new = NewWebhookEndpoint {
        name: "late".into(),
        url: format!("http://{}/late", api.addr),
        signing_secret: Secret::new("late-secret-0123456789"),
        events: vec!["conversation.created".into()],
        ..NewWebhookEndpoint::default()
    };
    env.inbox.add_webhook(&admin, &new).await.unwrap();
    env.inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    let got = api.wait_for(1).await;
    assert_eq!(got[0].path, "/late");
    let _ = stop.send(());
    worker.await.unwrap();
}

async fn typing_reaches_subscribers_without_being_logged(b: Backend) {
    let env = Env::new(b).await;
    let c = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    let mut feed = env.inbox.subscribe(None).await.unwrap();
    env.inbox.typing(c.id, Some(1)).await.unwrap();
    let e = next_of(&mut feed, EventKind::Typing).await;
    assert_eq!(
        (e.id, &e.kind, e.conversation_id),
        (0, &EventKind::Typing, Some(c.id))
    );
    assert_eq!(
        deflect_chat::webchat::visitor_event(&e).unwrap().kind,
        VisitorEventKind::Typing
    );
    env.inbox.typing(c.id, None).await.unwrap();
    let e = next_of(&mut feed, EventKind::Typing).await;
    assert!(
        deflect_chat::webchat::visitor_event(&e).is_none(),
        "visitors are not told of their own typing"
    );
    assert!(
        env.inbox
            .conversation_events(c.id, 0, 100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.kind != EventKind::Typing)
    );
}

async fn a_web_chat_an_agent_answered_ends_with_a_rating_and_a_comment(b: Backend) {
    let mut settings = settings(None);
    settings.inbox.automations.csat = true;
    settings.inbox.automations.csat_question = "How did {{customer_name}} find it?".into();
    let env = Env::with(b, settings).await;
    let ann = env.agent("ann", &["support"]).await;
    let c = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    env.inbox
        .web_visitor_message(TOKEN, c.id, "hello", None)
        .await
        .unwrap();
    env.inbox.accept_offer(ann.agent_id, c.id).await.unwrap();
    // Not rated before it ends.
    assert!(matches!(
        env.inbox.web_rating(TOKEN, c.id, Some(5), None).await,
        Err(ChatError::Conflict(_))
    ));
    env.inbox
        .send_text(&ann, c.id, "Hi Ann", None)
        .await
        .unwrap();
    env.inbox.close(&ann, c.id, Some("resolved")).await.unwrap();
    let events = env.inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let closed = events
        .iter()
        .find(|e| e.kind == EventKind::ConversationClosed)
        .unwrap();
    let seen = deflect_chat::webchat::visitor_event(closed).unwrap();
    assert_eq!(seen.kind, VisitorEventKind::Closed);
    assert_eq!(
        seen.data,
        serde_json::json!({"csat": {"question": "How did Ann find it?", "answers": [
            {"score": 5, "title": "Good"}, {"score": 3, "title": "Neutral"}, {"score": 1, "title": "Bad"}]}})
    );
    // A comment needs a score first; a score is 1–5; another visitor reaches nothing.
    assert!(matches!(
        env.inbox.web_rating(TOKEN, c.id, None, Some("nice")).await,
        Err(ChatError::Conflict(_))
    ));
    assert!(matches!(
        env.inbox.web_rating(TOKEN, c.id, Some(9), None).await,
        Err(ChatError::Invalid(_))
    ));
    assert!(matches!(
        env.inbox
            .web_rating("another-visitor-token-000", c.id, Some(5), None)
            .await,
        Err(ChatError::NotFound(_))
    ));
    let follow_up = env
        .inbox
        .web_rating(TOKEN, c.id, Some(5), None)
        .await
        .unwrap();
    assert_eq!(
        follow_up.as_deref(),
        Some("Thank you! Anything you would like to tell us?")
    );
    assert!(matches!(
        env.inbox.web_rating(TOKEN, c.id, Some(1), None).await,
        Err(ChatError::Conflict(_))
    ));
    assert_eq!(
        env.inbox
            .web_rating(TOKEN, c.id, None, Some(" Very kind "))
            .await
            .unwrap(),
        None
    );
    let rated = env.inbox.web_conversation(TOKEN, c.id).await.unwrap();
    assert_eq!(
        (rated.csat_score, rated.csat_comment.as_deref()),
        (Some(5), Some("Very kind"))
    );
    let events = env.inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let rated: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::ConversationRated)
        .map(|e| e.data["comment"].clone())
        .collect();
    assert_eq!(
        rated,
        [serde_json::Value::Null, serde_json::json!("Very kind")],
        "the score, then the score with the comment"
    );

    // A chat nobody answered ends without a rating.
    let other = "visitor-token-abcdef0123456789";
    let quiet = env
        .inbox
        .start_web_conversation(&web("www", other, None))
        .await
        .unwrap();
    env.inbox
        .close(&ann, quiet.id, Some("resolved"))
        .await
        .unwrap();
    let events = env
        .inbox
        .conversation_events(quiet.id, 0, 100)
        .await
        .unwrap();
    let closed = events
        .iter()
        .find(|e| e.kind == EventKind::ConversationClosed)
        .unwrap();
    assert_eq!(
        deflect_chat::webchat::visitor_event(closed).unwrap().data,
        serde_json::json!({})
    );
}

/// A relay's tap on a quick reply, as a provider delivers it.
fn tap(id: &str, from: &str, payload: &str) -> deflect_chat::provider::Inbound {
    let deflect_chat::provider::Inbound::Message(mut m) = text(id, from, "Tapped") else {
        unreachable!()
    };
    m.kind = "button".into();
    m.button_payload = Some(payload.into());
    deflect_chat::provider::Inbound::Message(m)
}

/// The `conversation.relay` states of conversation `id` so far, with the agent each names.
async fn relay_states(env: &Env, id: i64) -> Vec<(String, String)> {
    let events = env.inbox.conversation_events(id, 0, 200).await.unwrap();
    (events.iter())
        .filter(|e| e.kind == EventKind::ConversationRelay)
        .map(|e| {
            let name = e.data["agent"]["name"].as_str().unwrap_or("").to_string();
            (e.data["state"].as_str().unwrap().to_string(), name)
        })
        .collect()
}

/// The messages relayed to the agent of conversation `id` (internal, kind `relay`) whose text
/// has `needle`.
async fn relayed(env: &Env, id: i64, needle: &str) -> Vec<deflect_chat::Message> {
    let all = env.inbox.messages_unchecked(id, None, 100).await.unwrap();
    (all.into_iter())
        .filter(|m| m.kind == "relay" && m.direction == deflect_chat::Direction::Out)
        .filter(|m| m.body.as_deref().is_some_and(|b| b.contains(needle)))
        .collect()
}

async fn relay_offers_lapse_in_turn_and_an_idle_relay_closes(b: Backend) {
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let zoe = RelayAgent {
        name: "Zoe".into(),
        number: "+31611111111".into(),
    };
    let max = RelayAgent {
        name: "Max".into(),
        number: "+31622222222".into(),
    };
    let new = NewHandoff {
        name: Some("Bob".into()),
        ttl: 3600 * S,
        agents: vec![zoe.clone(), max],
        ..Default::default()
    };
    let (c, h) = env.inbox.start_handoff(&boss, &new).await.unwrap();
    assert_eq!((c.status, c.origin), (Status::Pending, Origin::Relay));
    let status = |id| {
        let inbox = &env.inbox;
        async move { inbox.conversation_unchecked(id).await.unwrap().conversation }
    };
    env.inbox
        .receive("sandbox", &[text("wa1", "31687654321", &h.text)])
        .await
        .unwrap();
    assert_eq!(status(c.id).await.status, Status::Relay);
    let state = |s: &str, a: &str| (s.to_string(), a.to_string());
    assert_eq!(relay_states(&env, c.id).await, [state("offered", "Zoe")]);
    // Zoe answers the offer with words instead of a tap: she is told how to accept.
    let r = env
        .inbox
        .receive("sandbox", &[text("wa0", "31611111111", "yes ok")])
        .await;
    assert_eq!(r.unwrap().conversations, [c.id]);
    assert_eq!(
        relayed(&env, c.id, "Tap Accept to chat with Bob")
            .await
            .len(),
        1
    );
    assert_eq!(relay_states(&env, c.id).await.len(), 1);
    // A photo she sends before accepting is kept as a line, not fetched, never passed on.
    let deflect_chat::provider::Inbound::Message(mut photo) =
        text("wa0p", "31611111111", "[image]")
    else {
        unreachable!()
    };
    photo.kind = "image".into();
    photo.media = vec![deflect_chat::provider::InboundMedia {
        kind: deflect_config::MediaKind::Image,
        source: deflect_chat::provider::MediaSource::Url("http://127.0.0.1:9/photo.jpg".into()),
        declared_mime: Some("image/jpeg".into()),
        filename: None,
        caption: None,
    }];
    let photo = deflect_chat::provider::Inbound::Message(photo);
    env.inbox.receive("sandbox", &[photo]).await.unwrap();
    let kept = env.inbox.messages_unchecked(c.id, None, 100).await.unwrap();
    let kept = kept
        .iter()
        .find(|m| m.body.as_deref() == Some("[image]"))
        .unwrap();
    assert!(kept.attachments.is_empty(), "{kept:?}");
    // The offer lapses after `offer_timeout` (2 minutes), not before: Max is offered it.
    env.advance(119 * S).await;
    assert_eq!(relay_states(&env, c.id).await.len(), 1);
    env.advance(S).await;
    assert_eq!(
        relay_states(&env, c.id).await,
        [
            state("offered", "Zoe"),
            state("expired", "Zoe"),
            state("offered", "Max")
        ]
    );
    // Zoe's late accept changes nothing; she is told.
    let late = format!("relay:accept:{}", c.reference);
    env.inbox
        .receive("sandbox", &[tap("wa2", "31611111111", &late)])
        .await
        .unwrap();
    assert_eq!(relay_states(&env, c.id).await.len(), 3);
    let messages = env.inbox.messages_unchecked(c.id, None, 100).await.unwrap();
    assert!(
        (messages.iter()).any(|m| m.kind == "relay"
            && m.internal
            && m.body
                .as_deref()
                .is_some_and(|b| b.contains("no longer offered"))),
        "{messages:?}"
    );
    // Nobody left: the customer is told, and the conversation queues for the inbox.
    env.advance(120 * S).await;
    let states = relay_states(&env, c.id).await;
    assert_eq!(
        states[3..],
        [state("expired", "Max"), state("unanswered", "")]
    );
    assert_eq!(status(c.id).await.status, Status::Queued);

    // Accepted, then nobody writes for `inactivity_close` (a day): it closes.
    let again = NewHandoff {
        agents: vec![zoe],
        ..new
    };
    let (c, h) = env.inbox.start_handoff(&boss, &again).await.unwrap();
    env.inbox
        .receive("sandbox", &[text("wa3", "31655555555", &h.text)])
        .await
        .unwrap();
    let accept = format!("relay:accept:{}", c.reference);
    env.inbox
        .receive("sandbox", &[tap("wa4", "31611111111", &accept)])
        .await
        .unwrap();
    assert_eq!(relay_states(&env, c.id).await[1], state("accepted", "Zoe"));
    // The agent's side has its own window: a copy refused for it (131047) sends the
    // recontact template once; the agent's tap on it sends the copy again.
    let r = env
        .inbox
        .receive("sandbox", &[text("wa6", "31655555555", "Still there?")])
        .await;
    r.unwrap();
    env.inbox.send_due().await.unwrap();
    let copy = relayed(&env, c.id, "Still there?").await.remove(0);
    let refused = |n: &str| {
        deflect_chat::provider::Inbound::Status(deflect_chat::provider::StatusUpdate {
            external_id: copy.external_id.clone().unwrap(),
            correlation: None,
            status: deflect_chat::DeliveryStatus::Failed,
            timestamp: 0,
            error_code: Some(131047),
            error_title: Some(format!("Re-engagement message {n}")),
        })
    };
    env.inbox.receive("sandbox", &[refused("1")]).await.unwrap();
    assert_eq!(relayed(&env, c.id, "deflect_recontact").await.len(), 1);
    env.inbox.receive("sandbox", &[refused("2")]).await.unwrap();
    assert_eq!(
        relayed(&env, c.id, "deflect_recontact").await.len(),
        1,
        "once per closed window"
    );
    let reopen = format!("deflect:{}", c.reference);
    env.inbox
        .receive("sandbox", &[tap("wa7", "31611111111", &reopen)])
        .await
        .unwrap();
    assert_eq!(
        relayed(&env, c.id, "Still there?").await.len(),
        2,
        "sent again once"
    );
    assert!(relayed(&env, c.id, "Only text").await.is_empty());
    let c2 = env
        .inbox
        .conversation_unchecked(c.id)
        .await
        .unwrap()
        .conversation;
    assert!(
        !c2.unreachable,
        "the agent's window says nothing of the customer"
    );
    env.advance(24 * 3600 * S - S).await;
    assert_eq!(status(c.id).await.status, Status::Relay);
    env.advance(S).await;
    let closed = status(c.id).await;
    assert_eq!(
        (closed.status, closed.disposition.as_deref()),
        (Status::Closed, Some(deflect_chat::timers::INACTIVE))
    );
    // A supervisor closing a relayed conversation in the inbox tells its agent; it ends.
    let (c, h) = env.inbox.start_handoff(&boss, &again).await.unwrap();
    env.inbox
        .receive("sandbox", &[text("wa8", "31644444444", &h.text)])
        .await
        .unwrap();
    let accept = format!("relay:accept:{}", c.reference);
    env.inbox
        .receive("sandbox", &[tap("wa9", "31611111111", &accept)])
        .await
        .unwrap();
    env.inbox
        .close(&boss, c.id, Some("resolved"))
        .await
        .unwrap();
    assert_eq!(relayed(&env, c.id, "closed by the team").await.len(), 1);
    assert_eq!(
        relay_states(&env, c.id).await.last(),
        Some(&state("ended", "Zoe"))
    );
    // An agent's number writing with no chat of theirs opens nothing.
    let r = env
        .inbox
        .receive("sandbox", &[text("wa5", "31611111111", "hello?")])
        .await
        .unwrap();
    assert!(r.conversations.is_empty(), "{r:?}");
}

async fn a_relaying_queue_relays_customers_who_write_until_nobody_accepts(b: Backend) {
    let mut settings = settings(None);
    settings.inbox.queues[0].relay_agents = vec![RelayAgent {
        name: "Zoe".into(),
        number: "+31611111111".into(),
    }];
    settings.inbox.relay.accounts = vec!["sandbox".into(), "meta".into()];
    let env = Env::with(b, settings).await;
    let state = |s: &str, a: &str| (s.to_string(), a.to_string());
    let status = |id| {
        let inbox = &env.inbox;
        async move { inbox.conversation_unchecked(id).await.unwrap().conversation }
    };
    // A customer writes: the queue relays the conversation to Zoe instead of queuing it.
    let r = env
        .inbox
        .receive("sandbox", &[text("q1", "31687654321", "My order is late")])
        .await
        .unwrap();
    let id = r.conversations[0];
    let c = status(id).await;
    assert_eq!((c.status, c.queue.as_str()), (Status::Relay, "support"));
    assert_eq!(relay_states(&env, id).await, [state("offered", "Zoe")]);
    assert_eq!(
        relayed(&env, id, "wants to chat").await.len(),
        1,
        "Zoe got the offer template"
    );
    // Zoe rejects: nobody is left, so it waits in its queue for the inbox's agents — and
    // stays there when the customer writes again.
    let reject = format!("relay:reject:{}", c.reference);
    env.inbox
        .receive("sandbox", &[tap("q2", "31611111111", &reject)])
        .await
        .unwrap();
    let states = [
        state("offered", "Zoe"),
        state("rejected", "Zoe"),
        state("unanswered", ""),
    ];
    assert_eq!(relay_states(&env, id).await, states);
    assert_eq!(status(id).await.status, Status::Queued);
    env.inbox
        .receive("sandbox", &[text("q3", "31687654321", "Hello?")])
        .await
        .unwrap();
    assert_eq!(relay_states(&env, id).await, states);
    assert_eq!(status(id).await.status, Status::Queued);
    // An inbox agent of the queue is offered it as any other, and takes it.
    let ann = env.agent("ann", &["support"]).await;
    assert_eq!(status(id).await.status, Status::Offered);
    env.inbox.accept_offer(ann.agent_id, id).await.unwrap();
    assert_eq!(status(id).await.status, Status::Assigned);

    // An API relay naming no account goes through an account of `[inbox.relay] accounts`
    // in the customer's country (sandbox: +1, meta: +31), else the first agent's.
    let boss = env.supervisor().await;
    let handoff = |phone: Option<&str>| NewHandoff {
        phone: phone.map(str::to_string),
        ttl: 3600 * S,
        agents: vec![RelayAgent {
            name: "Max".into(),
            number: "+31622222222".into(),
        }],
        ..Default::default()
    };
    for (phone, account) in [
        (Some("+14155550123"), "sandbox"),
        (Some("+31612345678"), "meta"),
        (None, "meta"),
    ] {
        let (c, _) = env
            .inbox
            .start_handoff(&boss, &handoff(phone))
            .await
            .unwrap();
        assert_eq!(c.account.as_deref(), Some(account), "{phone:?}");
    }
}

/// Sites on one origin share the visitor's token: a chat still open on one site refuses a
/// second on another (clearly, not as a failure) while the first goes on; once it is
/// closed, the other site's chat starts.
async fn a_visitor_with_an_open_chat_on_another_site_is_told_so(b: Backend) {
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let first = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    let refused = env
        .inbox
        .start_web_conversation(&web("shop", TOKEN, None))
        .await
        .unwrap_err();
    assert!(matches!(refused, ChatError::Conflict(_)), "{refused:?}");
    let again = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "the first site's chat goes on");
    env.inbox
        .close(&boss, first.id, Some("resolved"))
        .await
        .unwrap();
    let second = env
        .inbox
        .start_web_conversation(&web("shop", TOKEN, None))
        .await
        .unwrap();
    assert_eq!(second.site.as_deref(), Some("shop"));
}

/// A widget visitor's call names its conversation; a WhatsApp call finds its caller's open
/// conversation on the account; either leaves the IVR's internal note there, once, as does
/// an agent's call to the customer. A call without a conversation leaves none.
async fn a_call_shows_in_its_conversation_as_the_ivrs_note(b: Backend) {
    use deflect_chat::{CallOutcome, CallRecord};
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let web = env
        .inbox
        .start_web_conversation(&web("www", TOKEN, None))
        .await
        .unwrap();
    env.inbox
        .receive("sandbox", &[text("wa1", "31687654321", "hello")])
        .await
        .unwrap();
    let record = |call_id: &str, trunk: &str, caller: &str| CallRecord {
        call_id: call_id.into(),
        trunk: trunk.into(),
        caller: Some(caller.into()),
        dialled_number: Some("+31201234567".into()),
        flow: Some("default".into()),
        language: Some("en".into()),
        started_at: 1_000,
        answered_at: Some(1_000),
        ended_at: 66_000,
        outcome: CallOutcome::Deflected,
        reason: None,
        input_method: None,
        transcript: None,
        path: Vec::new(),
        callback_number: Some(caller.into()),
        transfer_target: None,
        conversation_id: None,
    };
    let widget = CallRecord {
        conversation_id: Some(web.id),
        outcome: CallOutcome::CallerHungUp,
        ..record("widget-1-aa", "widget:www", "+31611110001")
    };
    env.inbox
        .record_calls(&[widget.clone(), widget])
        .await
        .unwrap();
    let whatsapp = record("wacid.1", "whatsapp:sandbox", "+31687654321");
    env.inbox
        .record_calls(std::slice::from_ref(&whatsapp))
        .await
        .unwrap();
    // Nobody with that number writes on WhatsApp: no conversation, no note.
    let stranger = record("wacid.2", "whatsapp:sandbox", "+31699999999");
    env.inbox
        .record_calls(std::slice::from_ref(&stranger))
        .await
        .unwrap();
    let chat = env
        .inbox
        .list_conversations(&boss, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.contact_phone.as_deref() == Some("+31687654321"))
        .unwrap();
    // An agent's call to that customer, placed from the conversation, not answered.
    let placed = CallRecord {
        caller: Some("+31201234567".into()),
        dialled_number: Some("+31687654321".into()),
        flow: None,
        language: None,
        answered_at: None,
        outcome: CallOutcome::AgentCallUnanswered,
        reason: Some("the customer did not answer".into()),
        callback_number: None,
        conversation_id: Some(chat.id),
        ..record("wacid.3", "whatsapp:sandbox", "+31201234567")
    };
    env.inbox
        .record_calls(std::slice::from_ref(&placed))
        .await
        .unwrap();
    let calls = env
        .inbox
        .list_calls(&boss, &deflect_chat::CallFilter::default())
        .await
        .unwrap();
    let linked: Vec<(&str, Option<i64>)> = (calls.iter())
        .map(|c| (c.record.call_id.as_str(), c.record.conversation_id))
        .collect();
    assert_eq!(
        linked,
        [
            ("wacid.3", Some(chat.id)),
            ("wacid.2", None),
            ("wacid.1", Some(chat.id)),
            ("widget-1-aa", Some(web.id))
        ]
    );
    let notes = |id: i64| {
        let inbox = &env.inbox;
        async move {
            let all = inbox.messages_unchecked(id, None, 100).await.unwrap();
            (all.into_iter())
                .filter(|m| m.internal)
                .map(|m| (m.body.unwrap_or_default(), m.sender_name))
                .collect::<Vec<_>>()
        }
    };
    let ivr = Some("IVR".to_owned());
    assert_eq!(
        notes(web.id).await,
        [(
            "Call from the widget (1:05): caller hung up.".to_owned(),
            ivr.clone()
        )],
        "once, though recorded twice"
    );
    assert_eq!(
        notes(chat.id).await,
        [
            (
                "WhatsApp call (1:05): deflected to +31687654321.".to_owned(),
                ivr.clone()
            ),
            (
                "Call to the customer on WhatsApp (0:00): not answered (the customer did not \
                 answer)."
                    .to_owned(),
                ivr
            )
        ]
    );
}

/// A customer's call permission (their latest `call_permission_reply` on the account) lets
/// an agent call them from that conversation and from their later ones; another customer
/// without one may not be called.
async fn a_call_permission_outlives_its_conversation(b: Backend) {
    let mut settings = settings(None);
    let sandbox = settings.whatsapp.accounts[0].name.clone();
    settings.whatsapp.accounts[0].calling = true;
    let env = Env::with(b, settings).await;
    let boss = env.supervisor().await;
    let write = |id: &str, from: &str| {
        let inbox = &env.inbox;
        let (id, from, sandbox) = (id.to_owned(), from.to_owned(), sandbox.clone());
        async move {
            let hello = text(&id, &from, "hello");
            inbox
                .receive(&sandbox, &[hello])
                .await
                .unwrap()
                .conversations[0]
        }
    };
    let first = write("wa1", "31687654321").await;
    let refused = env.inbox.call_target(&boss, first).await;
    assert!(
        matches!(refused, Err(ChatError::Conflict(_))),
        "{refused:?}"
    );
    let deflect_chat::provider::Inbound::Message(mut reply) = text("wa2", "31687654321", "") else {
        unreachable!()
    };
    reply.kind = "interactive".into();
    reply.interactive = Some(deflect_chat::Interactive::CallPermissionReply {
        response: "accept".into(),
        is_permanent: true,
        expiration_timestamp: None,
    });
    let reply = deflect_chat::provider::Inbound::Message(reply);
    env.inbox.receive(&sandbox, &[reply]).await.unwrap();
    let target = env.inbox.call_target(&boss, first).await.unwrap();
    assert_eq!(
        (target.account.as_str(), target.whatsapp_id.as_str()),
        (sandbox.as_str(), "31687654321")
    );
    env.inbox
        .close(&boss, first, Some("resolved"))
        .await
        .unwrap();
    let second = write("wa3", "31687654321").await;
    assert_ne!(second, first);
    let target = env.inbox.call_target(&boss, second).await.unwrap();
    assert_eq!(target.conversation_id, second);
    let stranger = write("wa4", "31611112222").await;
    let refused = env.inbox.call_target(&boss, stranger).await;
    assert!(
        matches!(refused, Err(ChatError::Conflict(_))),
        "{refused:?}"
    );
}

async fn call_records_are_kept_once_listed_by_filter_and_sent_as_call_finished(b: Backend) {
    use deflect_chat::{CallFilter, CallOutcome, CallRecord};
    let env = Env::new(b).await;
    let boss = env.supervisor().await;
    let record = |call_id: &str, outcome: CallOutcome, started_at: i64| CallRecord {
        call_id: call_id.into(),
        trunk: "carrier-a".into(),
        caller: Some("+31611110001".into()),
        dialled_number: Some("31201234567".into()),
        flow: Some("support".into()),
        language: Some("nl".into()),
        started_at,
        answered_at: Some(started_at + 100),
        ended_at: started_at + 30_000,
        outcome,
        reason: Some("Q.850;cause=16".into()),
        input_method: None,
        transcript: Some("06234".into()),
        path: vec![deflect_config::PathStep {
            step: "number".into(),
            exit: Some("retry 1".into()),
        }],
        callback_number: None,
        transfer_target: Some("sip:agents@pbx.example.com".into()),
        conversation_id: None,
    };
    let hung_up = record("c1", CallOutcome::CallerHungUp, 1_000);
    env.inbox
        .record_calls(std::slice::from_ref(&hung_up))
        .await
        .unwrap();
    // A repeat (the IVR trying again after a lost answer) keeps nothing new; a record
    // with an unusable call id does not stop the others of its batch.
    let unusable = record(&"x".repeat(257), CallOutcome::Rejected, 1_500);
    let rejected = record("c2", CallOutcome::Rejected, 2_000);
    env.inbox
        .record_calls(&[hung_up.clone(), unusable, rejected])
        .await
        .unwrap();
    let all = env
        .inbox
        .list_calls(&boss, &CallFilter::default())
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.record.call_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1"], "newest first, once each");
    assert_eq!(all[1].record, hung_up, "kept as given");
    let only = |f: CallFilter| {
        let inbox = &env.inbox;
        let boss = &boss;
        async move {
            let found = inbox.list_calls(boss, &f).await.unwrap();
            found
                .into_iter()
                .map(|c| c.record.call_id)
                .collect::<Vec<_>>()
        }
    };
    let rejected = CallFilter {
        outcome: Some(CallOutcome::Rejected),
        ..Default::default()
    };
    assert_eq!(only(rejected).await, ["c2"]);
    let early = CallFilter {
        to: Some(2_000),
        ..Default::default()
    };
    assert_eq!(only(early).await, ["c1"]);
    let other_trunk = CallFilter {
        trunk: Some("carrier-b".into()),
        ..Default::default()
    };
    assert!(only(other_trunk).await.is_empty());
    let paged = CallFilter {
        before_id: Some(all[0].id),
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(only(paged).await, ["c1"]);
    // One `call.finished` per kept record; agents may not list them.
    let events = env.inbox.events_after(0, 1000).await.unwrap();
    let finished: Vec<&str> = (events.iter())
        .filter(|e| e.kind == EventKind::CallFinished)
        .map(|e| e.data["call"]["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(finished, ["c1", "c2"]);
    let ann = env.agent("ann", &["support"]).await;
    let refused = env.inbox.list_calls(&ann, &CallFilter::default()).await;
    assert!(
        matches!(refused, Err(ChatError::Forbidden(_))),
        "{refused:?}"
    );
}

async fn a_continue_link_moves_a_deflection_to_one_browser(b: Backend) {
    let key = "continue-link-key-of-32-characters!";
    let mut settings = settings(None);
    settings.attachments.signing_secret = Some(Secret::new(key));
    settings.widget.sites = vec![deflect_config::SiteConfig {
        name: "shop".into(),
        ..Default::default()
    }];
    let env = Env::with(b, settings).await;
    let message = env.deflect("call-continue", "+31687654321").await;
    let id = env.message(message).await.conversation_id;
    let signer = deflect_chat::blobs::LinkSigner::new(key.as_bytes());
    let base = url::Url::parse("https://gw.example.com").unwrap();
    let query = |link: &str| {
        let url = url::Url::parse(link).unwrap();
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .unwrap()
                .1
                .into_owned()
        };
        (q("expires"), q("signature"))
    };
    let kind = deflect_chat::blobs::LinkKind::Continue;
    let now = deflect_chat::clock::Clock::now(&env.clock);
    let (expires, signature) =
        query(&signer.link_to(kind, &base, &id.to_string(), now + 3_600_000));
    let link = (expires.as_str(), signature.as_str());
    // The page's offer spends nothing.
    let offer = env.inbox.continue_offer(id, link.0, link.1).await.unwrap();
    assert_eq!(
        (offer.site.as_str(), offer.whatsapp_url.as_deref()),
        ("shop", Some("https://wa.me/15550100000"))
    );
    let c = env
        .inbox
        .conversation_unchecked(id)
        .await
        .unwrap()
        .conversation;
    assert_eq!((c.channel, c.status), (Channel::Whatsapp, Status::Pending));
    // Another conversation's id, another kind of link, an expired one: refused.
    let other = env.inbox.continue_offer(id + 1, link.0, link.1).await;
    assert!(matches!(other, Err(ChatError::Forbidden(_))), "{other:?}");
    let (old_expires, old_signature) =
        query(&signer.link_to(kind, &base, &id.to_string(), now - 1000));
    let expired = env
        .inbox
        .continue_on_web(id, (&old_expires, &old_signature), TOKEN)
        .await;
    assert!(
        matches!(expired, Err(ChatError::Forbidden(_))),
        "{expired:?}"
    );
    // The first browser takes it; again from it changes nothing; another is refused.
    let (_, c) = env.inbox.continue_on_web(id, link, TOKEN).await.unwrap();
    assert_eq!(
        (c.channel, c.site.as_deref(), c.status),
        (Channel::Web, Some("shop"), Status::Pending)
    );
    env.inbox.continue_on_web(id, link, TOKEN).await.unwrap();
    let second = env
        .inbox
        .continue_on_web(id, link, "another-visitor-token-0123456789")
        .await;
    assert!(matches!(second, Err(ChatError::Conflict(_))), "{second:?}");
    let events = env.inbox.conversation_events(id, 0, 100).await.unwrap();
    let moved = (events.iter())
        .filter(|e| e.kind == EventKind::ConversationChannelChanged)
        .count();
    assert_eq!(moved, 1);
    // The visitor's first message is the answer the deflection waited for: it queues.
    env.inbox
        .web_visitor_message(TOKEN, id, "Hello from the browser", None)
        .await
        .unwrap();
    let c = env
        .inbox
        .conversation_unchecked(id)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.status, Status::Queued);
    let boss = env.supervisor().await;
    env.inbox.close(&boss, id, Some("resolved")).await.unwrap();
    let closed = env.inbox.continue_offer(id, link.0, link.1).await;
    assert!(matches!(closed, Err(ChatError::Conflict(_))), "{closed:?}");
}

on_both!(
    escalation_is_offered_only_without_an_agent,
    outside_opening_hours_whatsapp_is_offered_at_once,
    two_admins_demoting_each_other_at_once_leave_one_admin,
    a_handoff_code_moves_the_chat_to_whatsapp_once,
    api_handoffs_wait_for_the_customer_then_queue,
    sessions_and_api_tokens,
    canned_answers_by_account_with_placeholders,
    the_board_counts_queues_and_agents,
    outgoing_webhooks_are_signed_ordered_and_retried,
    webhook_endpoints_added_by_admins_count_at_once,
    the_webhook_worker_serves_endpoints_added_after_the_start,
    typing_reaches_subscribers_without_being_logged,
    a_web_chat_an_agent_answered_ends_with_a_rating_and_a_comment,
    relay_offers_lapse_in_turn_and_an_idle_relay_closes,
    a_relaying_queue_relays_customers_who_write_until_nobody_accepts,
    call_records_are_kept_once_listed_by_filter_and_sent_as_call_finished,
    a_call_shows_in_its_conversation_as_the_ivrs_note,
    a_call_permission_outlives_its_conversation,
    a_visitor_with_an_open_chat_on_another_site_is_told_so,
    a_continue_link_moves_a_deflection_to_one_browser,
);
