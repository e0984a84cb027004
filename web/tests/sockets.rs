//! The two WebSockets over a real listener: the agents' live feed shows each agent only
//! what they may see and refuses foreign origins; the widget's socket serves only the
//! visitor's own conversation, stores a resent message once, and resumes after a position.

#![allow(clippy::unwrap_used)]

use deflect_chat::{Inbox, NewHandoff, Role};
use deflect_config::{Config, QueueConfig};
use deflect_web::testing::{self, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    base: String,
    inbox: Inbox,
    phones: std::sync::Arc<deflect_web::phone::Phones>,
    _server: TestServer,
}

async fn server() -> Server {
    let mut c = Config::default();
    c.inbox.queues = vec![
        QueueConfig {
            name: "support".into(),
            ..QueueConfig::default()
        },
        QueueConfig {
            name: "sales".into(),
            ..QueueConfig::default()
        },
    ];
    let server = TestServer::start(&c).await;
    Server {
        base: server.base(),
        inbox: server.inbox.clone(),
        phones: server.phones.clone(),
        _server: server,
    }
}

impl Server {
    async fn agent(
        &self,
        name: &str,
        role: Role,
        queues: &[&str],
    ) -> (deflect_chat::Viewer, String) {
        let a = testing::agent(&self.inbox, name, role, queues).await;
        (
            self.inbox.viewer(a.id).await.unwrap(),
            testing::session_cookie(&self.inbox, a.id).await,
        )
    }

