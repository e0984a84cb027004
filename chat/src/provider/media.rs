//! Downloading the files customers send ([`MediaFetcher`]): the provider's side only — the
//! attachment worker streams the answer's body into the attachment store.
//!
//! - **Meta** (Cloud API, "Retrieve media URL" and "Download media"): a webhook names a media
//!   id (`image.id`, …). `GET {api_base_url}/{api_version}/{media-id}` with the account's
//!   bearer token answers `{"url", "mime_type", "sha256", "file_size", "id"}`; the URL lives
//!   about five minutes and needs the same bearer token: `GET <url>`. The id itself expires
//!   after some days, so the file is fetched as soon as the message is stored, and every
//!   attempt asks for a fresh URL.
//! - **Twilio**: a webhook names `MediaUrlN`. `GET` it with HTTP Basic auth (account SID and
//!   auth token); Twilio answers with a redirect to a short-lived signed URL, which is
//!   followed (reqwest drops the credentials on a redirect to another host). Credentials go
//!   only to the account's API host (`api_base_url`): a media URL elsewhere is fetched
//!   without them.
//!
//! The body is handed over as a stream of chunks ([`Download::into_stream`]), never read
//! whole into memory. The client gives a connection 5 s and each read 30 s, with no limit on
//! the whole download (a 100 MB document on a slow link takes its time).
//!
//! Errors are sorted for the worker: [`FetchError::Retry`] for what may pass (no connection,
//! a timeout, 5xx, 429, 401/403 — an expired URL, or credentials an operator can fix),
//! [`FetchError::Gone`] for what will not (400, 404, 410: the provider no longer has the
//! file, or never had it), [`FetchError::TooLarge`] for a file announced larger than its cap
//! (Meta's `file_size`, else the download's `Content-Length`).

use super::MediaSource;
use bytes::Bytes;
use deflect_config::{AccountConfig, Provider as ProviderKind, Secret};
use futures_util::Stream;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// Why a file could not be fetched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Worth trying again later.
    #[error("{0}")]
    Retry(String),
    /// Will not succeed: the provider does not have the file (any more).
    #[error("{0}")]
    Gone(String),
    /// The provider announces more bytes than the cap given (nothing was downloaded).
    #[error("the file has {size} bytes, more than {limit}")]
    TooLarge {
        /// The announced size.
        size: u64,
        /// The cap.
        limit: u64,
    },
}

/// A file being downloaded: what the provider says of it, and its bytes to come.
#[derive(Debug)]
pub struct Download {
    /// Its size as the provider announced it (Meta's `file_size`, or the answer's
    /// `Content-Length`).
    pub declared_size: Option<u64>,
    /// Its type as the provider announced it (never trusted: it only breaks ties).
    pub declared_mime: Option<String>,
    /// The SHA-256 the provider announced (Meta's `sha256`, lower-case hex), checked once
    /// the bytes are in.
    pub declared_sha256: Option<String>,
    response: reqwest::Response,
}

