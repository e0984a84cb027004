//! Customers' files on both backends: recorded pending with their message on every path of
//! the inbound group commit, downloaded by the attachment worker from a local server speaking
//! Meta's media API (`GET /{version}/{media-id}` → `{url, mime_type, sha256, file_size}`,
//! then `GET url`, both with the bearer token) and Twilio's (`MediaUrlN` with Basic auth,
//! answered with a redirect), tried again after a back-off on the manual clock, failed after
//! the last attempt or at once when too large, of the wrong type or gone, and served only to
//! agents who may see the conversation.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use common::{Backend, Env, settings};
use deflect_chat::attachments::MAX_ATTEMPTS;
use deflect_chat::provider::{Inbound, meta, twilio};
use deflect_chat::{ATTACHMENT_PATH, AttachmentState, ChatError, EventKind, Message, Viewer};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "EAAG-test-token";
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-token";

/// A JPEG photo of `len` bytes (its signature, then bytes that differ with `seed`).
fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as u8);
    }
    v
}

/// A file the fake serves.
#[derive(Clone)]
enum File {
    /// These bytes; `announce` puts their size in Meta's lookup answer.
    Bytes { bytes: Vec<u8>, announce: bool },
    /// This size in the lookup answer, and bytes that never end.
    Endless { announced: Option<u64> },
}

/// A request the fake received: its path and `Authorization` header.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    authorization: Option<String>,
}

#[derive(Clone, Default)]
struct Fake {
    files: Arc<Mutex<HashMap<String, File>>>,
    /// Statuses to answer the next media lookups (or Twilio fetches) with, before serving.
    failures: Arc<Mutex<VecDeque<u16>>>,
    /// Digests to announce in the next Meta lookups instead of the file's own.
    wrong_digests: Arc<Mutex<VecDeque<String>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    addr: Arc<Mutex<Option<SocketAddr>>>,
}

/// A local server for both providers' media APIs.
struct FakeMedia {
    addr: SocketAddr,
    fake: Fake,
}

impl FakeMedia {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Fake::default();
        *fake.addr.lock().unwrap() = Some(addr);
        let app = axum::Router::new().fallback(serve).with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, fake }
    }

    fn file(&self, name: &str, file: File) {
        self.fake.files.lock().unwrap().insert(name.into(), file);
    }

    fn announce_wrong_digest(&self) {
        let digest = hex_sha256(b"other bytes");
        self.fake.wrong_digests.lock().unwrap().push_back(digest);
    }

    fn fail_next(&self, statuses: &[u16]) {
        self.fake.failures.lock().unwrap().extend(statuses);
    }

    fn seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.fake.seen.lock().unwrap())
    }

    /// Twilio's URL of media `name` of the test account.
    fn twilio_url(&self, name: &str) -> String {
        format!(
            "http://{}/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM1/Media/{name}",
            self.addr
        )
    }
}

fn status(code: u16, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "code": 100 } });
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

async fn serve(State(f): State<Fake>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    f.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization: authorization.clone(),
    });
    let addr = f.addr.lock().unwrap().unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        // Meta: the lookup, then the download.
        ["v24.0", id] | ["download", id] if authorization.as_deref() != Some(&bearer) => {
            let _ = id;
            status(401, "Invalid OAuth access token")
        }
        ["v24.0", id] => {
            if let Some(code) = f.failures.lock().unwrap().pop_front() {
                return status(code, "Service temporarily unavailable");
            }
            let file = f.files.lock().unwrap().get(*id).cloned();
            let (size, digest) = match file {
                None => return status(400, "Unsupported get request"),
                Some(File::Bytes { bytes, announce }) => {
                    (announce.then_some(bytes.len() as u64), hex_sha256(&bytes))
                }
                Some(File::Endless { announced }) => (announced, "unknown".into()),
            };
            let digest = f
                .wrong_digests
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(digest);
            let mut answer = json!({
                "messaging_product": "whatsapp",
                "url": format!("http://{addr}/download/{id}"),
                "mime_type": "image/jpeg",
                "sha256": digest,
                "id": id,
            });
            if let Some(size) = size {
                answer["file_size"] = size.to_string().into();
            }
            axum::Json(answer).into_response()
        }
        ["download", id] => file_body(f.files.lock().unwrap().get(*id).cloned()),
        // Twilio: the media URL (credentials required), redirected to a signed one.
        ["2010-04-01", "Accounts", _, "Messages", _, "Media", name] => {
            if authorization.as_deref() != Some(&basic) {
                return status(401, "Authenticate");
            }
            if let Some(code) = f.failures.lock().unwrap().pop_front() {
                return status(code, "Service temporarily unavailable");
            }
            let location = format!("http://{addr}/cdn/{name}?Signature=abc");
            (StatusCode::TEMPORARY_REDIRECT, [("location", location)]).into_response()
        }
        ["cdn", name] => file_body(f.files.lock().unwrap().get(*name).cloned()),
        _ => status(404, "no such path"),
    }
}

