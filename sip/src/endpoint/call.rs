//! A call's dialog state (RFC 3261 §12): where the dialog stands ([`CallState`], holding
//! what only that state has), its identifiers, CSeqs, route set and remote target, the
//! requests built from them (§12.2.1.1), and what is in flight (a 2xx awaiting its ACK, an
//! offer or INFO awaiting the layer above, the session timer).

use super::{EndReason, Reason};
use crate::message::{Method, Request, Uri};
use crate::session_timer::SessionTimer;
use crate::transaction::ServerKey;
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Where a call's dialog stands, holding what is valid only then (after rustls' one
/// struct per state): the unanswered INVITE exists only while `Incoming`, a hang-up or a
/// transfer waiting for the ACK only while `Answered`, and why the call ends only once
/// `Terminating`.
#[derive(Debug)]
pub(super) enum CallState {
    /// UAS: INVITE received, waiting for accept/reject.
    Incoming {
        /// The INVITE's server transaction.
        tx: ServerKey,
        /// The INVITE (boxed: the other states are small).
        invite: Box<Request>,
    },
    /// UAC: INVITE sent.
    Calling {
        /// The layer above hung up before the answer: CANCEL once a provisional response
        /// allows it (§9.1), BYE should a 2xx come anyway.
        hang_up: Option<Reason>,
        /// The CANCEL is out.
        cancelled: bool,
        /// For the one digest challenge the INVITE may answer (taken when used).
        credentials: Option<Box<super::Credentials>>,
    },
    /// UAS: 2xx sent, waiting for the ACK.
    Answered {
        /// A hang-up asked for meanwhile: the BYE goes out after the ACK.
        hang_up: Option<Reason>,
        /// A transfer asked for meanwhile: its target, REFERred after the ACK.
        refer: Option<String>,
    },
    /// Confirmed dialog.
    Confirmed,
    /// deflect's BYE is out.
    Terminating {
        /// What the layer above is told once the BYE is answered (or crosses the peer's).
        end: EndReason,
    },
}

/// A 2xx to an INVITE retransmitted until the ACK (RFC 3261 §13.3.1.4): over UDP at T1,
/// doubling up to T2; given up after 64·T1 either way.
pub(super) struct Pending2xx {
    pub(super) cseq: u32,
    bytes: Vec<u8>,
    interval: Duration,
    next: Instant,
    give_up: Instant,
}

/// An in-dialog request waiting for the layer above's answer: a re-INVITE or UPDATE offer,
/// or an INFO.
pub(super) struct PendingOffer {
    pub(super) id: u64,
    pub(super) tx_key: ServerKey,
    pub(super) request: Request,
    /// The session timer the request asked for, in force once its 2xx is sent.
    pub(super) session: Option<SessionTimer>,
}

/// An offer of deflect's for a re-INVITE, sent when the dialog allows (see [`Call::reoffer`]).
pub(super) struct Reoffer {
    pub(super) sdp: Vec<u8>,
    /// After a 491 (glare): not before this (§14.1).
    pub(super) not_before: Option<Instant>,
}

/// The dialog's identity and routing (RFC 3261 §12.1): Call-ID and tags, both URIs,
/// both CSeqs, the remote target and route set, and the transport and address its requests
/// go to.
pub(super) struct Dialog {
    pub(super) call_id: String,
    pub(super) local_tag: String,
    pub(super) remote_tag: String,
    /// Our URI as it appears in From (UAC) or To (UAS), without tag.
    pub(super) local_uri: String,
    /// The peer's URI as it appears in To (UAC) or From (UAS), without tag.
    pub(super) remote_uri: String,
    pub(super) local_cseq: u32,
    /// The last CSeq the peer used; a request not above it gets 500 (§12.2.2).
    pub(super) remote_cseq: Option<u32>,
    /// Where in-dialog requests go: the peer's Contact (§12.1).
    pub(super) remote_target: Uri,
    /// Record-Route, as Route headers in the order requests carry them.
    pub(super) route_set: Vec<String>,
    pub(super) transport: SipTransport,
    pub(super) remote: SocketAddr,
}

