//! The SQL of attachments: the files customers' messages carry, written pending with their
//! message, taken by the download worker under a lease, and marked stored or failed.

use crate::clock::Millis;
use crate::model::{Attachment, AttachmentState, StoreError, new_token};
use crate::provider::{InboundMedia, MediaSource};
use crate::store::{Column, Store, Tx, ids_in, ids_value, json_rows, opt_i64, opt_str};
use deflect_config::MediaKind;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// The columns of an [`Attachment`] (and its message).
const COLUMNS: &str = "id, message_id, kind, filename, state, size, mime_type, error, token";

/// An attachment from a row of [`COLUMNS`]: its message and itself.
fn from_row(r: &AnyRow) -> (i64, Attachment) {
    let state = AttachmentState::parse(&r.get::<String, _>("state"));
    let token: String = r.get("token");
    let attachment = Attachment {
        url: (state == AttachmentState::Stored).then(|| Attachment::url_of(&token)),
        mime_type: opt_str(r, "mime_type").filter(|_| state == AttachmentState::Stored),
        size: opt_i64(r, "size")
            .filter(|_| state == AttachmentState::Stored)
            .and_then(|s| u64::try_from(s).ok()),
        filename: opt_str(r, "filename"),
        kind: kind(&r.get::<String, _>("kind")),
        state,
        error: opt_str(r, "error"),
    };
    (r.get("message_id"), attachment)
}

/// The kind as stored (written from a [`MediaKind`]; anything else reads as a document).
pub(crate) fn kind(s: &str) -> MediaKind {
    MediaKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(MediaKind::Document)
}

/// Rows of attachments (message, attachment) grouped by message, each message's in order.
fn by_message(rows: &[AnyRow]) -> HashMap<i64, Vec<Attachment>> {
    let mut sorted: Vec<(i64, &AnyRow)> = rows.iter().map(|r| (r.get("id"), r)).collect();
    sorted.sort_unstable_by_key(|(id, _)| *id);
    let mut out: HashMap<i64, Vec<Attachment>> = HashMap::new();
    for (_, r) in sorted {
        let (message, a) = from_row(r);
        out.entry(message).or_default().push(a);
    }
    out
}

/// Writes the files of customers' messages, pending and due at once: (message, account
/// whose credentials fetch them, files). Returns them by message, in order.
pub(crate) async fn insert_all(
    tx: &mut Tx,
    messages: &[(i64, &str, &[InboundMedia])],
    now: Millis,
) -> Result<HashMap<i64, Vec<Attachment>>, StoreError> {
    let values: Vec<serde_json::Value> = messages
        .iter()
        .flat_map(|(message, account, media)| {
            media.iter().map(move |m| {
                let (id, url) = match &m.source {
                    MediaSource::MetaId(id) => (Some(id), None),
                    MediaSource::Url(url) => (None, Some(url)),
                };
                json!([
                    message,
                    account,
                    m.kind.as_str(),
                    id,
                    url,
                    m.declared_mime,
                    m.filename,
                    m.caption,
                    new_token()
                ])
            })
        })
        .collect();
    if values.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = json_rows(
        tx.kind(),
        2,
        &[
            ("message_id", Column::BigInt),
            ("account", Column::Text),
            ("kind", Column::Text),
            ("media_id", Column::Text),
            ("media_url", Column::Text),
            ("declared_mime", Column::Text),
            ("filename", Column::Text),
            ("caption", Column::Text),
            ("token", Column::Text),
        ],
    );
    let rows = sqlx::query(sql!(
        "WITH v AS ({rows}) INSERT INTO attachments (message_id, account, kind, media_id, \
         media_url, declared_mime, filename, caption, state, attempts, next_attempt_at, token, \
         created_at) SELECT v.message_id, v.account, v.kind, v.media_id, v.media_url, \
         v.declared_mime, v.filename, v.caption, 'pending', 0, $1, v.token, $1 FROM v \
         WHERE true ORDER BY v.ord RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(serde_json::Value::from(values).to_string())
    .fetch_all(tx.conn())
    .await?;
    Ok(by_message(&rows))
}

/// The attachments of messages `ids`, by message, each message's in order.
pub(crate) async fn of_messages(
    store: &Store,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<Attachment>>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (with, wanted) = ids_in(store.kind(), 1, "message_id");
    let rows = sqlx::query(sql!(
        "{with} SELECT {COLUMNS} FROM attachments WHERE {wanted}"
    ))
    .bind(ids_value(ids))
    .fetch_all(store.pool())
    .await?;
    Ok(by_message(&rows))
}

/// The attachments of message `id`, in order (within `tx`).
pub(crate) async fn of_message(tx: &mut Tx, id: i64) -> Result<Vec<Attachment>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM attachments WHERE message_id = $1"
    ))
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    Ok(by_message(&rows).remove(&id).unwrap_or_default())
}

