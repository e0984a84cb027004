//! A bridge's second call (`mode = "bridge"`): deflect calls the target itself, and once it
//! answers the call task relays audio and digits between the caller and the target.
//!
//! The engine decides whom to call and when to give up ([`crate::Action::Dial`],
//! [`crate::Action::CancelDial`]); this module places one such call — the target's URI
//! resolved like any SIP URI (`sips:`/`;transport=` pick the transport), an SDP offer from
//! the media engine, the INVITE from the caller's number — and keeps what it needs until the
//! answer. Audio goes through both media sessions as decoded frames ([`deflect_media::relay`]),
//! so the legs may use different codecs and SRTP keys; digits are sent on as RFC 4733
//! events.

use deflect_config::{Cidr, IdleMedia, SrtpPolicy};
use deflect_media::driver::{CallOptions, MediaCall, MediaEngine, Offered};
use deflect_media::sdp::Direction;
use deflect_media::session::MediaEvent;
use deflect_sip::endpoint::{CallEvent, EndReason, OutgoingCall, Reason};
use deflect_sip::message::Uri;
use deflect_sip::resolve::Destination;
use deflect_sip::runtime::{Call as SipCall, Sip};
use std::future::Future;
use std::net::IpAddr;
use std::task::Poll;
use std::time::Duration;
use tracing::{debug, warn};

/// A digit passed on to the other call: its tone, then a gap.
pub(super) const DIGIT_TONE: Duration = Duration::from_millis(100);
pub(super) const DIGIT_GAP: Duration = Duration::from_millis(50);

/// The call to a bridge's target: ringing, then answered.
pub(super) struct Leg {
    pub(super) sip: SipCall,
    /// The offer's ports and description, until the answer.
    offered: Option<Offered>,
    /// The target's media, once it answered.
    pub(super) media: Option<MediaCall>,
    /// The direction the target last offered (from its side): its hold, passed on to the
    /// caller.
    pub(super) held: Direction,
}

/// Something from the target's call.
pub(super) enum LegEvent {
    Sip(Option<CallEvent>),
    Media(Option<MediaEvent>),
}

/// Where a bridge's call goes out from.
pub(super) struct Placer<'a> {
    pub(super) sip: &'a Sip,
    pub(super) engine: &'a MediaEngine,
    pub(super) local_peers: Option<&'a (Vec<Cidr>, IpAddr)>,
}

impl Placer<'_> {
    /// Calls `target` for the caller `call_id` from `from_user`. The error is the SIP
    /// status the engine hears as the target's failure: 400 for a URI that cannot be read,
    /// 503 when its host cannot be resolved, no RTP port is free or the stack stopped.
    pub(super) async fn place(
        &self,
        target: &str,
        from_user: &str,
        call_id: &str,
    ) -> Result<Leg, u16> {
        let uri = Uri::parse(target).map_err(|e| {
            warn!(to = target, cause = %e, "bridge target is not a SIP URI");
            400u16
        })?;
        let to = Destination::of(&uri).map_err(|e| {
            warn!(to = target, cause = %e, "bridge target cannot be called");
            400u16
        })?;
        let remote = to.lookup().await.map_err(|e| {
            warn!(to = target, cause = %e, "bridge target not found");
            503u16
        })?;
        let options = CallOptions {
            call_id: format!("{call_id} bridge"),
            inband_dtmf: false,
            srtp: SrtpPolicy::Optional,
            // The relayed audio flows all the time; nothing is idle.
            idle_media: IdleMedia::Audio,
            advertise: self
                .local_peers
                .filter(|(networks, _)| networks.iter().any(|n| n.contains(remote.ip())))
                .map(|(_, address)| *address),
        };
        let offered = self.engine.offer(options).map_err(|e| {
            warn!(cause = %e, "no media for the bridge");
            e.sip_status()
        })?;
        let out = OutgoingCall {
            uri,
            remote,
            transport: to.transport,
            from_user: from_user.to_owned(),
            sdp: offered.offer.clone().into_bytes(),
        };
        let sip = self.sip.call(out).await.map_err(|e| {
            warn!(cause = %e, "bridge call not placed");
            503u16
        })?;
        debug!(to = target, %remote, bridge_call_id = sip.call_id(), "bridge target called");
        Ok(Leg {
            sip,
            offered: Some(offered),
            media: None,
            held: Direction::SendRecv,
        })
    }
}