fn file_body(file: Option<File>) -> Response {
    match file {
        None => status(404, "not found"),
        Some(File::Bytes { bytes, .. }) => {
            ([("content-type", "application/octet-stream")], bytes).into_response()
        }
        Some(File::Endless { .. }) => {
            let mut first = true;
            let chunks = futures_util::stream::repeat_with(move || {
                let chunk = if first {
                    jpeg(8192, 1)
                } else {
                    vec![0x5A; 8192]
                };
                first = false;
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            });
            Body::from_stream(chunks).into_response()
        }
    }
}

/// An inbox whose accounts `meta` and `twilio` reach the fake; `meta` is the default.
async fn env(b: Backend) -> (Env, FakeMedia) {
    let fake = FakeMedia::start().await;
    let mut settings = settings(Some(fake.addr));
    settings.whatsapp.default_account = Some("meta".into());
    (Env::with(b, settings).await, fake)
}

/// Meta's webhook delivery of one message `m` from `from`, parsed as the webhook does.
fn meta_delivery(from: &str, mut m: Value) -> Vec<Inbound> {
    m["from"] = from.into();
    m["timestamp"] = "1767225600".into();
    let body = json!({"entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": from}],
        "messages": [m]
    }}]}]});
    let items = meta::parse_webhook(body.to_string().as_bytes()).unwrap();
    items.into_iter().map(|(_, i)| i).collect()
}

/// Meta's image message `id` whose file is media `media`, declared PNG.
fn meta_image(id: &str, from: &str, media: &str) -> Vec<Inbound> {
    meta_delivery(
        from,
        json!({"id": id, "type": "image",
               "image": {"id": media, "mime_type": "image/png", "sha256": "x", "caption": "Broken"}}),
    )
}

/// Stores a delivery for `account`; returns the conversation of its first message.
async fn receive(env: &Env, account: &str, items: &[Inbound]) -> i64 {
    env.inbox
        .receive(account, items)
        .await
        .unwrap()
        .conversations[0]
}

/// The messages of `env`'s conversation `id`.
async fn messages(env: &Env, id: i64) -> Vec<Message> {
    env.inbox.messages_unchecked(id, None, 1000).await.unwrap()
}

/// The token of a stored attachment's URL.
fn token(url: &Option<String>) -> String {
    let url = url.as_deref().expect("stored: it has a URL");
    url.strip_prefix(ATTACHMENT_PATH).unwrap().to_string()
}

/// The bytes `viewer` downloads from the attachment with `token`.
async fn download(env: &Env, viewer: &Viewer, token: &str) -> Result<(String, Vec<u8>), ChatError> {
    let file = env.inbox.attachment(viewer, token).await?;
    let chunks: Vec<Bytes> = file.bytes().await.unwrap().try_collect().await.unwrap();
    let bytes = chunks.concat();
    assert_eq!(bytes.len() as u64, file.size);
    Ok((file.mime_type, bytes))
}

