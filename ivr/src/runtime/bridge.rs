//! A bridge's second call (`mode = "bridge"`): deflect calls the target itself, and once it
//! answers the call task relays audio and digits between the caller and the target.
//!
//! The engine decides whom to call and when to give up ([`crate::Action::Dial`],
//! [`crate::Action::CancelDial`]); this module places one such call — to the target's URI
//! resolved like any SIP URI (`sips:`/`;transport=` pick the transport), or through a trunk
//! ([`BridgeTrunk`]: its outbound proxy, else its servers in turn, the next tried when one
//! fails), an SDP offer from the media engine, the INVITE from the caller's number — and
//! keeps what it needs until the answer. Audio goes through both media sessions as decoded frames ([`deflect_media::relay`]),
//! so the legs may use different codecs and SRTP keys; digits are sent on as RFC 4733
//! events.

use deflect_config::{Cidr, IdleMedia, SrtpPolicy, TrunkConfig};
use deflect_media::driver::{CallOptions, MediaCall, MediaEngine, Offered};
use deflect_media::sdp::Direction;
use deflect_media::session::MediaEvent;
use deflect_sip::endpoint::{CallEvent, Credentials, EndReason, OutgoingCall, Reason, Through};
use deflect_sip::message::Uri;
use deflect_sip::registration::{digest_username, loose_route};
use deflect_sip::resolve::Destination;
use deflect_sip::runtime::{Call as SipCall, Sip};
use std::collections::VecDeque;
use std::future::Future;
use std::net::IpAddr;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::oneshot;
use tracing::{debug, warn};

use super::phones::{AgentLeg, AgentLegEvent};

/// A digit passed on to the other call: its tone, then a gap.
pub(super) const DIGIT_TONE: Duration = Duration::from_millis(100);
pub(super) const DIGIT_GAP: Duration = Duration::from_millis(50);

/// The call to a bridge's target: ringing, then answered.
pub(super) struct Leg {
    pub(super) call: LegCall,
    /// The offer's ports and description, until the answer.
    offered: Option<Offered>,
    /// The target's media, once it answered.
    pub(super) media: Option<MediaCall>,
    /// The direction the target last offered (from its side): its hold, passed on to the
    /// caller.
    pub(super) held: Direction,
    /// The target, and the trunk's servers not tried yet (a SIP target's).
    dial: Option<Dial>,
}

/// A bridge target's signalling: a SIP call, or the inbox's agents ([`super::phones`]).
pub(super) enum LegCall {
    Sip(SipCall),
    Agents(AgentLeg),
}

impl LegCall {
    /// The SIP dialog: re-offers, INFO and REFER exist only there (a browser agent's hold is
    /// its own).
    pub(super) fn sip(&self) -> Option<&SipCall> {
        match self {
            Self::Sip(c) => Some(c),
            Self::Agents(_) => None,
        }
    }
}

/// Something from the target's call.
pub(super) enum LegEvent {
    Sip(Option<CallEvent>),
    Media(Option<MediaEvent>),
    /// An agent answered with their browser's offer (an `inbox:` target).
    AgentAnswered {
        offer: String,
        answer: oneshot::Sender<Result<String, String>>,
    },
    /// The agent holds the caller, or takes them back (an `inbox:` target).
    AgentHeld(bool),
}

impl From<AgentLegEvent> for LegEvent {
    fn from(e: AgentLegEvent) -> Self {
        match e {
            AgentLegEvent::Answered { offer, answer } => Self::AgentAnswered { offer, answer },
            AgentLegEvent::Held(on) => Self::AgentHeld(on),
            AgentLegEvent::Call(e) => Self::Sip(Some(e)),
        }
    }
}

