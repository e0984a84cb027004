//! The chat widget's server side: site settings, visitors' conversations, the WhatsApp
//! hand-off (code, `wa.me` link and QR code), the rating of a conversation that ended
//! (`POST …/conversations/{id}/rating`: `{"score": 1–5}`, then `{"comment": "…"}`, when
//! its `closed` event carried a `csat` to show), and the widget's WebSocket.
//!
//! A visitor starts a conversation with `POST /widget/sites/{site}/conversations`: the
//! pre-chat form's `name` and `phone`, and `language`, the browser's (`navigator.language`:
//! the contact's language, which picks the welcome's translation; junk is ignored), and
//! `page_url` and `referrer`, the page the chat starts on (agents see them in the contact card).
//!
//! Visitors are known by an opaque token their browser keeps in `localStorage`, sent in the
//! `X-Deflect-Visitor` header or the socket's first message — never in a URL. A visitor
//! reaches only their own conversations (the inbox core checks the token).
//!
//! Origins: a site's pages may call these endpoints only from the site's `origins` (and the
//! gateway's own origin): CORS answers say so to browsers, and a request or socket whose
//! `Origin` is not allowed is refused (403). Every endpoint is rate-limited per client
//! address (`http.widget_requests_per_minute`).
//!
//! # The socket: `GET /widget/ws?site=<site>`
//!
//! The client's first message: `{"type": "hello", "token": "…", "conversation_id": 7,
//! "after_seq": 12}` (`after_seq`: the last event position it has, 0 at first). The server
//! answers `{"type": "ready", "conversation": {…}}`, replays the conversation's events after
//! `after_seq` from the log, then sends new ones as they commit — each once, in order:
//! `{"type": "event", "seq": 13, "kind": "message", "data": {…}}` (kinds in
//! [`deflect_chat::VisitorEvent`]). So a reconnect resumes where the client was, losing and
//! doubling nothing. Then the client may send `{"type": "send", "text": "…", "key": "…"}`
//! — with `"reply": {"type": "button_reply" | "list_reply", "id", "title"}` when the visitor
//! tapped a button or list row of an interactive message (a message event's `interactive`)
//! — (answered `{"type": "ack", "key", "message"}`; a key sent again — a retry after a
//! reconnect — is acknowledged with the message already stored), `{"type": "typing"}` and
//! `{"type": "ping"}` (answered `pong`). The server pings every 20 s and closes a socket
//! silent for 60 s.
//!
//! Files: `POST /widget/sites/{site}/conversations/{id}/files` sends the visitor's picture or
//! document (the raw bytes as the body, its name in `?filename=`; the kind and type read
//! from the bytes, WhatsApp's caps): answered 201 with `{"message": …}` (413 too large, 415
//! not a picture or document, 422 empty). A message event's `attachments` name each file's
//! `token`, which `GET /widget/sites/{site}/files/{token}` serves to the visitor of its
//! conversation only — visitor's files and agents' alike. Both take the
//! visitor's token in the header and count against the rate limit like the other calls.
//!
//! Calls: a site with a `call_number` lets visitors call from the widget ([`crate::calls`]).
//!
//! Fan-out: one inbox subscription per process feeds a [`Hub`] that routes each event to the
//! sockets of its conversation; a socket that cannot keep up is dropped from the hub and
//! replays from the log instead.

