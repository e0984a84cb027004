//! The SQL of one-time hand-off codes: a code that, in a customer's WhatsApp message,
//! continues a conversation there.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Tx;
use sqlx::Row;

/// Records `code` for conversation `conversation` on `account` until `expires_at`; `false`
/// when the code is taken.
pub(crate) async fn insert(
    tx: &mut Tx,
    code: &str,
    conversation: i64,
    account: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO handoff_codes (code, conversation_id, account, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(code)
    .bind(conversation)
    .bind(account)
    .bind(now)
    .bind(expires_at)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The conversation of `code` while it is unspent and unexpired at `now` (the code locked on
/// PostgreSQL).
pub(crate) async fn live(tx: &mut Tx, code: &str, now: Millis) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(sql!(
        "SELECT conversation_id FROM handoff_codes WHERE code = $1 AND spent_at IS NULL \
         AND expires_at > $2{}",
        tx.for_update()
    ))
    .bind(code)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// Spends `code` at `now`.
pub(crate) async fn spend(tx: &mut Tx, code: &str, now: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE handoff_codes SET spent_at = $1 WHERE code = $2")
        .bind(now)
        .bind(code)
        .execute(tx.conn())
        .await?;
    Ok(())
}
