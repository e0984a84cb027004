//! What every service works with: the store, the settings, the clock, and the wake-ups of the
//! workers a change gives work to. The inbox builds one [`Ctx`] and shares it; services and
//! lifecycle steps take it as their first argument.

mod lists;
mod settings;
mod webhooks;

use crate::blobs::LinkSigner;
use crate::clock::{self, Clock, Millis};
use crate::model::{Conversation, StoreError};
use crate::repo;
use crate::routing::QueueRules;
use crate::store::{Store, Tx};
use deflect_config::{
    AccountConfig, AttachmentsConfig, BotConfig, Config, Fallback, FlowConfig, HttpConfig,
    InboxConfig, IvrConfig, OpeningHours, QueueConfig, WebhookConfig, WhatsAppConfig, WidgetConfig,
};
pub(crate) use lists::{FaqIndex, ListedNumbers};
pub(crate) use settings::{Rules, SettingProblem};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
pub(crate) use webhooks::HookEndpoints;

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
    /// `[widget]`: the sites, whose automations apply to their conversations.
    pub widget: WidgetConfig,
    /// `[[ivr.flows]]`: the IVR's flows, whose automations apply to the conversations their
    /// deflected calls open.
    pub flows: Vec<FlowConfig>,
    /// `[attachments]`: the key and lifetime of the links providers fetch files from.
    pub attachments: AttachmentsConfig,
}

impl InboxSettings {
    /// From the whole configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            whatsapp: c.whatsapp.clone(),
            inbox: c.inbox.clone(),
            webhooks: c.http.webhooks.clone(),
            public_base_url: c.http.public_base_url.clone(),
            widget: c.widget.clone(),
            flows: c.ivr.flows.clone(),
            attachments: c.attachments.clone(),
        }
    }

    /// As a whole configuration (the rest at its defaults): what the configuration check
    /// and the overrides work on.
    pub fn to_config(&self) -> Config {
        Config {
            whatsapp: self.whatsapp.clone(),
            inbox: self.inbox.clone(),
            http: HttpConfig {
                webhooks: self.webhooks.clone(),
                public_base_url: self.public_base_url.clone(),
                ..HttpConfig::default()
            },
            widget: self.widget.clone(),
            ivr: IvrConfig {
                flows: self.flows.clone(),
                ..IvrConfig::default()
            },
            attachments: self.attachments.clone(),
            ..Config::default()
        }
    }
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// Where a conversation's automations come from: its WhatsApp account, and the widget site
/// or IVR flow that opened it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    pub(crate) account: Option<&'a str>,
    pub(crate) site: Option<&'a str>,
    pub(crate) flow: Option<&'a str>,
}

impl<'a> Scope<'a> {
    /// Conversation `c`'s.
    pub(crate) fn of(c: &'a Conversation) -> Self {
        Self {
            account: c.account.as_deref(),
            site: c.site.as_deref(),
            flow: c.flow.as_deref(),
        }
    }

    /// A conversation's on WhatsApp account `account` that no site or flow opened.
    pub(crate) fn account(account: Option<&'a str>) -> Self {
        Self {
            account,
            ..Self::default()
        }
    }
}

/// The inbox's shared context (see the module documentation).
#[derive(Debug)]
pub(crate) struct Ctx {
    store: Store,
    clock: Arc<dyn Clock>,
    /// The configuration file's settings, and the effective ones (admins' overrides applied).
    settings: settings::Settings,
    /// The whitelist and FAQ entries added through the API, as last loaded, and the FAQ's
    /// index (configured and added entries).
    lists: lists::Lists,
    /// The outgoing webhook endpoints, configured and added, as last loaded.
    hook_endpoints: Arc<HookEndpoints>,
    /// Signs and checks the gateway's public links.
    links: LinkSigner,
    outbox_wake: Notify,
    /// How many nodes share each account's sending pace (this one included), as of the last
    /// heartbeat; 1 until then.
    sending_nodes: std::sync::atomic::AtomicU32,
    timer_wake: Notify,
    bot_wake: Notify,
    attachment_wake: Notify,
}

impl Ctx {
    /// The context of `store`, `settings` and `clock`; `hook_endpoints` (built from
    /// `settings`' webhooks) is shared with the event log's webhook sink.
    pub(crate) fn new(
        store: Store,
        settings: InboxSettings,
        clock: Arc<dyn Clock>,
        hook_endpoints: Arc<HookEndpoints>,
        links: LinkSigner,
    ) -> Self {
        Self {
            links,
            lists: lists::Lists::new(&settings.inbox.faq),
            settings: settings::Settings::new(settings),
            hook_endpoints,
            store,
            clock,
            outbox_wake: Notify::new(),
            sending_nodes: std::sync::atomic::AtomicU32::new(1),
            timer_wake: Notify::new(),
            bot_wake: Notify::new(),
            attachment_wake: Notify::new(),
        }
    }

    /// The signer of the gateway's public links (files, continue links).
    pub(crate) fn links(&self) -> &LinkSigner {
        &self.links
    }

