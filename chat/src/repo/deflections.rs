//! The SQL of deflections: the calls that became conversations, one per call id, with what
//! the IVR knew.

use crate::model::{CallContext, InputMethod, StoreError};
use crate::store::{Store, Tx, opt_str};
use sqlx::Row;

/// The call whose deflection template is message `message`.
pub(crate) async fn call_of_message(
    tx: &mut Tx,
    message: i64,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query("SELECT call_id FROM deflections WHERE message_id = $1")
            .bind(message)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.get::<String, _>(0)),
    )
}

/// What the IVR knew about the latest call deflected into conversation `conversation`.
pub(crate) async fn call_context(
    store: &Store,
    conversation: i64,
) -> Result<Option<CallContext>, StoreError> {
    let row = sqlx::query(
        "SELECT call_id, caller, callback_number, dialled_number, flow, language, started_at, \
         ended_at, input_method, transcript FROM deflections WHERE conversation_id = $1 \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(conversation)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| CallContext {
        call_id: r.get("call_id"),
        caller: opt_str(&r, "caller"),
        callback_number: r.get("callback_number"),
        dialled_number: opt_str(&r, "dialled_number"),
        flow: opt_str(&r, "flow"),
        language: opt_str(&r, "language"),
        started_at: r.get("started_at"),
        ended_at: r.get("ended_at"),
        input_method: InputMethod::parse(&r.get::<String, _>("input_method"))
            .unwrap_or(InputMethod::Dtmf),
        transcript: opt_str(&r, "transcript"),
    }))
}
