//! Read receipts and the typing indicator on WhatsApp: when an agent opens a conversation
//! its customer's messages are marked read on their phone, and while an agent types the
//! customer sees that someone is typing.
//!
//! Both go to the customer's latest message (marking one read marks the earlier ones too):
//! Meta takes `status: read` with an optional `typing_indicator` on the messages endpoint;
//! Twilio shows the typing indicator (and marks that message read with it) but has no read
//! receipt alone. They are best effort — never retried, never queued: a receipt that fails
//! is logged and counted, and the next one covers it.
//!
//! A receipt already sent for the same message is not sent again, and the typing indicator
//! (which WhatsApp shows for ~25 s) at most once per [`TYPING_REFRESH`] per conversation:
//! an agent's keystrokes do not become a stream of API calls. What was sent is remembered
//! per process (a second process may send one receipt again, which is harmless).
//!
//! Metric: `deflect_inbox_receipts_total{kind, outcome}` (`read`, `typing`; `sent`,
//! `not_supported`, `failed`).

use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{Channel, ChatError};
use crate::provider::{self, Provider, Receipt};
use crate::repo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How often the typing indicator is sent again while an agent keeps typing (it lasts ~25 s
/// on the customer's phone).
pub const TYPING_REFRESH: Millis = 20_000;

/// Conversations remembered at most; past it the memory starts over (a receipt may then be
/// sent once more).
const REMEMBERED: usize = 10_000;

/// What was last sent to one conversation's customer.
#[derive(Default)]
struct Sent {
    /// The provider id of the message last marked read.
    read: Option<String>,
    /// When the typing indicator was last sent.
    typing_at: Option<Millis>,
}

/// The receipts service: the inbox's context and the accounts' providers.
#[derive(Clone)]
pub(crate) struct Receipts {
    ctx: Arc<Ctx>,
    providers: Arc<HashMap<String, provider::Client>>,
    sent: Arc<Mutex<HashMap<i64, Sent>>>,
}

/// Which signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptKind {
    /// The customer's messages read.
    Read,
    /// Read, and someone is typing.
    Typing,
}

impl ReceiptKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Typing => "typing",
        }
    }
}

impl Receipts {
    pub(crate) fn new(ctx: Arc<Ctx>, providers: Arc<HashMap<String, provider::Client>>) -> Self {
        Self {
            ctx,
            providers,
            sent: Arc::default(),
        }
    }

    /// Sends `kind` for conversation `id` to its customer's latest WhatsApp message, unless
    /// it was sent already (see the module documentation). `None`: nothing to send — not a
    /// WhatsApp conversation, no message from the customer yet, or sent already.
    pub(crate) async fn send(
        &self,
        id: i64,
        kind: ReceiptKind,
    ) -> Result<Option<Receipt>, ChatError> {
        let Some(c) = repo::conversations::get(self.ctx.store(), id).await? else {
            return Ok(None);
        };
        let provider = c.account.as_deref().and_then(|a| self.providers.get(a));
        let (Channel::Whatsapp, Some(provider)) = (c.channel, provider) else {
            return Ok(None);
        };
        let Some(message) = repo::messages::latest_from_customer(self.ctx.store(), id).await?
        else {
            return Ok(None);
        };
        if !self.claim(id, &message, kind) {
            return Ok(None);
        }
        let typing = kind == ReceiptKind::Typing;
        let outcome = provider.mark_read(&message, typing).await;
        let label = match &outcome {
            Ok(Receipt::Sent) => "sent",
            Ok(Receipt::NotSupported) => "not_supported",
            Err(e) => {
                tracing::warn!(conversation_id = id, kind = kind.as_str(), error = %e, "the provider refused a read receipt");
                self.forget(id, kind);
                "failed"
            }
        };
        metrics::counter!("deflect_inbox_receipts_total", "kind" => kind.as_str(), "outcome" => label)
            .increment(1);
        Ok(outcome.ok())
    }

    /// Whether `kind` for `message` of conversation `id` is due, recording it as sent.
    fn claim(&self, id: i64, message: &str, kind: ReceiptKind) -> bool {
        let now = self.ctx.now();
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.len() >= REMEMBERED && !sent.contains_key(&id) {
            sent.clear();
        }
        let s = sent.entry(id).or_default();
        let read = s.read.as_deref() == Some(message);
        let due = match kind {
            ReceiptKind::Read => !read,
            ReceiptKind::Typing => !read || s.typing_at.is_none_or(|t| now - t >= TYPING_REFRESH),
        };
        if due {
            s.read = Some(message.to_string());
            if kind == ReceiptKind::Typing {
                s.typing_at = Some(now);
            }
        }
        due
    }

    /// Forgets a receipt that failed, so the next attempt sends it.
    fn forget(&self, id: i64, kind: ReceiptKind) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = sent.get_mut(&id) {
            s.read = None;
            if kind == ReceiptKind::Typing {
                s.typing_at = None;
            }
        }
    }
}
