//! WhatsApp calls' signalling: the `calls` webhook's updates go to whoever answers the calls
//! (the IVR, which the binary connects with [`route`](WhatsAppCalls::route)), and the call
//! actions it asks for go out through the account's Meta client.
//!
//! Nothing here is stored: a call lives in the IVR while it lasts, and its record comes back
//! through the call records (`calls`). An update for an account without `calling`, or before
//! anything answers calls, is dropped (and counted): Meta ends a call nobody accepts.
//!
//! Before an agent calls a customer, Meta is asked whether the business may
//! ([`permission`](WhatsAppCalls::permission)).
//!
//! Metrics: `deflect_whatsapp_call_updates_total{outcome}` (`routed`, `dropped`),
//! `deflect_whatsapp_call_actions_total{action, outcome}` (`sent`, `failed`; `action` is
//! also `call_permissions` for the permission query).

use crate::clock::Millis;
use crate::model::{ASK_FOR_CALLS, ChatError};
use crate::provider::meta_calls::{ActionLimit, CallAction, CallPermission, CallUpdate};
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

    /// Whether Meta lets `account`'s number call the customer `wa_id` at `now`, and why not
    /// (the limits reached); `None` when Meta cannot say: an account it does not serve, or
    /// no answer (logged).
    pub(crate) async fn permission(
        &self,
        account: &str,
        wa_id: &str,
        now: Millis,
    ) -> Option<Result<(), ChatError>> {
        let Some(provider::Client::Meta(client)) = self.providers.get(account) else {
            return None;
        };
        let result = client.call_permission(wa_id).await;
        let outcome = if result.is_ok() { "sent" } else { "failed" };
        metrics::counter!("deflect_whatsapp_call_actions_total", "action" => "call_permissions", "outcome" => outcome)
            .increment(1);
        match result {
            Ok(answer) if answer.permission.status.is_empty() && answer.actions.is_empty() => {
                tracing::warn!(account, "WhatsApp's call permission answer says nothing");
                None
            }
            Ok(answer) => Some(may_call(&answer, now)),
            Err(e) => {
                tracing::warn!(account, cause = %e, "WhatsApp did not say whether the customer may be called");
                None
            }
        }
    }
}

/// Whether Meta's `answer` lets the business call the customer at `now` — its
/// `start_call` action, or the permission itself when it lists no actions; why not
/// otherwise, naming the limits reached.
fn may_call(answer: &CallPermission, now: Millis) -> Result<(), ChatError> {
    let permission = &answer.permission;
    let expired = permission.expiration_time.is_none_or(|t| t * 1000 <= now);
    let granted = match permission.status.as_str() {
        "permanent" => true,
        "temporary" => !expired,
        _ => false,
    };
    let call = answer.action("start_call");
    if call.map_or(granted, |c| c.can_perform_action) {
        return Ok(());
    }
    let why = match (permission.status.as_str(), call) {
        ("temporary", _) if expired => {
            format!(
                "the customer's permission to call has expired (WhatsApp says so): {ASK_FOR_CALLS} again"
            )
        }
        ("permanent" | "temporary", call) => format!(
            "WhatsApp allows no call to this customer now{}",
            call.map(|c| reached(&c.limits, "calls"))
                .unwrap_or_default()
        ),
        _ => {
            let request = answer.action("send_call_permission_request");
            let mut why =
                format!("the customer has not allowed calls (WhatsApp says so): {ASK_FOR_CALLS}");
            if let Some(r) = request.filter(|r| !r.can_perform_action) {
                why += &format!(
                    "; WhatsApp allows no request now{}",
                    reached(&r.limits, "requests")
                );
            }
            why
        }
    };
    Err(ChatError::Conflict(why))
}

/// The limits of `limits` that are reached, as `: 5 of 5 calls in 24h, until <time>`
/// (`what`: what is counted); empty when none is.
fn reached(limits: &[ActionLimit], what: &str) -> String {
    let reached: Vec<String> = (limits.iter())
        .filter(|l| l.current_usage >= l.max_allowed)
        .map(|l| {
            let period = (l.time_period.parse::<jiff::Span>())
                .map_or_else(|_| l.time_period.clone(), |s| format!("{s:#}"));
            let until = (l.limit_expiration_time)
                .and_then(|t| jiff::Timestamp::from_second(t).ok())
                .map(|t| format!(", until {t}"))
                .unwrap_or_default();
            format!(
                "{} of {} {what} in {period}{until}",
                l.current_usage, l.max_allowed
            )
        })
        .collect();
    if reached.is_empty() {
        String::new()
    } else {
        format!(": {}", reached.join("; "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Millis = 1_800_000_000_000;

    fn answer(v: serde_json::Value) -> CallPermission {
        serde_json::from_value(v).unwrap()
    }

    fn refusal(v: serde_json::Value) -> String {
        match may_call(&answer(v), NOW) {
            Err(ChatError::Conflict(why)) => why,
            other => panic!("a refusal, not {other:?}"),
        }
    }

    #[test]
    fn metas_start_call_decides() {
        let allowed = json!({"permission": {"status": "permanent"},
            "actions": [{"action_name": "start_call", "can_perform_action": true}]});
        assert!(may_call(&answer(allowed), NOW).is_ok());
        // A permission deflect never saw (given in the business profile) is Meta's to know.
        let temporary =
            json!({"permission": {"status": "temporary", "expiration_time": NOW / 1000 + 60}});
        assert!(may_call(&answer(temporary), NOW).is_ok());
        let why =
            refusal(json!({"permission": {"status": "temporary", "expiration_time": NOW / 1000}}));
        assert!(why.contains("expired"), "{why}");
    }

    #[test]
    fn a_refusal_names_the_limits_reached() {
        let why = refusal(json!({
            "permission": {"status": "permanent"},
            "actions": [{"action_name": "start_call", "can_perform_action": false, "limits": [
                {"time_period": "PT24H", "max_allowed": 5, "current_usage": 5,
                 "limit_expiration_time": 1_800_003_600},
                {"time_period": "P7D", "max_allowed": 20, "current_usage": 9}]}]}));
        assert_eq!(
            why,
            "WhatsApp allows no call to this customer now: 5 of 5 calls in 24h, until \
             2027-01-15T09:00:00Z"
        );
        let why = refusal(json!({
            "permission": {"status": "no_permission"},
            "actions": [
                {"action_name": "start_call", "can_perform_action": false},
                {"action_name": "send_call_permission_request", "can_perform_action": false,
                 "limits": [{"time_period": "P7D", "max_allowed": 2, "current_usage": 2}]}]}));
        assert!(
            why.starts_with("the customer has not allowed calls"),
            "{why}"
        );
        assert!(why.contains("call_permission_request"), "{why}");
        assert!(
            why.ends_with("; WhatsApp allows no request now: 2 of 2 requests in 7d"),
            "{why}"
        );
    }
}
