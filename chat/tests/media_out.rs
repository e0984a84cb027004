//! Files agents send, on both backends: uploaded for a conversation (kind and type read from
//! the bytes, capped, refused with the reason), served to the conversation's agents before
//! and after sending, sent through each provider its way — Meta: a multipart upload to
//! `/{phone_number_id}/media` then a message by the media id (checked against a local server
//! reading the exact wire format), the id kept so a retry or the same file again is not
//! uploaded twice; Twilio: `MediaUrl`, a signed link to the gateway that expires (on the
//! manual clock); the sandbox: the file read back with the message — and expired uploads
//! removed.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Bytes;
use common::{Backend, Env, FakeProvider, Recorded, settings, text};
use deflect_chat::attachments::UploadError;
use deflect_chat::blobs::{BlobError, LinkSigner, MEDIA_PATH, MediaKind};
use deflect_chat::{AttachmentState, ChatError, Inbox, Message, Viewer};
use deflect_config::Secret;
use futures_util::{TryStreamExt, stream};
use serde_json::{Value, json};
use std::time::Duration;

const CUSTOMER: &str = "31612345678";

/// A PDF of about `len` bytes.
fn pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut i = 0u32;
    while v.len() < len {
        v.extend_from_slice(format!("{i} 0 obj << >> endobj\n").as_bytes());
        i += 1;
    }
    v
}

/// A JPEG photo of `len` bytes.
fn jpeg(len: usize) -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    v.resize(len, 0x42);
    v
}

