//! The SQL of one-time hand-off codes: a code that, in a customer's WhatsApp message,
//! continues a conversation there.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Tx;

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
