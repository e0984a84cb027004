//! Delivery statuses of outgoing messages: they only move forward (sent → delivered → read;
//! failed is final), whether a provider's callback reports them or the outbox records that a
//! provider accepted a message; a status for a message not recorded yet (it can overtake the
//! send's answer) is kept and applied when the message's id is recorded. Failures: 131047
//! (outside the 24 h window) tells agents the recontact template is needed; 131026 marks the
//! conversation unreachable.

use super::conversation_event;
use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{ChatError, DeliveryStatus, EventKind};
use crate::provider::{ErrorMeaning, StatusUpdate, correlated, error_meaning};
use crate::repo;
use crate::store::Tx;
use serde_json::json;

/// Counts a failure to record what a provider accepted.
pub(crate) fn record_failed(reason: &'static str) {
    metrics::counter!("deflect_outbox_record_failures_total", "reason" => reason).increment(1);
}

/// Applies a delivery status from `account`'s provider. A status that names the send it is
/// about (its correlation) first confirms that send, which may still be waiting for the
/// provider's answer.
pub(crate) async fn apply(
    ctx: &Ctx,
    tx: &mut Tx,
    account: &str,
    s: &StatusUpdate,
    now: Millis,
) -> Result<(), ChatError> {
    if let Some(id) = s.correlation.as_deref().and_then(correlated) {
        confirm_from_callback(ctx, tx, account, id, &s.external_id, now).await?;
    }
    let Some((message, conversation)) =
        repo::messages::by_external_id(tx, account, &s.external_id).await?
    else {
        let title = s.error_title.as_deref();
        repo::early_statuses::keep(
            tx,
            account,
            &s.external_id,
            s.status,
            s.error_code,
            title,
            now,
        )
        .await?;
        return Ok(());
    };
    let title = s.error_title.as_deref();
    advance(
        ctx,
        tx,
        message,
        conversation,
        s.status,
        s.error_code,
        title,
        now,
    )
    .await
}

/// Moves a message's status forward (never back) and reacts to failures.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn advance(
    ctx: &Ctx,
    tx: &mut Tx,
    message: i64,
    conversation: i64,
    status: DeliveryStatus,
    error_code: Option<i64>,
    error_title: Option<&str>,
    now: Millis,
) -> Result<(), ChatError> {
    if !repo::messages::advance_status(tx, message, status, error_code, error_title).await? {
        return Ok(());
    }
    let meaning = error_code.map(|c| error_meaning(Some(c)));
    let mut data = json!({ "message_id": message, "status": status, "error_code": error_code,
                           "error_title": error_title, "error_meaning": meaning });
    if status == DeliveryStatus::Sent {
        // Accepted by the provider: the `message.sent` webhook carries the message.
        data["message"] = json!(repo::messages::reload(tx, message).await?);
    }
    repo::events::log(tx, Some(conversation), EventKind::MessageStatus, data, now).await?;
    if status == DeliveryStatus::Failed {
        metrics::counter!("deflect_inbox_delivery_failures_total").increment(1);
        // A relay's message to its agent failing says nothing of the customer's number.
        if repo::messages::reload(tx, message).await?.internal {
            super::relay::copy_failed(ctx, tx, conversation, error_code, now).await?;
        } else {
            on_failure(ctx, tx, conversation, error_code, now).await?;
        }
    }
    Ok(())
}

/// Tells the conversation why its queued `message` was not sent yet and when it is tried
/// again (`retry_at`): the provider's code and text are kept on the message (shown across
/// reloads) and a `message.status` event (status `queued`, `retry_at`) reaches the inbox.
pub(crate) async fn retrying(
    tx: &mut Tx,
    message: i64,
    error_code: Option<i64>,
    error_title: &str,
    retry_at: Millis,
    now: Millis,
) -> Result<(), ChatError> {
    if !repo::messages::note_retry(tx, message, error_code, error_title).await? {
        return Ok(());
    }
    let conversation = repo::messages::conversation_of(tx, message).await?;
    let meaning = error_code.map(|c| error_meaning(Some(c)));
    let data = json!({ "message_id": message, "status": DeliveryStatus::Queued, "error_code": error_code,
                       "error_title": error_title, "error_meaning": meaning, "retry_at": retry_at });
    repo::events::log(tx, Some(conversation), EventKind::MessageStatus, data, now).await?;
    Ok(())
}

