//! A deflection as the inbox takes it: the finished IVR call asking for a WhatsApp
//! callback, and what taking it did.

use crate::clock::Millis;
use crate::model::InputMethod;
use serde::{Deserialize, Serialize};

/// A finished IVR call asking for a WhatsApp callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeflectionRequest {
    /// The call's id (SIP Call-ID); one deflection per call id.
    pub call_id: String,
    /// Who called (as signalled), if known.
    pub caller: Option<String>,
    /// Where to send the template (E.164).
    pub callback_number: String,
    /// The number dialled.
    pub dialled_number: Option<String>,
    /// The IVR flow's name.
    pub flow: Option<String>,
    /// The call's language.
    pub language: Option<String>,
    /// When the call began (ms since the epoch).
    pub started_at: Millis,
    /// When it ended (ms since the epoch).
    pub ended_at: Millis,
    /// How the caller gave the number.
    pub input_method: InputMethod,
    /// What the caller said, for speech input.
    pub transcript: Option<String>,
    /// WhatsApp account to use (the flow's); `None`: the default account.
    pub account: Option<String>,
    /// Queue for the conversation (the flow's); `None`: the default queue.
    pub queue: Option<String>,
}

/// What [`crate::Inbox::deflect`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deflected {
    /// The conversation.
    pub conversation_id: i64,
    /// Its reference (the template's parameter).
    pub reference: String,
    /// The template message.
    pub message_id: i64,
    /// False when this call id was deflected before (nothing new happened).
    pub created: bool,
}
