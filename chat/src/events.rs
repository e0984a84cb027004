//! The live feed: the event log's subscribers.
//!
//! Every state change appends an [`Event`] in the same transaction ([`crate::store`]). Events
//! of one conversation carry an increasing `seq`, assigned under the conversation's row lock,
//! and reach subscribers in that order:
//!
//! - SQLite (one process): published in-process right after the commit, under the write lock,
//!   so in commit order (the bus's sink).
//! - PostgreSQL (several processes): sent with `pg_notify` inside the transaction, just before
//!   its commit (the NOTIFY sink) — one notification per transaction carrying a JSON array of
//!   its events (more
//!   only when they exceed NOTIFY's 8000 bytes); every process LISTENs (`Feed::start_relay`) and
//!   PostgreSQL delivers notifications in commit order. An event too large for a notification
//!   on its own travels as `{"id": …}` and is read back from the log.
//!
//! A [`Subscription`] can resume after a reconnect: it replays the log after the last event id
//! the client saw, then continues live, never delivering an event twice. Should the live feed
//! overflow or the relay lose its connection, it replays from the log again.

use crate::model::{Event, EventKind};
use crate::repo;
use crate::store::{EventSink, SinkFuture, Store, StoreError};
use deflect_config::DatabaseKind;
use serde::Deserialize;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// The PostgreSQL NOTIFY channel events travel on.
pub const PG_CHANNEL: &str = "deflect_events";
const NOTIFY_LIMIT: usize = 7900;
const BUS_CAPACITY: usize = 8192;
const REPLAY_LIMIT: i64 = 10_000;
/// How many of the latest events a new subscription (not resuming) treats as already seen.
const RECENT: i64 = 1_000;

/// An event as an item of a notification: in full, or only its id when too large.
fn notify_item(e: &Event) -> String {
    let full = serde_json::to_string(e).expect("an event serializes to JSON");
    if full.len() + 2 <= NOTIFY_LIMIT {
        full
    } else {
        serde_json::json!({ "id": e.id }).to_string()
    }
}

/// The NOTIFY payloads that carry `events`, in order: JSON arrays of as many events as fit.
fn notify_payloads<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::from("[");
    for e in events {
        let item = notify_item(e);
        if current.len() > 1 && current.len() + item.len() + 2 > NOTIFY_LIMIT {
            current.push(']');
            out.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&item);
    }
    if current.len() > 1 {
        current.push(']');
        out.push(current);
    }
    out
}

/// An event as a notification carries it: in full, or (too large for one) only its id, to be
/// read back from the log.
#[derive(Clone, Debug, PartialEq)]
enum Notified {
    Event(Event),
    ReadBack(i64),
}

/// The wire form of [`Notified`]: an event without a `kind` is only its id.
#[derive(Deserialize)]
struct NotifiedEvent {
    id: i64,
    #[serde(default)]
    conversation_id: Option<i64>,
    #[serde(default)]
    seq: i64,
    #[serde(default)]
    kind: Option<EventKind>,
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    at: i64,
}

/// The events of one notification's payload (an array; a single object is accepted too).
fn parse_notification(payload: &str) -> Result<Vec<Notified>, serde_json::Error> {
    let items: Vec<NotifiedEvent> = if payload.trim_start().starts_with('[') {
        serde_json::from_str(payload)?
    } else {
        vec![serde_json::from_str(payload)?]
    };
    Ok(items
        .into_iter()
        .map(|n| match n.kind {
            Some(kind) => Notified::Event(Event {
                id: n.id,
                conversation_id: n.conversation_id,
                seq: n.seq,
                kind,
                data: n.data,
                at: n.at,
            }),
            None => Notified::ReadBack(n.id),
        })
        .collect())
}

#[derive(Clone, Debug)]
enum BusItem {
    Event(Arc<Event>),
    /// An event too large for a notification: subscribers read it from the log.
    ReadBack(i64),
    /// Events may have been missed: subscribers replay from the log.
    Resync,
}

/// In-process fan-out of committed events.
#[derive(Clone, Debug)]
struct EventBus {
    tx: broadcast::Sender<BusItem>,
}

impl EventBus {
    fn new() -> Self {
        Self {
            tx: broadcast::channel(BUS_CAPACITY).0,
        }
    }

    fn publish(&self, e: Arc<Event>) {
        metrics::counter!("deflect_inbox_events_total").increment(1);
        // No subscriber is not an error.
        let _ = self.tx.send(BusItem::Event(e));
    }

    fn read_back(&self, id: i64) {
        metrics::counter!("deflect_inbox_events_total").increment(1);
        let _ = self.tx.send(BusItem::ReadBack(id));
    }

