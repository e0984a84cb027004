//! The REST API, `/api/v1/…`: JSON in and out, errors as `{"error": {"code", "message"}}`
//! ([`crate::error`]). Callers authenticate with the inbox's session (cookie + CSRF token)
//! or an API token (`Authorization: Bearer dfk_…`); both act as an agent, with that agent's
//! access. The operations are listed in [`operations`] and described by the OpenAPI 3 file
//! served at `/api/openapi.json` (a test keeps the two equal).
//!
//! This module routes; the handlers live by resource: `agents` (`me`, presence, queues,
//! agents), `calls` (calls' records, JSON and CSV), `phone` (the softphone), `conversations` (the list, messages and agents' actions), `attachments` (the
//! files customers send), `export` (CSV and transcripts), `canned` (canned answers), `lists` (the whitelist and the FAQ admins manage), `settings` (the
//! automations, sites' texts and queues admins override), `webhooks` (the outgoing webhook endpoints admins manage),
//! `supervision` (the board and API tokens), `reports` (the supervisors' reports, JSON, CSV and
//! their charts drawn by `charts`), `templates` (the message templates agents send),
//! `handoff` (web → WhatsApp), `contacts` (the contact card, labels) and `sandbox` (the
//! sandbox phone).

mod agents;
pub(crate) mod attachments;
mod calls;
mod canned;
mod charts;
mod contacts;
mod conversations;
mod export;
mod handoff;
mod lists;
mod phone;
mod reports;
mod sandbox;
mod settings;
mod supervision;
mod templates;
mod webhooks;

use crate::AppState;
use crate::error::ApiError;
use axum::extract::Query;
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on};
use axum::{Json, Router};

/// The OpenAPI 3 description of this API.
pub const OPENAPI: &str = include_str!("../../openapi.json");

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;
type QueryOf<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

struct Routes {
    router: Router<AppState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn on<H, T>(mut self, method: &'static str, path: &'static str, h: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PUT" => MethodFilter::PUT,
            "PATCH" => MethodFilter::PATCH,
            "DELETE" => MethodFilter::DELETE,
            other => unreachable!("no routes use {other}"),
        };
        self.router = self.router.route(path, on(filter, h));
        self.table.push((method, path));
        self
    }
}