async fn on_failure(
    ctx: &Ctx,
    tx: &mut Tx,
    conversation: i64,
    error_code: Option<i64>,
    now: Millis,
) -> Result<(), ChatError> {
    match error_meaning(error_code) {
        ErrorMeaning::OutsideWindow => {
            let c = super::load(tx, conversation).await?;
            let template = c
                .account
                .as_deref()
                .and_then(|a| ctx.account(a))
                .map(|a| a.templates.recontact.name.clone());
            let data = json!({ "recontact_template": template });
            let kind = EventKind::ConversationWindowClosed;
            repo::events::log(tx, Some(conversation), kind, data, now).await?;
        }
        // The first failure marks the number; a deflection may then fall back to SMS.
        ErrorMeaning::Unreachable
            if repo::conversations::set_unreachable(tx, conversation).await? =>
        {
            let kind = EventKind::ConversationUnreachable;
            conversation_event(tx, conversation, kind, json!({}), now).await?;
            super::sms::fall_back(ctx, tx, conversation, now).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Records accepted outbox row `id`: the message gets the provider's id, the status `sent`
/// (with any status that overtook the answer), the `deflection.sent` event of a call's
/// template; the row becomes `sent`. Does nothing to a row in another state.
pub(crate) async fn record_accepted(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<bool, ChatError> {
    fault!("outbox-record", Err(ChatError::injected("outbox-record")));
    let Some(row) = repo::outbox::locked(tx, id, None).await? else {
        return Ok(false);
    };
    if row.state != "accepted" {
        return Ok(false);
    }
    let message = row.message;
    let conversation = repo::messages::conversation_of(tx, message).await?;
    let given = match &row.external_id {
        Some(x) => give_message_id(tx, message, &row.account, x).await?,
        None => false,
    };
    let sent = DeliveryStatus::Sent;
    advance(ctx, tx, message, conversation, sent, None, None, now).await?;
    if let (true, Some(x)) = (given, &row.external_id) {
        apply_early(ctx, tx, &row.account, x, message, conversation, now).await?;
    }
    if let Some(call_id) = repo::deflections::call_of_message(tx, message).await? {
        let data =
            json!({ "call_id": call_id, "message_id": message, "external_id": row.external_id });
        repo::events::log(tx, Some(conversation), EventKind::DeflectionSent, data, now).await?;
    }
    repo::outbox::set_sent(tx, id, now).await?;
    Ok(true)
}

/// Gives message `message` the provider's id `x` — unless another message of the account
/// has it already (a provider that answered two sends with one id): then the message
/// stays without one, and that is logged and counted, since its statuses cannot be told
/// apart. Returns whether the id was given. Two records of the same id at once (one
/// process's outbox sends in parallel; several processes) take turns on a lock named after
/// it, so the second sees the first's id rather than failing on the unique index.
async fn give_message_id(
    tx: &mut Tx,
    message: i64,
    account: &str,
    x: &str,
) -> Result<bool, ChatError> {
    repo::locks::lock(tx, &[&format!("external_id:{account}:{x}")]).await?;
    if let Some(other) = repo::messages::other_with_external_id(tx, account, x, message).await? {
        record_failed("duplicate_external_id");
        tracing::error!(
            message_id = message,
            other_message_id = other,
            external_id = x,
            "the provider gave a sent message the id of another; it is recorded as sent without the id"
        );
        return Ok(false);
    }
    repo::messages::set_external_id(tx, message, x).await?;
    Ok(true)
}

/// A status that overtook the provider's answer to the send.
async fn apply_early(
    ctx: &Ctx,
    tx: &mut Tx,
    account: &str,
    x: &str,
    message: i64,
    conversation: i64,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(e) = repo::early_statuses::take(tx, account, x).await? else {
        return Ok(());
    };
    if let Some(st) = DeliveryStatus::parse(&e.status) {
        let title = e.error_title.as_deref();
        advance(ctx, tx, message, conversation, st, e.error_code, title, now).await?;
    }
    Ok(())
}

/// A status callback named outbox row `id` (its correlation): the provider accepted that
/// send with id `x`. A row still waiting for an answer (or to be sent again) is recorded
/// now and never sent again; a row recorded without an id gets it.
async fn confirm_from_callback(
    ctx: &Ctx,
    tx: &mut Tx,
    account: &str,
    id: i64,
    x: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(row) = repo::outbox::locked(tx, id, Some(account)).await? else {
        return Ok(());
    };
    match row.state.as_str() {
        "pending" | "sending" | "unconfirmed" | "accepted" => {
            if row.external_id.is_none() {
                repo::outbox::set_accepted(tx, id, x).await?;
                tracing::info!(
                    outbox_id = id,
                    external_id = x,
                    "the provider's status callback confirms a send"
                );
                metrics::counter!("deflect_outbox_confirmed_by_callback_total", "account" => account.to_string())
                    .increment(1);
            }
            record_accepted(ctx, tx, id, now).await?;
        }
        "sent" if row.external_id.is_none() => {
            repo::outbox::set_external_id(tx, id, x).await?;
            give_message_id(tx, row.message, account, x).await?;
        }
        _ => {}
    }
    Ok(())
}