/// Every path of the group commit records the files: a first contact (a run of first
/// contacts), a customer writing again (a run of joining messages) and a reply (one at a
/// time). The worker fetches each with the bearer token and stores what the bytes are, not
/// what the sender declared; the messages and their events carry the attachments, and only
/// agents who may see the conversation download them.
async fn meta_files_are_downloaded_with_the_token_and_served_to_those_who_may_see_them(b: Backend) {
    let (env, fake) = env(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let photos = [jpeg(30_000, 1), jpeg(40_000, 2), jpeg(50_000, 3)];
    for (i, p) in photos.iter().enumerate() {
        let bytes = p.clone();
        fake.file(
            &format!("90{i}"),
            File::Bytes {
                bytes,
                announce: i == 0,
            },
        );
    }

    let conv = receive(&env, "meta", &meta_image("wamid.1", "31612345678", "900")).await;
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    let joining = meta_image("wamid.2", "31612345678", "901");
    env.inbox.receive("meta", &joining).await.unwrap();
    let mut reply = json!({"id": "wamid.3", "type": "image", "context": {"id": "wamid.earlier"},
                           "image": {"id": "902", "mime_type": "image/jpeg"}});
    reply["context"]["from"] = "31201234567".into();
    env.inbox
        .receive("meta", &meta_delivery("31612345678", reply))
        .await
        .unwrap();

    // Stored with their messages, pending, before any download.
    let pending = messages(&env, conv).await;
    let images: Vec<&Message> = pending.iter().filter(|m| m.kind == "image").collect();
    assert_eq!(images.len(), 3);
    for m in &images {
        assert_eq!(m.attachments.len(), 1, "{m:?}");
        let a = &m.attachments[0];
        assert_eq!(a.state, AttachmentState::Pending);
        assert_eq!((&a.url, &a.mime_type, a.size), (&None, &None, None));
    }
    assert_eq!(images[0].body.as_deref(), Some("Broken"));
    let created = env.inbox.events_after(0, 1000).await.unwrap();
    let created: Vec<&Value> = (created.iter())
        .filter(|e| e.kind == EventKind::MessageCreated && e.data["message"]["kind"] == "image")
        .map(|e| &e.data["message"]["attachments"])
        .collect();
    assert_eq!(created.len(), 3);
    for a in created {
        assert_eq!(a[0]["state"], "pending", "{a}");
        assert_eq!(a[0]["url"], Value::Null);
    }

    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 3);
    let seen = fake.seen();
    assert_eq!(seen.len(), 6, "a lookup and a download each: {seen:?}");
    for s in &seen {
        assert_eq!(
            s.authorization.as_deref(),
            Some("Bearer EAAG-test-token"),
            "{s:?}"
        );
    }
    let mut paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/download/900",
            "/download/901",
            "/download/902",
            "/v24.0/900",
            "/v24.0/901",
            "/v24.0/902"
        ]
    );

    let stored = messages(&env, conv).await;
    let images: Vec<&Message> = stored.iter().filter(|m| m.kind == "image").collect();
    let mut tokens = Vec::new();
    for (m, photo) in images.iter().zip(&photos) {
        let a = &m.attachments[0];
        assert_eq!(a.state, AttachmentState::Stored, "{a:?}");
        assert_eq!(
            a.mime_type.as_deref(),
            Some("image/jpeg"),
            "read from the bytes"
        );
        assert_eq!(a.size, Some(photo.len() as u64));
        assert_eq!(a.error, None);
        let t = token(&a.url);
        assert!(
            t.len() >= 32 && t.bytes().all(|c| c.is_ascii_hexdigit()),
            "{t}"
        );
        assert!(
            !t.contains(&hex_sha256(photo)),
            "the URL is not the content's address"
        );
        tokens.push(t);
    }
    let events = env.inbox.events_after(0, 1000).await.unwrap();
    let updates: Vec<&Value> = (events.iter())
        .filter(|e| e.kind == EventKind::MessageAttachments && e.conversation_id == Some(conv))
        .map(|e| &e.data)
        .collect();
    assert_eq!(updates.len(), 3);
    for u in updates {
        assert_eq!(u["attachments"][0]["state"], "stored", "{u}");
        assert!(
            u["attachments"][0]["url"]
                .as_str()
                .unwrap()
                .starts_with(ATTACHMENT_PATH)
        );
    }

    // Ann (her conversation) and a supervisor download them; an agent of another account
    // finds nothing, as for a token that does not exist.
    for (t, photo) in tokens.iter().zip(&photos) {
        assert_eq!(
            download(&env, &ann, t).await.unwrap(),
            ("image/jpeg".to_string(), photo.clone())
        );
    }
    let boss = env.supervisor().await;
    assert_eq!(
        download(&env, &boss, &tokens[0]).await.unwrap().1,
        photos[0]
    );
    let stranger = env
        .agent_with("bob", &["support"], &["twilio".into()])
        .await;
    let e = download(&env, &stranger, &tokens[0]).await.unwrap_err();
    assert!(matches!(e, ChatError::NotFound("attachment")), "{e}");
    let e = download(&env, &ann, &"0".repeat(40)).await.unwrap_err();
    assert!(matches!(e, ChatError::NotFound("attachment")), "{e}");

    // Nothing is left to do.
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 0);
    assert!(fake.seen().is_empty());
}