    fn resync(&self) {
        let _ = self.tx.send(BusItem::Resync);
    }

    fn subscribe(&self) -> broadcast::Receiver<BusItem> {
        self.tx.subscribe()
    }
}

/// The live feed of one inbox: the in-process bus its subscriptions read and, on PostgreSQL,
/// the relay that fills it from every process's notifications.
#[derive(Debug)]
pub(crate) struct Feed {
    store: Store,
    bus: EventBus,
    relay: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Feed {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            bus: EventBus::new(),
            relay: std::sync::Mutex::default(),
        }
    }

    /// The sink that brings committed events to subscribers: on SQLite the bus itself (after
    /// the commit, in commit order); on PostgreSQL NOTIFY (inside the transaction), which
    /// every process's relay brings to its bus.
    pub(crate) fn sink(&self) -> Arc<dyn EventSink> {
        match self.store.kind() {
            DatabaseKind::Sqlite => Arc::new(BusSink(self.bus.clone())),
            DatabaseKind::Postgres => Arc::new(NotifySink),
        }
    }

    /// PostgreSQL: starts relaying every process's events to this process's subscribers;
    /// returns once LISTEN is in place.
    pub(crate) async fn start_relay(&self) -> Result<(), StoreError> {
        let relay = relay(&self.store, self.bus.clone()).await?;
        if let Some(old) = self
            .relay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(relay)
        {
            old.abort();
        }
        Ok(())
    }

    /// Stops the relay.
    pub(crate) fn stop(&self) {
        if let Some(h) = self
            .relay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            h.abort();
        }
    }

    /// Events as they commit, after `after` when resuming (`None`: only new ones).
    pub(crate) async fn subscribe(&self, after: Option<i64>) -> Result<Subscription, StoreError> {
        Subscription::new(self.store.clone(), &self.bus, after).await
    }

    /// Publishes an event that is not logged (id 0, e.g. typing) to every subscriber: in
    /// this process (SQLite) or through NOTIFY to every process (PostgreSQL).
    pub(crate) async fn publish_ephemeral(&self, e: Event) -> Result<(), StoreError> {
        match self.store.kind() {
            DatabaseKind::Sqlite => self.bus.publish(Arc::new(e)),
            DatabaseKind::Postgres => notify(self.store.pool(), notify_payloads([&e])).await?,
        }
        Ok(())
    }
}

/// SQLite: publishes a transaction's events in-process once it committed.
#[derive(Debug)]
struct BusSink(EventBus);

impl EventSink for BusSink {
    fn committed(&self, events: &[Event]) {
        for e in events {
            self.0.publish(Arc::new(e.clone()));
        }
    }
}

/// PostgreSQL: sends a transaction's events with NOTIFY just before it commits (one
/// notification unless they exceed its payload limit); the commit delivers them.
#[derive(Debug)]
struct NotifySink;

impl EventSink for NotifySink {
    fn committing<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        events: &'a [Event],
    ) -> SinkFuture<'a> {
        Box::pin(notify(conn, notify_payloads(events)))
    }
}

/// Sends `payloads` on the events channel, in order, with one statement (PostgreSQL
/// evaluates a volatile function of the select list after the `ORDER BY`; and like
/// [`crate::store::json_rows`], the statement's text does not depend on how many there are).
async fn notify<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    payloads: Vec<String>,
) -> Result<(), StoreError> {
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_notify($1, r.value) FROM json_array_elements_text($2::json) \
         WITH ORDINALITY AS r(value, ord) ORDER BY r.ord",
    )
    .bind(PG_CHANNEL)
    .bind(serde_json::Value::from(payloads).to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// A live feed of events, optionally resumed after a known event id.
///
/// ```no_run
/// # async fn f(inbox: deflect_chat::Inbox) -> Result<(), deflect_chat::ChatError> {
/// let mut events = inbox.subscribe(Some(41)).await?; // the client last saw event 41
/// while let Some(event) = events.next().await? {
///     println!("{} {} #{}", event.id, event.kind, event.seq);
/// }
/// # Ok(()) }
/// ```
pub struct Subscription {
    store: Store,
    rx: broadcast::Receiver<BusItem>,
    backlog: VecDeque<Event>,
    /// Ids delivered from the log that may still arrive live.
    replayed: HashSet<i64>,
    last_id: i64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("last_id", &self.last_id)
            .field("backlog", &self.backlog.len())
            .finish()
    }
}

