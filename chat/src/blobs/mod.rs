//! The bytes of media attachments — images, voice notes, videos, documents, stickers — kept
//! apart from the database, under a content address: [`BlobStore`].
//!
//! [`BlobStore::put_stream`] takes a file as a stream of chunks and, as they arrive, hashes
//! them (SHA-256), reads the type from the first bytes ([`media::identify`]: never the
//! sender's word), stops at the kind's size cap, and writes them to a staging file on local
//! disk. Only a complete, checked file is stored, under `sha256/<hex>`: the same bytes put
//! twice are stored once. A refused or failed put leaves nothing behind.
//!
//! # Where the bytes go
//!
//! - **local** (`attachments.store = "local"`): files under `attachments.path`. The staging
//!   file is in its `staging/` directory, fsynced, then hard-linked into place (atomically,
//!   and only if no file has that content yet) and unlinked.
//! - **s3**: a bucket. The staging file (in `attachments.path/staging`) is uploaded once it is
//!   complete, unless the bucket already has the object (a HEAD first): up to 5 MiB with one
//!   PUT, larger in 5 MiB parts of a multipart upload, one part in memory at a time. At most
//!   [`UPLOADS_AT_ONCE`] uploads run together, so however many files arrive at once, memory
//!   holds at most that many parts (40 MiB) plus a chunk and the first 16 KiB of each file.
//!
//! Why stage on local disk rather than stream straight into a multipart upload: the key is
//! the hash, known only at the end, so a direct upload would go to a temporary object and be
//! copied (S3 has no rename); every file, even a 30 KB photo, would cost a multipart
//! upload's three requests plus the copy and a delete, an upload refused halfway would leave
//! a part-written object to abort, and each upload in flight would hold a 5 MiB part buffer.
//! Staging costs a local write and read of the file, and gives a bounded memory, no object in
//! the bucket before the file is checked, and no upload at all for a file already stored.
//!
//! Staging files left by a crash are removed when the store opens, once a day old (another
//! process may be writing to the same directory).
//!
//! # Dependencies
//!
//! object_store (Apache Arrow's; the storage layer of DataFusion, delta-rs and others, released
//! every few weeks): one API for a local directory and S3 or S3-compatible servers (MinIO,
//! Ceph, Garage), with SigV4 signing, the AWS credential chain, retries with back-off,
//! multipart uploads, and atomic, fsynced local writes. Its features here are `fs`, `aws-base`
//! and `ring`, not `aws`: requests go through deflect's own reqwest client (module `s3`), so it
//! builds no aws-lc and turns on no HTTP/2. With infer (magic numbers, no dependencies with
//! its default features off) it adds 14 crates to deflect-chat's build (`cargo tree -e
//! normal,build`: 199 → 213; chrono, quick-xml, crc-fast, nix and walkdir the largest).
//! Measured the same way, object_store's `aws` feature adds 22 (aws-lc-sys, a cmake build of
//! a C library, and h2 among them), the AWS SDK (aws-sdk-s3, S3 only) 47, rust-s3 33.

pub mod links;
pub mod media;
mod range;
mod s3;

pub use links::{CONTINUE_PATH, LinkError, LinkKind, LinkSigner, MEDIA_PATH};
pub use media::{ACCEPTED, SNIFF_LEN, accepted};
pub use range::ByteRange;

use bytes::Bytes;
pub use deflect_config::MediaKind;
use deflect_config::{AttachmentsConfig, ByteSize, MaxSizes, StoreKind};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Location;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload,
};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

/// Uploads to a bucket that run at once; each holds at most one [`PART_SIZE`] part.
pub const UPLOADS_AT_ONCE: usize = 8;

/// The size of a multipart upload's parts (S3's smallest but for the last); files up to it
/// go up in one request.
pub const PART_SIZE: usize = 5 * 1024 * 1024;

/// The directory of files being received, under the store's directory.
const STAGING: &str = "staging";

/// Staging files older than this are a crash's leftovers.
const STALE_STAGING: Duration = Duration::from_secs(24 * 3600);

