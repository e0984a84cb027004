//! The attachment store, the same behaviour asked of both backends: a local directory (a
//! temporary one) and a real S3 server — moto's (`moto_server`, from PyPI), which
//! `scripts/test` installs; without it the S3 test fails, it is never skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use deflect_chat::blobs::{BlobError, BlobStore, ByteRange, MediaKind, PART_SIZE, SNIFF_LEN};
use deflect_chat::testing::S3Server;
use deflect_config::{AttachmentsConfig, S3Config, Secret, StoreKind};
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const BUCKET: &str = "deflect-attachments";
const PREFIX: &str = "test/attachments";

/// Where a store under test keeps its objects, to look behind its back.
enum Place<'a> {
    Dir(&'a Path),
    Bucket(&'a S3Server),
}

impl Place<'_> {
    /// The keys of the stored objects (without the bucket prefix).
    async fn keys(&self) -> Vec<String> {
        match self {
            Place::Dir(dir) => {
                let mut keys: Vec<String> = match std::fs::read_dir(dir.join("sha256")) {
                    Ok(entries) => entries
                        .map(|e| format!("sha256/{}", e.unwrap().file_name().to_string_lossy()))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                keys.sort();
                keys
            }
            Place::Bucket(server) => server
                .keys(BUCKET)
                .await
                .into_iter()
                .map(|k| {
                    k.strip_prefix(&format!("{PREFIX}/"))
                        .unwrap_or_else(|| panic!("{k} is not under the prefix"))
                        .to_string()
                })
                .collect(),
        }
    }
}

/// Reproducible bytes that differ with `seed`, starting with `signature`.
fn file(signature: &[u8], len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut v = signature.to_vec();
    while v.len() < len {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.push((state >> 33) as u8);
    }
    v
}

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
];
const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `bytes` as a stream of chunks: the first few of one byte (so the type is read across
/// chunks), then of `size`.
fn chunked(
    bytes: &[u8],
    size: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let (small, rest) = bytes.split_at(bytes.len().min(5));
    let chunks: Vec<Result<Bytes, std::io::Error>> = small
        .chunks(1)
        .chain(rest.chunks(size))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

/// An endless file starting with `signature`, counting the bytes taken from it.
fn endless(
    signature: &'static [u8],
    taken: Arc<AtomicU64>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let first = stream::once(async move { Ok(Bytes::from_static(signature)) });
    let filler = Bytes::from(vec![0x5Au8; 8192]);
    let rest = stream::repeat_with(move || Ok(filler.clone()));
    first.chain(rest).inspect(move |chunk| {
        if let Ok(c) = chunk {
            taken.fetch_add(c.len() as u64, Ordering::Relaxed);
        }
    })
}

/// Parts of a stored file (a browser seeking in a video) are its bytes at those offsets.
async fn parts_are_read_as_asked(store: &BlobStore, bytes: &[u8]) {
    let chunks = stream::iter(
        bytes
            .chunks(10_000)
            .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c))),
    );
    let stored = store
        .put_stream(chunks, None, MediaKind::Image)
        .await
        .unwrap();
    let size = bytes.len() as u64;
    for asked in [
        "bytes=0-0",
        "bytes=1000-1999",
        "bytes=299990-",
        "bytes=-7",
        "bytes=100-999999",
    ] {
        let part = ByteRange::parse(asked).unwrap().within(size).unwrap();
        let stream = store.get_part(&stored.key, part.clone()).await.unwrap();
        let got: Vec<Bytes> = stream.try_collect().await.unwrap();
        let want = &bytes[part.start as usize..part.end as usize];
        assert_eq!(got.concat(), want, "{asked}");
    }
    store.delete(&stored.key).await.unwrap();
}

async fn read_all(store: &BlobStore, key: &str) -> (Vec<u8>, u64) {
    let (stream, size) = store.get(key).await.unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    (chunks.concat(), size)
}

