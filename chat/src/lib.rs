//! deflect's inbox core: every conversation — a deflected call, a WhatsApp message, a web
//! chat — who serves it and when, and the WhatsApp traffic that carries it. It never loses or
//! duplicates a message: every change is committed before it is acknowledged or sent.
//!
//! The [`Inbox`] is the one entry point. Its operations, grouped:
//!
//! | area | operations |
//! |---|---|
//! | deflections | [`Inbox::deflect`] |
//! | webhooks | [`Inbox::receive`] (with [`provider::meta`] / [`provider::twilio`] to verify and parse) |
//! | agents | [`Inbox::create_agent`], [`Inbox::verify_password`], [`Inbox::set_password`], [`Inbox::set_memberships`], [`Inbox::set_disabled`], [`Inbox::set_presence`], [`Inbox::agent`], [`Inbox::agents`], [`Inbox::viewer`] |
//! | conversations | [`Inbox::list_conversations`], [`Inbox::conversation`], [`Inbox::messages`], [`Inbox::accept_offer`], [`Inbox::reject_offer`], [`Inbox::claim`], [`Inbox::transfer_to_agent`], [`Inbox::transfer_to_queue`], [`Inbox::close`] |
//! | messages | [`Inbox::send_text`] (24 h window), [`Inbox::send_recontact`], [`Inbox::add_note`] |
//! | events | [`Inbox::subscribe`] (resume from an event id), [`Inbox::events_after`] |
//! | web channel | [`Inbox::start_web_conversation`], [`Inbox::web_visitor_message`], [`Inbox::web_transcript`], [`Inbox::create_handoff`] |
//! | sandbox | [`Inbox::sandbox_outgoing`], [`Inbox::sandbox_reply`] |
//! | API hand-offs | [`Inbox::start_handoff`] (a conversation waiting for the customer's first WhatsApp message) |
//! | sessions and tokens | [`Inbox::create_session`], [`Inbox::session`], [`Inbox::end_session`], [`Inbox::create_api_token`], [`Inbox::api_tokens`], [`Inbox::revoke_api_token`], [`Inbox::api_token_agent`] |
//! | canned answers | [`Inbox::canned_answers`], [`Inbox::create_canned_answer`], [`Inbox::update_canned_answer`], [`Inbox::delete_canned_answer`], [`Inbox::render_canned_answer`] |
//! | supervision | [`Inbox::board`] |
//! | outgoing webhooks | [`hooks`]: deliveries written with each event, sent by [`Inbox::send_due_hooks`] |
//! | workers | [`Inbox::run`] (outbox, timers and webhooks until shutdown), or step by step: [`Inbox::send_due`], [`Inbox::fire_due_timers`] |
//!
//! Access control takes a [`Viewer`] (from [`Inbox::viewer`]): supervisors and admins see
//! everything; agents the conversations of their queues and WhatsApp accounts, and those
//! offered to or held by them. A conversation the viewer may not see is "not found".
//!
//! Layers: [`store`] (SQLite or PostgreSQL through sqlx), [`routing`] (pure decisions),
//! [`timers`], [`outbox`], [`events`], [`provider`] (Meta, Twilio, sandbox). Time comes from
//! a [`Clock`], so tests run timers and windows on a [`ManualClock`].

#![forbid(unsafe_code)]

/// A query text assembled from this crate's constant fragments and numbered placeholders;
/// values are always bound, never spliced in.
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

/// A fault injection point, compiled in only with the `failpoints` feature (the fault tests'
/// builds; the `fail` crate): `FAILPOINTS="<name>=return(abort)"` aborts the process there,
/// any other `return` makes the step fail with `$err`. Without the feature it is nothing.
macro_rules! fault {
    ($name:literal, $err:expr) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name, |arg: Option<String>| {
            if arg.as_deref() == Some("abort") {
                tracing::error!(point = $name, "fault injected: aborting");
                std::process::abort();
            }
            $err
        });
    };
}

pub mod access;
pub mod agents;
pub mod board;
pub mod canned;
pub mod clock;
mod conversations;
pub mod deflection;
pub mod events;
pub mod hooks;
pub mod inbound;
pub mod limits;
pub mod model;
pub mod outbox;
pub mod provider;
mod repo;
pub mod routing;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timers;
pub mod web;