/// A message's file as the store holds it, to send it on (a relay's copy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MessageFile {
    pub(crate) kind: MediaKind,
    pub(crate) state: AttachmentState,
    /// Its key in the store, once stored.
    pub(crate) blob_key: Option<String>,
    pub(crate) size: u64,
    pub(crate) mime_type: String,
    pub(crate) filename: Option<String>,
}

impl MessageFile {
    /// As a new attachment under `token`, if it is stored.
    pub(crate) fn copy<'a>(&'a self, token: &'a str) -> Option<NewStored<'a>> {
        Some(NewStored {
            kind: self.kind,
            blob_key: self.blob_key.as_deref()?,
            size: self.size,
            mime_type: &self.mime_type,
            filename: self.filename.as_deref(),
            token,
        })
    }
}

/// The files of message `id` as the store holds them, in order (within `tx`).
pub(crate) async fn files_of(tx: &mut Tx, id: i64) -> Result<Vec<MessageFile>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT kind, state, blob_key, size, mime_type, filename FROM attachments \
         WHERE message_id = $1 ORDER BY id"
    ))
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| MessageFile {
            kind: kind(&r.get::<String, _>("kind")),
            state: AttachmentState::parse(&r.get::<String, _>("state")),
            blob_key: opt_str(r, "blob_key"),
            size: opt_i64(r, "size")
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(0),
            mime_type: opt_str(r, "mime_type").unwrap_or_default(),
            filename: opt_str(r, "filename"),
        })
        .collect())
}

/// A download taken by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    pub(crate) id: i64,
    pub(crate) message: i64,
    pub(crate) conversation: i64,
    pub(crate) account: String,
    pub(crate) kind: MediaKind,
    pub(crate) source: Option<MediaSource>,
    pub(crate) declared_mime: Option<String>,
    /// Attempts begun, this one included: only this attempt records the outcome.
    pub(crate) attempts: i64,
}

