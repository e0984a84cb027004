//! Calls' records: every call the IVR took ends with one — answered or refused, deflected or
//! not — kept once per call id ([`crate::Inbox::record_calls`]: a repeat keeps nothing new)
//! with a `call.finished` event (and webhook) carrying it; supervisors and admins list them
//! ([`crate::Inbox::list_calls`], `GET /api/v1/calls`). Agents do not: a call is no
//! conversation of theirs — but a call that belongs to one (a widget visitor's call, a
//! WhatsApp call from a customer with an open conversation, an agent's call to a customer)
//! leaves a note there that its agents see.

use crate::context::Ctx;
use crate::model::{
    CallFilter, CallOutcome, CallRecord, ChatError, EventKind, RecordedCall, StoreError, Viewer,
};
use crate::repo;
use crate::store::Tx;
use serde_json::json;

/// Keeps `records` in one transaction (each once per call id) and logs `call.finished` for
/// each; a call that belongs to a conversation (`conversation_id`, else the WhatsApp
/// caller's open one) shows there as the IVR's internal note. A record whose call id is
/// unusable (empty, over 256 characters) is left out with a warning.
pub(crate) async fn record(ctx: &Ctx, records: &[CallRecord]) -> Result<(), ChatError> {
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    for r in records {
        if r.call_id.is_empty() || r.call_id.len() > 256 {
            tracing::warn!(
                trunk = %r.trunk,
                "a call's record is not kept: its call id must have 1 to 256 characters"
            );
            continue;
        }
        let mut r = r.clone();
        if r.conversation_id.is_none() {
            r.conversation_id =
                whatsapp_conversation(&mut tx, &r.trunk, r.caller.as_deref()).await?;
        }
        if let Some(kept) = repo::calls::insert(&mut tx, &r).await? {
            if let Some(id) = r.conversation_id
                && let Some(m) =
                    repo::messages::insert_call_note(&mut tx, id, &note(&r), now).await?
            {
                let data = json!({ "message": m });
                repo::events::log(&mut tx, Some(id), EventKind::MessageCreated, data, now).await?;
            }
            let data = json!({ "call": kept });
            repo::events::log(&mut tx, None, EventKind::CallFinished, data, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The conversation a call from `trunk` by `caller` belongs to now (a WhatsApp caller's open
/// one; see [`whatsapp_conversation`]).
pub(crate) async fn conversation_of(
    ctx: &Ctx,
    trunk: &str,
    caller: Option<&str>,
) -> Result<Option<i64>, ChatError> {
    let mut tx = ctx.store().write().await?;
    Ok(whatsapp_conversation(&mut tx, trunk, caller).await?)
}

/// The open conversation of a WhatsApp call's caller on the account it reached (its trunk is
/// `whatsapp:<account>`).
async fn whatsapp_conversation(
    tx: &mut Tx,
    trunk: &str,
    caller: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let (Some(account), Some(caller)) = (trunk.strip_prefix("whatsapp:"), caller) else {
        return Ok(None);
    };
    let wa_id = caller.trim_start_matches('+');
    match repo::contacts::whatsapp_identity(tx, wa_id).await? {
        Some(identity) => repo::conversations::open_of(tx, identity.id, account).await,
        None => Ok(None),
    }
}

/// The note a call leaves in its conversation: where it came from, how long it lasted and
/// how it ended.
fn note(r: &CallRecord) -> String {
    let agents = matches!(
        r.outcome,
        CallOutcome::AgentCallAnswered | CallOutcome::AgentCallUnanswered
    );
    let from = match r.trunk.split_once(':') {
        _ if agents => "Call to the customer on WhatsApp",
        Some(("widget", _)) => "Call from the widget",
        Some(("whatsapp", _)) => "WhatsApp call",
        _ => "Call",
    };
    let seconds = (r.ended_at - r.answered_at.unwrap_or(r.ended_at)).max(0) / 1000;
    let ended = match (r.outcome, &r.callback_number, &r.transfer_target) {
        (CallOutcome::Deflected, Some(number), _) => format!("deflected to {number}"),
        (CallOutcome::Transferred, _, Some(target)) => format!("transferred to {target}"),
        (CallOutcome::AgentCallAnswered, _, _) => "answered".into(),
        (CallOutcome::AgentCallUnanswered, _, _) => match &r.reason {
            Some(why) => format!("not answered ({why})"),
            None => "not answered".into(),
        },
        (outcome, _, _) => outcome.as_str().replace('_', " "),
    };
    format!("{from} ({}:{:02}): {ended}.", seconds / 60, seconds % 60)
}
/// The call records `f` selects, newest first, for a supervisor or an admin.
pub(crate) async fn list(
    ctx: &Ctx,
    viewer: &Viewer,
    f: &CallFilter,
) -> Result<Vec<RecordedCall>, ChatError> {
    if !viewer.role.sees_everything() {
        return Err(ChatError::Forbidden(
            "call records are for supervisors and admins".into(),
        ));
    }
    Ok(repo::calls::list(ctx.store(), f).await?)
}
