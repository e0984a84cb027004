//! A `multipart/form-data` request body (RFC 7578) of text fields and one file whose bytes
//! stream from the attachment store as they are sent: a 100 MB document is never whole in
//! memory. Its length is known before it is sent (the parts' heads and the file's size), so
//! the request carries `Content-Length`, not chunks.
//!
//! Written here rather than with reqwest's `multipart` and `stream` features, which would
//! add mime_guess and tokio-util to the build for a format of a few lines; `http-body` (the
//! `Frame` type of a streamed body, already in the tree under hyper and reqwest) is the one
//! dependency it adds to deflect-chat.

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A form with text fields and one file, ready to be sent.
pub(crate) struct Form {
    boundary: String,
    fields: Vec<(&'static str, String)>,
}

/// What a [`Form`] becomes: its `Content-Type`, `Content-Length` and body.
pub(crate) struct FormBody {
    pub(crate) content_type: String,
    pub(crate) length: u64,
    pub(crate) body: reqwest::Body,
}

impl Form {
    /// An empty form with a random boundary.
    pub(crate) fn new() -> Self {
        Self {
            boundary: format!("deflect-{}", crate::model::random_token(24)),
            fields: Vec::new(),
        }
    }

    /// Adds a text field.
    pub(crate) fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    /// The body with the fields, then the file as field `name` (`filename`, of type
    /// `mime_type`, `size` bytes streamed from `bytes`).
    pub(crate) fn with_file<S, E>(
        self,
        name: &str,
        filename: &str,
        mime_type: &str,
        size: u64,
        bytes: S,
    ) -> FormBody
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let b = &self.boundary;
        let mut head = String::new();
        for (field, value) in &self.fields {
            head.push_str(&format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            ));
        }
        head.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\n\
             Content-Type: {mime_type}\r\n\r\n",
            quoted(filename)
        ));
        let tail = format!("\r\n--{b}--\r\n");
        let length = head.len() as u64 + size + tail.len() as u64;
        let parts = stream::once(async move { Ok(Bytes::from(head)) })
            .chain(bytes.map(|r| r.map_err(Into::into)))
            .chain(stream::once(async move { Ok(Bytes::from(tail)) }));
        let body = http_body_util::StreamBody::new(Frames(std::sync::Mutex::new(Box::pin(parts))));
        FormBody {
            content_type: format!("multipart/form-data; boundary={b}"),
            length,
            body: reqwest::Body::wrap(body),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Parts = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// The parts as body frames. The mutex only makes the stream `Sync`, as reqwest's body
/// asks: it is polled through `&mut`, never locked.
struct Frames(std::sync::Mutex<Parts>);

impl Stream for Frames {
    type Item = Result<http_body::Frame<Bytes>, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let parts = match self.get_mut().0.get_mut() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        parts
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(|r| r.map(http_body::Frame::data)))
    }
}

/// A file name as a quoted-string's content: without quotes, backslashes and line breaks
/// (which would end the header), ASCII controls dropped.
fn quoted(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn fields_then_the_file_with_the_announced_length() {
        let file = stream::iter([
            Ok(Bytes::from_static(b"%PDF-")),
            Ok::<_, std::io::Error>(Bytes::from_static(b"1.7")),
        ]);
        let form = Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", "application/pdf");
        let boundary = form.boundary.clone();
        let f = form.with_file("file", "a \"b\"\r\n.pdf", "application/pdf", 8, file);
        assert_eq!(
            f.content_type,
            format!("multipart/form-data; boundary={boundary}")
        );
        let body = f.body.collect().await.unwrap().to_bytes();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(
            text,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\napplication/pdf\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a _b_.pdf\"\r\n\
                 Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--{boundary}--\r\n"
            )
        );
        assert_eq!(f.length, body.len() as u64);
    }
}