/// How many files the attachment store holds.
fn stored_files(env: &Env) -> usize {
    match std::fs::read_dir(env.blobs.path().join("sha256")) {
        Ok(entries) => entries.count(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => panic!("{e}"),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The one attachment of the first image of conversation `conv`.
async fn attachment(env: &Env, conv: i64) -> deflect_chat::Attachment {
    let all = messages(env, conv).await;
    let m = all.iter().find(|m| !m.attachments.is_empty()).unwrap();
    m.attachments[0].clone()
}

/// A failed download is shown as such and tried again once its back-off has passed (not
/// before); the same bytes a second time are stored once.
async fn a_failed_download_is_tried_again_after_its_back_off(b: Backend) {
    let (env, fake) = env(b).await;
    let photo = jpeg(20_000, 7);
    fake.file(
        "700",
        File::Bytes {
            bytes: photo.clone(),
            announce: true,
        },
    );
    fake.fail_next(&[503]);
    let conv = receive(&env, "meta", &meta_image("wamid.1", "31612345678", "700")).await;

    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 1);
    let a = attachment(&env, conv).await;
    assert_eq!(a.state, AttachmentState::Pending);
    let error = a.error.unwrap();
    assert!(error.contains("503"), "{error}");
    let events = env.inbox.events_after(0, 1000).await.unwrap();
    let shown = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::MessageAttachments);
    assert!(
        shown.unwrap().data["attachments"][0]["error"]
            .as_str()
            .unwrap()
            .contains("503")
    );

    // Not due before the back-off (10 s) has passed.
    env.clock.advance(Duration::from_secs(9));
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 0);
    env.clock.advance(Duration::from_secs(1));
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 1);
    let a = attachment(&env, conv).await;
    assert_eq!((a.state, a.error), (AttachmentState::Stored, None));
    assert_eq!(a.size, Some(photo.len() as u64));
    assert_eq!(
        fake.seen().len(),
        3,
        "the failed lookup, then a lookup and a download"
    );

    // The same photo from another customer: stored once, each with its own URL.
    let other = receive(&env, "meta", &meta_image("wamid.2", "31687654321", "700")).await;
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 1);
    let again = attachment(&env, other).await;
    assert_eq!(again.state, AttachmentState::Stored);
    assert_ne!(again.url, attachment(&env, conv).await.url);
    assert_eq!(stored_files(&env), 1);
}

