//! Which conversation a customer's message names, when it names one: the message it answers
//! (its `context` id — a deflection template's wamid), a quick-reply payload
//! (`deflect:<reference>`), or a one-time hand-off code in its text, which moves a web
//! conversation to WhatsApp (same conversation, history kept, code spent).

use super::InboundService;
use crate::clock::Millis;
use crate::lifecycle::{self, dispatch};
use crate::model::{Channel, ChatError, EventKind, Status, candidate_codes, reference_in_payload};
use crate::provider::InboundMessage;
use crate::repo;
use crate::store::Tx;
use serde_json::json;

impl InboundService {
    /// The open conversation a reply points at: by context id, then by quick-reply payload.
    pub(super) async fn linked_conversation(
        &self,
        tx: &mut Tx,
        account: &str,
        m: &InboundMessage,
    ) -> Result<Option<i64>, ChatError> {
        if let Some(answered) = &m.context_id
            && let Some(id) = repo::messages::open_conversation_of(tx, account, answered).await?
        {
            return Ok(Some(id));
        }
        if let Some(reference) = m.button_payload.as_deref().and_then(reference_in_payload)
            && let Some(id) = repo::conversations::open_by_reference(tx, reference).await?
        {
            return Ok(Some(id));
        }
        Ok(None)
    }

    /// A text carrying an unspent hand-off code continues that (web) conversation on
    /// WhatsApp: same conversation, history kept, code spent.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn handoff(
        &self,
        tx: &mut Tx,
        account: &str,
        identity: i64,
        contact: i64,
        new_identity: bool,
        m: &InboundMessage,
        now: Millis,
    ) -> Result<Option<i64>, ChatError> {
        let Some(text) = m.body.as_deref().filter(|_| m.kind == "text") else {
            return Ok(None);
        };
        for code in candidate_codes(text) {
            let Some(target) = repo::handoff_codes::live(tx, &code, now).await? else {
                continue;
            };
            let c = lifecycle::load(tx, target).await?;
            if c.status == Status::Closed {
                continue;
            }
            repo::handoff_codes::spend(tx, &code, now).await?;
            // The customer's other open WhatsApp conversation on this account, if any, is
            // folded into this one.
            if let Some(o) =
                repo::conversations::other_open_of(tx, identity, account, target).await?
            {
                dispatch::close(self.ctx(), tx, o, "merged", None, now).await?;
            }
            if new_identity && contact != c.contact_id {
                repo::contacts::move_identity(tx, identity, c.contact_id).await?;
                repo::contacts::delete(tx, contact).await?;
            }
            // The WhatsApp number is the one replies go to; a different number the customer
            // typed into a form is kept beside it.
            repo::contacts::set_whatsapp_phone(tx, c.contact_id, &format!("+{}", m.from)).await?;
            repo::conversations::move_to_whatsapp(tx, target, account, identity).await?;
            lifecycle::conversation_event(
                tx,
                target,
                EventKind::ConversationChannelChanged,
                json!({ "channel": Channel::Whatsapp, "code": code }),
                now,
            )
            .await?;
            return Ok(Some(target));
        }
        Ok(None)
    }
}
