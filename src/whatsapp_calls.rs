//! WhatsApp calls: the `calls` webhook's updates, which the inbox passes on, answered by the
//! IVR (`CallService::answer_webrtc`), and what the IVR answers sent back as Graph API call
//! actions — `pre_accept` then `accept` with its SDP answer, `reject`, `terminate`.
//!
//! Agents' calls to customers ([`WhatsAppPlacer`], the inbox's `CallPlacer`) go the other
//! way: the IVR's media offers (`CallService::place_webrtc`), `connect` with `to` places
//! the call and names it, and the webhook's `RINGING` status, `connect` with Meta's answer
//! and `terminate` reach it.
//!
//! Each call's actions go out in order on a task of its own, so a slow Graph API holds up
//! only its call. An `accept` Meta refuses ends the call in the IVR as the customer hanging
//! up would.

use deflect_chat::Inbox;
use deflect_chat::provider::meta_calls::{
    CallAction, CallDirection, CallEvent, CallProgress, CallUpdate, Ended, Session,
};
use deflect_chat::whatsapp_calls::AccountCall;
use deflect_config::Config;
use deflect_ivr::runtime::{CallService, PlacedEvent, Placement, Signal, WebRtcCall};
use deflect_ivr::{DeflectionConsumer, DeflectionCounter};
use deflect_sip::runtime::Sip;
use deflect_web::phone::{CallPlacer, PlaceCall, PlaceProgress, Placed};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// Routes the inbox's WhatsApp call updates to `calls` until the inbox stops sending them.
/// Nothing starts when no account has `calling`.
pub(crate) fn start<C, D>(config: &Config, inbox: &Inbox, calls: &Arc<CallService<C, D>>, sip: &Sip)
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    let numbers = calling_numbers(config);
    if numbers.is_empty() {
        return;
    }
    let (sink, mut updates) = mpsc::unbounded_channel();
    inbox.route_whatsapp_calls(sink);
    let (inbox, calls, sip) = (inbox.clone(), calls.clone(), sip.clone());
    tokio::spawn(async move {
        while let Some(AccountCall { account, update }) = updates.recv().await {
            let Some(number) = numbers.get(&account) else {
                continue;
            };
            take(&inbox, &calls, &sip, &account, number, update);
        }
    });
}

/// One update for `account` (whose number is `number`).
fn take<C, D>(
    inbox: &Inbox,
    calls: &Arc<CallService<C, D>>,
    sip: &Sip,
    account: &str,
    number: &str,
    update: CallUpdate,
) where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    match update.event {
        CallEvent::Connect(Session::Offer(offer))
            if update.direction == Some(CallDirection::FromCustomer) =>
        {
            let (signals, rx) = mpsc::unbounded_channel();
            let call = WebRtcCall {
                call_id: update.call_id.clone(),
                channel: format!("whatsapp:{account}"),
                caller: Some(format!("+{}", update.customer.trim_start_matches('+'))),
                dialled: number.to_owned(),
                offer,
                conversation: None,
            };
            calls.answer_webrtc(sip, call, signals);
            carry_out(inbox, calls, account, rx);
        }
        // The answer to a call an agent placed: the customer took it.
        CallEvent::Connect(Session::Answer(sdp)) => calls.webrtc_answered(&update.call_id, &sdp),
        CallEvent::Progress(CallProgress::Ringing) => calls.webrtc_ringing(&update.call_id),
        CallEvent::Terminate { ended, duration } => {
            debug!(call_id = %update.call_id, ?ended, ?duration, "WhatsApp call terminated");
            calls.webrtc_ended(&update.call_id, Some(reason(&ended)));
        }
        event => {
            debug!(call_id = %update.call_id, ?event, "WhatsApp call update not acted on");
        }
    }
}

/// Carries out the IVR's `signals` for a call of `account`, in order, on a task of its own.
fn carry_out<C, D>(
    inbox: &Inbox,
    calls: &Arc<CallService<C, D>>,
    account: &str,
    mut signals: mpsc::UnboundedReceiver<Signal>,
) where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    let (inbox, calls, account) = (inbox.clone(), calls.clone(), account.to_owned());
    tokio::spawn(async move {
        while let Some(signal) = signals.recv().await {
            act(&inbox, &calls, &account, signal).await;
        }
    });
}

/// Agents' calls to WhatsApp customers, placed through the Graph API (see the module docs).
pub(crate) struct WhatsAppPlacer<C, D> {
    inbox: Inbox,
    calls: Arc<CallService<C, D>>,
    /// The business number of each account with `calling`.
    numbers: HashMap<String, String>,
}