use crate::error::{ApiError, ApiResult};
use crate::{AppState, client_ip};
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use deflect_chat::{ChatError, Conversation, Event, Inbox, NewWebConversation};
use deflect_config::{FieldMode, SiteConfig};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The header carrying the visitor's token.
pub const VISITOR_HEADER: &str = "x-deflect-visitor";
/// Events a socket may have waiting before it is dropped from the hub (and replays from the
/// log).
const SOCKET_BUFFER: usize = 256;
const PING_EVERY: Duration = Duration::from_secs(20);
const SILENCE_LIMIT: Duration = Duration::from_secs(60);

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let web = state.web.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, parts: &Parts| {
                let site = site_in_path(parts.uri.path());
                origin
                    .to_str()
                    .is_ok_and(|o| origin_allowed(&web, site.as_deref(), o))
            },
        ))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static(VISITOR_HEADER),
        ])
        .max_age(Duration::from_secs(600));
    Router::new()
        .route("/widget/sites/{site}", get(site_settings))
        .route("/widget/sites/{site}/conversations", post(start))
        .route("/widget/sites/{site}/conversations/{id}", get(state_of))
        .route(
            "/widget/sites/{site}/conversations/{id}/handoff",
            post(handoff),
        )
        .route(
            "/widget/sites/{site}/conversations/{id}/rating",
            post(rating),
        )
        .route(
            "/widget/sites/{site}/conversations/{id}/files",
            post(send_file),
        )
        .route("/widget/sites/{site}/files/{token}", get(file))
        .merge(crate::calls::routes())
        .layer(cors)
        .route("/widget/ws", get(socket))
}

fn site_in_path(path: &str) -> Option<String> {
    path.strip_prefix("/widget/sites/")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_string)
}

/// Whether pages of `origin` may use `site`'s widget.
pub fn origin_allowed(web: &crate::Web, site: Option<&str>, origin: &str) -> bool {
    if origin == web.own_origin {
        return true;
    }
    site.and_then(|s| web.widget.site(s))
        .is_some_and(|s| s.origins.iter().any(|o| o == origin))
}

/// Checks the site, the request's origin and the client's rate; answers the site's settings
/// as they apply now (admins may have changed its texts).
pub(crate) fn admit(state: &AppState, parts: &Parts, site: &str) -> ApiResult<SiteConfig> {
    let cfg = (state.inbox.settings().widget.site(site).cloned())
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such widget site"))?;
    if let Some(origin) = parts.headers.get(header::ORIGIN)
        && !origin
            .to_str()
            .is_ok_and(|o| origin_allowed(&state.web, Some(site), o))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this page's origin may not use this widget site; add it to widget.sites[].origins",
        ));
    }
    within_rate(state, parts)?;
    Ok(cfg)
}

/// Counts a request of the client against the widget's rate limit
/// (`http.widget_requests_per_minute`); 429 beyond it.
pub(crate) fn within_rate(state: &AppState, parts: &Parts) -> ApiResult<()> {
    if !state
        .web
        .widget_limiter
        .allow(&format!("ip:{}", client_ip(state, parts)))
    {
        metrics::counter!("deflect_widget_rate_limited_total").increment(1);
        return Err(ApiError::rate_limited());
    }
    Ok(())
}

pub(crate) fn visitor_token(headers: &HeaderMap) -> ApiResult<String> {
    headers
        .get(VISITOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|t| (16..=128).contains(&t.len()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send the visitor token (16 to 128 characters) in the X-Deflect-Visitor header",
            )
        })
}

fn mode(m: FieldMode) -> &'static str {
    match m {
        FieldMode::Required => "required",
        FieldMode::Optional => "optional",
        FieldMode::Off => "off",
    }
}

/// What a visitor may know of their conversation.
pub fn visitor_conversation(c: &Conversation) -> Value {
    json!({
        "id": c.id,
        "reference": c.reference,
        "status": c.status,
        "channel": c.channel,
        "escalation_at": c.escalation_at,
        "created_at": c.created_at,
    })
}

