//! `[attachments]`: where the bytes of media messages (images, voice notes, videos,
//! documents, stickers) are kept — a directory under `data_dir` (the default, one process) or
//! an S3-compatible bucket (several processes) — and how large each kind may be.

use crate::Problems;
use crate::secret::{REDACTED, Secret};
use crate::value::{ByteSize, duration};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[attachments]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentsConfig {
    /// `local` (files under `path`) or `s3` (the bucket of `[attachments.s3]`).
    pub store: StoreKind,
    /// The directory of the local store; with `s3`, where uploads wait on local disk until
    /// they are complete and checked. Defaults to `<data_dir>/attachments`
    /// ([`crate::Config::attachments_path`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The largest attachment of each kind.
    pub max_size: MaxSizes,
    /// The bucket, with `store = "s3"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Config>,
    /// Key of the HMAC that signs the expiring public links under which providers fetch the
    /// files agents send (Twilio's `MediaUrl`), at least 32 characters. Unset: a random key
    /// the gateway generates once and keeps in its database, shared by every process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<Secret>,
    /// How long such a link stays valid.
    #[serde(with = "duration")]
    pub link_ttl: Duration,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        Self {
            store: StoreKind::Local,
            path: None,
            max_size: MaxSizes::default(),
            s3: None,
            signing_secret: None,
            link_ttl: Duration::from_secs(3600),
        }
    }
}

/// Where attachments are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Files in a local directory: one gateway process (or several sharing the directory).
    Local,
    /// An S3-compatible bucket, shared by every process.
    S3,
}

/// The kinds of media a WhatsApp message carries; each has its own size cap and its own
/// accepted types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A photo (JPEG, PNG).
    Image,
    /// A voice note or audio file.
    Audio,
    /// A video.
    Video,
    /// A document (PDF, Office, plain text).
    Document,
    /// A sticker (WebP).
    Sticker,
}

impl MediaKind {
    /// Every kind.
    pub const ALL: [MediaKind; 5] = [
        Self::Image,
        Self::Audio,
        Self::Video,
        Self::Document,
        Self::Sticker,
    ];

    /// The name as written in the configuration and in WhatsApp's message types.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[attachments.max_size]`: WhatsApp's media limits by default (5 MB images, 16 MB audio
/// and video, 100 MB documents, 500 KB stickers), read as MiB and KiB so that nothing
/// WhatsApp delivers is refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaxSizes {
    /// Images.
    pub image: ByteSize,
    /// Audio.
    pub audio: ByteSize,
    /// Video.
    pub video: ByteSize,
    /// Documents.
    pub document: ByteSize,
    /// Stickers.
    pub sticker: ByteSize,
}

impl Default for MaxSizes {
    fn default() -> Self {
        Self {
            image: ByteSize(5 * ByteSize::MIB),
            audio: ByteSize(16 * ByteSize::MIB),
            video: ByteSize(16 * ByteSize::MIB),
            document: ByteSize(100 * ByteSize::MIB),
            sticker: ByteSize(500 * ByteSize::KIB),
        }
    }
}

impl MaxSizes {
    /// The smallest cap that may be configured.
    pub const MIN: ByteSize = ByteSize(ByteSize::KIB);
    /// The largest cap that may be configured.
    pub const MAX: ByteSize = ByteSize(ByteSize::GIB);

    /// The cap of `kind`, in bytes.
    pub fn of(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.image,
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
            MediaKind::Document => self.document,
            MediaKind::Sticker => self.sticker,
        }
        .bytes()
    }
}

/// `[attachments.s3]`: an S3 bucket, or a bucket of an S3-compatible server (MinIO, Ceph,
/// Garage, …) at `endpoint`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The server's URL, for S3-compatible servers; unset: AWS S3 in `region`. Buckets are
    /// addressed by path (`<endpoint>/<bucket>/<key>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<url::Url>,
    /// The region requests are signed for.
    pub region: String,
    /// Access key ID. Unset (with `secret_access_key`): the standard AWS sources — the
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` variables, a web identity, the
    /// container's or the instance's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    /// Keys are stored under this prefix (`deflect/attachments` → `deflect/attachments/sha256/…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Allows an `http://` endpoint: objects and signed requests travel unencrypted, so only
    /// for a test server or a private network.
    pub allow_http: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            prefix: None,
            allow_http: false,
        }
    }
}

impl AttachmentsConfig {
    /// The shortest and longest [`AttachmentsConfig::link_ttl`].
    pub const LINK_TTL: (Duration, Duration) =
        (Duration::from_secs(60), Duration::from_secs(7 * 24 * 3600));

    /// The fewest characters of [`AttachmentsConfig::signing_secret`].
    pub const MIN_SIGNING_SECRET: usize = 32;