/// Bytes whose SHA-256 is not the one Meta's lookup announced (changed or cut in transit)
/// are not kept: the file is fetched again after its back-off, and then stored.
async fn a_file_whose_digest_is_not_metas_is_fetched_again(b: Backend) {
    let (env, fake) = env(b).await;
    let photo = jpeg(20_000, 9);
    let announce = true;
    fake.file(
        "800",
        File::Bytes {
            bytes: photo.clone(),
            announce,
        },
    );
    fake.announce_wrong_digest();
    let conv = receive(&env, "meta", &meta_image("wamid.1", "31612345678", "800")).await;
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 1);
    let a = attachment(&env, conv).await;
    assert_eq!(a.state, AttachmentState::Pending);
    assert!(a.error.as_deref().unwrap().contains("SHA-256"), "{a:?}");
    assert_eq!(stored_files(&env), 0, "the wrong bytes are not kept");
    env.clock.advance(Duration::from_secs(10));
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 1);
    let a = attachment(&env, conv).await;
    assert_eq!(
        (a.state, a.size),
        (AttachmentState::Stored, Some(photo.len() as u64))
    );
    assert_eq!(stored_files(&env), 1);
}

/// A download that fails every time is failed after the last attempt, with the reason;
/// nothing is tried after that.
async fn a_download_failing_every_time_is_failed_after_the_last_attempt(b: Backend) {
    let (env, fake) = env(b).await;
    fake.file(
        "800",
        File::Bytes {
            bytes: jpeg(1000, 8),
            announce: true,
        },
    );
    fake.fail_next(&[500; 20]);
    let conv = receive(&env, "meta", &meta_image("wamid.1", "31612345678", "800")).await;
    let mut wait = Duration::from_secs(10);
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(
            env.inbox.download_due_attachments().await.unwrap(),
            1,
            "attempt {attempt}"
        );
        let a = attachment(&env, conv).await;
        if attempt < MAX_ATTEMPTS {
            assert_eq!(a.state, AttachmentState::Pending, "attempt {attempt}");
            env.clock.advance(wait);
            wait = (wait * 3).min(Duration::from_secs(3600));
        } else {
            assert_eq!(a.state, AttachmentState::Failed);
            let error = a.error.unwrap();
            assert!(
                error.starts_with(&format!("gave up after {MAX_ATTEMPTS} attempts")),
                "{error}"
            );
            assert!(error.contains("HTTP 500"), "{error}");
            assert_eq!(a.url, None);
        }
    }
    env.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 0);
    assert_eq!(fake.seen().len(), MAX_ATTEMPTS as usize);
}

/// What cannot succeed fails at once, with its reason: a file the provider announces larger
/// than its kind's cap (not downloaded at all), one that passes the cap as it arrives (cut
/// off), bytes that are not an image, a media id the provider does not know.
async fn files_that_cannot_be_stored_fail_at_once_with_their_reason(b: Backend) {
    let (env, fake) = env(b).await;
    let big = 6 * 1024 * 1024;
    fake.file(
        "1",
        File::Endless {
            announced: Some(big),
        },
    );
    fake.file("2", File::Endless { announced: None });
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".repeat(100);
    fake.file(
        "3",
        File::Bytes {
            bytes: exe,
            announce: true,
        },
    );
    let customers = ["31610000001", "31610000002", "31610000003", "31610000004"];
    let mut convs = Vec::new();
    for (i, from) in customers.iter().enumerate() {
        let media = (i + 1).to_string();
        convs.push(
            receive(
                &env,
                "meta",
                &meta_image(&format!("wamid.{i}"), from, &media),
            )
            .await,
        );
    }
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 4);
    let mut errors = Vec::new();
    for conv in &convs {
        let a = attachment(&env, *conv).await;
        assert_eq!(a.state, AttachmentState::Failed, "{a:?}");
        assert_eq!((a.url, a.size), (None, None));
        errors.push(a.error.unwrap());
    }
    let cap = "the image is larger than 5MiB (attachments.max_size.image)";
    assert_eq!(errors[0], cap);
    assert_eq!(errors[1], cap);
    assert!(
        errors[2].starts_with("the image is application/vnd.microsoft.portable-executable"),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].contains("HTTP 400") && errors[3].contains("Unsupported get request"),
        "{}",
        errors[3]
    );
    let downloads: Vec<String> = (fake.seen().into_iter())
        .map(|s| s.path)
        .filter(|p| p.starts_with("/download/"))
        .collect();
    assert!(
        !downloads.contains(&"/download/1".to_string()),
        "announced too large: {downloads:?}"
    );
    // Nothing is tried again.
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 0);
    assert_eq!(stored_files(&env), 0);
}

