//! The SQL of the outbox: one row per outgoing WhatsApp message, from `pending` to `sent` (or
//! `dead`); see [`crate::outbox`] for its states.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::{Tx, opt_str};
use sqlx::Row;

/// Queues message `message` for `recipient` on `account`, due now.
pub(crate) async fn insert(
    tx: &mut Tx,
    message: i64,
    account: &str,
    recipient: &str,
    request: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (message_id, account, recipient, request, state, due_at, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
    )
    .bind(message)
    .bind(account)
    .bind(recipient)
    .bind(request)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// An outbox row as recording its acceptance reads it.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub(crate) state: String,
    pub(crate) message: i64,
    pub(crate) account: String,
    pub(crate) external_id: Option<String>,
}

/// Row `id` (of `account`, when given), locked on PostgreSQL.
pub(crate) async fn locked(
    tx: &mut Tx,
    id: i64,
    account: Option<&str>,
) -> Result<Option<Held>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT state, message_id, account, external_id FROM outbox \
         WHERE id = $1 AND ($2 IS NULL OR account = $2){}",
        tx.for_update()
    ))
    .bind(id)
    .bind(account)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Held {
        state: r.get("state"),
        message: r.get("message_id"),
        account: r.get("account"),
        external_id: opt_str(&r, "external_id"),
    }))
}

/// Row `id` was accepted as `external_id` (a status callback said so): it waits to be
/// recorded.
pub(crate) async fn set_accepted(
    tx: &mut Tx,
    id: i64,
    external_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'accepted', external_id = $1, lease_until = NULL WHERE id = $2",
    )
    .bind(external_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Gives row `id` the provider's id.
pub(crate) async fn set_external_id(
    tx: &mut Tx,
    id: i64,
    external_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET external_id = $1 WHERE id = $2")
        .bind(external_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Row `id` is done: its message is recorded as sent.
pub(crate) async fn set_sent(tx: &mut Tx, id: i64, now: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL \
         WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}
