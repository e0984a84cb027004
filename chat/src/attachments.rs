//! The files customers' messages carry: downloaded from the provider by a worker, stored in
//! the attachment store ([`crate::blobs`]), and served to the agents who may see their
//! conversation ([`AttachmentFile`]).
//!
//! A file is a durable row written pending with its message (in the inbound group commit:
//! the webhook never waits for a download). After that commit the worker is woken; it takes
//! due files under a lease, several at once, and **outside any transaction** fetches each
//! from the provider ([`crate::provider::media`]) and streams it into the store — hashed,
//! its type read from its first bytes, refused as soon as it passes its kind's cap — then
//! records the outcome in a transaction of its own, with a `message.attachments` event
//! carrying the message's files (a relayed conversation's file is passed on in it:
//! `lifecycle::relay::file_settled`):
//!
//! - stored: the blob's key, its size and type; its URL now serves it;
//! - a failure that may pass (no connection, 5xx, an expired URL, the store failing, bytes
//!   whose SHA-256 is not the one Meta's lookup announced — those are not kept): tried
//!   again after a back-off (10 s, 30 s, 90 s, … at most an hour), up to [`MAX_ATTEMPTS`],
//!   the reason shown meanwhile; then failed;
//! - a failure that will not (larger than its kind's cap — known from the provider's
//!   announced size before any byte is read —, a type WhatsApp does not accept for its
//!   kind, empty, gone from the provider): failed at once, with the reason.
//!
//! Files agents send ([`UploadedFile`]) come the other way: uploaded for a conversation by
//! an agent who may see it, their kind and type read from their first bytes (never the
//! client's word), capped per kind, stored, and recorded as an upload with its own token —
//! served at once to the conversation's agents at the URL the message will carry. Sending a
//! message with it makes the upload that message's attachment (`lifecycle::outgoing`).
//! Uploads never sent can no longer be sent after [`UPLOAD_TTL`]; the worker then deletes
//! their rows. Their bytes stay in the store: it is content-addressed, so the same bytes may
//! belong to another message, and nothing in the store is deleted yet.
//!
//! Providers that fetch a file by URL (Twilio) get a signed, expiring link
//! ([`crate::blobs::links`]); [`crate::Inbox::linked_attachment`] serves it to whoever holds
//! the link, and only the files of messages.
//!
//! A worker that dies mid-download leaves the file leased; after the lease another takes it
//! again (the store is content-addressed: the same bytes twice are stored once). Counted in
//! `deflect_attachments_total{outcome}` (`stored`, `duplicate` — bytes the store held
//! already —, `failed`) and `deflect_attachment_bytes`.

