//! Files: `GET /api/v1/attachments/{token}`, the URL every stored attachment of a message
//! carries (a customer's, or an agent's upload — before and after it is sent). Only for a
//! caller who may see the message's conversation (the same rule as its messages: anyone
//! else gets 404, as for a token that does not exist). `POST
//! /api/v1/conversations/{id}/attachments` uploads a file to send ([`upload`]); the public
//! `GET /media/{token}?expires=…&signature=…` serves a sent file to the provider holding its
//! signed link ([`linked`]).
//!
//! The answer streams the file from the attachment store (never whole in memory) with:
//! - `Content-Type`: the type read from the bytes when it was stored, never the sender's;
//! - `Content-Length`; `Accept-Ranges: bytes` — one byte range asked with `Range` is
//!   answered 206 with `Content-Range` (browsers seek in audio and video so; Safari plays
//!   video only so), a range past the end 416; several ranges get the whole file;
//! - `Content-Disposition`: `inline` for images, stickers, audio and video (shown in the
//!   inbox), `attachment` for documents (saved, not opened by the browser), with the file
//!   name as RFC 6266 says: an ASCII `filename` and the exact name as `filename*`
//!   (RFC 8187, UTF-8 percent-encoded);
//! - `X-Content-Type-Options: nosniff`, `Content-Security-Policy: default-src 'none';
//!   sandbox` (a file opened on its own runs nothing) and `Cache-Control: private`.

use super::QueryOf;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deflect_chat::attachments::UploadError;
use deflect_chat::blobs::{BlobError, ByteRange, MediaKind};
use deflect_chat::{AttachmentFile, ChatError};
use serde::Deserialize;

pub(super) async fn attachment(
    State(s): State<AppState>,
    p: Principal,
    Path(token): Path<String>,
    request: HeaderMap,
) -> ApiResult<Response> {
    let file = s.inbox.attachment(&p.viewer, &token).await?;
    file_response(file, &request).await
}

/// `GET /media/{token}?expires=…&signature=…`: the file of a sent message, for whoever holds
/// its signed link (the provider fetching it). 403 for a wrong signature or an expired link,
/// 404 for a token of no sent file. Never logged with its query (the signature).
pub(crate) async fn linked(
    State(s): State<AppState>,
    Path(token): Path<String>,
    request: HeaderMap,
    q: QueryOf<LinkQuery>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let (Some(expires), Some(signature)) = (q.expires, q.signature) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a media link needs its expires and signature parameters",
        ));
    };
    match s
        .inbox
        .linked_attachment(&token, &expires, &signature)
        .await
    {
        Ok(file) => file_response(file, &request).await,
        Err(ChatError::Forbidden(why)) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", why))
        }
        Err(e) => Err(e.into()),
    }
}

/// The query of a signed media link.
#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// `POST …/attachments`: the file's name, and the kind to send it as (else read from its
/// bytes).
#[derive(Deserialize)]
pub(super) struct UploadQuery {
    filename: Option<String>,
    kind: Option<MediaKind>,
}

/// `POST /api/v1/conversations/{id}/attachments`: the raw bytes as the body, their type as
/// `Content-Type` (only a hint: the type is read from the bytes), the name in `?filename=`
/// or `Content-Disposition`; answers 201 with `{token, url, mime_type, size, filename,
/// kind}`. 413 over the kind's cap, 415 for a type WhatsApp does not take, 422 when empty.
pub(super) async fn upload(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    q: QueryOf<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let declared = (headers.get(header::CONTENT_TYPE)).and_then(|v| v.to_str().ok());
    let filename = q.filename.or_else(|| {
        (headers.get(header::CONTENT_DISPOSITION))
            .and_then(|v| v.to_str().ok())
            .and_then(disposition_filename)
    });
    let uploaded = s
        .inbox
        .upload_file(
            &p.viewer,
            id,
            body.into_data_stream(),
            declared,
            filename.as_deref(),
            q.kind,
        )
        .await
        .map_err(upload_error)?;
    Ok((StatusCode::CREATED, Json(uploaded)).into_response())
}

/// The answer for a refused upload.
pub(crate) fn upload_error(e: UploadError) -> ApiError {
    let refused =
        |status, code, e: &dyn std::fmt::Display| ApiError::new(status, code, e.to_string());
    match e {
        UploadError::Chat(e) => e.into(),
        UploadError::UnknownType { .. } | UploadError::NotForVisitors { .. } => {
            refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type", &e)
        }
        UploadError::Refused(b) => match &b {
            BlobError::TooLarge { .. } => refused(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &b),
            BlobError::UnsupportedType { .. } => {
                refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type", &b)
            }
            BlobError::Empty => refused(StatusCode::UNPROCESSABLE_ENTITY, "empty", &b),
            BlobError::Source(_) => refused(StatusCode::BAD_REQUEST, "bad_request", &b),
            _ => {
                tracing::error!(cause = %b, "an upload could not be stored");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the file could not be stored; try again",
                )
            }
        },
    }
}

