//! The inbox's and the widget's texts in several languages: Project Fluent files
//! (`web/i18n/{language}/{inbox,widget}.ftl`, embedded in the binary), compiled once each to a
//! compact JSON the browser formats (`web/assets/i18n.js`, with `Intl.PluralRules` and
//! `Intl.NumberFormat`), served at `GET /i18n/{inbox|widget}/{languages}.json`.
//!
//! **Crate.** [`fluent_syntax`] (0.12, Apache-2.0 OR MIT, part of projectfluent/fluent-rs,
//! Mozilla's reference implementation) is Fluent's parser and AST only: its dependencies,
//! memchr and thiserror, are already in the build. Not `fluent-bundle` (it formats in Rust,
//! pulling unic-langid, intl_pluralrules, intl-memoizer and self_cell, while the texts are
//! formatted in the browser, which has CLDR's plural rules already); not `i18n-embed` (a
//! loader for desktop and wasm applications over rust-embed and gettext; nothing here needs
//! it); not `@fluent/bundle` vendored into the pages (it would about double the widget's
//! download). Fluent keeps whole sentences with their plural variants in the translator's
//! hands: no text is concatenated in code.
//!
//! **What a catalog may use.** Text, variables (`{ $n }`), selects on a variable
//! (`{ $n -> [one] … *[other] … }`, keys being CLDR plural categories, exact numbers or any
//! string the variable may equal), terms (`{ -brand }`, inlined), references to other
//! messages (inlined), string and number literals, and attributes (`.placeholder = …`,
//! served as the message `id.placeholder`). Functions (`NUMBER()`, `DATETIME()`) and
//! parameterised terms are refused: the browser formats numbers itself.
//!
//! **The JSON.** `{"bundle": "inbox", "language": "nl", "languages": ["en", …],
//! "fallback": ["id", …], "messages": {"id": message, …}}` where a message is a string
//! (plain text) or a list of parts: a string (text), `{"var": "n"}` (a variable's value) or
//! `{"select": "n", "default": "other", "variants": {"one": [parts], "other": [parts]}}`.
//! `fallback` lists the ids this language lacks, served in English.
//!
//! **Which language.** The path names one or more language tags, comma-separated, in the
//! order preferred (`nl.json`, `pt-BR,en-GB.json`); the first one served wins, each tried
//! as written and then as its primary language (`pt-BR` → `pt`); else English.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fluent_syntax::ast;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

/// The languages served, English first (every other falls back to it).
pub const LANGUAGES: &[&str] = &["en", "nl", "de", "es", "fr", "pt"];

/// The message sets: the agents' inbox and the visitors' chat widget.
pub const BUNDLES: &[&str] = &["inbox", "widget"];

macro_rules! catalogs {
    ($($lang:literal),*) => {
        &[$(
            ($lang, "inbox", include_str!(concat!("../i18n/", $lang, "/inbox.ftl"))),
            ($lang, "widget", include_str!(concat!("../i18n/", $lang, "/widget.ftl"))),
        )*]
    };
}

/// Every catalog as (language, bundle, Fluent source).
static SOURCES: &[(&str, &str, &str)] = catalogs!("en", "nl", "de", "es", "fr", "pt");

/// A catalog the compiler refused, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not valid Fluent.
    #[error("{file}: Fluent syntax error at byte {at}: {kind}")]
    Syntax {
        /// `lang/bundle.ftl`.
        file: String,
        /// Byte offset of the error.
        at: usize,
        /// The parser's explanation.
        kind: String,
    },
    /// The file uses something the browser side does not resolve.
    #[error("{file}: message {id}: {what}")]
    Unsupported {
        /// `lang/bundle.ftl`.
        file: String,
        /// The message id.
        id: String,
        /// What is not supported.
        what: String,
    },
}

/// One part of a compiled message.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A variable's value (a number is formatted for the language).
    Var {
        /// The variable's name, without `$`.
        var: String,
    },
    /// A choice on a variable: the variant whose key equals the value (an exact number, a
    /// string), else the one of its plural category, else `default`.
    Select {
        /// The variable's name, without `$`.
        select: String,
        /// The default variant's key.
        default: String,
        /// The variants by key.
        variants: BTreeMap<String, Vec<Part>>,
    },
}

/// A compiled message: plain text, or parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// Only text.
    Text(String),
    /// Text, variables and selects.
    Parts(Vec<Part>),
}

