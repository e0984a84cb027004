//! The SQL of delivery statuses that arrived before the provider's answer to the send: kept
//! until the message gets the provider's id, then applied.

use crate::clock::Millis;
use crate::model::{DeliveryStatus, StoreError};
use crate::store::{Tx, opt_i64, opt_str};
use sqlx::Row;

/// A status kept for a message not recorded yet.
#[derive(Clone, Debug)]
pub(crate) struct Early {
    /// As stored (unreadable ones are dropped by the caller).
    pub(crate) status: String,
    pub(crate) error_code: Option<i64>,
    pub(crate) error_title: Option<String>,
}

/// Keeps `status` for the message of `account` the provider knows as `external_id`, unless
/// one of equal or higher rank is kept already.
pub(crate) async fn keep(
    tx: &mut Tx,
    account: &str,
    external_id: &str,
    status: DeliveryStatus,
    error_code: Option<i64>,
    error_title: Option<&str>,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO early_statuses (account, external_id, status, status_rank, error_code, \
         error_title, at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account, external_id) DO UPDATE SET status = excluded.status, \
         status_rank = excluded.status_rank, error_code = excluded.error_code, \
         error_title = excluded.error_title, at = excluded.at \
         WHERE early_statuses.status_rank < excluded.status_rank",
    )
    .bind(account)
    .bind(external_id)
    .bind(status.as_str())
    .bind(status.rank())
    .bind(error_code)
    .bind(error_title)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Takes (deletes and returns) the status kept for `external_id` of `account`.
pub(crate) async fn take(
    tx: &mut Tx,
    account: &str,
    external_id: &str,
) -> Result<Option<Early>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM early_statuses WHERE account = $1 AND external_id = $2 \
         RETURNING status, error_code, error_title",
    )
    .bind(account)
    .bind(external_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Early {
        status: r.get("status"),
        error_code: opt_i64(&r, "error_code"),
        error_title: opt_str(&r, "error_title"),
    }))
}
