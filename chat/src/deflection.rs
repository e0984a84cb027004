//! Deflections in: a finished IVR call becomes a WhatsApp conversation and one template.
//!
//! [`crate::Inbox::deflect`] is idempotent on the call id: called twice, or at once from two
//! processes, it yields one conversation and one template. In one transaction it finds or
//! creates the contact by the callback number, opens a conversation (origin `call`, status
//! `pending` until the customer answers — or joins the customer's open conversation on that
//! account), records the call's context, and commits the account's `templates.deflection`
//! message to the outbox. The outbox worker sends it after the commit.
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

use crate::clock::Millis;
use crate::context::Ctx;
use crate::lifecycle::{open, outgoing};
use crate::model::{ChatError, EventKind, InputMethod, Origin, Status};
pub use crate::model::{payload_for, reference_in_payload};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

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

/// Records a deflection and queues its template, exactly once per call id.
pub(crate) async fn deflect(ctx: &Ctx, req: &DeflectionRequest) -> Result<Deflected, ChatError> {
    if req.call_id.is_empty() || req.call_id.len() > 256 {
        return Err(ChatError::Invalid(
            "call_id must have 1 to 256 characters".into(),
        ));
    }
    if !deflect_config::is_e164(&req.callback_number) {
        return Err(ChatError::Invalid(format!(
            "callback_number {:?} is not E.164 (+ country code and number)",
            req.callback_number
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
        match deflect_once(ctx, req, &account.name, &queue).await {
            Ok(d) => return Ok(d),
            Err(ChatError::Store(e)) if e.is_unique_violation() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(ChatError::Store(last.expect("the loop ran at least once")))
}

async fn existing_deflection(
    tx: &mut crate::store::Tx,
    call_id: &str,
) -> Result<Option<Deflected>, ChatError> {
    let row = sqlx::query(
        "SELECT d.conversation_id, d.message_id, c.reference FROM deflections d \
         JOIN conversations c ON c.id = d.conversation_id WHERE d.call_id = $1",
    )
    .bind(call_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Deflected {
        conversation_id: r.get("conversation_id"),
        message_id: crate::store::opt_i64(&r, "message_id").unwrap_or(0),
        reference: r.get("reference"),
        created: false,
    }))
}

async fn deflect_once(
    ctx: &Ctx,
    req: &DeflectionRequest,
    account_name: &str,
    queue: &str,
) -> Result<Deflected, ChatError> {
    let account = ctx
        .account(account_name)
        .expect("the account was resolved by the caller");
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    if let Some(d) = existing_deflection(&mut tx, &req.call_id).await? {
        return Ok(d);
    }
    let wa_id = req.callback_number.trim_start_matches('+');
    let (identity, contact, _) = open::whatsapp_identity(&mut tx, wa_id, None, now).await?;
    let w = open::WhatsAppConversation {
        identity,
        contact,
        account: account_name,
        origin: Origin::Call,
        status: Status::Pending,
        queue,
    };
    let (conversation, _) = open::whatsapp_conversation(ctx, &mut tx, w, now).await?;
    // Claim the call id first: a concurrent deflection of it fails here.
    sqlx::query(
        "INSERT INTO deflections (call_id, conversation_id, caller, callback_number, dialled_number, \
         flow, language, started_at, ended_at, input_method, transcript, account, queue, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&req.call_id)
    .bind(conversation)
    .bind(req.caller.as_deref())
    .bind(&req.callback_number)
    .bind(req.dialled_number.as_deref())
    .bind(req.flow.as_deref())
    .bind(req.language.as_deref())
    .bind(req.started_at)
    .bind(req.ended_at)
    .bind(req.input_method.as_str())
    .bind(req.transcript.as_deref())
    .bind(account_name)
    .bind(queue)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let c = crate::lifecycle::load(&mut tx, conversation).await?;
    let t = &account.templates.deflection;
    let m = outgoing::queue_template(ctx, &mut tx, &c, t, None, None, now).await?;
    sqlx::query("UPDATE deflections SET message_id = $1 WHERE call_id = $2")
        .bind(m.id)
        .bind(&req.call_id)
        .execute(tx.conn())
        .await?;
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
        "input_method" => req.input_method.as_str()
    )
    .increment(1);
    tracing::info!(call_id = %req.call_id, conversation_id = conversation, "deflection queued");
    Ok(Deflected {
        conversation_id: conversation,
        reference: c.reference,
        message_id: m.id,
        created: true,
    })
}
