//! Outgoing webhooks: events POSTed as JSON to the endpoints of `[[http.webhooks]]` and those
//! admins add in Settings (`crate::Inbox::add_webhook`), signed with HMAC-SHA256, retried
//! with back-off, in order per conversation.
//!
//! Durable: a delivery row is written in the same transaction as the logged event it carries
//! (the store hands it to a sink, `crate::store::EventSink`), so a committed event is delivered even across a crash, and an
//! event that did not commit never is. A worker ([`crate::Inbox::send_due_hooks`]) claims due rows
//! — never a conversation's row while an earlier one of that conversation and endpoint is
//! still pending, so each endpoint sees a conversation's events in order — and marks them
//! `done`, or retries them (1 s doubling to 10 min) until `max_attempts`, then `dead`.
//! Claims are leased (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so with several processes
//! each delivery is sent by one of them (at least once: a process dying mid-request sends
//! it again after the lease).
//!
//! The request: `POST <url>`, `Content-Type: application/json`, `X-Deflect-Event: <type>`,
//! `X-Deflect-Delivery: <delivery id>`, and `X-Deflect-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256(signing_secret, "<t>.<body>")>` — the timestamp is signed so a receiver can
//! refuse replays ([`verify_signature`]). The body:
//! `{"id": <event id>, "type": "message.received", "at": <ms>, "conversation_id": 7, "data": {…}}`.
//! Any 2xx answer is success.
//!
//! Which endpoints there are is read in the transaction that needs it (the event's, the
//! worker's claim): the configured ones and the enabled API ones, cached by revision
//! (`crate::context::HookEndpoints`), so an endpoint added in one process gets the next
//! event's delivery in every process. A delivery whose endpoint is gone (deleted, disabled,
//! or no longer in the configuration) is given up, never posted. With no endpoint at all the
//! worker sleeps until a committed event wrote a delivery: it costs nothing.

use crate::clock::{Millis, ms};
use crate::context::{Ctx, HookEndpoints};
use crate::model::{ChatError, Event, EventKind};
use crate::repo;
use crate::repo::hook_deliveries::Claimed as ClaimedHook;
use crate::store::{EventSink, SinkFuture};
use deflect_config::WebhookConfig;
use hmac::{KeyInit, Mac};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The longest back-off between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);
const LEASE: Duration = Duration::from_secs(120);
const BATCH: i64 = 64;

/// The endpoints of one worker pass, as of its claim.
type Endpoints = Arc<Vec<WebhookConfig>>;

/// The webhook type of a logged event, if it is one endpoints can subscribe to:
/// `conversation.created|queued|assigned|closed|reminder`, `message.received` (from the customer),
/// `message.sent` (to the customer, when the provider accepted it — a web chat's message at
/// once; internal notes are never sent), `message.delivered`, `message.read`,
/// `message.failed` (delivery failed), `message.attachments` (a customer's files stored or
/// failed: the message's whole list), `deflection.sent` (the template after a call left),
/// `conversation.labelled` (a label put on or taken off), `conversation.relay` (a relayed
/// conversation offered to, accepted or rejected by, or ended by an agent on their WhatsApp),
/// `call.finished` (a call's record: every call the IVR took, whatever its outcome).
pub fn hook_type(e: &Event) -> Option<&'static str> {
    Some(match &e.kind {
        EventKind::ConversationCreated => "conversation.created",
        EventKind::ConversationQueued => "conversation.queued",
        EventKind::ConversationAssigned => "conversation.assigned",
        EventKind::ConversationClosed => "conversation.closed",
        EventKind::ConversationHandedOver => "conversation.handed_over",
        EventKind::ConversationReminder => "conversation.reminder",
        EventKind::DeflectionSent => "deflection.sent",
        EventKind::CallFinished => "call.finished",
        EventKind::ConversationRated => "conversation.rated",
        EventKind::MessageAttachments => "message.attachments",
        EventKind::ConversationLabelled => "conversation.labelled",
        EventKind::ConversationRelay => "conversation.relay",
        EventKind::MessageCreated => {
            let m = &e.data["message"];
            match (m["direction"].as_str(), m["status"].as_str()) {
                _ if m["internal"].as_bool() == Some(true) => return None,
                (Some("in"), _) => "message.received",
                // Queued for a provider: `message.sent` comes with its acceptance.
                (Some("out"), Some("sent")) => "message.sent",
                _ => return None,
            }
        }
        EventKind::MessageStatus => match e.data["status"].as_str() {
            Some("sent") => "message.sent",
            Some("delivered") => "message.delivered",
            Some("read") => "message.read",
            Some("failed") => "message.failed",
            _ => return None,
        },
        _ => return None,
    })
}