impl Message {
    fn from_parts(parts: Vec<Part>) -> Self {
        match parts.as_slice() {
            [] => Message::Text(String::new()),
            [Part::Text(t)] => Message::Text(t.clone()),
            _ => Message::Parts(parts),
        }
    }

    /// The variables this message uses (also as selectors), sorted.
    pub fn variables(&self) -> BTreeSet<String> {
        fn walk(parts: &[Part], out: &mut BTreeSet<String>) {
            for p in parts {
                match p {
                    Part::Text(_) => {}
                    Part::Var { var } => {
                        out.insert(var.clone());
                    }
                    Part::Select {
                        select, variants, ..
                    } => {
                        out.insert(select.clone());
                        for v in variants.values() {
                            walk(v, out);
                        }
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        if let Message::Parts(p) = self {
            walk(p, &mut out);
        }
        out
    }
}

/// A catalog's messages by id (attributes as `id.attribute`).
pub type Messages = BTreeMap<String, Message>;

/// Compiles one Fluent source (`file` names it in errors).
pub fn compile(file: &str, source: &str) -> Result<Messages, CatalogError> {
    let resource = fluent_syntax::parser::parse(source).map_err(|(_, errors)| {
        let e = &errors[0];
        CatalogError::Syntax {
            file: file.to_string(),
            at: e.pos.start,
            kind: e.kind.to_string(),
        }
    })?;
    let mut messages = HashMap::new();
    let mut terms = HashMap::new();
    for entry in &resource.body {
        match entry {
            ast::Entry::Message(m) => {
                messages.insert(m.id.name, m);
            }
            ast::Entry::Term(t) => {
                terms.insert(t.id.name, t);
            }
            _ => {}
        }
    }
    let cx = Context {
        file,
        messages: &messages,
        terms: &terms,
    };
    let mut out = Messages::new();
    for m in messages.values() {
        let id = m.id.name;
        if let Some(value) = &m.value {
            out.insert(
                id.to_string(),
                Message::from_parts(cx.pattern(id, value, 0)?),
            );
        }
        for a in &m.attributes {
            out.insert(
                format!("{id}.{}", a.id.name),
                Message::from_parts(cx.pattern(id, &a.value, 0)?),
            );
        }
    }
    Ok(out)
}

struct Context<'a> {
    file: &'a str,
    messages: &'a HashMap<&'a str, &'a ast::Message<&'a str>>,
    terms: &'a HashMap<&'a str, &'a ast::Term<&'a str>>,
}

/// How deep references may nest (a cycle is refused, not followed forever).
const MAX_DEPTH: usize = 8;

impl Context<'_> {
    fn unsupported(&self, id: &str, what: impl Into<String>) -> CatalogError {
        CatalogError::Unsupported {
            file: self.file.to_string(),
            id: id.to_string(),
            what: what.into(),
        }
    }

    fn pattern(
        &self,
        id: &str,
        p: &ast::Pattern<&str>,
        depth: usize,
    ) -> Result<Vec<Part>, CatalogError> {
        if depth > MAX_DEPTH {
            return Err(self.unsupported(id, "references nest too deep (a cycle?)"));
        }
        let mut out = Vec::new();
        for el in &p.elements {
            match el {
                ast::PatternElement::TextElement { value } => push_text(&mut out, value),
                ast::PatternElement::Placeable { expression } => {
                    self.expression(id, expression, depth, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn expression(
        &self,
        id: &str,
        e: &ast::Expression<&str>,
        depth: usize,
        out: &mut Vec<Part>,
    ) -> Result<(), CatalogError> {
        match e {
            ast::Expression::Inline(i) => self.inline(id, i, depth, out),
            ast::Expression::Select { selector, variants } => {
                let ast::InlineExpression::VariableReference { id: var } = selector else {
                    return Err(self.unsupported(id, "a select must choose on a variable"));
                };
                let mut compiled = BTreeMap::new();
                let mut default = None;
                for v in variants {
                    let key = match &v.key {
                        ast::VariantKey::Identifier { name } => (*name).to_string(),
                        ast::VariantKey::NumberLiteral { value } => (*value).to_string(),
                    };
                    if v.default {
                        default = Some(key.clone());
                    }
                    compiled.insert(key, self.pattern(id, &v.value, depth + 1)?);
                }
                let default =
                    default.ok_or_else(|| self.unsupported(id, "a select has no *default"))?;
                out.push(Part::Select {
                    select: var.name.to_string(),
                    default,
                    variants: compiled,
                });
                Ok(())
            }
        }
    }

    fn inline(
        &self,
        id: &str,
        i: &ast::InlineExpression<&str>,
        depth: usize,
        out: &mut Vec<Part>,
    ) -> Result<(), CatalogError> {
        match i {
            ast::InlineExpression::StringLiteral { value } => {
                push_text(
                    out,
                    &fluent_syntax::unicode::unescape_unicode_to_string(value),
                );
            }
            ast::InlineExpression::NumberLiteral { value } => push_text(out, value),
            ast::InlineExpression::VariableReference { id: var } => out.push(Part::Var {
                var: var.name.to_string(),
            }),
            ast::InlineExpression::Placeable { expression } => {
                self.expression(id, expression, depth, out)?;
            }
            ast::InlineExpression::MessageReference {
                id: target,
                attribute,
            } => {
                let m = self
                    .messages
                    .get(target.name)
                    .ok_or_else(|| self.unsupported(id, format!("no message {}", target.name)))?;
                let p = match attribute {
                    None => m.value.as_ref(),
                    Some(a) => m
                        .attributes
                        .iter()
                        .find(|x| x.id.name == a.name)
                        .map(|x| &x.value),
                }
                .ok_or_else(|| {
                    self.unsupported(id, format!("{} has no such value", target.name))
                })?;
                for part in self.pattern(id, p, depth + 1)? {
                    push(out, part);
                }
            }
            ast::InlineExpression::TermReference {
                id: target,
                attribute,
                arguments,
            } => {
                if arguments.is_some() || attribute.is_some() {
                    return Err(self
                        .unsupported(id, "terms with arguments or attributes are not supported"));
                }
                let t = self
                    .terms
                    .get(target.name)
                    .ok_or_else(|| self.unsupported(id, format!("no term -{}", target.name)))?;
                for part in self.pattern(id, &t.value, depth + 1)? {
                    push(out, part);
                }
            }
            ast::InlineExpression::FunctionReference { id: f, .. } => {
                return Err(self.unsupported(
                    id,
                    format!("{}() is not supported: write {{ $variable }}", f.name),
                ));
            }
        }
        Ok(())
    }
}

fn push_text(out: &mut Vec<Part>, text: &str) {
    if let Some(Part::Text(t)) = out.last_mut() {
        t.push_str(text);
    } else if !text.is_empty() {
        out.push(Part::Text(text.to_string()));
    }
}

fn push(out: &mut Vec<Part>, part: Part) {
    match part {
        Part::Text(t) => push_text(out, &t),
        other => out.push(other),
    }
}

/// Every catalog of `bundle` compiled, by language.
pub fn catalogs(bundle: &str) -> Result<BTreeMap<&'static str, Messages>, CatalogError> {
    SOURCES
        .iter()
        .filter(|(_, b, _)| *b == bundle)
        .map(|(lang, b, src)| Ok((*lang, compile(&format!("{lang}/{b}.ftl"), src)?)))
        .collect()
}

/// The language served for tags in order of preference: the first tag served as written
/// (case-insensitive, `_` read as `-`) or as its primary language, else English.
pub fn negotiate<'a>(tags: impl IntoIterator<Item = &'a str>) -> &'static str {
    for tag in tags {
        let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
        let primary = tag.split('-').next().unwrap_or_default();
        for want in [tag.as_str(), primary] {
            if let Some(l) = LANGUAGES.iter().find(|l| **l == want) {
                return l;
            }
        }
    }
    LANGUAGES[0]
}

/// `own` completed with English's messages it lacks, and the ids of those (sorted).
pub fn with_fallback(en: &Messages, own: Messages) -> (Messages, Vec<String>) {
    let fallback = en
        .keys()
        .filter(|id| !own.contains_key(*id))
        .cloned()
        .collect();
    let mut messages = en.clone();
    messages.extend(own);
    (messages, fallback)
}

#[derive(Serialize)]
struct Served<'a> {
    bundle: &'a str,
    language: &'a str,
    languages: &'a [&'a str],
    fallback: Vec<String>,
    messages: &'a Messages,
}

/// A bundle in one language as served: the JSON, its gzip form and its ETag.
pub struct Compiled {
    /// The JSON.
    pub json: String,
    gz: Vec<u8>,
    etag: String,
}

/// The JSON of `bundle` in `language` (English where it lacks a message), compiled once.
/// `None` for an unknown bundle or language.
pub fn served(bundle: &str, language: &str) -> Option<Result<&'static Compiled, String>> {
    type All = Result<HashMap<(&'static str, &'static str), Compiled>, String>;
    static ALL: OnceLock<All> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let mut all = HashMap::new();
        for b in BUNDLES {
            let mut catalogs = catalogs(b).map_err(|e| e.to_string())?;
            let en = catalogs.remove("en").unwrap_or_default();
            for lang in LANGUAGES {
                let own = match *lang {
                    "en" => en.clone(),
                    _ => catalogs.remove(lang).unwrap_or_default(),
                };
                let (messages, fallback) = with_fallback(&en, own);
                let json = serde_json::to_string(&Served {
                    bundle: b,
                    language: lang,
                    languages: LANGUAGES,
                    fallback,
                    messages: &messages,
                })
                .map_err(|e| e.to_string())?;
                let gz = crate::assets::gzip(json.as_bytes());
                let etag = crate::assets::fingerprint(json.as_bytes());
                all.insert((*b, *lang), Compiled { json, gz, etag });
            }
        }
        Ok(all)
    });
    match all {
        Err(e) => Some(Err(e.clone())),
        Ok(all) => {
            let b = BUNDLES.iter().find(|b| **b == bundle)?;
            let l = LANGUAGES.iter().find(|l| **l == language)?;
            all.get(&(*b, *l)).map(Ok)
        }
    }
}

