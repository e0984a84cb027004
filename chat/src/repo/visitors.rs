//! The SQL of web visitors: the widget's opaque visitor tokens (only their SHA-256 is
//! stored), each a contact and its web identity on a site.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Tx;
use sqlx::Row;

/// The (contact, identity) of the visitor whose token hashes to `token_hash`.
pub(crate) async fn of_token(
    tx: &mut Tx,
    token_hash: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    let row = sqlx::query("SELECT contact_id, identity_id FROM web_visitors WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(|r| (r.get("contact_id"), r.get("identity_id"))))
}

/// A new visitor of `site`: contact `contact` with its web identity `identity`.
pub(crate) async fn insert(
    tx: &mut Tx,
    token_hash: &str,
    contact: i64,
    identity: i64,
    site: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO web_visitors (token_hash, contact_id, identity_id, site, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(contact)
    .bind(identity)
    .bind(site)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}