/// Takes up to `limit` pending attachments due at `now`, oldest first, leasing them until
/// `lease_until` (a worker that dies leaves them to be taken again then).
pub(crate) async fn take(
    tx: &mut Tx,
    now: Millis,
    lease_until: Millis,
    limit: i64,
) -> Result<Vec<Job>, StoreError> {
    let skip = tx.skip_locked(Some("a"));
    let rows = sqlx::query(sql!(
        "SELECT a.id, a.message_id, m.conversation_id, a.account, a.kind, a.media_id, \
         a.media_url, a.declared_mime, a.attempts FROM attachments a \
         JOIN messages m ON m.id = a.message_id \
         WHERE a.state = 'pending' AND a.next_attempt_at <= $1 \
         ORDER BY a.next_attempt_at, a.id LIMIT $2{skip}"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    let jobs: Vec<Job> = rows
        .iter()
        .map(|r| {
            let source = match (opt_str(r, "media_id"), opt_str(r, "media_url")) {
                (Some(id), _) => Some(MediaSource::MetaId(id)),
                (None, Some(url)) => Some(MediaSource::Url(url)),
                (None, None) => None,
            };
            Job {
                id: r.get("id"),
                message: r.get("message_id"),
                conversation: r.get("conversation_id"),
                account: r.get("account"),
                kind: kind(&r.get::<String, _>("kind")),
                source,
                declared_mime: opt_str(r, "declared_mime"),
                attempts: r.get::<i64, _>("attempts") + 1,
            }
        })
        .collect();
    if !jobs.is_empty() {
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        let (with, wanted) = ids_in(tx.kind(), 3, "id");
        sqlx::query(sql!(
            "{with} UPDATE attachments SET attempts = attempts + 1, next_attempt_at = $1, \
             leased_by = $2 WHERE {wanted}"
        ))
        .bind(lease_until)
        .bind(tx.node())
        .bind(ids_value(&ids))
        .execute(tx.conn())
        .await?;
    }
    Ok(jobs)
}

/// What became of a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// Stored under `key`: `size` bytes of type `mime_type`.
    Stored {
        key: &'a str,
        size: u64,
        mime_type: &'a str,
    },
    /// To be tried again at `at`; `error` says why this attempt failed.
    Retry { at: Millis, error: &'a str },
    /// Given up, for `error`.
    Failed { error: &'a str },
}

/// Records `job`'s outcome, if the attempt that took it still holds it; returns whether it
/// did.
pub(crate) async fn finish(
    tx: &mut Tx,
    job: &Job,
    outcome: &Outcome<'_>,
    now: Millis,
) -> Result<bool, StoreError> {
    let held = "WHERE id = $1 AND attempts = $2 AND state = 'pending'";
    let q = match outcome {
        Outcome::Stored {
            key,
            size,
            mime_type,
        } => sqlx::query(sql!(
            "UPDATE attachments SET state = 'stored', blob_key = $3, size = $4, mime_type = $5, \
             error = NULL, stored_at = $6 {held}"
        ))
        .bind(job.id)
        .bind(job.attempts)
        .bind(*key)
        .bind(i64::try_from(*size).unwrap_or(i64::MAX))
        .bind(*mime_type)
        .bind(now),
        Outcome::Retry { at, error } => sqlx::query(sql!(
            "UPDATE attachments SET next_attempt_at = $3, error = $4, leased_by = NULL {held}"
        ))
        .bind(job.id)
        .bind(job.attempts)
        .bind(*at)
        .bind(*error),
        Outcome::Failed { error } => sqlx::query(sql!(
            "UPDATE attachments SET state = 'failed', error = $3 {held}"
        ))
        .bind(job.id)
        .bind(job.attempts)
        .bind(*error),
    };
    Ok(q.execute(tx.conn()).await?.rows_affected() > 0)
}

/// When the next pending attachment is due (a lease's end, or a retry's time), if any.
pub(crate) async fn next_due(store: &Store) -> Result<Option<Millis>, StoreError> {
    let row =
        sqlx::query("SELECT MIN(next_attempt_at) AS due FROM attachments WHERE state = 'pending'")
            .fetch_one(store.pool())
            .await?;
    Ok(row.try_get::<Option<i64>, _>("due").ok().flatten())
}

/// A stored attachment, found by its token, as the download needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredFile {
    pub(crate) id: i64,
    pub(crate) conversation: i64,
    pub(crate) kind: MediaKind,
    pub(crate) filename: Option<String>,
    pub(crate) mime_type: String,
    pub(crate) blob_key: String,
}

/// The stored attachment whose token is `token`.
pub(crate) async fn stored_by_token(
    store: &Store,
    token: &str,
) -> Result<Option<StoredFile>, StoreError> {
    let row = sqlx::query(
        "SELECT a.id, m.conversation_id, a.kind, a.filename, a.mime_type, a.blob_key \
         FROM attachments a JOIN messages m ON m.id = a.message_id \
         WHERE a.token = $1 AND a.state = 'stored'",
    )
    .bind(token)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.and_then(|r| {
        Some(StoredFile {
            id: r.get("id"),
            conversation: r.get("conversation_id"),
            kind: kind(&r.get::<String, _>("kind")),
            filename: opt_str(&r, "filename"),
            mime_type: opt_str(&r, "mime_type")?,
            blob_key: opt_str(&r, "blob_key")?,
        })
    }))
}

/// A stored file becoming a message's attachment (an agent's upload, a visitor's file).
pub(crate) struct NewStored<'a> {
    pub(crate) kind: MediaKind,
    pub(crate) blob_key: &'a str,
    pub(crate) size: u64,
    pub(crate) mime_type: &'a str,
    pub(crate) filename: Option<&'a str>,
    pub(crate) token: &'a str,
}

impl<'a> NewStored<'a> {
    /// Upload `u`'s file.
    pub(crate) fn of_upload(u: &'a super::uploads::Upload) -> Self {
        Self {
            kind: u.kind,
            blob_key: &u.blob_key,
            size: u.size,
            mime_type: &u.mime_type,
            filename: u.filename.as_deref(),
            token: &u.token,
        }
    }
}

/// Records stored file `f` as an attachment of message `message` (sent from account
/// `account`, or none for a web chat), under its token. Returns it as callers see it.
pub(crate) async fn insert_stored(
    tx: &mut Tx,
    message: i64,
    account: Option<&str>,
    f: &NewStored<'_>,
    now: Millis,
) -> Result<Attachment, StoreError> {
    let row = sqlx::query(sql!(
        "INSERT INTO attachments (message_id, account, kind, filename, state, attempts, \
         next_attempt_at, blob_key, size, mime_type, token, created_at, stored_at) \
         VALUES ($1, $2, $3, $4, 'stored', 0, $5, $6, $7, $8, $9, $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(message)
    .bind(account.unwrap_or_default())
    .bind(f.kind.as_str())
    .bind(f.filename)
    .bind(now)
    .bind(f.blob_key)
    .bind(i64::try_from(f.size).unwrap_or(i64::MAX))
    .bind(f.mime_type)
    .bind(f.token)
    .fetch_one(tx.conn())
    .await?;
    Ok(from_row(&row).1)
}