pub use access::{ApiToken, NewSession, Session};
pub use agents::{Colleague, Colleagues, NewAgent};
pub use board::{AgentLoad, Board, QueueLoad};
pub use canned::{CannedAnswer, NewCannedAnswer};
pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use deflection::{Deflected, DeflectionRequest};
pub use events::Subscription;
pub use hooks::HookPass;
pub use inbound::{InboundStats, Received};
pub use limits::{LimitCheck, LimitOutcome};
pub use model::{
    Agent, CallContext, Channel, ChatError, Conversation, ConversationDetail, ConversationFilter,
    DeliveryStatus, Direction, Event, EventKind, InputMethod, MAX_TEXT, Message, Origin, Role,
    Status, StoreError, TimerKind, Viewer, WINDOW_MS,
};
pub use outbox::OutboxPass;
pub use routing::Presence;
pub use store::Store;
pub use web::{
    EscalationReason, Handoff, NewHandoff, NewWebConversation, SandboxReply, VisitorEvent,
    VisitorEventKind,
};

use deflect_config::{
    AccountConfig, Config, InboxConfig, QueueConfig, WebhookConfig, WhatsAppConfig,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The parts of the configuration the inbox works from.
#[derive(Clone, Debug, PartialEq)]
pub struct InboxSettings {
    /// `[whatsapp]`.
    pub whatsapp: WhatsAppConfig,
    /// `[inbox]`.
    pub inbox: InboxConfig,
    /// `[[http.webhooks]]`: outgoing webhooks.
    pub webhooks: Vec<WebhookConfig>,
    /// `http.public_base_url`: the gateway's address as providers call it.
    pub public_base_url: Option<url::Url>,
}

impl InboxSettings {
    /// From the whole configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            whatsapp: c.whatsapp.clone(),
            inbox: c.inbox.clone(),
            webhooks: c.http.webhooks.clone(),
            public_base_url: c.http.public_base_url.clone(),
        }
    }
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// The inbox core. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Inbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: InboxSettings,
    clock: Arc<dyn Clock>,
    providers: HashMap<String, provider::Client>,
    http: reqwest::Client,
    outbox_wake: Notify,
    timer_wake: Notify,
    pacer: outbox::SharedPacer,
    feed: events::Feed,
    hooks_wake: Arc<Notify>,
    inbound: inbound::InboundQueue,
    inbound_counts: inbound::Counts,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// Opens the inbox on a migrated store: records the configured queues, starts the event
    /// relay on PostgreSQL, and (SQLite) releases sends a previous run left unfinished.
    pub async fn open(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ChatError> {
        Self::open_with(store, settings, clock, true).await
    }

    /// Opens the inbox for a one-shot command (such as `deflect agent add`) that may run
    /// beside a gateway on the same database: it neither takes over unfinished sends nor
    /// relays events.
    pub async fn open_for_command(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ChatError> {
        Self::open_with(store, settings, clock, false).await
    }

    async fn open_with(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
        running: bool,
    ) -> Result<Self, ChatError> {
        let http = provider::http_client();
        let providers = settings
            .whatsapp
            .accounts
            .iter()
            .map(|a| {
                let base = settings.public_base_url.as_ref();
                (
                    a.name.clone(),
                    provider::Client::for_account(a, &http, base),
                )
            })
            .collect();
        let now = clock.now();
        for q in &settings.inbox.queues {
            sqlx::query(
                "INSERT INTO queues (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(&q.name)
            .bind(now)
            .execute(store.pool())
            .await?;
        }
        let feed = events::Feed::new(store.clone());
        let hooks_wake = Arc::new(Notify::new());
        let sinks = hooks::sink(&settings, hooks_wake.clone())
            .into_iter()
            .chain([feed.sink()])
            .collect();
        store.set_sinks(sinks);
        if running && store.kind() == deflect_config::DatabaseKind::Postgres {
            feed.start_relay().await?;
        }
        let inbox = Self {
            inner: Arc::new(Inner {
                store,
                settings,
                clock,
                providers,
                http,
                outbox_wake: Notify::new(),
                timer_wake: Notify::new(),
                pacer: Arc::default(),
                feed,
                hooks_wake,
                inbound: inbound::InboundQueue::default(),
                inbound_counts: inbound::Counts::default(),
            }),
        };
        if running {
            inbox.warn_agents_without_accounts().await?;
        }
        if running && inbox.store().kind() == deflect_config::DatabaseKind::Sqlite {
            let released = inbox.release_orphaned_sends().await?;
            if released > 0 {
                tracing::info!(
                    messages = released,
                    "resending messages a previous run left unsent"
                );
            }
        }
        Ok(inbox)
    }

    /// Stops the event relay. The store is closed by its owner.
    pub fn shutdown(&self) {
        self.inner.feed.stop();
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The settings.
    pub fn settings(&self) -> &InboxSettings {
        &self.inner.settings
    }

    /// Now, by the inbox's clock.
    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    /// A WhatsApp account by name.
    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.inner.settings.whatsapp.account(name)
    }

    /// The default WhatsApp account.
    pub fn default_account(&self) -> Option<&AccountConfig> {
        self.inner.settings.whatsapp.default_account()
    }

    /// A queue by name.
    pub fn queue_config(&self, name: &str) -> Option<&QueueConfig> {
        self.inner
            .settings
            .inbox
            .queues
            .iter()
            .find(|q| q.name == name)
    }

    /// The configured queues' names.
    pub fn queue_names(&self) -> Vec<&str> {
        self.inner
            .settings
            .inbox
            .queues
            .iter()
            .map(|q| q.name.as_str())
            .collect()
    }

    /// The queue of conversations nothing routes elsewhere.
    pub fn default_queue(&self) -> &str {
        self.inner
            .settings
            .inbox
            .default_queue()
            .unwrap_or("default")
    }

    /// A queue's routing rules.
    pub fn rules(&self, queue: &str) -> routing::QueueRules {
        let i = &self.inner.settings.inbox;
        let q = self.queue_config(queue);
        routing::QueueRules {
            offer_timeout: clock::ms(q.and_then(|q| q.offer_timeout).unwrap_or(i.offer_timeout)),
            wait_timeout: clock::ms(
                q.map(|q| q.wait_timeout)
                    .unwrap_or(Duration::from_secs(300)),
            ),
            fallback: q
                .map(|q| q.fallback)
                .unwrap_or(deflect_config::Fallback::Wait),
            fallback_queue: q.and_then(|q| q.fallback_queue.clone()),
            auto_reply: q.and_then(|q| q.auto_reply.clone()),
        }
    }

    pub(crate) fn transfer_timeout(&self) -> Millis {
        clock::ms(self.inner.settings.inbox.transfer_timeout)
    }

    pub(crate) fn inactivity_ms(&self) -> Millis {
        clock::ms(self.inner.settings.inbox.inactivity_close)
    }

    pub(crate) fn provider(&self, account: &str) -> Option<&provider::Client> {
        self.inner.providers.get(account)
    }

    pub(crate) fn hook_client(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn pacer(&self) -> &outbox::Pacer {
        &self.inner.pacer
    }

    pub(crate) fn wake_outbox(&self) {
        self.inner.outbox_wake.notify_one();
    }

    pub(crate) fn wake_timers(&self) {
        self.inner.timer_wake.notify_one();
    }

    /// Events as they commit, after `after` when resuming (`None`: only new ones).
    pub async fn subscribe(&self, after: Option<i64>) -> Result<Subscription, ChatError> {
        Ok(self.inner.feed.subscribe(after).await?)
    }

    /// Up to `limit` logged events after `after`, in log order.
    pub async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>, ChatError> {
        let limit = i64::from(limit.clamp(1, 10_000));
        Ok(repo::events::after(self.store(), after, limit).await?)
    }

    /// Runs the outbox and timer workers until `shutdown` completes; sends in progress
    /// finish first.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let stop = tokio::sync::watch::channel(false);
        let outbox = tokio::spawn(self.clone().outbox_loop(stop.1.clone()));
        let timers = tokio::spawn(self.clone().timer_loop(stop.1.clone()));
        let hooks = tokio::spawn(self.clone().hook_loop(stop.1.clone()));
        shutdown.await;
        let _ = stop.0.send(true);
        let _ = outbox.await;
        let _ = timers.await;
        let _ = hooks.await;
    }

    async fn outbox_loop(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let pass = self.send_due().await;
            let wait = match &pass {
                Ok(p) if p.worked() => continue,
                Ok(_) => self.until_due(self.next_outbox_due().await.ok().flatten()),
                Err(e) => {
                    tracing::warn!(cause = %e, "outbox worker: database error; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = self.inner.outbox_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn timer_loop(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.fire_due_timers().await {
                Ok(_) => self.until_due(self.next_timer_due().await.ok().flatten()),
                Err(e) => {
                    tracing::warn!(cause = %e, "timer worker: database error; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = self.inner.timer_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// How long to sleep until `due`; at most a second, so work committed by other processes
    /// is picked up promptly.
    pub(crate) fn until_due(&self, due: Option<Millis>) -> Duration {
        let max = Duration::from_secs(1);
        match due {
            Some(d) => Duration::from_millis(u64::try_from(d - self.now()).unwrap_or(0)).min(max),
            None => max,
        }
    }
}