/// The file name of a `Content-Disposition` header: `filename*` (RFC 8187, UTF-8) before
/// `filename`.
pub(crate) fn disposition_filename(value: &str) -> Option<String> {
    let params = value
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='));
    let mut plain = None;
    for (k, v) in params {
        match k.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                let (charset, rest) = v.split_once('\'')?;
                let (_, encoded) = rest.split_once('\'')?;
                if charset.eq_ignore_ascii_case("utf-8") {
                    return percent_decode(encoded);
                }
            }
            "filename" => plain = Some(v.trim().trim_matches('"').to_string()),
            _ => {}
        }
    }
    plain
}

/// `%XX`-decoded UTF-8, if it is.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = char::from(bytes.next()?).to_digit(16)?;
            let lo = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// A file as sent to a caller (see the module documentation): whole, or — when the request
/// asks for one byte range (`Range: bytes=…`, as browsers do to seek in audio and video) —
/// that part (206 with `Content-Range`; 416 with the size for a range past its end).
pub(crate) async fn file_response(
    file: AttachmentFile,
    request: &HeaderMap,
) -> ApiResult<Response> {
    let disposition = content_disposition(file.kind, &file.filename);
    let size = file.size;
    let headers = [
        (header::CONTENT_TYPE, header_value(&file.mime_type)),
        (header::CONTENT_DISPOSITION, header_value(&disposition)),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("private")),
    ];
    let asked = (request.get(header::RANGE))
        .and_then(|v| v.to_str().ok())
        .and_then(ByteRange::parse);
    let Some(asked) = asked else {
        let length = [(header::CONTENT_LENGTH, HeaderValue::from(size))];
        let bytes = file.bytes().await?;
        return Ok((headers, length, Body::from_stream(bytes)).into_response());
    };
    let Some(part) = asked.within(size) else {
        let range = [(
            header::CONTENT_RANGE,
            header_value(&format!("bytes */{size}")),
        )];
        return Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers, range).into_response());
    };
    let range = [
        (
            header::CONTENT_LENGTH,
            HeaderValue::from(part.end - part.start),
        ),
        (
            header::CONTENT_RANGE,
            header_value(&format!("bytes {}-{}/{size}", part.start, part.end - 1)),
        ),
    ];
    let bytes = file.part(part).await?;
    Ok((
        StatusCode::PARTIAL_CONTENT,
        headers,
        range,
        Body::from_stream(bytes),
    )
        .into_response())
}

/// A header value of text this module made of ASCII; anything else (which it never makes)
/// becomes `application/octet-stream`.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

/// `Content-Disposition` for a file of `kind` named `name` (see the module documentation).
fn content_disposition(kind: MediaKind, name: &str) -> String {
    let how = match kind {
        MediaKind::Document => "attachment",
        MediaKind::Image | MediaKind::Audio | MediaKind::Video | MediaKind::Sticker => "inline",
    };
    // The sender's name, without any directory part, at most 200 characters.
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = match name.trim() {
        "" | "." | ".." => "attachment".to_string(),
        n => n.to_string(),
    };
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    if ascii == name {
        format!("{how}; filename=\"{ascii}\"")
    } else {
        format!(
            "{how}; filename=\"{ascii}\"; filename*=UTF-8''{}",
            percent_encode(&name)
        )
    }
}

/// RFC 8187's encoding of a value: its UTF-8 bytes, `attr-char`s as they are, the others as
/// `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        let attr_char = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_saved_under_a_quoted_name_and_its_exact_form() {
        assert_eq!(
            content_disposition(MediaKind::Document, "invoice 2026.pdf"),
            "attachment; filename=\"invoice 2026.pdf\""
        );
        assert_eq!(
            content_disposition(MediaKind::Document, "Übersicht \"Q1\".xlsx"),
            "attachment; filename=\"_bersicht _Q1_.xlsx\"; \
             filename*=UTF-8''%C3%9Cbersicht%20%22Q1%22.xlsx"
        );
        assert_eq!(
            content_disposition(MediaKind::Document, "../../etc/passwd"),
            "attachment; filename=\"passwd\""
        );
        assert_eq!(
            content_disposition(MediaKind::Document, "C:\\Users\\ann\\a\r\nb.txt"),
            "attachment; filename=\"ab.txt\""
        );
        assert_eq!(
            content_disposition(MediaKind::Document, ".."),
            "attachment; filename=\"attachment\""
        );
    }

    #[test]
    fn uploads_are_named_by_their_content_disposition() {
        assert_eq!(
            disposition_filename("attachment; filename=\"invoice 42.pdf\"").as_deref(),
            Some("invoice 42.pdf")
        );
        assert_eq!(
            disposition_filename(
                "attachment; filename=\"_bersicht.xlsx\"; filename*=UTF-8''%C3%9Cbersicht.xlsx"
            )
            .as_deref(),
            Some("Übersicht.xlsx")
        );
        assert_eq!(disposition_filename("inline"), None);
        assert_eq!(
            disposition_filename("attachment; filename*=UTF-8''%ZZ"),
            None
        );
    }

    #[test]
    fn pictures_sound_and_video_are_shown_inline() {
        for kind in [
            MediaKind::Image,
            MediaKind::Sticker,
            MediaKind::Audio,
            MediaKind::Video,
        ] {
            assert_eq!(
                content_disposition(kind, "image-7.jpg"),
                "inline; filename=\"image-7.jpg\""
            );
        }
    }
}
