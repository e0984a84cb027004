//! The REST API, `/api/v1/…`: JSON in and out, errors as `{"error": {"code", "message"}}`
//! ([`crate::error`]). Callers authenticate with the inbox's session (cookie + CSRF token)
//! or an API token (`Authorization: Bearer dfk_…`); both act as an agent, with that agent's
//! access. The operations are listed in [`operations`] and described by the OpenAPI 3 file
//! served at `/api/openapi.json` (a test keeps the two equal).

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::extract::{Path, Query, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on};
use axum::{Json, Router};
use deflect_chat::{
    Channel, ConversationFilter, Message, NewAgent, NewCannedAnswer, NewHandoff, Origin, Presence,
    Role, SandboxReply, Status,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The OpenAPI 3 description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

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
    .on("GET", "/api/v1/me", me)
    .on("PUT", "/api/v1/me/presence", presence)
    .on("GET", "/api/v1/queues", queues)
    .on("GET", "/api/v1/agents", agents)
    .on("POST", "/api/v1/agents", create_agent)
    .on("PATCH", "/api/v1/agents/{id}", update_agent)
    .on("GET", "/api/v1/conversations", list)
    .on("GET", "/api/v1/exports/conversations.csv", export_csv)
    .on("GET", "/api/v1/conversations/{id}", conversation)
    .on("GET", "/api/v1/conversations/{id}/messages", messages)
    .on("POST", "/api/v1/conversations/{id}/messages", send)
    .on("POST", "/api/v1/conversations/{id}/recontact", recontact)
    .on("POST", "/api/v1/conversations/{id}/notes", note)
    .on("POST", "/api/v1/conversations/{id}/accept", accept)
    .on("POST", "/api/v1/conversations/{id}/reject", reject)
    .on("POST", "/api/v1/conversations/{id}/claim", claim)
    .on("POST", "/api/v1/conversations/{id}/transfer", transfer)
    .on("POST", "/api/v1/conversations/{id}/close", close)
    .on("GET", "/api/v1/conversations/{id}/transcript", transcript)
    .on("GET", "/api/v1/canned-answers", canned)
    .on("POST", "/api/v1/canned-answers", create_canned)
    .on("PUT", "/api/v1/canned-answers/{id}", update_canned)
    .on("DELETE", "/api/v1/canned-answers/{id}", delete_canned)
    .on("GET", "/api/v1/canned-answers/{id}/text", canned_text)
    .on("GET", "/api/v1/board", board)
    .on("GET", "/api/v1/tokens", tokens)
    .on("POST", "/api/v1/tokens", create_token)
    .on("DELETE", "/api/v1/tokens/{id}", revoke_token)
    .on("POST", "/api/v1/deflections/whatsapp", deflect_whatsapp)
    .on("GET", "/api/v1/sandbox/accounts", sandbox_accounts)
    .on(
        "GET",
        "/api/v1/sandbox/{account}/{number}/messages",
        sandbox_messages,
    )
    .on(
        "POST",
        "/api/v1/sandbox/{account}/{number}/messages",
        sandbox_reply,
    )
}

pub(crate) fn routes() -> Router<AppState> {
    build().router.route("/api/openapi.json", get(openapi))
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

// ------------------------------------------------------------------ agents

async fn me(p: Principal) -> Json<Value> {
    Json(json!({ "agent": p.agent }))
}

#[derive(Deserialize)]
struct PresenceBody {
    presence: Presence,
}

async fn presence(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<PresenceBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    s.inbox.set_presence(p.agent.id, b.presence).await?;
    Ok(Json(json!({ "agent": s.inbox.agent(p.agent.id).await? })))
}

async fn queues(State(s): State<AppState>, _p: Principal) -> Json<Value> {
    let q: Vec<Value> = s
        .inbox
        .settings()
        .inbox
        .queues
        .iter()
        .map(|q| json!({ "name": q.name, "dispositions": q.dispositions, "disposition_required": q.disposition_required }))
        .collect();
    let accounts: Vec<Value> = s
        .inbox
        .settings()
        .whatsapp
        .accounts
        .iter()
        .map(|a| json!({ "name": a.name, "provider": a.provider, "business_number": a.business_number }))
        .collect();
    Json(json!({ "queues": q, "accounts": accounts }))
}

async fn agents(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "agents": s.inbox.colleagues(&p.viewer).await? }),
    ))
}

fn admin(p: &Principal) -> ApiResult<()> {
    if p.viewer.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins manage agents",
        ))
    }
}

#[derive(Deserialize)]
struct NewAgentBody {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    role: Role,
    #[serde(default)]
    queues: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
}

