//! The SQL of provider media: the id a provider gave a stored file uploaded to it (Meta's
//! media ids live 30 days), per account, so that a file is not uploaded again while its id
//! is fresh.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Store;
use sqlx::Row;

/// The id `account`'s provider gave the file `blob_key`, if uploaded at or after `since`.
pub(crate) async fn fresh(
    store: &Store,
    account: &str,
    blob_key: &str,
    since: Millis,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT media_id FROM provider_media WHERE account = $1 AND blob_key = $2 \
         AND uploaded_at >= $3",
    )
    .bind(account)
    .bind(blob_key)
    .bind(since)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|r| r.get("media_id")))
}

/// Records that `account`'s provider knows file `blob_key` as `media_id` since `now`.
pub(crate) async fn record(
    store: &Store,
    account: &str,
    blob_key: &str,
    media_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO provider_media (account, blob_key, media_id, uploaded_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account, blob_key) DO UPDATE \
         SET media_id = excluded.media_id, uploaded_at = excluded.uploaded_at",
    )
    .bind(account)
    .bind(blob_key)
    .bind(media_id)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(())
}