    /// The widget site a conversation of WhatsApp account `account` continues on in the
    /// browser: the first site of that account, else the first site.
    pub(crate) fn continue_site(&self, account: Option<&str>) -> Option<String> {
        let settings = self.settings();
        let sites = &settings.widget.sites;
        let own = sites
            .iter()
            .find(|s| s.whatsapp_account.is_some() && s.whatsapp_account.as_deref() == account);
        own.or(sites.first()).map(|s| s.name.clone())
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Starts a write transaction.
    pub(crate) async fn write(&self) -> Result<Tx, StoreError> {
        self.store.write().await
    }

    /// The settings as they apply now: the configuration file's with admins' overrides.
    pub(crate) fn settings(&self) -> Arc<InboxSettings> {
        self.settings.current().settings.clone()
    }

    /// The settings as the configuration file says.
    pub(crate) fn file_settings(&self) -> &InboxSettings {
        self.settings.file()
    }

    /// Applies the overrides stored since the settings were last built (one row read when
    /// none changed).
    pub(crate) async fn refresh_settings(&self) -> Result<(), StoreError> {
        self.settings.refresh(self.store.pool()).await
    }

    /// Checks overrides `o` of `scope`, the other scopes' `others` applied, as the
    /// configuration check would.
    pub(crate) fn check_overrides(
        &self,
        others: &[repo::setting_overrides::StoredOverrides],
        scope: &deflect_config::SettingScope,
        o: &deflect_config::Overrides,
    ) -> Result<(), SettingProblem> {
        self.settings.check(others, scope, o)
    }

    /// The overrides the settings apply now, by scope.
    pub(crate) fn stored_overrides(&self) -> Vec<repo::setting_overrides::StoredOverrides> {
        self.settings.current().stored.clone()
    }

    /// Now, by the inbox's clock.
    pub(crate) fn now(&self) -> Millis {
        self.clock.now()
    }

    /// A WhatsApp account by name (as configured: its automations are
    /// [`Ctx::automations`]).
    pub(crate) fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.settings.file().whatsapp.account(name)
    }

    /// The default WhatsApp account.
    pub(crate) fn default_account(&self) -> Option<&AccountConfig> {
        self.settings.file().whatsapp.default_account()
    }

    /// The automations of WhatsApp account `account` (the inbox-wide ones for none): those
    /// of a conversation the customer opens on WhatsApp, before it exists. A conversation's
    /// are [`Ctx::automations_of`].
    pub(crate) fn automations(&self, account: Option<&str>) -> Arc<Rules> {
        self.scoped(Scope::account(account))
    }

    /// Whether any account, site or flow (or the inbox-wide rules) tells waiting customers
    /// their position (`queue_message`).
    pub(crate) fn queue_notices(&self) -> bool {
        let e = self.settings.current();
        let mut all = std::iter::once(&e.defaults)
            .chain(e.accounts.values())
            .chain(e.sites.values())
            .chain(e.flows.values());
        all.any(|s| !s.queue_message.is_empty())
    }

    /// Whether WhatsApp account `account` (the inbox-wide rules for none) is open for chat
    /// at `now` (`[inbox.automations] hours`; without hours, always).
    pub(crate) fn open_for_chat(&self, account: Option<&str>, now: Millis) -> bool {
        is_open(self.scoped(Scope::account(account)).hours.as_ref(), now)
    }

    /// A queue by name, its overrides applied.
    pub(crate) fn queue_config(&self, name: &str) -> Option<QueueConfig> {
        let s = self.settings();
        s.inbox.queues.iter().find(|q| q.name == name).cloned()
    }

    /// The configured queues' names.
    pub(crate) fn queue_names(&self) -> Vec<&str> {
        let queues = &self.settings.file().inbox.queues;
        queues.iter().map(|q| q.name.as_str()).collect()
    }

    /// The queue of conversations nothing routes elsewhere.
    pub(crate) fn default_queue(&self) -> &str {
        self.settings
            .file()
            .inbox
            .default_queue()
            .unwrap_or("default")
    }

    /// A queue's routing rules.
    pub(crate) fn rules(&self, queue: &str) -> QueueRules {
        let s = self.settings();
        let i = &s.inbox;
        let q = i.queues.iter().find(|q| q.name == queue);
        QueueRules {
            offer_timeout: clock::ms(q.and_then(|q| q.offer_timeout).unwrap_or(i.offer_timeout)),
            wait_timeout: clock::ms(
                q.map(|q| q.wait_timeout)
                    .unwrap_or(Duration::from_secs(300)),
            ),
            fallback: q.map(|q| q.fallback).unwrap_or(Fallback::Wait),
            fallback_queue: q.and_then(|q| q.fallback_queue.clone()),
            auto_reply: q.and_then(|q| q.auto_reply.clone()),
        }
    }

    /// How long a transfer waits to be accepted.
    pub(crate) fn transfer_timeout(&self) -> Millis {
        clock::ms(self.settings.file().inbox.transfer_timeout)
    }

