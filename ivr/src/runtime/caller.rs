//! The caller's side of a call: a SIP dialog, or a WebRTC call signalled by someone else (a
//! WhatsApp call, through the Graph API and its webhook).
//!
//! The call task talks to both the same way. A WebRTC call was answered before its task
//! started, has no dialog to re-offer in or transfer from, and hangs up by a
//! [`Signal::Terminate`] — sent also when the far end ended it, as WhatsApp wants; its far
//! end hanging up arrives through
//! [`CallService::webrtc_ended`](super::CallService::webrtc_ended).

use deflect_sip::endpoint::{CallEvent, EndReason, Reason, TransferEvent};
use deflect_sip::runtime::Call as SipCall;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// What the IVR asks of a WebRTC call's signalling (the binary carries it out: for a
/// WhatsApp call, `pre_accept` and `accept`, `reject`, `terminate` through the Graph API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Answer the call with this SDP.
    Accept {
        /// The call.
        call_id: String,
        /// deflect's SDP answer.
        sdp: String,
    },
    /// Refuse the call (no media could be set up for its offer).
    Reject {
        /// The call.
        call_id: String,
    },
    /// End the call (sent also when the far end ended it first).
    Terminate {
        /// The call.
        call_id: String,
    },
}

/// A WebRTC call's signalling as the call task sees it.
pub(super) struct WebRtcLeg {
    call_id: String,
    events: mpsc::UnboundedReceiver<CallEvent>,
    /// To this leg's own events (the stack's answers that WebRTC has no message for).
    own: mpsc::UnboundedSender<CallEvent>,
    signals: mpsc::UnboundedSender<Signal>,
    ended: bool,
    /// [`Signal::Terminate`] went out: once, however the call ends.
    terminated: AtomicBool,
}

impl WebRtcLeg {
    /// Sends [`Signal::Terminate`] unless it went out already.
    fn terminate(&self) {
        if !self.terminated.swap(true, Ordering::Relaxed) {
            let _ = self.signals.send(Signal::Terminate {
                call_id: self.call_id.clone(),
            });
        }
    }

    /// A leg for `call_id` whose far end's events come on `events` (their sender is `own`).
    pub(super) fn new(
        call_id: String,
        own: mpsc::UnboundedSender<CallEvent>,
        events: mpsc::UnboundedReceiver<CallEvent>,
        signals: mpsc::UnboundedSender<Signal>,
    ) -> Self {
        Self {
            call_id,
            events,
            own,
            signals,
            ended: false,
            terminated: AtomicBool::new(false),
        }
    }
}

impl Drop for WebRtcLeg {
    /// WhatsApp wants `terminate` even for a call its customer ended.
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The caller's side (see the module docs).
pub(super) enum Caller {
    Sip(SipCall),
    WebRtc(WebRtcLeg),
}

impl Caller {
    pub(super) fn call_id(&self) -> &str {
        match self {
            Self::Sip(c) => c.call_id(),
            Self::WebRtc(c) => &c.call_id,
        }
    }

    /// Whether a transfer or a bridge may take the call further. A WebRTC call may not:
    /// Meta's terms forbid the telephone network on any leg of a WhatsApp call.
    pub(super) fn may_leave_deflect(&self) -> bool {
        matches!(self, Self::Sip(_))
    }

    /// Whether keys pressed on the other side of a bridge reach the caller (RFC 4733 on a
    /// SIP call; a WebRTC caller — WhatsApp, the widget — is a person in an app, no menu).
    pub(super) fn takes_digits(&self) -> bool {
        matches!(self, Self::Sip(_))
    }

    /// The next event; `None` after [`CallEvent::Ended`].
    pub(super) async fn next_event(&mut self) -> Option<CallEvent> {
        match self {
            Self::Sip(c) => c.next_event().await,
            Self::WebRtc(c) => {
                if c.ended {
                    return None;
                }
                let event = c
                    .events
                    .recv()
                    .await
                    .unwrap_or(CallEvent::Ended(EndReason::HungUp));
                c.ended = matches!(event, CallEvent::Ended(_));
                Some(event)
            }
        }
    }

    /// Hangs up with `reason`; [`CallEvent::Ended`] follows.
    pub(super) fn hang_up(&self, reason: Reason) {
        match self {
            Self::Sip(c) => c.hang_up(reason),
            Self::WebRtc(c) => {
                c.terminate();
                let _ = c.own.send(CallEvent::Ended(EndReason::HungUp));
            }
        }
    }

    /// Answers a call in early media (a WebRTC call was answered before the flow started).
    pub(super) fn accept(&self, sdp: Vec<u8>) {
        if let Self::Sip(c) = self {
            c.accept(sdp);
        }
    }

    /// Asks the caller's side to take the call to `target` (REFER). A WebRTC call cannot be
    /// transferred: the transfer fails at once (403).
    pub(super) fn refer(&self, target: &str) {
        match self {
            Self::Sip(c) => c.refer(target),
            Self::WebRtc(c) => {
                let _ = c.own.send(CallEvent::Transfer(TransferEvent::Failed(403)));
            }
        }
    }

    /// Answers a re-offer (only a SIP dialog sends one).
    pub(super) fn answer_offer(&self, offer: u64, answer: Result<Vec<u8>, u16>) {
        if let Self::Sip(c) = self {
            c.answer_offer(offer, answer);
        }
    }

    /// Answers an INFO (only a SIP dialog sends one).
    pub(super) fn answer_info(&self, request: u64, status: u16) {
        if let Self::Sip(c) = self {
            c.answer_info(request, status);
        }
    }

    /// Answers a REFER (only a SIP dialog sends one).
    pub(super) fn answer_refer(&self, request: u64, status: u16) {
        if let Self::Sip(c) = self {
            c.answer_refer(request, status);
        }
    }

    /// Offers `sdp` in a re-INVITE (a hold passed on from a bridge; a WebRTC call has none).
    pub(super) fn reoffer(&self, sdp: Vec<u8>) {
        if let Self::Sip(c) = self {
            c.reoffer(sdp);
        }
    }
}