use crate::blobs::{BlobError, BlobStore, BlobStream, LinkError, LinkSigner, MediaKind};
use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{Attachment, Conversation, Message, new_token};
use crate::model::{ChatError, EventKind, StoreError, Viewer};
use crate::provider::media::{FetchError, MediaFetcher};
use crate::repo::{self, attachments::Job, attachments::Outcome};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How many files one process downloads at once (each holds a connection, a chunk and the
/// first bytes of its file in memory).
const MAX_IN_FLIGHT: usize = 16;

/// Attempts at a download before it is failed.
pub const MAX_ATTEMPTS: i64 = 6;

/// How long a download stays with the worker that took it.
const LEASE: Millis = 10 * 60_000;

/// The wait before attempt `attempts + 1`, after `attempts` failed: 10 s, then three times
/// longer each time, at most an hour.
fn back_off(attempts: i64) -> Millis {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    10_000_i64
        .saturating_mul(3_i64.saturating_pow(exponent))
        .min(3_600_000)
}

pub use crate::model::UPLOAD_TTL;

/// The longest file name kept, in characters.
const MAX_FILENAME: usize = 200;

/// A file an agent uploaded, ready to be sent with a message
/// (`POST /api/v1/conversations/{id}/attachments` answers it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploadedFile {
    /// What a message sends it by (`"attachments": [{"token": …}]`).
    pub token: String,
    /// Where the conversation's agents download it (the same once it is sent).
    pub url: String,
    /// Its type, read from its bytes.
    pub mime_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its file name, as uploaded (without directories).
    pub filename: Option<String>,
    /// Its kind, read from its bytes unless the uploader named one.
    pub kind: MediaKind,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The store refused the bytes: too large for the kind, not a type accepted for it,
    /// empty, or the client's stream failed (or the store did).
    #[error(transparent)]
    Refused(#[from] BlobError),
    /// Not a type WhatsApp accepts for any kind.
    #[error(
        "the file is {} (read from its first bytes); accepted: {}",
        .found.unwrap_or("of a type that could not be recognised"),
        accepted_list()
    )]
    UnknownType {
        /// What the bytes are, when recognised.
        found: Option<&'static str>,
    },
    /// Not a picture or a document, which is what web visitors may send.
    #[error(
        "the widget takes pictures (JPEG, PNG) and documents (PDF, Office, plain text); this file is {}",
        .found.unwrap_or("of a type that could not be recognised")
    )]
    NotForVisitors {
        /// What it is, when recognised (a kind, or a type).
        found: Option<&'static str>,
    },
    /// No such conversation for the uploader, or no store.
    #[error(transparent)]
    Chat(#[from] ChatError),
}

/// Every accepted type with its kind: `image/jpeg, image/png (image); …`.
fn accepted_list() -> String {
    (crate::blobs::ACCEPTED.iter())
        .map(|(kind, types)| format!("{} ({kind})", types.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A file name as kept: its last path segment, without control characters, at most
/// [`MAX_FILENAME`] characters; none when nothing is left.
pub(crate) fn clean_filename(name: &str) -> Option<String> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME)
        .collect();
    match name.trim() {
        "" | "." | ".." => None,
        n => Some(n.to_string()),
    }
}

/// A stored file, ready to be sent to an agent.
pub struct AttachmentFile {
    /// Its type, read from its bytes.
    pub mime_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its kind.
    pub kind: MediaKind,
    /// The file name to save it under: the sender's for a document, else made up of its kind,
    /// its number and its type's extension (`image-12.jpg`).
    pub filename: String,
    /// Where its bytes are: opened only once the caller knows which it sends.
    place: (BlobStore, String),
}

impl AttachmentFile {
    /// Its bytes, read as they are sent.
    pub async fn bytes(&self) -> Result<BlobStream, ChatError> {
        let (blobs, key) = &self.place;
        match blobs.get(key).await {
            Ok((bytes, _)) => Ok(bytes),
            Err(e) => Err(StoreError::Attachments(Box::new(e)).into()),
        }
    }

    /// Only bytes `part` of the file (a range [`crate::blobs::ByteRange::within`] its
    /// size gave: a browser seeking in audio or video).
    pub async fn part(&self, part: std::ops::Range<u64>) -> Result<BlobStream, ChatError> {
        let (blobs, key) = &self.place;
        (blobs.get_part(key, part).await).map_err(|e| StoreError::Attachments(Box::new(e)).into())
    }
}

impl std::fmt::Debug for AttachmentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentFile")
            .field("mime_type", &self.mime_type)
            .field("size", &self.size)
            .field("kind", &self.kind)
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

/// The attachment worker's state: the context, the store (none: this process downloads
/// nothing and serves nothing) and a fetcher per account. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AttachmentService {
    ctx: Arc<Ctx>,
    blobs: Option<BlobStore>,
    links: Option<LinkSigner>,
    fetchers: Arc<HashMap<String, MediaFetcher>>,
}

/// What became of one download.
enum Done {
    Stored(crate::blobs::StoredBlob),
    Retry(String),
    Failed(String),
}

