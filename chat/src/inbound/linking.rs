//! Which conversation a customer's message names, when it names one: the message it answers
//! (its `context` id — a deflection template's wamid), a quick-reply payload
//! (`deflect:<reference>`), or a one-time hand-off code in its text, which moves a web
//! conversation to WhatsApp (same conversation, history kept, code spent).

use super::InboundService;
use crate::clock::Millis;
use crate::lifecycle::{self, dispatch};
use crate::model::{Channel, ChatError, EventKind, Status};
use crate::provider::InboundMessage;
use crate::store::Tx;
use serde_json::json;
use sqlx::Row;

impl InboundService {
    /// The open conversation a reply points at: by context id, then by quick-reply payload.
    pub(super) async fn linked_conversation(
        &self,
        tx: &mut Tx,
        account: &str,
        m: &InboundMessage,
    ) -> Result<Option<i64>, ChatError> {
        if let Some(ctx) = &m.context_id {
            let r = sqlx::query(
                "SELECT c.id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                 WHERE m.account = $1 AND m.external_id = $2 AND c.status <> 'closed'",
            )
            .bind(account)
            .bind(ctx)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(r) = r {
                return Ok(Some(r.get(0)));
            }
        }
        if let Some(reference) = m
            .button_payload
            .as_deref()
            .and_then(crate::model::reference_in_payload)
        {
            let r = sqlx::query(
                "SELECT id FROM conversations WHERE reference = $1 AND status <> 'closed'",
            )
            .bind(reference)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(r) = r {
                return Ok(Some(r.get(0)));
            }
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
        for code in crate::model::candidate_codes(text) {
            let row = sqlx::query(sql!(
                "SELECT conversation_id FROM handoff_codes WHERE code = $1 AND spent_at IS NULL \
                 AND expires_at > $2{}",
                tx.for_update()
            ))
            .bind(&code)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            let Some(row) = row else { continue };
            let target: i64 = row.get(0);
            let c = lifecycle::load(tx, target).await?;
            if c.status == Status::Closed {
                continue;
            }
            sqlx::query("UPDATE handoff_codes SET spent_at = $1 WHERE code = $2")
                .bind(now)
                .bind(&code)
                .execute(tx.conn())
                .await?;
            // The customer's other open WhatsApp conversation on this account, if any, is
            // folded into this one.
            let other = sqlx::query(
                "SELECT id FROM conversations WHERE identity_id = $1 AND account = $2 \
                 AND status <> 'closed' AND id <> $3",
            )
            .bind(identity)
            .bind(account)
            .bind(target)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(o) = other {
                dispatch::close(self.ctx(), tx, o.get(0), "merged", None, now).await?;
            }
            if new_identity && contact != c.contact_id {
                sqlx::query("UPDATE contact_identities SET contact_id = $1 WHERE id = $2")
                    .bind(c.contact_id)
                    .bind(identity)
                    .execute(tx.conn())
                    .await?;
                sqlx::query("DELETE FROM contacts WHERE id = $1")
                    .bind(contact)
                    .execute(tx.conn())
                    .await?;
            }
            // The WhatsApp number is the one replies go to; a different number the customer
            // typed into a form is kept beside it.
            sqlx::query(
                "UPDATE contacts SET form_phone = CASE WHEN phone IS NOT NULL AND phone <> $1 \
                 THEN phone ELSE form_phone END, phone = $1 WHERE id = $2",
            )
            .bind(format!("+{}", m.from))
            .bind(c.contact_id)
            .execute(tx.conn())
            .await?;
            sqlx::query(
                "UPDATE conversations SET channel = 'whatsapp', account = $1, identity_id = $2 WHERE id = $3",
            )
            .bind(account)
            .bind(identity)
            .bind(target)
            .execute(tx.conn())
            .await?;
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
