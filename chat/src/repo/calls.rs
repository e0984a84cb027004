//! The SQL of call records: one row per call id, listed newest first.

use crate::model::{CallFilter, CallOutcome, CallRecord, InputMethod, RecordedCall, StoreError};
use crate::store::{Store, Tx, opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str = "id, call_id, trunk, caller, dialled_number, flow, language, started_at, \
                       answered_at, ended_at, outcome, reason, input_method, transcript, path, \
                       callback_number, transfer_target, conversation_id";

fn from_row(r: &AnyRow) -> RecordedCall {
    let outcome: String = r.get("outcome");
    RecordedCall {
        id: r.get("id"),
        record: CallRecord {
            call_id: r.get("call_id"),
            trunk: r.get("trunk"),
            caller: opt_str(r, "caller"),
            dialled_number: opt_str(r, "dialled_number"),
            flow: opt_str(r, "flow"),
            language: opt_str(r, "language"),
            started_at: r.get("started_at"),
            answered_at: opt_i64(r, "answered_at"),
            ended_at: r.get("ended_at"),
            outcome: CallOutcome::parse(&outcome).unwrap_or(CallOutcome::Failed),
            reason: opt_str(r, "reason"),
            input_method: opt_str(r, "input_method").and_then(|m| InputMethod::parse(&m)),
            transcript: opt_str(r, "transcript"),
            path: serde_json::from_str(&r.get::<String, _>("path")).unwrap_or_default(),
            callback_number: opt_str(r, "callback_number"),
            transfer_target: opt_str(r, "transfer_target"),
            conversation_id: opt_i64(r, "conversation_id"),
        },
    }
}

/// Keeps `r`, unless its call id is kept already; returns it as kept now, if it was.
pub(crate) async fn insert(
    tx: &mut Tx,
    r: &CallRecord,
) -> Result<Option<RecordedCall>, StoreError> {
    let path = serde_json::to_string(&r.path).expect("a path serializes");
    let row = sqlx::query(sql!(
        "INSERT INTO calls (call_id, trunk, caller, dialled_number, flow, language, started_at, \
         answered_at, ended_at, outcome, reason, input_method, transcript, path, callback_number, \
         transfer_target, conversation_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (call_id) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(&r.call_id)
    .bind(&r.trunk)
    .bind(r.caller.as_deref())
    .bind(r.dialled_number.as_deref())
    .bind(r.flow.as_deref())
    .bind(r.language.as_deref())
    .bind(r.started_at)
    .bind(r.answered_at)
    .bind(r.ended_at)
    .bind(r.outcome.as_str())
    .bind(r.reason.as_deref())
    .bind(r.input_method.map(InputMethod::as_str))
    .bind(r.transcript.as_deref())
    .bind(path)
    .bind(r.callback_number.as_deref())
    .bind(r.transfer_target.as_deref())
    .bind(r.conversation_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// The records `f` selects, newest first.
pub(crate) async fn list(store: &Store, f: &CallFilter) -> Result<Vec<RecordedCall>, StoreError> {
    let limit = i64::from(f.limit.unwrap_or(100).clamp(1, 1000));
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM calls WHERE ($1 IS NULL OR started_at >= $1) \
         AND ($2 IS NULL OR started_at < $2) AND ($3 IS NULL OR outcome = $3) \
         AND ($4 IS NULL OR trunk = $4) AND ($5 IS NULL OR flow = $5) \
         AND ($6 IS NULL OR caller = $6) AND ($7 IS NULL OR id < $7) \
         ORDER BY id DESC LIMIT $8"
    ))
    .bind(f.from)
    .bind(f.to)
    .bind(f.outcome.map(CallOutcome::as_str))
    .bind(f.trunk.as_deref())
    .bind(f.flow.as_deref())
    .bind(f.caller.as_deref())
    .bind(f.before_id)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect())
}
