//! The inbox: the one entry point. It opens the services on a store, registers the consumers
//! of committed events, runs the workers, and hands each operation to the service that owns it.

use crate::access::{self, NewSession, Session};
use crate::agents::{self, NewAgent};
use crate::attachments::{AttachmentFile, AttachmentService, UploadError, UploadedFile};
use crate::blobs::{BlobStore, LinkSigner, MediaKind};
use crate::board::{self, Board};
use crate::bots::BotService;
use crate::calls;
use crate::canned;
use crate::clock::{Clock, Millis};
use crate::components;
use crate::contacts;
use crate::context::{Ctx, HookEndpoints, InboxSettings};
use crate::deflection::{self, Deflected, Deflection};
use crate::events::Subscription;
use crate::hooks::{self, HookPass, Hooks};
use crate::inbound::{InboundService, InboundStats, Received};
use crate::limits::{self, LimitCheck, LimitOutcome};
use crate::lists;
use crate::model::Handoff;
use crate::model::{
    Agent, ApiToken, CallTarget, ChatError, Colleagues, Conversation, ConversationDetail,
    ConversationFilter, Event, EventKind, Interactive, Message, Role, Viewer,
};
use crate::model::{CannedAnswer, CsatReport, NewCannedAnswer};
use crate::model::{ContactCard, LabelCount};
use crate::model::{ConversationSummary, Preferences, ViewCounts};
use crate::model::{DeflectionReport, Period, Report, Volume};
use crate::model::{FaqListEntry, NewFaqEntry, NewWhitelistEntry, ScopeSettings, WhitelistEntry};
use crate::model::{NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointChange};
use crate::model::{Template, TemplateRefresh, TemplateValues};
use crate::outbox::{Outbox, OutboxFiles, OutboxPass};
use crate::provider::{self, Inbound, Receipt};
use crate::receipts::{ReceiptKind, Receipts};
use crate::reports;
use crate::routing::{AgentId, Presence};
use crate::sandbox::{self, SandboxReply};
use crate::settings;
use crate::store::Store;
use crate::templates;
use crate::webchat::{self, NewHandoff, NewWebConversation};
use crate::webhooks;
use crate::whatsapp_calls::{AccountCall, WhatsAppCalls};
use crate::{conversations, events, repo, routing, timers};
use deflect_config::OpeningHours;
use deflect_config::{AccountConfig, QueueConfig};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Notify;

/// The inbox core. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Inbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    ctx: Arc<Ctx>,
    feed: events::Feed,
    inbound: InboundService,
    outbox: Outbox,
    hooks: Hooks,
    bots: BotService,
    attachments: AttachmentService,
    receipts: Receipts,
    whatsapp_calls: WhatsAppCalls,
    /// The HTTP client the workers share (providers, webhooks).
    http: reqwest::Client,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("store", self.store())
            .finish_non_exhaustive()
    }
}

/// The name of the generated key signing links to files and continue links
/// ([`crate::blobs::links`]).
const LINK_KEY: &str = "media_links";

/// The signer of links to files: `attachments.signing_secret`, or the key generated once
/// and kept in the database (the first process to need one makes it).
async fn link_signer(
    store: &Store,
    settings: &InboxSettings,
    now: crate::clock::Millis,
) -> Result<LinkSigner, ChatError> {
    if let Some(secret) = &settings.attachments.signing_secret {
        return Ok(LinkSigner::new(secret.expose().as_bytes()));
    }
    let mut candidate = [0u8; 32];
    getrandom::fill(&mut candidate).expect("the operating system provides random bytes");
    let key =
        repo::gateway_keys::get_or_create(store, LINK_KEY, &hex::encode(candidate), now).await?;
    Ok(LinkSigner::new(key.as_bytes()))
}