impl AttachmentService {
    /// The worker of `ctx`'s accounts, storing into `blobs`.
    pub(crate) fn new(ctx: Arc<Ctx>, blobs: Option<BlobStore>, links: Option<LinkSigner>) -> Self {
        let http = crate::provider::media::http_client();
        let fetchers = (ctx.file_settings().whatsapp.accounts.iter())
            .map(|a| (a.name.clone(), MediaFetcher::for_account(a, http.clone())))
            .collect();
        Self {
            ctx,
            blobs,
            links,
            fetchers: Arc::new(fetchers),
        }
    }

    /// Downloads every file due now — up to [`MAX_IN_FLIGHT`] at once — and those that
    /// come due meanwhile; returns how many attempts finished. An outcome that could not be
    /// recorded is logged and the file taken again after its lease.
    pub(crate) async fn run_due(&self) -> Result<usize, ChatError> {
        if self.blobs.is_none() {
            return Ok(0);
        }
        let expired = self.ctx.now() - UPLOAD_TTL;
        let removed = repo::uploads::delete_older(self.ctx.store(), expired).await?;
        if removed > 0 {
            tracing::info!(uploads = removed, "uploads never sent expired");
        }
        let mut running = JoinSet::new();
        let (mut done, mut failed) = (0, None);
        loop {
            let room = MAX_IN_FLIGHT - running.len();
            if failed.is_none() && room > 0 {
                match self.take(room).await {
                    Ok(jobs) => {
                        for job in jobs {
                            running.spawn(self.clone().complete(job));
                        }
                    }
                    Err(e) => failed = Some(e),
                }
            }
            match running.join_next().await {
                None => return failed.map_or(Ok(done), Err),
                Some(Ok(Ok(()))) => done += 1,
                Some(Ok(Err(e))) => {
                    tracing::warn!(cause = %e, "attachment worker: a download's outcome was not stored");
                }
                Some(Err(e)) => {
                    tracing::error!(cause = %e, "attachment worker: a download panicked")
                }
            }
        }
    }