/// The JSON body sent for an event.
pub fn hook_body(kind: &str, e: &Event) -> String {
    json!({
        "id": e.id,
        "type": kind,
        "at": e.at,
        "conversation_id": e.conversation_id,
        "data": e.data,
    })
    .to_string()
}

/// The `X-Deflect-Signature` value of `body` sent at `t` (unix seconds).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks an `X-Deflect-Signature` header over the raw `body`, refusing timestamps more
/// than `tolerance` seconds away from `now` (unix seconds). Constant-time comparison.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance {
        return false;
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// What one pass of the webhook worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HookPass {
    /// Answered 2xx.
    pub delivered: usize,
    /// To be retried.
    pub retried: usize,
    /// Given up.
    pub dead: usize,
}

/// The webhook service: the inbox's context, the HTTP client deliveries go out with, and
/// what wakes the worker when a committed event gave it work. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Hooks {
    ctx: Arc<Ctx>,
    http: reqwest::Client,
    wake: Arc<Notify>,
}

impl Hooks {
    /// The webhook service of `ctx`'s endpoints; `wake` is the one its sink notifies.
    pub(crate) fn new(ctx: Arc<Ctx>, http: reqwest::Client, wake: Arc<Notify>) -> Self {
        Self { ctx, http, wake }
    }

    fn hook_backoff(attempts: i64) -> Millis {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        ms(Duration::from_secs(1)
            .saturating_mul(2u32.saturating_pow(exp))
            .min(MAX_BACKOFF))
    }

    /// Claims the due deliveries, with the endpoints as of the claim.
    async fn claim_hooks(&self) -> Result<(Vec<ClaimedHook>, Endpoints), ChatError> {
        let now = self.ctx.now();
        let mut tx = self.ctx.store().write().await?;
        let lease_until = now + ms(LEASE);
        let out = repo::hook_deliveries::claim_due(&mut tx, now, BATCH, lease_until).await?;
        // Read after the claim: at least as new as the endpoint of any delivery claimed.
        let endpoints = self.ctx.hook_endpoints().current(tx.conn()).await?;
        tx.commit().await?;
        Ok((out, endpoints))
    }

