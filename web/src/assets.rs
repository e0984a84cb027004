//! The browser side, embedded in the binary (no build step): the widget loader
//! (`/widget.js`) and chat (`/widget/chat.js`), the agents' inbox (`/`), the sandbox phone
//! (`/sandbox`) and a demo page embedding the widget (`/demo`). Plain JavaScript and CSS, no
//! framework. Files are served gzip-compressed to browsers that accept it (compressed once,
//! on first request), with an `ETag`.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::io::Write;
use std::sync::OnceLock;

use crate::AppState;

/// An embedded file.
pub struct Asset {
    /// URL path.
    pub path: &'static str,
    /// Content type.
    pub content_type: &'static str,
    /// The file.
    pub body: &'static str,
    /// Cache-Control.
    pub cache: &'static str,
}

/// The pages' policy. `blob:` pictures and media: the widget (on the demo page) shows files it
/// fetched with the visitor's token as blob URLs.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
    style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'";

macro_rules! asset {
    ($path:literal, $file:literal, $ty:literal, $cache:literal) => {
        Asset {
            path: $path,
            content_type: $ty,
            body: include_str!(concat!("../assets/", $file)),
            cache: $cache,
        }
    };
}

/// Every embedded file.
pub static ASSETS: &[Asset] = &[
    asset!(
        "/widget.js",
        "widget.js",
        "text/javascript; charset=utf-8",
        "public, max-age=300"
    ),
    asset!(
        "/widget/chat.js",
        "chat.js",
        "text/javascript; charset=utf-8",
        "public, max-age=300"
    ),
    asset!("/", "inbox.html", "text/html; charset=utf-8", "no-cache"),
    asset!(
        "/inbox.js",
        "inbox.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/inbox-reports.js",
        "inbox-reports.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/inbox.css",
        "inbox.css",
        "text/css; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/sandbox",
        "sandbox.html",
        "text/html; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/sandbox.js",
        "sandbox.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!("/demo", "demo.html", "text/html; charset=utf-8", "no-cache"),
];

/// `body` gzip-compressed (best compression).
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(body).expect("writing to memory cannot fail");
    e.finish().expect("writing to memory cannot fail")
}

struct Prepared {
    gz: Vec<u8>,
    etag: String,
}

fn prepared(i: usize) -> &'static Prepared {
    static ALL: OnceLock<Vec<Prepared>> = OnceLock::new();
    &ALL.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                // FNV-1a: a content fingerprint, not a security measure.
                let h = a.body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
                Prepared {
                    gz: gzip(a.body.as_bytes()),
                    etag: format!("\"{h:016x}\""),
                }
            })
            .collect()
    })[i]
}

fn serve(i: usize, headers: &HeaderMap) -> Response {
    let a = &ASSETS[i];
    let p = prepared(i);
    let etag = HeaderValue::from_str(&p.etag).expect("a quoted hex string is a header value");
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut res = if gzip_ok {
        let mut r = p.gz.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        a.body.into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(a.cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::ETAG, etag);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if a.content_type.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    } else {
        // The widget's scripts load into other sites' pages.
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    res
}

pub(crate) fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for (i, a) in ASSETS.iter().enumerate() {
        r = r.route(
            a.path,
            get(move |headers: HeaderMap| async move { serve(i, &headers) }),
        );
    }
    r
}
