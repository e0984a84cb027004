//! What the endpoint and the layer above exchange: the calls offered, the events of a call
//! and why it ended, registration states, the commands' arguments and the bytes to send.

use crate::message::{NameAddr, Uri};
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::Duration;

/// Methods deflect answers.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY";
/// Extensions deflect supports.
pub const SUPPORTED: &str = "timer";

/// Identifies one call (dialog) inside an [`Endpoint`](super::Endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

/// Bytes to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Transport to send on.
    pub transport: SipTransport,
    /// Peer address (for TCP: the connection to that address, made if needed).
    pub remote: SocketAddr,
    /// The message.
    pub data: Vec<u8>,
}

/// A call offered to the layer above; answer with [`super::Endpoint::accept`] or
/// [`super::Endpoint::reject`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingCall {
    /// The call's key.
    pub key: CallKey,
    /// Call-ID.
    pub call_id: String,
    /// From.
    pub from: NameAddr,
    /// To.
    pub to: NameAddr,
    /// Request-URI.
    pub request_uri: Uri,
    /// First P-Asserted-Identity (RFC 3325), a good default callback number.
    pub asserted_identity: Option<NameAddr>,
    /// Name of the trunk it came from.
    pub trunk: String,
    /// Whether that trunk wants in-band DTMF detection.
    pub inband_dtmf: bool,
    /// That trunk's SRTP policy.
    pub srtp: deflect_config::SrtpPolicy,
    /// What that trunk's calls send while nothing plays.
    pub idle_media: deflect_config::IdleMedia,
    /// Source address.
    pub source: SocketAddr,
    /// Transport it came over.
    pub transport: SipTransport,
    /// The SDP offer, when the INVITE carried one (else deflect offers in the 200 OK and the
    /// answer arrives as [`CallEvent::Answered`]).
    pub offer: Option<Vec<u8>>,
}

impl IncomingCall {
    /// User part of From, percent-decoded.
    pub fn from_user(&self) -> Option<String> {
        self.from.uri.user_decoded()
    }
    /// User part of To, percent-decoded.
    pub fn to_user(&self) -> Option<String> {
        self.to.uri.user_decoded()
    }
    /// User part of the Request-URI (the dialled number), percent-decoded.
    pub fn request_user(&self) -> Option<String> {
        self.request_uri.user_decoded()
    }
}

/// What the layer above learns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new call waits for accept or reject.
    Incoming(Box<IncomingCall>),
    /// Something happened in a call.
    Call(CallKey, CallEvent),
    /// A trunk server's health changed (or is known for the first time): it answered an
    /// OPTIONS (`up`), or failed (5xx) or stopped answering (`status` 408).
    TrunkHealth {
        /// Trunk name.
        trunk: String,
        /// The server, as configured.
        address: String,
        /// Whether it is up now.
        up: bool,
        /// The probe's final status; 408 when it timed out.
        status: u16,
    },
    /// A trunk registration changed state.
    Registration {
        /// Trunk name.
        trunk: String,
        /// New state.
        state: RegistrationState,
    },
}

/// In-call events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// The peer offers new SDP (re-INVITE or UPDATE); answer with [`super::Endpoint::answer_offer`].
    Offer {
        /// Identifies this offer in the answer.
        offer: u64,
        /// The SDP offer.
        sdp: Vec<u8>,
    },
    /// The peer's SDP answer: in a 2xx to deflect's INVITE, or in the ACK when deflect
    /// offered in its 200 OK.
    Answered {
        /// The SDP answer (empty when the 2xx carried none).
        sdp: Vec<u8>,
    },
    /// The answer to deflect's own offer in a re-INVITE ([`super::Endpoint::reoffer`]):
    /// `Ok` with the SDP of its 2xx, or `Err` with the failure status (the session stays as
    /// it was, RFC 3264 §8; a 408 or 481 also ends the call).
    Reoffered(Result<Vec<u8>, u16>),
    /// A provisional response to deflect's INVITE.
    Progress {
        /// Status code (180, 183, …).
        status: u16,
    },
    /// An INFO request (DTMF relay arrives this way). Answer it with
    /// [`super::Endpoint::answer_info`]: 200 when the body was understood, 415 for a Content-Type
    /// not taken, 400 for a body that cannot be read. An INFO still unanswered when the call
    /// ends gets 481.
    Info {
        /// Identifies this request in the answer.
        request: u64,
        /// Its Content-Type.
        content_type: String,
        /// Its body.
        body: Vec<u8>,
    },
    /// How the transfer asked for with [`super::Endpoint::refer`] goes.
    Transfer(TransferEvent),
    /// The peer asks deflect to take the call to `target` (a REFER: deflect the transferee).
    /// Answer it with [`super::Endpoint::answer_refer`]: 202 to take it, then report how
    /// the call to the target goes with [`super::Endpoint::notify_transfer`]; 4xx/5xx to
    /// refuse it. One still unanswered when the call ends gets 481.
    Referred {
        /// Identifies this request in the answer.
        request: u64,
        /// The `Refer-To` URI.
        target: String,
    },
    /// The call is over.
    Ended(EndReason),
}

