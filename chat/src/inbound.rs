//! Inbound WhatsApp traffic: customers' messages and delivery statuses, from any provider's
//! webhook (or the sandbox), group-committed: deliveries that arrive while a transaction runs
//! share the next one (see [`crate::Inbox::receive`]). Within a batch, plain messages joining open
//! conversations (`joining`) and plain first contacts (`opening`) are stored a run at a time,
//! a few statements per run; everything else one message at a time.
//!
//! - A message whose external id is known is a repeated delivery: nothing happens.
//! - A message from a number a relay registered as its agent's is the relay's
//!   (`lifecycle::relay`), never a customer's: it opens and joins no customer conversation.
//!   An SMS answer to the SMS fallback comes by its own route (`sms`).
//! - A message joins, in this order: the conversation of the message it answers (`context`
//!   id — a deflection template's wamid), the conversation named by a quick-reply payload
//!   (`deflect:<reference>`), the web conversation of a one-time hand-off code in its text,
//!   the open conversation of the same WhatsApp id on that account; else a new conversation.
//!   Before all of these, an answer to a satisfaction survey (a tapped `csat:<reference>:<score>`,
//!   or the words of one) and the comment after it join the closed conversation they rate,
//!   opening nothing (`lifecycle::csat`).
//! - A status only moves a message forward (sent → delivered → read; failed is final). A
//!   status for a message not recorded yet (it can overtake the send's answer) is kept and
//!   applied when the message's id is recorded.
//! - Failures: 131047 (outside the 24 h window) marks the conversation as needing the
//!   recontact template; 131026 marks it unreachable.

use crate::clock::Millis;
use crate::context::{Ctx, ListedNumbers, Scope};
use crate::lifecycle::{self, automation, csat, dispatch, open, status, waiting};
use crate::model::{ChatError, EventKind, Message, Origin, Status};
use crate::provider::{Inbound, InboundMessage};
use crate::repo;
use crate::repo::messages::MESSAGE_COLUMNS;
use crate::routing::QueueRules;
use crate::store::{NewEvent, Tx};
use crate::store::{Store, opt_str};
use deflect_config::AccountConfig;
use serde_json::json;
use sqlx::Row;
use std::collections::HashSet;
use std::sync::{Arc, Weak};
use tokio::sync::{mpsc, oneshot};

/// What a delivery changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// New messages stored.
    pub messages: usize,
    /// Messages seen before (repeated deliveries).
    pub duplicates: usize,
    /// Statuses applied or kept for later.
    pub statuses: usize,
    /// Conversations the new messages joined.
    pub conversations: Vec<i64>,
}

mod joining;
mod linking;
mod opening;
mod sms;

/// The runs of a batch being gathered (at most one of the two holds messages), and the
/// conversations the batch has opened so far.
#[derive(Default)]
struct Runs<'a> {
    joining: Vec<joining::Joining<'a>>,
    opening: Vec<opening::Opening<'a>>,
    /// (account, WhatsApp id) → (conversation, whether the new contact got a name).
    opened: std::collections::HashMap<(&'a str, &'a str), (i64, bool)>,
    /// The WhatsApp ids of `opened`.
    opened_ids: HashSet<&'a str>,
    /// Messages stored by the runs.
    grouped: usize,
}

/// Counts a message stored in `conversation` for its delivery.
fn joined(out: &mut Received, conversation: i64) {
    out.messages += 1;
    if !out.conversations.contains(&conversation) {
        out.conversations.push(conversation);
    }
}

/// Most deliveries one group commit takes.
const MAX_BATCH: usize = 256;
/// How often a delivery is tried again after a conflict between concurrent transactions.
const MAX_ATTEMPTS: u32 = 5;

/// A delivery waiting for the group commit, and who waits for its answer.
pub(crate) struct Delivery {
    account: String,
    items: Vec<Inbound>,
    attempts: u32,
    done: oneshot::Sender<Result<Received, ChatError>>,
}

