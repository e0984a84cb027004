//! A customer's answer by SMS to the fallback's SMS (see `provider::sms`): it joins the
//! open conversation of that number on the account, which continues by SMS from then on
//! (`conversation.channel_changed`); a deflection waiting for its answer queues. An SMS
//! from a number with no open conversation on the account is not kept (counted in
//! `deflect_inbox_sms_unmatched_total`): the fallback number is for answers, not a channel
//! of its own.

use super::InboundService;
use crate::lifecycle::{self, automation};
use crate::model::{Channel, ChatError, EventKind, Status};
use crate::provider::sms::InboundSms;
use crate::repo;
use serde_json::json;

impl InboundService {
    /// Stores `sms` for `account` (verified); returns the conversation it joined, none when
    /// it was stored before or joins none.
    pub(crate) async fn receive_sms(
        &self,
        account: &str,
        sms: &InboundSms,
    ) -> Result<Option<i64>, ChatError> {
        if self.account(account).is_none() {
            return Err(ChatError::NotFound("WhatsApp account"));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let digits = sms.from.trim_start_matches('+');
        let open = match repo::contacts::whatsapp_identity(&mut tx, digits).await? {
            Some(identity) => repo::conversations::open_of(&mut tx, identity.id, account).await?,
            None => None,
        };
        let Some(id) = open else {
            tracing::info!(
                account,
                "an SMS from a number without an open conversation; not kept"
            );
            metrics::counter!("deflect_inbox_sms_unmatched_total").increment(1);
            return Ok(None);
        };
        let key = (account, sms.external_id.as_str());
        let Some(m) = repo::messages::insert_sms_in(&mut tx, id, key, &sms.body, now).await? else {
            return Ok(None);
        };
        repo::conversations::received(&mut tx, id, now).await?;
        let c = lifecycle::load(&mut tx, id).await?;
        if c.channel != Channel::Sms {
            repo::conversations::move_to_sms(&mut tx, id).await?;
            let data = json!({ "channel": Channel::Sms });
            lifecycle::conversation_event(
                &mut tx,
                id,
                EventKind::ConversationChannelChanged,
                data,
                now,
            )
            .await?;
        }
        repo::events::log(
            &mut tx,
            Some(id),
            EventKind::MessageCreated,
            json!({ "message": m }),
            now,
        )
        .await?;
        if c.status == Status::Pending {
            let c = lifecycle::load(&mut tx, id).await?;
            automation::answered(self.ctx(), &mut tx, &c, &m, now).await?;
        }
        tx.commit().await?;
        metrics::counter!("deflect_inbox_messages_total", "direction" => "in", "channel" => "sms")
            .increment(1);
        Ok(Some(id))
    }
}