async fn create_agent(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewAgentBody>,
) -> ApiResult<Response> {
    admin(&p)?;
    let Json(b) = body?;
    let a = s
        .inbox
        .create_agent(NewAgent {
            username: b.username,
            display_name: b.display_name,
            password: b.password,
            role: b.role,
            queues: b.queues,
            accounts: b.accounts,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "agent": a }))).into_response())
}

#[derive(Deserialize)]
struct AgentChange {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    queues: Option<Vec<String>>,
    #[serde(default)]
    accounts: Option<Vec<String>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    password: Option<String>,
}

async fn update_agent(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<AgentChange>,
) -> ApiResult<Json<Value>> {
    admin(&p)?;
    let Json(b) = body?;
    // Everything the inbox may refuse first (unknown queues or accounts, a short password,
    // then the last admin), so that a refusal changes nothing.
    s.inbox.check_agent_change(
        b.queues.as_deref(),
        b.accounts.as_deref(),
        b.password.as_deref(),
    )?;
    if let Some(role) = b.role {
        s.inbox.set_role(Some(&p.viewer), id, role).await?;
    }
    if let Some(d) = b.disabled {
        s.inbox.set_disabled(id, d).await?;
    }
    let current = s.inbox.agent(id).await?;
    if b.queues.is_some() || b.accounts.is_some() {
        let q = b.queues.unwrap_or(current.queues);
        let a = b.accounts.unwrap_or(current.accounts);
        s.inbox.set_memberships(id, &q, &a).await?;
    }
    if let Some(pw) = &b.password {
        s.inbox.set_password(id, pw).await?;
    }
    Ok(Json(json!({ "agent": s.inbox.agent(id).await? })))
}

// ------------------------------------------------------------------ conversations

/// Filters of `GET /api/v1/conversations` and the CSV export.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// Comma-separated statuses.
    status: Option<String>,
    channel: Option<Channel>,
    origin: Option<Origin>,
    queue: Option<String>,
    agent_id: Option<i64>,
    account: Option<String>,
    /// Created at or after (ms since the epoch).
    from: Option<i64>,
    /// Created before (ms).
    to: Option<i64>,
    /// Text search.
    q: Option<String>,
    before_id: Option<i64>,
    limit: Option<u32>,
}

impl ListQuery {
    fn filter(&self) -> ApiResult<ConversationFilter> {
        let mut status = Vec::new();
        for s in self
            .status
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            status.push(Status::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown status {s:?}; valid: pending, queued, offered, assigned, closed"
                ))
            })?);
        }
        Ok(ConversationFilter {
            status,
            channel: self.channel,
            origin: self.origin,
            queue: self.queue.clone(),
            agent_id: self.agent_id,
            account: self.account.clone(),
            created_from: self.from,
            created_to: self.to,
            text: self.q.clone(),
            before_id: self.before_id,
            limit: self.limit,
        })
    }
}

async fn list(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<ListQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let f = q.filter()?;
    let limit = f.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let list = s.inbox.list_conversations(&p.viewer, &f).await?;
    let next = if list.len() == limit {
        list.last().map(|c| c.id)
    } else {
        None
    };
    Ok(Json(
        json!({ "conversations": list, "next_before_id": next }),
    ))
}