/// Where attachments are stored (see the module documentation). Cloning it is cheap: clones
/// share the store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Backend,
    /// Where files wait until they are complete and checked.
    staging: PathBuf,
    caps: MaxSizes,
    uploads: Semaphore,
}

#[derive(Debug)]
enum Backend {
    /// Files under the store's directory.
    Local(LocalFileSystem),
    /// A bucket, with its prefix.
    Bucket(Arc<dyn ObjectStore>),
}

/// What [`BlobStore::put_stream`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    /// Where it is: `sha256/<hex>`.
    pub key: String,
    /// The SHA-256 of the bytes, in lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its type, as read from the bytes (one of [`accepted`] for its kind).
    pub mime_type: &'static str,
    /// Its kind, as given.
    pub kind: MediaKind,
    /// False when the store already held the same bytes (nothing was written).
    pub stored_now: bool,
}

/// Why an attachment could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Larger than its kind's cap (`attachments.max_size`); the rest was not read.
    #[error(
        "the {kind} is larger than {} (attachments.max_size.{kind})",
        ByteSize(*.limit)
    )]
    TooLarge {
        /// The kind.
        kind: MediaKind,
        /// The cap, in bytes.
        limit: u64,
    },
    /// Not a type WhatsApp accepts for its kind, as read from its first bytes; the rest was
    /// not read.
    #[error(
        "the {kind} is {} (read from its first bytes); accepted: {}",
        .found.unwrap_or("of a type that could not be recognised"),
        accepted(*.kind).join(", ")
    )]
    UnsupportedType {
        /// The kind.
        kind: MediaKind,
        /// What the bytes are, when recognised.
        found: Option<&'static str>,
    },
    /// No bytes at all.
    #[error("the attachment is empty")]
    Empty,
    /// The stream of the attachment's bytes failed (a download cut short, a client gone).
    #[error("the attachment's bytes could not be received: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No attachment has this key.
    #[error("no attachment is stored under {key:?}")]
    NotFound {
        /// The key asked for.
        key: String,
    },
    /// Not a key this store gives out (`sha256/<64 hex digits>`).
    #[error("{key:?} is not an attachment key (sha256/<64 lower-case hex digits>)")]
    InvalidKey {
        /// The key asked for.
        key: String,
    },
    /// Writing or reading the staging file failed.
    #[error("attachment staging file: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed (the directory, or the bucket's server).
    #[error("attachment store: {0}")]
    Store(#[from] object_store::Error),
}

/// A stream of an attachment's bytes, as [`BlobStore::get`] gives it.
pub type BlobStream = BoxStream<'static, Result<Bytes, BlobError>>;

