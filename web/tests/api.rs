//! The HTTP API through the real router (`tower::ServiceExt::oneshot`, no server): every
//! endpoint's success and error answers, authentication, CSRF, roles, the widget's origin
//! and visitor checks, rate limits, the OpenAPI file against the routes, asset sizes.

#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use deflect_chat::Role;
use deflect_config::{Config, QueueConfig, SiteConfig};
use deflect_web::testing::{self, PASSWORD, TestApp};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use tower::ServiceExt;

struct Res {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
    bytes: Vec<u8>,
}

fn config() -> Config {
    let mut c = Config::default();
    c.inbox.queues = vec![
        QueueConfig {
            name: "support".into(),
            disposition_required: true,
            dispositions: vec!["resolved".into()],
            ..QueueConfig::default()
        },
        QueueConfig {
            name: "sales".into(),
            ..QueueConfig::default()
        },
    ];
    c.widget.sites.push(SiteConfig {
        name: "www".into(),
        origins: vec!["https://shop.example".into()],
        queue: Some("support".into()),
        ..SiteConfig::default()
    });
    c.http.widget_requests_per_minute = 40;
    c
}

/// The app on a fresh inbox (`deflect_web::testing`), with the requests a client makes.
struct App(TestApp);

impl std::ops::Deref for App {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.0
    }
}

async fn app_with(c: Config) -> App {
    App(TestApp::new(&c).await)
}

async fn app_on(c: Config, clock: Arc<dyn deflect_chat::Clock>) -> App {
    App(TestApp::with_clock(&c, clock).await)
}

async fn app() -> App {
    app_with(config()).await
}