async fn site_settings(
    State(state): State<AppState>,
    parts: Parts,
    Path(site): Path<String>,
) -> ApiResult<Response> {
    let s = admit(&state, &parts, &site)?;
    let languages = accepted_languages(&parts.headers);
    let texts = s.texts_for(languages.iter().map(String::as_str));
    let calls = s.call_number.is_some() && state.web.calls.get().is_some();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ice_servers = match calls {
        true => crate::calls::ice_servers(&state.web.ice_servers, now),
        false => json!([]),
    };
    Ok(Json(json!({
        "site": s.name,
        "language": texts.language,
        "title": texts.title,
        "greeting": texts.greeting,
        "ask_name": mode(s.ask_name),
        "ask_phone": mode(s.ask_phone),
        "escalation_timeout_ms": s.escalation_timeout.as_millis() as u64,
        "open": state.inbox.is_open(state.web.site_hours.get(&s.name)),
        "closed_message": texts.closed_message,
        "whatsapp": s.whatsapp_account.is_some() || state.inbox.default_account().is_some(),
        "calls": calls,
        "ice_servers": ice_servers,
    }))
    .into_response())
}

/// The languages of the request's `Accept-Language`, preferred first (those weighted `q=0`
/// left out).
fn accepted_languages(headers: &HeaderMap) -> Vec<String> {
    let header = headers.get(header::ACCEPT_LANGUAGE);
    let value = header.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut weighted: Vec<(f32, String)> = (value.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let tag = parts.next().filter(|t| !t.is_empty() && *t != "*")?;
            let q = (parts.find_map(|p| p.strip_prefix("q=")))
                .map_or(Some(1.0), |q| q.parse::<f32>().ok())?;
            (q > 0.0).then(|| (q, tag.to_string()))
        })
        .take(16)
        .collect();
    // Stable: equal weights keep the order written.
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0));
    weighted.into_iter().map(|(_, tag)| tag).collect()
}

#[derive(Deserialize)]
struct Start {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// The browser's language (`navigator.language`); the inbox keeps it when it is a
    /// language tag and ignores anything else.
    #[serde(default)]
    language: Option<String>,
    /// The page the chat starts on (`location.href`) and its referrer: shown to agents in
    /// the contact card; kept only when `http(s)` URLs of at most 2048 characters.
    #[serde(default)]
    page_url: Option<String>,
    #[serde(default)]
    referrer: Option<String>,
}

fn field(v: Option<String>, m: FieldMode, what: &str, max: usize) -> ApiResult<Option<String>> {
    let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    match (m, &v) {
        (FieldMode::Off, _) => Ok(None),
        (FieldMode::Required, None) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{what} is required"),
        )),
        (_, Some(s)) if s.chars().count() > max => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{what} is too long"),
        )),
        _ => Ok(v),
    }
}

async fn start(
    State(state): State<AppState>,
    parts: Parts,
    Path(site): Path<String>,
    body: Result<Json<Start>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let cfg = admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    let Json(body) = body?;
    let name = field(body.name, cfg.ask_name, "name", 200)?;
    let phone = field(body.phone, cfg.ask_phone, "phone", 20)?;
    if let Some(p) = &phone
        && !deflect_config::is_e164(p)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "the phone number needs its country code, e.g. +31612345678",
        ));
    }
    let c = state
        .inbox
        .start_web_conversation(&NewWebConversation {
            site: cfg.name.clone(),
            queue: cfg.queue.clone(),
            account: cfg.whatsapp_account.clone(),
            visitor_token: token,
            name,
            phone,
            escalate_after: Some(cfg.escalation_timeout),
            hours: state.web.site_hours.get(&cfg.name).cloned(),
            language: body.language,
            page_url: body.page_url,
            referrer: body.referrer,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(visitor_conversation(&c))).into_response())
}

async fn state_of(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    let c = site_conversation(&state, &token, id, &site).await?;
    Ok(Json(visitor_conversation(&c)).into_response())
}

/// The visitor's conversation `id`, if it belongs to `site` (a page allowed for one site
/// reaches no other site's conversations).
pub(crate) async fn site_conversation(
    state: &AppState,
    token: &str,
    id: i64,
    site: &str,
) -> Result<Conversation, ChatError> {
    let c = state.inbox.web_conversation(token, id).await?;
    if c.site.as_deref() != Some(site) {
        return Err(ChatError::NotFound("conversation"));
    }
    Ok(c)
}

