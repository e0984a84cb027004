//! The browser side, embedded in the binary (no build step): the widget loader
//! (`/widget.js`) and chat (`/widget/chat.js`), the agents' inbox (`/`), the sandbox phone
//! (`/sandbox`) and a demo page embedding the widget (`/demo`: the first configured
//! `[[widget.sites]]`, `?site=<name>` for another; a page saying how to add one when none is
//! configured); their texts by language (`/i18n/…`, [`crate::i18n`]). Plain JavaScript and
//! CSS, no framework. Files are served gzip-compressed to browsers that accept it (compressed
//! once, on first request), with an `ETag`.

use axum::Router;
use axum::extract::{Query, State};
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
    // Texts by language (the inbox's and the widget's, so cached like chat.js).
    asset!(
        "/i18n.js",
        "i18n.js",
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
        "/inbox-keys.js",
        "inbox-keys.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/inbox-phone.js",
        "inbox-phone.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/inbox-contact.js",
        "inbox-contact.js",
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
        "/inbox-settings.js",
        "inbox-settings.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/inbox-webhooks.js",
        "inbox-webhooks.js",
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
        "/continue.js",
        "continue.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
    asset!(
        "/sandbox.js",
        "sandbox.js",
        "text/javascript; charset=utf-8",
        "no-cache"
    ),
];

/// The demo page, with `{{site}}` (the site's name) and `{{others}}` (links to the other
/// configured sites) to fill in.
const DEMO_PAGE: &str = include_str!("../assets/demo.html");

/// `body` gzip-compressed (best compression).
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(body).expect("writing to memory cannot fail");
    e.finish().expect("writing to memory cannot fail")
}

/// A quoted ETag for `body`: FNV-1a, a content fingerprint, not a security measure.
pub(crate) fn fingerprint(body: &[u8]) -> String {
    let h = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("\"{h:016x}\"")
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
            .map(|a| Prepared {
                gz: gzip(a.body.as_bytes()),
                etag: fingerprint(a.body.as_bytes()),
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

/// `&`, `<`, `>` and quotes escaped for HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fixed message page (no site to show) with status `status`.
fn demo_message(status: StatusCode, title: &str, body: &str) -> (StatusCode, String) {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>deflect — widget demo</title>\n<link rel=\"stylesheet\" href=\"/inbox.css\">\n\
         </head>\n<body class=\"demo\">\n<main>\n<h1>{}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        escape_html(title)
    );
    (status, page)
}

/// The demo page for site `wanted` (`None`: the first configured site) of `sites`, with its
/// status: 404 with a page saying what to do when there is no such site.
pub fn demo_page(sites: &[String], wanted: Option<&str>) -> (StatusCode, String) {
    let Some(first) = sites.first() else {
        return demo_message(
            StatusCode::NOT_FOUND,
            "No widget site is configured",
            "<p>Add a site to the configuration file to try the widget here, e.g.</p>\n\
             <pre>[[widget.sites]]\nname = \"default\"</pre>\n\
             <p>and restart the gateway.</p>",
        );
    };
    let site = match wanted {
        None => first,
        Some(w) => match sites.iter().find(|s| s.as_str() == w) {
            Some(s) => s,
            None => {
                let list = sites
                    .iter()
                    .map(|s| {
                        let e = escape_html(s);
                        format!("<li><a href=\"/demo?site={e}\">{e}</a></li>")
                    })
                    .collect::<String>();
                return demo_message(
                    StatusCode::NOT_FOUND,
                    "No such widget site",
                    &format!(
                        "<p>The site <code>{}</code> is not configured. The configured sites:</p>\n<ul>{list}</ul>",
                        escape_html(w)
                    ),
                );
            }
        },
    };
    let others = sites
        .iter()
        .filter(|s| *s != site)
        .map(|s| {
            let e = escape_html(s);
            format!("<a href=\"/demo?site={e}\">{e}</a>")
        })
        .collect::<Vec<_>>();
    let others = if others.is_empty() {
        String::new()
    } else {
        format!("<p>Other sites: {}.</p>", others.join(", "))
    };
    let page = DEMO_PAGE
        .replace("{{others}}", &others)
        .replace("{{site}}", &escape_html(site));
    (StatusCode::OK, page)
}

/// `GET /demo[?site=<name>]`.
#[derive(serde::Deserialize)]
struct DemoQuery {
    site: Option<String>,
}

async fn demo(
    State(state): State<AppState>,
    q: Result<Query<DemoQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let sites: Vec<String> = (state.web.widget.sites.iter())
        .map(|s| s.name.clone())
        .collect();
    let wanted = q.ok().and_then(|Query(q)| q.site);
    let (status, page) = demo_page(&sites, wanted.as_deref());
    html(status, page, "same-origin")
}

/// A page the server fills in, under the pages' policy, never cached, with referrer policy
/// `referrer`.
pub(crate) fn html(status: StatusCode, page: String, referrer: &'static str) -> Response {
    let mut res = (status, page).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

pub(crate) fn routes() -> Router<AppState> {
    // The pages' texts in the agent's or visitor's language.
    let mut r = crate::i18n::routes().route("/demo", get(demo));
    for (i, a) in ASSETS.iter().enumerate() {
        r = r.route(
            a.path,
            get(move |headers: HeaderMap| async move { serve(i, &headers) }),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_demo_embeds_the_first_configured_site() {
        let (status, page) = demo_page(&sites(&["shop", "support"]), None);
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"<script src="/widget.js" data-site="shop" async>"#));
        assert!(!page.contains("{{"));
        assert!(page.contains(r#"<a href="/demo?site=support">support</a>"#));
    }

    #[test]
    fn site_picks_another_configured_site() {
        let (status, page) = demo_page(&sites(&["shop", "support"]), Some("support"));
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(r#"data-site="support""#));
        assert!(!page.contains(r#"data-site="shop""#));
    }

    #[test]
    fn an_unknown_site_lists_the_configured_ones_escaped() {
        let (status, page) = demo_page(&sites(&["shop"]), Some("<x>"));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("&lt;x&gt;") && !page.contains("<x>"));
        assert!(page.contains(r#"href="/demo?site=shop""#));
        assert!(!page.contains("widget.js"));
    }

    #[test]
    fn no_site_says_how_to_add_one() {
        let (status, page) = demo_page(&[], None);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("[[widget.sites]]"));
        assert!(!page.contains("widget.js"));
    }
}