impl Leg {
    /// The target answered with `sdp`: its media starts, relaying. `None` when the answer
    /// is not acceptable (the call is hung up).
    pub(super) fn answered(&mut self, engine: &MediaEngine, sdp: &[u8]) -> Option<&MediaCall> {
        let offered = self.offered.take()?;
        match engine.answered(offered, sdp) {
            Ok(media) => {
                media.handle.bridge(true);
                media.handle.listen(true);
                Some(self.media.insert(media))
            }
            Err(e) => {
                debug!(cause = %e, "the bridge target's answer is not acceptable");
                self.sip
                    .hang_up(Reason::q850(88, "Incompatible destination"));
                None
            }
        }
    }

    /// Hangs up (CANCEL while it rings) and frees the media.
    pub(super) fn hang_up(self, reason: Reason) {
        self.sip.hang_up(reason);
        if let Some(m) = &self.media {
            m.handle.close();
        }
    }

    /// The next event of the call or, once answered, of its media (cancel-safe).
    async fn next(&mut self) -> LegEvent {
        match &mut self.media {
            Some(m) => tokio::select! {
                e = self.sip.next_event() => LegEvent::Sip(e),
                e = m.events.recv() => LegEvent::Media(e),
            },
            None => LegEvent::Sip(self.sip.next_event().await),
        }
    }
}

/// A bridge's calls, by leg (the target's index in the hunt list): one ringing (`linear`),
/// several (`ringall`), or the one answered.
#[derive(Default)]
pub(super) struct Legs(Vec<(usize, Leg)>);

impl Legs {
    /// Adds call `leg`, ending one of the same leg placed before.
    pub(super) fn insert(&mut self, leg: usize, call: Leg) {
        if let Some(old) = self.remove(leg) {
            old.hang_up(Reason::q850(16, "Normal call clearing"));
        }
        self.0.push((leg, call));
    }

    pub(super) fn remove(&mut self, leg: usize) -> Option<Leg> {
        let at = self.0.iter().position(|(l, _)| *l == leg)?;
        Some(self.0.swap_remove(at).1)
    }

    pub(super) fn get_mut(&mut self, leg: usize) -> Option<&mut Leg> {
        self.0.iter_mut().find(|(l, _)| *l == leg).map(|(_, c)| c)
    }

    /// The media of the call that answered, once one has.
    pub(super) fn answered(&self) -> Option<&MediaCall> {
        self.answered_call().map(|(media, _)| media)
    }

    /// The call that answered: its media and SIP call.
    pub(super) fn answered_call(&self) -> Option<(&MediaCall, &SipCall)> {
        self.0
            .iter()
            .find_map(|(_, c)| c.media.as_ref().map(|m| (m, &c.sip)))
    }

    /// Hangs every call up.
    pub(super) fn hang_up_all(&mut self, reason: &Reason) {
        for (_, call) in self.0.drain(..) {
            call.hang_up(reason.clone());
        }
    }

    /// The next event of any call, with its leg; pending while there is none.
    pub(super) async fn next(&mut self) -> (usize, LegEvent) {
        std::future::poll_fn(|cx| {
            for (leg, call) in &mut self.0 {
                let event = std::pin::pin!(call.next());
                if let Poll::Ready(e) = event.poll(cx) {
                    return Poll::Ready((*leg, e));
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// The status a target's call that ended before its answer counts as.
pub(super) fn failure_status(reason: &EndReason) -> u16 {
    match reason {
        EndReason::Rejected(status) => *status,
        EndReason::Timeout => 408,
        EndReason::Cancelled => 487,
        _ => 500,
    }
}