impl Subscription {
    async fn new(store: Store, bus: &EventBus, after: Option<i64>) -> Result<Self, StoreError> {
        // Subscribe first, then read the log: whatever commits in between arrives live and
        // is recognised as already delivered.
        let rx = bus.subscribe();
        let mut s = Self {
            store,
            rx,
            backlog: VecDeque::new(),
            replayed: HashSet::new(),
            last_id: after.unwrap_or(0),
        };
        match after {
            Some(_) => s.replay().await?,
            None => {
                // Only what commits from now on. The latest events may still be on their
                // way to this process (PostgreSQL: NOTIFY reaches the relay a moment after
                // the commit): they count as delivered, so they are skipped when they come.
                // (Not "every id up to the latest": on PostgreSQL an event with a lower id
                // may commit later.)
                let recent = repo::events::latest_ids(&s.store, RECENT).await?;
                s.last_id = recent.first().copied().unwrap_or(0);
                s.replayed.extend(recent);
            }
        }
        Ok(s)
    }

    async fn replay(&mut self) -> Result<(), StoreError> {
        let events = repo::events::after(&self.store, self.last_id, REPLAY_LIMIT).await?;
        if self.replayed.len() > 100_000 {
            self.replayed.clear();
        }
        for e in events {
            self.replayed.insert(e.id);
            self.backlog.push_back(e);
        }
        Ok(())
    }

    /// The next event; `None` once the inbox is closed.
    pub async fn next(&mut self) -> Result<Option<Event>, StoreError> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                self.last_id = self.last_id.max(e.id);
                return Ok(Some(e));
            }
            match self.rx.recv().await {
                Ok(BusItem::Event(e)) => {
                    if self.replayed.remove(&e.id) {
                        continue;
                    }
                    self.last_id = self.last_id.max(e.id);
                    return Ok(Some((*e).clone()));
                }
                Ok(BusItem::ReadBack(id)) => {
                    if self.replayed.remove(&id) {
                        continue;
                    }
                    // Too large for NOTIFY: read it back.
                    let Some(e) = repo::events::by_id(&self.store, id).await? else {
                        continue;
                    };
                    self.last_id = self.last_id.max(e.id);
                    return Ok(Some(e));
                }
                Ok(BusItem::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.replay().await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            }
        }
    }
}

/// PostgreSQL: LISTENs for events committed by any process and publishes them on `bus`;
/// returns once LISTEN is in place, with the task that relays.
async fn relay(store: &Store, bus: EventBus) -> Result<tokio::task::JoinHandle<()>, StoreError> {
    let mut listener = sqlx::postgres::PgListener::connect(store.url().expose()).await?;
    listener.listen(PG_CHANNEL).await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => match parse_notification(n.payload()) {
                    Ok(events) => {
                        for e in events {
                            match e {
                                Notified::Event(e) => bus.publish(Arc::new(e)),
                                Notified::ReadBack(id) => bus.read_back(id),
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(cause = %e, "unreadable event notification; replaying from the log");
                        bus.resync();
                    }
                },
                Ok(None) => {
                    tracing::warn!("event listener lost its database connection; reconnecting");
                    bus.resync();
                }
                Err(e) => {
                    tracing::warn!(cause = %e, "event listener failed; retrying");
                    bus.resync();
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(id: i64, text_len: usize) -> Event {
        Event {
            id,
            conversation_id: Some(7),
            seq: id,
            kind: EventKind::MessageCreated,
            data: serde_json::json!({ "body": "x".repeat(text_len) }),
            at: 1,
        }
    }

    #[test]
    fn notifications_carry_every_event_in_order_within_the_limit() {
        // Small ones share payloads; one too large for any payload travels as its id.
        let events: Vec<Event> = (1..=60)
            .map(|id| event(id, if id == 30 { 9_000 } else { 300 }))
            .collect();
        let payloads = notify_payloads(&events);
        assert!(
            payloads.len() > 1,
            "60 events of ~400 bytes need several payloads"
        );
        assert!(payloads.iter().all(|p| p.len() <= NOTIFY_LIMIT));
        let back: Vec<Notified> = payloads
            .iter()
            .flat_map(|p| parse_notification(p).unwrap())
            .collect();
        assert_eq!(back.len(), 60);
        for (sent, got) in events.iter().zip(&back) {
            if sent.id == 30 {
                assert_eq!(got, &Notified::ReadBack(30), "read back from the log by id");
            } else {
                assert_eq!(got, &Notified::Event(sent.clone()));
            }
        }
        assert!(notify_payloads(&[]).is_empty());
    }

    #[test]
    fn a_single_object_notification_is_still_read() {
        let e = event(5, 10);
        let back = parse_notification(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, vec![Notified::Event(e)]);
        assert!(parse_notification("not json").is_err());
    }
}