fn staged(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("staging"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// Everything asked of a store, whatever its backend; `dir` is its directory (staging).
async fn behaves_as_an_attachment_store(store: &BlobStore, place: Place<'_>, dir: &Path) {
    // A photo, in chunks, declared as something it is not: stored as what it is.
    let photo = file(JPEG, 300_000, 1);
    let stored = store
        .put_stream(chunked(&photo, 7000), Some("image/png"), MediaKind::Image)
        .await
        .unwrap();
    assert_eq!(stored.key, format!("sha256/{}", sha256(&photo)));
    assert_eq!(stored.sha256, sha256(&photo));
    assert_eq!(stored.size, photo.len() as u64);
    assert_eq!(stored.mime_type, "image/jpeg");
    assert_eq!(stored.kind, MediaKind::Image);
    assert!(stored.stored_now);
    assert_eq!(read_all(store, &stored.key).await, (photo.clone(), 300_000));

    // The same bytes again, chunked otherwise and declared nothing: the same key, stored once.
    let again = store
        .put_stream(chunked(&photo, 65536), None, MediaKind::Image)
        .await
        .unwrap();
    assert_eq!(again.key, stored.key);
    assert!(!again.stored_now);
    assert_eq!(place.keys().await, std::slice::from_ref(&stored.key));

    // A plain-text document, which only its declaration tells from unknown bytes.
    let note = "Bitte rufen Sie mich zurück: +49 30 1234567\n".repeat(50);
    let text = store
        .put_stream(
            chunked(note.as_bytes(), 100),
            Some("text/plain; charset=utf-8"),
            MediaKind::Document,
        )
        .await
        .unwrap();
    assert_eq!(text.mime_type, "text/plain");
    let undeclared = store
        .put_stream(chunked(b"just some words", 4), None, MediaKind::Document)
        .await
        .unwrap_err();
    assert!(
        matches!(undeclared, BlobError::UnsupportedType { found: None, .. }),
        "{undeclared}"
    );

    // Over the cap: refused as soon as the bytes pass it, nothing kept.
    let taken = Arc::new(AtomicU64::new(0));
    let e = store
        .put_stream(endless(WEBP, taken.clone()), None, MediaKind::Sticker)
        .await
        .unwrap_err();
    let limit = 500 * 1024;
    assert!(
        matches!(e, BlobError::TooLarge { kind: MediaKind::Sticker, limit: l } if l == limit),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "the sticker is larger than 500KiB (attachments.max_size.sticker)"
    );
    assert!(taken.load(Ordering::Relaxed) <= limit + 8192);

    // Not a type of its kind: refused once the first bytes are read.
    let taken = Arc::new(AtomicU64::new(0));
    let e = store
        .put_stream(
            endless(EXE, taken.clone()),
            Some("application/pdf"),
            MediaKind::Document,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BlobError::UnsupportedType {
                kind: MediaKind::Document,
                found: Some("application/vnd.microsoft.portable-executable")
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("accepted: application/pdf"), "{e}");
    assert!(taken.load(Ordering::Relaxed) <= (SNIFF_LEN + 8192) as u64);
    // … and a small file of the wrong type, read to its end.
    let gif = file(b"GIF89a\x01\0\x01\0", 2000, 2);
    let e = store
        .put_stream(chunked(&gif, 500), Some("image/jpeg"), MediaKind::Image)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            BlobError::UnsupportedType {
                found: Some("image/gif"),
                ..
            }
        ),
        "{e}"
    );

    let empty = stream::iter(Vec::<Result<Bytes, std::io::Error>>::new());
    let e = store
        .put_stream(empty, Some("image/jpeg"), MediaKind::Image)
        .await
        .unwrap_err();
    assert!(matches!(e, BlobError::Empty), "{e}");

    // The sender's stream breaks off: nothing kept.
    let partial = file(JPEG, 40_000, 3);
    let broken = chunked(&partial, 10_000).chain(stream::once(async {
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "download cut",
        ))
    }));
    let e = store
        .put_stream(broken, None, MediaKind::Image)
        .await
        .unwrap_err();
    assert!(
        matches!(e, BlobError::Source(_)) && e.to_string().contains("download cut"),
        "{e}"
    );

    assert_eq!(
        place.keys().await,
        sorted([stored.key.clone(), text.key.clone()])
    );
    assert_eq!(staged(dir), Vec::<PathBuf>::new());

    // Larger than one upload part (a multipart upload on S3), read back whole.
    let pdf = file(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", PART_SIZE + 123_457, 4);
    let document = store
        .put_stream(chunked(&pdf, 64 * 1024), None, MediaKind::Document)
        .await
        .unwrap();
    assert_eq!(document.mime_type, "application/pdf");
    assert_eq!(document.sha256, sha256(&pdf));
    let (back, size) = read_all(store, &document.key).await;
    assert_eq!((sha256(&back), size), (sha256(&pdf), pdf.len() as u64));

    // Several puts of the same new bytes at once: one object.
    let voice = file(b"#!AMR\n\x3c\x48\x77\xff\xe0\x30", 50_000, 5);
    let puts = (0..6).map(|i| {
        let store = store.clone();
        let voice = voice.clone();
        tokio::spawn(async move {
            store
                .put_stream(chunked(&voice, 1000 + i * 333), None, MediaKind::Audio)
                .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(puts).await;
    for r in results {
        let blob = r.unwrap().unwrap();
        assert_eq!(
            (blob.key.as_str(), blob.mime_type),
            (&*format!("sha256/{}", sha256(&voice)), "audio/amr")
        );
    }
    assert_eq!(
        place.keys().await,
        sorted([
            stored.key.clone(),
            text.key.clone(),
            document.key.clone(),
            format!("sha256/{}", sha256(&voice))
        ])
    );

    // Deleting: gone, and deleting again is fine.
    store.delete(&text.key).await.unwrap();
    assert!(matches!(
        store.get(&text.key).await.err().unwrap(),
        BlobError::NotFound { key } if key == text.key
    ));
    store.delete(&text.key).await.unwrap();
    assert!(!place.keys().await.contains(&text.key));

    // Only keys this store gives out are looked up.
    for bad in [
        "../../etc/passwd",
        "sha256/../../x",
        "sha256/ABC",
        &format!("sha256/{}", "A".repeat(64)),
        "staging/x.part",
    ] {
        assert!(
            matches!(
                store.get(bad).await.err().unwrap(),
                BlobError::InvalidKey { .. }
            ),
            "{bad}"
        );
        assert!(matches!(
            store.delete(bad).await.unwrap_err(),
            BlobError::InvalidKey { .. }
        ));
    }
    assert_eq!(staged(dir), Vec::<PathBuf>::new());

    parts_are_read_as_asked(store, &file(JPEG, 300_000, 99)).await;
}

fn sorted<const N: usize>(keys: [String; N]) -> Vec<String> {
    let mut v = keys.to_vec();
    v.sort();
    v
}

#[tokio::test]
async fn a_local_directory_stores_each_content_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attachments");
    let store = BlobStore::open(&AttachmentsConfig::default(), &path)
        .await
        .unwrap();
    behaves_as_an_attachment_store(&store, Place::Dir(&path), &path).await;
}

#[tokio::test]
async fn a_local_directory_removes_only_day_old_staging_files_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let old = staging.join("left-by-a-crash.part");
    let fresh = staging.join("another-process-writing.part");
    for path in [&old, &fresh] {
        std::fs::write(path, b"partial").unwrap();
    }
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    BlobStore::open(&AttachmentsConfig::default(), dir.path())
        .await
        .unwrap();
    assert_eq!(staged(dir.path()), [fresh]);
}

#[tokio::test]
async fn caps_come_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AttachmentsConfig::default();
    config.max_size.image = deflect_config::ByteSize(100 * 1024);
    let store = BlobStore::open(&config, dir.path()).await.unwrap();
    assert_eq!(store.max_size(MediaKind::Image), 100 * 1024);
    // Exactly the cap is fine, one byte more is not.
    let photo = file(JPEG, 100 * 1024, 6);
    store
        .put_stream(chunked(&photo, 4096), None, MediaKind::Image)
        .await
        .unwrap();
    let bigger = file(JPEG, 100 * 1024 + 1, 7);
    let e = store
        .put_stream(chunked(&bigger, 4096), None, MediaKind::Image)
        .await
        .unwrap_err();
    assert!(
        matches!(e, BlobError::TooLarge { limit: 102400, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn an_s3_bucket_stores_each_content_once() {
    let server = S3Server::start();
    server.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().unwrap();
    let config = AttachmentsConfig {
        store: StoreKind::S3,
        s3: Some(S3Config {
            bucket: BUCKET.into(),
            endpoint: Some(server.endpoint().clone()),
            access_key_id: Some("deflect-test".into()),
            secret_access_key: Some(Secret::new("deflect-test-secret")),
            prefix: Some(PREFIX.into()),
            allow_http: true,
            ..S3Config::default()
        }),
        ..AttachmentsConfig::default()
    };
    let store = BlobStore::open(&config, dir.path()).await.unwrap();
    assert!(!format!("{store:?}").contains("deflect-test-secret"));
    behaves_as_an_attachment_store(&store, Place::Bucket(&server), dir.path()).await;

    // Objects carry their type; no multipart upload is left open.
    let keys = server.keys(BUCKET).await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in &keys {
        let headers = server.head(BUCKET, key).await;
        let content_type = headers["content-type"].to_str().unwrap();
        assert!(
            ["image/jpeg", "application/pdf", "audio/amr"].contains(&content_type),
            "{key}: {content_type}"
        );
    }
    assert_eq!(server.open_uploads(BUCKET).await, Vec::<String>::new());

    // A bucket that does not exist: the error says so, nothing is left staged.
    let missing = AttachmentsConfig {
        s3: config.s3.clone().map(|s3| S3Config {
            bucket: "no-such-bucket".into(),
            ..s3
        }),
        ..config.clone()
    };
    let store = BlobStore::open(&missing, dir.path()).await.unwrap();
    let photo = file(JPEG, 1000, 8);
    let e = store
        .put_stream(chunked(&photo, 100), None, MediaKind::Image)
        .await
        .unwrap_err();
    assert!(matches!(e, BlobError::Store(_)), "{e}");
    assert_eq!(staged(dir.path()), Vec::<PathBuf>::new());
}