/// One call: its dialog and what is in flight in it. The in-flight parts stay beside the
/// state rather than in it because a peer can start them in more than one state (a
/// re-INVITE's 2xx awaits its ACK in `Confirmed` or, after deflect's BYE, in
/// `Terminating`; the session timer is agreed in `Incoming` and runs from the 2xx on).
pub(super) struct Call {
    pub(super) state: CallState,
    pub(super) dialog: Dialog,
    /// deflect's current SDP (sent again in a refresh).
    pub(super) local_sdp: Vec<u8>,
    pub(super) pending_2xx: Option<Pending2xx>,
    pub(super) pending_offer: Option<PendingOffer>,
    /// INFO requests waiting for the layer above's answer.
    pub(super) pending_infos: Vec<PendingOffer>,
    /// deflect's own re-INVITE (a session refresh or an offer) is unanswered: a peer's gets
    /// 491.
    pub(super) our_reinvite: bool,
    /// deflect's offer waiting for its re-INVITE: while another INVITE transaction is in
    /// progress (RFC 3261 §14.1), or until the retry time after a 491.
    pub(super) reoffer: Option<Reoffer>,
    pub(super) session: Option<SessionTimer>,
    /// deflect's transfer (REFER) under way.
    pub(super) transfer: Option<Transfer>,
}

/// Where deflect's transfer stands: asked for (REFER out), or taken by the peer (2xx), with
/// NOTIFYs reporting on it until one carries a final status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transfer {
    Asked,
    Accepted,
}

impl Dialog {
    /// A request inside the dialog (RFC 3261 §12.2.1.1) with a Via naming `via_host` and
    /// `branch`: to the remote target, with the route set, deflect's and the peer's tags and
    /// the next local CSeq (an ACK keeps the CSeq it acknowledges; the caller sets it).
    pub(super) fn request(
        &mut self,
        method: Method,
        via_host: &str,
        branch: &str,
        user_agent: &str,
    ) -> Request {
        if method != Method::Ack {
            self.local_cseq += 1;
        }
        // A Contact's URI headers (`?…`) are not allowed in a Request-URI (RFC 3261 §19.1.1,
        // Table 1): the remote target is used without them.
        let mut target = self.remote_target.clone();
        target.headers = None;
        let mut req = Request::new(method.clone(), target);
        let transport = self.transport.via_name();
        req.headers.push(
            "Via",
            format!("SIP/2.0/{transport} {via_host};branch={branch};rport"),
        );
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("{};tag={}", self.local_uri, self.local_tag));
        // An RFC 2543 peer may have sent no tag: then the To has none (§12.2.1.1), rather
        // than an empty `;tag=` no parser takes.
        let to = match self.remote_tag.as_str() {
            "" => self.remote_uri.clone(),
            tag => format!("{};tag={tag}", self.remote_uri),
        };
        req.headers.push("To", to);
        req.headers.push("Call-ID", self.call_id.clone());
        req.headers
            .push("CSeq", format!("{} {method}", self.local_cseq));
        for r in &self.route_set {
            req.headers.push("Route", r.clone());
        }
        req.headers.push("User-Agent", user_agent.to_owned());
        req
    }
}

/// What a [`Pending2xx`] asks for at a deadline.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pending2xxDue {
    /// Not yet.
    Wait,
    /// Send the 2xx again.
    Retransmit(Vec<u8>),
    /// 64·T1 passed without an ACK.
    GiveUp,
}

impl Pending2xx {
    /// The 2xx `bytes` answering the INVITE with CSeq `cseq`, just sent at `now`; over a
    /// reliable transport it is not retransmitted.
    pub(super) fn new(now: Instant, cseq: u32, bytes: Vec<u8>, t1: Duration, udp: bool) -> Self {
        Self {
            cseq,
            bytes,
            interval: t1,
            next: if udp { now + t1 } else { now + 64 * t1 },
            give_up: now + 64 * t1,
        }
    }

    /// When it next needs attention.
    pub(super) fn deadline(&self) -> Instant {
        self.next.min(self.give_up)
    }