    async fn post_hook(&self, h: &ClaimedHook, endpoints: &[WebhookConfig]) -> Result<(), String> {
        let Some(cfg) = endpoints.iter().find(|w| w.name == h.endpoint) else {
            return Err("the endpoint was deleted or disabled, or is no longer configured".into());
        };
        let (Some(url), Some(secret)) = (&cfg.url, &cfg.signing_secret) else {
            return Err("the endpoint has no URL or signing secret".into());
        };
        let t = self.ctx.now() / 1000;
        let started = std::time::Instant::now();
        let res = self
            .http
            .post(url.clone())
            .timeout(cfg.timeout)
            .header("content-type", "application/json")
            .header("x-deflect-event", &h.kind)
            .header("x-deflect-delivery", h.id.to_string())
            .header(
                "x-deflect-signature",
                sign(secret.expose(), t, h.body.as_bytes()),
            )
            .body(h.body.clone())
            .send()
            .await;
        metrics::histogram!("deflect_hooks_request_seconds", "endpoint" => h.endpoint.clone())
            .record(started.elapsed().as_secs_f64());
        match res {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("answered {}", r.status())),
            Err(e) if e.is_timeout() => Err("timed out".into()),
            Err(e) if e.is_connect() => Err("could not connect".into()),
            Err(_) => Err("the request failed".into()),
        }
    }

    async fn finish_hook(
        &self,
        h: &ClaimedHook,
        endpoints: &[WebhookConfig],
        result: Result<(), String>,
    ) -> Result<Outcome, ChatError> {
        let now = self.ctx.now();
        // An endpoint that is gone: given up at once.
        let max = (endpoints.iter())
            .find(|w| w.name == h.endpoint)
            .map_or(1, |w| i64::from(w.max_attempts));
        // Through the store's writer, as every write: on SQLite a write beside it would wait
        // in the busy handler and could time out, leaving the delivery to be sent again.
        let mut tx = self.ctx.store().write().await?;
        let outcome = match &result {
            Ok(()) => {
                repo::hook_deliveries::set_done(&mut tx, h.id, now).await?;
                Outcome::Delivered
            }
            Err(e) if h.attempts < max => {
                tracing::warn!(endpoint = %h.endpoint, delivery = h.id, attempt = h.attempts, cause = %e, "webhook delivery failed; will retry");
                let due_at = now + Self::hook_backoff(h.attempts);
                repo::hook_deliveries::set_retry(&mut tx, h.id, due_at, e).await?;
                Outcome::Retried
            }
            Err(e) => {
                tracing::warn!(endpoint = %h.endpoint, delivery = h.id, attempts = h.attempts, cause = %e, "webhook delivery given up");
                repo::hook_deliveries::set_dead(&mut tx, h.id, e).await?;
                Outcome::Dead
            }
        };
        tx.commit().await?;
        metrics::counter!("deflect_hooks_deliveries_total", "endpoint" => h.endpoint.clone(), "outcome" => outcome.as_str())
            .increment(1);
        Ok(outcome)
    }

    /// Claims and sends the webhook deliveries that are due (one per conversation and
    /// endpoint at a time); the worker calls this in a loop, tests call it directly.
    pub(crate) async fn send_due(&self) -> Result<HookPass, ChatError> {
        Ok(self.pass().await?.0)
    }

    /// One pass of [`Hooks::send_due`], and how many endpoints there were.
    async fn pass(&self) -> Result<(HookPass, usize), ChatError> {
        let (claimed, endpoints) = self.claim_hooks().await?;
        let mut pass = HookPass::default();
        let mut set = tokio::task::JoinSet::new();
        for h in claimed {
            let inbox = self.clone();
            let endpoints = endpoints.clone();
            set.spawn(async move {
                let r = inbox.post_hook(&h, &endpoints).await;
                inbox.finish_hook(&h, &endpoints, r).await
            });
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(Outcome::Delivered)) => pass.delivered += 1,
                Ok(Ok(Outcome::Retried)) => pass.retried += 1,
                Ok(Ok(Outcome::Dead)) => pass.dead += 1,
                // The row stays `sending` and is taken again when its lease runs out.
                Ok(Err(e)) => tracing::error!(cause = %e, "recording a webhook delivery failed"),
                Err(e) => tracing::error!(cause = %e, "a webhook delivery task failed"),
            }
        }
        Ok((pass, endpoints.len()))
    }

    /// Webhook deliveries by endpoint and state (`pending`, `sending`, `done`, `dead`).
    pub(crate) async fn depth(&self) -> Result<HashMap<(String, String), i64>, ChatError> {
        Ok(repo::hook_deliveries::depth(self.ctx.store()).await?)
    }

    async fn next_hook_due(&self) -> Result<Option<Millis>, ChatError> {
        Ok(repo::hook_deliveries::next_due(self.ctx.store()).await?)
    }

    /// The worker: delivers what is due until `stop` turns true. Without any endpoint and
    /// any delivery waiting it sleeps until a committed event wrote one (an endpoint added
    /// later, here or in another process, is read by the event's transaction).
    pub(crate) async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let wake = self.wake.clone();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.pass().await {
                Ok((p, _)) if p.delivered + p.retried + p.dead > 0 => continue,
                Ok((_, endpoints)) => match self.next_hook_due().await {
                    Ok(None) if endpoints == 0 => None,
                    due => Some(self.ctx.until_due(due.ok().flatten())),
                },
                Err(e) => {
                    tracing::warn!(cause = %e, "webhook worker: database error; retrying");
                    Some(Duration::from_secs(1))
                }
            };
            let timer = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = timer => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Retried,
    Dead,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retried => "retried",
            Self::Dead => "dead",
        }
    }
}

