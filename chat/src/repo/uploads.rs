//! The SQL of uploads: files agents upload for a conversation, waiting to be sent with a
//! message (then they become that message's attachment, keeping their token).

use crate::clock::Millis;
use crate::store::{Store, Tx, opt_str};
use deflect_config::MediaKind;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A file uploaded and not sent yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Upload {
    pub(crate) id: i64,
    pub(crate) conversation: i64,
    pub(crate) kind: MediaKind,
    pub(crate) blob_key: String,
    pub(crate) size: u64,
    pub(crate) mime_type: String,
    pub(crate) filename: Option<String>,
    pub(crate) token: String,
    pub(crate) created_at: Millis,
}

/// A new upload.
pub(crate) struct NewUpload<'a> {
    pub(crate) conversation: i64,
    pub(crate) agent: Option<i64>,
    pub(crate) kind: MediaKind,
    pub(crate) blob_key: &'a str,
    pub(crate) size: u64,
    pub(crate) mime_type: &'a str,
    pub(crate) filename: Option<&'a str>,
    pub(crate) token: &'a str,
}

const COLUMNS: &str =
    "id, conversation_id, kind, blob_key, size, mime_type, filename, token, created_at";

fn from_row(r: &AnyRow) -> Upload {
    Upload {
        id: r.get("id"),
        conversation: r.get("conversation_id"),
        kind: super::attachments::kind(&r.get::<String, _>("kind")),
        blob_key: r.get("blob_key"),
        size: u64::try_from(r.get::<i64, _>("size")).unwrap_or(0),
        mime_type: r.get("mime_type"),
        filename: opt_str(r, "filename"),
        token: r.get("token"),
        created_at: r.get("created_at"),
    }
}

/// Records an upload.
pub(crate) async fn insert(
    store: &Store,
    u: &NewUpload<'_>,
    now: Millis,
) -> Result<Upload, crate::model::StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO uploads (conversation_id, agent_id, kind, blob_key, size, mime_type, \
         filename, token, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {COLUMNS}"
    ))
    .bind(u.conversation)
    .bind(u.agent)
    .bind(u.kind.as_str())
    .bind(u.blob_key)
    .bind(i64::try_from(u.size).unwrap_or(i64::MAX))
    .bind(u.mime_type)
    .bind(u.filename)
    .bind(u.token)
    .bind(now)
    .fetch_one(store.pool())
    .await?;
    Ok(from_row(&row))
}

/// The upload with token `token` (within `tx`).
pub(crate) async fn by_token(
    tx: &mut Tx,
    token: &str,
) -> Result<Option<Upload>, crate::model::StoreError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM uploads WHERE token = $1"))
        .bind(token)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// The upload with token `token`.
pub(crate) async fn find(
    store: &Store,
    token: &str,
) -> Result<Option<Upload>, crate::model::StoreError> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM uploads WHERE token = $1"))
        .bind(token)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// Deletes upload `id` (sent: it is an attachment now).
pub(crate) async fn delete(tx: &mut Tx, id: i64) -> Result<(), crate::model::StoreError> {
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Deletes uploads made before `before` (never sent); returns how many.
pub(crate) async fn delete_older(
    store: &Store,
    before: Millis,
) -> Result<u64, crate::model::StoreError> {
    Ok(sqlx::query("DELETE FROM uploads WHERE created_at < $1")
        .bind(before)
        .execute(store.pool())
        .await?
        .rows_affected())
}
