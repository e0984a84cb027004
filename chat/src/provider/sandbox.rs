//! The sandbox provider: no external service. "Sending" accepts the message at once with a
//! local id; outgoing messages stay visible in the store ([`crate::Inbox::sandbox_outgoing`])
//! and a customer's reply is injected with [`crate::Inbox::sandbox_reply`], exactly as a
//! webhook delivery would arrive. It is the embedded default, so the whole product can be
//! tried with nothing but the binary.

use super::{Outgoing, Receipt, SendError, Sent};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Accepts every message.
#[derive(Clone, Debug, Default)]
pub struct SandboxClient {
    counter: Arc<AtomicU64>,
}

impl SandboxClient {
    /// Accepts one message.
    pub async fn send(&self, _to: &str, _message: &Outgoing) -> Result<Sent, SendError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Ok(Sent {
            external_id: Some(format!("sandbox.{}.{n}", crate::model::random_token(8))),
        })
    }

    /// Takes a read receipt or typing indicator: the sandbox customer has no phone to show
    /// it on.
    pub fn mark_read(&self, _message_id: &str, _typing: bool) -> Receipt {
        Receipt::Sent
    }
}
