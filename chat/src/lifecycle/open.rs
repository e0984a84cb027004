//! Opening conversations: the contact and identity of a WhatsApp id, a customer's open
//! conversation on an account (or a new one), and what every new conversation starts with —
//! its `conversation.created` event.

use super::conversation_event;
use crate::clock::Millis;
use crate::model::{ChatError, EventKind, Origin, Status, random_token};
use crate::repo::{self, contacts::WHATSAPP};
use crate::store::Tx;
use serde_json::json;

/// The contact identity of a WhatsApp id (created with a contact when new, named `name`;
/// a known contact without a name gets it); returns (identity, contact, created).
pub(crate) async fn whatsapp_identity(
    tx: &mut Tx,
    wa_id: &str,
    name: Option<&str>,
    now: Millis,
) -> Result<(i64, i64, bool), ChatError> {
    if let Some(i) = repo::contacts::whatsapp_identity(tx, wa_id).await? {
        if let (Some(n), None) = (name, &i.name) {
            repo::contacts::name_if_unnamed(tx, i.contact, n).await?;
        }
        return Ok((i.id, i.contact, false));
    }
    let phone = format!("+{wa_id}");
    let contact = repo::contacts::insert(tx, name, Some(&phone), now).await?;
    match repo::contacts::insert_identity(tx, contact, WHATSAPP, wa_id, now).await? {
        Some(identity) => Ok((identity, contact, true)),
        None => {
            // Another process created it first.
            repo::contacts::delete(tx, contact).await?;
            let i = repo::contacts::whatsapp_identity(tx, wa_id)
                .await?
                .ok_or(ChatError::NotFound("contact identity"))?;
            Ok((i.id, i.contact, false))
        }
    }
}

/// A WhatsApp conversation to find or open.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WhatsAppConversation<'a> {
    pub(crate) identity: i64,
    pub(crate) contact: i64,
    pub(crate) account: &'a str,
    /// How it begins, if it is new.
    pub(crate) origin: Origin,
    /// Where it stands, if it is new.
    pub(crate) status: Status,
    /// Its queue, if it is new.
    pub(crate) queue: &'a str,
    /// The IVR flow whose deflected call opens it, if it is new.
    pub(crate) flow: Option<&'a str>,
}

/// The open conversation of an identity on an account, opening one when there is none;
/// returns (id, created).
pub(crate) async fn whatsapp_conversation(
    tx: &mut Tx,
    w: WhatsAppConversation<'_>,
    now: Millis,
) -> Result<(i64, bool), ChatError> {
    if let Some(id) = repo::conversations::open_of(tx, w.identity, w.account).await? {
        return Ok((id, false));
    }
    for _ in 0..5 {
        let reference = random_token(6);
        let inserted = repo::conversations::insert_whatsapp(
            tx, &reference, w.contact, w.identity, w.account, w.origin, w.status, w.queue, w.flow,
            now,
        )
        .await?;
        if let Some(id) = inserted {
            created(tx, id, now).await?;
            return Ok((id, true));
        }
        // Either another process opened one (use it) or the reference collided (retry).
        if let Some(id) = repo::conversations::open_of(tx, w.identity, w.account).await? {
            return Ok((id, false));
        }
    }
    Err(ChatError::Conflict("could not open a conversation".into()))
}

/// Bookkeeping for a new conversation: its event. (Its inactivity timer starts when an
/// agent answers the customer: see `lifecycle::waiting`.)
pub(crate) async fn created(tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
    conversation_event(tx, id, EventKind::ConversationCreated, json!({}), now).await?;
    metrics::counter!("deflect_inbox_conversations_total").increment(1);
    Ok(())
}
