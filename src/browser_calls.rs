//! Widget visitors' calls (`deflect_web::calls`) answered by the IVR
//! (`CallService::answer_webrtc`): the browser gets the IVR's SDP answer, and its hang-up
//! ends the call in the IVR as a caller's BYE would.

use deflect_ivr::runtime::{CallService, Signal, WebRtcCall};
use deflect_ivr::{DeflectionConsumer, DeflectionCounter};
use deflect_sip::runtime::Sip;
use deflect_web::calls::{BrowserCall, BrowserCalls, CallRefused, Placing};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the IVR may take to answer a browser's offer.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// The IVR, as the web layer places browsers' calls.
pub(crate) struct IvrCalls<C, D> {
    calls: Arc<CallService<C, D>>,
    sip: Sip,
}

impl<C, D> IvrCalls<C, D> {
    pub(crate) fn new(calls: Arc<CallService<C, D>>, sip: Sip) -> Self {
        Self { calls, sip }
    }
}

impl<C, D> std::fmt::Debug for IvrCalls<C, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IvrCalls")
    }
}

impl<C, D> BrowserCalls for IvrCalls<C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    fn place(&self, call: BrowserCall) -> Placing {
        let (signals, mut rx) = mpsc::unbounded_channel();
        self.calls.answer_webrtc(
            &self.sip,
            WebRtcCall {
                call_id: call.call_id,
                channel: call.channel,
                caller: call.caller,
                dialled: call.dialled,
                offer: call.offer,
                conversation: Some(call.conversation),
            },
            signals,
        );
        // Only the answer is needed: the browser learns of the call's end from its DTLS
        // transport closing, so the IVR's later signals go nowhere (it ignores a dropped
        // receiver).
        Box::pin(async move {
            match tokio::time::timeout(ANSWER_WITHIN, rx.recv()).await {
                Ok(Some(Signal::Accept { sdp, .. })) => Ok(sdp),
                _ => Err(CallRefused::Unavailable),
            }
        })
    }

    fn hang_up(&self, call_id: &str) {
        self.calls
            .webrtc_ended(call_id, Some("the visitor hung up".into()));
    }
}
