//! Calls' records as the inbox keeps and lists them (`GET /api/v1/calls`): the IVR's
//! [`CallRecord`] with the row's id, and the filter a listing takes.

use crate::clock::Millis;
pub use deflect_config::{CallOutcome, CallRecord};
use serde::{Deserialize, Serialize};

/// A kept call record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCall {
    /// Id (newest highest).
    pub id: i64,
    /// The record.
    #[serde(flatten)]
    pub record: CallRecord,
}

/// Which call records a listing returns, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Arrived at or after (ms).
    pub from: Option<Millis>,
    /// Arrived before (ms).
    pub to: Option<Millis>,
    /// Ended so.
    pub outcome: Option<CallOutcome>,
    /// Came in on this trunk.
    pub trunk: Option<String>,
    /// Routed to this flow.
    pub flow: Option<String>,
    /// From this number (as recorded).
    pub caller: Option<String>,
    /// Only ids below this (paging).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// What to do when a customer has not allowed calls (the end of every such refusal).
pub(crate) const ASK_FOR_CALLS: &str =
    "ask them with a call permission request (interactive.type: call_permission_request)";

/// A customer an agent may call on WhatsApp (see [`crate::Inbox::call_target`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallTarget {
    /// The account (`[[whatsapp.accounts]]` name, with `calling`) whose number calls.
    pub account: String,
    /// The customer's WhatsApp id (their number's digits).
    pub whatsapp_id: String,
    /// The conversation the call is placed from.
    pub conversation_id: i64,
}