/// The query of a visitor's file.
#[derive(Deserialize)]
struct FileQuery {
    filename: Option<String>,
}

async fn send_file(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, id)): Path<(String, i64)>,
    Query(q): Query<FileQuery>,
    body: axum::body::Body,
) -> ApiResult<Response> {
    admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    site_conversation(&state, &token, id, &site).await?;
    let declared = (parts.headers.get(header::CONTENT_TYPE)).and_then(|v| v.to_str().ok());
    let filename = q.filename.or_else(|| {
        (parts.headers.get(header::CONTENT_DISPOSITION))
            .and_then(|v| v.to_str().ok())
            .and_then(crate::api::attachments::disposition_filename)
    });
    let m = state
        .inbox
        .web_visitor_file(
            &token,
            id,
            body.into_data_stream(),
            declared,
            filename.as_deref(),
        )
        .await
        .map_err(crate::api::attachments::upload_error)?;
    Ok((StatusCode::CREATED, Json(json!({ "message": m }))).into_response())
}

async fn file(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    let f = state.inbox.web_attachment(&token, &file).await?;
    crate::api::attachments::file_response(f, &parts.headers).await
}

async fn handoff(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let cfg = admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    site_conversation(&state, &token, id, &site).await?;
    let h = state
        .inbox
        .create_handoff(&token, id, cfg.handoff_ttl)
        .await?;
    metrics::counter!("deflect_widget_handoffs_total", "site" => cfg.name.clone()).increment(1);
    Ok(Json(crate::qr::handoff_json(&h)).into_response())
}

/// `{"score": 1–5}` (answered `{"follow_up": <question or null>}`), then `{"comment": …}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rating {
    #[serde(default)]
    score: Option<u8>,
    #[serde(default)]
    comment: Option<String>,
}

/// The visitor rates the conversation that just ended (the `closed` event carried the
/// rating to show), then may add a comment.
async fn rating(
    State(state): State<AppState>,
    parts: Parts,
    Path((site, id)): Path<(String, i64)>,
    body: Result<Json<Rating>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    admit(&state, &parts, &site)?;
    let token = visitor_token(&parts.headers)?;
    let Json(body) = body?;
    site_conversation(&state, &token, id, &site).await?;
    let follow_up = state
        .inbox
        .web_rating(&token, id, body.score, body.comment.as_deref())
        .await?;
    Ok(Json(json!({ "follow_up": follow_up })).into_response())
}

// ------------------------------------------------------------------ the hub

/// Routes committed events to the widget sockets of their conversation. Started on first
/// use; one inbox subscription per process.
#[derive(Debug, Default)]
pub struct Hub {
    inner: tokio::sync::OnceCell<Arc<HubInner>>,
}

/// A conversation's sockets: (ticket id, channel).
type Sockets = Vec<(u64, mpsc::Sender<Arc<Event>>)>;

#[derive(Debug, Default)]
struct HubInner {
    subs: Mutex<HashMap<i64, Sockets>>,
    next: AtomicU64,
}

/// A socket's place in the hub; leaving it (drop) unregisters.
#[derive(Debug)]
pub struct HubTicket {
    hub: Arc<HubInner>,
    conversation: i64,
    id: u64,
}

impl Drop for HubTicket {
    fn drop(&mut self) {
        let mut subs = self
            .hub
            .subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = subs.get_mut(&self.conversation) {
            v.retain(|(id, _)| *id != self.id);
            if v.is_empty() {
                subs.remove(&self.conversation);
            }
        }
    }
}

