//! WhatsApp calls' signalling: the `calls` webhook's updates go to whoever answers the calls
//! (the IVR, which the binary connects with [`route`](WhatsAppCalls::route)), and the call
//! actions it asks for go out through the account's Meta client.
//!
//! Nothing here is stored: a call lives in the IVR while it lasts, and its record comes back
//! through the call records (`calls`). An update for an account without `calling`, or before
//! anything answers calls, is dropped (and counted): Meta ends a call nobody accepts.
//!
//! Metrics: `deflect_whatsapp_call_updates_total{outcome}` (`routed`, `dropped`),
//! `deflect_whatsapp_call_actions_total{action, outcome}` (`sent`, `failed`).

use crate::provider::meta_calls::{CallAction, CallUpdate};
use crate::provider::{self, SendError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// A call update for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountCall {
    /// The account (`[[whatsapp.accounts]]` name) the call reached.
    pub account: String,
    /// What happened.
    pub update: CallUpdate,
}

/// The signalling service (see the module docs).
#[derive(Clone)]
pub(crate) struct WhatsAppCalls {
    providers: Arc<HashMap<String, provider::Client>>,
    /// Accounts with `calling = true`.
    calling: Arc<HashSet<String>>,
    sink: Arc<OnceLock<mpsc::UnboundedSender<AccountCall>>>,
}

impl WhatsAppCalls {
    pub(crate) fn new(
        providers: Arc<HashMap<String, provider::Client>>,
        accounts: &[deflect_config::AccountConfig],
    ) -> Self {
        let calling = accounts
            .iter()
            .filter(|a| a.calling)
            .map(|a| a.name.clone());
        Self {
            providers,
            calling: Arc::new(calling.collect()),
            sink: Arc::default(),
        }
    }

    /// Sends every update of an account with calling to `sink` from now on. Only the first
    /// sink is taken (`false` for another).
    pub(crate) fn route(&self, sink: mpsc::UnboundedSender<AccountCall>) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// An update that arrived (signature checked) for `account`.
    pub(crate) fn update(&self, account: &str, update: CallUpdate) {
        let routed = self.calling.contains(account)
            && self.sink.get().is_some_and(|sink| {
                sink.send(AccountCall {
                    account: account.to_owned(),
                    update: update.clone(),
                })
                .is_ok()
            });
        if !routed {
            tracing::debug!(account, call_id = %update.call_id, "WhatsApp call update dropped: calling is off for the account");
        }
        let outcome = if routed { "routed" } else { "dropped" };
        metrics::counter!("deflect_whatsapp_call_updates_total", "outcome" => outcome).increment(1);
    }

    /// Sends `action` for `account`'s number; a `connect` is answered with the new call's id.
    pub(crate) async fn act(
        &self,
        account: &str,
        action: &CallAction<'_>,
    ) -> Result<Option<String>, SendError> {
        let Some(provider::Client::Meta(client)) = self.providers.get(account) else {
            return Err(SendError::Rejected {
                code: None,
                message: format!("account {account:?} is not a Meta account"),
            });
        };
        let result = client.call(action).await;
        let outcome = if result.is_ok() { "sent" } else { "failed" };
        metrics::counter!("deflect_whatsapp_call_actions_total", "action" => action.name(), "outcome" => outcome)
            .increment(1);
        result
    }
}