/// Twilio's files: every `MediaUrlN`, fetched with Basic auth and through Twilio's
/// redirect; a failure is tried again like Meta's.
async fn twilio_media_urls_are_fetched_with_basic_auth_through_the_redirect(b: Backend) {
    let (env, fake) = env(b).await;
    let photo = jpeg(12_000, 4);
    let pdf = [b"%PDF-1.7\n".as_slice(), &[b'x'; 5000]].concat();
    fake.file(
        "ME1",
        File::Bytes {
            bytes: photo.clone(),
            announce: false,
        },
    );
    fake.file(
        "ME2",
        File::Bytes {
            bytes: pdf.clone(),
            announce: false,
        },
    );
    let form = [
        ("MessageSid", "MM1".to_string()),
        ("SmsStatus", "received".into()),
        ("WaId", "31612345678".into()),
        ("From", "whatsapp:+31612345678".into()),
        ("ProfileName", "Ann".into()),
        ("Body", "The form".into()),
        ("NumMedia", "2".into()),
        ("MediaContentType0", "image/jpeg".into()),
        ("MediaUrl0", fake.twilio_url("ME1")),
        ("MediaContentType1", "application/pdf".into()),
        ("MediaUrl1", fake.twilio_url("ME2")),
    ];
    let params: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let item = twilio::parse_callback(&params).unwrap();
    fake.fail_next(&[502]);
    let conv = env
        .inbox
        .receive("twilio", &[item])
        .await
        .unwrap()
        .conversations[0];

    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 2);
    env.clock.advance(Duration::from_secs(10));
    assert_eq!(env.inbox.download_due_attachments().await.unwrap(), 1);
    let all = messages(&env, conv).await;
    let m = all.iter().find(|m| m.kind == "image").unwrap();
    assert_eq!(m.body.as_deref(), Some("The form"));
    let [image, document] = m.attachments.as_slice() else {
        panic!("two files: {:?}", m.attachments)
    };
    assert_eq!(
        (image.state, image.mime_type.as_deref()),
        (AttachmentState::Stored, Some("image/jpeg"))
    );
    assert_eq!(
        (document.state, document.mime_type.as_deref()),
        (AttachmentState::Stored, Some("application/pdf"))
    );
    let seen = fake.seen();
    let media: Vec<&Seen> = seen.iter().filter(|s| s.path.contains("/Media/")).collect();
    assert_eq!(media.len(), 3, "{seen:?}");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"));
    for s in media {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Basic {basic}").as_str())
        );
    }
    assert_eq!(
        seen.iter().filter(|s| s.path.starts_with("/cdn/")).count(),
        2
    );
    let ann = env.agent("ann", &["support"]).await;
    let (mime, bytes) = download(&env, &ann, &token(&document.url)).await.unwrap();
    assert_eq!((mime.as_str(), bytes), ("application/pdf", pdf));
    // Sent without a name: one made of its kind, its number and its type.
    let file = env
        .inbox
        .attachment(&ann, &token(&image.url))
        .await
        .unwrap();
    let number = file
        .filename
        .strip_prefix("image-")
        .and_then(|f| f.strip_suffix(".jpg"));
    assert!(
        number.is_some_and(|n| n.parse::<i64>().is_ok()),
        "{}",
        file.filename
    );
    assert_eq!(file.size, photo.len() as u64);
}

on_both!(
    meta_files_are_downloaded_with_the_token_and_served_to_those_who_may_see_them,
    a_failed_download_is_tried_again_after_its_back_off,
    a_file_whose_digest_is_not_metas_is_fetched_again,
    a_download_failing_every_time_is_failed_after_the_last_attempt,
    files_that_cannot_be_stored_fail_at_once_with_their_reason,
    twilio_media_urls_are_fetched_with_basic_auth_through_the_redirect,
);