impl Delivery {
    /// The customer the delivery concerns first: batches take their rows in this order.
    fn lock_key(&self) -> &str {
        match self.items.first() {
            Some(Inbound::Message(m)) => &m.from,
            Some(Inbound::Status(s)) => &s.external_id,
            None => "",
        }
    }

    fn retryable(&self, e: &ChatError) -> bool {
        retryable(e) && self.attempts + 1 < MAX_ATTEMPTS
    }

    /// Whether a message of the delivery carries files (which the attachment worker then
    /// downloads).
    fn carries_media(&self) -> bool {
        (self.items.iter()).any(|i| matches!(i, Inbound::Message(m) if !m.media.is_empty()))
    }
}

/// How the customers' messages this process stored were stored (see [`crate::Inbox::inbound_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboundStats {
    /// Stored with the others of their run: a few statements for the whole run (messages
    /// joining open conversations, first contacts).
    pub grouped: u64,
    /// Stored one at a time (replies to a template, hand-off codes, fallbacks after a
    /// conflict).
    pub alone: u64,
}

/// The counters behind [`InboundStats`].
#[derive(Debug, Default)]
pub(crate) struct Counts {
    grouped: std::sync::atomic::AtomicU64,
    alone: std::sync::atomic::AtomicU64,
}

impl Counts {
    fn add(&self, grouped: usize, alone: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.grouped.fetch_add(grouped as u64, Relaxed);
        self.alone.fetch_add(alone as u64, Relaxed);
        metrics::counter!("deflect_inbox_inbound_stored_total", "path" => "grouped")
            .increment(grouped as u64);
        metrics::counter!("deflect_inbox_inbound_stored_total", "path" => "alone")
            .increment(alone as u64);
    }
}

/// The queue of deliveries in front of the inbound writer.
type InboundQueue = std::sync::Mutex<Option<mpsc::UnboundedSender<Delivery>>>;

/// The inbound service: the inbox's context, the queue in front of this process's inbound
/// writer, and its counters. Cheap to clone.
#[derive(Clone)]
pub(crate) struct InboundService(Arc<Shared>);

struct Shared {
    ctx: Arc<Ctx>,
    queue: InboundQueue,
    counts: Counts,
}

