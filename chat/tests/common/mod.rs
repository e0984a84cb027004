//! Shared test support: an inbox on SQLite or PostgreSQL with a manual clock, and a local
//! HTTP server standing in for Meta's and Twilio's APIs that records every request.

#![allow(dead_code, clippy::unwrap_used)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use deflect_chat::{
    CallContext, Deflection, Inbox, InboxSettings, InputMethod, ManualClock, NewAgent, Role, Store,
    Viewer,
};
use deflect_config::{AccountConfig, Config, Fallback, Provider, QueueConfig, Secret};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;

/// A call that ended a second before [`T0`] (typed on the keypad), asking for a WhatsApp
/// message to `number`.
pub fn deflection(call_id: &str, number: &str) -> Deflection {
    Deflection {
        call: CallContext {
            call_id: call_id.into(),
            caller: Some("+31612345678".into()),
            callback_number: number.into(),
            dialled_number: Some("+31201234567".into()),
            flow: Some("support".into()),
            language: Some("en".into()),
            started_at: T0 - 60_000,
            ended_at: T0 - 1_000,
            input_method: InputMethod::Dtmf,
            transcript: None,
            path: Vec::new(),
        },
        account: None,
        queue: None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// The settings most tests use: queues `support` (offer 10 s, wait 60 s, falls back to
/// `overflow`, disposition required) and `overflow` (wait 120 s, auto-reply); accounts
/// `sandbox` (default) and `meta` (pointing at `api` when given).
pub fn settings(api: Option<SocketAddr>) -> InboxSettings {
    let mut c = Config::default();
    c.inbox.offer_timeout = Duration::from_secs(10);
    c.inbox.inactivity_close = Duration::from_secs(3600);
    c.inbox.transfer_timeout = Duration::from_secs(30);
    c.inbox.max_conversations_per_agent = 2;
    c.inbox.queues = vec![
        QueueConfig {
            name: "support".into(),
            wait_timeout: Duration::from_secs(60),
            fallback: Fallback::Queue,
            fallback_queue: Some("overflow".into()),
            disposition_required: true,
            dispositions: vec!["resolved".into(), "spam".into()],
            ..QueueConfig::default()
        },
        QueueConfig {
            name: "overflow".into(),
            wait_timeout: Duration::from_secs(120),
            fallback: Fallback::AutoReply,
            auto_reply: Some(
                "All agents are busy in {{queue}}; your reference is {{reference}}".into(),
            ),
            ..QueueConfig::default()
        },
    ];
    c.inbox.default_queue = Some("support".into());
    let sandbox = c.whatsapp.accounts[0].clone();
    let mut meta = AccountConfig {
        name: "meta".into(),
        provider: Provider::Meta,
        business_number: "+31201234567".into(),
        phone_number_id: Some("106540352242922".into()),
        access_token: Some(Secret::new("EAAG-test-token")),
        app_secret: Some(Secret::new("app-secret")),
        verify_token: Some(Secret::new("verify-me")),
        ..AccountConfig::default()
    };
    meta.templates.deflection.name = "deflect_callback".into();
    let mut twilio = AccountConfig {
        name: "twilio".into(),
        provider: Provider::Twilio,
        business_number: "+31207654321".into(),
        account_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
        auth_token: Some(Secret::new("twilio-token")),
        ..AccountConfig::default()
    };
    twilio.templates.deflection.content_sid = Some("HX0123456789abcdef0123456789abcdef".into());
    if let Some(api) = api {
        let base: url::Url = format!("http://{api}").parse().unwrap();
        meta.api_base_url = Some(base.clone());
        twilio.api_base_url = Some(base);
    }
    c.whatsapp.accounts = vec![sandbox, meta, twilio];
    c.whatsapp.default_account = Some("sandbox".into());
    InboxSettings::from_config(&c)
}

/// A database of `backend`, empty and migrated; keep the returned guard alive.
pub async fn database(
    backend: Backend,
) -> (deflect_config::DatabaseUrl, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            (
                deflect_chat::testing::sqlite_database(dir.path()),
                Some(dir),
            )
        }
        Backend::Postgres => (deflect_chat::testing::postgres_database().await, None),
    }
}

/// An inbox under test.
pub struct Env {
    pub inbox: Inbox,
    pub clock: ManualClock,
    pub url: deflect_config::DatabaseUrl,
    pub settings: InboxSettings,
    /// The attachment store's directory (a local store, shared by [`Env::another`]).
    pub blobs: tempfile::TempDir,
    _dir: Option<tempfile::TempDir>,
}