fn time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One CSV cell, quoted; cells a spreadsheet would run as a formula get a leading `'`.
fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The filtered list as CSV, every page (at most 100,000 rows). Written by hand: quoting
/// every cell is all RFC 4180 needs, and the formula guard is ours either way.
async fn export_csv(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<ListQuery>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let mut f = q.filter()?;
    f.limit = Some(1000);
    let mut out = String::from(
        "id,reference,created_at,status,channel,origin,queue,agent_id,customer_name,customer_phone,account,disposition,closed_at\r\n",
    );
    let mut rows = 0;
    loop {
        let page = s.inbox.list_conversations(&p.viewer, &f).await?;
        for c in &page {
            let fields = [
                c.id.to_string(),
                c.reference.clone(),
                time(c.created_at),
                c.status.as_str().into(),
                c.channel.as_str().into(),
                c.origin.as_str().into(),
                c.queue.clone(),
                c.agent_id.map(|a| a.to_string()).unwrap_or_default(),
                c.contact_name.clone().unwrap_or_default(),
                c.contact_phone.clone().unwrap_or_default(),
                c.account.clone().unwrap_or_default(),
                c.disposition.clone().unwrap_or_default(),
                c.closed_at.map(time).unwrap_or_default(),
            ];
            out.push_str(&fields.iter().map(|x| cell(x)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        rows += page.len();
        match page.last() {
            Some(last) if page.len() == 1000 && rows < 100_000 => f.before_id = Some(last.id),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"conversations.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

async fn conversation(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "conversation": s.inbox.conversation(&p.viewer, id).await? }),
    ))
}

#[derive(Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<u32>,
}

async fn messages(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    q: QueryOf<Page>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let m = s
        .inbox
        .messages(&p.viewer, id, q.after, q.limit.unwrap_or(500))
        .await?;
    Ok(Json(json!({ "messages": m })))
}

#[derive(Deserialize)]
struct SendBody {
    text: String,
    #[serde(default)]
    client_key: Option<String>,
}

fn created(m: Message) -> Response {
    (StatusCode::CREATED, Json(json!({ "message": m }))).into_response()
}

async fn send(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<SendBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    match s
        .inbox
        .send_text(&p.viewer, id, &b.text, b.client_key.as_deref())
        .await
    {
        Ok(m) => Ok(created(m)),
        Err(deflect_chat::ChatError::OutsideWindow { recontact_template }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "outside_window",
            format!(
                "WhatsApp delivers free text only within 24 hours of the customer's last message; \
                 send the recontact template {recontact_template:?} (POST …/recontact) and write once they answer"
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
struct KeyBody {
    #[serde(default)]
    client_key: Option<String>,
}

async fn recontact(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: Option<Json<KeyBody>>,
) -> ApiResult<Response> {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    Ok(created(
        s.inbox
            .send_recontact(&p.viewer, id, b.client_key.as_deref())
            .await?,
    ))
}

#[derive(Deserialize)]
struct NoteBody {
    text: String,
}

async fn note(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<NoteBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    Ok(created(s.inbox.add_note(&p.viewer, id, &b.text).await?))
}

async fn accept(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    // An offer the agent cannot see does not exist for them.
    s.inbox.conversation(&p.viewer, id).await?;
    Ok(Json(
        json!({ "conversation": s.inbox.accept_offer(p.agent.id, id).await? }),
    ))
}

async fn reject(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.conversation(&p.viewer, id).await?;
    s.inbox.reject_offer(p.agent.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn claim(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "conversation": s.inbox.claim(&p.viewer, id).await? }),
    ))
}

#[derive(Deserialize)]
struct TransferBody {
    #[serde(default)]
    agent_id: Option<i64>,
    #[serde(default)]
    queue: Option<String>,
}

async fn transfer(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<TransferBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    let c = match (b.agent_id, b.queue) {
        (Some(a), None) => s.inbox.transfer_to_agent(&p.viewer, id, a).await?,
        (None, Some(q)) => s.inbox.transfer_to_queue(&p.viewer, id, &q).await?,
        _ => return Err(ApiError::bad_request("give either agent_id or queue")),
    };
    Ok(Json(json!({ "conversation": c })))
}

#[derive(Deserialize, Default)]
struct CloseBody {
    #[serde(default)]
    disposition: Option<String>,
}

async fn close(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: Option<Json<CloseBody>>,
) -> ApiResult<Json<Value>> {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    Ok(Json(
        json!({ "conversation": s.inbox.close(&p.viewer, id, b.disposition.as_deref()).await? }),
    ))
}

async fn transcript(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let d = s.inbox.conversation(&p.viewer, id).await?;
    let c = &d.conversation;
    let names: std::collections::HashMap<i64, String> = s
        .inbox
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    let mut out = format!(
        "Conversation {} ({}, {}), begun {}\r\nCustomer: {} {}\r\n",
        c.reference,
        c.origin.as_str(),
        c.channel.as_str(),
        time(c.created_at),
        c.contact_name.as_deref().unwrap_or("(no name)"),
        c.contact_phone.as_deref().unwrap_or(""),
    );
    if let Some(call) = &d.call {
        out.push_str(&format!(
            "Call: from {} to {}, {} s, {} input{}\r\n",
            call.caller.as_deref().unwrap_or("unknown"),
            call.dialled_number.as_deref().unwrap_or("unknown"),
            (call.ended_at - call.started_at) / 1000,
            call.input_method.as_str(),
            call.transcript
                .as_deref()
                .map(|t| format!(", said: {t}"))
                .unwrap_or_default(),
        ));
    }
    out.push_str("\r\n");
    let mut after = None;
    loop {
        let page = s.inbox.messages(&p.viewer, id, after, 1000).await?;
        for m in &page {
            let who = match (m.direction, m.agent_id) {
                (deflect_chat::Direction::In, _) => "Customer".to_string(),
                (_, Some(a)) => names
                    .get(&a)
                    .cloned()
                    .unwrap_or_else(|| format!("agent {a}")),
                _ => "System".to_string(),
            };
            let note = if m.internal { " (internal note)" } else { "" };
            out.push_str(&format!(
                "[{}] {who}{note}: {}\r\n",
                time(m.created_at),
                m.body.as_deref().unwrap_or("")
            ));
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.id),
            _ => break,
        }
    }
    if let Some(d) = &c.disposition {
        out.push_str(&format!(
            "\r\nClosed {} ({d})\r\n",
            c.closed_at.map(time).unwrap_or_default()
        ));
    }
    let disposition = format!("attachment; filename=\"conversation-{}.txt\"", c.reference);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}

// ------------------------------------------------------------------ canned answers

#[derive(Deserialize)]
struct CannedQuery {
    conversation_id: Option<i64>,
}

async fn canned(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<CannedQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let account = match q.conversation_id {
        Some(id) => {
            s.inbox
                .conversation(&p.viewer, id)
                .await?
                .conversation
                .account
        }
        None => None,
    };
    Ok(Json(
        json!({ "canned_answers": s.inbox.canned_answers(&p.viewer, account.as_deref()).await? }),
    ))
}

async fn create_canned(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewCannedAnswer>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let c = s.inbox.create_canned_answer(&p.viewer, &b).await?;
    Ok((StatusCode::CREATED, Json(json!({ "canned_answer": c }))).into_response())
}

async fn update_canned(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<NewCannedAnswer>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    Ok(Json(
        json!({ "canned_answer": s.inbox.update_canned_answer(&p.viewer, id, &b).await? }),
    ))
}

async fn delete_canned(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.delete_canned_answer(&p.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TextQuery {
    conversation_id: i64,
}

async fn canned_text(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    q: QueryOf<TextQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    Ok(Json(
        json!({ "text": s.inbox.render_canned_answer(&p.viewer, id, q.conversation_id).await? }),
    ))
}

// ------------------------------------------------------------------ supervision, tokens

async fn board(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "board": s.inbox.board(&p.viewer).await? })))
}

