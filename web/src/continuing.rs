//! The continue link of the SMS fallback: `GET /continue/{id}?expires=…&signature=…` is a
//! page offering to continue the conversation here (in the browser) or on WhatsApp; it
//! checks the link and spends nothing, so a link previewer opening it changes nothing.
//! Its "Continue here" button (`continue.js`) posts to the same address with the visitor's
//! token in the `X-Deflect-Visitor` header: the conversation moves to the account's widget
//! site for that browser (answered `{"site", "conversation_id", "reference"}`), and the
//! widget opens on it with its history. A link that is not the gateway's or has expired
//! answers 403, a closed conversation 409 — as a page to the browser, as JSON to the post.
//! Both count against the widget's rate limit per client address.

use crate::AppState;
use crate::assets::{escape_html, html};
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use deflect_chat::ChatError;
use serde::Deserialize;
use serde_json::json;

/// The page, with `{{body}}` to fill in.
const PAGE: &str = include_str!("../assets/continue.html");

/// A continue link's query.
#[derive(Deserialize)]
struct Signed {
    #[serde(default)]
    expires: String,
    #[serde(default)]
    signature: String,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/continue/{id}", get(page).post(attach))
}

async fn page(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<i64>,
    Query(q): Query<Signed>,
) -> Response {
    if let Err(e) = crate::widget::within_rate(&state, &parts) {
        return e.into_response();
    }
    let body = match state
        .inbox
        .continue_offer(id, &q.expires, &q.signature)
        .await
    {
        Ok(offer) => {
            let whatsapp = offer.whatsapp_url.map_or_else(String::new, |url| {
                format!(
                    "<p><a class=\"button\" href=\"{}\" data-i18n=\"continue-whatsapp\">Continue on WhatsApp</a></p>",
                    escape_html(&url)
                )
            });
            let reference = escape_html(&offer.reference);
            format!(
                "<div id=\"offer\">\n<p data-i18n=\"continue-intro\" data-i18n-args='{{\"reference\": \"{reference}\"}}'>\
                 We could not reach you on WhatsApp. Your reference is {reference}.</p>\n\
                 <p><button id=\"continue-here\" type=\"button\" data-i18n=\"continue-here\">Continue here</button></p>\n\
                 {whatsapp}\n<p id=\"continue-error\" class=\"err\" role=\"alert\"></p>\n</div>"
            )
        }
        Err(e) => {
            let (status, id, text) = refusal(&e);
            let page = PAGE.replace("{{body}}", &format!("<p data-i18n=\"{id}\">{text}</p>"));
            return html(status, page, "no-referrer");
        }
    };
    html(
        StatusCode::OK,
        PAGE.replace("{{body}}", &body),
        "no-referrer",
    )
}

/// Why a continue link opens nothing: status, text id and English text.
fn refusal(e: &ChatError) -> (StatusCode, &'static str, &'static str) {
    match e {
        ChatError::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "continue-expired",
            "This link has expired or is not valid. Reply to our message or call us again.",
        ),
        ChatError::NotFound("conversation") | ChatError::Conflict(_) => (
            StatusCode::CONFLICT,
            "continue-ended",
            "This conversation has ended.",
        ),
        ChatError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "continue-unavailable",
            "This page is not available; reply to our message or call us again.",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "continue-later",
            "This page is not available right now; try again in a minute.",
        ),
    }
}

async fn attach(
    State(state): State<AppState>,
    parts: Parts,
    Path(id): Path<i64>,
    Query(q): Query<Signed>,
) -> ApiResult<Response> {
    crate::widget::within_rate(&state, &parts)?;
    let visitor = crate::widget::visitor_token(&parts.headers)?;
    let link = (q.expires.as_str(), q.signature.as_str());
    let (offer, c) = state
        .inbox
        .continue_on_web(id, link, &visitor)
        .await
        .map_err(ApiError::from)?;
    let answer = json!({ "site": offer.site, "conversation_id": c.id, "reference": c.reference });
    Ok(Json(answer).into_response())
}