/// A trunk a bridge's calls may go out through (`trunk` on a transfer step): its outbound
/// proxy, else its servers in order, and the credentials of its registration for a digest
/// challenge.
#[derive(Clone, Debug, Default)]
pub struct BridgeTrunk {
    /// `name` in `[[sip.trunks]]`.
    pub name: String,
    /// `outbound_proxy`: every call goes there, with `Route`.
    pub proxy: Option<String>,
    /// `addresses`: the servers tried in order, those found down last.
    pub addresses: Vec<String>,
    /// From `[sip.trunks.outbound_auth]`, else `[sip.trunks.register]`: its user name (else
    /// the AOR's user) and password.
    pub credentials: Option<Credentials>,
}

impl BridgeTrunk {
    /// The routing of trunk `t`.
    pub fn of(t: &TrunkConfig) -> Self {
        let registration = t.register.as_ref().and_then(|r| {
            Some(Credentials {
                username: digest_username(r),
                password: r.password.clone()?,
            })
        });
        let credentials = match &t.outbound_auth {
            Some(a) => Some(Credentials {
                username: a.username.clone(),
                password: a.password.clone(),
            }),
            None => registration,
        };
        Self {
            name: t.name.clone(),
            proxy: t.outbound_proxy.clone(),
            addresses: t.addresses.clone(),
            credentials,
        }
    }
}

/// A bridge's call to one target: where it may go, in the order tried.
struct Dial {
    target: Uri,
    from_user: String,
    call_id: String,
    /// The trunk it goes out through.
    trunk: Option<String>,
    credentials: Option<Credentials>,
    /// The servers not tried yet: each a URI to resolve, and the `Route` to send with.
    hops: VecDeque<(Uri, Option<String>)>,
}

/// Where a bridge's call goes out from.
pub(super) struct Placer<'a> {
    pub(super) sip: &'a Sip,
    pub(super) engine: &'a MediaEngine,
    pub(super) local_peers: Option<&'a (Vec<Cidr>, IpAddr)>,
    pub(super) trunks: &'a [BridgeTrunk],
}

impl Placer<'_> {
    /// Calls `target` for the caller `call_id` from `from_user`, through `trunk` when given.
    /// The error is the SIP status the engine hears as the target's failure: 400 for a URI
    /// that cannot be read, 503 when no server can be resolved, no RTP port is free or the
    /// stack stopped.
    pub(super) async fn place(
        &self,
        target: &str,
        from_user: &str,
        call_id: &str,
        trunk: Option<&str>,
    ) -> Result<Leg, u16> {
        let uri = Uri::parse(target).map_err(|e| {
            warn!(to = target, cause = %e, "bridge target is not a SIP URI");
            400u16
        })?;
        let trunk = trunk.and_then(|name| self.trunks.iter().find(|t| t.name == name));
        let dial = Dial {
            hops: hops(&uri, trunk, |t, a| self.sip.server_up(t, a)),
            target: uri,
            from_user: from_user.to_owned(),
            call_id: call_id.to_owned(),
            trunk: trunk.map(|t| t.name.clone()),
            credentials: trunk.and_then(|t| t.credentials.clone()),
        };
        self.attempt(dial).await
    }

    /// The same target again at the trunk's next server, after `leg` failed at one that
    /// did not answer, could not be reached or answered 5xx; `None` when none is left.
    pub(super) async fn fail_over(&self, leg: Leg) -> Option<Result<Leg, u16>> {
        let dial = leg.dial.filter(|d| !d.hops.is_empty())?;
        Some(self.attempt(dial).await)
    }

    /// Calls the dial's target at its next server that can be resolved.
    async fn attempt(&self, mut dial: Dial) -> Result<Leg, u16> {
        let (server, route, to, remote) = loop {
            let Some((server, route)) = dial.hops.pop_front() else {
                return Err(503);
            };
            let to = match Destination::of(&server) {
                Ok(to) => to,
                Err(e) => {
                    warn!(to = %server, cause = %e, "bridge target cannot be called");
                    if dial.hops.is_empty() {
                        return Err(400);
                    }
                    continue;
                }
            };
            match to.lookup().await {
                Ok(remote) => break (server, route, to, remote),
                Err(e) => warn!(to = %server, cause = %e, "bridge target not found"),
            }
        };
        let options = CallOptions {
            call_id: format!("{} bridge", dial.call_id),
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
            uri: dial.target.clone(),
            remote,
            transport: to.transport,
            from_user: dial.from_user.clone(),
            sdp: offered.offer.clone().into_bytes(),
            route,
            credentials: dial.credentials.clone(),
            through: dial.trunk.clone().map(|trunk| Through {
                trunk,
                server: server.host.clone(),
            }),
        };
        let sip = self.sip.call(out).await.map_err(|e| {
            warn!(cause = %e, "bridge call not placed");
            503u16
        })?;
        debug!(to = %dial.target, via = %server, %remote, bridge_call_id = sip.call_id(), "bridge target called");
        Ok(Leg {
            call: LegCall::Sip(sip),
            offered: Some(offered),
            media: None,
            held: Direction::SendRecv,
            dial: Some(dial),
        })
    }
}

