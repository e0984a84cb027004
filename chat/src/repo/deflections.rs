//! The SQL of deflections: the calls that became conversations, one per call id, with what
//! the IVR knew.

use crate::clock::Millis;
use crate::model::{CallContext, Deflected, Deflection, InputMethod, PathStep, StoreError};
use crate::store::{Store, Tx, opt_i64, opt_str};
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
         ended_at, input_method, transcript, path FROM deflections WHERE conversation_id = $1 \
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
        path: path_of(opt_str(&r, "path").as_deref()),
    }))
}

/// The stored path: a JSON array of steps; none for a row written before paths were (NULL),
/// or one that does not read (it is shown, never relied on).
fn path_of(stored: Option<&str>) -> Vec<PathStep> {
    stored
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// The path as stored: `None` when the IVR recorded none.
fn path_json(path: &[PathStep]) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    serde_json::to_string(path).ok()
}

/// The deflection of call `call_id`, if it was taken before.
pub(crate) async fn existing(tx: &mut Tx, call_id: &str) -> Result<Option<Deflected>, StoreError> {
    let row = sqlx::query(
        "SELECT d.conversation_id, d.message_id, c.reference FROM deflections d \
         JOIN conversations c ON c.id = d.conversation_id WHERE d.call_id = $1",
    )
    .bind(call_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Deflected {
        conversation_id: r.get("conversation_id"),
        message_id: opt_i64(&r, "message_id").unwrap_or(0),
        reference: r.get("reference"),
        created: false,
    }))
}

/// Records call `req` as deflected into `conversation` on `account` and `queue`; fails (a
/// unique violation) when the call id is taken, so a concurrent deflection of it fails here.
pub(crate) async fn insert(
    tx: &mut Tx,
    req: &Deflection,
    conversation: i64,
    account: &str,
    queue: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deflections (call_id, conversation_id, caller, callback_number, dialled_number, \
         flow, language, started_at, ended_at, input_method, transcript, account, queue, created_at, \
         path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&req.call.call_id)
    .bind(conversation)
    .bind(req.call.caller.as_deref())
    .bind(&req.call.callback_number)
    .bind(req.call.dialled_number.as_deref())
    .bind(req.call.flow.as_deref())
    .bind(req.call.language.as_deref())
    .bind(req.call.started_at)
    .bind(req.call.ended_at)
    .bind(req.call.input_method.as_str())
    .bind(req.call.transcript.as_deref())
    .bind(account)
    .bind(queue)
    .bind(now)
    .bind(path_json(&req.call.path))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Call `call_id`'s template is message `message`.
pub(crate) async fn set_message(
    tx: &mut Tx,
    call_id: &str,
    message: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE deflections SET message_id = $1 WHERE call_id = $2")
        .bind(message)
        .bind(call_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