/// Writes the delivery rows of a transaction's logged events inside it, just before it
/// commits (the endpoints read once, as of that transaction), and wakes the worker once it
/// committed.
#[derive(Debug)]
struct HookSink {
    endpoints: Arc<HookEndpoints>,
    wake: Arc<tokio::sync::Notify>,
}

impl EventSink for HookSink {
    fn committing<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        events: &'a [Event],
    ) -> SinkFuture<'a> {
        Box::pin(async move {
            if events.iter().all(|e| hook_type(e).is_none()) {
                return Ok(());
            }
            let endpoints = self.endpoints.current(&mut *conn).await?;
            for e in events {
                let Some(kind) = hook_type(e) else {
                    continue;
                };
                let mut body = None;
                for w in endpoints.iter() {
                    if !w.wants(kind) {
                        continue;
                    }
                    let body: &str = body.get_or_insert_with(|| hook_body(kind, e));
                    repo::hook_deliveries::insert(&mut *conn, &w.name, e, kind, body).await?;
                }
            }
            Ok(())
        })
    }

    fn committed(&self, events: &[Event]) {
        // The endpoints the transaction read, or newer ones: at worst a wake-up for nothing.
        let endpoints = self.endpoints.newest();
        let taken = |e: &Event| hook_type(e).is_some_and(|k| endpoints.iter().any(|w| w.wants(k)));
        if events.iter().any(taken) {
            self.wake.notify_one();
        }
    }
}

/// The sink that writes the deliveries of `endpoints` (configured and added) and wakes
/// `wake` for them.
pub(crate) fn sink(
    endpoints: Arc<HookEndpoints>,
    wake: Arc<tokio::sync::Notify>,
) -> Arc<dyn EventSink> {
    Arc::new(HookSink { endpoints, wake })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn signatures_verify_and_refuse_tampering_and_replays() {
        let body = br#"{"id":1}"#;
        let h = sign("0123456789abcdef", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify_signature(
            "0123456789abcdef",
            &h,
            body,
            1_700_000_010,
            300
        ));
        assert!(!verify_signature(
            "0123456789abcdef",
            &h,
            b"{\"id\":2}",
            1_700_000_010,
            300
        ));
        assert!(!verify_signature(
            "another secret!!",
            &h,
            body,
            1_700_000_010,
            300
        ));
        assert!(!verify_signature(
            "0123456789abcdef",
            &h,
            body,
            1_700_001_000,
            300
        ));
        assert!(!verify_signature(
            "0123456789abcdef",
            "v1=00",
            body,
            1_700_000_000,
            300
        ));
    }

    #[test]
    fn notes_are_never_sent_and_directions_are_named() {
        let e = |data: Value| Event {
            id: 1,
            conversation_id: Some(1),
            seq: 1,
            kind: EventKind::MessageCreated,
            data,
            at: 0,
        };
        assert_eq!(
            hook_type(&e(
                json!({"message": {"internal": true, "direction": "out"}})
            )),
            None
        );
        assert_eq!(
            hook_type(&e(
                json!({"message": {"internal": false, "direction": "in"}})
            )),
            Some("message.received")
        );
        // Queued for WhatsApp: nothing until the provider accepts it; a web chat's message
        // is sent as it is stored.
        assert_eq!(
            hook_type(&e(
                json!({"message": {"internal": false, "direction": "out", "status": "queued"}})
            )),
            None
        );
        assert_eq!(
            hook_type(&e(
                json!({"message": {"internal": false, "direction": "out", "status": "sent"}})
            )),
            Some("message.sent")
        );
        let status = |s: &str| Event {
            kind: EventKind::MessageStatus,
            ..e(json!({"message_id": 1, "status": s}))
        };
        assert_eq!(hook_type(&status("sent")), Some("message.sent"));
        assert_eq!(hook_type(&status("delivered")), Some("message.delivered"));
        assert_eq!(hook_type(&status("read")), Some("message.read"));
        assert_eq!(hook_type(&status("failed")), Some("message.failed"));
        // A retry of a rate-limited send is no webhook; a customer's files being stored is.
        assert_eq!(hook_type(&status("queued")), None);
        let files = Event {
            kind: EventKind::MessageAttachments,
            ..e(json!({"message_id": 1, "attachments": []}))
        };
        assert_eq!(hook_type(&files), Some("message.attachments"));
    }
}