/// How a blind transfer (REFER, RFC 3515) goes: the peer takes the REFER, then reports the
/// call it places to the target in NOTIFYs carrying its status line (`message/sipfrag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferEvent {
    /// The peer took the REFER (2xx) and calls the target.
    Accepted,
    /// The target's call progresses (a 1xx in a NOTIFY).
    Progress(u16),
    /// The target answered (a 2xx in a NOTIFY): the call is theirs; deflect hangs up.
    Answered,
    /// The transfer failed: the REFER's failure status (408 when unanswered), the target's
    /// (486 busy, 480 no answer, …), or 487 when the peer ended its reports without one.
    Failed(u16),
}

/// Why a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The peer sent BYE, with this `Reason` header (RFC 3326) if it had one.
    RemoteHangup {
        /// The BYE's Reason header, as received.
        reason: Option<String>,
    },
    /// The caller cancelled before the answer.
    Cancelled,
    /// The ACK for deflect's 200 OK never came (64·T1); deflect sent BYE.
    AckTimeout,
    /// No session refresh arrived in time (RFC 4028); deflect sent BYE.
    SessionExpired,
    /// deflect hung up (its BYE was answered or timed out).
    HungUp,
    /// deflect's INVITE got a final failure response.
    Rejected(u16),
    /// deflect's INVITE got no answer.
    Timeout,
}

/// Registration state of a trunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// Registered for this many seconds.
    Registered {
        /// Granted lifetime.
        expires: u32,
    },
    /// The registrar refused or did not answer; retried after `retry_in`.
    Failed {
        /// Final status, 408 on timeout.
        status: u16,
        /// Back-off before the next attempt.
        retry_in: Duration,
    },
    /// Left at shutdown: the `Expires: 0` REGISTER got this final status (408 on timeout).
    Unregistered {
        /// Final status.
        status: u16,
    },
}

/// A `Reason` header value (RFC 3326) for deflect's BYE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(pub String);

impl Reason {
    /// `Q.850;cause=N;text="…"`.
    pub fn q850(cause: u16, text: &str) -> Self {
        Self(format!(
            "Q.850;cause={cause};text={}",
            crate::message::syntax::quote(text)
        ))
    }
    /// `SIP;cause=N;text="…"`.
    pub fn sip(cause: u16, text: &str) -> Self {
        Self(format!(
            "SIP;cause={cause};text={}",
            crate::message::syntax::quote(text)
        ))
    }
}

/// An outgoing call (the UAC side, for the test dialler).
#[derive(Clone, Debug)]
pub struct OutgoingCall {
    /// Request-URI, e.g. `sip:31201234567@127.0.0.1:5060`.
    pub uri: Uri,
    /// Where to send it.
    pub remote: SocketAddr,
    /// Transport.
    pub transport: SipTransport,
    /// From user (e.g. the caller's number).
    pub from_user: String,
    /// SDP offer.
    pub sdp: Vec<u8>,
    /// A `Route` header value (an outbound proxy: `<sip:proxy.example;lr>`), sent with the
    /// INVITE and its route set until the answer's `Record-Route` replaces it.
    pub route: Option<String>,
    /// Credentials for one digest challenge (401/407) to the INVITE.
    pub credentials: Option<Credentials>,
    /// The trunk server it goes to, when it goes through a trunk: over TLS that trunk's
    /// policy applies (`tls_ca`, `tls_pins`, `tls_server_name`) to the server's name;
    /// otherwise the Request-URI's host is verified against the public roots.
    pub through: Option<Through>,
}

/// A trunk and one of its servers (a host name or address), a call goes out through.
#[derive(Clone, Debug)]
pub struct Through {
    /// `name` in `[[sip.trunks]]`.
    pub trunk: String,
    /// The server's host, as in its URI.
    pub server: String,
}

/// A user name and password for answering a digest challenge.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Digest user name.
    pub username: String,
    /// Its password.
    pub password: deflect_config::Secret,
}