    /// What is due at `now`; a retransmission doubles the interval, up to `t2`.
    pub(super) fn poll(&mut self, now: Instant, t2: Duration) -> Pending2xxDue {
        if self.give_up <= now {
            return Pending2xxDue::GiveUp;
        }
        if self.next > now {
            return Pending2xxDue::Wait;
        }
        self.interval = (self.interval * 2).min(t2);
        self.next = now + self.interval;
        Pending2xxDue::Retransmit(self.bytes.clone())
    }
}

impl Call {
    /// The unanswered INVITE's transaction and request, when the call is still `Incoming`;
    /// the call moves to `next`.
    pub(super) fn take_invite(&mut self, next: CallState) -> Option<(ServerKey, Request)> {
        if !matches!(self.state, CallState::Incoming { .. }) {
            return None;
        }
        match std::mem::replace(&mut self.state, next) {
            CallState::Incoming { tx, invite } => Some((tx, *invite)),
            _ => None,
        }
    }

    /// How the call ends once deflect's BYE is answered (set when it went out).
    pub(super) fn expected_end(&self) -> Option<EndReason> {
        match &self.state {
            CallState::Terminating { end } => Some(end.clone()),
            _ => None,
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [
            self.pending_2xx.as_ref().map(Pending2xx::deadline),
            self.session.as_ref().map(SessionTimer::deadline),
            self.reoffer.as_ref().and_then(|r| r.not_before),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether deflect may start a re-INVITE now: the dialog confirmed, no INVITE
    /// transaction either way in progress (RFC 3261 §14.1), no 2xx awaiting its ACK.
    pub(super) fn may_reinvite(&self) -> bool {
        matches!(self.state, CallState::Confirmed)
            && !self.our_reinvite
            && self.pending_offer.is_none()
            && self.pending_2xx.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    const T1: Duration = Duration::from_millis(500);
    const T2: Duration = Duration::from_secs(4);

    #[test]
    fn a_2xx_over_udp_doubles_to_t2_and_gives_up_at_64_t1() {
        let t0 = Instant::now();
        let mut p = Pending2xx::new(t0, 1, b"200".to_vec(), T1, true);
        assert_eq!(p.deadline(), t0 + T1);
        assert_eq!(p.poll(t0 + T1 / 2, T2), Pending2xxDue::Wait);
        let mut sent = Vec::new();
        let given_up = loop {
            let now = p.deadline();
            match p.poll(now, T2) {
                Pending2xxDue::Retransmit(bytes) => {
                    assert_eq!(bytes, b"200");
                    sent.push(now - t0);
                }
                Pending2xxDue::GiveUp => break now,
                Pending2xxDue::Wait => panic!("woken at its deadline for nothing"),
            }
        };
        let ms: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
        assert_eq!(
            ms,
            [
                500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
            ]
        );
        assert_eq!(given_up, t0 + 64 * T1);
    }

    #[test]
    fn a_2xx_over_tcp_is_not_retransmitted() {
        let t0 = Instant::now();
        let mut p = Pending2xx::new(t0, 1, b"200".to_vec(), T1, false);
        assert_eq!(p.deadline(), t0 + 64 * T1);
        assert_eq!(p.poll(t0 + 63 * T1, T2), Pending2xxDue::Wait);
        assert_eq!(p.poll(t0 + 64 * T1, T2), Pending2xxDue::GiveUp);
    }

    fn call(state: CallState) -> Call {
        Call {
            state,
            dialog: Dialog {
                call_id: "c".into(),
                local_tag: "l".into(),
                remote_tag: "r".into(),
                local_uri: "<sip:deflect@example.com>".into(),
                remote_uri: "<sip:alice@example.com>".into(),
                local_cseq: 1,
                remote_cseq: Some(1),
                remote_target: Uri::parse("sip:alice@192.0.2.1").unwrap(),
                route_set: Vec::new(),
                transport: SipTransport::Udp,
                remote: "192.0.2.1:5060".parse().unwrap(),
            },
            local_sdp: Vec::new(),
            pending_2xx: None,
            pending_offer: None,
            pending_infos: Vec::new(),
            our_reinvite: false,
            reoffer: None,
            transfer: None,
            session: None,
        }
    }

    fn invite() -> (ServerKey, Request) {
        let bytes = b"INVITE sip:deflect@example.com SIP/2.0\r\n\
            Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKi\r\n\
            From: <sip:alice@example.com>;tag=r\r\nTo: <sip:deflect@example.com>\r\n\
            Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Request(req)) = Message::parse(bytes, true) else {
            panic!("a valid INVITE");
        };
        let via = req.top_via().unwrap();
        (ServerKey::of(&req, &via), req)
    }

    #[test]
    fn the_invite_is_taken_once_and_only_while_incoming() {
        let (tx, req) = invite();
        let invite = Box::new(req);
        let mut c = call(CallState::Incoming { tx, invite });
        let taken = c.take_invite(CallState::Answered {
            hang_up: None,
            refer: None,
        });
        assert!(taken.is_some_and(|(_, r)| r.method == Method::Invite));
        assert!(matches!(
            c.state,
            CallState::Answered {
                hang_up: None,
                refer: None
            }
        ));
        assert!(c.take_invite(CallState::Confirmed).is_none());
        assert!(matches!(c.state, CallState::Answered { .. }), "unchanged");
    }

    #[test]
    fn the_expected_end_exists_only_once_terminating() {
        let mut c = call(CallState::Confirmed);
        assert_eq!(c.expected_end(), None);
        c.state = CallState::Terminating {
            end: EndReason::SessionExpired,
        };
        assert_eq!(c.expected_end(), Some(EndReason::SessionExpired));
    }

    #[test]
    fn the_deadline_is_the_earlier_of_the_2xx_and_the_session_timer() {
        let t0 = Instant::now();
        let mut c = call(CallState::Confirmed);
        assert_eq!(c.next_deadline(), None);
        c.session = Some(SessionTimer::start(t0, 90, true));
        let session = c.next_deadline().expect("the session timer's");
        c.pending_2xx = Some(Pending2xx::new(t0, 1, Vec::new(), T1, true));
        assert_eq!(c.next_deadline(), Some(t0 + T1));
        c.pending_2xx = None;
        assert_eq!(c.next_deadline(), Some(session));
    }

    #[test]
    fn in_dialog_requests_follow_the_dialog() {
        let mut c = call(CallState::Confirmed);
        c.dialog.remote_target = Uri::parse("sip:alice@192.0.2.1;transport=udp?Subject=x").unwrap();
        c.dialog.route_set = vec!["<sip:p1.example;lr>".into(), "<sip:p2.example;lr>".into()];
        let bye = c
            .dialog
            .request(Method::Bye, "198.51.100.7", "z9hG4bKb", "deflect");
        assert_eq!(bye.uri.to_string(), "sip:alice@192.0.2.1;transport=udp");
        assert_eq!(
            bye.headers.get("Via"),
            Some("SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKb;rport")
        );
        assert_eq!(
            bye.headers.get("From"),
            Some("<sip:deflect@example.com>;tag=l")
        );
        assert_eq!(bye.headers.get("To"), Some("<sip:alice@example.com>;tag=r"));
        assert_eq!(bye.headers.get("CSeq"), Some("2 BYE"));
        let routes: Vec<&str> = bye.headers.get_all("Route").collect();
        assert_eq!(routes, ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]);
        let ack = c
            .dialog
            .request(Method::Ack, "198.51.100.7", "z9hG4bKa", "deflect");
        assert_eq!(
            ack.headers.get("CSeq"),
            Some("2 ACK"),
            "an ACK takes no new CSeq"
        );
    }

    #[test]
    fn a_peer_without_a_tag_gets_a_to_without_one() {
        let mut c = call(CallState::Confirmed);
        c.dialog.remote_tag = String::new();
        let info = c.dialog.request(Method::Info, "h", "z9hG4bKi", "deflect");
        assert_eq!(info.headers.get("To"), Some("<sip:alice@example.com>"));
    }
}
