//! The record of one call, answered or not — a caller's, or an agent's call to a WhatsApp
//! customer —, defined once here: the IVR makes it when the call ends and hands it to the
//! inbox, which stores it (`GET /api/v1/calls`, the `call.finished` webhook). Times are
//! milliseconds since the Unix epoch.

use crate::deflection::{InputMethod, PathStep};
use serde::{Deserialize, Serialize};

/// What happened on one call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// SIP Call-ID; one record per call id.
    pub call_id: String,
    /// The trunk it came in on (`whatsapp:<account>`, `widget:<site>` for those calls).
    pub trunk: String,
    /// The calling number (P-Asserted-Identity, else From) in E.164 where it is one; `None`
    /// when withheld. An agent's call's: the business number.
    pub caller: Option<String>,
    /// The number called (Request-URI or To user part), as received. An agent's call's: the
    /// customer's.
    pub dialled_number: Option<String>,
    /// The IVR flow it was routed to.
    pub flow: Option<String>,
    /// The flow's language.
    pub language: Option<String>,
    /// When the INVITE arrived.
    pub started_at: i64,
    /// When the call was answered; `None` when it never was.
    pub answered_at: Option<i64>,
    /// When it ended.
    pub ended_at: i64,
    /// How it ended.
    pub outcome: CallOutcome,
    /// The SIP status or the `Reason` (RFC 3326, Q.850 cause) it ended with, when there was
    /// one: `SIP 503`, `Q.850;cause=16;text="Normal call clearing"`.
    pub reason: Option<String>,
    /// How the caller gave a callback number, when they gave one.
    pub input_method: Option<InputMethod>,
    /// What they typed or said for it.
    pub transcript: Option<String>,
    /// The flow's steps the caller went through (as a deflection's call context has them).
    pub path: Vec<PathStep>,
    /// Where the WhatsApp message went (E.164), for a deflected call.
    pub callback_number: Option<String>,
    /// Where a `transfer` step sent the call (its target URI), whether or not the transfer
    /// succeeded (the outcome says).
    #[serde(default)]
    pub transfer_target: Option<String>,
    /// The conversation the call belongs to: the widget conversation it was placed from, or
    /// the caller's open WhatsApp conversation on the account a WhatsApp call reached. The
    /// call shows there as a note.
    #[serde(default)]
    pub conversation_id: Option<i64>,
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The caller confirmed a callback number: a WhatsApp message is on its way.
    Deflected,
    /// Handed to a person: the transfer target answered.
    Transferred,
    /// An abuse limit refused the deflection.
    LimitReached,
    /// The attempts of a gather or confirm ran out.
    TooManyAttempts,
    /// The flow ended (a `hangup` step, or the end of its steps).
    FlowEnded,
    /// The caller hung up first.
    CallerHungUp,
    /// No audio came from the caller for the media's RTP timeout.
    TimedOut,
    /// The call reached its longest duration.
    MaxDuration,
    /// The caller cancelled before the answer.
    Cancelled,
    /// Refused before the answer (no media ports, an offer deflect cannot take).
    Rejected,
    /// Cut off by a shutdown past its grace period.
    CutOff,
    /// Anything else (no ACK, the session expired, an unusable answer).
    Failed,
    /// An agent's call to a WhatsApp customer that the customer answered.
    AgentCallAnswered,
    /// An agent's call to a WhatsApp customer that did not reach them: declined, not
    /// answered, refused by WhatsApp (the reason says).
    AgentCallUnanswered,
}

impl CallOutcome {
    /// Every outcome, in the order above.
    pub const ALL: [Self; 14] = [
        Self::Deflected,
        Self::Transferred,
        Self::LimitReached,
        Self::TooManyAttempts,
        Self::FlowEnded,
        Self::CallerHungUp,
        Self::TimedOut,
        Self::MaxDuration,
        Self::Cancelled,
        Self::Rejected,
        Self::CutOff,
        Self::Failed,
        Self::AgentCallAnswered,
        Self::AgentCallUnanswered,
    ];

    /// Its stable name (as stored, in the API and as a metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deflected => "deflected",
            Self::Transferred => "transferred",
            Self::LimitReached => "limit_reached",
            Self::TooManyAttempts => "too_many_attempts",
            Self::FlowEnded => "flow_ended",
            Self::CallerHungUp => "caller_hung_up",
            Self::TimedOut => "timed_out",
            Self::MaxDuration => "max_duration",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::CutOff => "cut_off",
            Self::Failed => "failed",
            Self::AgentCallAnswered => "agent_call_answered",
            Self::AgentCallUnanswered => "agent_call_unanswered",
        }
    }

    /// The outcome of a stable name, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_back_from_their_names_and_json() {
        for o in CallOutcome::ALL {
            assert_eq!(CallOutcome::parse(o.as_str()), Some(o));
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
        }
        assert_eq!(CallOutcome::parse("answered"), None);
    }
}