/// `bytes` as a client sends them: in chunks of 7 KiB.
fn chunks(bytes: &[u8]) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let parts: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(7 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

/// A conversation of `account` with a customer who just wrote, accepted by `agent`.
async fn conversation(env: &Env, account: &str, agent: &Viewer) -> i64 {
    let r = env
        .inbox
        .receive(
            account,
            &[text("wamid.in1", CUSTOMER, "Can you send the invoice?")],
        )
        .await
        .unwrap();
    let id = r.conversations[0];
    env.inbox.accept_offer(agent.agent_id, id).await.unwrap();
    id
}

async fn upload(
    inbox: &Inbox,
    viewer: &Viewer,
    id: i64,
    bytes: &[u8],
    declared: Option<&str>,
    name: Option<&str>,
) -> Result<deflect_chat::attachments::UploadedFile, UploadError> {
    inbox
        .upload_file(viewer, id, chunks(bytes), declared, name, None)
        .await
}

/// The bytes `viewer` downloads at `url` (`/api/v1/attachments/<token>`).
async fn download(env: &Env, viewer: &Viewer, url: &str) -> Result<Vec<u8>, ChatError> {
    let token = url.strip_prefix(deflect_chat::ATTACHMENT_PATH).unwrap();
    let file = env.inbox.attachment(viewer, token).await?;
    let parts: Vec<Bytes> = file.bytes().await.unwrap().try_collect().await.unwrap();
    Ok(parts.concat())
}

/// A form part: its name, file name, content type and bytes.
type Part = (String, Option<String>, Option<String>, Vec<u8>);

/// A multipart/form-data body's parts: (name, filename, content type, bytes), reading the
/// boundary from `content_type` exactly as RFC 7578 frames them.
fn multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("a multipart content type with its boundary");
    let delimiter = format!("--{boundary}");
    let end = format!("\r\n--{boundary}--\r\n");
    assert!(body.starts_with(delimiter.as_bytes()));
    assert!(
        body.ends_with(end.as_bytes()),
        "the body ends with the closing delimiter"
    );
    let inner = &body[..body.len() - end.len()];
    let separator = format!("\r\n--{boundary}\r\n");
    let mut parts = Vec::new();
    let mut rest = &inner[delimiter.len() + 2..];
    loop {
        let next = find(rest, separator.as_bytes());
        let part = next.map_or(rest, |i| &rest[..i]);
        let split = find(part, b"\r\n\r\n").expect("headers end with an empty line");
        let headers = std::str::from_utf8(&part[..split]).unwrap();
        let content = part[split + 4..].to_vec();
        let (mut name, mut filename, mut ctype) = (String::new(), None, None);
        for line in headers.split("\r\n") {
            if let Some(d) = line.strip_prefix("Content-Disposition: form-data; ") {
                for p in d.split("; ") {
                    let (k, v) = p.split_once('=').unwrap();
                    let v = v.trim_matches('"').to_string();
                    match k {
                        "name" => name = v,
                        "filename" => filename = Some(v),
                        other => panic!("unexpected parameter {other}"),
                    }
                }
            } else if let Some(t) = line.strip_prefix("Content-Type: ") {
                ctype = Some(t.to_string());
            } else {
                panic!("unexpected part header {line:?}");
            }
        }
        parts.push((name, filename, ctype, content));
        match next {
            Some(i) => rest = &rest[i + separator.len()..],
            None => return parts,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(r: &'a Recorded, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn uploads(fake: &FakeProvider) -> Vec<Recorded> {
    (fake.requests().into_iter())
        .filter(|r| r.path == "/v24.0/106540352242922/media")
        .collect()
}

fn sends(fake: &FakeProvider) -> Vec<Value> {
    (fake.requests().into_iter())
        .filter(|r| r.path == "/v24.0/106540352242922/messages")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// An agent's PDF: uploaded (its name cleaned, its type read from the bytes), downloadable by
/// the conversation's agents only, sent as a document with its caption and name after a
/// multipart upload to Meta; the send retried after a 500 and the same file sent again use
/// the media id Meta gave, without a second upload.
async fn an_agents_pdf_is_uploaded_to_meta_once_and_sent_as_a_document(b: Backend) {
    let (env, fake) = Env::meta(b, None).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = conversation(&env, "meta", &ann).await;
    let doc = pdf(40_000);
    let up = upload(
        &env.inbox,
        &ann,
        id,
        &doc,
        Some("application/octet-stream"),
        Some("C:\\docs\\Invoice 42.pdf"),
    )
    .await
    .unwrap();
    assert_eq!(up.kind, MediaKind::Document);
    assert_eq!(up.mime_type, "application/pdf");
    assert_eq!(up.size, doc.len() as u64);
    assert_eq!(up.filename.as_deref(), Some("Invoice 42.pdf"));
    assert_eq!(up.url, format!("/api/v1/attachments/{}", up.token));
    // The conversation's agents see it before it is sent; an agent of another account not.
    assert_eq!(download(&env, &ann, &up.url).await.unwrap(), doc);
    let twilio_only = env
        .agent_with("tom", &["support"], &["twilio".into()])
        .await;
    assert!(matches!(
        download(&env, &twilio_only, &up.url).await,
        Err(ChatError::NotFound(_))
    ));
    assert!(matches!(
        upload(&env.inbox, &twilio_only, id, &doc, None, None).await,
        Err(UploadError::Chat(ChatError::NotFound(_)))
    ));

    fake.respond(200, r#"{"id":"1037543291543636"}"#);
    fake.respond(
        500,
        r#"{"error":{"code":131000,"message":"Something went wrong"}}"#,
    );
    let m = env
        .inbox
        .send_file(&ann, id, &up.token, Some("  Your invoice "), Some("k1"))
        .await
        .unwrap();
    assert_eq!(
        (m.kind.as_str(), m.body.as_deref()),
        ("document", Some("Your invoice"))
    );
    let [a] = m.attachments.as_slice() else {
        panic!("{m:?}")
    };
    assert_eq!(a.url.as_deref(), Some(up.url.as_str()));
    assert_eq!(
        (
            a.state,
            a.mime_type.as_deref(),
            a.size,
            a.filename.as_deref(),
            a.kind
        ),
        (
            AttachmentState::Stored,
            Some("application/pdf"),
            Some(doc.len() as u64),
            Some("Invoice 42.pdf"),
            MediaKind::Document
        )
    );
    // The same key answers the same message, with its file.
    let again = env
        .inbox
        .send_file(&ann, id, &up.token, Some("Your invoice"), Some("k1"))
        .await
        .unwrap();
    assert_eq!((again.id, again.attachments.len()), (m.id, 1));
    // An upload is sent once.
    assert!(matches!(
        env.inbox.send_file(&ann, id, &up.token, None, None).await,
        Err(ChatError::Invalid(e)) if e.contains("attachments[0].token")
    ));

    let pass = env.inbox.send_due().await.unwrap();
    assert_eq!(pass.retried, 1, "{pass:?}");
    let [u] = uploads(&fake)
        .try_into()
        .unwrap_or_else(|v: Vec<Recorded>| panic!("one upload: {}", v.len()));
    assert_eq!(header(&u, "authorization"), "Bearer EAAG-test-token");
    assert_eq!(header(&u, "content-length"), u.body.len().to_string());
    let parts = multipart(header(&u, "content-type"), &u.body);
    assert_eq!(
        parts,
        vec![
            ("messaging_product".into(), None, None, b"whatsapp".to_vec()),
            ("type".into(), None, None, b"application/pdf".to_vec()),
            (
                "file".into(),
                Some("Invoice 42.pdf".into()),
                Some("application/pdf".into()),
                doc.clone()
            ),
        ]
    );
    let document =
        json!({"id": "1037543291543636", "caption": "Your invoice", "filename": "Invoice 42.pdf"});
    let [first] = sends(&fake).try_into().unwrap();
    assert_eq!(
        (first["type"].clone(), first["document"].clone()),
        (json!("document"), document.clone())
    );
    assert_eq!(first["to"], CUSTOMER);

    // The retry sends by the same id, uploading nothing.
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(uploads(&fake).len(), 1);
    let sent = sends(&fake);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["document"], document);
    assert!(env.message(m.id).await.external_id.is_some());

    // The same bytes again, uploaded anew by the agent: Meta already has them.
    let up2 = upload(&env.inbox, &ann, id, &doc, None, Some("copy.pdf"))
        .await
        .unwrap();
    assert_ne!(up2.token, up.token);
    env.inbox
        .send_file(&ann, id, &up2.token, None, None)
        .await
        .unwrap();
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    assert_eq!(uploads(&fake).len(), 1);
    let last = sends(&fake).pop().unwrap();
    assert_eq!(
        last["document"],
        json!({"id": "1037543291543636", "filename": "copy.pdf"})
    );

    // The messages carry their files, like customers' do.
    let all: Vec<Message> = env.inbox.messages(&ann, id, None, 100).await.unwrap();
    let files: Vec<usize> = all.iter().map(|m| m.attachments.len()).collect();
    assert_eq!(files, [0, 1, 1]);
}

/// A refused file says why: too large for its kind (the cap named), no kind WhatsApp takes
/// (the accepted types listed), empty; a caption on audio, and a token of another
/// conversation, are refused when sending.
async fn refused_files_say_why(b: Backend) {
    let (env, _fake) = Env::meta(b, None).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = conversation(&env, "meta", &ann).await;
    let big = jpeg(5 * 1024 * 1024 + 1);
    match upload(&env.inbox, &ann, id, &big, Some("image/jpeg"), None).await {
        Err(UploadError::Refused(e @ BlobError::TooLarge { .. })) => {
            assert_eq!(
                e.to_string(),
                "the image is larger than 5MiB (attachments.max_size.image)"
            )
        }
        other => panic!("{other:?}"),
    }
    match upload(
        &env.inbox,
        &ann,
        id,
        b"GIF89a\x01\0\x01\0\0\0",
        Some("image/png"),
        None,
    )
    .await
    {
        Err(
            e @ UploadError::UnknownType {
                found: Some("image/gif"),
            },
        ) => {
            let text = e.to_string();
            assert!(text.starts_with("the file is image/gif"), "{text}");
            assert!(text.contains("image/jpeg, image/png (image)"), "{text}");
            assert!(text.contains("application/pdf"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        upload(&env.inbox, &ann, id, b"", None, None).await,
        Err(UploadError::Refused(BlobError::Empty))
    ));
    // Asked as an image, a PDF is refused as one.
    let asked = env
        .inbox
        .upload_file(
            &ann,
            id,
            chunks(&pdf(2000)),
            None,
            None,
            Some(MediaKind::Image),
        )
        .await;
    assert!(
        matches!(
            asked,
            Err(UploadError::Refused(BlobError::UnsupportedType { .. }))
        ),
        "{asked:?}"
    );

    let mut voice = b"#!AMR\n".to_vec();
    voice.resize(3000, 0x3c);
    let note = upload(&env.inbox, &ann, id, &voice, None, None)
        .await
        .unwrap();
    assert_eq!(
        (note.kind, note.mime_type.as_str()),
        (MediaKind::Audio, "audio/amr")
    );
    assert!(matches!(
        env.inbox.send_file(&ann, id, &note.token, Some("listen"), None).await,
        Err(ChatError::Invalid(e)) if e.contains("no caption with audio files")
    ));
    // Another conversation's upload cannot be sent here.
    let other = env
        .inbox
        .receive("meta", &[text("wamid.in9", "31699999999", "hi")])
        .await
        .unwrap()
        .conversations[0];
    env.inbox.accept_offer(ann.agent_id, other).await.unwrap();
    assert!(matches!(
        env.inbox
            .send_file(&ann, other, &note.token, None, None)
            .await,
        Err(ChatError::Invalid(_))
    ));
    // Without a caption the voice note goes.
    let m = env
        .inbox
        .send_file(&ann, id, &note.token, None, None)
        .await
        .unwrap();
    assert_eq!(
        (m.kind.as_str(), m.body.as_deref()),
        ("audio", Some("[audio]"))
    );
}

/// The query parameter `name` of `url`.
fn param(url: &url::Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// Twilio gets `MediaUrl`: a link under the public base URL, signed with the key the gateway
/// generated (shared by every process through the database), that opens the file until it
/// expires; a wrong signature or an expired link is refused, a signed link to no file is not
/// found.
async fn twilio_fetches_the_file_from_a_signed_link_that_expires(b: Backend) {
    let fake = FakeProvider::start().await;
    let mut s = settings(Some(fake.addr));
    s.public_base_url = Some("https://gw.example.com/".parse().unwrap());
    let env = Env::with(b, s).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = conversation(&env, "twilio", &ann).await;
    let photo = jpeg(20_000);
    let up = upload(
        &env.inbox,
        &ann,
        id,
        &photo,
        Some("image/jpeg"),
        Some("broken.jpg"),
    )
    .await
    .unwrap();
    assert_eq!(up.kind, MediaKind::Image);
    let m = env
        .inbox
        .send_file(&ann, id, &up.token, Some("Like this?"), None)
        .await
        .unwrap();
    fake.accept_as("SM0001");
    assert_eq!(env.inbox.send_due().await.unwrap().sent, 1);
    let r = fake.requests().pop().unwrap();
    assert_eq!(
        r.path,
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&r.body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("Body").as_deref(), Some("Like this?"));
    assert_eq!(get("To").as_deref(), Some("whatsapp:+31612345678"));
    let link: url::Url = get("MediaUrl").unwrap().parse().unwrap();
    assert_eq!(
        link.origin().ascii_serialization(),
        "https://gw.example.com"
    );
    assert_eq!(link.path(), format!("{MEDIA_PATH}{}", up.token));
    let expires = param(&link, "expires");
    let signature = param(&link, "signature");
    assert_eq!(
        expires.parse::<i64>().unwrap(),
        (deflect_chat::Clock::now(&env.clock) + 3_600_000) / 1000,
        "valid attachments.link_ttl (1 h)"
    );
    assert_eq!(
        env.message(m.id).await.external_id.as_deref(),
        Some("SM0001")
    );

    // Another process on the same database accepts the link: the key is shared.
    let other = env.another().await;
    for inbox in [&env.inbox, &other] {
        let file = inbox
            .linked_attachment(&up.token, &expires, &signature)
            .await
            .unwrap();
        assert_eq!(file.mime_type, "image/jpeg");
        let parts: Vec<Bytes> = file.bytes().await.unwrap().try_collect().await.unwrap();
        assert_eq!(parts.concat(), photo);
    }
    let mut wrong = signature.clone();
    wrong.replace_range(..2, if wrong.starts_with("00") { "11" } else { "00" });
    assert!(matches!(
        env.inbox.linked_attachment(&up.token, &expires, &wrong).await,
        Err(ChatError::Forbidden(e)) if e == "the link's signature is not valid"
    ));
    let later = (expires.parse::<i64>().unwrap() + 60).to_string();
    assert!(matches!(
        env.inbox
            .linked_attachment(&up.token, &later, &signature)
            .await,
        Err(ChatError::Forbidden(_))
    ));
    env.clock.advance(Duration::from_secs(3600));
    assert!(matches!(
        env.inbox.linked_attachment(&up.token, &expires, &signature).await,
        Err(ChatError::Forbidden(e)) if e == "the link has expired"
    ));
}

/// With `attachments.signing_secret` the links are signed with it; a link to a token of no
/// sent file (an upload not sent, or nothing) is not found.
async fn a_configured_secret_signs_links_to_sent_files_only(b: Backend) {
    let mut s = settings(None);
    let secret = "0123456789abcdef0123456789abcdef-secret";
    s.attachments.signing_secret = Some(Secret::new(secret));
    let env = Env::with(b, s).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = conversation(&env, "sandbox", &ann).await;
    let up = upload(&env.inbox, &ann, id, &jpeg(3000), None, None)
        .await
        .unwrap();
    let signer = LinkSigner::new(secret.as_bytes());
    let base: url::Url = "https://gw.example.com".parse().unwrap();
    let open = |token: &str| {
        let link: url::Url = signer
            .link(&base, token, deflect_chat::Clock::now(&env.clock) + 60_000)
            .parse()
            .unwrap();
        let (e, s) = (param(&link, "expires"), param(&link, "signature"));
        let token = token.to_string();
        let inbox = env.inbox.clone();
        async move {
            inbox
                .linked_attachment(&token, &e, &s)
                .await
                .map(|f| f.size)
        }
    };
    assert!(matches!(open(&up.token).await, Err(ChatError::NotFound(_))));
    assert!(matches!(open("nothing").await, Err(ChatError::NotFound(_))));
    // Sent (the sandbox keeps it with the message), it opens.
    let m = env
        .inbox
        .send_file(&ann, id, &up.token, None, None)
        .await
        .unwrap();
    assert_eq!(open(&up.token).await.unwrap(), 3000);
    // The sandbox phone shows the file with the message.
    env.inbox.send_due().await.unwrap();
    let seen = env
        .inbox
        .sandbox_outgoing("sandbox", CUSTOMER)
        .await
        .unwrap();
    let shown = seen.iter().find(|x| x.id == m.id).unwrap();
    assert_eq!(shown.attachments.len(), 1);
    assert_eq!(
        shown.attachments[0].mime_type.as_deref(),
        Some("image/jpeg")
    );
}

/// An upload not sent within a day can no longer be sent, and the worker removes it.
async fn uploads_never_sent_expire_after_a_day(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let id = conversation(&env, "sandbox", &ann).await;
    let up = upload(&env.inbox, &ann, id, &pdf(2000), None, Some("a.pdf"))
        .await
        .unwrap();
    env.clock.advance(Duration::from_secs(24 * 3600 + 1));
    env.inbox.download_due_attachments().await.unwrap();
    assert!(matches!(
        download(&env, &ann, &up.url).await,
        Err(ChatError::NotFound(_))
    ));
    // The customer writes again (the window is open); the upload is gone.
    env.inbox
        .receive("sandbox", &[text("wamid.in2", CUSTOMER, "still there?")])
        .await
        .unwrap();
    assert!(matches!(
        env.inbox.send_file(&ann, id, &up.token, None, None).await,
        Err(ChatError::Invalid(_))
    ));
}

/// A web visitor sends a picture (and may not send audio); the agent sees it with the
/// message and sends a document back; the visitor downloads both, another visitor neither;
/// the visitor's feed names the files by token.
async fn web_visitors_and_agents_exchange_files(b: Backend) {
    let env = Env::new(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let vic = "visitor-token-0123456789abcdef";
    let c = env
        .inbox
        .start_web_conversation(&deflect_chat::NewWebConversation {
            site: "www".into(),
            visitor_token: vic.into(),
            name: Some("Vic".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let photo = jpeg(4000);
    let m = env
        .inbox
        .web_visitor_file(vic, c.id, chunks(&photo), Some("image/jpeg"), Some("a.jpg"))
        .await
        .unwrap();
    assert_eq!(
        (m.kind.as_str(), m.body.as_deref()),
        ("image", Some("[image]"))
    );
    let url = m.attachments[0].url.clone().unwrap();
    let mut voice = b"#!AMR\n".to_vec();
    voice.resize(3000, 0x3c);
    let refused = env
        .inbox
        .web_visitor_file(vic, c.id, chunks(&voice), None, None)
        .await;
    assert!(
        matches!(
            refused,
            Err(UploadError::NotForVisitors {
                found: Some("audio")
            })
        ),
        "{refused:?}"
    );
    let stranger = env
        .inbox
        .web_visitor_file("someone-else-0123456789", c.id, chunks(&photo), None, None)
        .await;
    assert!(
        matches!(stranger, Err(UploadError::Chat(ChatError::NotFound(_)))),
        "{stranger:?}"
    );

    env.inbox.accept_offer(ann.agent_id, c.id).await.unwrap();
    assert_eq!(download(&env, &ann, &url).await.unwrap(), photo);
    let doc = pdf(3000);
    let up = upload(&env.inbox, &ann, c.id, &doc, None, Some("guide.pdf"))
        .await
        .unwrap();
    let sent = env
        .inbox
        .send_file(&ann, c.id, &up.token, Some("The guide"), None)
        .await
        .unwrap();
    assert_eq!(sent.status.as_str(), "sent");
    for (token, bytes) in [
        (url.rsplit('/').next().unwrap(), &photo),
        (up.token.as_str(), &doc),
    ] {
        let file = env.inbox.web_attachment(vic, token).await.unwrap();
        let parts: Vec<Bytes> = file.bytes().await.unwrap().try_collect().await.unwrap();
        assert_eq!(&parts.concat(), bytes);
        assert!(matches!(
            env.inbox
                .web_attachment("someone-else-0123456789", token)
                .await,
            Err(ChatError::NotFound(_))
        ));
    }
    let events = env.inbox.conversation_events(c.id, 0, 100).await.unwrap();
    let files: Vec<Value> = events
        .iter()
        .filter_map(deflect_chat::webchat::visitor_event)
        .flat_map(|e| {
            e.data["attachments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[1]["token"], up.token.as_str());
    assert_eq!(files[1]["filename"], "guide.pdf");
}

on_both!(
    web_visitors_and_agents_exchange_files,
    an_agents_pdf_is_uploaded_to_meta_once_and_sent_as_a_document,
    refused_files_say_why,
    twilio_fetches_the_file_from_a_signed_link_that_expires,
    a_configured_secret_signs_links_to_sent_files_only,
    uploads_never_sent_expire_after_a_day,
);
