//! A call's dialog state (RFC 3261 §12): the role deflect plays, where the dialog stands,
//! its identifiers, CSeqs, route set and remote target, and what is in flight (a 2xx
//! awaiting its ACK, an offer or INFO awaiting the layer above, the session timer).

use super::{EndReason, Reason};
use crate::message::{Request, Uri};
use crate::session_timer::SessionTimer;
use crate::transaction::ServerKey;
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Uas,
    Uac,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum CallState {
    /// UAS: INVITE received, waiting for accept/reject.
    Incoming,
    /// UAC: INVITE sent.
    Calling,
    /// 2xx sent or received; in a UAS, waiting for the ACK.
    Answered,
    /// Confirmed dialog.
    Confirmed,
    /// deflect's BYE is out.
    Terminating,
}

/// A 2xx to an INVITE retransmitted until the ACK (RFC 3261 §13.3.1.4).
pub(super) struct Pending2xx {
    pub(super) cseq: u32,
    pub(super) bytes: Vec<u8>,
    pub(super) interval: Duration,
    pub(super) next: Instant,
    pub(super) give_up: Instant,
}

pub(super) struct PendingOffer {
    pub(super) id: u64,
    pub(super) tx_key: ServerKey,
    pub(super) request: Request,
    /// The session timer the request asked for, in force once its 2xx is sent.
    pub(super) session: Option<SessionTimer>,
}

pub(super) struct Call {
    pub(super) role: Role,
    pub(super) state: CallState,
    pub(super) call_id: String,
    pub(super) local_tag: String,
    pub(super) remote_tag: String,
    /// Our URI as it appears in From (UAC) or To (UAS), without tag.
    pub(super) local_uri: String,
    pub(super) remote_uri: String,
    pub(super) local_cseq: u32,
    pub(super) remote_cseq: Option<u32>,
    pub(super) remote_target: Uri,
    pub(super) route_set: Vec<String>,
    pub(super) transport: SipTransport,
    pub(super) remote: SocketAddr,
    /// The initial INVITE while it is unanswered (UAS).
    pub(super) invite: Option<(ServerKey, Request)>,
    pub(super) local_sdp: Vec<u8>,
    pub(super) pending_2xx: Option<Pending2xx>,
    pub(super) pending_offer: Option<PendingOffer>,
    /// INFO requests waiting for the layer above's answer.
    pub(super) pending_infos: Vec<PendingOffer>,
    pub(super) hangup_after_ack: Option<Reason>,
    pub(super) our_reinvite: bool,
    pub(super) session: Option<SessionTimer>,
    pub(super) expected_end: Option<EndReason>,
}

impl Call {
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let a = self.pending_2xx.as_ref().map(|p| p.next.min(p.give_up));
        let b = self.session.as_ref().map(SessionTimer::deadline);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
