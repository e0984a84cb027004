//! Test support (feature `testing`): the web app over an inbox on a fresh SQLite database, set
//! up the one way the web tests, this crate's unit tests and the load examples need it.
//!
//! - [`TestApp`]: the router, to call with `tower::ServiceExt::oneshot` (no server);
//! - [`TestServer`]: the router served on `127.0.0.1`, port 0, for WebSockets and the
//!   connection limits;
//! - [`sqlite_inbox`] and [`app`] for the pieces;
//! - [`agent`] and [`session_cookie`]: an agent with [`PASSWORD`], and a signed-in cookie.
//!
//! The database lives in a temporary directory removed when the app or server is dropped.
//! Metrics go to a recorder of the app's own: nothing process-wide is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::AppState;
use crate::connections::ConnectionLimits;
use axum::Router;
use deflect_chat::{
    Agent, BlobStore, Clock, Inbox, InboxSettings, NewAgent, Role, Store, SystemClock,
};
use deflect_config::{AttachmentsConfig, Config, StoreKind};
use std::net::SocketAddr;
use std::sync::Arc;
use url::Url;

/// An inbox configured from `config` on a new SQLite database in a temporary directory,
/// migrated, with a local attachment store (`config.attachments`' caps) in the same
/// directory; the directory goes when the returned `TempDir` is dropped.
pub async fn sqlite_inbox(config: &Config, clock: Arc<dyn Clock>) -> (Inbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}/t.db", dir.path().display())
        .parse()
        .expect("a SQLite URL");
    let store = Store::connect(&url, 4).await.expect("the database opens");
    store.migrate().await.expect("the schema is created");
    let local = AttachmentsConfig {
        store: StoreKind::Local,
        s3: None,
        ..config.attachments.clone()
    };
    let blobs = BlobStore::open(&local, &dir.path().join("attachments"))
        .await
        .expect("the attachment store opens");
    let settings = InboxSettings::from_config(config);
    let inbox = Inbox::open_with_attachments(store, settings, clock, blobs)
        .await
        .expect("the inbox opens");
    (inbox, dir)
}

/// The app's state over `inbox`, with `base` as its public URL and metrics of its own.
pub fn state(inbox: Inbox, base: Url, config: &Config) -> AppState {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    AppState::new(inbox, base, metrics, config)
}

/// The router over `inbox` (see [`state`]).
pub fn app(inbox: Inbox, base: Url, config: &Config) -> Router {
    crate::router(state(inbox, base, config))
}

/// The password [`agent`] gives every agent.
pub const PASSWORD: &str = "correct horse battery";

/// Creates the agent `name` (also its display name) with `role`, working `queues` and every
/// WhatsApp account of the inbox, with the password [`PASSWORD`].
pub async fn agent(inbox: &Inbox, name: &str, role: Role, queues: &[&str]) -> Agent {
    inbox
        .create_agent(NewAgent {
            username: name.into(),
            display_name: name.into(),
            password: PASSWORD.into(),
            role,
            queues: queues.iter().map(|q| q.to_string()).collect(),
            accounts: (inbox.settings().whatsapp.accounts.iter())
                .map(|a| a.name.clone())
                .collect(),
        })
        .await
        .expect("the agent is created")
}

/// A `Cookie` header value for a new ten-minute session of `agent`.
pub async fn session_cookie(inbox: &Inbox, agent: i64) -> String {
    let session = inbox
        .create_session(agent, std::time::Duration::from_secs(600))
        .await
        .expect("the session is created");
    format!("deflect_session={}", session.token)
}

/// The web app on a fresh inbox, called without a server.
pub struct TestApp {
    /// The router (clone it for each `oneshot`).
    pub router: Router,
    /// The inbox behind it.
    pub inbox: Inbox,
    /// The calls ringing on its agents' softphones.
    pub phones: Arc<crate::phone::Phones>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// The public URL the app believes it has.
    pub const BASE: &str = "http://gw.test";

    /// The app configured from `config`, on the system clock, at [`TestApp::BASE`].
    pub async fn new(config: &Config) -> Self {
        Self::with_clock(config, Arc::new(SystemClock)).await
    }

    /// The app on `clock` (a virtual one, for time-dependent tests).
    pub async fn with_clock(config: &Config, clock: Arc<dyn Clock>) -> Self {
        Self::at(config, Self::BASE.parse().expect("a URL"), clock).await
    }

    /// The app with `calls` taking widget visitors' calls (sites' `call_number`).
    pub async fn with_calls(config: &Config, calls: Arc<dyn crate::calls::BrowserCalls>) -> Self {
        let (inbox, dir) = sqlite_inbox(config, Arc::new(SystemClock)).await;
        let state = state(inbox.clone(), Self::BASE.parse().expect("a URL"), config);
        let _ = state.web.calls.set(calls);
        Self {
            phones: state.phones.clone(),
            router: crate::router(state),
            inbox,
            _dir: dir,
        }
    }

    /// The app at the public URL `base`, on `clock`.
    pub async fn at(config: &Config, base: Url, clock: Arc<dyn Clock>) -> Self {
        let (inbox, dir) = sqlite_inbox(config, clock).await;
        let state = state(inbox.clone(), base, config);
        Self {
            phones: state.phones.clone(),
            router: crate::router(state),
            inbox,
            _dir: dir,
        }
    }
}

/// The web app on a fresh inbox, served on `127.0.0.1` (port 0) until dropped with the
/// test's runtime.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The inbox behind it.
    pub inbox: Inbox,
    /// The calls ringing on its agents' softphones.
    pub phones: Arc<crate::phone::Phones>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Serves the app configured from `config` with the default connection limits.
    pub async fn start(config: &Config) -> Self {
        Self::with_limits(config, ConnectionLimits::default()).await
    }

    /// Serves it with connection limits of the test's choosing.
    pub async fn with_limits(config: &Config, limits: ConnectionLimits) -> Self {
        let (inbox, dir) = sqlite_inbox(config, Arc::new(SystemClock)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("a bound listener's address");
        let base = format!("http://{addr}").parse().expect("a URL");
        let state = state(inbox.clone(), base, config);
        let phones = state.phones.clone();
        tokio::spawn(crate::connections::serve(
            listener,
            crate::router(state),
            limits,
            std::future::pending(),
        ));
        Self {
            addr,
            inbox,
            phones,
            _dir: dir,
        }
    }

    /// `http://<addr>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Whether the ringer of a softphone call (its [`crate::phone::PhoneSink`]'s receiver) hears
/// the call end at once — within 10 s: nobody to ring it for.
pub async fn rang_for_nobody(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<crate::phone::PhoneSignal>,
) -> bool {
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv());
    matches!(ended.await, Ok(None))
}