impl App {
    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Res {
        let mut r = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let req = match body {
            Some(b) => r
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => r.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    /// `GET path` from the TCP peer `peer` with `headers`.
    async fn get_from(
        &self,
        peer: std::net::SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Res {
        let mut r = Request::builder().method(Method::GET).uri(path);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let mut req = r.body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.send(req).await
    }

    /// The router's answer to `req`.
    async fn send(&self, req: Request<Body>) -> Res {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Res {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            bytes: bytes.to_vec(),
        }
    }

    /// A request with a raw body (an upload).
    async fn call_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Res {
        let mut r = Request::builder().method(Method::POST).uri(path);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r.body(Body::from(body)).unwrap()).await
    }

    async fn agent(&self, name: &str, role: Role, queues: &[&str]) -> i64 {
        testing::agent(&self.inbox, name, role, queues).await.id
    }

    /// Logs in; returns (cookie header, csrf).
    async fn login(&self, name: &str) -> Session {
        let r = self
            .call(
                Method::POST,
                "/api/v1/session",
                &[],
                Some(json!({ "username": name, "password": PASSWORD })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let cookie = r.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        Session {
            cookie,
            csrf: r.body["csrf"].as_str().unwrap().to_string(),
        }
    }
}

struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    fn h(&self) -> [(&str, &str); 2] {
        [
            ("cookie", self.cookie.as_str()),
            ("x-csrf-token", self.csrf.as_str()),
        ]
    }
}

fn code(r: &Res) -> &str {
    r.body["error"]["code"].as_str().unwrap_or("")
}

/// Each of `calls` answers 403 `forbidden` to each of `sessions`.
async fn forbidden_to(a: &App, sessions: &[&Session], calls: &[(Method, &str, Option<Value>)]) {
    for s in sessions {
        for (m, p, b) in calls {
            let r = a.call(m.clone(), p, &s.h(), b.clone()).await;
            assert_eq!(
                (r.status, code(&r)),
                (StatusCode::FORBIDDEN, "forbidden"),
                "{m} {p}"
            );
        }
    }
}

#[tokio::test]
async fn login_sets_a_strict_cookie_checks_csrf_and_is_rate_limited() {
    let a = app().await;
    a.agent("ann", Role::Agent, &["support"]).await;
    let r = a.call(Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let r = a
        .call(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({ "username": "ann", "password": PASSWORD })),
        )
        .await;
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "http public URL: no Secure flag"
    );
    let s = a.login("ann").await;
    let r = a
        .call(Method::GET, "/api/v1/me", &[("cookie", &s.cookie)], None)
        .await;
    assert_eq!(r.body["agent"]["username"], "ann");
    // A change without the CSRF token is refused; with it, it goes through.
    let r = a
        .call(
            Method::PUT,
            "/api/v1/me/presence",
            &[("cookie", &s.cookie)],
            Some(json!({ "presence": "available" })),
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "csrf"));
    let r = a
        .call(
            Method::PUT,
            "/api/v1/me/presence",
            &[("cookie", &s.cookie), ("x-csrf-token", "wrong")],
            Some(json!({ "presence": "available" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = a
        .call(
            Method::PUT,
            "/api/v1/me/presence",
            &s.h(),
            Some(json!({ "presence": "available" })),
        )
        .await;
    assert_eq!(
        (r.status, r.body["agent"]["presence"].as_str()),
        (StatusCode::OK, Some("available"))
    );
    let r = a
        .call(
            Method::PUT,
            "/api/v1/me/presence",
            &s.h(),
            Some(json!({ "presence": "asleep" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = a
        .call(
            Method::GET,
            "/api/v1/session",
            &[("cookie", &s.cookie)],
            None,
        )
        .await;
    assert_eq!(r.body["csrf"], s.csrf.as_str());
    // Logout ends the session.
    assert_eq!(
        a.call(Method::DELETE, "/api/v1/session", &s.h(), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.call(Method::GET, "/api/v1/me", &[("cookie", &s.cookie)], None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Ten failed logins for a username, then even the right password waits.
    for _ in 0..10 {
        let r = a
            .call(
                Method::POST,
                "/api/v1/session",
                &[],
                Some(json!({ "username": "ann", "password": "wrong password" })),
            )
            .await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
    }
    let r = a
        .call(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({ "username": "ann", "password": PASSWORD })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let r = a
        .call(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(json!({ "user": "x" })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
}

/// Labels (`PUT`/`DELETE …/labels/{label}`, `GET /labels`, the `label` filter of the list
/// and the CSV export) and the contact card, with the conversation's access.
#[tokio::test]
async fn labels_and_the_contact_card() {
    let a = app().await;
    a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("sam", Role::Agent, &["sales"]).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let (ann, sam, boss) = (
        a.login("ann").await,
        a.login("sam").await,
        a.login("boss").await,
    );
    let r = a.call(Method::POST, "/api/v1/deflections/whatsapp", &boss.h(), Some(json!({ "name": "Bob", "phone": "+31687654321", "queue": "sales", "metadata": { "order": 7 } }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["conversation_id"].as_i64().unwrap();
    let label = |l: &str| format!("/api/v1/conversations/{id}/labels/{l}");
    let r = a.call(Method::PUT, &label("%20VIP"), &sam.h(), None).await;
    assert_eq!(
        (r.status, &r.body["labels"]),
        (StatusCode::OK, &json!(["vip"]))
    );
    let r = a.call(Method::PUT, &label("%21bad"), &sam.h(), None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let r = a.call(Method::PUT, &label("vip"), &ann.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = a.call(Method::GET, "/api/v1/labels", &sam.h(), None).await;
    assert_eq!(r.body["labels"], json!([{ "label": "vip", "count": 1 }]));
    let r = a.call(Method::GET, "/api/v1/labels", &ann.h(), None).await;
    assert_eq!(r.body["labels"], json!([]));
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations?label=VIP",
            &sam.h(),
            None,
        )
        .await;
    let listed: Vec<_> = (r.body["conversations"].as_array().unwrap().iter())
        .map(|c| c["id"].as_i64())
        .collect();
    assert_eq!(listed, [Some(id)]);
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations?label=%21",
            &sam.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::GET,
            "/api/v1/exports/conversations.csv?label=vip",
            &boss.h(),
            None,
        )
        .await;
    assert_eq!(r.text.lines().count(), 2, "{}", r.text);
    let r = a
        .call(
            Method::GET,
            "/api/v1/exports/conversations.csv?label=other",
            &boss.h(),
            None,
        )
        .await;
    assert_eq!(r.text.lines().count(), 1, "{}", r.text);
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}"),
            &sam.h(),
            None,
        )
        .await;
    assert_eq!(r.body["conversation"]["labels"], json!(["vip"]));
    // The contact card.
    let card = format!("/api/v1/conversations/{id}/contact");
    let r = a.call(Method::GET, &card, &sam.h(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["contact"]["name"], &r.body["contact"]["phone"]),
        (&json!("Bob"), &json!("+31687654321"))
    );
    assert_eq!(r.body["attributes"], json!({ "metadata": { "order": 7 } }));
    assert_eq!(
        (&r.body["conversations"], &r.body["call"]),
        (&json!([]), &Value::Null)
    );
    assert!(!r.text.contains("token"), "{}", r.text);
    let r = a.call(Method::GET, &card, &ann.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = a.call(Method::DELETE, &label("vip"), &sam.h(), None).await;
    assert_eq!((r.status, &r.body["labels"]), (StatusCode::OK, &json!([])));
}

/// A deflected call's IVR path: on the conversation, on the contact card and in the
/// transcript export.
#[tokio::test]
async fn a_deflected_calls_ivr_path_is_served_and_exported() {
    let a = app().await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let boss = a.login("boss").await;
    let step = |step: &str, exit: Option<&str>| deflect_chat::PathStep {
        step: step.into(),
        exit: exit.map(str::to_string),
    };
    let d = a
        .inbox
        .deflect(&deflect_chat::Deflection {
            call: deflect_chat::CallContext {
                call_id: "call-path".into(),
                caller: None,
                callback_number: "+31611111111".into(),
                dialled_number: None,
                flow: Some("office".into()),
                language: None,
                started_at: 0,
                ended_at: 31_000,
                input_method: deflect_chat::InputMethod::Dtmf,
                transcript: Some("0611111111".into()),
                path: vec![
                    step("greeting", None),
                    step("hours", Some("open")),
                    step("confirm", Some("retry 1, confirmed")),
                    step("deflect", None),
                ],
            },
            account: None,
            queue: None,
        })
        .await
        .unwrap();
    let c = |tail: &str| format!("/api/v1/conversations/{}{tail}", d.conversation_id);
    let path = json!([
        { "step": "greeting", "exit": null },
        { "step": "hours", "exit": "open" },
        { "step": "confirm", "exit": "retry 1, confirmed" },
        { "step": "deflect", "exit": null }
    ]);
    let r = a.call(Method::GET, &c(""), &boss.h(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["conversation"]["call"]["path"], path, "{}", r.text);
    let r = a.call(Method::GET, &c("/contact"), &boss.h(), None).await;
    assert_eq!(r.body["call"]["path"], path, "{}", r.text);
    assert_eq!(r.body["call"]["seconds_in_ivr"], 31);
    let r = a
        .call(Method::GET, &c("/transcript"), &boss.h(), None)
        .await;
    assert!(
        r.text.contains(
            "IVR path: greeting \u{2192} hours (open) \u{2192} confirm (retry 1, confirmed) \u{2192} deflect\r\n"
        ),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn roles_and_queues_decide_what_is_visible() {
    let a = app().await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("sam", Role::Agent, &["sales"]).await;
    let boss = a.agent("boss", Role::Supervisor, &[]).await;
    a.agent("root", Role::Admin, &[]).await;
    let (ann_s, sam_s, boss_s, root_s) = (
        a.login("ann").await,
        a.login("sam").await,
        a.login("boss").await,
        a.login("root").await,
    );
    // A sales hand-off: sam (sales) sees it, ann (support) does not, the supervisor does.
    let r = a.call(Method::POST, "/api/v1/deflections/whatsapp", &boss_s.h(), Some(json!({ "name": "Bob", "phone": "+31687654321", "queue": "sales", "metadata": { "order": 7 } }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["conversation_id"].as_i64().unwrap();
    assert!(
        r.body["url"]
            .as_str()
            .unwrap()
            .starts_with("https://wa.me/15550100000?text=")
    );
    assert!(r.body["qr_svg"].as_str().unwrap().contains("<svg"));
    let path = format!("/api/v1/conversations/{id}");
    assert_eq!(
        a.call(Method::GET, &path, &sam_s.h(), None).await.status,
        StatusCode::OK
    );
    let r = a.call(Method::GET, &path, &ann_s.h(), None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        a.call(Method::GET, &format!("{path}/messages"), &ann_s.h(), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Opening it marks it read for those who see it; for the others it does not exist.
    let read = format!("{path}/read");
    let r = a.call(Method::POST, &read, &ann_s.h(), None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    let r = a.call(Method::POST, &read, &sam_s.h(), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // A hand-off has no message until the customer writes: nothing to mark.
    assert_eq!(r.body["message_id"], json!(null));
    let r = a
        .call(
            Method::POST,
            &read,
            &sam_s.h(),
            Some(json!({ "message_id": 7 })),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["message_id"]),
        (StatusCode::ACCEPTED, &json!(null))
    );
    let r = a
        .call(
            Method::POST,
            &read,
            &sam_s.h(),
            Some(json!({ "message": 1 })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // The list row and the views' counts.
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations?status=pending",
            &sam_s.h(),
            None,
        )
        .await;
    let row = &r.body["conversations"][0];
    assert_eq!(
        (row["id"].as_i64(), row["unread"].as_i64()),
        (Some(id), Some(0))
    );
    assert_eq!(row["last_message"], json!(null));
    assert_eq!(row["waiting_since"], json!(null));
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations/counts",
            &sam_s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["counts"]["waiting_for_customer"],
        json!({ "conversations": 1, "unread": 0 })
    );
    assert_eq!(r.body["counts"]["mine"]["conversations"], 0);
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations/counts",
            &ann_s.h(),
            None,
        )
        .await;
    assert_eq!(r.body["counts"]["waiting_for_customer"]["conversations"], 0);
    // An agent's own choices.
    let prefs = "/api/v1/me/preferences";
    let r = a
        .call(
            Method::PUT,
            prefs,
            &ann_s.h(),
            Some(json!({ "auto_accept": true, "language": "nl" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            &r.body["agent"]["auto_accept"],
            &r.body["agent"]["language"]
        ),
        (&json!(true), &json!("nl"))
    );
    let r = a
        .call(
            Method::PUT,
            prefs,
            &ann_s.h(),
            Some(json!({ "language": "Nederlands" })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let r = a
        .call(
            Method::PUT,
            prefs,
            &ann_s.h(),
            Some(json!({ "colour": "blue" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = a
        .call(Method::GET, "/api/v1/session", &ann_s.h(), None)
        .await;
    assert_eq!(r.body["agent"]["language"], "nl");
    assert_eq!(
        a.call(Method::GET, &format!("{path}/transcript"), &ann_s.h(), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = a.call(Method::GET, &path, &boss_s.h(), None).await;
    assert_eq!(r.body["conversation"]["metadata"]["order"], 7);
    let list = a
        .call(Method::GET, "/api/v1/conversations", &ann_s.h(), None)
        .await;
    assert_eq!(list.body["conversations"].as_array().unwrap().len(), 0);
    let list = a
        .call(
            Method::GET,
            "/api/v1/conversations?status=pending",
            &sam_s.h(),
            None,
        )
        .await;
    assert_eq!(list.body["conversations"].as_array().unwrap().len(), 1);
    // Agents: no board, no agent management, no tokens; an agent hands over only into
    // their queues.
    for (m, p, b) in [
        (Method::GET, "/api/v1/board", None),
        (Method::GET, "/api/v1/tokens", None),
        (
            Method::POST,
            "/api/v1/agents",
            Some(json!({ "username": "x", "password": "long enough", "role": "agent" })),
        ),
        (
            Method::POST,
            "/api/v1/canned-answers",
            Some(json!({ "title": "t", "body": "b" })),
        ),
        (
            Method::POST,
            "/api/v1/deflections/whatsapp",
            Some(json!({ "name": "Bob", "queue": "sales" })),
        ),
    ] {
        let r = a.call(m, p, &ann_s.h(), b).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{p}: {}",
            r.text
        );
    }
    assert_eq!(
        a.call(Method::GET, "/api/v1/board", &boss_s.h(), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        a.call(Method::GET, "/api/v1/tokens", &boss_s.h(), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // API tokens: created by an admin, act as their agent, stop when revoked; never in a URL.
    let r = a
        .call(
            Method::POST,
            "/api/v1/tokens",
            &root_s.h(),
            Some(json!({ "agent_id": ann, "name": "CRM" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = format!("Bearer {}", r.body["secret"].as_str().unwrap());
    let tid = r.body["token"]["id"].as_i64().unwrap();
    let r = a
        .call(
            Method::GET,
            "/api/v1/me",
            &[("authorization", &secret)],
            None,
        )
        .await;
    assert_eq!(r.body["agent"]["id"], ann);
    // Token callers need no CSRF token, and keep the agent's access.
    let r = a
        .call(
            Method::PUT,
            "/api/v1/me/presence",
            &[("authorization", &secret)],
            Some(json!({ "presence": "away" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        a.call(Method::GET, &path, &[("authorization", &secret)], None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = a
        .call(Method::GET, "/api/v1/tokens", &root_s.h(), None)
        .await;
    assert!(
        !r.text.contains(secret.trim_start_matches("Bearer ")),
        "secrets are not listed"
    );
    assert_eq!(
        a.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{tid}"),
            &root_s.h(),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.call(
            Method::GET,
            "/api/v1/me",
            &[("authorization", &secret)],
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{tid}"),
            &root_s.h(),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Admins manage agents.
    let r = a.call(Method::POST, "/api/v1/agents", &root_s.h(), Some(json!({ "username": "new", "password": "long enough", "role": "agent", "queues": ["nope"] }))).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let r = a.call(Method::POST, "/api/v1/agents", &root_s.h(), Some(json!({ "username": "new", "password": "long enough", "role": "agent", "queues": ["sales"] }))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = a
        .call(
            Method::POST,
            "/api/v1/agents",
            &root_s.h(),
            Some(json!({ "username": "new", "password": "long enough", "role": "agent" })),
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::CONFLICT, "conflict"));
    let nid = a
        .inbox
        .agents()
        .await
        .unwrap()
        .iter()
        .find(|x| x.username == "new")
        .unwrap()
        .id;
    let r = a
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{nid}"),
            &root_s.h(),
            Some(json!({ "queues": ["support"], "disabled": true })),
        )
        .await;
    assert_eq!(
        (
            r.body["agent"]["queues"][0].as_str(),
            r.body["agent"]["disabled"].as_bool()
        ),
        (Some("support"), Some(true))
    );
    assert_eq!(
        a.call(
            Method::PATCH,
            "/api/v1/agents/999",
            &root_s.h(),
            Some(json!({ "disabled": true }))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let _ = boss;
}

#[tokio::test]
async fn access_fails_closed_for_agents_without_accounts() {
    let a = app().await;
    a.agent("root", Role::Admin, &[]).await;
    a.agent("sam", Role::Agent, &["sales"]).await;
    let root_s = a.login("root").await;
    // An agent made as the Settings form used to make them: queues, no accounts.
    let r = a.call(Method::POST, "/api/v1/agents", &root_s.h(), Some(json!({ "username": "nina", "password": PASSWORD, "role": "agent", "queues": ["support"] }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let nina = r.body["agent"]["id"].as_i64().unwrap();
    assert_eq!(r.body["agent"]["accounts"], json!([]));
    let nina_s = a.login("nina").await;
    let r = a
        .call(
            Method::POST,
            "/api/v1/deflections/whatsapp",
            &root_s.h(),
            Some(json!({ "name": "Bob", "phone": "+31687654321", "queue": "support" })),
        )
        .await;
    let id = r.body["conversation_id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{id}");
    let list = a
        .call(Method::GET, "/api/v1/conversations", &nina_s.h(), None)
        .await;
    assert_eq!(list.body["conversations"], json!([]), "{}", list.text);
    let r = a.call(Method::GET, &path, &nina_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let csv = a
        .call(
            Method::GET,
            "/api/v1/exports/conversations.csv",
            &nina_s.h(),
            None,
        )
        .await;
    assert_eq!(csv.text.lines().count(), 1, "only the header: {}", csv.text);
    // Plain agents list colleagues by name only, and not those sharing nothing with them.
    let r = a
        .call(Method::GET, "/api/v1/agents", &nina_s.h(), None)
        .await;
    let listed = r.body["agents"].as_array().unwrap();
    let names: Vec<&str> = listed
        .iter()
        .map(|x| x["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["root", "nina"],
        "not sam (sales, no account shared)"
    );
    assert!(listed.iter().all(|x| x.get("username").is_none()
        && x.get("accounts").is_none()
        && x.get("queues").is_none()));
    // The admin gives her the account: the conversation is hers to see.
    let r = a
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{nina}"),
            &root_s.h(),
            Some(json!({ "accounts": ["sandbox"] })),
        )
        .await;
    assert_eq!(
        r.body["agent"]["accounts"],
        json!(["sandbox"]),
        "{}",
        r.text
    );
    assert_eq!(r.body["agent"]["queues"], json!(["support"]), "kept");
    let r = a.call(Method::GET, &path, &nina_s.h(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn admins_change_roles_but_never_demote_the_last_admin() {
    let a = app().await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    let boss = a.agent("boss", Role::Supervisor, &[]).await;
    let root = a.agent("root", Role::Admin, &[]).await;
    let (ann_s, boss_s, root_s) = (
        a.login("ann").await,
        a.login("boss").await,
        a.login("root").await,
    );
    let patch = |id: i64, body: Value| (format!("/api/v1/agents/{id}"), Some(body));
    let role_changes = || async {
        a.inbox
            .events_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == deflect_chat::EventKind::AgentRoleChanged)
            .collect::<Vec<_>>()
    };
    // Only admins: an agent and a supervisor are refused, and nothing changes.
    for who in [&ann_s, &boss_s] {
        let (path, body) = patch(ann, json!({ "role": "admin" }));
        let r = a.call(Method::PATCH, &path, &who.h(), body).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{}",
            r.text
        );
    }
    assert_eq!(a.inbox.agent(ann).await.unwrap().role, Role::Agent);
    // No session, no CSRF token, an unknown role, an unknown agent.
    let (path, body) = patch(ann, json!({ "role": "supervisor" }));
    let r = a.call(Method::PATCH, &path, &[], body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = a
        .call(
            Method::PATCH,
            &path,
            &[("cookie", root_s.cookie.as_str())],
            body,
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "csrf"));
    let (path, body) = patch(ann, json!({ "role": "owner" }));
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert!(
        r.status.is_client_error() && r.status != StatusCode::FORBIDDEN,
        "{}",
        r.text
    );
    let (path, body) = patch(9999, json!({ "role": "agent" }));
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    // The last admin cannot demote themselves, even with other changes in the same request.
    let (path, body) = patch(root, json!({ "role": "agent", "queues": ["sales"] }));
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::CONFLICT, "conflict"),
        "{}",
        r.text
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last admin")
    );
    let root_now = a.inbox.agent(root).await.unwrap();
    assert_eq!((root_now.role, root_now.queues.len()), (Role::Admin, 0));
    assert!(role_changes().await.is_empty());
    // A change that cannot be made in full is not made in part.
    for bad in [
        json!({ "role": "supervisor", "password": "short" }),
        json!({ "role": "supervisor", "queues": ["nowhere"] }),
    ] {
        let (path, body) = patch(ann, bad);
        let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(a.inbox.agent(ann).await.unwrap().role, Role::Agent);
    }
    assert!(role_changes().await.is_empty());
    // Nor disable themselves: refused before the password changes too.
    let (path, body) = patch(
        root,
        json!({ "disabled": true, "password": "another long passphrase" }),
    );
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert_eq!((r.status, code(&r)), (StatusCode::CONFLICT, "conflict"));
    assert!(!a.inbox.agent(root).await.unwrap().disabled);
    assert!(
        a.inbox
            .verify_password("root", "another long passphrase")
            .await
            .is_err()
    );
    // Promote the agent to supervisor: their next request has the supervisor's view.
    assert_eq!(
        a.call(Method::GET, "/api/v1/board", &ann_s.h(), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let (path, body) = patch(ann, json!({ "role": "supervisor" }));
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["agent"]["role"], "supervisor");
    assert_eq!(
        a.call(Method::GET, "/api/v1/board", &ann_s.h(), None)
            .await
            .status,
        StatusCode::OK
    );
    let logged = role_changes().await;
    assert_eq!(logged.len(), 1);
    assert_eq!(
        logged[0].data,
        json!({ "agent_id": ann, "role": "supervisor", "previous": "agent", "by": root })
    );
    // Setting the role they have changes and logs nothing.
    let r = a
        .call(
            Method::PATCH,
            &path,
            &root_s.h(),
            Some(json!({ "role": "supervisor" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(role_changes().await.len(), 1);
    // With a second admin, the first may step down; then they manage no one.
    let (path, body) = patch(boss, json!({ "role": "admin" }));
    assert_eq!(
        a.call(Method::PATCH, &path, &root_s.h(), body).await.status,
        StatusCode::OK
    );
    let (path, body) = patch(root, json!({ "role": "agent" }));
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert_eq!(
        (r.status, &r.body["agent"]["role"]),
        (StatusCode::OK, &json!("agent"))
    );
    let (path, body) = patch(ann, json!({ "role": "agent" }));
    let r = a.call(Method::PATCH, &path, &root_s.h(), body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // And now boss is the last admin.
    let (path, body) = patch(boss, json!({ "role": "supervisor" }));
    let r = a.call(Method::PATCH, &path, &boss_s.h(), body).await;
    assert_eq!((r.status, code(&r)), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(role_changes().await.len(), 3);
    // A new password ends the agent's sessions: whoever had the old one signs in again.
    let me = async |s: &Session| a.call(Method::GET, "/api/v1/me", &s.h(), None).await;
    assert_eq!(me(&ann_s).await.status, StatusCode::OK);
    let (path, body) = patch(ann, json!({ "password": "a brand new passphrase" }));
    let r = a.call(Method::PATCH, &path, &boss_s.h(), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(me(&ann_s).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&boss_s).await.status, StatusCode::OK, "others stay");
    assert!(
        a.inbox
            .verify_password("ann", "a brand new passphrase")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn working_a_conversation_through_the_api() {
    let a = app().await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("bea", Role::Agent, &["support"]).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let (s, bea_s, boss_s) = (
        a.login("ann").await,
        a.login("bea").await,
        a.login("boss").await,
    );
    a.call(
        Method::PUT,
        "/api/v1/me/presence",
        &s.h(),
        Some(json!({ "presence": "available" })),
    )
    .await;
    // A web visitor starts a chat (the browser's language with it): offered to ann.
    let v = [("x-deflect-visitor", "visitor-token-0123456789abcdef")];
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &v,
            Some(json!({ "name": "Vic", "language": "nl-NL" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let c = |p: &str| format!("/api/v1/conversations/{id}{p}");
    let r = a.call(Method::POST, &c("/accept"), &bea_s.h(), None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::CONFLICT, "conflict"),
        "not offered to bea"
    );
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &s.h(),
            Some(json!({ "text": "hi" })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "not accepted yet"
    );
    let r = a.call(Method::POST, &c("/accept"), &s.h(), None).await;
    assert_eq!(
        (r.status, r.body["conversation"]["status"].as_str()),
        (StatusCode::OK, Some("assigned"))
    );
    assert_eq!(r.body["conversation"]["contact_language"], "nl");
    // Replies with an idempotency key are stored once.
    let send = json!({ "text": "Hello Vic", "client_key": "k-1" });
    let m1 = a
        .call(Method::POST, &c("/messages"), &s.h(), Some(send.clone()))
        .await;
    let m2 = a
        .call(Method::POST, &c("/messages"), &s.h(), Some(send))
        .await;
    assert_eq!(m1.status, StatusCode::CREATED);
    assert_eq!(m1.body["message"]["id"], m2.body["message"]["id"]);
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &s.h(),
            Some(json!({ "text": "" })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &s.h(),
            Some(json!({ "txt": "x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.call(
            Method::POST,
            &c("/notes"),
            &s.h(),
            Some(json!({ "text": "VIP" }))
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let r = a.call(Method::GET, &c("/messages"), &s.h(), None).await;
    let msgs = r.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().any(|m| m["internal"] == true));
    let r = a
        .call(Method::GET, &c("/messages?after=abc"), &s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Canned answers with placeholders.
    let r = a
        .call(
            Method::POST,
            "/api/v1/canned-answers",
            &boss_s.h(),
            Some(json!({ "title": "Hi", "body": "Hi {{customer_name}}, ref {{reference}}" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let cid = r.body["canned_answer"]["id"].as_i64().unwrap();
    let r = a
        .call(
            Method::POST,
            "/api/v1/canned-answers",
            &boss_s.h(),
            Some(json!({ "title": "Bad", "body": "{{nope}}" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/canned-answers?conversation_id={id}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.body["canned_answers"].as_array().unwrap().len(), 1);
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/canned-answers/{cid}/text?conversation_id={id}"),
            &s.h(),
            None,
        )
        .await;
    assert!(
        r.body["text"].as_str().unwrap().starts_with("Hi Vic, ref "),
        "{}",
        r.text
    );
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/canned-answers/{cid}/text"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = a
        .call(
            Method::PUT,
            &format!("/api/v1/canned-answers/{cid}"),
            &boss_s.h(),
            Some(json!({ "title": "Hello", "body": "Hello" })),
        )
        .await;
    assert_eq!(r.body["canned_answer"]["title"], "Hello");
    // Transfers: to an agent (offered to bea, who rejects: back to ann), to a queue.
    let r = a
        .call(Method::POST, &c("/transfer"), &s.h(), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let bea = a
        .inbox
        .agents()
        .await
        .unwrap()
        .iter()
        .find(|x| x.username == "bea")
        .unwrap()
        .id;
    let r = a
        .call(
            Method::POST,
            &c("/transfer"),
            &s.h(),
            Some(json!({ "agent_id": bea })),
        )
        .await;
    assert_eq!(r.body["conversation"]["status"], "offered");
    assert_eq!(
        a.call(Method::POST, &c("/reject"), &bea_s.h(), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = a.call(Method::GET, &c(""), &s.h(), None).await;
    assert_eq!(
        (
            r.body["conversation"]["status"].as_str(),
            r.body["conversation"]["agent_id"].as_i64()
        ),
        (Some("assigned"), Some(ann))
    );
    let r = a
        .call(
            Method::POST,
            &c("/transfer"),
            &s.h(),
            Some(json!({ "queue": "nope" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Closing needs the queue's disposition.
    let r = a.call(Method::POST, &c("/close"), &s.h(), None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "disposition_required")
    );
    let r = a
        .call(
            Method::POST,
            &c("/close"),
            &s.h(),
            Some(json!({ "disposition": "resolved" })),
        )
        .await;
    assert_eq!(r.body["conversation"]["status"], "closed");
    let r = a
        .call(
            Method::POST,
            &c("/close"),
            &s.h(),
            Some(json!({ "disposition": "resolved" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = a.call(Method::POST, &c("/claim"), &s.h(), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Transcript, CSV export, filters.
    let r = a
        .call(Method::GET, &c("/transcript"), &boss_s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        r.text.contains("ann: Hello Vic")
            && r.text.contains("(internal note): VIP")
            && r.text.contains("(resolved)"),
        "{}",
        r.text
    );
    let r = a
        .call(
            Method::GET,
            "/api/v1/exports/conversations.csv?channel=web&q=vic",
            &boss_s.h(),
            None,
        )
        .await;
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.text);
    assert!(lines[1].contains("\"Vic\"") && lines[1].contains("\"closed\""));
    let r = a
        .call(
            Method::GET,
            "/api/v1/exports/conversations.csv?q=nobody",
            &boss_s.h(),
            None,
        )
        .await;
    assert_eq!(r.text.lines().count(), 1);
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations?status=asleep",
            &boss_s.h(),
            None,
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let r = a
        .call(
            Method::GET,
            "/api/v1/conversations?status=closed&channel=web&from=0",
            &boss_s.h(),
            None,
        )
        .await;
    assert_eq!(r.body["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(
        a.call(
            Method::DELETE,
            &format!("/api/v1/canned-answers/{cid}"),
            &boss_s.h(),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.call(
            Method::DELETE,
            &format!("/api/v1/canned-answers/{cid}"),
            &boss_s.h(),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Outside the 24 h window (a hand-off nobody answered yet): free text is refused with the
    // template to use, which can be sent.
    let r = a
        .call(
            Method::POST,
            "/api/v1/deflections/whatsapp",
            &boss_s.h(),
            Some(json!({ "name": "Zoe" })),
        )
        .await;
    let hid = r.body["conversation_id"].as_i64().unwrap();
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{hid}/messages"),
            &boss_s.h(),
            Some(json!({ "text": "hello?" })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::CONFLICT, "outside_window")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("recontact"),
        "{}",
        r.text
    );
    // No WhatsApp number yet (the customer has not written): nothing to send a template to.
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{hid}/recontact"),
            &boss_s.h(),
            Some(json!({ "client_key": "r1" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // A deflected call's conversation waits for the customer; the template can go again.
    let d = a
        .inbox
        .deflect(&deflect_chat::Deflection {
            call: deflect_chat::CallContext {
                call_id: "call-1".into(),
                caller: None,
                callback_number: "+31611111111".into(),
                dialled_number: None,
                flow: None,
                language: None,
                started_at: 0,
                ended_at: 1000,
                input_method: deflect_chat::InputMethod::Dtmf,
                transcript: None,
                path: Vec::new(),
            },
            account: None,
            queue: None,
        })
        .await
        .unwrap();
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{}/recontact", d.conversation_id),
            &boss_s.h(),
            Some(json!({ "client_key": "r1" })),
        )
        .await;
    assert_eq!(
        (r.status, r.body["message"]["kind"].as_str()),
        (StatusCode::CREATED, Some("template"))
    );
    let r = a
        .call(
            Method::POST,
            "/api/v1/deflections/whatsapp",
            &boss_s.h(),
            Some(json!({ "phone": "0612" })),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    // Board and queues.
    let r = a
        .call(Method::GET, "/api/v1/board", &boss_s.h(), None)
        .await;
    assert_eq!(r.body["board"]["queues"][0]["name"], "support");
    let r = a.call(Method::GET, "/api/v1/queues", &s.h(), None).await;
    assert_eq!(r.body["queues"][0]["dispositions"][0], "resolved");
    assert_eq!(
        a.call(Method::GET, "/api/v1/agents", &s.h(), None)
            .await
            .body["agents"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn the_sandbox_phone_sees_and_answers() {
    let a = app().await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let s = a.login("boss").await;
    let r = a
        .call(Method::GET, "/api/v1/sandbox/accounts", &s.h(), None)
        .await;
    assert_eq!(r.body["accounts"][0]["name"], "sandbox");
    let r = a
        .call(
            Method::POST,
            "/api/v1/sandbox/sandbox/+31612345678/messages",
            &s.h(),
            Some(json!({ "text": "Hello" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let cid = r.body["conversations"][0].as_i64().unwrap();
    a.call(
        Method::POST,
        &format!("/api/v1/conversations/{cid}/claim"),
        &s.h(),
        None,
    )
    .await;
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{cid}/messages"),
            &s.h(),
            Some(json!({ "text": "Hi from us" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = a
        .call(
            Method::GET,
            "/api/v1/sandbox/sandbox/31612345678/messages",
            &s.h(),
            None,
        )
        .await;
    let bodies: Vec<&str> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["Hello", "Hi from us"]);
    let r = a
        .call(
            Method::GET,
            "/api/v1/sandbox/nope/31612345678/messages",
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = a
        .call(
            Method::POST,
            "/api/v1/sandbox/sandbox/12/messages",
            &s.h(),
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(Method::GET, "/api/v1/sandbox/accounts", &[], None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn interactive_messages_are_sent_and_read_through_the_api() {
    let a = app().await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let s = a.login("boss").await;
    let phone = "/api/v1/sandbox/sandbox/+31612345678/messages";
    let r = a
        .call(
            Method::POST,
            phone,
            &s.h(),
            Some(json!({ "text": "Hello" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let cid = r.body["conversations"][0].as_i64().unwrap();
    let c = |p: &str| format!("/api/v1/conversations/{cid}{p}");
    a.call(Method::POST, &c("/claim"), &s.h(), None).await;
    // A list in two sections: stored and answered with its `interactive`.
    let list = json!({ "type": "list", "button": "Shipping options", "sections": [
        { "title": "Fast", "rows": [{ "id": "express", "title": "Express", "description": "Next day" }] },
        { "title": "Cheap", "rows": [{ "id": "standard", "title": "Standard" }] }
    ]});
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &s.h(),
            Some(json!({ "text": "Which one?", "interactive": list })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut shown = list.clone();
    shown["body"] = json!("Which one?");
    assert_eq!(r.body["message"]["interactive"], shown);
    assert_eq!(r.body["message"]["kind"], "interactive");
    // Out of WhatsApp's limits: 422 `invalid`, naming the field.
    let cases = [
        (
            json!({ "type": "button", "buttons": [{ "id": "a", "title": "Twenty-one characters" }] }),
            "interactive.buttons[0].title",
        ),
        (
            json!({ "type": "list", "button": "Choose", "sections": [{ "title": "A", "rows":
                (0..11).map(|i| json!({ "id": format!("r{i}"), "title": "R" })).collect::<Vec<_>>() }] }),
            "interactive.sections[].rows",
        ),
        (
            json!({ "type": "cta_url", "display_text": "Open", "url": "ftp://example.com/x" }),
            "interactive.url",
        ),
        (
            json!({ "type": "list_reply", "id": "x", "title": "X" }),
            "interactive.type",
        ),
    ];
    for (interactive, field) in cases {
        let r = a
            .call(
                Method::POST,
                &c("/messages"),
                &s.h(),
                Some(json!({ "text": "Pick", "interactive": interactive })),
            )
            .await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{}",
            r.text
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &s.h(),
            Some(
                json!({ "text": "b".repeat(1025), "interactive": { "type": "button",
                "buttons": [{ "id": "a", "title": "A" }] } }),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text:")
    );
    // An unknown type is a malformed body.
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &s.h(),
            Some(json!({ "text": "x", "interactive": { "type": "carousel" } })),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The customer taps a button on the sandbox phone: a button reply with its id and title.
    let r = a
        .call(
            Method::POST,
            phone,
            &s.h(),
            Some(json!({ "text": "Express", "button_payload": "express" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = a.call(Method::GET, &c("/messages"), &s.h(), None).await;
    let msgs = r.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "{}", r.text);
    assert_eq!(msgs[0]["interactive"], Value::Null);
    assert_eq!(msgs[1]["interactive"], shown);
    assert_eq!(
        msgs[2]["interactive"],
        json!({ "type": "button_reply", "id": "express", "title": "Express" })
    );
}

#[tokio::test]
async fn csat_answers_are_shown_exported_and_averaged_for_supervisors() {
    let mut c = config();
    c.inbox.automations.csat = true;
    let a = app_with(c).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    let (s, ann_s) = (a.login("boss").await, a.login("ann").await);
    a.call(
        Method::PUT,
        "/api/v1/me/presence",
        &ann_s.h(),
        Some(json!({ "presence": "available" })),
    )
    .await;
    let phone = "/api/v1/sandbox/sandbox/+31612345678/messages";
    let r = a
        .call(
            Method::POST,
            phone,
            &s.h(),
            Some(json!({ "text": "Hello" })),
        )
        .await;
    let cid = r.body["conversations"][0].as_i64().unwrap();
    let c = |p: &str| format!("/api/v1/conversations/{cid}{p}");
    let r = a.call(Method::POST, &c("/accept"), &ann_s.h(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    a.call(
        Method::POST,
        &c("/messages"),
        &ann_s.h(),
        Some(json!({ "text": "Hi from us" })),
    )
    .await;
    let r = a
        .call(
            Method::POST,
            &c("/close"),
            &ann_s.h(),
            Some(json!({ "disposition": "resolved" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The sandbox phone sees the survey and taps "Good".
    let r = a.call(Method::GET, phone, &s.h(), None).await;
    let survey = r.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(survey["kind"], "interactive");
    let good = survey["payload"]["buttons"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = a
        .call(
            Method::POST,
            phone,
            &s.h(),
            Some(json!({ "text": "Good", "button_payload": good })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["conversations"][0], cid, "the rated conversation");
    let r = a.call(Method::GET, &c(""), &s.h(), None).await;
    assert_eq!(r.body["conversation"]["csat_score"], 5);
    assert_eq!(r.body["conversation"]["status"], "closed");
    let csv = a
        .call(
            Method::GET,
            "/api/v1/exports/conversations.csv",
            &s.h(),
            None,
        )
        .await;
    let mut lines = csv.text.lines();
    assert!(lines.next().unwrap().ends_with(",csat_score,csat_comment"));
    assert!(
        lines.next().unwrap().ends_with(",\"5\",\"\""),
        "{}",
        csv.text
    );
    // The report: supervisors only.
    let r = a
        .call(Method::GET, "/api/v1/reports/csat", &s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({
            "by_agent": [{"agent_id": ann, "display_name": "ann", "count": 1, "average": 5.0}],
            "by_queue": [{"queue": "support", "count": 1, "average": 5.0}],
            "overall": {"count": 1, "average": 5.0}
        })
    );
    let r = a
        .call(
            Method::GET,
            "/api/v1/reports/csat?from=1&to=2",
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.body["overall"], json!({"count": 0, "average": null}));
    let r = a
        .call(Method::GET, "/api/v1/reports/csat?from=soon", &s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = a
        .call(Method::GET, "/api/v1/reports/csat", &ann_s.h(), None)
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden"));
}

#[tokio::test]
async fn a_web_visitor_rates_the_chat_that_ended_in_the_widget() {
    let mut c = config();
    c.inbox.automations.csat = true;
    let a = app_with(c).await;
    a.agent("ann", Role::Agent, &["support"]).await;
    let s = a.login("ann").await;
    a.call(
        Method::PUT,
        "/api/v1/me/presence",
        &s.h(),
        Some(json!({ "presence": "available" })),
    )
    .await;
    let v = [
        ("origin", "https://shop.example"),
        ("x-deflect-visitor", "visitor-token-0123456789abcdef"),
    ];
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &v,
            Some(json!({ "name": "Vic" })),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let c = |p: &str| format!("/api/v1/conversations/{id}{p}");
    a.call(Method::POST, &c("/accept"), &s.h(), None).await;
    a.call(
        Method::POST,
        &c("/messages"),
        &s.h(),
        Some(json!({ "text": "Hi Vic" })),
    )
    .await;
    let rating = format!("/widget/sites/www/conversations/{id}/rating");
    let r = a
        .call(Method::POST, &rating, &v, Some(json!({ "score": 5 })))
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::CONFLICT, "conflict"),
        "still open"
    );
    let r = a
        .call(
            Method::POST,
            &c("/close"),
            &s.h(),
            Some(json!({ "disposition": "resolved" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = a
        .call(Method::POST, &rating, &v, Some(json!({ "score": 3 })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({ "follow_up": "Thank you! Anything you would like to tell us?" })
    );
    let r = a
        .call(
            Method::POST,
            &rating,
            &v,
            Some(json!({ "comment": "Quick answer" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = a
        .call(
            Method::POST,
            &rating,
            &v,
            Some(json!({ "score": 3, "comment": "x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = a.call(Method::GET, &c(""), &s.h(), None).await;
    assert_eq!(
        (
            &r.body["conversation"]["csat_score"],
            &r.body["conversation"]["csat_comment"]
        ),
        (&json!(3), &json!("Quick answer"))
    );
    let elsewhere = [
        ("origin", "https://evil.example"),
        ("x-deflect-visitor", "visitor-token-0123456789abcdef"),
    ];
    let r = a
        .call(
            Method::POST,
            &rating,
            &elsewhere,
            Some(json!({ "score": 1 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// While an agent chats with the visitor the widget's hand-off is refused (409
/// `agent_chatting`); the agent's message carries their name (`sender_name`).
#[tokio::test]
async fn the_widget_stays_with_the_agent_who_chats_and_names_them() {
    let a = app().await;
    let ok = [
        ("origin", "https://shop.example"),
        ("x-deflect-visitor", "visitor-token-0123456789abcdef"),
    ];
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &ok,
            Some(json!({ "name": "Vic", "page_url": "https://shop.example/cart", "referrer": "javascript:x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    a.agent("ann", Role::Agent, &["support", "sales"]).await;
    let s = a.login("ann").await;
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/claim"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let handoff = format!("/widget/sites/www/conversations/{id}/handoff");
    let r = a.call(Method::POST, &handoff, &ok, None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::CONFLICT, "agent_chatting")
    );
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            &s.h(),
            Some(json!({ "text": "Hi Vic" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/messages"),
            &s.h(),
            None,
        )
        .await;
    let mine = (r.body["messages"].as_array().unwrap().iter())
        .find(|m| m["body"] == "Hi Vic")
        .unwrap();
    assert_eq!(mine["sender_name"], "ann");
    // The contact card shows where the chat began (not the junk referrer).
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/contact"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(
        r.body["attributes"],
        json!({ "widget": { "site": "www", "page_url": "https://shop.example/cart" } })
    );
    assert_eq!(r.body["contact"]["identities"][0]["channel"], "web");
    assert_eq!(r.body["contact"]["identities"][0]["site"], "www");
    assert!(!r.text.contains("visitor-token"), "{}", r.text);
    // The transfer picker's load: one conversation held, of five.
    let r = a.call(Method::GET, "/api/v1/agents", &s.h(), None).await;
    let me = r.body["agents"][0]["id"].as_i64().unwrap();
    assert_eq!(
        (&r.body["load"][me.to_string()], &r.body["capacity"]),
        (&json!(1), &json!(5))
    );
    // Back in the queue, with a note for whoever takes it: the visitor may move to WhatsApp.
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{id}/transfer"),
            &s.h(),
            Some(json!({ "queue": "sales", "note": "Asked about an invoice" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/conversations/{id}/messages"),
            &s.h(),
            None,
        )
        .await;
    let notes: Vec<_> = (r.body["messages"].as_array().unwrap().iter())
        .filter(|m| m["internal"] == true)
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(notes, [json!("Asked about an invoice")]);
    let r = a.call(Method::POST, &handoff, &ok, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn the_widget_checks_origins_visitors_and_rates() {
    let a = app().await;
    let ok = [
        ("origin", "https://shop.example"),
        ("x-deflect-visitor", "visitor-token-0123456789abcdef"),
    ];
    let r = a.call(Method::GET, "/widget/sites/www", &ok, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    assert_eq!(
        (r.body["ask_name"].as_str(), r.body["title"].as_str()),
        (Some("required"), Some("Chat with us"))
    );
    // Preflight for the visitor header.
    let r = a
        .call(
            Method::OPTIONS,
            "/widget/sites/www/conversations",
            &[
                ("origin", "https://shop.example"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type,x-deflect-visitor",
                ),
            ],
            None,
        )
        .await;
    assert!(r.status.is_success());
    assert!(
        r.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap()
            .contains("x-deflect-visitor")
    );
    // Another origin: no CORS grant, and refused.
    let r = a
        .call(
            Method::GET,
            "/widget/sites/www",
            &[("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::FORBIDDEN, "origin_not_allowed")
    );
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    // The gateway's own origin is always allowed (the default site of /demo).
    assert_eq!(
        a.call(
            Method::GET,
            "/widget/sites/default",
            &[("origin", "http://gw.test")],
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        a.call(Method::GET, "/widget/sites/nope", &[], None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Starting: a token is needed, the name is required by this site, phones are E.164.
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &ok[..1],
            Some(json!({ "name": "Vic" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &ok,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &ok,
            Some(json!({ "name": "Vic", "phone": "0612" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &ok,
            Some(json!({ "name": "Vic", "phone": "+31612345678" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_i64().unwrap();
    assert!(
        r.body.get("queue").is_none() && r.body.get("agent_id").is_none(),
        "visitors see no internals"
    );
    // A visitor reads only their own conversation.
    let path = format!("/widget/sites/www/conversations/{id}");
    assert_eq!(
        a.call(Method::GET, &path, &ok, None).await.body["status"],
        "queued"
    );
    let other = [
        ("origin", "https://shop.example"),
        ("x-deflect-visitor", "another-visitor-token-xyz"),
    ];
    assert_eq!(
        a.call(Method::GET, &path, &other, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.call(Method::POST, &format!("{path}/handoff"), &other, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.call(
            Method::GET,
            &format!("/widget/sites/default/conversations/{id}"),
            &[("x-deflect-visitor", "visitor-token-0123456789abcdef")],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Nor through another site's page, not even to hand it off.
    assert_eq!(
        a.call(
            Method::POST,
            &format!("/widget/sites/default/conversations/{id}/handoff"),
            &[
                ("origin", "http://gw.test"),
                ("x-deflect-visitor", "visitor-token-0123456789abcdef")
            ],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // The hand-off: a code, the wa.me link and its QR code.
    let r = a
        .call(Method::POST, &format!("{path}/handoff"), &ok, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let code_ = r.body["code"].as_str().unwrap();
    assert_eq!(
        r.body["url"],
        format!("https://wa.me/15550100000?text=Continue+my+chat+%28ref+{code_}%29")
    );
    assert!(r.body["qr_svg"].as_str().unwrap().contains("<svg"));
    // The socket refuses other origins before upgrading.
    let r = a
        .call(
            Method::GET,
            "/widget/ws?site=www",
            &[("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Rate limit: 40 a minute per client address for this test's configuration.
    let mut limited = false;
    for _ in 0..45 {
        let r = a.call(Method::GET, "/widget/sites/www", &ok, None).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(code(&r), "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "the widget endpoints are rate-limited");
}

/// Behind a reverse proxy the client's address is the proxy header's — but only from a
/// trusted proxy: a client forging the header is still counted as itself.
#[tokio::test]
async fn the_client_address_header_is_believed_only_from_trusted_proxies() {
    let mut c = config();
    c.http.widget_requests_per_minute = 2;
    c.http.client_ip_header = Some("x-forwarded-for".into());
    c.http.trusted_proxies = vec!["10.0.0.5/32".parse().unwrap()];
    let a = app_with(c).await;
    let proxy: std::net::SocketAddr = "10.0.0.5:40000".parse().unwrap();
    let stranger: std::net::SocketAddr = "203.0.113.9:40000".parse().unwrap();
    let site = "/widget/sites/www";
    let origin = ("origin", "https://shop.example");
    let status = |r: Res| r.status;
    // Through the proxy: each client has its own allowance.
    for client in ["198.51.100.1", "198.51.100.2"] {
        let xff = format!("192.0.2.77, {client}");
        let h = [origin, ("x-forwarded-for", xff.as_str())];
        assert_eq!(status(a.get_from(proxy, site, &h).await), StatusCode::OK);
        assert_eq!(status(a.get_from(proxy, site, &h).await), StatusCode::OK);
        assert_eq!(
            status(a.get_from(proxy, site, &h).await),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // Not through it: a new forged address each time changes nothing.
    for (i, expected) in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ]
    .into_iter()
    .enumerate()
    {
        let xff = format!("198.51.100.{}", 10 + i);
        let h = [origin, ("x-forwarded-for", xff.as_str())];
        assert_eq!(
            status(a.get_from(stranger, site, &h).await),
            expected,
            "request {i}"
        );
    }
}

/// Widget calls as the IVR would take them: answered with a fixed SDP, or refused when the
/// offer says `refuse`; every call and hang-up kept.
#[derive(Debug, Default)]
struct FakeIvr {
    placed: std::sync::Mutex<Vec<deflect_web::calls::BrowserCall>>,
    hung_up: std::sync::Mutex<Vec<String>>,
}

impl deflect_web::calls::BrowserCalls for FakeIvr {
    fn place(&self, call: deflect_web::calls::BrowserCall) -> deflect_web::calls::Placing {
        let refused = call.offer.contains("refuse");
        self.placed.lock().unwrap().push(call);
        Box::pin(async move {
            match refused {
                true => Err(deflect_web::calls::CallRefused::Unavailable),
                false => Ok("v=0 answer".to_owned()),
            }
        })
    }

    fn hang_up(&self, call_id: &str) {
        self.hung_up.lock().unwrap().push(call_id.to_owned());
    }
}

/// Sets `agents` available.
async fn make_available(a: &App, agents: &[i64]) {
    for agent in agents {
        a.inbox
            .set_presence(*agent, deflect_chat::Presence::Available)
            .await
            .unwrap();
    }
}

/// Opens the inbox of `agents` (a live feed each, while the guards live).
fn open_inbox(a: &App, agents: &[i64]) -> Vec<deflect_web::phone::Listening> {
    agents.iter().map(|agent| a.phones.listen(*agent)).collect()
}

/// A carrier's call the `agents` flow puts through to the `support` queue.
fn support_call() -> deflect_web::phone::Ringing {
    deflect_web::phone::Ringing {
        queue: "support".into(),
        channel: "carrier".into(),
        flow: "agents".into(),
        ..Default::default()
    }
}

/// Rings `call` on the app's softphones: its id, and what the agents do.
fn ring(
    a: &App,
    call: deflect_web::phone::Ringing,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<deflect_web::phone::PhoneSignal>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (
        a.phones.ring(call, Box::new(move |s| tx.send(s).is_ok())),
        rx,
    )
}

/// The states of the next `n` `phone.call` events on `feed`, checking each is about `id`.
async fn phone_states(feed: &mut deflect_chat::Subscription, id: &str, n: usize) -> Vec<String> {
    let mut states = Vec::new();
    while states.len() < n {
        let e = feed.next().await.unwrap().unwrap();
        if e.kind == deflect_chat::EventKind::PhoneCall {
            assert_eq!((e.id, e.data["call"]["id"].as_str()), (0, Some(id)));
            states.push(e.data["call"]["state"].as_str().unwrap().to_owned());
        }
    }
    states
}

/// A call put through to a queue's agents rings on the softphones of those available: other
/// queues' agents neither see it nor may answer it; the first answer takes it (409 for the
/// next) and gets the IVR's answer; only the agent on it may hang up; each change reaches
/// the live feed in order; a call nobody available can take ends at once.
#[tokio::test]
async fn a_call_rings_for_its_queues_agents_and_the_first_to_answer_takes_it() {
    use deflect_chat::Presence;
    use deflect_web::phone::{PhoneSignal, Ringing};
    let a = app().await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    let bob = a.agent("bob", Role::Agent, &["support"]).await;
    let sal = a.agent("sal", Role::Agent, &["sales"]).await;
    let ringing = || Ringing {
        caller: Some("+31612345678".into()),
        ..support_call()
    };
    let (_, mut rx) = ring(&a, ringing());
    assert!(
        deflect_web::testing::rang_for_nobody(&mut rx).await,
        "nobody available: it ends at once"
    );
    make_available(&a, &[ann, bob, sal]).await;
    let (_, mut rx) = ring(&a, ringing());
    assert!(
        deflect_web::testing::rang_for_nobody(&mut rx).await,
        "available, inbox closed: no ring"
    );
    let mut pages = open_inbox(&a, &[ann, bob, sal]);
    let mut feed = a.inbox.subscribe(None).await.unwrap();
    let (id, mut rx) = ring(&a, ringing());
    let (ann_s, bob_s, sal_s) = (
        a.login("ann").await,
        a.login("bob").await,
        a.login("sal").await,
    );
    let listed = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["calls"][0]["id"], id.as_str());
    assert_eq!(listed.body["calls"][0]["state"], "ringing");
    assert_eq!(listed.body["calls"][0]["caller"], "+31612345678");
    assert_eq!(listed.body["ice_servers"], json!([]));
    let theirs = a.call(Method::GET, "/api/v1/phone", &sal_s.h(), None).await;
    assert_eq!(theirs.body["calls"], json!([]), "another queue's agent");
    let answer_path = format!("/api/v1/phone/calls/{id}/answer");
    let offer = json!({ "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n" });
    let r = a
        .call(Method::POST, &answer_path, &sal_s.h(), Some(offer.clone()))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = a
        .call(
            Method::POST,
            &answer_path,
            &ann_s.h(),
            Some(json!({ "sdp": "hello" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "not an offer");
    let ivr = async {
        match rx.recv().await {
            Some(PhoneSignal::Answered {
                agent,
                offer,
                answer,
            }) => {
                assert_eq!(agent, ann);
                assert!(offer.starts_with("v=0"));
                answer.send(Ok("v=0 answer".into())).unwrap();
            }
            other => panic!("expected the answer, got {other:?}"),
        }
    };
    let anns = ann_s.h();
    let (r, ()) = tokio::join!(
        a.call(Method::POST, &answer_path, &anns, Some(offer.clone())),
        ivr
    );
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["sdp"], "v=0 answer");
    let r = a
        .call(Method::POST, &answer_path, &bob_s.h(), Some(offer))
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::CONFLICT, "conflict"));
    let bobs = a.call(Method::GET, "/api/v1/phone", &bob_s.h(), None).await;
    assert_eq!(bobs.body["calls"], json!([]), "answered by a colleague");
    let anns = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(anns.body["calls"][0]["state"], "answered");
    assert_eq!(anns.body["calls"][0]["agent_id"], ann);
    // Bob away, Ann on this call: a second call finds nobody to ring.
    a.inbox.set_presence(bob, Presence::Away).await.unwrap();
    let (_, mut second) = ring(&a, ringing());
    assert!(
        deflect_web::testing::rang_for_nobody(&mut second).await,
        "the one agent left is busy"
    );
    // Only the agent on the call holds the caller; holding twice signals once.
    let hold = format!("/api/v1/phone/calls/{id}/hold");
    let held = |on: bool| Some(json!({ "held": on }));
    let r = a.call(Method::POST, &hold, &bob_s.h(), held(true)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not bob's call");
    let r = a
        .call(Method::POST, &hold, &ann_s.h(), Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("held"), "{}", r.text);
    for _ in 0..2 {
        let r = a.call(Method::POST, &hold, &ann_s.h(), held(true)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let anns = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(anns.body["calls"][0]["held"], true);
    let r = a.call(Method::POST, &hold, &ann_s.h(), held(false)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(matches!(rx.recv().await, Some(PhoneSignal::Held(true))));
    assert!(matches!(rx.recv().await, Some(PhoneSignal::Held(false))));
    let hang_up = format!("/api/v1/phone/calls/{id}/hangup");
    let r = a.call(Method::POST, &hang_up, &bob_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not bob's call");
    let r = a.call(Method::POST, &hang_up, &ann_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(matches!(rx.recv().await, Some(PhoneSignal::HungUp)));
    a.phones.end(&id);
    let anns = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(anns.body["calls"], json!([]));
    assert_eq!(
        phone_states(&mut feed, &id, 5).await,
        ["ringing", "answered", "answered", "answered", "ended"],
        "held and taken back, each on the feed"
    );
    let r = a.call(Method::POST, &hold, &ann_s.h(), held(true)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "over");
    // Ann free again, but her inbox closed: nobody to ring.
    pages.remove(0);
    let (_, mut third) = ring(&a, ringing());
    assert!(
        deflect_web::testing::rang_for_nobody(&mut third).await,
        "Ann's inbox is closed"
    );
}

/// A call rings only for agents with room for it, as conversations are offered: an agent
/// holding `inbox.max_conversations_per_agent` conversations (offered or assigned) is not rung.
#[tokio::test]
async fn a_call_does_not_ring_an_agent_without_room() {
    let mut c = config();
    c.inbox.max_conversations_per_agent = 1;
    let a = app_with(c).await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    make_available(&a, &[ann]).await;
    let _pages = open_inbox(&a, &[ann]);
    let ringing = support_call;
    let mut feed = a.inbox.subscribe(None).await.unwrap();
    let (id, _rx) = ring(&a, ringing());
    assert_eq!(phone_states(&mut feed, &id, 1).await, ["ringing"]);
    a.phones.end(&id);
    // A web visitor's chat (the site's queue is support), offered to Ann, takes her one place.
    let (chats, vic) = ("/widget/sites/www/conversations", json!({ "name": "Vic" }));
    let v = [("x-deflect-visitor", "visitor-token-0123456789abcdef")];
    let r = a.call(Method::POST, chats, &v, Some(vic)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let viewer = a.inbox.viewer(ann).await.unwrap();
    assert_eq!(a.inbox.agent_loads(&viewer).await.unwrap(), [(ann, 1)]);
    let (_, mut rx) = ring(&a, ringing());
    assert!(
        deflect_web::testing::rang_for_nobody(&mut rx).await,
        "Ann has no room: no ring"
    );
}

/// A call that rings only for an agent who goes away (or logs out) stops at once, so the
/// IVR's flow goes on instead of waiting for the ring timeout.
#[tokio::test]
async fn a_call_stops_ringing_when_its_last_agent_goes_away() {
    let a = app().await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    let bob = a.agent("bob", Role::Agent, &["support"]).await;
    make_available(&a, &[ann, bob]).await;
    let _pages = open_inbox(&a, &[ann, bob]);
    let (ann_s, bob_s) = (a.login("ann").await, a.login("bob").await);
    let (_, mut rx) = ring(&a, support_call());
    let away = Some(json!({ "presence": "away" }));
    let r = a
        .call(Method::PUT, "/api/v1/me/presence", &ann_s.h(), away)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        rx.try_recv().unwrap_err(),
        tokio::sync::mpsc::error::TryRecvError::Empty,
        "still ringing for Bob"
    );
    let r = a
        .call(Method::DELETE, "/api/v1/session", &bob_s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(
        matches!(
            rx.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ),
        "nobody left: it ended before the logout's answer"
    );
}

/// Declining stops a call ringing for that agent only; once every available agent who may
/// take it declined, it ends (its ringer hears nobody is left) and the agents see it end.
#[tokio::test]
async fn a_call_every_agent_declined_ends_for_the_ivr_to_go_on() {
    let a = app().await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    let bob = a.agent("bob", Role::Agent, &["support"]).await;
    make_available(&a, &[ann, bob]).await;
    let _pages = open_inbox(&a, &[ann, bob]);
    let mut feed = a.inbox.subscribe(None).await.unwrap();
    let (id, mut rx) = ring(&a, support_call());
    let (ann_s, bob_s) = (a.login("ann").await, a.login("bob").await);
    let decline = format!("/api/v1/phone/calls/{id}/decline");
    let r = a.call(Method::POST, &decline, &ann_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let anns = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(anns.body["calls"], json!([]), "no longer ringing for Ann");
    let bobs = a.call(Method::GET, "/api/v1/phone", &bob_s.h(), None).await;
    assert_eq!(
        bobs.body["calls"][0]["id"],
        id.as_str(),
        "still ringing for Bob"
    );
    assert_eq!(
        rx.try_recv().unwrap_err(),
        tokio::sync::mpsc::error::TryRecvError::Empty,
        "the call goes on ringing"
    );
    let r = a.call(Method::POST, &decline, &bob_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(
        deflect_web::testing::rang_for_nobody(&mut rx).await,
        "nobody left: the ringer hears it end"
    );
    let r = a.call(Method::POST, &decline, &bob_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "over");
    assert_eq!(phone_states(&mut feed, &id, 2).await, ["ringing", "ended"]);
}

#[tokio::test]
async fn a_widget_visitor_calls_the_sites_number_and_hangs_up_only_their_calls() {
    let mut c = config();
    c.media.ice_servers = vec![deflect_config::IceServerConfig {
        urls: vec!["stun:stun.example.com:3478".into()],
        ..Default::default()
    }];
    let www = c.widget.sites.iter_mut().find(|s| s.name == "www").unwrap();
    www.call_number = Some("+31201234567".into());
    c.widget.sites.push(SiteConfig {
        name: "quiet".into(),
        queue: Some("support".into()),
        ..SiteConfig::default()
    });
    let ivr = Arc::new(FakeIvr::default());
    let a = App(TestApp::with_calls(&c, ivr.clone()).await);
    let settings = a.call(Method::GET, "/widget/sites/www", &[], None).await;
    assert_eq!(settings.body["calls"], true);
    let stun = json!([{ "urls": ["stun:stun.example.com:3478"] }]);
    assert_eq!(settings.body["ice_servers"], stun);
    let quiet = a.call(Method::GET, "/widget/sites/quiet", &[], None).await;
    assert_eq!(quiet.body["calls"], false, "no call_number");
    assert_eq!(quiet.body["ice_servers"], json!([]));
    let start = |site: &'static str, token: &'static str| {
        let a = &a;
        async move {
            let v = [("x-deflect-visitor", token)];
            let r = a
                .call(
                    Method::POST,
                    &format!("/widget/sites/{site}/conversations"),
                    &v,
                    Some(json!({ "name": "Vic", "phone": "+31612345678" })),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{site} {token}: {}", r.text);
            r.body["id"].as_i64().unwrap()
        }
    };
    let (vic, other) = (
        "visitor-token-0123456789abcdef",
        "visitor-token-fedcba9876543210",
    );
    let id = start("www", vic).await;
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n";
    let call = |path: String, token: &'static str, sdp: &'static str| {
        let a = &a;
        async move {
            let v = [("x-deflect-visitor", token)];
            a.call(Method::POST, &path, &v, Some(json!({ "sdp": sdp })))
                .await
        }
    };
    let call_path = format!("/widget/sites/www/conversations/{id}/call");
    let r = call(call_path.clone(), vic, offer).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["sdp"], "v=0 answer");
    let call_id = r.body["call_id"].as_str().unwrap().to_owned();
    assert!(call_id.starts_with(&format!("widget-{id}-")), "{call_id}");
    let placed = ivr.placed.lock().unwrap().clone();
    assert_eq!(placed.len(), 1);
    assert_eq!(
        (
            placed[0].call_id.as_str(),
            placed[0].channel.as_str(),
            placed[0].caller.as_deref(),
            placed[0].dialled.as_str()
        ),
        (
            call_id.as_str(),
            "widget:www",
            Some("+31612345678"),
            "+31201234567"
        )
    );

    // Another visitor reaches neither the conversation nor its call.
    let r = call(call_path.clone(), other, offer).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let theirs = start("www", other).await;
    let hang_up = |conversation: i64, token: &'static str, call: &str| {
        let (a, call) = (&a, call.to_owned());
        async move {
            a.call(
                Method::POST,
                &format!("/widget/sites/www/conversations/{conversation}/call/hangup"),
                &[("x-deflect-visitor", token)],
                Some(json!({ "call_id": call })),
            )
            .await
        }
    };
    let r = hang_up(theirs, other, &call_id).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(ivr.hung_up.lock().unwrap().is_empty());
    let r = hang_up(id, vic, &call_id).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(*ivr.hung_up.lock().unwrap(), [call_id]);

    // Not an offer; an offer the IVR cannot answer; a site without calls.
    let r = call(call_path.clone(), vic, "hello").await;
    let refused = (StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!((r.status, code(&r)), refused);
    let r = call(call_path, vic, "v=0\r\nrefuse").await;
    let refused = (StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!((r.status, code(&r)), refused);
    let third = "visitor-token-aaaabbbbccccdddd";
    let q = start("quiet", third).await;
    let r = call(
        format!("/widget/sites/quiet/conversations/{q}/call"),
        third,
        offer,
    )
    .await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        ivr.placed.lock().unwrap().len(),
        2,
        "the refused offer and the first call"
    );
}

#[tokio::test]
async fn outside_opening_hours_the_widget_offers_whatsapp_at_once() {
    let mut c = config();
    c.widget.sites[1].hours = Some(deflect_config::HoursConfig {
        time_zone: "Europe/Amsterdam".into(),
        weekly: vec!["mon-fri 09:00-17:00".parse().unwrap()],
        holidays: vec![],
    });
    // Saturday 2026-11-21 13:00 in Amsterdam.
    let saturday: i64 = 1_795_262_400_000;
    let clock = deflect_chat::ManualClock::new(saturday);
    let a = app_on(c, Arc::new(clock.clone())).await;
    let visitor = |t: &'static str| [("origin", "https://shop.example"), ("x-deflect-visitor", t)];
    let ann = visitor("visitor-token-0123456789abcdef");
    let r = a.call(Method::GET, "/widget/sites/www", &ann, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["open"], false);
    assert!(
        r.body["closed_message"]
            .as_str()
            .unwrap()
            .contains("closed")
    );
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &ann,
            Some(json!({ "name": "Ann" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Offered at once: no escalation timeout to wait for.
    assert_eq!(r.body["escalation_at"], saturday);
    assert_eq!(r.body["status"], "queued");
    let id = r.body["id"].as_i64().unwrap();
    let events = a.inbox.conversation_events(id, 0, 100).await.unwrap();
    let offer = events
        .iter()
        .filter_map(deflect_chat::webchat::visitor_event)
        .find(|v| v.kind == deflect_chat::VisitorEventKind::Escalation)
        .unwrap();
    assert_eq!(offer.data["reason"], "closed");
    let r = a
        .call(
            Method::POST,
            &format!("/widget/sites/www/conversations/{id}/handoff"),
            &ann,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["url"]
            .as_str()
            .unwrap()
            .starts_with("https://wa.me/")
    );
    // The site without hours is always open.
    let r = a
        .call(Method::GET, "/widget/sites/default", &[], None)
        .await;
    assert_eq!(r.body["open"], true);
    // Monday 2026-11-23 10:00 in Amsterdam: open, the timeout applies as before.
    clock.set(saturday + 2 * 86_400_000 - 3 * 3_600_000);
    let bob = visitor("visitor-token-fedcba9876543210");
    let r = a.call(Method::GET, "/widget/sites/www", &bob, None).await;
    assert_eq!(r.body["open"], true);
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &bob,
            Some(json!({ "name": "Bob" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["escalation_at"], Value::Null);
}

/// Admins change the settings the configuration file leaves alone, and the widget shows the
/// change at once; keys the file sets answer 409, bad values 422 naming their key, unknown
/// scopes 404; agents and supervisors neither read nor change them.
#[tokio::test]
async fn admins_override_settings_the_file_leaves_alone() {
    let a = app().await;
    a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    a.agent("root", Role::Admin, &[]).await;
    let (ann_s, boss_s, root_s) = (
        a.login("ann").await,
        a.login("boss").await,
        a.login("root").await,
    );
    let greeting =
        json!({ "greeting": "Goedemiddag! Waarmee kunnen we helpen?", "title": "Praat met ons" });
    let calls = [
        (Method::GET, "/api/v1/settings", None),
        (
            Method::PUT,
            "/api/v1/settings/site:www",
            Some(greeting.clone()),
        ),
        (Method::DELETE, "/api/v1/settings/site:www", None),
    ];
    forbidden_to(&a, &[&ann_s, &boss_s], &calls).await;
    let r = a
        .call(Method::GET, "/api/v1/settings", &root_s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let scopes: Vec<&str> = (r.body["settings"].as_array().unwrap().iter())
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        [
            "inbox",
            "account:sandbox",
            "site:default",
            "site:www",
            "queue:support",
            "queue:sales"
        ]
    );
    let support = &r.body["settings"][4];
    assert_eq!(
        support["configured"],
        json!(["disposition_required", "dispositions"])
    );

    let r = a
        .call(
            Method::PUT,
            "/api/v1/settings/site:www",
            &root_s.h(),
            Some(greeting.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["settings"]["overrides"], greeting);
    assert_eq!(r.body["settings"]["values"]["title"], "Praat met ons");
    let page = [("origin", "https://shop.example")];
    let r = a.call(Method::GET, "/widget/sites/www", &page, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["title"], &r.body["greeting"]),
        (&json!("Praat met ons"), &greeting["greeting"])
    );

    for (scope, body, status, says) in [
        (
            "queue:support",
            json!({ "dispositions": ["x"] }),
            StatusCode::CONFLICT,
            "inbox.queues[0].dispositions: is set in the configuration file",
        ),
        (
            "queue:sales",
            json!({ "wait_timeout": "1s" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "inbox.queues[1].wait_timeout: ",
        ),
        (
            "queue:sales",
            json!({ "colour": "red" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `colour`",
        ),
        (
            "inbox",
            json!({ "whitelist": ["+31*"] }),
            StatusCode::CONFLICT,
            "inbox.automations.whitelist: ",
        ),
        ("queue:nope", json!({}), StatusCode::NOT_FOUND, "not found"),
    ] {
        let path = format!("/api/v1/settings/{scope}");
        let r = a.call(Method::PUT, &path, &root_s.h(), Some(body)).await;
        assert_eq!(r.status, status, "{scope}: {}", r.text);
        let message = r.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{scope}: {message}");
    }

    // Texts per language: a Dutch browser gets the Dutch ones, others the site's own.
    let dutch =
        json!({ "translations": { "nl": { "greeting": "Hallo! Waarmee kunnen we helpen?" } } });
    let r = a
        .call(
            Method::PUT,
            "/api/v1/settings/site:www",
            &root_s.h(),
            Some(dutch),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let nl = [
        ("origin", "https://shop.example"),
        ("accept-language", "fr;q=0.2, nl-BE, en;q=0.5"),
    ];
    let r = a.call(Method::GET, "/widget/sites/www", &nl, None).await;
    assert_eq!(
        (&r.body["language"], &r.body["greeting"], &r.body["title"]),
        (
            &json!("nl"),
            &json!("Hallo! Waarmee kunnen we helpen?"),
            &json!(SiteConfig::default().title)
        )
    );
    let r = a.call(Method::GET, "/widget/sites/www", &page, None).await;
    assert_eq!(
        (&r.body["language"], &r.body["greeting"]),
        (&json!(null), &json!(SiteConfig::default().greeting))
    );
    let bad = json!({ "translations": { "dutch": { "title": "x" } } });
    let r = a
        .call(
            Method::PUT,
            "/api/v1/settings/site:www",
            &root_s.h(),
            Some(bad),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("widget.sites[1].translations.dutch"),
        "{}",
        r.text
    );
    let r = a
        .call(
            Method::DELETE,
            "/api/v1/settings/site:www",
            &root_s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = a.call(Method::GET, "/widget/sites/www", &page, None).await;
    assert_eq!(r.body["title"], json!(SiteConfig::default().title));
    let r = a
        .call(
            Method::DELETE,
            "/api/v1/settings/site:www",
            &root_s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn admins_manage_the_webhook_endpoints() {
    let mut c = config();
    c.http.webhooks = vec![deflect_config::WebhookConfig {
        name: "crm".into(),
        url: Some("https://crm.example.com/hooks".parse().unwrap()),
        signing_secret: Some(deflect_config::Secret::new("configured-secret-0123")),
        events: vec!["conversation.created".into()],
        ..deflect_config::WebhookConfig::default()
    }];
    let a = app_with(c).await;
    a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    a.agent("root", Role::Admin, &[]).await;
    let (ann, boss, root) = (
        a.login("ann").await,
        a.login("boss").await,
        a.login("root").await,
    );
    let secret = "the-ops-signing-secret";
    let ops = json!({ "name": "ops", "url": "https://ops.example.com/in?token=t",
                      "signing_secret": secret, "events": ["message.received"] });

    // Admins only: agents and supervisors neither read nor change.
    let calls = [
        (Method::GET, "/api/v1/webhooks", None),
        (Method::POST, "/api/v1/webhooks", Some(ops.clone())),
        (
            Method::PATCH,
            "/api/v1/webhooks/1",
            Some(json!({ "enabled": false })),
        ),
        (Method::DELETE, "/api/v1/webhooks/1", None),
    ];
    forbidden_to(&a, &[&ann, &boss], &calls).await;
    let r = a
        .call(Method::GET, "/api/v1/webhooks", &root.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["webhooks"],
        json!([{ "id": null, "name": "crm", "url": "https://crm.example.com/hooks",
                 "events": ["conversation.created"], "max_attempts": 12, "timeout_seconds": 10,
                 "enabled": true, "source": "config", "key": "http.webhooks[0]",
                 "secret_set": true }])
    );
    let events: Vec<&str> = (r.body["events"].as_array().unwrap().iter())
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(events, deflect_config::WEBHOOK_EVENTS);
    assert!(!r.text.contains("configured-secret"));

    // A refused value names its field and what is valid.
    for (change, field, valid) in [
        (json!({ "url": "ftp://ops.example.com" }), "url:", "http"),
        (json!({ "url": "not a url" }), "url:", "https://"),
        (
            json!({ "events": ["message.eaten"] }),
            "events[0]:",
            "message.read",
        ),
        (
            json!({ "signing_secret": "short" }),
            "signing_secret:",
            "16",
        ),
        (json!({ "max_attempts": 0 }), "max_attempts:", "100"),
        (json!({ "timeout_seconds": 120 }), "timeout_seconds:", "60"),
        (json!({ "name": "Ops!" }), "name:", "a-z"),
    ] {
        let mut body = ops.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = a
            .call(Method::POST, "/api/v1/webhooks", &root.h(), Some(body))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {}",
            r.text
        );
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(field) && message.contains(valid),
            "{change}: {message}"
        );
        assert!(!r.text.contains(secret));
    }
    let mut taken = ops.clone();
    taken["name"] = json!("crm");
    let r = a
        .call(Method::POST, "/api/v1/webhooks", &root.h(), Some(taken))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    let r = a
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &root.h(),
            Some(ops.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains(secret), "{}", r.text);
    let added = &r.body["webhook"];
    assert_eq!(
        (
            &added["name"],
            &added["source"],
            &added["secret_set"],
            &added["enabled"]
        ),
        (&json!("ops"), &json!("api"), &json!(true), &json!(true))
    );
    let id = added["id"].as_i64().unwrap();
    let r = a
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &root.h(),
            Some(ops.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Changed field by field; the secret stays unless given.
    let path = format!("/api/v1/webhooks/{id}");
    let r = a
        .call(
            Method::PATCH,
            &path,
            &root.h(),
            Some(json!({ "enabled": false, "events": [] })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let changed = &r.body["webhook"];
    assert_eq!(
        (
            &changed["enabled"],
            &changed["events"],
            &changed["secret_set"],
            &changed["url"]
        ),
        (
            &json!(false),
            &json!([]),
            &json!(true),
            &json!("https://ops.example.com/in?token=t")
        )
    );
    let r = a
        .call(
            Method::PATCH,
            &path,
            &root.h(),
            Some(json!({ "timeout_seconds": 0 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = a
        .call(Method::GET, "/api/v1/webhooks", &root.h(), None)
        .await;
    assert_eq!(r.body["webhooks"].as_array().unwrap().len(), 2);
    assert!(!r.text.contains(secret) && !r.text.contains("configured-secret"));

    // The configured endpoint is changed in the file only.
    for (m, b) in [
        (Method::PATCH, Some(json!({ "enabled": false }))),
        (Method::DELETE, None),
    ] {
        let r = a
            .call(m.clone(), "/api/v1/webhooks/crm", &root.h(), b)
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{m}: {}", r.text);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("from the configuration file"), "{message}");
    }

    let r = a
        .call(Method::DELETE, "/api/v1/webhooks/ops", &root.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = a.call(Method::DELETE, &path, &root.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn admins_manage_the_whitelist_and_the_faq() {
    let mut c = config();
    c.inbox.automations.whitelist = vec!["+3120*".into()];
    c.inbox.faq = vec![deflect_config::FaqEntry {
        question: "When are you open?".into(),
        answer: "9 to 5.".into(),
        ..deflect_config::FaqEntry::default()
    }];
    let a = app_with(c).await;
    a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let root = a.agent("root", Role::Admin, &[]).await;
    let (ann_s, boss_s, root_s) = (
        a.login("ann").await,
        a.login("boss").await,
        a.login("root").await,
    );
    // The admin works through an API token (a header, never in the URL).
    let r = a
        .call(
            Method::POST,
            "/api/v1/tokens",
            &root_s.h(),
            Some(json!({ "agent_id": root, "name": "lists" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bearer = format!("Bearer {}", r.body["secret"].as_str().unwrap());
    let admin = [("authorization", bearer.as_str())];
    let entry = json!({ "account": "sandbox", "pattern": "+31612345678" });
    let question = json!({ "question": "Where is my invoice?", "answer": "In your account, {{customer_name}}." });

    // Agents neither read nor change; supervisors read.
    for (m, p, b) in [
        (Method::GET, "/api/v1/whitelist", None),
        (Method::POST, "/api/v1/whitelist", Some(entry.clone())),
        (Method::DELETE, "/api/v1/whitelist/1", None),
        (Method::GET, "/api/v1/faq", None),
        (Method::POST, "/api/v1/faq", Some(question.clone())),
        (Method::PUT, "/api/v1/faq/1", Some(question.clone())),
        (Method::DELETE, "/api/v1/faq/1", None),
    ] {
        let r = a.call(m.clone(), p, &ann_s.h(), b.clone()).await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "agent {m} {p}"
        );
        if m != Method::GET {
            let r = a.call(m.clone(), p, &boss_s.h(), b).await;
            assert_eq!(
                (r.status, code(&r)),
                (StatusCode::FORBIDDEN, "forbidden"),
                "supervisor {m} {p}"
            );
        }
    }
    let r = a
        .call(Method::GET, "/api/v1/whitelist", &boss_s.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["whitelist"],
        json!([{ "id": null, "account": "sandbox", "pattern": "+3120*", "source": "config",
                 "key": "inbox.automations.whitelist[0]" }])
    );

    // Whitelist: refused values name their field (400); duplicates 409; unknown ids 404.
    for (body, field) in [
        (
            json!({ "account": "sandbox", "pattern": "0612345678" }),
            "pattern",
        ),
        (
            json!({ "account": "sandbox", "pattern": "+31 6*" }),
            "pattern",
        ),
        (json!({ "account": "nope", "pattern": "+31*" }), "account"),
        (json!({ "account": "sandbox" }), "pattern"),
        (json!({ "pattern": "+31*", "note": "x" }), "note"),
    ] {
        let r = a
            .call(
                Method::POST,
                "/api/v1/whitelist",
                &admin,
                Some(body.clone()),
            )
            .await;
        // 400 for a body that is not the operation's JSON, 422 for a value refused.
        let refused = [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];
        assert!(refused.contains(&r.status), "{body}: {}", r.text);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let r = a
        .call(
            Method::POST,
            "/api/v1/whitelist",
            &admin,
            Some(entry.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let added = &r.body["whitelist_entry"];
    assert_eq!(
        (added["source"].as_str(), added["pattern"].as_str()),
        (Some("api"), Some("+31612345678"))
    );
    let id = added["id"].as_i64().unwrap();
    for dup in [
        entry.clone(),
        json!({ "account": "sandbox", "pattern": "+3120*" }),
    ] {
        let r = a
            .call(Method::POST, "/api/v1/whitelist", &admin, Some(dup))
            .await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::CONFLICT, "conflict"),
            "{}",
            r.text
        );
    }
    // The session works as well as the token (with its CSRF token).
    let r = a
        .call(
            Method::POST,
            "/api/v1/whitelist",
            &root_s.h(),
            Some(json!({ "pattern": "+49*" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["whitelist_entry"]["account"], Value::Null);
    let r = a.call(Method::GET, "/api/v1/whitelist", &admin, None).await;
    let sources: Vec<(&str, &str)> = r.body["whitelist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pattern"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("+3120*", "config"),
            ("+49*", "api"),
            ("+31612345678", "api")
        ]
    );
    let path = format!("/api/v1/whitelist/{id}");
    assert_eq!(
        a.call(Method::DELETE, &path, &admin, None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = a.call(Method::DELETE, &path, &admin, None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));

    // FAQ: the same checks as [[inbox.faq]], each naming its field.
    for (body, field) in [
        (
            json!({ "question": "q", "answer": "Ask {{agent_name}}" }),
            "answer",
        ),
        (
            json!({ "question": "q", "answer": "a".repeat(4097) }),
            "answer",
        ),
        (
            json!({ "question": "q".repeat(501), "answer": "a" }),
            "question",
        ),
        (json!({ "question": " ", "answer": "a" }), "question"),
        (
            json!({ "question": "q", "answer": "a", "language": "EN" }),
            "language",
        ),
        (
            json!({ "question": "q", "answer": "a", "account": "nope" }),
            "account",
        ),
        (json!({ "question": "q" }), "answer"),
    ] {
        let r = a
            .call(Method::POST, "/api/v1/faq", &admin, Some(body.clone()))
            .await;
        // 400 for a body that is not the operation's JSON, 422 for a value refused.
        let refused = [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];
        assert!(refused.contains(&r.status), "{body}: {}", r.text);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let r = a
        .call(Method::POST, "/api/v1/faq", &admin, Some(question.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let added = r.body["faq_entry"].clone();
    assert_eq!(
        (added["language"].as_str(), added["source"].as_str()),
        (Some("en"), Some("api"))
    );
    let id = added["id"].as_i64().unwrap();
    let r = a
        .call(Method::POST, "/api/v1/faq", &admin, Some(question.clone()))
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::CONFLICT, "conflict"),
        "{}",
        r.text
    );
    let r = a
        .call(
            Method::POST,
            "/api/v1/faq",
            &admin,
            Some(json!({ "question": "When are you open?", "answer": "x" })),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "the configured question: {}",
        r.text
    );
    let path = format!("/api/v1/faq/{id}");
    let changed = json!({ "question": "Where is my invoice?", "answer": "Under Billing.", "language": "en", "account": "sandbox" });
    let r = a
        .call(Method::PUT, &path, &admin, Some(changed.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.body["faq_entry"]["answer"].as_str(),
            r.body["faq_entry"]["account"].as_str()
        ),
        (Some("Under Billing."), Some("sandbox"))
    );
    let r = a
        .call(
            Method::PUT,
            &path,
            &admin,
            Some(json!({ "question": "q", "answer": "{{oops" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("answer")
    );
    let r = a
        .call(Method::PUT, "/api/v1/faq/999999", &admin, Some(changed))
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    let r = a.call(Method::GET, "/api/v1/faq", &boss_s.h(), None).await;
    let faq = r.body["faq"].as_array().unwrap();
    assert_eq!(faq.len(), 2, "{}", r.text);
    assert_eq!(
        (faq[0]["source"].as_str(), faq[0]["key"].as_str()),
        (Some("config"), Some("inbox.faq[0]"))
    );
    assert_eq!(
        (faq[1]["id"].as_i64(), faq[1]["answer"].as_str()),
        (Some(id), Some("Under Billing."))
    );
    assert_eq!(
        a.call(Method::DELETE, &path, &admin, None).await.status,
        StatusCode::NO_CONTENT
    );
    let r = a.call(Method::DELETE, &path, &admin, None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn errors_have_one_shape_and_unknown_paths_say_so() {
    let a = app().await;
    let r = a.call(Method::GET, "/api/v1/nothing-here", &[], None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "no_route"));
    assert!(r.body["error"]["message"].is_string());
    let r = a.call(Method::DELETE, "/api/v1/board", &[], None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

fn resolve<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    r.strip_prefix("#/")
        .map(|p| p.split('/').try_fold(doc, |v, k| v.get(k)))?
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap().to_string());
                } else {
                    refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// A local stand-in for Meta's media API: `GET /v24.0/{id}` names `/file/{id}`, which serves
/// the file; both need the account's bearer token.
async fn fake_meta_media(files: Vec<(&'static str, Vec<u8>)>) -> std::net::SocketAddr {
    use axum::extract::{Path, State};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let files: Arc<std::collections::HashMap<&'static str, Vec<u8>>> =
        Arc::new(files.into_iter().collect());
    let authorised = |h: &HeaderMap| {
        h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some("Bearer EAAG-test")
    };
    let app = axum::Router::new()
        .route(
            "/v24.0/{id}",
            axum::routing::get(move |Path(id): Path<String>, h: HeaderMap| async move {
                if !authorised(&h) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                let url = format!("http://{addr}/file/{id}");
                axum::Json(json!({ "url": url, "mime_type": "image/png", "id": id }))
                    .into_response()
            }),
        )
        .route(
            "/file/{id}",
            axum::routing::get(
                move |State(files): State<
                    Arc<std::collections::HashMap<&'static str, Vec<u8>>>,
                >,
                      Path(id): Path<String>,
                      h: HeaderMap| async move {
                    match files.get(id.as_str()) {
                        Some(bytes) if authorised(&h) => bytes.clone().into_response(),
                        Some(_) => StatusCode::UNAUTHORIZED.into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
        )
        .with_state(files);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// `GET /api/v1/attachments/{token}`: a customer's photo and document, once downloaded,
/// are served from the URL their message carries — with the type read from the bytes, the
/// length, inline or as a download under the document's name, `nosniff` and `private` —
/// to an agent who may see the conversation; another account's agent gets 404 (as for a
/// token that does not exist), a caller without a session 401.
#[tokio::test]
async fn attachments_are_served_with_their_headers_to_those_who_may_see_them_only() {
    let photo = [
        &[
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
        ][..],
        &[7u8; 3000],
    ]
    .concat();
    let pdf = [b"%PDF-1.7\n".as_slice(), &[b'x'; 2000]].concat();
    let api = fake_meta_media(vec![("55", photo.clone()), ("66", pdf.clone())]).await;
    let mut c = config();
    c.inbox.default_queue = Some("support".into());
    for name in ["meta", "other"] {
        c.whatsapp.accounts.push(deflect_config::AccountConfig {
            name: name.into(),
            provider: deflect_config::Provider::Meta,
            business_number: "+31201234567".into(),
            phone_number_id: Some(format!("1065403522429{}", name.len())),
            access_token: Some(deflect_config::Secret::new("EAAG-test")),
            app_secret: Some(deflect_config::Secret::new("app-secret")),
            verify_token: Some(deflect_config::Secret::new("verify-me")),
            api_base_url: Some(format!("http://{api}").parse().unwrap()),
            ..deflect_config::AccountConfig::default()
        });
    }
    let a = app_with(c).await;
    a.agent("ann", Role::Agent, &["support"]).await;
    let bob = a.agent("bob", Role::Agent, &["support"]).await;
    let (queues, accounts) = (["support".to_string()], ["other".to_string()]);
    a.inbox
        .set_memberships(bob, &queues, &accounts)
        .await
        .unwrap();

    let message = |id: &str, kind: &str, file: Value| {
        let body = json!({"entry": [{"changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "1065403522429"},
            "contacts": [{"profile": {"name": "Cas"}, "wa_id": "31612345678"}],
            "messages": [{"from": "31612345678", "id": id, "timestamp": "1767225600",
                          "type": kind, kind: file}]
        }}]}]});
        let items = deflect_chat::provider::meta::parse_webhook(body.to_string().as_bytes());
        items
            .unwrap()
            .into_iter()
            .map(|(_, i)| i)
            .collect::<Vec<_>>()
    };
    let photo_message = message(
        "wamid.1",
        "image",
        json!({"id": "55", "mime_type": "image/png"}),
    );
    let conv = a
        .inbox
        .receive("meta", &photo_message)
        .await
        .unwrap()
        .conversations[0];
    let doc = json!({"id": "66", "mime_type": "application/pdf", "filename": "Übersicht Q1.pdf"});
    a.inbox
        .receive("meta", &message("wamid.2", "document", doc))
        .await
        .unwrap();
    assert_eq!(a.inbox.download_due_attachments().await.unwrap(), 2);

    let ann = a.login("ann").await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let r = a.call(Method::GET, &path, &ann.h(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let files: Vec<&Value> = (r.body["messages"].as_array().unwrap().iter())
        .filter_map(|m| m["attachments"].as_array())
        .flatten()
        .collect();
    assert_eq!(files.len(), 2, "{}", r.text);
    assert_eq!(
        (
            &files[0]["mime_type"],
            &files[0]["size"],
            &files[0]["state"],
            &files[0]["filename"]
        ),
        (
            &json!("image/jpeg"),
            &json!(photo.len()),
            &json!("stored"),
            &Value::Null
        )
    );
    assert_eq!(files[1]["filename"], "Übersicht Q1.pdf");
    let urls: Vec<&str> = files.iter().map(|f| f["url"].as_str().unwrap()).collect();
    assert!(
        urls.iter().all(|u| u.starts_with("/api/v1/attachments/")),
        "{urls:?}"
    );

    let r = a.call(Method::GET, urls[0], &ann.h(), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let h = |name: header::HeaderName| r.headers[name].to_str().unwrap().to_string();
    assert_eq!(h(header::CONTENT_TYPE), "image/jpeg");
    assert_eq!(h(header::CONTENT_LENGTH), photo.len().to_string());
    assert!(h(header::CONTENT_DISPOSITION).starts_with("inline; filename=\"image-"));
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(h(header::CACHE_CONTROL), "private");
    assert_eq!(h(header::ACCEPT_RANGES), "bytes");
    assert_eq!(r.bytes, photo);

    // A browser seeking: one byte range is answered 206 with exactly those bytes; one past
    // the end 416 with the size; several ranges get the whole file.
    let [cookie, csrf] = ann.h();
    let past = format!("bytes={}-", photo.len());
    let ranged = |range| [cookie, csrf, ("range", range)];
    let r = a
        .call(Method::GET, urls[0], &ranged("bytes=100-1099"), None)
        .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers[header::CONTENT_RANGE],
        format!("bytes 100-1099/{}", photo.len()).as_str()
    );
    assert_eq!(r.headers[header::CONTENT_LENGTH], "1000");
    assert_eq!(r.bytes, &photo[100..1100]);
    let r = a
        .call(Method::GET, urls[0], &ranged("bytes=-10"), None)
        .await;
    assert_eq!(r.bytes, &photo[photo.len() - 10..]);
    let r = a.call(Method::GET, urls[0], &ranged(&past), None).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        r.headers[header::CONTENT_RANGE],
        format!("bytes */{}", photo.len()).as_str()
    );
    let r = a
        .call(Method::GET, urls[0], &ranged("bytes=0-1,5-9"), None)
        .await;
    assert_eq!((r.status, r.bytes.len()), (StatusCode::OK, photo.len()));

    let r = a.call(Method::GET, urls[1], &ann.h(), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"_bersicht Q1.pdf\"; filename*=UTF-8''%C3%9Cbersicht%20Q1.pdf"
    );
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(r.bytes, pdf);

    // Bob works another account: not found, exactly as a token that does not exist.
    let bob = a.login("bob").await;
    let r = a.call(Method::GET, urls[0], &bob.h(), None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    let unknown = format!("/api/v1/attachments/{}", "0".repeat(40));
    let none = a.call(Method::GET, &unknown, &ann.h(), None).await;
    assert_eq!((none.status, none.body.clone()), (r.status, r.body.clone()));
    // Without a session.
    let r = a.call(Method::GET, urls[0], &[], None).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

/// Files agents send: `POST …/attachments` takes the raw bytes (the name from the query or
/// `Content-Disposition`) and answers with the upload, which the conversation's agents
/// download at once; `POST …/messages` sends it by token (or url) with its caption and the
/// message carries it; 413 over the kind's cap, 415 for a type WhatsApp does not take, 422
/// empty, 404 for another account's agent; the signed `/media/{token}` link opens a sent
/// file until it expires (on a virtual clock), 403 otherwise, 404 for no sent file.
#[tokio::test]
async fn agents_upload_and_send_files_and_providers_fetch_them_by_signed_link() {
    let secret = "a-signing-secret-of-at-least-32-characters";
    let mut c = config();
    c.attachments.signing_secret = Some(deflect_config::Secret::new(secret));
    c.attachments.max_size.image = deflect_config::ByteSize(4096);
    let mut other = c.whatsapp.accounts[0].clone();
    other.name = "other".into();
    other.business_number = "+31209999999".into();
    c.whatsapp.accounts.push(other);
    let clock = deflect_chat::ManualClock::new(1_767_225_600_000);
    let a = app_on(c, Arc::new(clock.clone())).await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let bob = a.agent("bob", Role::Agent, &["support"]).await;
    let (queues, accounts) = (["support".to_string()], ["other".to_string()]);
    a.inbox
        .set_memberships(bob, &queues, &accounts)
        .await
        .unwrap();
    let s = a.login("boss").await;
    let phone = "/api/v1/sandbox/sandbox/+31612345678/messages";
    let r = a
        .call(
            Method::POST,
            phone,
            &s.h(),
            Some(json!({ "text": "The form?" })),
        )
        .await;
    let cid = r.body["conversations"][0].as_i64().unwrap();
    let c = |p: &str| format!("/api/v1/conversations/{cid}{p}");
    a.call(Method::POST, &c("/claim"), &s.h(), None).await;

    let pdf = [b"%PDF-1.7\n".as_slice(), &[b'x'; 3000]].concat();
    let mut h = s.h().to_vec();
    h.push(("content-type", "application/pdf"));
    h.push((
        "content-disposition",
        "attachment; filename*=UTF-8''Formular%20%C3%9C.pdf",
    ));
    let r = a.call_raw(&c("/attachments"), &h, pdf.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        r.body,
        json!({"token": token, "url": format!("/api/v1/attachments/{token}"),
               "mime_type": "application/pdf", "size": pdf.len(),
               "filename": "Formular Ü.pdf", "kind": "document"})
    );
    let url = r.body["url"].as_str().unwrap().to_string();
    let got = a.call(Method::GET, &url, &s.h(), None).await;
    assert_eq!(
        (got.status, got.bytes.clone()),
        (StatusCode::OK, pdf.clone())
    );
    // Another account's agent neither uploads to nor downloads from the conversation.
    let b = a.login("bob").await;
    let r = a.call_raw(&c("/attachments"), &b.h(), pdf.clone()).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    let r = a.call(Method::GET, &url, &b.h(), None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    // Without a session.
    let r = a.call_raw(&c("/attachments"), &[], pdf.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Refused, saying why.
    let jpeg = [
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0][..],
        &[1u8; 5000],
    ]
    .concat();
    let r = a
        .call_raw(&c("/attachments?filename=big.jpg"), &s.h(), jpeg)
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        "{}",
        r.text
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than 4KiB (attachments.max_size.image)")
    );
    let r = a
        .call_raw(
            &c("/attachments"),
            &s.h(),
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type"),
        "{}",
        r.text
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("accepted: image/jpeg, image/png (image)")
    );
    let r = a
        .call_raw(&c("/attachments?kind=image"), &s.h(), pdf.clone())
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type")
    );
    let r = a.call_raw(&c("/attachments"), &s.h(), Vec::new()).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "empty")
    );

    // Sent by url (or token), with its caption; the message carries the file.
    let body = json!({"text": "Please fill it in", "attachments": [{"url": url}]});
    let r = a
        .call(Method::POST, &c("/messages"), &s.h(), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let m = &r.body["message"];
    assert_eq!(
        (m["kind"].clone(), m["body"].clone()),
        (json!("document"), json!("Please fill it in"))
    );
    assert_eq!(m["attachments"][0]["url"], url.as_str());
    assert_eq!(m["attachments"][0]["filename"], "Formular Ü.pdf");
    assert_eq!(m["attachments"][0]["state"], "stored");
    let r = a.call(Method::GET, &c("/messages"), &s.h(), None).await;
    let last = r.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["attachments"][0]["mime_type"], "application/pdf");
    for body in [
        json!({"attachments": [{"token": token}]}),
        json!({"attachments": [{"token": "x"}, {"token": "y"}]}),
        json!({"attachments": [{}]}),
        json!({"text": "x", "interactive": {"type": "button", "buttons": [{"id": "a", "title": "A"}]},
               "attachments": [{"token": token}]}),
    ] {
        let r = a
            .call(Method::POST, &c("/messages"), &s.h(), Some(body))
            .await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{}",
            r.text
        );
    }

    // The signed link opens the sent file, without a session, until it expires.
    let signer = deflect_chat::blobs::LinkSigner::new(secret.as_bytes());
    let base: url::Url = "http://gw.test".parse().unwrap();
    let link = signer.link(&base, &token, 1_767_225_600_000 + 600_000);
    let path = link.strip_prefix("http://gw.test").unwrap().to_string();
    let r = a.call(Method::GET, &path, &[], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.bytes, pdf);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let tampered = path.replace("signature=", "signature=00");
    let r = a.call(Method::GET, &tampered, &[], None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden"));
    let bare = format!("/media/{token}");
    let r = a.call(Method::GET, &bare, &[], None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden"));
    let nothing = signer.link(&base, "0000", 1_767_225_600_000 + 600_000);
    let r = a
        .call(
            Method::GET,
            nothing.strip_prefix("http://gw.test").unwrap(),
            &[],
            None,
        )
        .await;
    assert_eq!((r.status, code(&r)), (StatusCode::NOT_FOUND, "not_found"));
    clock.advance(std::time::Duration::from_secs(600));
    let r = a.call(Method::GET, &path, &[], None).await;
    assert_eq!((r.status, code(&r)), (StatusCode::FORBIDDEN, "forbidden"));
    assert_eq!(r.body["error"]["message"], "the link has expired");
}

/// Widget files: a visitor sends a picture and a document (raw bytes, visitor header, the
/// site's origin), which reach the agent as the visitor's messages with their attachments; an
/// agent's file reaches the visitor's transcript; the visitor downloads the files of their
/// conversation only (another visitor 404, no token 401); audio is not taken from visitors
/// (415).
#[tokio::test]
async fn web_visitors_and_agents_exchange_pictures_and_documents() {
    let a = app().await;
    let vic = [
        ("origin", "https://shop.example"),
        ("x-deflect-visitor", "visitor-token-0123456789abcdef"),
    ];
    let r = a
        .call(
            Method::POST,
            "/widget/sites/www/conversations",
            &vic,
            Some(json!({ "name": "Vic" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let files = format!("/widget/sites/www/conversations/{id}/files");
    let photo = [
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0][..],
        &[9u8; 2000],
    ]
    .concat();
    let mut h = vic.to_vec();
    h.push(("content-type", "image/jpeg"));
    let r = a
        .call_raw(&format!("{files}?filename=broken.jpg"), &h, photo.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let m = &r.body["message"];
    assert_eq!(
        (m["direction"].clone(), m["kind"].clone()),
        (json!("in"), json!("image"))
    );
    assert_eq!(m["attachments"][0]["mime_type"], "image/jpeg");
    assert_eq!(m["attachments"][0]["filename"], "broken.jpg");
    let token = m["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut voice = b"#!AMR\n".to_vec();
    voice.resize(2000, 0x3c);
    let r = a.call_raw(&files, &vic, voice).await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type"),
        "{}",
        r.text
    );
    assert!(r.text.contains("the widget takes pictures"), "{}", r.text);
    let r = a.call_raw(&files, &vic[..1], photo.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let other = [
        ("origin", "https://shop.example"),
        ("x-deflect-visitor", "another-visitor-token-xyz"),
    ];
    let r = a.call_raw(&files, &other, photo.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The visitor downloads their file; nobody else does.
    let get = format!("/widget/sites/www/files/{token}");
    let r = a.call(Method::GET, &get, &vic, None).await;
    assert_eq!((r.status, r.bytes.clone()), (StatusCode::OK, photo.clone()));
    assert_eq!(r.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    assert_eq!(
        a.call(Method::GET, &get, &other, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.call(Method::GET, &get, &vic[..1], None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The agent sees the visitor's picture and sends a document back.
    a.agent("boss", Role::Supervisor, &[]).await;
    let s = a.login("boss").await;
    let c = |p: &str| format!("/api/v1/conversations/{id}{p}");
    a.call(Method::POST, &c("/claim"), &s.h(), None).await;
    let r = a.call(Method::GET, &c("/messages"), &s.h(), None).await;
    let seen: Vec<&Value> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "image")
        .collect();
    assert_eq!(seen.len(), 1, "{}", r.text);
    let url = seen[0]["attachments"][0]["url"].as_str().unwrap();
    assert_eq!(a.call(Method::GET, url, &s.h(), None).await.bytes, photo);
    let pdf = [b"%PDF-1.7\n".as_slice(), &[b'x'; 1500]].concat();
    let r = a
        .call_raw(&c("/attachments?filename=guide.pdf"), &s.h(), pdf.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let body = json!({"text": "Our repair guide", "attachments": [{"token": r.body["token"]}]});
    let r = a
        .call(Method::POST, &c("/messages"), &s.h(), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let doc = r.body["message"]["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let r = a
        .call(
            Method::GET,
            &format!("/widget/sites/www/files/{doc}"),
            &vic,
            None,
        )
        .await;
    assert_eq!((r.status, r.bytes.clone()), (StatusCode::OK, pdf));
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"guide.pdf\""
    );
    // The visitor's feed names both files by token.
    let events = a.inbox.conversation_events(id, 0, 100).await.unwrap();
    let tokens: Vec<String> = events
        .iter()
        .filter_map(deflect_chat::webchat::visitor_event)
        .filter(|e| e.kind == deflect_chat::VisitorEventKind::Message)
        .flat_map(|e| {
            e.data["attachments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|f| f["token"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens, [token, doc]);
}

#[tokio::test]
async fn the_openapi_file_describes_exactly_the_routes() {
    let a = app().await;
    let r = a.call(Method::GET, "/api/openapi.json", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut documented = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_string()),
                "unique operationId"
            );
            assert!(
                !op["responses"].as_object().unwrap().is_empty(),
                "{method} {path} has responses"
            );
            // Path templates and parameters agree.
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let in_path: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect();
            assert_eq!(declared, in_path, "{method} {path}");
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        assert!(resolve(&doc, &r).is_some(), "unresolved $ref {r}");
    }
    let routed: BTreeSet<(String, String)> = deflect_web::api::operations()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, routed,
        "the OpenAPI file and the router list the same operations"
    );
    // And each documented operation is really served (answers anything but "no such route").
    for (method, path) in &documented {
        let concrete = path
            .replace("{id}", "1")
            .replace("{account}", "sandbox")
            .replace("{number}", "31612345678");
        let r = a.call(method.parse().unwrap(), &concrete, &[], None).await;
        assert_ne!(code(&r), "no_route", "{method} {path}");
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

#[tokio::test]
async fn assets_are_small_compressed_and_locked_down() {
    let a = app().await;
    let gz = |p: &str| {
        let asset = deflect_web::assets_for_tests()
            .iter()
            .find(|x| x.0 == p)
            .unwrap()
            .1;
        deflect_web::gzip_for_tests(asset.as_bytes()).len()
    };
    let loader = gz("/widget.js");
    let whole = loader + gz("/widget/chat.js");
    assert!(loader < 5 * 1024, "widget loader is {loader} bytes gzipped");
    assert!(whole < 30 * 1024, "whole widget is {whole} bytes gzipped");
    let r = a
        .call(
            Method::GET,
            "/widget.js",
            &[("accept-encoding", "gzip, br")],
            None,
        )
        .await;
    assert_eq!(r.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let etag = r.headers[header::ETAG].to_str().unwrap().to_string();
    let r = a
        .call(Method::GET, "/widget.js", &[("if-none-match", &etag)], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = a.call(Method::GET, "/", &[], None).await;
    assert!(r.text.contains("<title>deflect inbox</title>"));
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    for p in [
        "/inbox.js",
        "/inbox.css",
        "/sandbox",
        "/sandbox.js",
        "/demo",
        "/widget/chat.js",
    ] {
        assert_eq!(
            a.call(Method::GET, p, &[], None).await.status,
            StatusCode::OK,
            "{p}"
        );
    }
}

/// A local Graph API with one WhatsApp Business Account's template listing (one template,
/// `order_update`, with two body parameters) and the send endpoint; records sends' bodies.
async fn fake_meta_templates() -> (std::net::SocketAddr, Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::extract::State;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sends = Arc::new(std::sync::Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route(
            "/v24.0/102290129340398/message_templates",
            axum::routing::get(|| async {
                axum::Json(json!({
                    "data": [{
                        "name": "order_update",
                        "parameter_format": "POSITIONAL",
                        "components": [{ "type": "BODY",
                            "text": "Hi {{1}}, your order ships on {{2}}.",
                            "example": { "body_text": [["Ann", "Monday"]] } }],
                        "language": "en_US",
                        "status": "APPROVED",
                        "category": "UTILITY",
                        "id": "1407680676729941"
                    }],
                    "paging": { "cursors": { "before": "QVFIUk1", "after": "QVFIUl9" } }
                }))
            }),
        )
        .route(
            "/v24.0/{number}/messages",
            axum::routing::post(
                |State(sends): State<Arc<std::sync::Mutex<Vec<Value>>>>,
                 axum::Json(body): axum::Json<Value>| async move {
                    sends.lock().unwrap().push(body);
                    axum::Json(json!({ "messages": [{ "id": "wamid.T1" }] }))
                },
            ),
        )
        .with_state(sends.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, sends)
}

/// `GET /api/v1/templates` and `POST /api/v1/templates/refresh`, and a template sent with
/// `POST …/messages`: a session is needed; only supervisors and admins refresh; agents see
/// their accounts' templates (another account is 404); missing and extra parameters answer
/// 422 naming the field; a template goes out outside the 24 h window, its message showing
/// the text the customer reads.
#[tokio::test]
async fn templates_are_listed_refreshed_and_sent_through_the_api() {
    let (api, sends) = fake_meta_templates().await;
    let mut c = config();
    c.inbox.default_queue = Some("support".into());
    for (name, waba) in [("meta", Some("102290129340398")), ("other", None)] {
        c.whatsapp.accounts.push(deflect_config::AccountConfig {
            name: name.into(),
            provider: deflect_config::Provider::Meta,
            business_number: "+31201234567".into(),
            phone_number_id: Some(format!("1065403522429{}", name.len())),
            business_account_id: waba.map(str::to_string),
            access_token: Some(deflect_config::Secret::new("EAAG-test")),
            app_secret: Some(deflect_config::Secret::new("app-secret")),
            verify_token: Some(deflect_config::Secret::new("verify-me")),
            api_base_url: Some(format!("http://{api}").parse().unwrap()),
            ..deflect_config::AccountConfig::default()
        });
    }
    let clock = deflect_chat::ManualClock::new(1_767_225_600_000);
    let a = app_on(c, Arc::new(clock.clone())).await;
    a.agent("boss", Role::Supervisor, &["support"]).await;
    a.agent("ann", Role::Agent, &["support"]).await;
    let bob = a.agent("bob", Role::Agent, &["support"]).await;
    let (queues, accounts) = (["support".to_string()], ["other".to_string()]);
    a.inbox
        .set_memberships(bob, &queues, &accounts)
        .await
        .unwrap();
    let (boss, ann, bob) = (
        a.login("boss").await,
        a.login("ann").await,
        a.login("bob").await,
    );

    let r = a.call(Method::GET, "/api/v1/templates", &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = a
        .call(Method::POST, "/api/v1/templates/refresh", &ann.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = a
        .call(Method::POST, "/api/v1/templates/refresh", &boss.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["refreshes"][0]["account"], "meta");
    assert_eq!(r.body["refreshes"][0]["error"], Value::Null);

    let r = a
        .call(Method::GET, "/api/v1/templates", &ann.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t = &r.body["templates"][0];
    assert_eq!(
        (&t["name"], &t["language"], &t["status"], &t["category"]),
        (
            &json!("order_update"),
            &json!("en_US"),
            &json!("APPROVED"),
            &json!("UTILITY")
        )
    );
    assert_eq!(t["parameters"], json!(["1", "2"]));
    assert_eq!(t["examples"], json!({"1": "Ann", "2": "Monday"}));
    let r = a
        .call(Method::GET, "/api/v1/templates", &bob.h(), None)
        .await;
    assert_eq!(r.body["templates"], json!([]), "{}", r.text);
    let r = a
        .call(
            Method::GET,
            "/api/v1/templates?account=meta",
            &bob.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = a
        .call(Method::GET, "/api/v1/templates?status=some", &ann.h(), None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // A conversation on `meta` whose window has closed.
    let hello = hello_from_cas("wamid.in1", 0);
    let conv = a
        .inbox
        .receive("meta", &[hello])
        .await
        .unwrap()
        .conversations[0];
    let c = |p: &str| format!("/api/v1/conversations/{conv}{p}");
    let r = a.call(Method::POST, &c("/claim"), &boss.h(), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    clock.advance(std::time::Duration::from_secs(25 * 3600));
    let boss = a.login("boss").await;
    let send = |parameters: Value| {
        json!({ "template": {
        "name": "order_update", "language": "en_US", "parameters": parameters } })
    };
    for (parameters, field) in [
        (json!(["Cas"]), "template.parameters[1]: missing"),
        (json!(["Cas", "Monday", "x"]), "template.parameters[2]"),
        (
            json!({"1": "Cas", "2": "Monday", "name": "x"}),
            "template.parameters.name",
        ),
    ] {
        let r = a
            .call(
                Method::POST,
                &c("/messages"),
                &boss.h(),
                Some(send(parameters)),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message}");
    }
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &boss.h(),
            Some(
                json!({ "text": "hi", "template": {"name": "order_update", "language": "en_US"} }),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = a
        .call(
            Method::POST,
            &c("/messages"),
            &boss.h(),
            Some(send(json!(["Cas", "Monday"]))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let m = &r.body["message"];
    assert_eq!(m["kind"], "template");
    assert_eq!(m["body"], "Hi Cas, your order ships on Monday.");
    assert_eq!(m["payload"]["name"], "order_update");
    assert_eq!(m["payload"]["body_params"], json!(["Cas", "Monday"]));
    a.inbox.send_due().await.unwrap();
    let sent = sends.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["template"],
        json!({ "name": "order_update", "language": {"code": "en_US"}, "components": [
            {"type": "body", "parameters": [
                {"type": "text", "text": "Cas"}, {"type": "text", "text": "Monday"}]}
        ]})
    );
}

#[tokio::test]
async fn reports_are_json_csv_and_svg_for_supervisors_only() {
    let a = app().await;
    a.agent("boss", Role::Supervisor, &[]).await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    let (s, ann_s) = (a.login("boss").await, a.login("ann").await);
    a.call(
        Method::PUT,
        "/api/v1/me/presence",
        &ann_s.h(),
        Some(json!({ "presence": "available" })),
    )
    .await;
    let phone = "/api/v1/sandbox/sandbox/+31612345678/messages";
    let r = (a.call(
        Method::POST,
        phone,
        &s.h(),
        Some(json!({ "text": "Hello" })),
    ))
    .await;
    let cid = r.body["conversations"][0].as_i64().unwrap();
    let c = |p: &str| format!("/api/v1/conversations/{cid}{p}");
    a.call(Method::POST, &c("/accept"), &ann_s.h(), None).await;
    let hi = json!({ "text": "Hi from us" });
    a.call(Method::POST, &c("/messages"), &ann_s.h(), Some(hi))
        .await;
    let close = json!({ "disposition": "resolved" });
    let r = a
        .call(Method::POST, &c("/close"), &ann_s.h(), Some(close))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let now = jiff::Timestamp::now();
    let hour = jiff::SignedDuration::from_hours(1);
    let (from, to) = (now - hour, now + hour);
    // `+` in an offset must be escaped in a query; `Z` needs nothing.
    let period = format!("from={from}&to={to}");
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/agents?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["rows"].as_array().unwrap().len(), 1);
    let row = &r.body["rows"][0];
    assert_eq!(row["agent_id"], ann);
    assert_eq!(row["display_name"], "ann");
    assert_eq!(row["conversations_handled"], 1);
    assert_eq!(row["conversations_in"], 1);
    assert!(row["first_response_p50_seconds"].is_number(), "{row}");
    assert!(row["handle_time_p50_seconds"].is_number(), "{row}");
    assert!(row["csat_average"].is_null());
    assert_eq!(r.body["total"]["conversations_handled"], 1);
    assert!(r.body["total"].get("agent_id").is_none());
    assert!(r.body["from"].as_str().unwrap().ends_with('Z'));

    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/queues?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let support = &r.body["rows"][0];
    assert_eq!(support["queue"], "support");
    for field in [
        "conversations_in",
        "conversations_handled",
        "conversations_closed",
        "abandoned",
        "first_response_p50_seconds",
        "first_response_p90_seconds",
        "handle_time_p50_seconds",
        "handle_time_p90_seconds",
        "wait_p50_seconds",
        "wait_p90_seconds",
        "csat_average",
        "csat_count",
    ] {
        assert!(support.get(field).is_some(), "{field} in {support}");
    }
    assert_eq!(support["conversations_closed"], 1);

    // An offset written out (escaped), and the same numbers.
    let local = from.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(2)));
    let escaped = local
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
        .replace('+', "%2B");
    let r2 = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/queues?from={escaped}&to={to}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.text);
    assert_eq!(r2.body["rows"], r.body["rows"]);

    // CSV: a header, quoted cells, then the total.
    let csv = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/agents.csv?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(
        lines[0].starts_with("row,agent_id,display_name,conversations_in,conversations_handled")
    );
    assert!(
        lines[1].starts_with(&format!("\"agent\",\"{ann}\",\"ann\",\"1\",\"1\"")),
        "{}",
        csv.text
    );
    assert!(lines[2].starts_with("\"total\",\"\",\"\",\"1\",\"1\""));
    let csv = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/deflections.csv?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(
        csv.text,
        "row,flow,input_method,deflections,answered\r\n\"total\",\"\",\"\",\"0\",\"0\"\r\n"
    );
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/deflections?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(
        r.body["total"],
        json!({"flow": null, "input_method": "all", "deflections": 0, "answered": 0})
    );

    // Charts: SVG with an accessible name, one bar per hour of the two-hour period.
    let svg = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/charts/volume.svg?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert!(
        svg.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    assert!(svg.text.contains("role=\"img\""));
    assert_eq!(svg.text.matches("<rect class=\"bar\"").count(), 2);
    let svg = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/charts/wait.svg?{period}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(svg.text.matches("<rect class=\"bar\"").count(), 8);
    assert!(svg.text.contains("1 conversations taken by an agent"));

    // Agents: 403; a missing or unreadable time: 422 naming it.
    for path in [
        "agents",
        "queues",
        "deflections",
        "queues.csv",
        "charts/wait.svg",
    ] {
        let r = a
            .call(
                Method::GET,
                &format!("/api/v1/reports/{path}?{period}"),
                &ann_s.h(),
                None,
            )
            .await;
        assert_eq!(
            (r.status, code(&r)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}"
        );
    }
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/agents?to={to}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("`from` is required")
    );
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/queues?from={from}&to=tomorrow"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("`to` is not readable")
    );
    let r = a
        .call(
            Method::GET,
            &format!("/api/v1/reports/queues?from={to}&to={from}"),
            &s.h(),
            None,
        )
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    // The satisfaction report is as it was.
    let r = a
        .call(Method::GET, "/api/v1/reports/csat", &s.h(), None)
        .await;
    assert_eq!(r.body["overall"], json!({"count": 0, "average": null}));
}

/// The test configuration with queue `support` the default and two Meta accounts: `calls`
/// (`calling = true`) and `texts` (without).
fn calls_and_texts() -> Config {
    let mut c = config();
    c.inbox.default_queue = Some("support".into());
    for (name, calling) in [("calls", true), ("texts", false)] {
        c.whatsapp.accounts.push(deflect_config::AccountConfig {
            name: name.into(),
            provider: deflect_config::Provider::Meta,
            business_number: "+31201234567".into(),
            phone_number_id: Some(format!("10654035224292{}", name.len())),
            access_token: Some(deflect_config::Secret::new("EAAG-test")),
            app_secret: Some(deflect_config::Secret::new("app-secret")),
            verify_token: Some(deflect_config::Secret::new("verify-me")),
            api_base_url: Some("http://127.0.0.1:9".parse().unwrap()),
            calling,
            ..deflect_config::AccountConfig::default()
        });
    }
    c
}

/// Cas writes to `account` (message `wamid.<account>`); returns the conversation.
async fn cas_writes_to(a: &App, account: &str) -> i64 {
    let hello = hello_from_cas(
        &format!("wamid.{account}"),
        jiff::Timestamp::now().as_millisecond(),
    );
    a.inbox
        .receive(account, &[hello])
        .await
        .unwrap()
        .conversations[0]
}

/// A WhatsApp call button (`voice_call`) goes out only on a conversation of an account with
/// `calling`; its label and life are checked like the other interactive messages'.
#[tokio::test]
async fn a_whatsapp_call_button_needs_an_account_that_takes_calls() {
    let a = app_with(calls_and_texts()).await;
    a.agent("boss", Role::Supervisor, &["support"]).await;
    let boss = a.login("boss").await;
    let mut conversations = Vec::new();
    for account in ["calls", "texts"] {
        let conv = cas_writes_to(&a, account).await;
        let path = format!("/api/v1/conversations/{conv}/claim");
        let r = a.call(Method::POST, &path, &boss.h(), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        conversations.push(format!("/api/v1/conversations/{conv}/messages"));
    }
    let button = json!({ "type": "voice_call", "display_text": "Call us", "ttl_minutes": 60 });
    let send =
        |interactive: &Value| json!({ "text": "Talk to us now", "interactive": interactive });
    let r = a
        .call(
            Method::POST,
            &conversations[0],
            &boss.h(),
            Some(send(&button)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut shown = button.clone();
    shown["body"] = json!("Talk to us now");
    assert_eq!(r.body["message"]["interactive"], shown);
    let r = a
        .call(
            Method::POST,
            &conversations[1],
            &boss.h(),
            Some(send(&button)),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("calling = true"), "{}", r.text);
    // Asking permission to call follows the same rule.
    let ask = json!({ "type": "call_permission_request" });
    let r = a
        .call(Method::POST, &conversations[0], &boss.h(), Some(send(&ask)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let shown = json!({ "type": "call_permission_request", "body": "Talk to us now" });
    assert_eq!(r.body["message"]["interactive"], shown);
    let r = a
        .call(Method::POST, &conversations[1], &boss.h(), Some(send(&ask)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("call_permission_request needs"),
        "{}",
        r.text
    );
    for (bad, field) in [
        (
            json!({ "type": "voice_call", "display_text": "Call us right now, please" }),
            "interactive.display_text",
        ),
        (
            json!({ "type": "voice_call", "ttl_minutes": 0 }),
            "interactive.ttl_minutes",
        ),
        (
            json!({ "type": "voice_call", "ttl_minutes": 43_201 }),
            "interactive.ttl_minutes",
        ),
    ] {
        let r = a
            .call(Method::POST, &conversations[0], &boss.h(), Some(send(&bad)))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
}

type PlaceProgressSender = tokio::sync::mpsc::UnboundedSender<deflect_web::phone::PlaceProgress>;

/// Places agents' calls in the test, as the binary does with WhatsApp: it keeps what it was
/// asked, answers with a fixed SDP, and tells when the agent hung up.
struct FakePlacer {
    placed: std::sync::Mutex<Vec<(deflect_web::phone::PlaceCall, PlaceProgressSender)>>,
    hung_up: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// What the agent's holds asked, in order.
    held: std::sync::Arc<std::sync::Mutex<Vec<bool>>>,
}

impl deflect_web::phone::CallPlacer for FakePlacer {
    fn place(
        &self,
        call: deflect_web::phone::PlaceCall,
        progress: tokio::sync::mpsc::UnboundedSender<deflect_web::phone::PlaceProgress>,
    ) -> Result<deflect_web::phone::Placed, String> {
        self.placed.lock().unwrap().push((call, progress));
        let (hung_up, held) = (self.hung_up.clone(), self.held.clone());
        Ok(deflect_web::phone::Placed {
            answer: "v=0 placed".into(),
            hang_up: Box::new(move || {
                hung_up.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
            hold: Box::new(move |on| held.lock().unwrap().push(on)),
        })
    }
}

/// An agent calls a WhatsApp customer from their conversation only once the customer
/// allowed calls (409 before, and after they refuse), never on an account without
/// `calling` (422); the call is the agent's alone, `calling` until the customer answers,
/// and ends with the placer's reason; a second call while on one is 409.
#[tokio::test]
async fn an_agent_calls_a_customer_who_allowed_calls() {
    use deflect_web::phone::PlaceProgress;
    use std::sync::atomic::Ordering;
    let a = app_with(calls_and_texts()).await;
    let ann = a.agent("ann", Role::Agent, &["support"]).await;
    a.agent("bob", Role::Agent, &["support"]).await;
    let (ann_s, bob_s) = (a.login("ann").await, a.login("bob").await);
    let offer = json!({ "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n" });
    let mut paths = Vec::new();
    for account in ["calls", "texts"] {
        let conv = cas_writes_to(&a, account).await;
        paths.push(format!("/api/v1/conversations/{conv}/call"));
    }
    let anns = ann_s.h();
    let place = || a.call(Method::POST, &paths[0], &anns, Some(offer.clone()));
    let r = a
        .call(Method::POST, &paths[1], &ann_s.h(), Some(offer.clone()))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("calling = true"), "{}", r.text);
    let r = place().await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("call_permission_request"), "{}", r.text);
    let permission = |id: &str, response: &str| {
        let now = jiff::Timestamp::now().as_millisecond();
        let deflect_chat::provider::Inbound::Message(mut m) = hello_from_cas(id, now) else {
            unreachable!()
        };
        m.kind = "interactive".into();
        m.body = None;
        m.interactive = Some(deflect_chat::Interactive::CallPermissionReply {
            response: response.into(),
            is_permanent: false,
            expiration_timestamp: Some(now / 1000 + 3600),
        });
        deflect_chat::provider::Inbound::Message(m)
    };
    a.inbox
        .receive("calls", &[permission("wamid.no", "reject")])
        .await
        .unwrap();
    let r = place().await;
    assert_eq!(r.status, StatusCode::CONFLICT, "refused: {}", r.text);
    a.inbox
        .receive("calls", &[permission("wamid.yes", "accept")])
        .await
        .unwrap();
    let r = place().await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no placer: {}",
        r.text
    );
    let hung_up = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let placer = std::sync::Arc::new(FakePlacer {
        placed: std::sync::Mutex::new(Vec::new()),
        hung_up: hung_up.clone(),
        held: Default::default(),
    });
    a.phones.set_placer(placer.clone());
    let mut feed = a.inbox.subscribe(None).await.unwrap();
    let r = place().await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["sdp"], "v=0 placed");
    let call = &r.body["call"];
    let id = call["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &call["state"],
            &call["caller"],
            &call["channel"],
            &call["agent_id"]
        ),
        (
            &json!("calling"),
            &json!("+31612345678"),
            &json!("whatsapp:calls"),
            &json!(ann)
        )
    );
    let progress = {
        let placed = placer.placed.lock().unwrap();
        let (asked, progress) = &placed[0];
        assert_eq!(
            (asked.account.as_str(), asked.whatsapp_id.as_str()),
            ("calls", "31612345678")
        );
        assert!(asked.offer.starts_with("v=0"));
        progress.clone()
    };
    let bobs = a.call(Method::GET, "/api/v1/phone", &bob_s.h(), None).await;
    assert_eq!(bobs.body["calls"], json!([]), "Ann's call is hers alone");
    let r = place().await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "already on a call: {}",
        r.text
    );
    progress.send(PlaceProgress::Ringing).unwrap();
    progress.send(PlaceProgress::Answered).unwrap();
    assert_eq!(
        phone_states(&mut feed, &id, 2).await,
        ["calling", "answered"]
    );
    let anns = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(anns.body["calls"][0]["state"], "answered");
    let hold = format!("/api/v1/phone/calls/{id}/hold");
    for on in [true, false] {
        let r = a
            .call(Method::POST, &hold, &ann_s.h(), Some(json!({ "held": on })))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    assert_eq!(*placer.held.lock().unwrap(), [true, false]);
    let hang_up = format!("/api/v1/phone/calls/{id}/hangup");
    let r = a.call(Method::POST, &hang_up, &bob_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not Bob's call");
    let r = a.call(Method::POST, &hang_up, &ann_s.h(), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(hung_up.load(Ordering::SeqCst), 1);
    progress
        .send(PlaceProgress::Ended("the agent hung up".into()))
        .unwrap();
    let ended = loop {
        let e = feed.next().await.unwrap().unwrap();
        if e.kind == deflect_chat::EventKind::PhoneCall && e.data["call"]["state"] != "answered" {
            break e.data["call"].clone();
        }
    };
    assert_eq!(
        (&ended["state"], &ended["reason"]),
        (&json!("ended"), &json!("the agent hung up"))
    );
    let anns = a.call(Method::GET, "/api/v1/phone", &ann_s.h(), None).await;
    assert_eq!(anns.body["calls"], json!([]));
    // The permission outlives its conversation: closed, the customer writes again, and the
    // agent calls from the new one.
    let boss = a.agent("boss", Role::Supervisor, &["support"]).await;
    let boss = a.inbox.viewer(boss).await.unwrap();
    let first: i64 = paths[0].split('/').nth(4).unwrap().parse().unwrap();
    a.inbox.close(&boss, first, Some("resolved")).await.unwrap();
    let again = hello_from_cas("wamid.again", jiff::Timestamp::now().as_millisecond());
    let second = a
        .inbox
        .receive("calls", &[again])
        .await
        .unwrap()
        .conversations[0];
    assert_ne!(second, first);
    let r = a
        .call(
            Method::POST,
            &format!("/api/v1/conversations/{second}/call"),
            &ann_s.h(),
            Some(offer.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// Cas's "hi" on WhatsApp (from +31612345678), with provider id `id`, sent at `timestamp` (ms).
fn hello_from_cas(id: &str, timestamp: i64) -> deflect_chat::provider::Inbound {
    deflect_chat::provider::Inbound::Message(Box::new(deflect_chat::provider::InboundMessage {
        external_id: id.into(),
        from: "31612345678".into(),
        profile_name: Some("Cas".into()),
        timestamp,
        kind: "text".into(),
        body: Some("hi".into()),
        context_id: None,
        button_payload: None,
        interactive: None,
        media: Vec::new(),
        raw: json!({}),
    }))
}
