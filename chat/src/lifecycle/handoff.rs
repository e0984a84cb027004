//! Moving a web conversation toward WhatsApp: the widget's offer to continue there, and the
//! one-time code whose WhatsApp message carries the conversation over (the inbound service
//! spends it).

use super::conversation_event;
use crate::clock::{self, Millis};
use crate::model::{
    CODE_LEN, ChatError, EscalationReason, EventKind, Handoff, handoff_text, random_token,
};
use crate::repo;
use crate::store::Tx;
use deflect_config::AccountConfig;
use serde_json::json;

/// Offers waiting conversation `id` WhatsApp (once): records when and why, and tells the
/// visitor's widget (`conversation.escalation_offered`).
pub(crate) async fn offer_escalation(
    tx: &mut Tx,
    id: i64,
    reason: EscalationReason,
    now: Millis,
) -> Result<(), ChatError> {
    repo::conversations::set_escalation_at(tx, id, now).await?;
    let data = json!({ "reason": reason });
    conversation_event(tx, id, EventKind::ConversationEscalationOffered, data, now).await?;
    metrics::counter!("deflect_widget_escalations_total", "reason" => reason.as_str()).increment(1);
    Ok(())
}

/// Issues a one-time code that continues conversation `id` on `account`, valid for `ttl`.
pub(crate) async fn issue_code(
    tx: &mut Tx,
    id: i64,
    account: &AccountConfig,
    ttl: std::time::Duration,
    now: Millis,
) -> Result<Handoff, ChatError> {
    let expires_at = now + clock::ms(ttl);
    let mut code = String::new();
    for _ in 0..5 {
        let candidate = random_token(CODE_LEN);
        if repo::handoff_codes::insert(tx, &candidate, id, &account.name, now, expires_at).await? {
            code = candidate;
            break;
        }
    }
    if code.is_empty() {
        return Err(ChatError::Conflict("could not allocate a code".into()));
    }
    let data = json!({ "account": account.name, "expires_at": expires_at });
    repo::events::log(
        tx,
        Some(id),
        EventKind::ConversationHandoffOffered,
        data,
        now,
    )
    .await?;
    let text = handoff_text(&code);
    let digits = account.business_number.trim_start_matches('+');
    let url = format!(
        "https://wa.me/{digits}?text={}",
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
    );
    Ok(Handoff {
        code,
        text,
        url,
        expires_at,
    })
}