impl Inbox {
    /// Opens the inbox on a migrated store: records the configured queues, starts the event
    /// relay on PostgreSQL, and (SQLite) releases sends a previous run left unfinished.
    ///
    /// Without an attachment store ([`Inbox::open_with_attachments`]) the files customers
    /// send are recorded but neither downloaded nor served: they wait, pending, for a
    /// process that has one.
    pub async fn open(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ChatError> {
        Self::open_with(store, settings, clock, true, None).await
    }

    /// Opens the inbox as [`Inbox::open`] does, with the store of the files customers send:
    /// its worker downloads them into it, and agents download them from it.
    pub async fn open_with_attachments(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
        blobs: BlobStore,
    ) -> Result<Self, ChatError> {
        Self::open_with(store, settings, clock, true, Some(blobs)).await
    }

    /// Opens the inbox for a one-shot command (such as `deflect agent add`) that may run
    /// beside a gateway on the same database: it neither takes over unfinished sends nor
    /// relays events.
    pub async fn open_for_command(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ChatError> {
        Self::open_with(store, settings, clock, false, None).await
    }

    async fn open_with(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
        running: bool,
        blobs: Option<BlobStore>,
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
            .collect::<HashMap<_, _>>();
        let providers = Arc::new(providers);
        let names: Vec<&str> = settings
            .inbox
            .queues
            .iter()
            .map(|q| q.name.as_str())
            .collect();
        repo::queues::record(&store, &names, clock.now()).await?;
        let feed = events::Feed::new(store.clone());
        let hooks_wake = Arc::new(Notify::new());
        let hook_endpoints = Arc::new(HookEndpoints::new(&settings.webhooks));
        let sinks = vec![
            hooks::sink(hook_endpoints.clone(), hooks_wake.clone()),
            feed.sink(),
        ];
        store.set_sinks(sinks);
        if running && store.kind() == deflect_config::DatabaseKind::Postgres {
            feed.start_relay().await?;
        }
        let signer = link_signer(&store, &settings, clock.now()).await?;
        let links = blobs.as_ref().map(|_| signer.clone());
        let files = blobs.clone().zip(links.clone());
        let files = files.map(|(blobs, links)| OutboxFiles { blobs, links });
        let whatsapp_calls = WhatsAppCalls::new(providers.clone(), &settings.whatsapp.accounts);
        let ctx = Arc::new(Ctx::new(store, settings, clock, hook_endpoints, signer));
        // Admins' overrides apply from the first request.
        ctx.refresh_settings().await?;
        let inbox = Self {
            inner: Arc::new(Inner {
                feed,
                inbound: InboundService::new(ctx.clone()),
                outbox: Outbox::new(ctx.clone(), providers.clone(), files),
                whatsapp_calls,
                receipts: Receipts::new(ctx.clone(), providers),
                hooks: Hooks::new(ctx.clone(), http.clone(), hooks_wake),
                http,
                bots: BotService::new(ctx.clone()),
                attachments: AttachmentService::new(ctx.clone(), blobs, links),
                ctx,
            }),
        };
        if running {
            agents::warn_without_accounts(inbox.ctx()).await?;
        }
        if running && inbox.store().kind() == deflect_config::DatabaseKind::Sqlite {
            let released = inbox.inner.outbox.release_orphaned_sends().await?;
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

    /// The shared context of the services.
    pub(crate) fn ctx(&self) -> &Ctx {
        &self.inner.ctx
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.ctx().store()
    }

    /// The settings as they apply now: the configuration file's with the overrides admins
    /// stored (see [`Inbox::setting_overrides`]).
    pub fn settings(&self) -> Arc<InboxSettings> {
        self.ctx().settings()
    }

    /// The settings as the configuration file says (accounts, outbox, attachments: what no
    /// override changes).
    pub fn file_settings(&self) -> &InboxSettings {
        self.ctx().file_settings()
    }

    /// Now, by the inbox's clock.
    pub fn now(&self) -> Millis {
        self.ctx().now()
    }

    /// A WhatsApp account by name.
    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.ctx().account(name)
    }

    /// The default WhatsApp account.
    pub fn default_account(&self) -> Option<&AccountConfig> {
        self.ctx().default_account()
    }

    /// A queue by name, as it applies now.
    pub fn queue_config(&self, name: &str) -> Option<QueueConfig> {
        self.ctx().queue_config(name)
    }

    /// The configured queues' names.
    pub fn queue_names(&self) -> Vec<&str> {
        self.ctx().queue_names()
    }

    /// The queue of conversations nothing routes elsewhere.
    pub fn default_queue(&self) -> &str {
        self.ctx().default_queue()
    }

    /// A queue's routing rules.
    pub fn rules(&self, queue: &str) -> routing::QueueRules {
        self.ctx().rules(queue)
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

    /// Publishes `call` (a call ringing on the agents' softphones, see
    /// [`EventKind::PhoneCall`]) as an ephemeral event (id 0, not logged) to every
    /// subscriber, in this process and (PostgreSQL) the others.
    pub async fn phone_call(&self, call: serde_json::Value) -> Result<(), ChatError> {
        let e = Event {
            id: 0,
            conversation_id: None,
            seq: 0,
            kind: EventKind::PhoneCall,
            data: serde_json::json!({ "call": call }),
            at: self.now(),
        };
        Ok(self.inner.feed.publish_ephemeral(e).await?)
    }

    /// Signals that someone is typing in conversation `id`: an ephemeral event (id 0, not
    /// logged) to every subscriber, in this process and (PostgreSQL) the others. `agent`:
    /// the agent typing (a WhatsApp customer is also shown the typing indicator, see
    /// `receipts`); `None`: the visitor.
    pub async fn typing(&self, id: i64, agent: Option<AgentId>) -> Result<(), ChatError> {
        let by = if agent.is_some() { "agent" } else { "visitor" };
        let e = Event {
            id: 0,
            conversation_id: Some(id),
            seq: 0,
            kind: EventKind::Typing,
            data: serde_json::json!({ "by": by, "agent_id": agent }),
            at: self.now(),
        };
        self.inner.feed.publish_ephemeral(e).await?;
        if agent.is_some() {
            // The customer on WhatsApp sees it too; a slow provider never holds the caller.
            let receipts = self.inner.receipts.clone();
            tokio::spawn(async move { receipts.send(id, ReceiptKind::Typing).await });
        }
        Ok(())
    }

    /// Marks the customer's messages in conversation `id` read on WhatsApp, as `viewer` (who
    /// must be able to see it) opens it. `None`: nothing to mark (not WhatsApp, no message
    /// from the customer, marked already); a provider's refusal is logged, not returned.
    pub async fn send_read_receipt(
        &self,
        viewer: &Viewer,
        id: i64,
    ) -> Result<Option<Receipt>, ChatError> {
        conversations::ensure_visible_id(self.ctx(), viewer, id).await?;
        self.inner.receipts.send(id, ReceiptKind::Read).await
    }

    /// Records that the viewer has read conversation `id` up to message `upto` (its newest
    /// message when `None`): their unread count of it starts after that message, and the
    /// customer's WhatsApp messages are marked read in the background (as
    /// [`Inbox::send_read_receipt`], without checking access again). The marker never moves
    /// back; returns where it stands (none: the conversation has no message).
    pub async fn mark_read(
        &self,
        viewer: &Viewer,
        id: i64,
        upto: Option<i64>,
    ) -> Result<Option<i64>, ChatError> {
        let marked = conversations::mark_read(self.ctx(), viewer, id, upto).await?;
        let receipts = self.inner.receipts.clone();
        tokio::spawn(async move { receipts.send(id, ReceiptKind::Read).await });
        Ok(marked)
    }

    /// Runs the workers (outbox, timers, webhooks, bots, attachments) until `shutdown`
    /// completes; sends in progress finish first.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let stop = tokio::sync::watch::channel(false);
        let outbox = tokio::spawn(self.inner.outbox.clone().run(stop.1.clone()));
        let timers = tokio::spawn(timers::run(self.inner.ctx.clone(), stop.1.clone()));
        let hooks = tokio::spawn(self.inner.hooks.clone().run(stop.1.clone()));
        let bots = tokio::spawn(self.inner.bots.clone().run(stop.1.clone()));
        let attachments = tokio::spawn(self.inner.attachments.clone().run(stop.1.clone()));
        let templates = tokio::spawn(templates::run(
            self.inner.ctx.clone(),
            self.inner.http.clone(),
            stop.1.clone(),
        ));
        let push = components::push(self.inner.ctx.clone(), self.inner.http.clone());
        let mut stopped = stop.1.clone();
        let components = tokio::spawn(async move {
            tokio::select! {
                _ = push => {}
                _ = stopped.changed() => {}
            }
        });
        shutdown.await;
        let _ = stop.0.send(true);
        let _ = outbox.await;
        let _ = timers.await;
        let _ = hooks.await;
        let _ = bots.await;
        let _ = attachments.await;
        let _ = components.await;
        let _ = templates.await;
    }

    // ---------------------------------------------------------------- inbound

    /// Stores one webhook delivery for `account` (already verified) and returns once it is
    /// committed.
    ///
    /// Deliveries are group-committed: one writer task per process takes every delivery that
    /// arrived while its previous transaction ran and stores them in the next one, so many
    /// deliveries share one commit (and, on PostgreSQL, one fsync and one NOTIFY). Each
    /// caller is answered after the commit that holds its delivery. A delivery that fails is
    /// taken out of the batch and the others are stored without it; a conflict between
    /// concurrent transactions (or a duplicate racing in from another process) is retried.
    pub async fn receive(&self, account: &str, items: &[Inbound]) -> Result<Received, ChatError> {
        self.inner.inbound.receive(account, items).await
    }

    /// Sends the WhatsApp call updates of accounts with `calling` to `sink` from now on
    /// (see [`crate::whatsapp_calls`]); the binary gives the IVR's. Only the first sink is
    /// taken (`false` for another).
    pub fn route_whatsapp_calls(
        &self,
        sink: tokio::sync::mpsc::UnboundedSender<AccountCall>,
    ) -> bool {
        self.inner.whatsapp_calls.route(sink)
    }

    /// A WhatsApp call update for `account`, from a webhook whose signature was checked.
    pub fn whatsapp_call_update(
        &self,
        account: &str,
        update: crate::provider::meta_calls::CallUpdate,
    ) {
        self.inner.whatsapp_calls.update(account, update);
    }

    /// Asks Meta for a call action on `account`'s number (accept, terminate, …); a
    /// `connect` is answered with the new call's id.
    pub async fn whatsapp_call_action(
        &self,
        account: &str,
        action: &crate::provider::meta_calls::CallAction<'_>,
    ) -> Result<Option<String>, crate::provider::SendError> {
        self.inner.whatsapp_calls.act(account, action).await
    }

    /// Whom `viewer` may call on WhatsApp from conversation `id`: a WhatsApp conversation
    /// they may see, of an account with `calling`, whose customer allowed calls. Meta
    /// decides when it answers (its `start_call` action: permissions given anywhere, and
    /// the limits on calls, named in the refusal); otherwise the customer's latest
    /// `call_permission_reply` on the account — in this conversation or an earlier one —
    /// accepted, permanently or until a time not yet past.
    /// [`ChatError::Invalid`] for a conversation that cannot have calls,
    /// [`ChatError::Conflict`] without the customer's permission.
    pub async fn call_target(&self, viewer: &Viewer, id: i64) -> Result<CallTarget, ChatError> {
        let ctx = self.ctx();
        let target = conversations::call_target(ctx, viewer, id).await?;
        let calls = &self.inner.whatsapp_calls;
        match calls
            .permission(&target.account, &target.whatsapp_id, ctx.now())
            .await
        {
            Some(verdict) => verdict?,
            None => conversations::replied_call_permission(ctx, id).await?,
        }
        Ok(target)
    }

    /// How the customers' messages this process stored so far were stored: together with
    /// others (the fast paths of the group commit) or one at a time. Also exported as the
    /// metric `deflect_inbox_inbound_stored_total{path}`.
    pub fn inbound_stats(&self) -> InboundStats {
        self.inner.inbound.stats()
    }

    // ---------------------------------------------------------------- outbox and webhooks

    /// Claims and sends what is due (and records acceptances whose record failed before),
    /// waiting for every send of the batch; the worker calls this in a loop, tests call it
    /// directly.
    pub async fn send_due(&self) -> Result<OutboxPass, ChatError> {
        self.inner.outbox.send_due().await
    }

    /// Passes every customer message waiting for its conversation's bot to the bot and
    /// stores the answers (see [`crate::bot`]); the worker calls this in a loop, tests call
    /// it directly. Returns how many turns were completed.
    pub async fn run_bot_turns(&self) -> Result<usize, ChatError> {
        self.inner.bots.run_due().await
    }

    /// Downloads every file of customers' messages that is due (see [`crate::attachments`])
    /// and stores it; the worker calls this in a loop, tests call it directly. Returns how
    /// many downloads finished (stored, failed, or to be tried again). Without an
    /// attachment store, nothing.
    pub async fn download_due_attachments(&self) -> Result<usize, ChatError> {
        self.inner.attachments.run_due().await
    }

    /// The stored file whose URL token is `token`, if `viewer` may see its conversation:
    /// its type (read from its bytes), size, kind, a file name and its bytes as a stream.
    /// Any other case — no such token, not stored yet, another account's or queue's
    /// conversation — is [`ChatError::NotFound`].
    pub async fn attachment(
        &self,
        viewer: &Viewer,
        token: &str,
    ) -> Result<AttachmentFile, ChatError> {
        self.inner.attachments.open(viewer, token).await
    }

    /// Records a file `viewer` uploads for conversation `id` (one they may see), to be sent
    /// with a message ([`Inbox::send_file`]): `chunks` are its bytes (streamed into the
    /// attachment store, never whole in memory), `declared` the client's type and
    /// `filename` its name (both only said: the type and, unless `kind` is given, the kind
    /// are read from the bytes). Refused as [`UploadError::Refused`] when larger than its
    /// kind's cap, of a type not accepted for it, or empty, and
    /// [`UploadError::UnknownType`] when no kind accepts it.
    pub async fn upload_file<S, E>(
        &self,
        viewer: &Viewer,
        id: i64,
        chunks: S,
        declared: Option<&str>,
        filename: Option<&str>,
        kind: Option<MediaKind>,
    ) -> Result<UploadedFile, UploadError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        (self.inner.attachments)
            .upload(viewer, id, chunks, declared, filename, kind)
            .await
    }

    /// A web visitor's file — a picture or a document, read from its bytes, capped like an
    /// agent's upload — sent in their conversation `id` as a message carrying it (see
    /// [`Inbox::upload_file`] for `chunks`, `declared` and `filename`). Any other kind is
    /// [`UploadError::NotForVisitors`].
    pub async fn web_visitor_file<S, E>(
        &self,
        visitor_token: &str,
        id: i64,
        chunks: S,
        declared: Option<&str>,
        filename: Option<&str>,
    ) -> Result<Message, UploadError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        (self.inner.attachments)
            .visitor_upload(visitor_token, id, chunks, declared, filename)
            .await
    }

    /// A file of a message in one of the web visitor's conversations (theirs or an
    /// agent's), by its token; anything else is [`ChatError::NotFound`].
    pub async fn web_attachment(
        &self,
        visitor_token: &str,
        token: &str,
    ) -> Result<AttachmentFile, ChatError> {
        (self.inner.attachments)
            .open_for_visitor(visitor_token, token)
            .await
    }

    /// The file of a sent message whose signed link ([`crate::blobs::links`]: `token`,
    /// `expires`, `signature`) is valid now, for the provider that fetches it:
    /// [`ChatError::Forbidden`] for a wrong signature or an expired link,
    /// [`ChatError::NotFound`] for a token of no stored file.
    pub async fn linked_attachment(
        &self,
        token: &str,
        expires: &str,
        signature: &str,
    ) -> Result<AttachmentFile, ChatError> {
        (self.inner.attachments)
            .open_linked(token, expires, signature)
            .await
    }

    /// Outbox rows by state (`pending`, `sending`, `unconfirmed`, `accepted`, `sent`,
    /// `dead`).
    pub async fn outbox_depth(&self) -> Result<HashMap<String, i64>, ChatError> {
        self.inner.outbox.depth().await
    }

    /// Claims and sends the webhook deliveries that are due (one per conversation and
    /// endpoint at a time); the worker calls this in a loop, tests call it directly.
    pub async fn send_due_hooks(&self) -> Result<HookPass, ChatError> {
        self.inner.hooks.send_due().await
    }

    /// Webhook deliveries by endpoint and state (`pending`, `sending`, `done`, `dead`).
    pub async fn hook_depth(&self) -> Result<HashMap<(String, String), i64>, ChatError> {
        self.inner.hooks.depth().await
    }

    // ---------------------------------------------------------------- calls

    /// Keeps finished calls' records in one transaction (each once per call id; one with an
    /// unusable call id is left out) and sends `call.finished` for each (see [`crate::calls`]).
    pub async fn record_calls(
        &self,
        records: &[crate::model::CallRecord],
    ) -> Result<(), ChatError> {
        calls::record(self.ctx(), records).await
    }

    /// The conversation a call from `trunk` (`whatsapp:<account>`, a trunk's name) by `caller`
    /// belongs to now: a WhatsApp caller's open conversation on the account, else none.
    pub async fn call_conversation(
        &self,
        trunk: &str,
        caller: Option<&str>,
    ) -> Result<Option<i64>, ChatError> {
        calls::conversation_of(self.ctx(), trunk, caller).await
    }

    /// The call records `f` selects, newest first (supervisors and admins).
    pub async fn list_calls(
        &self,
        viewer: &Viewer,
        f: &crate::model::CallFilter,
    ) -> Result<Vec<crate::model::RecordedCall>, ChatError> {
        calls::list(self.ctx(), viewer, f).await
    }

    // ---------------------------------------------------------------- nodes

    /// Registers this process as a node of the database (see [`crate::nodes`]); returns its id.
    pub async fn join_nodes(&self, node: &crate::NewNode) -> Result<i64, ChatError> {
        crate::nodes::join(self.ctx(), node).await
    }

    /// Node `id`'s heartbeat, `previous` when its last one got through; takes over the work
    /// of nodes that fell silent (see [`crate::nodes`]).
    pub async fn node_beat(
        &self,
        id: i64,
        load: crate::NodeLoad,
        previous: Option<Millis>,
    ) -> Result<crate::Beat, ChatError> {
        crate::nodes::beat(self.ctx(), id, load, previous).await
    }

    /// Node `id` stopped.
    pub async fn leave_nodes(&self, id: i64) -> Result<(), ChatError> {
        crate::nodes::leave(self.ctx(), id).await
    }

    /// Every node that worked on this database, the most recently started first.
    pub async fn nodes(&self) -> Result<Vec<crate::Node>, ChatError> {
        crate::nodes::list(self.ctx()).await
    }

    // ---------------------------------------------------------------- deflections

    /// Records a deflection and queues its template, exactly once per call id; a template
    /// held back by [`Inbox::hold_deflection`] is released.
    pub async fn deflect(&self, req: &Deflection) -> Result<Deflected, ChatError> {
        deflection::deflect(self.ctx(), req, None).await
    }

    /// Records a deflection as [`Inbox::deflect`] does, its template held back for `hold`:
    /// until [`Inbox::deflect`] with the same call releases it, or `hold` has passed (a
    /// process that died in between leaves it to any process on the database).
    pub async fn hold_deflection(
        &self,
        req: &Deflection,
        hold: std::time::Duration,
    ) -> Result<Deflected, ChatError> {
        deflection::deflect(self.ctx(), req, Some(crate::clock::ms(hold))).await
    }

    /// Records a deflection against its caller's and its callback number's hourly limits,
    /// or refuses it (see [`crate::limits`]).
    pub async fn check_deflection_limits(
        &self,
        check: &LimitCheck,
    ) -> Result<LimitOutcome, ChatError> {
        limits::check_deflection_limits(self.ctx(), check).await
    }

    // ---------------------------------------------------------------- web channel

    /// Whether `hours` are open now, by the inbox's clock (`None`: always open).
    pub fn is_open(&self, hours: Option<&OpeningHours>) -> bool {
        webchat::is_open(self.ctx(), hours)
    }

    /// Starts (or resumes: the visitor's open conversation on the site) a web conversation,
    /// queued for an agent. Outside the site's opening hours WhatsApp is offered at once
    /// (with reason `closed`); otherwise after `escalate_after` without an agent.
    pub async fn start_web_conversation(
        &self,
        new: &NewWebConversation,
    ) -> Result<Conversation, ChatError> {
        webchat::start_web_conversation(self.ctx(), new).await
    }

    /// A visitor's message in their web conversation (a repeated `client_key` returns the
    /// message already stored).
    pub async fn web_visitor_message(
        &self,
        visitor_token: &str,
        id: i64,
        text: &str,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        webchat::web_visitor_message(self.ctx(), visitor_token, id, text, None, client_key).await
    }

    /// A visitor's tap on a button or list row of an interactive message their widget showed:
    /// `reply` (`button_reply` or `list_reply`: the choice's id and title) is stored as their
    /// message, its title as the text, as a WhatsApp customer's tap is. A repeated
    /// `client_key` returns the message already stored.
    pub async fn web_visitor_reply(
        &self,
        visitor_token: &str,
        id: i64,
        reply: &Interactive,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        let title = reply.reply_title().unwrap_or_default();
        let reply = Some(reply);
        webchat::web_visitor_message(self.ctx(), visitor_token, id, title, reply, client_key).await
    }

    /// A visitor's answer to the rating their widget showed as the conversation ended: a
    /// score 1–5 (answered with the follow-up question to show, if any) or, then, a comment.
    pub async fn web_rating(
        &self,
        visitor_token: &str,
        id: i64,
        score: Option<u8>,
        comment: Option<&str>,
    ) -> Result<Option<String>, ChatError> {
        webchat::web_rating(self.ctx(), visitor_token, id, score, comment).await
    }

    /// A visitor's view of their conversation: the conversation and its messages without
    /// internal notes.
    pub async fn web_transcript(
        &self,
        visitor_token: &str,
        id: i64,
        after: Option<i64>,
    ) -> Result<(Conversation, Vec<Message>), ChatError> {
        webchat::web_transcript(self.ctx(), visitor_token, id, after).await
    }

    /// Creates a one-time code that moves the visitor's conversation to WhatsApp, valid for
    /// `ttl`.
    pub async fn create_handoff(
        &self,
        visitor_token: &str,
        id: i64,
        ttl: std::time::Duration,
    ) -> Result<Handoff, ChatError> {
        webchat::create_handoff(self.ctx(), visitor_token, id, ttl).await
    }

    /// Stores an SMS a customer sent to `account`'s fallback number (already verified): it
    /// joins the number's open conversation, which continues by SMS (see
    /// `inbound::sms`). Returns that conversation; none when repeated or unmatched.
    pub async fn receive_sms(
        &self,
        account: &str,
        sms: &crate::provider::sms::InboundSms,
    ) -> Result<Option<i64>, ChatError> {
        self.inner.inbound.receive_sms(account, sms).await
    }

    /// The offer of the continue link (the SMS fallback's) of conversation `id`: checked,
    /// spending nothing (see [`crate::webchat`]).
    pub async fn continue_offer(
        &self,
        id: i64,
        expires: &str,
        signature: &str,
    ) -> Result<crate::webchat::ContinueOffer, ChatError> {
        webchat::continue_offer(self.ctx(), id, expires, signature).await
    }

    /// Continues conversation `id` in the browser of `visitor_token` through its continue
    /// link (`expires`, `signature`).
    pub async fn continue_on_web(
        &self,
        id: i64,
        link: (&str, &str),
        visitor_token: &str,
    ) -> Result<(crate::webchat::ContinueOffer, Conversation), ChatError> {
        webchat::continue_on_web(self.ctx(), id, link, visitor_token).await
    }

    /// Opens a conversation for a customer an integration hands over to WhatsApp: it waits
    /// (`pending`) for their first WhatsApp message, which carries the returned code and
    /// joins it; then it is queued for an agent. Agents may only hand over into their own
    /// queues and accounts.
    pub async fn start_handoff(
        &self,
        viewer: &Viewer,
        new: &NewHandoff,
    ) -> Result<(Conversation, Handoff), ChatError> {
        webchat::start_handoff(self.ctx(), viewer, new).await
    }

    /// A visitor's conversation, if `visitor_token` owns it ("not found" otherwise).
    pub async fn web_conversation(
        &self,
        visitor_token: &str,
        id: i64,
    ) -> Result<Conversation, ChatError> {
        webchat::web_conversation(self.ctx(), visitor_token, id).await
    }

    /// A conversation's logged events after its `after_seq`-th, in order (resuming a
    /// conversation's feed).
    pub async fn conversation_events(
        &self,
        id: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Event>, ChatError> {
        webchat::conversation_events(self.ctx(), id, after_seq, limit).await
    }

    // ---------------------------------------------------------------- sandbox

    /// Sandbox: the messages sent to `number` (E.164 or digits) from a sandbox account,
    /// oldest first, internal notes excluded.
    pub async fn sandbox_outgoing(
        &self,
        account: &str,
        number: &str,
    ) -> Result<Vec<Message>, ChatError> {
        sandbox::outgoing(self.ctx(), account, number).await
    }

    /// Sandbox: a customer's reply from `number`, delivered exactly as a webhook would.
    pub async fn sandbox_reply(
        &self,
        account: &str,
        number: &str,
        reply: &SandboxReply,
    ) -> Result<Received, ChatError> {
        let m = sandbox::reply_message(self.ctx(), account, number, reply)?;
        self.receive(account, &[Inbound::Message(Box::new(m))])
            .await
    }

    // ---------------------------------------------------------------- conversations

    /// Accepts an offer made to `agent`.
    pub async fn accept_offer(&self, agent: AgentId, id: i64) -> Result<Conversation, ChatError> {
        conversations::accept_offer(self.ctx(), agent, id).await
    }

    /// Rejects an offer made to `agent`; it moves on at once.
    pub async fn reject_offer(&self, agent: AgentId, id: i64) -> Result<(), ChatError> {
        conversations::reject_offer(self.ctx(), agent, id).await
    }

    /// Takes a waiting conversation from the queue by hand.
    pub async fn claim(&self, viewer: &Viewer, id: i64) -> Result<Conversation, ChatError> {
        conversations::claim(self.ctx(), viewer, id).await
    }

    /// Transfers a conversation to another agent, who gets it as an offer; not accepted within
    /// `inbox.transfer_timeout`, it returns unread to the agent who held it.
    pub async fn transfer_to_agent(
        &self,
        viewer: &Viewer,
        id: i64,
        to: AgentId,
    ) -> Result<Conversation, ChatError> {
        conversations::transfer_to_agent(self.ctx(), viewer, id, to, None).await
    }

    /// As [`Inbox::transfer_to_agent`], with `note` for the agent taking over, stored as an
    /// internal note in the same transaction (both or neither); an empty note is none.
    pub async fn transfer_to_agent_with_note(
        &self,
        viewer: &Viewer,
        id: i64,
        to: AgentId,
        note: Option<&str>,
    ) -> Result<Conversation, ChatError> {
        conversations::transfer_to_agent(self.ctx(), viewer, id, to, note).await
    }

    /// Transfers a conversation to a queue; if nobody there accepts it within
    /// `inbox.transfer_timeout`, it returns unread to the agent who held it.
    pub async fn transfer_to_queue(
        &self,
        viewer: &Viewer,
        id: i64,
        queue: &str,
    ) -> Result<Conversation, ChatError> {
        conversations::transfer_to_queue(self.ctx(), viewer, id, queue, None).await
    }

    /// As [`Inbox::transfer_to_queue`], with `note` stored as an internal note in the same
    /// transaction.
    pub async fn transfer_to_queue_with_note(
        &self,
        viewer: &Viewer,
        id: i64,
        queue: &str,
        note: Option<&str>,
    ) -> Result<Conversation, ChatError> {
        conversations::transfer_to_queue(self.ctx(), viewer, id, queue, note).await
    }

    /// Closes a conversation with a disposition (required when its queue says so).
    pub async fn close(
        &self,
        viewer: &Viewer,
        id: i64,
        disposition: Option<&str>,
    ) -> Result<Conversation, ChatError> {
        conversations::close(self.ctx(), viewer, id, disposition).await
    }

    /// Sends free text to the customer. WhatsApp accepts it only within 24 hours of the
    /// customer's last message: outside, [`ChatError::OutsideWindow`] names the recontact
    /// template to send instead ([`Inbox::send_recontact`]). A repeated `client_key` returns
    /// the message already sent.
    pub async fn send_text(
        &self,
        viewer: &Viewer,
        id: i64,
        text: &str,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        conversations::send_text(self.ctx(), viewer, id, text, client_key).await
    }

    /// Sends an interactive message — reply buttons, a list or a link button
    /// ([`Interactive`]) under the text `text` (or its own `body`) — to the customer, within
    /// WhatsApp's limits (refused [`ChatError::Invalid`] naming the field otherwise) and, like
    /// [`Inbox::send_text`], within the 24 h window. Providers that only send text get it
    /// written out; the widget shows buttons the visitor can tap. A repeated `client_key`
    /// returns the message already sent.
    pub async fn send_interactive(
        &self,
        viewer: &Viewer,
        id: i64,
        text: &str,
        interactive: &Interactive,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        conversations::send_interactive(self.ctx(), viewer, id, text, interactive, client_key).await
    }

    /// Sends the file uploaded to conversation `id` with token `token`
    /// ([`Inbox::upload_file`]), with `caption` (images, videos and documents), within the
    /// 24 h window like [`Inbox::send_text`]. The upload becomes the message's attachment
    /// (same URL); the outbox gives it to the provider its way (Meta: upload, then the id;
    /// Twilio: a signed link). A token of no upload of this conversation (or one older than
    /// [`crate::attachments::UPLOAD_TTL`]) is [`ChatError::Invalid`]. A repeated
    /// `client_key` returns the message already sent.
    pub async fn send_file(
        &self,
        viewer: &Viewer,
        id: i64,
        token: &str,
        caption: Option<&str>,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        conversations::send_file(self.ctx(), viewer, id, token, caption, client_key).await
    }

    /// Sends the account's recontact template (allowed outside the 24 h window); the
    /// customer's answer reopens the window. A repeated `client_key` returns the message
    /// already sent.
    pub async fn send_recontact(
        &self,
        viewer: &Viewer,
        id: i64,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        conversations::send_recontact(self.ctx(), viewer, id, client_key).await
    }

    /// Sends a message template of the conversation's account, filled in with `values`
    /// (allowed outside the 24 h window: that is what templates are for). The template
    /// must be cached ([`Inbox::templates`]) and approved; a missing, extra or empty
    /// parameter, header value or button value is [`ChatError::Invalid`] naming its field
    /// (`template.parameters.first_name`, `template.header.link`, `template.buttons[1]`).
    /// The message's body is the text the customer reads; its payload keeps the name,
    /// language and values. A repeated `client_key` returns the message already sent.
    pub async fn send_template(
        &self,
        viewer: &Viewer,
        id: i64,
        values: &TemplateValues,
        client_key: Option<&str>,
    ) -> Result<Message, ChatError> {
        conversations::send_template(self.ctx(), viewer, id, values, client_key).await
    }

    /// The cached message templates `viewer` may send: of `account` (or of every account
    /// they work), only `APPROVED` ones unless `all`. An account they do not work is
    /// [`ChatError::NotFound`].
    pub async fn templates(
        &self,
        viewer: &Viewer,
        account: Option<&str>,
        all: bool,
    ) -> Result<Vec<Template>, ChatError> {
        templates::list(self.ctx(), viewer, account, all).await
    }

    /// How the last template listing of each account `viewer` works (or `account`) went:
    /// when, and why it failed (the last good list is kept).
    pub async fn template_refreshes(
        &self,
        viewer: &Viewer,
        account: Option<&str>,
    ) -> Result<Vec<TemplateRefresh>, ChatError> {
        templates::refreshes(self.ctx(), viewer, account).await
    }

    /// Lists the templates of `account` (or of every account) from the provider now
    /// (supervisors and admins; [`ChatError::Forbidden`] for agents) and returns how each
    /// listing went. The worker does the same at start and every
    /// `whatsapp.templates_refresh_interval`.
    pub async fn refresh_templates(
        &self,
        viewer: &Viewer,
        account: Option<&str>,
    ) -> Result<Vec<TemplateRefresh>, ChatError> {
        templates::refresh_for(self.ctx(), &self.inner.http, viewer, account).await
    }

    /// Adds an internal note, visible to agents only.
    pub async fn add_note(
        &self,
        viewer: &Viewer,
        id: i64,
        text: &str,
    ) -> Result<Message, ChatError> {
        conversations::add_note(self.ctx(), viewer, id, text).await
    }

    /// A conversation with its call context, if the viewer may see it.
    pub async fn conversation(
        &self,
        viewer: &Viewer,
        id: i64,
    ) -> Result<ConversationDetail, ChatError> {
        conversations::detail(self.ctx(), viewer, id).await
    }

    /// A conversation without access control (for the widget, the sandbox and tests).
    pub async fn conversation_unchecked(&self, id: i64) -> Result<ConversationDetail, ChatError> {
        conversations::detail_unchecked(self.ctx(), id).await
    }

    /// A conversation's messages after `after` (a message id), oldest first.
    pub async fn messages(
        &self,
        viewer: &Viewer,
        id: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, ChatError> {
        conversations::messages(self.ctx(), viewer, id, after, limit).await
    }

    /// Messages without access control (for the widget, which hides internal notes itself).
    pub async fn messages_unchecked(
        &self,
        id: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, ChatError> {
        conversations::messages_unchecked(self.ctx(), id, after, limit).await
    }

    /// Conversations the viewer may see, newest first, narrowed by `filter`.
    pub async fn list_conversations(
        &self,
        viewer: &Viewer,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>, ChatError> {
        conversations::list(self.ctx(), viewer, filter).await
    }

    /// [`Inbox::list_conversations`], each conversation with what its row in the viewer's
    /// list shows: its last message, the viewer's unread count, since when the customer has
    /// waited for an answer and until when an offer stands.
    pub async fn conversation_summaries(
        &self,
        viewer: &Viewer,
        filter: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, ChatError> {
        conversations::summaries(self.ctx(), viewer, filter).await
    }

    /// The inbox's working views counted for the viewer (conversations and unread messages).
    pub async fn view_counts(&self, viewer: &Viewer) -> Result<ViewCounts, ChatError> {
        conversations::counts(self.ctx(), viewer).await
    }

    // ---------------------------------------------------------------- contacts and labels

    /// The contact card of conversation `id` (same access as the conversation): profile,
    /// the contact's other conversations the viewer may see, attributes, the call behind it.
    pub async fn contact(&self, viewer: &Viewer, id: i64) -> Result<ContactCard, ChatError> {
        contacts::contact(self.ctx(), viewer, id).await
    }

    /// Puts `label` (normalised; [`ChatError::Invalid`] when it cannot be) on conversation
    /// `id`; logs `conversation.labelled` when it was not there. Returns its labels.
    pub async fn add_label(
        &self,
        viewer: &Viewer,
        id: i64,
        label: &str,
    ) -> Result<Vec<String>, ChatError> {
        contacts::set_label(self.ctx(), viewer, id, label, true).await
    }

    /// Takes `label` off conversation `id`; logs `conversation.labelled` when it was there.
    /// Returns its labels.
    pub async fn remove_label(
        &self,
        viewer: &Viewer,
        id: i64,
        label: &str,
    ) -> Result<Vec<String>, ChatError> {
        contacts::set_label(self.ctx(), viewer, id, label, false).await
    }

    /// The labels on conversations the viewer may see, with their counts.
    pub async fn labels(&self, viewer: &Viewer) -> Result<Vec<LabelCount>, ChatError> {
        contacts::labels(self.ctx(), viewer).await
    }

    // ---------------------------------------------------------------- timers

    /// When the next timer is due, if any.
    pub async fn next_timer_due(&self) -> Result<Option<Millis>, ChatError> {
        timers::next_due(self.ctx()).await
    }

    /// Fires every timer due at the clock's `now`, one transaction each; returns how many
    /// fired. The timer worker calls this; tests call it after moving a manual clock.
    pub async fn fire_due_timers(&self) -> Result<usize, ChatError> {
        timers::fire_due(self.ctx()).await
    }

    // ---------------------------------------------------------------- agents

    /// Checks, without changing anything, what [`Inbox::set_memberships`] and
    /// [`Inbox::set_password`] would refuse: a change of several parts checks them all before
    /// making any, so that a refusal changes nothing.
    pub fn check_agent_change(
        &self,
        queues: Option<&[String]>,
        accounts: Option<&[String]>,
        password: Option<&str>,
    ) -> Result<(), ChatError> {
        agents::check_change(self.ctx(), queues, accounts, password)
    }

    /// Creates an agent, offline.
    pub async fn create_agent(&self, new: NewAgent) -> Result<Agent, ChatError> {
        agents::create(self.ctx(), new).await
    }

    /// The agent with this login and password; [`ChatError::InvalidCredentials`] otherwise
    /// (also for disabled agents).
    pub async fn verify_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Agent, ChatError> {
        agents::verify_password(self.ctx(), username, password).await
    }

    /// Replaces an agent's password.
    pub async fn set_password(&self, agent: AgentId, password: &str) -> Result<(), ChatError> {
        agents::set_password(self.ctx(), agent, password).await
    }

    /// Replaces an agent's queues and accounts.
    pub async fn set_memberships(
        &self,
        agent: AgentId,
        queues: &[String],
        accounts: &[String],
    ) -> Result<Agent, ChatError> {
        agents::set_memberships(self.ctx(), agent, queues, accounts).await
    }

    /// Changes an agent's role. `by` is the admin asking (others are refused); `None` is an
    /// operator on the command line, who has the database already. The last enabled admin
    /// cannot be demoted, so the inbox always has someone who manages it. A change is logged
    /// as `agent.role_changed` (`agent_id`, `role`, `previous`, `by`: the admin's id or
    /// null); setting the role an agent has changes nothing and logs nothing.
    pub async fn set_role(
        &self,
        by: Option<&Viewer>,
        agent: AgentId,
        role: Role,
    ) -> Result<Agent, ChatError> {
        agents::set_role(self.ctx(), by, agent, role).await
    }

    /// Enables or disables an agent (disabled agents cannot log in; they go offline). The last
    /// enabled admin cannot be disabled ([`ChatError::Conflict`]).
    pub async fn set_disabled(&self, agent: AgentId, disabled: bool) -> Result<(), ChatError> {
        agents::set_disabled(self.ctx(), agent, disabled).await
    }

    /// One agent.
    pub async fn agent(&self, id: AgentId) -> Result<Agent, ChatError> {
        agents::get(self.ctx(), id).await
    }

    /// Every agent, by username.
    pub async fn agents(&self) -> Result<Vec<Agent>, ChatError> {
        agents::all(self.ctx()).await
    }

    /// The enabled agents available with room for another conversation (under
    /// `inbox.max_conversations_per_agent`): whom the softphone may ring.
    pub async fn agents_with_room(&self) -> Result<Vec<Agent>, ChatError> {
        agents::with_room(self.ctx()).await
    }

    /// How many conversations are offered to or held by each enabled agent the viewer may
    /// list ([`Inbox::colleagues`]), by agent id: the transfer picker's load.
    pub async fn agent_loads(&self, viewer: &Viewer) -> Result<Vec<(AgentId, i64)>, ChatError> {
        agents::loads(self.ctx(), viewer).await
    }

    /// The agents `viewer` may list. Supervisors and admins: every agent, in full. Plain
    /// agents: only names and presence, of the enabled agents who share one of their queues
    /// or WhatsApp accounts, and of supervisors and admins (who may write in any
    /// conversation) — never every agent of every account, nor anyone's login, queues or
    /// accounts.
    pub async fn colleagues(&self, viewer: &Viewer) -> Result<Colleagues, ChatError> {
        agents::colleagues(self.ctx(), viewer).await
    }

    /// The access-control input for an agent.
    pub async fn viewer(&self, agent: AgentId) -> Result<Viewer, ChatError> {
        agents::viewer(self.ctx(), agent).await
    }

    /// Sets presence. Becoming available pulls waiting conversations; going offline passes
    /// open offers on to other agents.
    pub async fn set_presence(&self, agent: AgentId, presence: Presence) -> Result<(), ChatError> {
        agents::set_presence(self.ctx(), agent, presence).await
    }

    /// Sets what `agent` chooses for themselves (auto-accept, the inbox's language); absent
    /// fields stay. Returns the agent as they are now.
    pub async fn set_preferences(
        &self,
        agent: AgentId,
        preferences: &Preferences,
    ) -> Result<Agent, ChatError> {
        agents::set_preferences(self.ctx(), agent, preferences).await
    }

    // ---------------------------------------------------------------- sessions and tokens

    /// Opens a session for `agent` lasting `ttl`.
    pub async fn create_session(
        &self,
        agent: AgentId,
        ttl: std::time::Duration,
    ) -> Result<NewSession, ChatError> {
        access::create_session(self.ctx(), agent, ttl).await
    }

    /// The live session of `token`; `None` when unknown, expired, or its agent is disabled.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, ChatError> {
        access::session(self.ctx(), token).await
    }

    /// Ends a session (logout).
    pub async fn end_session(&self, token: &str) -> Result<(), ChatError> {
        access::end_session(self.ctx(), token).await
    }

    /// Creates an API token acting as `agent` (admins only); returns it with its secret,
    /// shown this once.
    pub async fn create_api_token(
        &self,
        viewer: &Viewer,
        agent: AgentId,
        name: &str,
    ) -> Result<(ApiToken, String), ChatError> {
        access::create_api_token(self.ctx(), viewer, agent, name).await
    }

    /// Every API token (admins only).
    pub async fn api_tokens(&self, viewer: &Viewer) -> Result<Vec<ApiToken>, ChatError> {
        access::api_tokens(self.ctx(), viewer).await
    }

    /// Revokes an API token (admins only); it stops working at once.
    pub async fn revoke_api_token(&self, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
        access::revoke_api_token(self.ctx(), viewer, id).await
    }

    /// The agent an API token acts as; `None` for an unknown or revoked token or a disabled
    /// agent.
    pub async fn api_token_agent(&self, token: &str) -> Result<Option<(Agent, Viewer)>, ChatError> {
        access::api_token_agent(self.ctx(), token).await
    }

    // ---------------------------------------------------------------- canned answers

    /// Creates a canned answer (supervisors and admins).
    pub async fn create_canned_answer(
        &self,
        viewer: &Viewer,
        new: &NewCannedAnswer,
    ) -> Result<CannedAnswer, ChatError> {
        canned::create(self.ctx(), viewer, new).await
    }

    /// Replaces a canned answer (supervisors and admins).
    pub async fn update_canned_answer(
        &self,
        viewer: &Viewer,
        id: i64,
        new: &NewCannedAnswer,
    ) -> Result<CannedAnswer, ChatError> {
        canned::update(self.ctx(), viewer, id, new).await
    }

    /// Deletes a canned answer (supervisors and admins).
    pub async fn delete_canned_answer(&self, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
        canned::delete(self.ctx(), viewer, id).await
    }

    /// The canned answers the viewer may use, by title: global ones and those of their
    /// accounts; with `account`, only global ones and that account's.
    pub async fn canned_answers(
        &self,
        viewer: &Viewer,
        account: Option<&str>,
    ) -> Result<Vec<CannedAnswer>, ChatError> {
        canned::usable(self.ctx(), viewer, account).await
    }

    /// A canned answer's text with its placeholders filled for conversation `id`.
    pub async fn render_canned_answer(
        &self,
        viewer: &Viewer,
        canned: i64,
        id: i64,
    ) -> Result<String, ChatError> {
        canned::render(self.ctx(), viewer, canned, id).await
    }

    // ---------------------------------------------------------------- managed lists

    /// Every scope's settings (admins): the inbox's automations, each WhatsApp account's,
    /// widget site's, IVR flow's and queue's — where they are in the configuration, the keys
    /// the file sets (read-only), the overrides stored, the values as they apply.
    pub async fn setting_scopes(&self, viewer: &Viewer) -> Result<Vec<ScopeSettings>, ChatError> {
        settings::all(self.ctx(), viewer).await
    }

    /// One scope's settings (admins), `scope` written as `site:shop`.
    pub async fn setting_scope(
        &self,
        viewer: &Viewer,
        scope: &str,
    ) -> Result<ScopeSettings, ChatError> {
        settings::one(self.ctx(), viewer, scope).await
    }

    /// Replaces a scope's overrides with `value`, a JSON object of the keys to override (an
    /// empty one deletes them); they count at once here and within a second in every other
    /// process. An unknown key or bad value is [`ChatError::Invalid`] naming it, a key the
    /// configuration file sets a [`ChatError::Conflict`].
    pub async fn put_setting_overrides(
        &self,
        viewer: &Viewer,
        scope: &str,
        value: &serde_json::Value,
    ) -> Result<ScopeSettings, ChatError> {
        settings::put(self.ctx(), viewer, scope, value).await
    }

    /// Deletes a scope's overrides: the configuration's values apply again.
    pub async fn delete_setting_overrides(
        &self,
        viewer: &Viewer,
        scope: &str,
    ) -> Result<(), ChatError> {
        settings::delete(self.ctx(), viewer, scope).await
    }

    /// Every account's effective whitelist (supervisors and admins): the configured entries
    /// (read-only, with their keys), then those added through the API.
    pub async fn whitelist(&self, viewer: &Viewer) -> Result<Vec<WhitelistEntry>, ChatError> {
        lists::whitelist(self.ctx(), viewer).await
    }

    /// Adds a whitelist entry for an account or every account (admins); it counts at once.
    /// A bad pattern or account is [`ChatError::Invalid`] naming the field; one listed
    /// already (here or in the configuration), or one too many, a [`ChatError::Conflict`].
    pub async fn add_whitelist_entry(
        &self,
        viewer: &Viewer,
        new: &NewWhitelistEntry,
    ) -> Result<WhitelistEntry, ChatError> {
        lists::add_to_whitelist(self.ctx(), viewer, new).await
    }

    /// Deletes a whitelist entry added through the API (admins).
    pub async fn delete_whitelist_entry(&self, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
        lists::remove_from_whitelist(self.ctx(), viewer, id).await
    }

    /// The FAQ (supervisors and admins): `[[inbox.faq]]` (read-only, with their keys), then
    /// the entries added through the API.
    pub async fn faq_entries(&self, viewer: &Viewer) -> Result<Vec<FaqListEntry>, ChatError> {
        lists::faq(self.ctx(), viewer).await
    }

    /// Adds an FAQ entry (admins); the FAQ bot answers with it at once, in every process.
    /// Checked as `[[inbox.faq]]` is ([`ChatError::Invalid`] naming the field); the same
    /// question, language and account twice is a [`ChatError::Conflict`].
    pub async fn add_faq_entry(
        &self,
        viewer: &Viewer,
        new: &NewFaqEntry,
    ) -> Result<FaqListEntry, ChatError> {
        lists::add_faq_entry(self.ctx(), viewer, new).await
    }

    /// Replaces an FAQ entry added through the API (admins).
    pub async fn update_faq_entry(
        &self,
        viewer: &Viewer,
        id: i64,
        new: &NewFaqEntry,
    ) -> Result<FaqListEntry, ChatError> {
        lists::update_faq_entry(self.ctx(), viewer, id, new).await
    }

    /// Deletes an FAQ entry added through the API (admins).
    pub async fn delete_faq_entry(&self, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
        lists::delete_faq_entry(self.ctx(), viewer, id).await
    }

    // ---------------------------------------------------------------- webhook endpoints

    /// Every outgoing webhook endpoint (admins): `[[http.webhooks]]` (read-only, with their
    /// keys), then those added through the API. Never a signing secret.
    pub async fn webhooks(&self, viewer: &Viewer) -> Result<Vec<WebhookEndpoint>, ChatError> {
        webhooks::list(self.ctx(), viewer).await
    }

    /// Adds an outgoing webhook endpoint (admins); the next event it takes is delivered to
    /// it, in every process. Checked as `[[http.webhooks]]` entries are
    /// ([`ChatError::Invalid`] naming the field); a name taken, here or in the
    /// configuration, is a [`ChatError::Conflict`].
    pub async fn add_webhook(
        &self,
        viewer: &Viewer,
        new: &NewWebhookEndpoint,
    ) -> Result<WebhookEndpoint, ChatError> {
        webhooks::add(self.ctx(), viewer, new).await
    }

    /// Changes an endpoint added through the API (admins), named by its id or its name:
    /// each field given; the signing secret only when given. Disabling it gives up its
    /// deliveries still waiting. A configured endpoint is a [`ChatError::Conflict`].
    pub async fn update_webhook(
        &self,
        viewer: &Viewer,
        endpoint: &str,
        change: &WebhookEndpointChange,
    ) -> Result<WebhookEndpoint, ChatError> {
        webhooks::change(self.ctx(), viewer, endpoint, change).await
    }

    /// Deletes an endpoint added through the API (admins), named by its id or its name; its
    /// deliveries still waiting are given up. A configured endpoint is a
    /// [`ChatError::Conflict`].
    pub async fn delete_webhook(&self, viewer: &Viewer, endpoint: &str) -> Result<(), ChatError> {
        webhooks::remove(self.ctx(), viewer, endpoint).await
    }

    /// Every outgoing webhook endpoint's name, configured and added, enabled or not.
    pub async fn webhook_names(&self) -> Result<Vec<String>, ChatError> {
        webhooks::names(self.ctx()).await
    }

    // ---------------------------------------------------------------- supervision

    /// The live board (supervisors and admins).
    pub async fn board(&self, viewer: &Viewer) -> Result<Board, ChatError> {
        board::board(self.ctx(), viewer).await
    }

    /// The customers' satisfaction scores given in `[from, to)` (ms; open ends when absent),
    /// per agent, per queue and overall (supervisors and admins).
    pub async fn csat_report(
        &self,
        viewer: &Viewer,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<CsatReport, ChatError> {
        board::csat_report(self.ctx(), viewer, from, to).await
    }

    /// The report per queue over `period` (supervisors and admins): see [`crate::model::ReportRow`] for
    /// what each number counts.
    pub async fn queue_report(&self, viewer: &Viewer, period: Period) -> Result<Report, ChatError> {
        reports::queues(self.ctx(), viewer, period).await
    }

    /// The report per agent over `period`, the handling agent of a closed conversation
    /// counting it (supervisors and admins).
    pub async fn agent_report(&self, viewer: &Viewer, period: Period) -> Result<Report, ChatError> {
        reports::agents(self.ctx(), viewer, period).await
    }

    /// Deflections made over `period` by flow and input method (supervisors and admins).
    pub async fn deflection_report(
        &self,
        viewer: &Viewer,
        period: Period,
    ) -> Result<DeflectionReport, ChatError> {
        reports::deflections(self.ctx(), viewer, period).await
    }

    /// Conversations in over `period` per hour or day (supervisors and admins).
    pub async fn volume_report(
        &self,
        viewer: &Viewer,
        period: Period,
    ) -> Result<Volume, ChatError> {
        reports::volume(self.ctx(), viewer, period).await
    }
}