impl Env {
    pub async fn new(backend: Backend) -> Self {
        Self::with(backend, settings(None)).await
    }

    /// An inbox whose default account is `meta` at a fake provider (answering within
    /// `timeout`, when given), and the fake.
    pub async fn meta(backend: Backend, timeout: Option<Duration>) -> (Self, FakeProvider) {
        let fake = FakeProvider::start().await;
        let mut settings = settings(Some(fake.addr));
        settings.whatsapp.default_account = Some("meta".into());
        for a in &mut settings.whatsapp.accounts {
            a.request_timeout = timeout.unwrap_or(a.request_timeout);
        }
        (Self::with(backend, settings).await, fake)
    }

    /// Deflects call `call_id` to `number` ([`deflection`]); returns the template's message id.
    pub async fn deflect(&self, call_id: &str, number: &str) -> i64 {
        let req = deflection(call_id, number);
        self.inbox.deflect(&req).await.unwrap().message_id
    }

    /// The outbox's rows by state.
    pub async fn outbox(&self) -> HashMap<String, i64> {
        self.inbox.outbox_depth().await.unwrap()
    }

    pub async fn with(backend: Backend, settings: InboxSettings) -> Self {
        let (url, dir) = database(backend).await;
        let clock = ManualClock::new(T0);
        let blobs = tempfile::tempdir().unwrap();
        let inbox = open(&url, &settings, &clock, blobs.path()).await;
        Self {
            inbox,
            clock,
            url,
            settings,
            blobs,
            _dir: dir,
        }
    }

    /// A second inbox (another process) on the same database, clock and attachment store.
    pub async fn another(&self) -> Inbox {
        open(&self.url, &self.settings, &self.clock, self.blobs.path()).await
    }

    /// An agent in `queues` working every account, available, and their viewer.
    pub async fn agent(&self, name: &str, queues: &[&str]) -> Viewer {
        self.agent_with(name, queues, &self.account_names()).await
    }

    /// An agent in `queues` working `accounts`, available, and their viewer.
    pub async fn agent_with(&self, name: &str, queues: &[&str], accounts: &[String]) -> Viewer {
        let a = self
            .inbox
            .create_agent(NewAgent {
                username: name.into(),
                display_name: name.into(),
                password: "correct horse battery".into(),
                role: Role::Agent,
                queues: queues.iter().map(|q| q.to_string()).collect(),
                accounts: accounts.to_vec(),
            })
            .await
            .unwrap();
        self.inbox
            .set_presence(a.id, deflect_chat::Presence::Available)
            .await
            .unwrap();
        self.inbox.viewer(a.id).await.unwrap()
    }

    /// Every configured WhatsApp account's name: what the test agents work.
    pub fn account_names(&self) -> Vec<String> {
        let accounts = &self.inbox.settings().whatsapp.accounts;
        accounts.iter().map(|a| a.name.clone()).collect()
    }

    pub async fn supervisor(&self) -> Viewer {
        self.staff("boss", "Boss", Role::Supervisor).await
    }

    /// An admin called `name`, and their viewer.
    pub async fn admin(&self, name: &str) -> Viewer {
        self.staff(name, name, Role::Admin).await
    }

    async fn staff(&self, username: &str, display_name: &str, role: Role) -> Viewer {
        let a = self
            .inbox
            .create_agent(NewAgent {
                username: username.into(),
                display_name: display_name.into(),
                password: "correct horse battery".into(),
                role,
                queues: vec![],
                accounts: vec![],
            })
            .await
            .unwrap();
        self.inbox.viewer(a.id).await.unwrap()
    }

    /// A connection of its own to the test database.
    pub async fn sql(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(self.url.expose())
            .await
            .unwrap()
    }

    /// Message `id`, as stored.
    pub async fn message(&self, id: i64) -> deflect_chat::Message {
        use sqlx::Row;
        let conversation: i64 = sqlx::query("SELECT conversation_id FROM messages WHERE id = $1")
            .bind(id)
            .fetch_one(&mut self.sql().await)
            .await
            .unwrap()
            .get(0);
        let all = self.inbox.messages_unchecked(conversation, None, 1000);
        all.await.unwrap().into_iter().find(|m| m.id == id).unwrap()
    }

    /// Puts message `id`'s outbox row in the state a worker that claimed it, sent it and died
    /// leaves behind: `sending`, leased for a minute from now. Returns the row's id.
    pub async fn mark_sending(&self, message: i64) -> i64 {
        use sqlx::Row;
        sqlx::query(
            "UPDATE outbox SET state = 'sending', external_id = NULL, attempts = attempts + 1, \
             lease_until = $1 WHERE message_id = $2 RETURNING id",
        )
        .bind(self.inbox.now() + 60_000)
        .bind(message)
        .fetch_one(&mut self.sql().await)
        .await
        .unwrap()
        .get(0)
    }

