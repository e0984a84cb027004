//! The sandbox: a WhatsApp account whose "provider" is deflect itself, for trying flows
//! without Meta or Twilio. What deflect sends to a number is read back from the messages
//! table; a reply typed into the sandbox phone becomes an inbound message delivered exactly
//! as a provider's webhook would deliver it (the inbox hands it to the inbound service).

use crate::context::Ctx;
use crate::model::{ChatError, Interactive, Message};
use crate::provider::InboundMessage;
use crate::repo;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A customer's reply typed into the sandbox phone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxReply {
    /// Text (or the tapped button's title).
    pub text: String,
    /// Quick-reply payload of a tapped button.
    pub button_payload: Option<String>,
    /// The id of the message answered (a template's external id).
    pub context_id: Option<String>,
}

/// Sandbox: the messages sent to `number` (E.164 or digits) from a sandbox account,
/// oldest first, internal notes excluded.
pub(crate) async fn outgoing(
    ctx: &Ctx,
    account: &str,
    number: &str,
) -> Result<Vec<Message>, ChatError> {
    ensure_sandbox(ctx, account)?;
    let wa_id = number.trim_start_matches('+');
    Ok(repo::messages::of_whatsapp_id(ctx.store(), account, wa_id).await?)
}

/// Sandbox: a customer's reply from `number`, as the inbound message a webhook would
/// deliver.
pub(crate) fn reply_message(
    ctx: &Ctx,
    account: &str,
    number: &str,
    reply: &SandboxReply,
) -> Result<InboundMessage, ChatError> {
    ensure_sandbox(ctx, account)?;
    let digits = number.trim_start_matches('+');
    if !deflect_config::is_e164(&format!("+{digits}")) {
        return Err(ChatError::Invalid(format!(
            "{number:?} is not an E.164 number"
        )));
    }
    let kind = if reply.button_payload.is_some() {
        "button"
    } else {
        "text"
    };
    let m = InboundMessage {
        // Names its sender: a relay agent's messages live in their customers' conversations,
        // and their phone finds them by it.
        external_id: format!(
            "{}{digits}.{}",
            repo::messages::SANDBOX_IN,
            crate::model::random_token(12)
        ),
        from: digits.to_string(),
        profile_name: None,
        timestamp: ctx.now(),
        kind: kind.into(),
        body: Some(reply.text.clone()),
        context_id: reply.context_id.clone(),
        button_payload: reply.button_payload.clone(),
        // A tapped button: its payload is the choice's id, its title the text.
        interactive: (reply.button_payload.clone()).map(|id| Interactive::ButtonReply {
            id,
            title: reply.text.clone(),
        }),
        media: Vec::new(),
        raw: json!({ "sandbox": reply }),
    };
    Ok(m)
}

fn ensure_sandbox(ctx: &Ctx, account: &str) -> Result<(), ChatError> {
    match ctx.account(account) {
        Some(a) if a.provider == deflect_config::Provider::Sandbox => Ok(()),
        Some(_) => Err(ChatError::Invalid(format!(
            "{account:?} is not a sandbox account"
        ))),
        None => Err(ChatError::NotFound("WhatsApp account")),
    }
}