/// At most this many tags of a request are looked at.
const MAX_TAGS: usize = 12;

async fn serve(Path((bundle, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(tags) = file.strip_suffix(".json") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let lang = negotiate(tags.split(',').take(MAX_TAGS));
    let c = match served(&bundle, lang) {
        None => return StatusCode::NOT_FOUND.into_response(),
        Some(Err(e)) => {
            tracing::error!(error = %e, "a language catalog does not compile");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Ok(c)) => c,
    };
    let etag = HeaderValue::from_str(&c.etag).expect("a quoted hex string is a header value");
    let common = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ),
        (header::VARY, HeaderValue::from_static("Accept-Encoding")),
        // The widget fetches its texts from other sites' pages.
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
        (header::CONTENT_LANGUAGE, HeaderValue::from_static(lang)),
    ];
    if headers.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut res = if gzip_ok {
        (
            [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            c.gz.clone(),
        )
            .into_response()
    } else {
        c.json.clone().into_response()
    };
    let h = res.headers_mut();
    for (k, v) in common {
        h.insert(k, v);
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// `GET /i18n/{bundle}/{languages}.json`: public, cached five minutes, with an ETag.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/i18n/{bundle}/{file}", get(serve))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn all() -> BTreeMap<&'static str, BTreeMap<&'static str, Messages>> {
        BUNDLES
            .iter()
            .map(|b| (*b, catalogs(b).unwrap_or_else(|e| panic!("{e}"))))
            .collect()
    }

    #[test]
    fn every_language_has_every_english_message_with_the_same_variables() {
        for (bundle, langs) in all() {
            let en = &langs["en"];
            assert!(!en.is_empty(), "{bundle}: English has messages");
            for lang in LANGUAGES {
                let own = langs
                    .get(lang)
                    .unwrap_or_else(|| panic!("{lang}/{bundle}.ftl"));
                for (id, m) in en {
                    let theirs = own
                        .get(id)
                        .unwrap_or_else(|| panic!("{lang}/{bundle}.ftl lacks {id}"));
                    assert_eq!(
                        theirs.variables(),
                        m.variables(),
                        "{lang}/{bundle}.ftl: {id} uses other variables than English"
                    );
                }
                for id in own.keys() {
                    assert!(
                        en.contains_key(id),
                        "{lang}/{bundle}.ftl: {id} is not in English"
                    );
                }
            }
        }
    }

    #[test]
    fn every_select_has_its_default_variant() {
        fn check(parts: &[Part], what: &str) {
            for p in parts {
                if let Part::Select {
                    default, variants, ..
                } = p
                {
                    assert!(variants.contains_key(default), "{what}: default {default}");
                    for v in variants.values() {
                        check(v, what);
                    }
                }
            }
        }
        for (bundle, langs) in all() {
            for (lang, messages) in langs {
                for (id, m) in messages {
                    if let Message::Parts(p) = m {
                        check(&p, &format!("{lang}/{bundle}: {id}"));
                    }
                }
            }
        }
    }

    #[test]
    fn a_plural_message_compiles_to_a_select_with_its_variants() {
        let src = "-app = deflect\n\
                   count = { $n ->\n    [0] No conversations\n    [one] { $n } conversation\n   *[other] { $n } conversations\n} in { -app }\n\
                   search = Search\n    .placeholder = Name, number{\" \"}or text\n";
        let m = compile("test.ftl", src).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_value(&m).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "count": [
                    {"select": "n", "default": "other", "variants": {
                        "0": ["No conversations"],
                        "one": [{"var": "n"}, " conversation"],
                        "other": [{"var": "n"}, " conversations"],
                    }},
                    " in deflect"
                ],
                "search": "Search",
                "search.placeholder": "Name, number or text",
            })
        );
        assert_eq!(m["count"].variables(), BTreeSet::from(["n".to_string()]));
    }

    #[test]
    fn functions_and_a_select_without_default_are_refused() {
        let e = compile("t.ftl", "a = { NUMBER($n) }\n");
        assert!(
            matches!(e, Err(CatalogError::Unsupported { ref id, .. }) if id == "a"),
            "{e:?}"
        );
        let e = compile("t.ftl", "a = { $n ->\n  [one] x\n  [other] y\n}\n");
        assert!(
            e.is_err(),
            "a select without a default variant is not Fluent"
        );
        let e = compile("t.ftl", "a = { b }\nb = { a }\n");
        assert!(matches!(e, Err(CatalogError::Unsupported { .. })), "{e:?}");
    }

    #[test]
    fn a_language_lacking_a_message_gets_the_english_one_and_says_so() {
        let en = compile("en.ftl", "a = One\nb = Two\n").unwrap_or_else(|e| panic!("{e}"));
        let nl = compile("nl.ftl", "a = Een\n").unwrap_or_else(|e| panic!("{e}"));
        let (messages, fallback) = with_fallback(&en, nl);
        assert_eq!(messages["a"], Message::Text("Een".into()));
        assert_eq!(messages["b"], Message::Text("Two".into()));
        assert_eq!(fallback, ["b"]);
    }

    #[test]
    fn negotiation_tries_the_tag_then_its_primary_language_then_english() {
        assert_eq!(negotiate(["nl"]), "nl");
        assert_eq!(negotiate(["pt-BR"]), "pt");
        assert_eq!(negotiate(["DE_at"]), "de");
        assert_eq!(negotiate(["xx-YY", "fr-CA", "nl"]), "fr");
        assert_eq!(negotiate(["xx", ""]), "en");
        assert_eq!(negotiate([]), "en");
    }

    async fn get(uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = routes::<()>()
            .oneshot(req.body(Body::empty()).unwrap_or_default())
            .await
            .unwrap_or_else(|e| match e {});
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (status, headers, body)
    }

    #[tokio::test]
    async fn the_route_serves_the_negotiated_language_with_english_fallback() {
        let (status, headers, body) = get("/i18n/widget/xx,pt-BR.json", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_LANGUAGE], "pt");
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=300");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let j: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(j["bundle"], "widget");
        assert_eq!(j["language"], "pt");
        let en = catalogs("widget").unwrap_or_else(|e| panic!("{e}"));
        let served = j["messages"].as_object().cloned().unwrap_or_default();
        assert_eq!(served.len(), en["en"].len(), "every English id is served");
        assert_ne!(
            serde_json::to_value(&en["en"]).unwrap_or_default(),
            j["messages"],
            "Portuguese, not English"
        );

        let (_, _, body) = get("/i18n/inbox/tlh.json", &[]).await;
        let j: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(j["language"], "en");
        assert_eq!(
            j["fallback"],
            serde_json::json!([]),
            "English lacks nothing"
        );

        let etag = headers[header::ETAG]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let (status, _, body) = get(
            "/i18n/widget/pt.json",
            &[("if-none-match", &etag), ("accept-encoding", "gzip")],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_MODIFIED,
            "the same text, the same ETag"
        );
        assert!(body.is_empty());

        for bad in ["/i18n/other/en.json", "/i18n/inbox/en.txt"] {
            assert_eq!(get(bad, &[]).await.0, StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