fn build() -> Routes {
    Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .on("GET", "/api/v1/session", crate::auth::current)
    .on("POST", "/api/v1/session", crate::auth::login)
    .on("DELETE", "/api/v1/session", crate::auth::logout)
    .on("GET", "/api/v1/events", crate::live::events)
    .on("GET", "/api/v1/me", agents::me)
    .on("PUT", "/api/v1/me/presence", agents::presence)
    .on("PUT", "/api/v1/me/preferences", agents::preferences)
    .on("GET", "/api/v1/queues", agents::queues)
    .on("GET", "/api/v1/agents", agents::agents)
    .on("POST", "/api/v1/agents", agents::create_agent)
    .on("PATCH", "/api/v1/agents/{id}", agents::update_agent)
    .on("GET", "/api/v1/calls", calls::list)
    .on("GET", "/api/v1/phone", phone::phone)
    .on("POST", "/api/v1/phone/calls/{id}/answer", phone::answer)
    .on("POST", "/api/v1/phone/calls/{id}/decline", phone::decline)
    .on("POST", "/api/v1/phone/calls/{id}/hold", phone::hold)
    .on("POST", "/api/v1/phone/calls/{id}/hangup", phone::hang_up)
    .on("POST", "/api/v1/conversations/{id}/call", phone::place)
    .on("GET", "/api/v1/exports/calls.csv", calls::export_csv)
    .on("GET", "/api/v1/conversations", conversations::list)
    .on("GET", "/api/v1/conversations/counts", conversations::counts)
    .on(
        "GET",
        "/api/v1/exports/conversations.csv",
        export::export_csv,
    )
    .on(
        "GET",
        "/api/v1/conversations/{id}",
        conversations::conversation,
    )
    .on(
        "GET",
        "/api/v1/conversations/{id}/messages",
        conversations::messages,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/messages",
        conversations::send,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/attachments",
        attachments::upload,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/recontact",
        conversations::recontact,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/notes",
        conversations::note,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/accept",
        conversations::accept,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/reject",
        conversations::reject,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/read",
        conversations::read,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/claim",
        conversations::claim,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/transfer",
        conversations::transfer,
    )
    .on(
        "POST",
        "/api/v1/conversations/{id}/close",
        conversations::close,
    )
    .on(
        "GET",
        "/api/v1/conversations/{id}/transcript",
        export::transcript,
    )
    .on(
        "GET",
        "/api/v1/conversations/{id}/contact",
        contacts::contact,
    )
    .on(
        "PUT",
        "/api/v1/conversations/{id}/labels/{label}",
        contacts::add_label,
    )
    .on(
        "DELETE",
        "/api/v1/conversations/{id}/labels/{label}",
        contacts::remove_label,
    )
    .on("GET", "/api/v1/labels", contacts::labels)
    .on(
        "GET",
        "/api/v1/attachments/{token}",
        attachments::attachment,
    )
    .on("GET", "/api/v1/canned-answers", canned::canned)
    .on("POST", "/api/v1/canned-answers", canned::create_canned)
    .on("PUT", "/api/v1/canned-answers/{id}", canned::update_canned)
    .on(
        "DELETE",
        "/api/v1/canned-answers/{id}",
        canned::delete_canned,
    )
    .on(
        "GET",
        "/api/v1/canned-answers/{id}/text",
        canned::canned_text,
    )
    .on("GET", "/api/v1/templates", templates::templates)
    .on("POST", "/api/v1/templates/refresh", templates::refresh)
    .on("GET", "/api/v1/board", supervision::board)
    .on("GET", "/api/v1/reports/csat", supervision::csat_report)
    // The supervisors' reports over a period (`from`, `to`: RFC 3339), JSON or CSV.
    .on("GET", "/api/v1/reports/queues", reports::queues)
    .on("GET", "/api/v1/reports/queues.csv", reports::queues_csv)
    .on("GET", "/api/v1/reports/agents", reports::agents)
    .on("GET", "/api/v1/reports/agents.csv", reports::agents_csv)
    .on("GET", "/api/v1/reports/deflections", reports::deflections)
    .on(
        "GET",
        "/api/v1/reports/deflections.csv",
        reports::deflections_csv,
    )
    .on(
        "GET",
        "/api/v1/reports/charts/volume.svg",
        reports::volume_chart,
    )
    .on(
        "GET",
        "/api/v1/reports/charts/wait.svg",
        reports::wait_chart,
    )
    .on("GET", "/api/v1/tokens", supervision::tokens)
    .on("POST", "/api/v1/tokens", supervision::create_token)
    .on("DELETE", "/api/v1/tokens/{id}", supervision::revoke_token)
    // The lists admins manage beside the configuration.
    .on("GET", "/api/v1/whitelist", lists::whitelist)
    .on("POST", "/api/v1/whitelist", lists::add_whitelist_entry)
    .on(
        "DELETE",
        "/api/v1/whitelist/{id}",
        lists::delete_whitelist_entry,
    )
    .on("GET", "/api/v1/faq", lists::faq)
    .on("POST", "/api/v1/faq", lists::add_faq_entry)
    .on("PUT", "/api/v1/faq/{id}", lists::update_faq_entry)
    .on("DELETE", "/api/v1/faq/{id}", lists::delete_faq_entry)
    // The settings admins override over the configuration file's.
    .on("GET", "/api/v1/settings", settings::all)
    .on("GET", "/api/v1/settings/{scope}", settings::one)
    .on("PUT", "/api/v1/settings/{scope}", settings::put)
    .on("DELETE", "/api/v1/settings/{scope}", settings::delete)
    // The outgoing webhook endpoints admins manage beside the configuration.
    .on("GET", "/api/v1/webhooks", webhooks::webhooks)
    .on("POST", "/api/v1/webhooks", webhooks::add_webhook)
    .on("PATCH", "/api/v1/webhooks/{id}", webhooks::update_webhook)
    .on("DELETE", "/api/v1/webhooks/{id}", webhooks::delete_webhook)
    .on(
        "POST",
        "/api/v1/deflections/whatsapp",
        handoff::deflect_whatsapp,
    )
    .on("GET", "/api/v1/sandbox/accounts", sandbox::sandbox_accounts)
    .on(
        "GET",
        "/api/v1/sandbox/{account}/{number}/messages",
        sandbox::sandbox_messages,
    )
    .on(
        "POST",
        "/api/v1/sandbox/{account}/{number}/messages",
        sandbox::sandbox_reply,
    )
}

pub(crate) fn routes() -> Router<AppState> {
    build()
        .router
        .route("/api/openapi.json", get(openapi))
        // Outside the API: the provider fetching a sent file by its signed link.
        .route(
            &format!("{}{{token}}", deflect_chat::blobs::MEDIA_PATH),
            get(attachments::linked),
        )
}

/// Every API operation as (method, path template), in the order routed.
pub fn operations() -> Vec<(&'static str, &'static str)> {
    build().table
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The answer for paths nothing serves.
pub(crate) async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such endpoint; see /api/openapi.json",
    )
}