    pub(crate) fn validate(&self, p: &mut Problems) {
        if let Some(s) = &self.signing_secret {
            if s.expose() == REDACTED {
                p.push(
                    "attachments.signing_secret",
                    "holds the <redacted> placeholder copied from check-config output, not the secret",
                );
            } else if s.expose().chars().count() < Self::MIN_SIGNING_SECRET {
                p.push(
                    "attachments.signing_secret",
                    format!(
                        "is too short; use at least {} random characters (e.g. `openssl rand -hex 32`), \
                         or leave it out for a key the gateway generates",
                        Self::MIN_SIGNING_SECRET
                    ),
                );
            }
        }
        let (min, max) = Self::LINK_TTL;
        if !(min..=max).contains(&self.link_ttl) {
            p.push(
                "attachments.link_ttl",
                format!(
                    "{} is out of range; must be between 1m and 7d",
                    humantime::format_duration(self.link_ttl)
                ),
            );
        }
        if self.path.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            p.push(
                "attachments.path",
                "must name a directory, e.g. \"./data/attachments\" (or leave it out for <data_dir>/attachments)",
            );
        }
        for kind in MediaKind::ALL {
            let size = ByteSize(self.max_size.of(kind));
            if !(MaxSizes::MIN..=MaxSizes::MAX).contains(&size) {
                p.push(
                    format!("attachments.max_size.{kind}"),
                    format!(
                        "{size} is out of range; must be between {} and {}",
                        MaxSizes::MIN,
                        MaxSizes::MAX
                    ),
                );
            }
        }
        match (self.store, &self.s3) {
            (StoreKind::S3, Some(s3)) => s3.validate(p, "attachments.s3"),
            (StoreKind::S3, None) => p.push(
                "attachments.s3.bucket",
                "required when attachments.store = \"s3\" (the [attachments.s3] section)",
            ),
            (StoreKind::Local, Some(_)) => p.push(
                "attachments.s3",
                "is only used with attachments.store = \"s3\" (it is \"local\"); set store = \"s3\" or remove the section",
            ),
            (StoreKind::Local, None) => {}
        }
    }
}

impl S3Config {
    fn validate(&self, p: &mut Problems, at: &str) {
        if let Err(e) = check_bucket(&self.bucket) {
            p.push(format!("{at}.bucket"), e);
        }
        if let Some(url) = &self.endpoint {
            let shape_ok = url.host_str().is_some()
                && url.username().is_empty()
                && url.password().is_none()
                && url.query().is_none()
                && url.fragment().is_none();
            match url.scheme() {
                _ if !shape_ok => p.push(
                    format!("{at}.endpoint"),
                    "must be the server's base URL, e.g. \"https://s3.example.com\" (no credentials, query or fragment)",
                ),
                "https" => {}
                "http" if self.allow_http => {}
                "http" => p.push(
                    format!("{at}.endpoint"),
                    format!(
                        "is an http:// URL: objects and signed requests would travel unencrypted; \
                         use https://, or set {at}.allow_http = true for a test server or a private network"
                    ),
                ),
                _ => p.push(
                    format!("{at}.endpoint"),
                    "must be an http:// or https:// URL",
                ),
            }
        }
        if self.region.is_empty() {
            p.push(
                format!("{at}.region"),
                "a region such as \"us-east-1\" is required (S3-compatible servers mostly accept any)",
            );
        }
        let key_id = self.access_key_id.as_deref().is_some_and(|k| !k.is_empty());
        let secret = self
            .secret_access_key
            .as_ref()
            .is_some_and(|s| !s.is_empty());
        if key_id && !secret {
            p.push(
                format!("{at}.secret_access_key"),
                "required with access_key_id (or leave both out for the standard AWS sources)",
            );
        }
        if secret && !key_id {
            p.push(
                format!("{at}.access_key_id"),
                "required with secret_access_key (or leave both out for the standard AWS sources)",
            );
        }
        if self
            .secret_access_key
            .as_ref()
            .is_some_and(|s| s.expose() == REDACTED)
        {
            p.push(
                format!("{at}.secret_access_key"),
                "holds the <redacted> placeholder copied from check-config output, not the secret",
            );
        }
        if let Some(prefix) = &self.prefix {
            let ok = !prefix.is_empty()
                && prefix.split('/').all(|segment| {
                    !segment.is_empty()
                        && segment != "."
                        && segment != ".."
                        && segment.chars().all(|c| !c.is_control())
                });
            if !ok {
                p.push(
                    format!("{at}.prefix"),
                    format!(
                        "{prefix:?} is not a key prefix; write segments separated by '/', \
                         none empty, \".\" or \"..\", no leading or trailing '/', e.g. \"deflect/attachments\""
                    ),
                );
            }
        }
    }
}

/// S3's bucket naming rules: 3–63 characters of a-z, 0-9, '.' and '-', starting and ending
/// with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), String> {
    const RULE: &str =
        "3–63 characters a-z, 0-9, '.' and '-', starting and ending with a letter or digit";
    if bucket.is_empty() {
        return Err(format!(
            "required with store = \"s3\"; a bucket name of {RULE}"
        ));
    }
    let bytes = bucket.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!("{bucket:?} is not a bucket name; use {RULE}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(check_bucket("deflect-media").is_ok());
        assert!(check_bucket("a.b.c").is_ok());
        for bad in [
            "",
            "ab",
            "Deflect",
            "-media",
            "media-",
            "media_1",
            &"x".repeat(64),
        ] {
            assert!(check_bucket(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn caps_default_to_whatsapp_limits() {
        let caps = MaxSizes::default();
        assert_eq!(caps.of(MediaKind::Image), 5 * 1024 * 1024);
        assert_eq!(caps.of(MediaKind::Audio), 16 * 1024 * 1024);
        assert_eq!(caps.of(MediaKind::Video), 16 * 1024 * 1024);
        assert_eq!(caps.of(MediaKind::Document), 100 * 1024 * 1024);
        assert_eq!(caps.of(MediaKind::Sticker), 500 * 1024);
    }
}