impl Hub {
    async fn inner(&self, inbox: &Inbox) -> Result<Arc<HubInner>, ChatError> {
        self.inner
            .get_or_try_init(|| async {
                let hub = Arc::new(HubInner::default());
                let mut feed = inbox.subscribe(None).await?;
                let h = hub.clone();
                tokio::spawn(async move {
                    loop {
                        match feed.next().await {
                            Ok(Some(e)) => h.dispatch(Arc::new(e)),
                            Ok(None) => return,
                            Err(e) => {
                                tracing::warn!(cause = %e, "widget event feed failed; retrying");
                                tokio::time::sleep(Duration::from_secs(1)).await;
                            }
                        }
                    }
                });
                Ok(hub)
            })
            .await
            .cloned()
    }

    /// Registers a socket for conversation `id`'s events.
    pub async fn register(
        &self,
        inbox: &Inbox,
        conversation: i64,
    ) -> Result<(HubTicket, mpsc::Receiver<Arc<Event>>), ChatError> {
        let hub = self.inner(inbox).await?;
        let (tx, rx) = mpsc::channel(SOCKET_BUFFER);
        let id = hub.next.fetch_add(1, Ordering::Relaxed);
        hub.subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(conversation)
            .or_default()
            .push((id, tx));
        Ok((
            HubTicket {
                hub,
                conversation,
                id,
            },
            rx,
        ))
    }
}

impl HubInner {
    fn dispatch(&self, e: Arc<Event>) {
        let Some(c) = e.conversation_id else { return };
        let mut subs = self
            .subs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = subs.get_mut(&c) {
            // A full buffer: that socket is dropped from the hub and replays from the log.
            v.retain(|(_, tx)| tx.try_send(e.clone()).is_ok());
        }
    }
}

// ------------------------------------------------------------------ the socket

#[derive(Deserialize)]
struct SocketQuery {
    site: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Hello {
        token: String,
        conversation_id: i64,
        #[serde(default)]
        after_seq: i64,
    },
    Send {
        text: String,
        key: String,
        /// The button or list row tapped (`button_reply` / `list_reply`), whose title is the
        /// text.
        #[serde(default)]
        reply: Option<deflect_chat::Interactive>,
    },
    Typing,
    Ping,
}

async fn socket(
    State(state): State<AppState>,
    parts: Parts,
    q: Result<Query<SocketQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    // Browsers always send Origin on WebSockets; a missing one is not a browser page.
    if parts.headers.get(header::ORIGIN).is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "an Origin header is required",
        ));
    }
    let site = admit(&state, &parts, &q.site)?.name.clone();
    let ip = client_ip(&state, &parts);
    let ws = ws.map_err(|r| ApiError::bad_request(r.body_text()))?;
    // Small buffers: thousands of widget sockets sit idle most of the time (tungstenite's
    // default read buffer alone is 128 KiB each).
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            metrics::gauge!("deflect_widget_sockets").increment(1.0);
            if let Err(e) = run_socket(state, socket, site, ip).await {
                tracing::debug!(cause = %e, "widget socket ended");
            }
            metrics::gauge!("deflect_widget_sockets").decrement(1.0);
        }))
}

async fn send_json(socket: &mut WebSocket, v: &Value) -> Result<(), axum::Error> {
    socket.send(WsMessage::Text(v.to_string().into())).await
}

fn error_json(key: Option<&str>, e: ApiError) -> Value {
    json!({ "type": "error", "key": key, "error": { "code": e.code, "message": e.message } })
}