    /// Takes up to `limit` due files under their lease.
    async fn take(&self, limit: usize) -> Result<Vec<Job>, ChatError> {
        let now = self.ctx.now();
        let mut tx = self.ctx.write().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let jobs = repo::attachments::take(&mut tx, now, now + LEASE, limit).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    /// Downloads a taken file and records the outcome.
    async fn complete(self, job: Job) -> Result<(), ChatError> {
        let done = self.download(&job).await;
        let now = self.ctx.now();
        let failed;
        let outcome = match &done {
            Done::Stored(b) => Outcome::Stored {
                key: &b.key,
                size: b.size,
                mime_type: b.mime_type,
            },
            Done::Retry(why) if job.attempts >= MAX_ATTEMPTS => {
                failed = format!("gave up after {} attempts: {why}", job.attempts);
                Outcome::Failed { error: &failed }
            }
            Done::Retry(why) => Outcome::Retry {
                at: now + back_off(job.attempts),
                error: why,
            },
            Done::Failed(why) => Outcome::Failed { error: why },
        };
        let mut tx = self.ctx.write().await?;
        if !repo::attachments::finish(&mut tx, &job, &outcome, now).await? {
            // Taken again after its lease ran out: that attempt records its outcome.
            return Ok(());
        }
        let attachments = repo::attachments::of_message(&mut tx, job.message).await?;
        let data = json!({ "message_id": job.message, "attachments": attachments });
        let kind = EventKind::MessageAttachments;
        repo::events::log(&mut tx, Some(job.conversation), kind, data, now).await?;
        if !matches!(outcome, Outcome::Retry { .. }) {
            let (conversation, message) = (job.conversation, job.message);
            crate::lifecycle::relay::file_settled(&self.ctx, &mut tx, conversation, message, now)
                .await?;
        }
        tx.commit().await?;
        let (attachment, message_id) = (job.id, job.message);
        match &outcome {
            Outcome::Stored {
                size, mime_type, ..
            } => {
                let duplicate = matches!(&done, Done::Stored(b) if !b.stored_now);
                let outcome = if duplicate { "duplicate" } else { "stored" };
                metrics::counter!("deflect_attachments_total", "outcome" => outcome).increment(1);
                metrics::histogram!("deflect_attachment_bytes").record(*size as f64);
                tracing::info!(
                    attachment,
                    message_id,
                    size,
                    mime_type,
                    duplicate,
                    "attachment stored"
                );
            }
            Outcome::Failed { error } => {
                metrics::counter!("deflect_attachments_total", "outcome" => "failed").increment(1);
                tracing::warn!(attachment, message_id, %error, "attachment failed");
            }
            Outcome::Retry { error, .. } => {
                let attempts = job.attempts;
                tracing::info!(attachment, message_id, attempts, %error, "attachment download failed; trying again later");
            }
        }
        Ok(())
    }

    /// Fetches `job`'s file and streams it into the store.
    async fn download(&self, job: &Job) -> Done {
        let (Some(blobs), Some(source)) = (&self.blobs, &job.source) else {
            return Done::Failed("the file has no source".into());
        };
        let Some(fetcher) = self.fetchers.get(&job.account) else {
            let why = format!("the WhatsApp account {:?} is not configured", job.account);
            return Done::Retry(why);
        };
        let (kind, limit) = (job.kind, blobs.max_size(job.kind));
        let download = match fetcher.fetch(source, limit).await {
            Ok(d) => d,
            Err(FetchError::Retry(why)) => return Done::Retry(why),
            Err(FetchError::Gone(why)) => return Done::Failed(why),
            Err(FetchError::TooLarge { .. }) => {
                return Done::Failed(BlobError::TooLarge { kind, limit }.to_string());
            }
        };
        let declared = job.declared_mime.clone().or(download.declared_mime.clone());
        let digest = download.declared_sha256.clone();
        let put = blobs.put_stream(download.into_stream(), declared.as_deref(), job.kind);
        match put.await {
            // Not the bytes Meta announced (changed or cut in transit): fetched again.
            Ok(stored) if digest.as_ref().is_some_and(|d| *d != stored.sha256) => {
                if stored.stored_now {
                    let _ = blobs.delete(&stored.key).await;
                }
                Done::Retry("the file's SHA-256 is not the one the provider announced".into())
            }
            Ok(stored) => Done::Stored(stored),
            Err(
                e @ (BlobError::TooLarge { .. }
                | BlobError::UnsupportedType { .. }
                | BlobError::Empty),
            ) => Done::Failed(e.to_string()),
            Err(e) => Done::Retry(e.to_string()),
        }
    }

    /// The worker: downloads what is due, then waits for new files (or the next retry),
    /// until `stop`.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        if self.blobs.is_none() {
            return;
        }
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.run_due().await {
                Ok(_) => {
                    let due = repo::attachments::next_due(self.ctx.store()).await;
                    self.ctx.until_due(due.ok().flatten())
                }
                Err(e) => {
                    tracing::warn!(cause = %e, "attachment worker: database error; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = self.ctx.attachment_wake().notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// The stored file (or upload) whose token is `token`, if `viewer` may see its
    /// conversation; else (or when there is no such file, or it is not stored yet)
    /// "attachment not found".
    pub(crate) async fn open(
        &self,
        viewer: &Viewer,
        token: &str,
    ) -> Result<AttachmentFile, ChatError> {
        let not_found = ChatError::NotFound("attachment");
        let Some(blobs) = &self.blobs else {
            return Err(not_found);
        };
        let file = match repo::attachments::stored_by_token(self.ctx.store(), token).await? {
            Some(file) => file,
            None => match repo::uploads::find(self.ctx.store(), token).await? {
                Some(u) => repo::attachments::StoredFile {
                    id: u.id,
                    conversation: u.conversation,
                    kind: u.kind,
                    filename: u.filename,
                    mime_type: u.mime_type,
                    blob_key: u.blob_key,
                },
                None => return Err(not_found),
            },
        };
        let conversation = repo::conversations::get(self.ctx.store(), file.conversation).await?;
        if !conversation.is_some_and(|c| viewer.can_see(&c)) {
            return Err(not_found);
        }
        self.read(blobs, file).await
    }

    /// The file of a message whose signed link (token, `expires`, `signature`) is valid
    /// now: [`ChatError::Forbidden`] when the signature is wrong or the link expired,
    /// [`ChatError::NotFound`] when it names no stored file of a message.
    pub(crate) async fn open_linked(
        &self,
        token: &str,
        expires: &str,
        signature: &str,
    ) -> Result<AttachmentFile, ChatError> {
        let (Some(blobs), Some(links)) = (&self.blobs, &self.links) else {
            return Err(ChatError::NotFound("attachment"));
        };
        match links.check(token, expires, signature, self.ctx.now()) {
            Ok(()) => {}
            Err(e @ (LinkError::BadSignature | LinkError::Expired)) => {
                return Err(ChatError::Forbidden(e.to_string()));
            }
        }
        let Some(file) = repo::attachments::stored_by_token(self.ctx.store(), token).await? else {
            return Err(ChatError::NotFound("attachment"));
        };
        self.read(blobs, file).await
    }

    /// Records a file `viewer` uploads for conversation `conversation` (see the module
    /// documentation): `chunks` are its bytes, `declared` and `filename` what the client
    /// said, `kind` the kind asked for (else read from the bytes).
    pub(crate) async fn upload<S, E>(
        &self,
        viewer: &Viewer,
        conversation: i64,
        chunks: S,
        declared: Option<&str>,
        filename: Option<&str>,
        kind: Option<MediaKind>,
    ) -> Result<UploadedFile, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(blobs) = &self.blobs else {
            return Err(ChatError::Conflict("this gateway has no attachment store".into()).into());
        };
        let c = (repo::conversations::get(self.ctx.store(), conversation).await)
            .map_err(ChatError::from)?;
        if !c.is_some_and(|c| viewer.can_see(&c)) {
            return Err(ChatError::NotFound("conversation").into());
        }
        let mut chunks = std::pin::pin!(chunks.map(|r| r.map_err(Into::into)));
        let (head, complete) = read_head(&mut chunks).await?;
        let kind = match kind {
            Some(k) => k,
            None => {
                let mut first = Vec::with_capacity(crate::blobs::SNIFF_LEN);
                for b in &head {
                    first.extend_from_slice(b);
                }
                first.truncate(crate::blobs::SNIFF_LEN);
                if first.is_empty() {
                    return Err(BlobError::Empty.into());
                }
                match crate::blobs::media::kind_of(&first, declared, complete) {
                    Some(k) => k,
                    None => {
                        let found = crate::blobs::media::found_type(&first, declared, complete);
                        return Err(UploadError::UnknownType { found });
                    }
                }
            }
        };
        let all = stream::iter(head.into_iter().map(Ok)).chain(chunks);
        let stored = blobs.put_stream(all, declared, kind).await?;
        let filename = filename.and_then(clean_filename);
        let token = new_token();
        let new = repo::uploads::NewUpload {
            conversation,
            agent: Some(viewer.agent_id),
            kind,
            blob_key: &stored.key,
            size: stored.size,
            mime_type: stored.mime_type,
            filename: filename.as_deref(),
            token: &token,
        };
        let u = (repo::uploads::insert(self.ctx.store(), &new, self.ctx.now()).await)
            .map_err(ChatError::from)?;
        tracing::info!(
            upload = u.id,
            conversation,
            kind = kind.as_str(),
            size = u.size,
            mime_type = stored.mime_type,
            duplicate = !stored.stored_now,
            "file uploaded"
        );
        Ok(UploadedFile {
            url: Attachment::url_of(&u.token),
            token: u.token,
            mime_type: u.mime_type,
            size: u.size,
            filename: u.filename,
            kind,
        })
    }

    /// Stores a file a web visitor sends in their conversation `id` (a picture or a
    /// document, read from the bytes), as their message carrying it: the same checks as an
    /// agent's upload, then the message, its attachment and its `message.created` event in
    /// one transaction (and, with the site's bot, the bot's turn).
    pub(crate) async fn visitor_upload<S, E>(
        &self,
        visitor_token: &str,
        id: i64,
        chunks: S,
        declared: Option<&str>,
        filename: Option<&str>,
    ) -> Result<Message, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(blobs) = &self.blobs else {
            return Err(ChatError::Conflict("this gateway has no attachment store".into()).into());
        };
        // Checked before reading the bytes, and again when the message is written.
        self.visitors_conversation(visitor_token, id).await?;
        let mut chunks = std::pin::pin!(chunks.map(|r| r.map_err(Into::into)));
        let (head, complete) = read_head(&mut chunks).await?;
        let mut first = Vec::with_capacity(crate::blobs::SNIFF_LEN);
        for b in &head {
            first.extend_from_slice(b);
        }
        first.truncate(crate::blobs::SNIFF_LEN);
        if first.is_empty() {
            return Err(BlobError::Empty.into());
        }
        let kind = match crate::blobs::media::kind_of(&first, declared, complete) {
            Some(k @ (MediaKind::Image | MediaKind::Document)) => k,
            other => {
                let found = other
                    .map(|k| k.as_str())
                    .or_else(|| crate::blobs::media::found_type(&first, declared, complete));
                return Err(UploadError::NotForVisitors { found });
            }
        };
        let all = stream::iter(head.into_iter().map(Ok)).chain(chunks);
        let stored = blobs.put_stream(all, declared, kind).await?;
        let filename = filename.and_then(clean_filename);
        let token = new_token();
        let now = self.ctx.now();
        let mut tx = self.ctx.write().await.map_err(ChatError::from)?;
        let c = visitor_conversation_in(&mut tx, visitor_token, id).await?;
        if c.status == crate::model::Status::Closed {
            return Err(ChatError::Conflict("the conversation is closed".into()).into());
        }
        if c.channel != crate::model::Channel::Web {
            return Err(
                ChatError::Conflict("the conversation continues on WhatsApp".into()).into(),
            );
        }
        let placeholder = format!("[{kind}]");
        let write = async {
            let mut m =
                repo::messages::insert_web_file(&mut tx, id, kind.as_str(), &placeholder, now)
                    .await?;
            let file = repo::attachments::NewStored {
                kind,
                blob_key: &stored.key,
                size: stored.size,
                mime_type: stored.mime_type,
                filename: filename.as_deref(),
                token: &token,
            };
            let a = repo::attachments::insert_stored(&mut tx, m.id, None, &file, now).await?;
            m.attachments = vec![a];
            repo::conversations::received(&mut tx, id, now).await?;
            let data = json!({ "message": m });
            repo::events::log(&mut tx, Some(id), EventKind::MessageCreated, data, now).await?;
            Ok::<_, ChatError>(m)
        };
        let m = write.await?;
        if c.status == crate::model::Status::Bot {
            crate::lifecycle::automation::to_bot(&self.ctx, &mut tx, &c, &m, now).await?;
        }
        tx.commit().await.map_err(ChatError::from)?;
        metrics::counter!("deflect_inbox_messages_total", "direction" => "in", "channel" => "web")
            .increment(1);
        tracing::info!(
            message_id = m.id,
            kind = kind.as_str(),
            size = stored.size,
            "visitor's file stored"
        );
        Ok(m)
    }

    /// The file with token `token` of a message in conversation of the visitor whose token
    /// is `visitor_token`; else "attachment not found".
    pub(crate) async fn open_for_visitor(
        &self,
        visitor_token: &str,
        token: &str,
    ) -> Result<AttachmentFile, ChatError> {
        let not_found = ChatError::NotFound("attachment");
        let Some(blobs) = &self.blobs else {
            return Err(not_found);
        };
        let Some(file) = repo::attachments::stored_by_token(self.ctx.store(), token).await? else {
            return Err(not_found);
        };
        let hash = crate::model::hash_token(visitor_token);
        let mine =
            repo::conversations::of_visitor(self.ctx.store(), file.conversation, &hash).await?;
        if mine.is_none() {
            return Err(not_found);
        }
        self.read(blobs, file).await
    }

    /// Visitor `visitor_token`'s web conversation `id` (read outside a transaction).
    async fn visitors_conversation(&self, visitor_token: &str, id: i64) -> Result<(), ChatError> {
        let hash = crate::model::hash_token(visitor_token);
        match repo::conversations::of_visitor(self.ctx.store(), id, &hash).await? {
            Some(_) => Ok(()),
            None => Err(ChatError::NotFound("conversation")),
        }
    }

    /// Stored `file`, as sent to a caller (its size asked of the store, its bytes not yet).
    async fn read(
        &self,
        blobs: &BlobStore,
        file: repo::attachments::StoredFile,
    ) -> Result<AttachmentFile, ChatError> {
        let not_found = ChatError::NotFound("attachment");
        let size = match blobs.size(&file.blob_key).await {
            Ok(found) => found,
            Err(BlobError::NotFound { .. }) => {
                tracing::error!(
                    attachment = file.id,
                    "a stored attachment's bytes are missing"
                );
                return Err(not_found);
            }
            Err(e) => return Err(StoreError::Attachments(Box::new(e)).into()),
        };
        let filename = file.filename.clone().unwrap_or_else(|| {
            let ext = crate::blobs::media::extension(&file.mime_type).unwrap_or("bin");
            format!("{}-{}.{ext}", file.kind, file.id)
        });
        Ok(AttachmentFile {
            mime_type: file.mime_type,
            size,
            kind: file.kind,
            filename,
            place: (blobs.clone(), file.blob_key),
        })
    }
}

/// Chunks of `chunks` until at least [`crate::blobs::SNIFF_LEN`] bytes (or its end): the
/// chunks, and whether the stream ended.
async fn read_head<S>(chunks: &mut std::pin::Pin<&mut S>) -> Result<(Vec<Bytes>, bool), BlobError>
where
    S: Stream<Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>>,
{
    let mut head = Vec::new();
    let mut len = 0;
    while len < crate::blobs::SNIFF_LEN {
        match chunks.next().await {
            None => return Ok((head, true)),
            Some(Ok(b)) => {
                len += b.len();
                head.push(b);
            }
            Some(Err(e)) => return Err(BlobError::Source(e)),
        }
    }
    Ok((head, false))
}

/// Visitor `visitor_token`'s conversation `id`, loaded and locked in `tx`; "not found"
/// otherwise.
async fn visitor_conversation_in(
    tx: &mut crate::store::Tx,
    visitor_token: &str,
    id: i64,
) -> Result<Conversation, ChatError> {
    let hash = crate::model::hash_token(visitor_token);
    let Some((contact, _)) = repo::visitors::of_token(tx, &hash).await? else {
        return Err(ChatError::NotFound("conversation"));
    };
    let c = crate::lifecycle::load(tx, id).await?;
    if c.contact_id != contact || c.site.is_none() {
        return Err(ChatError::NotFound("conversation"));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_last_segment_without_controls() {
        assert_eq!(
            clean_filename("invoice 2026.pdf").as_deref(),
            Some("invoice 2026.pdf")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\Users\\a\r\nb.txt").as_deref(),
            Some("ab.txt")
        );
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename("  "), None);
        assert_eq!(
            clean_filename(&"x".repeat(300)).map(|n| n.len()),
            Some(MAX_FILENAME)
        );
    }
}