impl BlobStore {
    /// Opens the store `config` names, with its directory at `path`
    /// (`deflect_config::Config::attachments_path`): creates the directory and its staging
    /// directory, and removes staging files a crash left.
    pub async fn open(config: &AttachmentsConfig, path: &Path) -> Result<Self, BlobError> {
        let staging = path.join(STAGING);
        tokio::fs::create_dir_all(&staging).await?;
        remove_stale(&staging).await?;
        let backend = match (config.store, &config.s3) {
            (StoreKind::S3, Some(s3)) => Backend::Bucket(s3::bucket(s3)?),
            (StoreKind::S3, None) => {
                return Err(BlobError::Store(object_store::Error::Generic {
                    store: "S3",
                    source: "attachments.store is \"s3\" but [attachments.s3] is missing".into(),
                }));
            }
            (StoreKind::Local, _) => {
                Backend::Local(LocalFileSystem::new_with_prefix(path)?.with_fsync(true))
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                staging,
                caps: config.max_size.clone(),
                uploads: Semaphore::new(UPLOADS_AT_ONCE),
            }),
        })
    }

    /// Stores an attachment of `kind` arriving as `chunks` (see the module documentation):
    /// its type is read from its first bytes (`declared`, the sender's word, only chooses
    /// where the bytes cannot: [`media::identify`]), it is refused as soon as it passes its
    /// kind's cap or shows a type not accepted for its kind, and it is stored once per
    /// content. Nothing of a refused or failed put stays behind.
    pub async fn put_stream<S, E>(
        &self,
        chunks: S,
        declared: Option<&str>,
        kind: MediaKind,
    ) -> Result<StoredBlob, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limit = self.inner.caps.of(kind);
        let staged = Staged::create(&self.inner.staging).await?;
        let mut file = tokio::fs::File::create(&staged.path).await?;
        let mut hasher = Sha256::new();
        let mut head: Vec<u8> = Vec::with_capacity(SNIFF_LEN);
        let mut mime_type = None;
        let mut size: u64 = 0;
        let mut chunks = std::pin::pin!(chunks);
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| BlobError::Source(e.into()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(BlobError::TooLarge { kind, limit });
            }
            if mime_type.is_none() {
                let take = chunk.len().min(SNIFF_LEN - head.len());
                head.extend_from_slice(&chunk[..take]);
                if head.len() == SNIFF_LEN {
                    mime_type = Some(identify(kind, &head, declared, false)?);
                }
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        if size == 0 {
            return Err(BlobError::Empty);
        }
        let mime_type = match mime_type {
            Some(t) => t,
            None => identify(kind, &head, declared, true)?,
        };
        drop(head);
        file.flush().await?;
        let sha256 = hex::encode(hasher.finalize());
        let key = format!("sha256/{sha256}");
        let location = Location::from(key.as_str());
        let stored_now = match &self.inner.backend {
            Backend::Local(dir) => {
                // The hard link below publishes the file: its bytes must be on disk first.
                file.sync_all().await?;
                drop(file);
                let from = Location::from(format!("{STAGING}/{}", staged.name));
                match dir.rename_if_not_exists(&from, &location).await {
                    Ok(()) => true,
                    Err(object_store::Error::AlreadyExists { .. }) => false,
                    Err(e) => return Err(e.into()),
                }
            }
            Backend::Bucket(bucket) => {
                drop(file);
                self.upload(bucket.as_ref(), &staged.path, &location, size, mime_type)
                    .await?
            }
        };
        Ok(StoredBlob {
            key,
            sha256,
            size,
            mime_type,
            kind,
            stored_now,
        })
    }

    /// The attachment under `key`: its bytes as a stream (read as it is consumed, never whole
    /// into memory) and its size.
    pub async fn get(&self, key: &str) -> Result<(BlobStream, u64), BlobError> {
        let location = location(key)?;
        let found = self
            .objects()
            .get(&location)
            .await
            .map_err(|e| not_found(e, key))?;
        let size = found.meta.size;
        Ok((found.into_stream().map_err(BlobError::from).boxed(), size))
    }

    /// The size of the attachment under `key` (a metadata request: no byte is read).
    pub async fn size(&self, key: &str) -> Result<u64, BlobError> {
        let location = location(key)?;
        let meta = (self.objects().head(&location).await).map_err(|e| not_found(e, key))?;
        Ok(meta.size)
    }

    /// Bytes `part` of the attachment under `key` (a range [`ByteRange::within`] its size
    /// gave), as a stream.
    pub async fn get_part(&self, key: &str, part: Range<u64>) -> Result<BlobStream, BlobError> {
        let location = location(key)?;
        let options = GetOptions {
            range: Some(GetRange::Bounded(part)),
            ..GetOptions::default()
        };
        let found = self
            .objects()
            .get_opts(&location, options)
            .await
            .map_err(|e| not_found(e, key))?;
        Ok(found.into_stream().map_err(BlobError::from).boxed())
    }

    /// Deletes the attachment under `key`; deleting one that is not there is not an error.
    /// The same bytes attached twice share a key: delete only when nothing refers to it.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let location = location(key)?;
        match self.objects().delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The cap of `kind`, in bytes (`attachments.max_size`).
    pub fn max_size(&self, kind: MediaKind) -> u64 {
        self.inner.caps.of(kind)
    }

    fn objects(&self) -> &dyn ObjectStore {
        match &self.inner.backend {
            Backend::Local(dir) => dir,
            Backend::Bucket(bucket) => bucket.as_ref(),
        }
    }

    /// Uploads the staging file at `path` to `to`, unless the bucket has it already; true when
    /// it was uploaded.
    async fn upload(
        &self,
        bucket: &dyn ObjectStore,
        path: &Path,
        to: &Location,
        size: u64,
        mime_type: &'static str,
    ) -> Result<bool, BlobError> {
        match bucket.head(to).await {
            Ok(_) => return Ok(false),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let attributes = Attributes::from_iter([(Attribute::ContentType, mime_type)]);
        // Never closed: acquiring only waits.
        let _slot = self.inner.uploads.acquire().await.map_err(|e| {
            BlobError::Store(object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })
        })?;
        let mut file = tokio::fs::File::open(path).await?;
        if size <= PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).await?;
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            bucket.put_opts(to, bytes.into(), options).await?;
            return Ok(true);
        }
        let options = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let mut upload = bucket.put_multipart_opts(to, options).await?;
        match send_parts(upload.as_mut(), &mut file).await {
            Ok(()) => Ok(true),
            Err(e) => {
                // Best effort: a multipart upload left open holds its parts until the
                // bucket's lifecycle rule for incomplete uploads removes them.
                if let Err(abort) = upload.abort().await {
                    tracing::warn!(error = %abort, "could not abort an attachment upload");
                }
                Err(e)
            }
        }
    }
}