impl<C, D> WhatsAppPlacer<C, D> {
    pub(crate) fn new(inbox: Inbox, calls: Arc<CallService<C, D>>, config: &Config) -> Self {
        Self {
            inbox,
            calls,
            numbers: calling_numbers(config),
        }
    }
}

/// The business number of each account with `calling`.
fn calling_numbers(config: &Config) -> HashMap<String, String> {
    (config.whatsapp.accounts.iter())
        .filter(|a| a.calling)
        .map(|a| (a.name.clone(), a.business_number.clone()))
        .collect()
}

impl<C, D> CallPlacer for WhatsAppPlacer<C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    fn place(
        &self,
        call: PlaceCall,
        progress: mpsc::UnboundedSender<PlaceProgress>,
    ) -> Result<Placed, String> {
        let (signals, signals_rx) = mpsc::unbounded_channel();
        let (events, mut events_rx) = mpsc::unbounded_channel();
        let from = (self.numbers.get(&call.account))
            .ok_or_else(|| format!("account {:?} does not take calls", call.account))?;
        let placement = Placement {
            channel: format!("whatsapp:{}", call.account),
            from: from.clone(),
            to: format!("+{}", call.whatsapp_id),
            conversation: Some(call.conversation_id),
            agent_offer: call.offer,
        };
        let placed = (self.calls)
            .place_webrtc(placement, signals, events)
            .map_err(|e| e.to_string())?;
        carry_out(&self.inbox, &self.calls, &call.account, signals_rx);
        let (inbox, naming) = (self.inbox.clone(), placed.clone());
        tokio::spawn(async move {
            let callback = format!("conversation:{}", call.conversation_id);
            let connect = CallAction::Connect {
                to: &call.whatsapp_id,
                offer: &naming.offer,
                callback_data: Some(&callback),
            };
            match inbox.whatsapp_call_action(&call.account, &connect).await {
                Ok(Some(call_id)) => naming.named(call_id),
                Ok(None) => naming.hang_up("WhatsApp did not name the call"),
                Err(e) => {
                    warn!(cause = %e, "WhatsApp refused to place the call");
                    naming.hang_up(format!("WhatsApp refused the call: {e}"));
                }
            }
        });
        tokio::spawn(async move {
            while let Some(event) = events_rx.recv().await {
                let report = match event {
                    PlacedEvent::Ringing => PlaceProgress::Ringing,
                    PlacedEvent::Answered => PlaceProgress::Answered,
                    PlacedEvent::Ended { reason } => PlaceProgress::Ended(reason),
                };
                let _ = progress.send(report);
            }
        });
        let (answer, holding) = (placed.agent_answer.clone(), placed.clone());
        Ok(Placed {
            answer,
            hang_up: Box::new(move || placed.hang_up("the agent hung up")),
            hold: Box::new(move |on| holding.hold(on)),
        })
    }
}

/// Carries out one of the IVR's signals for a call of `account`.
async fn act<C, D>(inbox: &Inbox, calls: &CallService<C, D>, account: &str, signal: Signal)
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    match &signal {
        Signal::Accept { call_id, sdp } => {
            // pre_accept lets the media connect while the customer still hears ringing; the
            // accept alone would do, so its failure is only logged.
            let pre = CallAction::PreAccept {
                call_id,
                answer: sdp,
            };
            if let Err(e) = inbox.whatsapp_call_action(account, &pre).await {
                debug!(%call_id, cause = %e, "pre_accept refused");
            }
            let accept = CallAction::Accept {
                call_id,
                answer: sdp,
            };
            if let Err(e) = inbox.whatsapp_call_action(account, &accept).await {
                warn!(%call_id, cause = %e, "WhatsApp refused to accept the call; it ends");
                calls.webrtc_ended(call_id, Some(format!("WhatsApp accept refused: {e}")));
            }
        }
        Signal::Reject { call_id } => {
            let reject = CallAction::Reject { call_id };
            if let Err(e) = inbox.whatsapp_call_action(account, &reject).await {
                debug!(%call_id, cause = %e, "reject refused");
            }
        }
        Signal::Terminate { call_id } => {
            let terminate = CallAction::Terminate { call_id };
            if let Err(e) = inbox.whatsapp_call_action(account, &terminate).await {
                debug!(%call_id, cause = %e, "terminate refused (the call may have ended already)");
            }
        }
    }
}

/// The call record's reason for a `terminate`.
fn reason(ended: &Ended) -> String {
    match ended {
        Ended::Completed => "WhatsApp: completed".into(),
        Ended::Rejected => "WhatsApp: rejected".into(),
        Ended::Failed { code, message } => format!(
            "WhatsApp: failed{}{}",
            code.map(|c| format!(" ({c})")).unwrap_or_default(),
            message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        Ended::Other(status) => format!("WhatsApp: {status}"),
    }
}
