//! What every service works with: the store, the settings, the clock, and the wake-ups of the
//! workers a change gives work to. The inbox builds one [`Ctx`] and shares it; services and
//! lifecycle steps take it as their first argument.

mod lists;

use crate::clock::{self, Clock, Millis};
use crate::model::StoreError;
use crate::routing::QueueRules;
use crate::store::{Store, Tx};
use deflect_config::{
    AccountConfig, AutomationsConfig, BotConfig, Config, Fallback, InboxConfig, OpeningHours,
    QueueConfig, WebhookConfig, WhatsAppConfig,
};
pub(crate) use lists::{FaqIndex, ListedNumbers};
use std::collections::HashMap;
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

/// The inbox's shared context (see the module documentation).
#[derive(Debug)]
pub(crate) struct Ctx {
    store: Store,
    settings: InboxSettings,
    clock: Arc<dyn Clock>,
    /// The whitelist and FAQ entries added through the API, as last loaded, and the FAQ's
    /// index (configured and added entries).
    lists: lists::Lists,
    /// Each WhatsApp account's automations, its overrides applied.
    automations: HashMap<String, AutomationsConfig>,
    /// Each account's opening hours for chat (by account; `None`: the inbox-wide ones),
    /// compiled; an account without any is always open.
    hours: HashMap<Option<String>, OpeningHours>,
    outbox_wake: Notify,
    timer_wake: Notify,
    bot_wake: Notify,
}

impl Ctx {
    pub(crate) fn new(store: Store, settings: InboxSettings, clock: Arc<dyn Clock>) -> Self {
        let defaults = &settings.inbox.automations;
        let automations = (settings.whatsapp.accounts.iter())
            .map(|a| (a.name.clone(), defaults.with(&a.automations)))
            .collect::<HashMap<String, AutomationsConfig>>();
        let compile = |h: Option<&deflect_config::HoursConfig>| {
            // The configuration check compiled them already.
            h.and_then(|h| OpeningHours::new(h).ok())
        };
        let mut hours: HashMap<Option<String>, OpeningHours> = automations
            .iter()
            .filter_map(|(name, a)| Some((Some(name.clone()), compile(a.hours.as_ref())?)))
            .collect();
        let lists = lists::Lists::new(&settings.inbox.faq);
        if let Some(h) = compile(defaults.hours.as_ref()) {
            hours.insert(None, h);
        }
        Self {
            lists,
            store,
            settings,
            clock,
            automations,
            hours,
            outbox_wake: Notify::new(),
            timer_wake: Notify::new(),
            bot_wake: Notify::new(),
        }
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Starts a write transaction.
    pub(crate) async fn write(&self) -> Result<Tx, StoreError> {
        self.store.write().await
    }

    /// The settings.
    pub(crate) fn settings(&self) -> &InboxSettings {
        &self.settings
    }

    /// Now, by the inbox's clock.
    pub(crate) fn now(&self) -> Millis {
        self.clock.now()
    }

    /// A WhatsApp account by name.
    pub(crate) fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.settings.whatsapp.account(name)
    }

    /// The default WhatsApp account.
    pub(crate) fn default_account(&self) -> Option<&AccountConfig> {
        self.settings.whatsapp.default_account()
    }

    /// The automations of WhatsApp account `account` (the inbox-wide ones for none).
    pub(crate) fn automations(&self, account: Option<&str>) -> &AutomationsConfig {
        account
            .and_then(|a| self.automations.get(a))
            .unwrap_or(&self.settings.inbox.automations)
    }

    /// Whether any account (or the inbox-wide rules) tells waiting customers their position
    /// (`queue_message`).
    pub(crate) fn queue_notices(&self) -> bool {
        !self.settings.inbox.automations.queue_message.is_empty()
            || self
                .automations
                .values()
                .any(|a| !a.queue_message.is_empty())
    }

    /// Whether WhatsApp account `account` (the inbox-wide rules for none) is open for chat
    /// at `now` (`[inbox.automations] hours`; without hours, always).
    pub(crate) fn open_for_chat(&self, account: Option<&str>, now: Millis) -> bool {
        let key = account
            .filter(|a| self.automations.contains_key(*a))
            .map(str::to_owned);
        self.hours
            .get(&key)
            .is_none_or(|h| h.is_open_at_unix_ms(now))
    }

    /// A queue by name.
    pub(crate) fn queue_config(&self, name: &str) -> Option<&QueueConfig> {
        self.settings.inbox.queues.iter().find(|q| q.name == name)
    }

    /// The configured queues' names.
    pub(crate) fn queue_names(&self) -> Vec<&str> {
        let queues = &self.settings.inbox.queues;
        queues.iter().map(|q| q.name.as_str()).collect()
    }

    /// The queue of conversations nothing routes elsewhere.
    pub(crate) fn default_queue(&self) -> &str {
        self.settings.inbox.default_queue().unwrap_or("default")
    }

    /// A queue's routing rules.
    pub(crate) fn rules(&self, queue: &str) -> QueueRules {
        let i = &self.settings.inbox;
        let q = self.queue_config(queue);
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
        clock::ms(self.settings.inbox.transfer_timeout)
    }

    /// After how long without activity a conversation closes.
    pub(crate) fn inactivity_ms(&self) -> Millis {
        clock::ms(self.settings.inbox.inactivity_close)
    }

    /// How many conversations an agent may have offered or held at once.
    pub(crate) fn capacity(&self) -> u32 {
        self.settings.inbox.max_conversations_per_agent
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
        self.lists.faq(tx, &self.settings.inbox.faq).await
    }

    /// A configured bot by name.
    pub(crate) fn bot(&self, name: &str) -> Option<&BotConfig> {
        self.settings.inbox.bots.iter().find(|b| b.name == name)
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
}