async fn run_socket(
    state: AppState,
    mut socket: WebSocket,
    site: String,
    ip: String,
) -> Result<(), String> {
    let hello = tokio::time::timeout(Duration::from_secs(10), socket.recv())
        .await
        .map_err(|_| "no hello in time".to_string())?;
    let Some(Ok(WsMessage::Text(text))) = hello else {
        return Err("the socket closed before saying hello".into());
    };
    let Ok(ClientMessage::Hello {
        token,
        conversation_id: id,
        after_seq,
    }) = serde_json::from_str(&text)
    else {
        let _ = send_json(
            &mut socket,
            &error_json(
                None,
                ApiError::bad_request("the first message must be a hello"),
            ),
        )
        .await;
        return Err("bad hello".into());
    };
    let c = match site_conversation(&state, &token, id, &site).await {
        Ok(c) => c,
        Err(e) => {
            let _ = send_json(&mut socket, &error_json(None, e.into())).await;
            return Err("unknown conversation".into());
        }
    };
    send_json(
        &mut socket,
        &json!({ "type": "ready", "conversation": visitor_conversation(&c) }),
    )
    .await
    .map_err(|e| e.to_string())?;
    let inbox = state.inbox.clone();
    let mut last_seq = after_seq.max(0);
    let mut feed: Option<(HubTicket, mpsc::Receiver<Arc<Event>>)> = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    let mut last_typing = None::<tokio::time::Instant>;
    loop {
        if feed.is_none() {
            // (Re)join the hub first, then replay the log: whatever commits in between
            // arrives live and is recognised by its position.
            let joined = state
                .web
                .hub
                .register(&inbox, id)
                .await
                .map_err(|e| e.to_string())?;
            feed = Some(joined);
            loop {
                let page = inbox
                    .conversation_events(id, last_seq, 500)
                    .await
                    .map_err(|e| e.to_string())?;
                let n = page.len();
                for e in page {
                    last_seq = last_seq.max(e.seq);
                    if let Some(v) = deflect_chat::webchat::visitor_event(&e) {
                        send_json(&mut socket, &json!({ "type": "event", "seq": v.seq, "kind": v.kind, "data": v.data }))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                if n < 500 {
                    break;
                }
            }
        }
        let rx = &mut feed.as_mut().expect("joined above").1;
        tokio::select! {
            e = rx.recv() => match e {
                Some(e) => {
                    if e.seq != 0 && e.seq <= last_seq {
                        continue;
                    }
                    if e.seq != 0 {
                        last_seq = e.seq;
                    }
                    if let Some(v) = deflect_chat::webchat::visitor_event(&e) {
                        send_json(&mut socket, &json!({ "type": "event", "seq": v.seq, "kind": v.kind, "data": v.data }))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                // Dropped from the hub (too slow): catch up from the log.
                None => feed = None,
            },
            m = socket.recv() => {
                let Some(Ok(m)) = m else { return Ok(()) };
                heard = tokio::time::Instant::now();
                let WsMessage::Text(text) = m else { continue };
                match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Send { text, key, reply }) => {
                        let answer = if !state.web.widget_limiter.allow(&format!("ip:{ip}")) {
                            error_json(Some(&key), ApiError::rate_limited())
                        } else {
                            let stored = match &reply {
                                Some(r) => inbox.web_visitor_reply(&token, id, r, Some(&key)).await,
                                None => inbox.web_visitor_message(&token, id, &text, Some(&key)).await,
                            };
                            match stored {
                                Ok(m) => json!({ "type": "ack", "key": key, "message": { "id": m.id, "created_at": m.created_at } }),
                                Err(e) => error_json(Some(&key), e.into()),
                            }
                        };
                        send_json(&mut socket, &answer).await.map_err(|e| e.to_string())?;
                    }
                    Ok(ClientMessage::Typing) => {
                        let now = tokio::time::Instant::now();
                        if last_typing.is_none_or(|t| now - t > Duration::from_secs(2)) {
                            last_typing = Some(now);
                            let _ = inbox.typing(id, None).await;
                        }
                    }
                    Ok(ClientMessage::Ping) => {
                        send_json(&mut socket, &json!({ "type": "pong" })).await.map_err(|e| e.to_string())?;
                    }
                    Ok(ClientMessage::Hello { .. }) | Err(_) => {
                        send_json(&mut socket, &error_json(None, ApiError::bad_request("unknown message"))).await.map_err(|e| e.to_string())?;
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    return Err("silent for too long".into());
                }
                socket.send(WsMessage::Ping(Vec::new().into())).await.map_err(|e| e.to_string())?;
            }
        }
    }
}
