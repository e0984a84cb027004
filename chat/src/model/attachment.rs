//! The files customers' messages carry — images, voice notes, videos, documents, stickers —
//! as callers see them: [`Attachment`], in every [`crate::Message`]'s `attachments`.

use deflect_config::MediaKind;
use serde::{Deserialize, Serialize};

/// Where the API serves a stored attachment: this path, then its token (random, not the
/// blob's key, so a URL cannot be guessed from the file's content or another URL).
pub const ATTACHMENT_PATH: &str = "/api/v1/attachments/";

/// How long a file an agent uploaded can be sent (a day); after it the upload is removed.
pub const UPLOAD_TTL: crate::clock::Millis = 24 * 3600 * 1000;

/// Where an attachment's download stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentState {
    /// Not downloaded yet (or being tried again after a failure; its `error` says why).
    Pending,
    /// Downloaded and stored: its `url` serves it.
    Stored,
    /// Given up: too large, not a type WhatsApp accepts for its kind, gone from the
    /// provider, or every attempt failed (its `error` says which).
    Failed,
}

impl AttachmentState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Stored => "stored",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored form; an unknown one reads as pending.
    pub fn parse(s: &str) -> Self {
        match s {
            "stored" => Self::Stored,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// A file a message carries, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Where authorised agents download it (`/api/v1/attachments/<token>`, relative to the
    /// gateway); null until it is stored.
    pub url: Option<String>,
    /// Its type, read from its bytes (never the sender's word); null until it is stored.
    pub mime_type: Option<String>,
    /// Its size in bytes; null until it is stored.
    pub size: Option<u64>,
    /// A document's file name, as the sender gave it.
    pub filename: Option<String>,
    /// `image`, `audio`, `video`, `document` or `sticker`.
    pub kind: MediaKind,
    /// Where its download stands.
    pub state: AttachmentState,
    /// Why it failed, or why the last attempt did while it is tried again.
    pub error: Option<String>,
}

impl Attachment {
    /// The URL of the attachment with token `token`.
    pub fn url_of(token: &str) -> String {
        format!("{ATTACHMENT_PATH}{token}")
    }
}

/// A new attachment's token: 160 random bits, in hex.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    hex::encode(bytes)
}