async fn tokens(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "tokens": s.inbox.api_tokens(&p.viewer).await? }),
    ))
}

#[derive(Deserialize)]
struct NewTokenBody {
    agent_id: i64,
    name: String,
}

async fn create_token(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<NewTokenBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let (t, secret) = s
        .inbox
        .create_api_token(&p.viewer, b.agent_id, &b.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": t, "secret": secret })),
    )
        .into_response())
}

async fn revoke_token(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.revoke_api_token(&p.viewer, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ hand-off to WhatsApp

#[derive(Deserialize)]
struct DeflectBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    /// How long the code works (default a day).
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

async fn deflect_whatsapp(
    State(s): State<AppState>,
    p: Principal,
    body: JsonBody<DeflectBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let (c, h) = s
        .inbox
        .start_handoff(
            &p.viewer,
            &NewHandoff {
                name: b.name,
                phone: b.phone,
                metadata: b.metadata,
                account: b.account,
                queue: b.queue,
                ttl: Duration::from_secs(b.ttl_seconds.unwrap_or(86_400)),
            },
        )
        .await?;
    let mut answer = crate::qr::handoff_json(&h);
    answer["conversation_id"] = json!(c.id);
    answer["reference"] = json!(c.reference);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

// ------------------------------------------------------------------ sandbox phone

/// The sandbox phone acts for the accounts the agent works for only.
fn sandbox_account(p: &Principal, account: &str) -> ApiResult<()> {
    if p.viewer.may_use_account(account) {
        Ok(())
    } else {
        Err(
            deflect_chat::ChatError::Forbidden(format!("not an agent of account {account:?}"))
                .into(),
        )
    }
}

async fn sandbox_accounts(State(s): State<AppState>, p: Principal) -> Json<Value> {
    let a: Vec<Value> = s
        .inbox
        .settings()
        .whatsapp
        .accounts
        .iter()
        .filter(|a| a.provider == deflect_config::Provider::Sandbox)
        .filter(|a| p.viewer.may_use_account(&a.name))
        .map(|a| json!({ "name": a.name, "business_number": a.business_number }))
        .collect();
    Json(json!({ "accounts": a }))
}

async fn sandbox_messages(
    State(s): State<AppState>,
    p: Principal,
    Path((account, number)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    sandbox_account(&p, &account)?;
    Ok(Json(
        json!({ "messages": s.inbox.sandbox_outgoing(&account, &number).await? }),
    ))
}

async fn sandbox_reply(
    State(s): State<AppState>,
    p: Principal,
    Path((account, number)): Path<(String, String)>,
    body: JsonBody<SandboxReply>,
) -> ApiResult<Response> {
    sandbox_account(&p, &account)?;
    let Json(b) = body?;
    if b.text.trim().is_empty() || b.text.chars().count() > deflect_chat::MAX_TEXT {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "a message needs 1 to 4096 characters",
        ));
    }
    let r = s.inbox.sandbox_reply(&account, &number, &b).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "conversations": r.conversations })),
    )
        .into_response())
}