impl InboundService {
    /// The inbound service of `ctx`; its writer starts with the first delivery.
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self(Arc::new(Shared {
            ctx,
            queue: InboundQueue::default(),
            counts: Counts::default(),
        }))
    }

    pub(crate) fn ctx(&self) -> &Ctx {
        &self.0.ctx
    }

    fn now(&self) -> Millis {
        self.ctx().now()
    }

    fn store(&self) -> &Store {
        self.ctx().store()
    }

    fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.ctx().account(name)
    }

    fn default_queue(&self) -> &str {
        self.ctx().default_queue()
    }

    fn rules(&self, queue: &str) -> QueueRules {
        self.ctx().rules(queue)
    }

    /// Whether a first contact from WhatsApp id `wa_id` on `account` is opened with the
    /// others of its run (queued for an agent at once): not when the whitelist turns it
    /// away, the account starts conversations with a bot, the default queue relays them to
    /// agents' own WhatsApp, or it may not queue outside opening hours. The whitelist entries added through the API are read once per batch
    /// (`listed`, loaded on first need).
    async fn opens_in_run(
        &self,
        tx: &mut Tx,
        listed: &mut Option<Arc<ListedNumbers>>,
        (account, wa_id): (&str, &str),
        now: Millis,
    ) -> Result<bool, BatchError> {
        let rules = self.ctx().automations(Some(account));
        let relays = (self.ctx().queue_config(self.default_queue()))
            .is_some_and(|q| !q.relay_agents.is_empty());
        if !rules.bot.is_empty() || relays || !automation::may_queue(self.ctx(), Some(account), now)
        {
            return Ok(false);
        }
        let numbers = match listed {
            Some(l) => l.clone(),
            None => {
                let l = (self.ctx().listed_numbers(tx).await).map_err(BatchError::one_by_one)?;
                listed.insert(l).clone()
            }
        };
        Ok(numbers.admits(&rules, Some(account), &format!("+{wa_id}")))
    }

    fn wake_timers(&self) {
        self.ctx().wake_timers();
    }

    /// Stores one webhook delivery for `account` (already verified) and returns once it is
    /// committed.
    ///
    /// Deliveries are group-committed: one writer task per process takes every delivery that
    /// arrived while its previous transaction ran and stores them in the next one, so many
    /// deliveries share one commit (and, on PostgreSQL, one fsync and one NOTIFY). Each
    /// caller is answered after the commit that holds its delivery. A delivery that fails is
    /// taken out of the batch and the others are stored without it; a conflict between
    /// concurrent transactions (or a duplicate racing in from another process) is retried.
    pub(crate) async fn receive(
        &self,
        account: &str,
        items: &[Inbound],
    ) -> Result<Received, ChatError> {
        if self.account(account).is_none() {
            return Err(ChatError::NotFound("WhatsApp account"));
        }
        let (done, answer) = oneshot::channel();
        let mut delivery = Delivery {
            account: account.to_string(),
            items: items.to_vec(),
            attempts: 0,
            done,
        };
        loop {
            match self.inbound_writer().send(delivery) {
                Ok(()) => break,
                // The writer stopped (its runtime ended): start another.
                Err(mpsc::error::SendError(d)) => delivery = d,
            }
        }
        answer.await.map_err(|_| {
            ChatError::Conflict("the inbound writer stopped before storing the delivery".into())
        })?
    }

    /// How the customers' messages this process stored so far were stored: together with
    /// others (the fast paths of the group commit) or one at a time. Also exported as the
    /// metric `deflect_inbox_inbound_stored_total{path}`.
    pub(crate) fn stats(&self) -> InboundStats {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.0.counts;
        InboundStats {
            grouped: c.grouped.load(Relaxed),
            alone: c.alone.load(Relaxed),
        }
    }

    /// The inbound writer's queue; starts the writer on first use (or after it stopped).
    fn inbound_writer(&self) -> mpsc::UnboundedSender<Delivery> {
        let mut queue = self
            .0
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(q) = queue.as_ref().filter(|q| !q.is_closed()) {
            return q.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(inbound_writer(Arc::downgrade(&self.0), rx));
        *queue = Some(tx.clone());
        tx
    }

    /// Stores `batch` in one transaction and answers each delivery (see [`crate::Inbox::receive`]).
    async fn commit_deliveries(&self, mut batch: Vec<Delivery>) {
        if self.store().kind() == deflect_config::DatabaseKind::Postgres {
            // Every process's batches lock the customers' rows in the same order, so two
            // batches do not deadlock over them. Stable: one customer's deliveries keep
            // their order.
            batch.sort_by(|a, b| a.lock_key().cmp(b.lock_key()));
        }
        while !batch.is_empty() {
            match self.store_batch(&batch).await {
                Ok(results) => {
                    fault!("inbound-after-commit", ());
                    if batch.iter().any(Delivery::carries_media) {
                        self.ctx().wake_attachments();
                    }
                    for (d, r) in batch.drain(..).zip(results) {
                        record_received(&r);
                        let _ = d.done.send(Ok(r));
                    }
                }
                Err(BatchError::Delivery(i, e)) => {
                    // That delivery's work is rolled back with the others'; try the rest
                    // again without it (or with it, once more, after a conflict).
                    if batch[i].retryable(&e) {
                        batch[i].attempts += 1;
                    } else {
                        let d = batch.remove(i);
                        let _ = d.done.send(Err(e));
                    }
                }
                Err(BatchError::OneByOne(e)) => {
                    // Each delivery on its own, so each gets its own answer.
                    tracing::debug!(cause = %e, deliveries = batch.len(), "group commit failed; storing deliveries one by one");
                    metrics::counter!("deflect_inbox_group_commit_fallbacks_total").increment(1);
                    for d in batch.drain(..) {
                        let r = self.store_alone(&d).await;
                        if let Ok(r) = &r {
                            record_received(r);
                            self.0.counts.add(0, r.messages);
                            if d.carries_media() {
                                self.ctx().wake_attachments();
                            }
                        }
                        let _ = d.done.send(r);
                    }
                }
            }
        }
    }

    async fn store_batch(&self, batch: &[Delivery]) -> Result<Vec<Received>, BatchError> {
        let now = self.now();
        let mut tx = self.store().write().await.map_err(BatchError::one_by_one)?;
        let messages: Vec<(&str, &InboundMessage)> = batch
            .iter()
            .flat_map(|d| {
                d.items.iter().filter_map(|i| match i {
                    Inbound::Message(m) => Some((d.account.as_str(), &**m)),
                    Inbound::Status(_) => None,
                })
            })
            .collect();
        let (known, live_codes) = if messages.is_empty() {
            Default::default()
        } else {
            (
                self.look_up(&mut tx, &messages)
                    .await
                    .map_err(BatchError::one_by_one)?,
                self.live_codes(&mut tx, &messages, now)
                    .await
                    .map_err(BatchError::one_by_one)?,
            )
        };
        let mut results = vec![Received::default(); batch.len()];
        // Plain messages joining open conversations, and first contacts, each stored together
        // when something else comes (or at the end), so that everything is stored in the
        // order it came.
        let mut runs = Runs::default();
        let mut handled: HashSet<(&str, &str)> = HashSet::new();
        // WhatsApp ids whose messages took the per-message path in this batch: it may have
        // created their identity, so they are not first contacts any more.
        let mut touched: HashSet<&str> = HashSet::new();
        let mut listed = None;
        for (i, d) in batch.iter().enumerate() {
            for item in &d.items {
                if let Inbound::Message(m) = item
                    && handled.insert((d.account.as_str(), m.external_id.as_str()))
                    && let Some(k) = known.get(&(d.account.clone(), m.external_id.clone()))
                {
                    if let Some(conversation) = k.joins(m, &live_codes) {
                        let joining = (i, d.account.as_str(), &**m, conversation);
                        self.join_run(&mut tx, &mut runs, &mut results, now, joining)
                            .await?;
                        continue;
                    }
                    // A number the whitelist turns away, or a bot's, takes the per-message
                    // path.
                    if k.opens(m, &live_codes)
                        && !touched.contains(m.from.as_str())
                        && self
                            .opens_in_run(&mut tx, &mut listed, (&d.account, &m.from), now)
                            .await?
                    {
                        if runs.opening.iter().any(|o| o.message.from == m.from) {
                            // Its first message is in the run: open it, then join it.
                            self.store_opening_run(&mut tx, &mut runs, &mut results, now)
                                .await?;
                        }
                        match runs.opened.get(&(d.account.as_str(), m.from.as_str())) {
                            // Opened by this batch; joins unless it names the contact.
                            Some(&(conversation, named)) if named || m.profile_name.is_none() => {
                                let joining = (i, d.account.as_str(), &**m, conversation);
                                self.join_run(&mut tx, &mut runs, &mut results, now, joining)
                                    .await?;
                                continue;
                            }
                            Some(_) => {}
                            None if runs.opened_ids.contains(m.from.as_str()) => {}
                            None => {
                                self.store_joining_run(&mut tx, &mut runs, &mut results, now)
                                    .await?;
                                runs.opening.push(opening::Opening {
                                    delivery: i,
                                    account: &d.account,
                                    message: m,
                                });
                                continue;
                            }
                        }
                    }
                }
                self.store_runs(&mut tx, &mut runs, &mut results, now)
                    .await?;
                if let Inbound::Message(m) = item {
                    touched.insert(&m.from);
                }
                self.store_item(&mut tx, &d.account, item, now, &mut results[i])
                    .await
                    .map_err(|e| BatchError::Delivery(i, e))?;
            }
        }
        self.store_runs(&mut tx, &mut runs, &mut results, now)
            .await?;
        tx.commit().await.map_err(BatchError::one_by_one)?;
        let stored: usize = results.iter().map(|r| r.messages).sum();
        self.0
            .counts
            .add(runs.grouped, stored.saturating_sub(runs.grouped));
        Ok(results)
    }

    /// Adds (delivery, account, message, conversation) to the run of joining messages, after
    /// storing the run of first contacts before it.
    async fn join_run<'a>(
        &self,
        tx: &mut Tx,
        runs: &mut Runs<'a>,
        results: &mut [Received],
        now: Millis,
        (delivery, account, message, conversation): (usize, &'a str, &'a InboundMessage, i64),
    ) -> Result<(), BatchError> {
        self.store_opening_run(tx, runs, results, now).await?;
        runs.joining.push(joining::Joining {
            delivery,
            account,
            message,
            conversation,
        });
        Ok(())
    }

    /// Stores whichever run has messages (one of them at most), and empties it.
    async fn store_runs<'a>(
        &self,
        tx: &mut Tx,
        runs: &mut Runs<'a>,
        results: &mut [Received],
        now: Millis,
    ) -> Result<(), BatchError> {
        self.store_joining_run(tx, runs, results, now).await?;
        self.store_opening_run(tx, runs, results, now).await
    }

    /// Stores the run of joining messages gathered so far, and empties it.
    async fn store_joining_run(
        &self,
        tx: &mut Tx,
        runs: &mut Runs<'_>,
        results: &mut [Received],
        now: Millis,
    ) -> Result<(), BatchError> {
        if runs.joining.is_empty() {
            return Ok(());
        }
        BatchError::run(self.store_joining(tx, &runs.joining, now).await)?;
        runs.grouped += runs.joining.len();
        for j in runs.joining.drain(..) {
            joined(&mut results[j.delivery], j.conversation);
        }
        Ok(())
    }

    /// Stores the run of first contacts gathered so far, and empties it.
    async fn store_opening_run<'a>(
        &self,
        tx: &mut Tx,
        runs: &mut Runs<'a>,
        results: &mut [Received],
        now: Millis,
    ) -> Result<(), BatchError> {
        if runs.opening.is_empty() {
            return Ok(());
        }
        let conversations = BatchError::run(self.store_opening(tx, &runs.opening, now).await)?;
        // Opened on WhatsApp, they follow their account's rules (no site, no flow).
        for (o, conversation) in runs.opening.iter().zip(&conversations) {
            if !self
                .ctx()
                .automations(Some(o.account))
                .welcome_message
                .is_empty()
            {
                let ctx = self.ctx();
                let welcomed = async {
                    let c = lifecycle::load(tx, *conversation).await?;
                    automation::welcome(ctx, tx, &c, now).await
                };
                welcomed
                    .await
                    .map_err(|e| BatchError::Delivery(o.delivery, e))?;
            }
        }
        // Outside opening hours (they queue then, or they would not be in the run): the
        // closed message.
        for (o, conversation) in runs.opening.iter().zip(&conversations) {
            if !self.ctx().open_for_chat(Some(o.account), now) {
                let ctx = self.ctx();
                let told = async {
                    let c = lifecycle::load(tx, *conversation).await?;
                    automation::after_hours(ctx, tx, &c, now).await
                };
                told.await
                    .map_err(|e| BatchError::Delivery(o.delivery, e))?;
            }
        }
        // Those left waiting hear their position, in the order they came (as one at a time).
        for (o, conversation) in runs.opening.iter().zip(&conversations) {
            if !self
                .ctx()
                .automations(Some(o.account))
                .queue_message
                .is_empty()
            {
                waiting::queue_notice(self.ctx(), tx, *conversation, now)
                    .await
                    .map_err(|e| BatchError::Delivery(o.delivery, e))?;
            }
        }
        runs.grouped += runs.opening.len();
        for (o, conversation) in runs.opening.drain(..).zip(conversations) {
            joined(&mut results[o.delivery], conversation);
            runs.opened.insert(
                (o.account, o.message.from.as_str()),
                (conversation, o.message.profile_name.is_some()),
            );
            runs.opened_ids.insert(o.message.from.as_str());
        }
        Ok(())
    }

    /// One delivery in its own transaction, retried after conflicts.
    async fn store_alone(&self, d: &Delivery) -> Result<Received, ChatError> {
        let mut attempt = d.attempts;
        loop {
            match self.store_once(d).await {
                Err(e) if retryable(&e) && attempt + 1 < MAX_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    async fn store_once(&self, d: &Delivery) -> Result<Received, ChatError> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let r = self.store_items(&mut tx, &d.account, &d.items, now).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Stores a delivery's items one by one.
    async fn store_items(
        &self,
        tx: &mut Tx,
        account: &str,
        items: &[Inbound],
        now: Millis,
    ) -> Result<Received, ChatError> {
        let mut out = Received::default();
        for item in items {
            self.store_item(tx, account, item, now, &mut out).await?;
        }
        Ok(out)
    }

    async fn store_item(
        &self,
        tx: &mut Tx,
        account: &str,
        item: &Inbound,
        now: Millis,
        out: &mut Received,
    ) -> Result<(), ChatError> {
        match item {
            Inbound::Message(m) => match self.receive_message(tx, account, m, now).await? {
                Some(conversation) => {
                    out.messages += 1;
                    if !out.conversations.contains(&conversation) {
                        out.conversations.push(conversation);
                    }
                }
                None => out.duplicates += 1,
            },
            Inbound::Status(s) => {
                status::apply(self.ctx(), tx, account, s, now).await?;
                out.statuses += 1;
            }
        }
        Ok(())
    }

    async fn receive_message(
        &self,
        tx: &mut Tx,
        account: &str,
        m: &InboundMessage,
        now: Millis,
    ) -> Result<Option<i64>, ChatError> {
        // One round trip answers the common questions: seen before? a relay's agent? which
        // identity and contact? an open conversation on this account?
        let known = sqlx::query(
            "SELECT (SELECT m.id FROM messages m WHERE m.account = $3 AND m.external_id = $1) AS seen, \
             i.id AS identity_id, i.contact_id, k.name, \
             (SELECT c.id FROM conversations c WHERE c.identity_id = i.id AND c.account = $3 \
              AND c.status <> 'closed') AS open_id, \
             (SELECT 1 FROM relay_agents ra WHERE ra.account = $3 AND ra.wa_id = $2) AS relay_agent \
             FROM (SELECT 1 AS one) o \
             LEFT JOIN contact_identities i ON i.channel = 'whatsapp' AND i.external_id = $2 \
             LEFT JOIN contacts k ON k.id = i.contact_id",
        )
        .bind(&m.external_id)
        .bind(&m.from)
        .bind(account)
        .fetch_one(tx.conn())
        .await?;
        if crate::store::opt_i64(&known, "seen").is_some() {
            return Ok(None);
        }
        // An agent of a relay writing from their own WhatsApp is never a customer.
        if crate::store::opt_i64(&known, "relay_agent").is_some()
            && let Some(agent) = repo::relays::agent(tx, account, &m.from).await?
        {
            return lifecycle::relay::agent_wrote(self.ctx(), tx, account, &agent, m, now).await;
        }
        let mut open = crate::store::opt_i64(&known, "open_id");
        let (identity, contact, new_identity) = match crate::store::opt_i64(&known, "identity_id") {
            Some(identity) => {
                let contact: i64 = known.get("contact_id");
                if let (Some(n), None) = (
                    m.profile_name.as_deref(),
                    crate::store::opt_str(&known, "name"),
                ) {
                    repo::contacts::name_if_unnamed(tx, contact, n).await?;
                }
                (identity, contact, false)
            }
            None => {
                open = None;
                open::whatsapp_identity(tx, &m.from, m.profile_name.as_deref(), now).await?
            }
        };
        let survey_reply = if new_identity {
            None
        } else {
            csat::reply_to(self.ctx(), tx, account, identity, open, m, now).await?
        };
        let linked = match &survey_reply {
            Some(r) => Some(r.conversation()),
            None => self.linked_conversation(tx, account, m).await?,
        };
        let conversation = match linked {
            Some(c) => c,
            None => match self
                .handoff(tx, account, identity, contact, new_identity, m, now)
                .await?
            {
                Some(c) => c,
                None => match open {
                    Some(c) => c,
                    None => {
                        let w = open::WhatsAppConversation {
                            identity,
                            contact,
                            account,
                            origin: Origin::Whatsapp,
                            status: Status::Queued,
                            queue: self.default_queue(),
                            flow: None,
                        };
                        open::whatsapp_conversation(tx, w, now).await?.0
                    }
                },
            },
        };
        let inserted = sqlx::query(sql!(
            "INSERT INTO messages (conversation_id, direction, kind, body, payload, interactive, channel, \
             account, external_id, status, created_at) \
             VALUES ($1, 'in', $2, $3, $4, $5, 'whatsapp', $6, $7, 'received', $8) \
             ON CONFLICT DO NOTHING RETURNING {MESSAGE_COLUMNS}"
        ))
        .bind(conversation)
        .bind(&m.kind)
        .bind(m.body.as_deref())
        .bind(m.raw.to_string())
        .bind(interactive_json(m))
        .bind(account)
        .bind(&m.external_id)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = inserted else {
            return Ok(None);
        };
        let mut message = crate::repo::messages::from_row(&row);
        if !m.media.is_empty() {
            let files = [(message.id, account, m.media.as_slice())];
            let mut stored = repo::attachments::insert_all(tx, &files, now).await?;
            message.attachments = stored.remove(&message.id).unwrap_or_default();
        }
        let sent_at = joining::sent_at(m, now);
        // One update records the activity, advances the event sequence and (PostgreSQL)
        // locks the conversation.
        let row = sqlx::query(
            "UPDATE conversations SET last_inbound_at = $1, last_activity_at = $2, \
             event_seq = event_seq + 1 WHERE id = $3 \
             RETURNING event_seq, status, queued_at, queue, agent_id, site, flow, origin",
        )
        .bind(sent_at)
        .bind(now)
        .bind(conversation)
        .fetch_one(tx.conn())
        .await?;
        let seq: i64 = row.get("event_seq");
        tx.append(NewEvent {
            conversation_id: Some(conversation),
            seq,
            kind: EventKind::MessageCreated,
            data: json!({ "message": message }),
            at: now,
        })
        .await?;
        let status = Status::parse(&row.get::<String, _>("status"));
        let queued_at = crate::store::opt_i64(&row, "queued_at");
        let queue: String = row.get("queue");
        match status {
            // The customer answered the deflection: now it needs an agent — or its flow's bot,
            // which takes the answer.
            // The customer answered a relayed hand-off: an agent is sought on WhatsApp.
            Some(Status::Pending)
                if opt_str(&row, "origin").as_deref() == Some(Origin::Relay.as_str()) =>
            {
                let c = lifecycle::load(tx, conversation).await?;
                lifecycle::relay::begin(self.ctx(), tx, &c, now).await?;
            }
            Some(Status::Relay) => {
                let c = lifecycle::load(tx, conversation).await?;
                lifecycle::relay::customer_wrote(self.ctx(), tx, &c, &message, now).await?;
            }
            Some(Status::Pending) => {
                let c = lifecycle::load(tx, conversation).await?;
                automation::answered(self.ctx(), tx, &c, &message, now).await?;
            }
            // Opened just now by the customer's message: the whitelist may turn it away;
            // else welcome and route it.
            Some(Status::Queued) if queued_at.is_none() => {
                let opened = (conversation, m.from.as_str(), queue.as_str());
                self.opened(tx, opened, &message, now).await?;
            }
            // The customer waits for their agent's answer.
            Some(Status::Assigned) => {
                if let Some(agent) = crate::store::opt_i64(&row, "agent_id") {
                    let (site, flow) = (opt_str(&row, "site"), opt_str(&row, "flow"));
                    let scope = Scope {
                        account: Some(account),
                        site: site.as_deref(),
                        flow: flow.as_deref(),
                    };
                    let ctx = self.ctx();
                    waiting::customer_wrote(ctx, tx, conversation, agent, scope, now).await?;
                }
            }
            // With its bot: the message is the bot's next turn.
            Some(Status::Bot) => {
                let c = lifecycle::load(tx, conversation).await?;
                automation::to_bot(self.ctx(), tx, &c, &message, now).await?;
            }
            _ => {}
        }
        if let Some(r) = &survey_reply {
            csat::record(self.ctx(), tx, r, m, now).await?;
        }
        Ok(Some(conversation))
    }

    /// Conversation `id`, just opened in `queue` by message `message` from `wa_id`: turned
    /// away by the whitelist or (outside opening hours, when conversations do not queue
    /// then) closed; else welcomed, and either started with its bot or routed.
    async fn opened(
        &self,
        tx: &mut Tx,
        (id, wa_id, queue): (i64, &str, &str),
        message: &Message,
        now: Millis,
    ) -> Result<(), ChatError> {
        let ctx = self.ctx();
        // One load: the steps below change nothing the next one reads, until the bot starts
        // (which returns the conversation as it is then).
        let c = lifecycle::load(tx, id).await?;
        if !automation::admit(ctx, tx, &c, wa_id, now).await? {
            return Ok(());
        }
        if automation::may_queue_of(ctx, &c, now) {
            automation::welcome(ctx, tx, &c, now).await?;
        }
        if !automation::after_hours(ctx, tx, &c, now).await? {
            return Ok(());
        }
        match automation::start_bot(ctx, tx, &c, now).await? {
            Some(c) => automation::to_bot(ctx, tx, &c, message, now).await,
            None => dispatch::enqueue(ctx, tx, id, queue, None, now).await,
        }
    }
}

enum BatchError {
    /// The delivery at this index failed; the transaction is rolled back.
    Delivery(usize, ChatError),
    /// The batch could not be stored together (beginning or committing failed, or the
    /// joining messages met something unexpected): store each delivery on its own.
    OneByOne(String),
}

impl BatchError {
    fn one_by_one(e: impl std::fmt::Display) -> Self {
        Self::OneByOne(e.to_string())
    }

    /// A run's outcome: anything but success means storing the batch one by one.
    fn run<T>(r: Result<Result<T, joining::Unexpected>, ChatError>) -> Result<T, Self> {
        match r {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(joining::Unexpected(why))) => Err(Self::OneByOne(why.into())),
            Err(e) => Err(Self::one_by_one(e)),
        }
    }
}

/// A conflict between concurrent transactions, or a duplicate that raced in from another
/// process: trying again resolves it.
/// The customer's choice `m` carries, as stored (JSON of a `button_reply` or `list_reply`).
fn interactive_json(m: &InboundMessage) -> Option<String> {
    (m.interactive.as_ref())
        .map(|i| serde_json::to_string(i).expect("an interactive reply serializes"))
}

fn retryable(e: &ChatError) -> bool {
    e.is_transient() || matches!(e, ChatError::Store(s) if s.is_unique_violation())
}

fn record_received(r: &Received) {
    metrics::counter!("deflect_inbox_messages_total", "direction" => "in", "channel" => "whatsapp")
        .increment(r.messages as u64);
    metrics::counter!("deflect_inbox_duplicate_deliveries_total").increment(r.duplicates as u64);
}

/// The inbound writer: takes every delivery waiting and commits them together, until the
/// inbox is dropped.
async fn inbound_writer(inbound: Weak<Shared>, mut queue: mpsc::UnboundedReceiver<Delivery>) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let Some(shared) = inbound.upgrade() else {
            return;
        };
        metrics::histogram!("deflect_inbox_group_commit_deliveries").record(batch.len() as f64);
        InboundService(shared)
            .commit_deliveries(std::mem::take(&mut batch))
            .await;
    }
}