impl Leg {
    /// The inbox's agents, ringing.
    pub(super) fn agents(agents: AgentLeg) -> Self {
        Self {
            call: LegCall::Agents(agents),
            offered: None,
            media: None,
            held: Direction::SendRecv,
            dial: None,
        }
    }

    /// An agent answered: `media` is their browser's session, relaying.
    pub(super) fn connected(&mut self, media: MediaCall) -> &MediaCall {
        media.handle.bridge(true);
        media.handle.listen(true);
        self.media.insert(media)
    }

    /// The target answered with `sdp`: its media starts, relaying. `None` when the answer
    /// is not acceptable (the call is hung up).
    pub(super) fn answered(&mut self, engine: &MediaEngine, sdp: &[u8]) -> Option<&MediaCall> {
        let offered = self.offered.take()?;
        match engine.answered(offered, sdp) {
            Ok(media) => Some(self.connected(media)),
            Err(e) => {
                debug!(cause = %e, "the bridge target's answer is not acceptable");
                if let LegCall::Sip(sip) = &self.call {
                    sip.hang_up(Reason::q850(88, "Incompatible destination"));
                }
                None
            }
        }
    }

    /// Hangs up (CANCEL while it rings; the agents' phones stop) and frees the media.
    pub(super) fn hang_up(self, reason: Reason) {
        if let LegCall::Sip(sip) = &self.call {
            sip.hang_up(reason);
        }
        if let Some(m) = &self.media {
            m.handle.close();
        }
    }