    /// After how long without activity a conversation closes.
    pub(crate) fn inactivity_ms(&self) -> Millis {
        clock::ms(self.settings.file().inbox.inactivity_close)
    }

    /// How many conversations an agent may have offered or held at once.
    pub(crate) fn capacity(&self) -> u32 {
        self.settings.file().inbox.max_conversations_per_agent
    }

    /// How many nodes send for each account (see [`crate::nodes`]): each paces its sends at
    /// its share of the account's `messages_per_second`.
    pub(crate) fn sending_nodes(&self) -> u32 {
        self.sending_nodes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `n` nodes are alive (at least this one).
    pub(crate) fn set_sending_nodes(&self, n: u32) {
        (self.sending_nodes).store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Tells the outbox worker there is something to send.
    pub(crate) fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Tells the timer worker a timer was armed.
    pub(crate) fn wake_timers(&self) {
        self.timer_wake.notify_one();
    }

    /// Tells the bot worker a customer's message waits for its bot.
    pub(crate) fn wake_bots(&self) {
        self.bot_wake.notify_one();
    }

    /// What the bot worker waits on.
    pub(crate) fn bot_wake(&self) -> &Notify {
        &self.bot_wake
    }

    /// Tells the attachment worker files wait to be downloaded (call it after the commit
    /// that wrote them, so that it finds them at once).
    pub(crate) fn wake_attachments(&self) {
        self.attachment_wake.notify_one();
    }

    /// What the attachment worker waits on.
    pub(crate) fn attachment_wake(&self) -> &Notify {
        &self.attachment_wake
    }

    /// The whitelist entries added through the API, current as of `tx` (one row read when
    /// they have not changed): with an account's rules, who may open a conversation.
    pub(crate) async fn listed_numbers(
        &self,
        tx: &mut Tx,
    ) -> Result<Arc<ListedNumbers>, StoreError> {
        self.lists.whitelist(tx).await
    }

    /// The FAQ — `[[inbox.faq]]` and the entries added through the API — indexed, current
    /// as of `tx` (one row read when the entries have not changed).
    pub(crate) async fn faq(&self, tx: &mut Tx) -> Result<Arc<FaqIndex>, StoreError> {
        self.lists.faq(tx, &self.settings.file().inbox.faq).await
    }

    /// The outgoing webhook endpoints: configured, and added through the API.
    pub(crate) fn hook_endpoints(&self) -> &HookEndpoints {
        &self.hook_endpoints
    }

    /// A configured bot by name.
    pub(crate) fn bot(&self, name: &str) -> Option<&BotConfig> {
        self.settings
            .file()
            .inbox
            .bots
            .iter()
            .find(|b| b.name == name)
    }

    /// What the outbox worker waits on.
    pub(crate) fn outbox_wake(&self) -> &Notify {
        &self.outbox_wake
    }

    /// What the timer worker waits on.
    pub(crate) fn timer_wake(&self) -> &Notify {
        &self.timer_wake
    }

    /// How long a worker sleeps until `due`; at most a second, so work committed by other
    /// processes is picked up promptly.
    pub(crate) fn until_due(&self, due: Option<Millis>) -> Duration {
        let max = Duration::from_secs(1);
        match due {
            Some(d) => Duration::from_millis(u64::try_from(d - self.now()).unwrap_or(0)).min(max),
            None => max,
        }
    }

    /// The automations conversation `c` follows: its widget site's, or the flow's whose
    /// deflected call opened it, else its WhatsApp account's, else the inbox-wide ones.
    pub(crate) fn automations_of(&self, c: &Conversation) -> Arc<Rules> {
        self.scoped(Scope::of(c))
    }

    /// The automations of a conversation known by its scope only (a row, not a loaded
    /// conversation): as [`Ctx::automations_of`].
    pub(crate) fn automations_in(&self, scope: Scope<'_>) -> Arc<Rules> {
        self.scoped(scope)
    }

    fn scoped(&self, scope: Scope<'_>) -> Arc<Rules> {
        let e = self.settings.current();
        let own = match (scope.site, scope.flow) {
            (Some(site), _) => e.sites.get(site),
            (None, Some(flow)) => e.flows.get(flow),
            (None, None) => None,
        };
        let account = || scope.account.and_then(|a| e.accounts.get(a));
        own.or_else(account).unwrap_or(&e.defaults).clone()
    }

    /// Whether conversation `c`'s rules ([`Ctx::automations_of`]) are open for chat at
    /// `now`.
    pub(crate) fn open_for_chat_of(&self, c: &Conversation, now: Millis) -> bool {
        is_open(self.scoped(Scope::of(c)).hours.as_ref(), now)
    }
}

/// Whether `hours` are open at `now` (none: always).
fn is_open(hours: Option<&OpeningHours>, now: Millis) -> bool {
    hours.is_none_or(|h| h.is_open_at_unix_ms(now))
}