impl Download {
    /// The body as a stream of chunks, read as it is consumed.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, reqwest::Error>> + Send {
        futures_util::stream::unfold(Some(self.response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

/// Fetches one account's customers' files (see the module documentation).
#[derive(Clone, Debug)]
pub struct MediaFetcher {
    http: reqwest::Client,
    credentials: Credentials,
}

#[derive(Clone, Debug)]
enum Credentials {
    Meta {
        /// `{api_base_url}/{api_version}`.
        graph: Option<url::Url>,
        token: Option<Secret>,
    },
    Twilio {
        /// The API's origin, the one place the credentials go.
        api: Option<url::Origin>,
        sid: String,
        token: Option<Secret>,
    },
    /// Sinch and Kaleyra: their media links need no credentials.
    Public,
    /// The sandbox: its messages carry no files.
    None,
}

/// The HTTP client downloads share: the providers' (rustls on ring, compiled-in roots),
/// with a 5 s connect and a 30 s read timeout and no total one.
pub fn http_client() -> reqwest::Client {
    super::http_client_builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(30))
        .build()
        .expect("a client with a preconfigured rustls backend builds")
}

impl MediaFetcher {
    /// The fetcher of `account`'s files, over `http` (see [`http_client`]).
    pub fn for_account(account: &AccountConfig, http: reqwest::Client) -> Self {
        let base = account.api_base_url();
        let credentials = match account.provider {
            ProviderKind::Meta => Credentials::Meta {
                graph: base.and_then(|b| {
                    let base = b.as_str().trim_end_matches('/');
                    url::Url::parse(&format!("{base}/{}", account.api_version)).ok()
                }),
                token: account.access_token.clone(),
            },
            ProviderKind::Twilio => Credentials::Twilio {
                api: base.map(|b| b.origin()),
                sid: account.account_sid.clone().unwrap_or_default(),
                token: account.auth_token.clone(),
            },
            ProviderKind::Sinch | ProviderKind::Kaleyra => Credentials::Public,
            ProviderKind::Sandbox => Credentials::None,
        };
        Self { http, credentials }
    }

    /// Starts downloading the file at `source`: once the answer's headers are in, its body
    /// comes as [`Download::into_stream`] reads it. A file the provider announces larger
    /// than `limit` bytes is [`FetchError::TooLarge`] (Meta announces it before the
    /// download, which is then not even asked for).
    pub async fn fetch(&self, source: &MediaSource, limit: u64) -> Result<Download, FetchError> {
        let download = match (&self.credentials, source) {
            (Credentials::Meta { graph, token }, MediaSource::MetaId(id)) => {
                let Some(graph) = graph else {
                    return Err(FetchError::Gone("the account has no API URL".into()));
                };
                self.meta_file(graph, token.as_ref(), id, limit).await?
            }
            (c @ (Credentials::Twilio { .. } | Credentials::Public), MediaSource::Url(url)) => {
                let url = url::Url::parse(url)
                    .map_err(|e| FetchError::Gone(format!("bad media URL {url:?}: {e}")))?;
                let mut req = self.http.get(url.clone());
                if let Credentials::Twilio { api, sid, token } = c
                    && api.as_ref() == Some(&url.origin())
                {
                    req = req.basic_auth(sid, token.as_ref().map(Secret::expose));
                }
                let response = send(req).await?;
                Download {
                    declared_size: response.content_length(),
                    declared_mime: content_type(&response),
                    declared_sha256: None,
                    response,
                }
            }
            (_, source) => {
                return Err(FetchError::Gone(format!(
                    "the account's provider cannot fetch {source:?}"
                )));
            }
        };
        within(download.declared_size, limit)?;
        Ok(download)
    }

    /// Meta: the media URL (`GET /{media-id}`), then the file, both with the bearer token.
    async fn meta_file(
        &self,
        graph: &url::Url,
        token: Option<&Secret>,
        id: &str,
        limit: u64,
    ) -> Result<Download, FetchError> {
        let mut lookup = graph.clone();
        lookup
            .path_segments_mut()
            .map_err(|()| FetchError::Gone("the account's API URL cannot take a path".into()))?
            .push(id);
        let bearer = |req: reqwest::RequestBuilder| match token {
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        };
        let answer = send(bearer(self.http.get(lookup))).await?;
        let text = answer
            .text()
            .await
            .map_err(|e| FetchError::Retry(format!("the media URL's answer was cut short: {e}")))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let Some(url) = json["url"].as_str() else {
            return Err(FetchError::Retry(
                "the media lookup answered without a url".into(),
            ));
        };
        let declared_size = (json["file_size"].as_u64())
            .or_else(|| json["file_size"].as_str().and_then(|s| s.parse().ok()));
        let declared_mime = json["mime_type"].as_str().map(str::to_string);
        // Meta's digest, when it is one: 64 hex digits.
        let declared_sha256 = (json["sha256"].as_str())
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase);
        within(declared_size, limit)?;
        let response = send(bearer(self.http.get(url))).await?;
        Ok(Download {
            declared_size: declared_size.or(response.content_length()),
            declared_mime: declared_mime.or_else(|| content_type(&response)),
            declared_sha256,
            response,
        })
    }
}

/// Refuses an announced `size` over `limit`.
fn within(size: Option<u64>, limit: u64) -> Result<(), FetchError> {
    match size {
        Some(size) if size > limit => Err(FetchError::TooLarge { size, limit }),
        _ => Ok(()),
    }
}

/// Sends `req`; an answer other than a success is an error, sorted as the module
/// documentation says.
async fn send(req: reqwest::RequestBuilder) -> Result<reqwest::Response, FetchError> {
    let response = req.send().await.map_err(|e| {
        FetchError::Retry(if e.is_timeout() {
            "the provider did not answer in time".to_string()
        } else {
            format!("cannot reach the provider: {e}")
        })
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let said = match response.text().await {
        Ok(body) => {
            let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            (json["error"]["message"].as_str())
                .or(json["message"].as_str())
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        }
        Err(_) => String::new(),
    };
    let message = format!("the provider answered HTTP {}{said}", status.as_u16());
    if status.is_server_error()
        || matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::REQUEST_TIMEOUT
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
        )
    {
        Err(FetchError::Retry(message))
    } else {
        Err(FetchError::Gone(message))
    }
}

/// The answer's `Content-Type`, without parameters.
fn content_type(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get(reqwest::header::CONTENT_TYPE)?;
    let t = value.to_str().ok()?.split(';').next()?.trim();
    (!t.is_empty()).then(|| t.to_string())
}
