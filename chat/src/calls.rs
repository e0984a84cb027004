//! Calls' records: every call the IVR took ends with one — answered or refused, deflected or
//! not — kept once per call id ([`crate::Inbox::record_call`]: a repeat keeps nothing new)
//! with a `call.finished` event (and webhook) carrying it; supervisors and admins list them
//! ([`crate::Inbox::list_calls`], `GET /api/v1/calls`). Agents do not: a call is no
//! conversation of theirs.

use crate::context::Ctx;
use crate::model::{CallFilter, CallRecord, ChatError, EventKind, RecordedCall, Viewer};
use crate::repo;
use serde_json::json;

/// Keeps `r` (once per call id) and logs `call.finished`.
pub(crate) async fn record(ctx: &Ctx, r: &CallRecord) -> Result<(), ChatError> {
    if r.call_id.is_empty() || r.call_id.len() > 256 {
        return Err(ChatError::Invalid(
            "call_id must have 1 to 256 characters".into(),
        ));
    }
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    if let Some(kept) = repo::calls::insert(&mut tx, r).await? {
        let data = json!({ "call": kept });
        repo::events::log(&mut tx, None, EventKind::CallFinished, data, now).await?;
    }
    tx.commit().await?;
    Ok(())
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