    /// Moves the clock and fires what is due.
    pub async fn advance(&self, d: Duration) -> usize {
        self.clock.advance(d);
        self.inbox.fire_due_timers().await.unwrap()
    }
}

/// An inbox on `url` with a local attachment store in `blobs` (default caps).
pub async fn open(
    url: &deflect_config::DatabaseUrl,
    settings: &InboxSettings,
    clock: &ManualClock,
    blobs: &std::path::Path,
) -> Inbox {
    let store = Store::connect(url, 8).await.unwrap();
    store.migrate().await.unwrap();
    let config = deflect_config::AttachmentsConfig::default();
    let blobs = deflect_chat::BlobStore::open(&config, blobs).await.unwrap();
    Inbox::open_with_attachments(store, settings.clone(), Arc::new(clock.clone()), blobs)
        .await
        .unwrap()
}

/// A customer's text message as a provider would deliver it.
pub fn text(id: &str, from: &str, body: &str) -> deflect_chat::provider::Inbound {
    deflect_chat::provider::Inbound::Message(Box::new(deflect_chat::provider::InboundMessage {
        external_id: id.into(),
        from: from.into(),
        profile_name: Some("Ann".into()),
        timestamp: 0,
        kind: "text".into(),
        body: Some(body.into()),
        context_id: None,
        button_payload: None,
        interactive: None,
        media: Vec::new(),
        raw: serde_json::json!({ "id": id }),
    }))
}

/// A request the fake provider received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A queued answer: after `delay` (the request is recorded at once), `status` and `body`.
type Answer = (Duration, u16, String);

#[derive(Clone, Default)]
struct FakeState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    responses: Arc<Mutex<VecDeque<Answer>>>,
    notify: Arc<tokio::sync::Notify>,
}

/// A local HTTP server standing in for a provider's API: records requests and answers with
/// queued responses (default: a Cloud API success with a fresh `wamid`). It can go down
/// (connections refused) and come back on the same address.
pub struct FakeProvider {
    pub addr: SocketAddr,
    state: FakeState,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FakeProvider {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Self {
            addr,
            state: FakeState::default(),
            server: Mutex::new(None),
        };
        fake.serve(listener);
        fake
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .fallback(record)
            .with_state(self.state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.server.lock().unwrap() = Some(task);
    }

    /// Stops listening: connections are refused until [`FakeProvider::up`].
    pub async fn down(&self) {
        let task = self.server.lock().unwrap().take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens again on the same address.
    pub async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Queues the next answer.
    pub fn respond(&self, status: u16, body: &str) {
        self.respond_after(Duration::ZERO, status, body);
    }

    /// Queues the next answer, given only after `delay`.
    pub fn respond_after(&self, delay: Duration, status: u16, body: &str) {
        self.state
            .responses
            .lock()
            .unwrap()
            .push_back((delay, status, body.to_string()));
    }

    /// Queues a success naming `id` (as both Meta's `wamid` and Twilio's `sid`).
    pub fn accept_as(&self, id: &str) {
        self.respond(
            200,
            &format!(
                r#"{{"messaging_product":"whatsapp","messages":[{{"id":"{id}"}}],"sid":"{id}"}}"#
            ),
        );
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests once there are at least `n` (requests sent by a background task).
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let all = async {
            loop {
                let heard = self.state.notify.notified();
                tokio::pin!(heard);
                heard.as_mut().enable();
                if self.requests().len() >= n {
                    return self.requests();
                }
                heard.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .unwrap_or_else(|_| panic!("{n} requests expected, got {:?}", self.requests()))
    }
}

async fn record(
    State(s): State<FakeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let n = {
        let mut r = s.requests.lock().unwrap();
        r.push(Recorded {
            method,
            path: uri.to_string(),
            headers,
            body,
        });
        r.len()
    };
    s.notify.notify_waiters();
    let (delay, status, body) = s.responses.lock().unwrap().pop_front().unwrap_or_else(|| {
        (
            Duration::ZERO,
            200,
            format!(
                r#"{{"messaging_product":"whatsapp","contacts":[{{"input":"x","wa_id":"x"}}],"messages":[{{"id":"wamid.fake{n}"}}],"sid":"SMfake{n}"}}"#
            ),
        )
    });
    tokio::time::sleep(delay).await;
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
}
