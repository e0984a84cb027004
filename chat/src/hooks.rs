//! Outgoing webhooks: events POSTed as JSON to the endpoints of `[[http.webhooks]]`, signed
//! with HMAC-SHA256, retried with back-off, in order per conversation.
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

use crate::clock::{Millis, ms};
use crate::context::Ctx;
use crate::model::{ChatError, Event, EventKind};
use crate::repo;
use crate::repo::hook_deliveries::Claimed as ClaimedHook;
use crate::store::{EventSink, SinkFuture};
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

/// An endpoint as the event log sees it: which webhook types it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HookTarget {
    endpoint: String,
    events: Vec<String>,
}

impl HookTarget {
    fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind)
    }
}

/// The webhook type of a logged event, if it is one endpoints can subscribe to:
/// `conversation.created|queued|assigned|closed|reminder`, `message.received` (from the customer),
/// `message.sent` (to the customer, when the provider accepted it — a web chat's message at
/// once; internal notes are never sent), `message.delivered`, `message.read`,
/// `message.failed` (delivery failed), `message.attachments` (a customer's files stored or
/// failed: the message's whole list), `deflection.sent` (the template after a call left),
/// `conversation.labelled` (a label put on or taken off).
pub fn hook_type(e: &Event) -> Option<&'static str> {
    Some(match &e.kind {
        EventKind::ConversationCreated => "conversation.created",
        EventKind::ConversationQueued => "conversation.queued",
        EventKind::ConversationAssigned => "conversation.assigned",
        EventKind::ConversationClosed => "conversation.closed",
        EventKind::ConversationHandedOver => "conversation.handed_over",
        EventKind::ConversationReminder => "conversation.reminder",
        EventKind::DeflectionSent => "deflection.sent",
        EventKind::ConversationRated => "conversation.rated",
        EventKind::MessageAttachments => "message.attachments",
        EventKind::ConversationLabelled => "conversation.labelled",
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

    async fn claim_hooks(&self) -> Result<Vec<ClaimedHook>, ChatError> {
        let now = self.ctx.now();
        let mut tx = self.ctx.store().write().await?;
        let lease_until = now + ms(LEASE);
        let out = repo::hook_deliveries::claim_due(&mut tx, now, BATCH, lease_until).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn post_hook(&self, h: &ClaimedHook) -> Result<(), String> {
        let settings = self.ctx.file_settings();
        let Some(cfg) = settings.webhooks.iter().find(|w| w.name == h.endpoint) else {
            return Err("the endpoint is no longer configured".into());
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
        result: Result<(), String>,
    ) -> Result<Outcome, ChatError> {
        let now = self.ctx.now();
        let max = self
            .ctx
            .settings()
            .webhooks
            .iter()
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
        let claimed = self.claim_hooks().await?;
        let mut pass = HookPass::default();
        let mut set = tokio::task::JoinSet::new();
        for h in claimed {
            let inbox = self.clone();
            set.spawn(async move {
                let r = inbox.post_hook(&h).await;
                inbox.finish_hook(&h, r).await
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
        Ok(pass)
    }

    /// Webhook deliveries by endpoint and state (`pending`, `sending`, `done`, `dead`).
    pub(crate) async fn depth(&self) -> Result<HashMap<(String, String), i64>, ChatError> {
        Ok(repo::hook_deliveries::depth(self.ctx.store()).await?)
    }

    async fn next_hook_due(&self) -> Result<Option<Millis>, ChatError> {
        Ok(repo::hook_deliveries::next_due(self.ctx.store()).await?)
    }

    /// The worker: delivers what is due until `stop` turns true.
    pub(crate) async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if self.ctx.file_settings().webhooks.is_empty() {
            return;
        }
        let wake = self.wake.clone();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.send_due().await {
                Ok(p) if p.delivered + p.retried + p.dead > 0 => continue,
                Ok(_) => self
                    .ctx
                    .until_due(self.next_hook_due().await.ok().flatten()),
                Err(e) => {
                    tracing::warn!(cause = %e, "webhook worker: database error; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
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

/// Writes the delivery rows of each logged event inside its transaction, and wakes the worker
/// once that transaction committed.
#[derive(Debug)]
struct HookSink {
    targets: Vec<HookTarget>,
    wake: Arc<tokio::sync::Notify>,
}

impl HookSink {
    /// The endpoints that take `e`, with its webhook type.
    fn takers<'a>(&'a self, e: &Event) -> Option<(&'static str, Vec<&'a HookTarget>)> {
        let kind = hook_type(e)?;
        let takers: Vec<&HookTarget> = self.targets.iter().filter(|t| t.wants(kind)).collect();
        (!takers.is_empty()).then_some((kind, takers))
    }
}

impl EventSink for HookSink {
    fn appended<'a>(&'a self, conn: &'a mut sqlx::AnyConnection, e: &'a Event) -> SinkFuture<'a> {
        Box::pin(async move {
            let Some((kind, takers)) = self.takers(e) else {
                return Ok(());
            };
            let body = hook_body(kind, e);
            for t in takers {
                repo::hook_deliveries::insert(conn, &t.endpoint, e, kind, &body).await?;
            }
            Ok(())
        })
    }

    fn committed(&self, events: &[Event]) {
        if events.iter().any(|e| self.takers(e).is_some()) {
            self.wake.notify_one();
        }
    }
}

/// The sink that writes the deliveries of the endpoints of `[[http.webhooks]]` and wakes
/// `wake` for them; none without endpoints.
pub(crate) fn sink(
    settings: &crate::InboxSettings,
    wake: Arc<tokio::sync::Notify>,
) -> Option<Arc<dyn EventSink>> {
    let targets: Vec<HookTarget> = settings
        .webhooks
        .iter()
        .map(|w| HookTarget {
            endpoint: w.name.clone(),
            events: w.events.clone(),
        })
        .collect();
    if targets.is_empty() {
        return None;
    }
    Some(Arc::new(HookSink { targets, wake }))
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
