//! The agent's workspace on both databases: what each list row shows (last message, unread
//! count, waiting time, offer deadline), read markers and the views counted.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Env, T0, deflection, text};
use deflect_chat::{
    ChatError, ConversationFilter, ConversationSummary, Direction, EventKind, Preferences, Sender,
    Status, Viewer,
};
use std::time::Duration;

async fn row(env: &Env, viewer: &Viewer, id: i64) -> ConversationSummary {
    env.inbox
        .conversation_summaries(viewer, &ConversationFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.conversation.id == id)
        .unwrap()
}

async fn list_rows_show_the_last_message_unread_and_waiting_time(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let sup = env.supervisor().await;
    let conv = env
        .inbox
        .receive("sandbox", &[text("m1", "31612345678", "hello")])
        .await
        .unwrap()
        .conversations[0];

    // Offered to Ann: the offer's deadline is the offer timeout (10 s) away.
    let r = row(&env, &ann, conv).await;
    assert_eq!(r.conversation.status, Status::Offered);
    assert_eq!(r.offer_expires_at, Some(T0 + 10_000));
    assert_eq!(r.unread, 1);
    assert_eq!(r.waiting_since, Some(T0));
    let last = r.last_message.unwrap();
    assert_eq!(
        (last.direction, last.sender, last.body.as_deref()),
        (Direction::In, Sender::Customer, Some("hello"))
    );

    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    env.advance(Duration::from_secs(5)).await;
    let more = "x".repeat(300);
    env.inbox
        .receive("sandbox", &[text("m2", "31612345678", &more)])
        .await
        .unwrap();
    let r = row(&env, &ann, conv).await;
    assert_eq!(r.offer_expires_at, None, "no longer offered");
    assert_eq!(r.unread, 2);
    assert_eq!(
        r.waiting_since,
        Some(T0),
        "since the first unanswered message"
    );
    let body = r.last_message.unwrap().body.unwrap();
    assert_eq!(body.chars().count(), deflect_chat::PREVIEW_CHARS + 1);
    assert!(body.ends_with('…'));

    // Ann reads up to the first message, then answers; a note is no one's last message.
    let first = env.inbox.messages_unchecked(conv, None, 10).await.unwrap()[0].id;
    assert_eq!(
        env.inbox.mark_read(&ann, conv, Some(first)).await.unwrap(),
        Some(first)
    );
    assert_eq!(row(&env, &ann, conv).await.unread, 1);
    let answer = env
        .inbox
        .send_text(&ann, conv, "How can I help?", None)
        .await
        .unwrap();
    env.inbox.add_note(&ann, conv, "VIP").await.unwrap();
    let r = row(&env, &ann, conv).await;
    assert_eq!(r.waiting_since, None, "answered");
    let last = r.last_message.unwrap();
    assert_eq!((last.id, last.sender), (answer.id, Sender::Agent));

    // Reading everything; an older marker never moves it back.
    let newest = env
        .inbox
        .mark_read(&ann, conv, None)
        .await
        .unwrap()
        .unwrap();
    assert!(newest > answer.id, "the note is the newest message");
    assert_eq!(row(&env, &ann, conv).await.unread, 0);
    env.inbox.mark_read(&ann, conv, Some(first)).await.unwrap();
    assert_eq!(row(&env, &ann, conv).await.unread, 0);
    // Each agent reads for themselves: the supervisor has read nothing.
    assert_eq!(row(&env, &sup, conv).await.unread, 2);

    // The customer writes again: waiting since then.
    env.advance(Duration::from_secs(30)).await;
    env.inbox
        .receive("sandbox", &[text("m3", "31612345678", "thanks")])
        .await
        .unwrap();
    let r = row(&env, &ann, conv).await;
    assert_eq!((r.unread, r.waiting_since), (1, Some(T0 + 35_000)));

    // Someone who may not see the conversation cannot mark it read.
    let eve = env.agent("eve", &["overflow"]).await;
    assert!(env.inbox.mark_read(&eve, conv, None).await.is_err());
}