    async fn ws(&self, path: &str, origin: &str, cookie: Option<&str>) -> Result<Ws, u16> {
        let mut req = format!("{}{path}", self.base.replacen("http", "ws", 1))
            .into_client_request()
            .unwrap();
        req.headers_mut().insert("origin", origin.parse().unwrap());
        if let Some(c) = cookie {
            req.headers_mut().insert("cookie", c.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((s, _)) => Ok(s),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("{e}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

async fn recv(ws: &mut Ws) -> Value {
    let next = async {
        loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                return serde_json::from_str(&t).unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), next)
        .await
        .expect("a message in time")
}

/// The next message of `kind` (skipping pings and others).
async fn next_event(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = recv(ws).await;
        if pred(&v) {
            return v;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_shows_each_agent_only_their_conversations() {
    let s = server().await;
    let (_, ann) = s.agent("ann", Role::Agent, &["support"]).await;
    let (sam_is, sam) = s.agent("sam", Role::Agent, &["sales"]).await;
    let (boss, _) = s.agent("boss", Role::Supervisor, &[]).await;
    // A session's socket opens only from the gateway's own pages.
    assert_eq!(
        s.ws("/api/v1/events", "https://evil.example", Some(&ann))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(s.ws("/api/v1/events", &s.base, None).await.err(), Some(401));
    let mut a = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    let mut b = s.ws("/api/v1/events", &s.base, Some(&sam)).await.unwrap();
    for w in [&mut a, &mut b] {
        send(w, json!({ "type": "hello", "after": null })).await;
        assert_eq!(recv(w).await["type"], "ready");
    }
    let new = |queue: &str| NewHandoff {
        name: Some("Bob".into()),
        queue: Some(queue.into()),
        ttl: Duration::from_secs(600),
        ..Default::default()
    };
    let (sales, _) = s.inbox.start_handoff(&boss, &new("sales")).await.unwrap();
    let (support, _) = s.inbox.start_handoff(&boss, &new("support")).await.unwrap();
    // Sam sees the sales conversation; Ann's first event is the support one (events come in
    // order, so the sales one was never sent to her).
    let e = next_event(&mut b, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["conversation_id"], sales.id);
    let e = next_event(&mut a, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["conversation_id"], support.id, "{e}");
    // Resuming after an event replays what followed it.
    let first = e["event"]["id"].as_i64().unwrap();
    let mut again = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    send(&mut again, json!({ "type": "hello", "after": first - 1 })).await;
    assert_eq!(recv(&mut again).await["type"], "ready");
    let e = next_event(&mut again, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["id"], first);
    send(&mut again, json!({ "type": "ping" })).await;
    next_event(&mut again, |v| v["type"] == "pong").await;
    // Disabling an agent ends their socket at once (not at the next ping, 20 s on).
    s.inbox.set_disabled(sam_is.agent_id, true).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match b.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the disabled agent's socket is still open");
}

/// A softphone call reaches the feeds of the agents of the queue it rings and of the agent
/// on it (one they placed rings no queue), no one else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_call_reaches_its_queues_agents_and_the_agent_on_it() {
    let s = server().await;
    let (ann_is, ann) = s.agent("ann", Role::Agent, &["support"]).await;
    let (_, sam) = s.agent("sam", Role::Agent, &["sales"]).await;
    let mut a = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    let mut b = s.ws("/api/v1/events", &s.base, Some(&sam)).await.unwrap();
    for w in [&mut a, &mut b] {
        send(w, json!({ "type": "hello", "after": null })).await;
        assert_eq!(recv(w).await["type"], "ready");
    }
    let call = |id: &str, state: &str, queue: &str, agent: Option<i64>| {
        json!({ "id": id, "state": state, "queue": queue, "account": null,
                "channel": "whatsapp:main", "flow": "", "agent_id": agent })
    };
    let sales = call("phone-sales", "ringing", "sales", None);
    let anns = call("phone-anns", "calling", "", Some(ann_is.agent_id));
    s.inbox.phone_call(sales).await.unwrap();
    s.inbox.phone_call(anns).await.unwrap();
    // Events come in order: Ann's first is her own call, Sam's the one of his queue.
    let e = next_event(&mut a, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["data"]["call"]["id"], "phone-anns", "{e}");
    let e = next_event(&mut b, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["data"]["call"]["id"], "phone-sales", "{e}");
    let third = call("phone-sales-2", "ringing", "sales", None);
    s.inbox.phone_call(third).await.unwrap();
    let e = next_event(&mut b, |v| v["type"] == "event").await;
    assert_eq!(
        e["event"]["data"]["call"]["id"], "phone-sales-2",
        "Ann's call never reached Sam: {e}"
    );
}

/// A call rings for an available agent only while their inbox is open (a live feed): not
/// before it opens, and not after its last feed closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_rings_only_for_agents_with_the_inbox_open() {
    let s = server().await;
    let (ann_is, ann) = s.agent("ann", Role::Agent, &["support"]).await;
    let ann_id = ann_is.agent_id;
    s.inbox
        .set_presence(ann_id, deflect_chat::Presence::Available)
        .await
        .unwrap();
    let ring = || {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let call = deflect_web::phone::Ringing {
            queue: "support".into(),
            channel: "carrier".into(),
            ..Default::default()
        };
        let id = s
            .phones
            .ring(call, Box::new(move |sig| tx.send(sig).is_ok()));
        (id, rx)
    };
    let (_, mut rx) = ring();
    assert!(
        testing::rang_for_nobody(&mut rx).await,
        "available, inbox closed: no ring"
    );
    let mut a = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    let mut again = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    for w in [&mut a, &mut again] {
        send(w, json!({ "type": "hello", "after": null })).await;
        assert_eq!(recv(w).await["type"], "ready");
    }
    let (id, rx) = ring();
    let e = next_event(&mut a, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["data"]["call"]["id"], id.as_str(), "{e}");
    assert_eq!(e["event"]["data"]["call"]["state"], "ringing", "{e}");
    assert!(!rx.is_closed(), "it rings for Ann");
    s.phones.end(&id);
    // One of two pages closed: still listening; the last one closed: no more rings.
    a.close(None).await.unwrap();
    let (id, rx) = ring();
    let e = next_event(&mut again, |v| {
        v["type"] == "event" && v["event"]["data"]["call"]["id"] == id.as_str()
    })
    .await;
    assert_eq!(e["event"]["data"]["call"]["state"], "ringing", "{e}");
    assert!(!rx.is_closed());
    s.phones.end(&id);
    again.close(None).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while s.phones.is_listening(ann_id) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(closed.await.is_ok(), "Ann's closed feeds are still counted");
    let (_, mut rx) = ring();
    assert!(
        testing::rang_for_nobody(&mut rx).await,
        "the inbox closed: no ring"
    );
    // A call ringing only for Ann stops when she closes her inbox, not at its ring timeout.
    let mut page = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    send(&mut page, json!({ "type": "hello", "after": null })).await;
    assert_eq!(recv(&mut page).await["type"], "ready");
    let (id, mut rx) = ring();
    let e = next_event(&mut page, |v| v["type"] == "event").await;
    assert_eq!(e["event"]["data"]["call"]["id"], id.as_str(), "{e}");
    page.close(None).await.unwrap();
    assert!(
        testing::rang_for_nobody(&mut rx).await,
        "still ringing after Ann's last page closed"
    );
}

/// A label put on a conversation reaches the live feeds of those who may see it, and no one
/// else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_reaches_the_live_feed_of_who_sees_the_conversation() {
    let s = server().await;
    let (_, ann) = s.agent("ann", Role::Agent, &["support"]).await;
    let (_, sam) = s.agent("sam", Role::Agent, &["sales"]).await;
    let (boss, _) = s.agent("boss", Role::Supervisor, &[]).await;
    let new = |queue: &str| NewHandoff {
        name: Some("Bob".into()),
        queue: Some(queue.into()),
        ttl: Duration::from_secs(600),
        ..Default::default()
    };
    let (support, _) = s.inbox.start_handoff(&boss, &new("support")).await.unwrap();
    let (sales, _) = s.inbox.start_handoff(&boss, &new("sales")).await.unwrap();
    let mut a = s.ws("/api/v1/events", &s.base, Some(&ann)).await.unwrap();
    let mut b = s.ws("/api/v1/events", &s.base, Some(&sam)).await.unwrap();
    for w in [&mut a, &mut b] {
        send(w, json!({ "type": "hello", "after": null })).await;
        assert_eq!(recv(w).await["type"], "ready");
    }
    s.inbox.add_label(&boss, support.id, "vip").await.unwrap();
    s.inbox.add_label(&boss, sales.id, "billing").await.unwrap();
    let e = next_event(&mut a, |v| v["type"] == "event").await;
    assert_eq!(
        (
            &e["event"]["kind"],
            &e["event"]["conversation_id"],
            &e["event"]["data"]["label"]
        ),
        (
            &json!("conversation.labelled"),
            &json!(support.id),
            &json!("vip")
        )
    );
    // Sam's first is the sales one: the support label never reached him.
    let e = next_event(&mut b, |v| v["type"] == "event").await;
    assert_eq!(
        (&e["event"]["conversation_id"], &e["event"]["data"]["label"]),
        (&json!(sales.id), &json!("billing"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_socket_serves_only_the_visitors_conversation_once_in_order() {
    let s = server().await;
    let http = deflect_chat::provider::http_client();
    let start = |token: &'static str| {
        let http = http.clone();
        let base = s.base.clone();
        async move {
            let res = tokio::time::timeout(
                Duration::from_secs(20),
                http.post(format!("{base}/widget/sites/default/conversations"))
                    .header("origin", &base)
                    .header("x-deflect-visitor", token)
                    .json(&json!({ "name": "Vic" }))
                    .send(),
            )
            .await
            .expect("answered in time")
            .unwrap();
            let r: Value = res.json().await.unwrap();
            r["id"].as_i64().unwrap()
        }
    };
    let mine = start("visitor-token-aaaaaaaaaaaaaaaa").await;
    let theirs = start("visitor-token-bbbbbbbbbbbbbbbb").await;
    assert_eq!(
        s.ws("/widget/ws?site=default", "https://evil.example", None)
            .await
            .err(),
        Some(403)
    );
    // Another visitor's conversation: refused.
    let mut w = s
        .ws("/widget/ws?site=default", &s.base, None)
        .await
        .unwrap();
    send(&mut w, json!({ "type": "hello", "token": "visitor-token-aaaaaaaaaaaaaaaa", "conversation_id": theirs, "after_seq": 0 })).await;
    assert_eq!(recv(&mut w).await["error"]["code"], "not_found");
    // Own conversation: ready, then the replay from the start.
    let mut w = s
        .ws("/widget/ws?site=default", &s.base, None)
        .await
        .unwrap();
    send(&mut w, json!({ "type": "hello", "token": "visitor-token-aaaaaaaaaaaaaaaa", "conversation_id": mine, "after_seq": 0 })).await;
    let ready = recv(&mut w).await;
    assert_eq!(
        (
            ready["type"].as_str(),
            ready["conversation"]["status"].as_str()
        ),
        (Some("ready"), Some("queued"))
    );
    assert!(ready["conversation"].get("queue").is_none());
    // The same key twice (a retry after a reconnect): one message.
    send(
        &mut w,
        json!({ "type": "send", "text": "Hello", "key": "k1" }),
    )
    .await;
    let a1 = next_event(&mut w, |v| v["type"] == "ack").await;
    let m = next_event(&mut w, |v| v["type"] == "event" && v["kind"] == "message").await;
    assert_eq!(
        (m["data"]["body"].as_str(), m["data"]["client_key"].as_str()),
        (Some("Hello"), Some("k1"))
    );
    send(
        &mut w,
        json!({ "type": "send", "text": "Hello", "key": "k1" }),
    )
    .await;
    let a2 = next_event(&mut w, |v| v["type"] == "ack").await;
    assert_eq!(a1["message"]["id"], a2["message"]["id"]);
    let seq = m["seq"].as_i64().unwrap();
    send(&mut w, json!({ "type": "send", "text": "", "key": "k2" })).await;
    let e = next_event(&mut w, |v| v["type"] == "error").await;
    assert_eq!(
        (e["key"].as_str(), e["error"]["code"].as_str()),
        (Some("k2"), Some("invalid"))
    );
    drop(w);
    // An agent's note (internal) and reply while the visitor is away.
    let (boss, _) = s.agent("boss", Role::Supervisor, &[]).await;
    s.inbox
        .add_note(&boss, mine, "internal: VIP")
        .await
        .unwrap();
    s.inbox.claim(&boss, mine).await.ok();
    s.inbox
        .send_text(&boss, mine, "Hi Vic", None)
        .await
        .unwrap();
    // Resuming after the last position seen: exactly what followed, no note.
    let mut w = s
        .ws("/widget/ws?site=default", &s.base, None)
        .await
        .unwrap();
    send(&mut w, json!({ "type": "hello", "token": "visitor-token-aaaaaaaaaaaaaaaa", "conversation_id": mine, "after_seq": seq })).await;
    assert_eq!(recv(&mut w).await["type"], "ready");
    let mut seqs = vec![];
    loop {
        let v = next_event(&mut w, |v| v["type"] == "event").await;
        assert!(v["seq"].as_i64().unwrap() > seq);
        seqs.push(v["seq"].as_i64().unwrap());
        assert_ne!(
            v["data"]["body"], "internal: VIP",
            "notes never reach visitors"
        );
        if v["kind"] == "message" {
            assert_eq!(
                (v["data"]["body"].as_str(), v["data"]["from"].as_str()),
                (Some("Hi Vic"), Some("agent"))
            );
            assert_eq!(v["data"]["name"], "boss", "the agent's display name");
            break;
        }
    }
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "in order: {seqs:?}");
    // Live: a message after the replay arrives once.
    s.inbox
        .send_text(&boss, mine, "Anything else?", None)
        .await
        .unwrap();
    let v = next_event(&mut w, |v| v["kind"] == "message").await;
    assert_eq!(v["data"]["body"], "Anything else?");
}

/// An agent's reply buttons reach the widget in the message's `interactive`; the visitor's
/// tap goes back over the socket as a reply (id and title) and is stored as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_shows_reply_buttons_and_sends_the_tap_back() {
    let s = server().await;
    let token = "visitor-token-cccccccccccccccc";
    let res = tokio::time::timeout(
        Duration::from_secs(20),
        deflect_chat::provider::http_client()
            .post(format!("{}/widget/sites/default/conversations", s.base))
            .header("origin", &s.base)
            .header("x-deflect-visitor", token)
            .json(&json!({ "name": "Vic" }))
            .send(),
    )
    .await
    .expect("answered in time")
    .unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (boss, _) = s.agent("boss", Role::Supervisor, &[]).await;
    s.inbox.claim(&boss, id).await.ok();
    let buttons: deflect_chat::Interactive = serde_json::from_value(json!({ "type": "button",
        "buttons": [{ "id": "yes", "title": "Yes" }, { "id": "no", "title": "No" }] }))
    .unwrap();
    s.inbox
        .send_interactive(&boss, id, "Did that help?", &buttons, None)
        .await
        .unwrap();
    let mut w = s
        .ws("/widget/ws?site=default", &s.base, None)
        .await
        .unwrap();
    send(
        &mut w,
        json!({ "type": "hello", "token": token, "conversation_id": id, "after_seq": 0 }),
    )
    .await;
    let m = next_event(&mut w, |v| {
        v["kind"] == "message" && v["data"]["from"] == "agent"
    })
    .await;
    assert_eq!(
        m["data"]["interactive"],
        json!({ "type": "button", "body": "Did that help?",
            "buttons": [{ "id": "yes", "title": "Yes" }, { "id": "no", "title": "No" }] })
    );
    let reply = json!({ "type": "button_reply", "id": "yes", "title": "Yes" });
    send(
        &mut w,
        json!({ "type": "send", "text": "Yes", "key": "t1", "reply": reply }),
    )
    .await;
    let ack = next_event(&mut w, |v| v["type"] == "ack").await;
    let m = next_event(&mut w, |v| {
        v["kind"] == "message" && v["data"]["from"] == "visitor"
    })
    .await;
    assert_eq!(m["data"]["id"], ack["message"]["id"]);
    assert_eq!(
        (m["data"]["body"].as_str(), &m["data"]["interactive"]),
        (Some("Yes"), &reply)
    );
    // Only a reply can be tapped.
    send(
        &mut w,
        json!({ "type": "send", "text": "x", "key": "t2", "reply": { "type": "button", "buttons": [] } }),
    )
    .await;
    let e = next_event(&mut w, |v| v["type"] == "error").await;
    assert_eq!(
        (e["key"].as_str(), e["error"]["code"].as_str()),
        (Some("t2"), Some("invalid"))
    );
}
