//! Customers' files: `GET /api/v1/attachments/{token}`, the URL every stored attachment of a
//! message carries. Only for a caller who may see the message's conversation (the same rule
//! as its messages: anyone else gets 404, as for a token that does not exist).
//!
//! The answer streams the file from the attachment store (never whole in memory) with:
//! - `Content-Type`: the type read from the bytes when it was stored, never the sender's;
//! - `Content-Length`;
//! - `Content-Disposition`: `inline` for images, stickers, audio and video (shown in the
//!   inbox), `attachment` for documents (saved, not opened by the browser), with the file
//!   name as RFC 6266 says: an ASCII `filename` and the exact name as `filename*`
//!   (RFC 8187, UTF-8 percent-encoded);
//! - `X-Content-Type-Options: nosniff`, `Content-Security-Policy: default-src 'none';
//!   sandbox` (a file opened on its own runs nothing) and `Cache-Control: private`.

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use deflect_chat::blobs::MediaKind;

pub(super) async fn attachment(
    State(s): State<AppState>,
    p: Principal,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let file = s.inbox.attachment(&p.viewer, &token).await?;
    let disposition = content_disposition(file.kind, &file.filename);
    let headers = [
        (header::CONTENT_TYPE, header_value(&file.mime_type)),
        (header::CONTENT_LENGTH, HeaderValue::from(file.size)),
        (header::CONTENT_DISPOSITION, header_value(&disposition)),
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
    Ok((headers, Body::from_stream(file.bytes)).into_response())
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