async fn views_are_counted_for_each_agent(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let held = env
        .inbox
        .receive("sandbox", &[text("m1", "31612345678", "one")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, held).await.unwrap();
    env.inbox
        .receive("sandbox", &[text("m2", "31612345678", "two")])
        .await
        .unwrap();
    // Ann holds two at most (the settings' limit): the third customer waits in the queue.
    let offered = env
        .inbox
        .receive("sandbox", &[text("m3", "31600000002", "three")])
        .await
        .unwrap()
        .conversations[0];
    let queued = env
        .inbox
        .receive("sandbox", &[text("m4", "31600000003", "four")])
        .await
        .unwrap()
        .conversations[0];
    let pending = env
        .inbox
        .deflect(&deflection("call-9", "+31600000004"))
        .await
        .unwrap();
    let counts = env.inbox.view_counts(&ann).await.unwrap();
    assert_eq!(
        (counts.mine.conversations, counts.mine.unread),
        (2, 3),
        "held (two unread) and offered (one)"
    );
    assert_eq!((counts.queue.conversations, counts.queue.unread), (1, 1));
    assert_eq!(counts.waiting_for_customer.conversations, 1);
    assert_eq!(counts.waiting_for_customer.unread, 0);
    let with_status = |status| {
        let filter = ConversationFilter {
            status: vec![status],
            ..ConversationFilter::default()
        };
        let (inbox, ann) = (&env.inbox, &ann);
        async move { inbox.conversation_summaries(ann, &filter).await.unwrap() }
    };
    let queue = with_status(Status::Queued).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].conversation.id, queued);
    assert_eq!(queue[0].offer_expires_at, None);
    let waiting = with_status(Status::Pending).await;
    assert_eq!(waiting[0].conversation.id, pending.conversation_id);
    assert_eq!(waiting[0].waiting_since, None, "no customer message yet");

    env.inbox.mark_read(&ann, held, None).await.unwrap();
    env.inbox.mark_read(&ann, offered, None).await.unwrap();
    let counts = env.inbox.view_counts(&ann).await.unwrap();
    assert_eq!((counts.mine.conversations, counts.mine.unread), (2, 0));
    // Another agent in another queue sees none of them.
    let eve = env.agent("eve", &["overflow"]).await;
    let counts = env.inbox.view_counts(&eve).await.unwrap();
    assert_eq!(counts.mine.conversations + counts.queue.conversations, 0);
}

async fn an_agent_who_auto_accepts_is_assigned_at_once(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let on = Preferences {
        auto_accept: Some(true),
        language: Some(Some("nl".into())),
    };
    let a = env.inbox.set_preferences(ann.agent_id, &on).await.unwrap();
    assert!(a.auto_accept);
    assert_eq!(a.language.as_deref(), Some("nl"));
    let conv = env
        .inbox
        .receive("sandbox", &[text("m1", "31612345678", "hello")])
        .await
        .unwrap()
        .conversations[0];
    let c = env
        .inbox
        .conversation(&ann, conv)
        .await
        .unwrap()
        .conversation;
    assert_eq!(
        (c.status, c.agent_id),
        (Status::Assigned, Some(ann.agent_id))
    );
    let events = env.inbox.conversation_events(conv, 0, 100).await.unwrap();
    let assigned = events
        .iter()
        .find(|e| e.kind == EventKind::ConversationAssigned)
        .unwrap();
    assert_eq!(assigned.data["auto_accepted"], true);
    // Offered and accepted in one transaction: the offer is in the history.
    let offered = events
        .iter()
        .position(|e| e.kind == EventKind::ConversationOffered);
    assert!(
        offered.unwrap()
            < events
                .iter()
                .position(|e| e.kind == EventKind::ConversationAssigned)
                .unwrap()
    );
    assert_eq!(row(&env, &ann, conv).await.offer_expires_at, None);

    // Off again (the language stays when not given): the next customer is offered.
    let off = Preferences {
        auto_accept: Some(false),
        language: None,
    };
    let a = env.inbox.set_preferences(ann.agent_id, &off).await.unwrap();
    assert_eq!((a.auto_accept, a.language.as_deref()), (false, Some("nl")));
    let next = env
        .inbox
        .receive("sandbox", &[text("m2", "31600000002", "hi")])
        .await
        .unwrap()
        .conversations[0];
    let c = env
        .inbox
        .conversation(&ann, next)
        .await
        .unwrap()
        .conversation;
    assert_eq!(c.status, Status::Offered);
    // Her slot frees up (she lets the offer pass): the waiting customer is taken at once
    // through the per-conversation routing too.
    let third = env
        .inbox
        .receive("sandbox", &[text("m3", "31600000003", "anyone?")])
        .await
        .unwrap()
        .conversations[0];
    let status = |id| {
        let inbox = &env.inbox;
        async move {
            inbox
                .conversation_unchecked(id)
                .await
                .unwrap()
                .conversation
                .status
        }
    };
    assert_eq!(status(third).await, Status::Queued, "Ann has no room");
    env.inbox.set_preferences(ann.agent_id, &on).await.unwrap();
    env.inbox.reject_offer(ann.agent_id, next).await.unwrap();
    assert_eq!(status(third).await, Status::Assigned);
    // null clears the language; a tag that is none is refused.
    let clear: Preferences = serde_json::from_str(r#"{"language": null}"#).unwrap();
    let a = env
        .inbox
        .set_preferences(ann.agent_id, &clear)
        .await
        .unwrap();
    assert_eq!(a.language, None);
    let bad = Preferences {
        auto_accept: None,
        language: Some(Some("Dutch!".into())),
    };
    assert!(matches!(
        env.inbox.set_preferences(ann.agent_id, &bad).await,
        Err(ChatError::Invalid(_))
    ));
}

on_both!(
    list_rows_show_the_last_message_unread_and_waiting_time,
    views_are_counted_for_each_agent,
    an_agent_who_auto_accepts_is_assigned_at_once,
);
