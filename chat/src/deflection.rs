//! Deflections in: a finished IVR call becomes a WhatsApp conversation and one template.
//!
//! [`crate::Inbox::deflect`] is idempotent on the call id: called twice, or at once from two
//! processes, it yields one conversation and one template. In one transaction it finds or
//! creates the contact by the callback number, opens a conversation (origin `call`, status
//! `pending` until the customer answers — or joins the customer's open conversation on that
//! account), records the call's context, and commits the account's `templates.deflection`
//! message to the outbox. The outbox worker sends it after the commit.
//!
//! A conversation the deflection opens keeps the call's flow (`Conversation::flow`): the
//! flow's automations (`[ivr.flows.automations]`) apply to it — its bot takes the customer's
//! answer. The call's language (the flow's) becomes the contact's (ISO 639-1), which picks a
//! later welcome's translation.
//!
//! The template has one body parameter, the conversation's short reference (`{{1}}`, e.g.
//! `K7Q2MX`), and a quick-reply button whose payload is `deflect:<reference>`: the customer's
//! tap (or any reply carrying the template's message id as context) joins the deflected
//! call's conversation.
//!
//! Crash safety: the template is committed before it is sent; a process that dies before
//! sending sends it after restarting (SQLite: at start-up; PostgreSQL: when its claim's lease
//! runs out, by any process). The only duplicate window is a crash after the provider
//! accepted the message but before its id was recorded.
//!
//! Held deflections ([`crate::Inbox::hold_deflection`]): the IVR commits a confirmed
//! deflection before it hangs up, its template held back for a while so that it does not
//! reach the caller's phone during the call; the deflection after the hang-up finds it and
//! releases the template at once. Should the process die between the two, the template goes
//! when the hold ends, sent by any process on the database.

use crate::clock::Millis;
use crate::context::Ctx;
use crate::lifecycle::{conversation_event, open, outgoing, sms};
use crate::model::{ChatError, EventKind, Origin, Status};
pub use crate::model::{Deflected, Deflection, payload_for, reference_in_payload};
use crate::repo;
use deflect_config::language_code;
use serde_json::json;

/// Records a deflection and queues its template, exactly once per call id: due now, or —
/// with `hold` — only `hold` ms from now. Without `hold`, the held template of a deflection
/// recorded before is released.
pub(crate) async fn deflect(
    ctx: &Ctx,
    req: &Deflection,
    hold: Option<Millis>,
) -> Result<Deflected, ChatError> {
    if req.call.call_id.is_empty() || req.call.call_id.len() > 256 {
        return Err(ChatError::Invalid(
            "call_id must have 1 to 256 characters".into(),
        ));
    }
    if !deflect_config::is_e164(&req.call.callback_number) {
        return Err(ChatError::Invalid(format!(
            "callback_number {:?} is not E.164 (+ country code and number)",
            req.call.callback_number
        )));
    }
    let account = match &req.account {
        Some(a) => ctx.account(a).ok_or(ChatError::Invalid(format!(
            "unknown WhatsApp account {a:?}"
        )))?,
        None => ctx
            .default_account()
            .ok_or_else(|| ChatError::Invalid("no default WhatsApp account".into()))?,
    };
    let queue = match &req.queue {
        Some(q) if ctx.queue_config(q).is_some() => q.clone(),
        Some(q) => return Err(ChatError::Invalid(format!("unknown queue {q:?}"))),
        None => ctx.default_queue().to_string(),
    };
    // A concurrent deflection of the same call from another process makes one of the two
    // transactions fail on a unique key; the retry then finds the committed one.
    let mut last = None;
    for _ in 0..3 {
        match deflect_once(ctx, req, &account.name, &queue, hold).await {
            Ok(d) => return Ok(d),
            Err(ChatError::Store(e)) if e.is_unique_violation() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(ChatError::Store(last.expect("the loop ran at least once")))
}

async fn deflect_once(
    ctx: &Ctx,
    req: &Deflection,
    account_name: &str,
    queue: &str,
    hold: Option<Millis>,
) -> Result<Deflected, ChatError> {
    let account = ctx
        .account(account_name)
        .expect("the account was resolved by the caller");
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    if let Some(d) = repo::deflections::existing(&mut tx, &req.call.call_id).await? {
        if hold.is_none() && repo::outbox::release(&mut tx, d.message_id, now).await? {
            tx.commit().await?;
            ctx.wake_outbox();
            tracing::debug!(call_id = %req.call.call_id, "held deflection released");
        }
        return Ok(d);
    }
    let wa_id = req.call.callback_number.trim_start_matches('+');
    let (identity, contact, _) = open::whatsapp_identity(&mut tx, wa_id, None, now).await?;
    if let Some(language) = (req.call.language.as_deref()).and_then(language_code) {
        repo::contacts::set_language(&mut tx, contact, &language).await?;
    }
    let w = open::WhatsAppConversation {
        identity,
        contact,
        account: account_name,
        origin: Origin::Call,
        status: Status::Pending,
        queue,
        flow: req.call.flow.as_deref(),
    };
    let (conversation, _) = open::whatsapp_conversation(&mut tx, w, now).await?;
    // Claim the call id first: a concurrent deflection of it fails here.
    repo::deflections::insert(&mut tx, req, conversation, account_name, queue, now).await?;
    let c = crate::lifecycle::load(&mut tx, conversation).await?;
    // A number WhatsApp could not reach lately gets the SMS at once (when the account has
    // one): the template would fail as it did.
    let since = now - sms::KNOWN_UNREACHABLE_MS;
    let unreachable = account.sms_fallback.is_some()
        && repo::conversations::unreachable_since(&mut tx, identity, account_name, since).await?;
    let sent = match unreachable {
        true => {
            if repo::conversations::set_unreachable(&mut tx, conversation).await? {
                let kind = EventKind::ConversationUnreachable;
                conversation_event(&mut tx, conversation, kind, json!({}), now).await?;
            }
            sms::fall_back(ctx, &mut tx, conversation, now).await?
        }
        false => None,
    };
    let m = match sent {
        Some(m) => m,
        None => {
            let t = &account.templates.deflection;
            outgoing::queue_template(ctx, &mut tx, &c, t, None, None, now).await?
        }
    };
    repo::deflections::set_message(&mut tx, &req.call.call_id, m.id).await?;
    if let Some(hold) = hold {
        repo::outbox::hold_until(&mut tx, m.id, now + hold).await?;
    }
    crate::repo::events::log(
        &mut tx,
        Some(conversation),
        EventKind::DeflectionCreated,
        json!({ "call": req, "message_id": m.id }),
        now,
    )
    .await?;
    tx.commit().await?;
    // Counted here only, once per call: the inbox is where a deflection is taken.
    metrics::counter!(
        "deflect_deflections_total",
        "account" => account_name.to_string(),
        "input_method" => req.call.input_method.as_str()
    )
    .increment(1);
    tracing::info!(call_id = %req.call.call_id, conversation_id = conversation, "deflection queued");
    Ok(Deflected {
        conversation_id: conversation,
        reference: c.reference,
        message_id: m.id,
        created: true,
    })
}