/// Sends `file` as the parts of `upload`, one part in memory at a time, and completes it.
async fn send_parts(
    upload: &mut dyn MultipartUpload,
    file: &mut tokio::fs::File,
) -> Result<(), BlobError> {
    loop {
        let mut part = Vec::with_capacity(PART_SIZE);
        (&mut *file)
            .take(PART_SIZE as u64)
            .read_to_end(&mut part)
            .await?;
        if part.is_empty() {
            break;
        }
        upload.put_part(PutPayload::from(part)).await?;
    }
    upload.complete().await?;
    Ok(())
}

/// The type of the file (see [`media::identify`]), or why it is refused.
fn identify(
    kind: MediaKind,
    head: &[u8],
    declared: Option<&str>,
    complete: bool,
) -> Result<&'static str, BlobError> {
    media::identify(kind, head, declared, complete)
        .map_err(|found| BlobError::UnsupportedType { kind, found })
}

/// The location of `key`, if it is one this store gives out.
fn location(key: &str) -> Result<Location, BlobError> {
    let valid = key.strip_prefix("sha256/").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if valid {
        Ok(Location::from(key))
    } else {
        Err(BlobError::InvalidKey { key: key.into() })
    }
}

fn not_found(e: object_store::Error, key: &str) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound { key: key.into() },
        e => e.into(),
    }
}

/// A staging file, removed when dropped (after a refusal or failure; after publishing, when
/// the local store has already moved it, removing it finds nothing).
struct Staged {
    name: String,
    path: PathBuf,
}

impl Staged {
    async fn create(dir: &Path) -> Result<Self, BlobError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
        let name = format!("{}.part", hex::encode(random));
        let path = dir.join(&name);
        Ok(Self { name, path })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove a staging file");
        }
    }
}

/// Removes staging files older than [`STALE_STAGING`]. One that another process finishes
/// meanwhile is no longer there: that is fine.
async fn remove_stale(staging: &Path) -> std::io::Result<()> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut entries = tokio::fs::read_dir(staging).await?;
    while let Some(entry) = entries.next_entry().await? {
        let metadata = match entry.metadata().await {
            Ok(m) => m,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        let age = metadata
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .unwrap_or_default();
        if metadata.is_file() && age > STALE_STAGING {
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => {
                    tracing::info!(path = %entry.path().display(), "removed a stale staging file")
                }
                Err(e) if gone(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