    /// The next event of the call or, once answered, of its media (cancel-safe).
    async fn next(&mut self) -> LegEvent {
        match (&mut self.call, &mut self.media) {
            (LegCall::Sip(sip), Some(m)) => tokio::select! {
                e = sip.next_event() => LegEvent::Sip(e),
                e = m.events.recv() => LegEvent::Media(e),
            },
            (LegCall::Sip(sip), None) => LegEvent::Sip(sip.next_event().await),
            (LegCall::Agents(agents), Some(m)) => tokio::select! {
                e = agents.next_event() => e.into(),
                e = m.events.recv() => LegEvent::Media(e),
            },
            (LegCall::Agents(agents), None) => agents.next_event().await.into(),
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

    /// The call that answered: its media and signalling.
    pub(super) fn answered_call(&self) -> Option<(&MediaCall, &LegCall)> {
        self.0
            .iter()
            .find_map(|(_, c)| c.media.as_ref().map(|m| (m, &c.call)))
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

/// The servers a call to `target` may go to, each a URI to resolve and the `Route` to send
/// with: the trunk's outbound proxy; else its addresses, those `server_up` says are down
/// last (tried all the same: the probe may be behind); else the target's own host.
fn hops(
    target: &Uri,
    trunk: Option<&BridgeTrunk>,
    server_up: impl Fn(&str, &str) -> Option<bool>,
) -> VecDeque<(Uri, Option<String>)> {
    let parse = |s: &str| {
        Uri::parse(s)
            .inspect_err(|e| warn!(uri = s, cause = %e, "trunk server is not a SIP URI"))
            .ok()
    };
    match trunk {
        Some(BridgeTrunk {
            proxy: Some(proxy), ..
        }) => parse(proxy)
            .map(|uri| (uri, Some(loose_route(proxy))))
            .into_iter()
            .collect(),
        Some(t) if !t.addresses.is_empty() => {
            let mut servers: Vec<&String> = t.addresses.iter().collect();
            // Stable: the configured order among equals.
            servers.sort_by_key(|a| server_up(&t.name, a) == Some(false));
            servers
                .into_iter()
                .filter_map(|a| parse(a).map(|uri| (uri, None)))
                .collect()
        }
        _ => VecDeque::from([(target.clone(), None)]),
    }
}

/// Whether a target's call that failed with `status` before its answer is tried again at
/// the trunk's next server: no answer (408), unreachable or failing (5xx) — not a refusal
/// by the target (4xx, 6xx).
pub(super) fn fails_over(status: u16) -> bool {
    status == 408 || (500..600).contains(&status)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(proxy: Option<&str>, addresses: &[&str]) -> BridgeTrunk {
        BridgeTrunk {
            name: "carrier".into(),
            proxy: proxy.map(str::to_owned),
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            credentials: None,
        }
    }

    fn servers(hops: VecDeque<(Uri, Option<String>)>) -> Vec<String> {
        hops.into_iter()
            .map(|(uri, route)| format!("{uri} {}", route.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_trunks_servers_are_tried_in_order_those_found_down_last() {
        let target = Uri::parse("sip:+31201234567@carrier.example").unwrap();
        let t = trunk(
            None,
            &["sip:sbc1.example", "sip:sbc2.example", "sip:sbc3.example"],
        );
        let down = |_: &str, a: &str| (a == "sip:sbc1.example").then_some(false);
        assert_eq!(
            servers(hops(&target, Some(&t), down)),
            [
                "sip:sbc2.example ",
                "sip:sbc3.example ",
                "sip:sbc1.example "
            ]
        );
        let unknown = |_: &str, _: &str| None;
        assert_eq!(
            servers(hops(&target, Some(&t), unknown))[0],
            "sip:sbc1.example ",
            "not probed yet: the configured order"
        );
        let proxied = trunk(Some("sip:proxy.example:5070"), &["sip:sbc1.example"]);
        assert_eq!(
            servers(hops(&target, Some(&proxied), unknown)),
            ["sip:proxy.example:5070 <sip:proxy.example:5070;lr>"],
            "an outbound proxy takes every call"
        );
        assert_eq!(
            servers(hops(&target, None, unknown)),
            ["sip:+31201234567@carrier.example "],
            "without a trunk: the target's own host"
        );
    }

    #[test]
    fn outbound_credentials_come_before_the_registrations() {
        use deflect_config::{OutboundAuthConfig, RegisterConfig, Secret};
        let mut t = TrunkConfig {
            register: Some(RegisterConfig {
                aor: "sip:3120@reg.example".into(),
                password: Some(Secret::new("registering")),
                ..RegisterConfig::default()
            }),
            ..TrunkConfig::default()
        };
        let credentials = |t: &TrunkConfig| {
            let c = BridgeTrunk::of(t).credentials.unwrap();
            (c.username, c.password.expose().to_owned())
        };
        assert_eq!(credentials(&t), ("3120".into(), "registering".into()));
        t.outbound_auth = Some(OutboundAuthConfig {
            username: "calls".into(),
            password: Secret::new("placing"),
        });
        assert_eq!(credentials(&t), ("calls".into(), "placing".into()));
    }

    #[test]
    fn only_servers_that_did_not_answer_or_failed_are_passed_over() {
        for status in [408, 500, 503, 504] {
            assert!(fails_over(status), "{status}");
        }
        for status in [404, 480, 486, 487, 603] {
            assert!(!fails_over(status), "{status}");
        }
    }
}
