//! The agents' live feed: `GET /api/v1/events` (WebSocket).
//!
//! Authenticated like the API: the inbox's session cookie — from a page of the gateway's own
//! origin only (the `Origin` header is checked, so another site cannot open a socket with the
//! agent's cookie) — or an API token in `Authorization: Bearer` (integrations).
//!
//! The client's first message: `{"type": "hello", "after": 41}` (`after`: the last event id
//! it saw; `null` for new events only). The server answers `{"type": "ready"}`, replays what
//! it missed, then sends each event as it commits: `{"type": "event", "event": {…}}` — only
//! those of conversations the agent may see (supervisors see all; agents their queues' and
//! accounts' and their own), presence changes, changes of their own role
//! (`agent.role_changed`; the socket decides by the new role from then on), and the calls
//! ringing for their queues or their own (`phone.call`, see [`crate::phone`]; calls ring
//! only for agents with a feed open on the node that took the call). Typing signals
//! carry `id` 0 and are not a resume position. Access is checked again on every event about
//! the socket's agent and its credentials with every ping: a disabled agent's socket ends at
//! once; a logout, a revoked token or other queues take effect within 20 s. The client may send
//! `{"type": "typing", "conversation_id": 7}` and
//! `{"type": "ping"}` (answered `pong`). The server pings every 20 s and closes a socket
//! silent for 60 s.

use crate::AppState;
use crate::auth::{Principal, Via, authenticate};
use crate::error::{ApiError, ApiResult};
use axum::extract::State;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use deflect_chat::{Conversation, Event, EventKind};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const PING_EVERY: Duration = Duration::from_secs(20);
const SILENCE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Hello {
        #[serde(default)]
        after: Option<i64>,
    },
    Typing {
        conversation_id: i64,
    },
    Ping,
}

/// `GET /api/v1/events`.
pub(crate) async fn events(
    State(state): State<AppState>,
    parts: Parts,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let p = authenticate(&state, &Method::GET, &parts.headers).await?;
    if p.via == Via::Session {
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if origin != Some(state.web.own_origin.as_str()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "the inbox socket opens only from the gateway's own pages",
            ));
        }
    }
    let ws = ws.map_err(|r| ApiError::bad_request(r.body_text()))?;
    // The credentials, checked again while the socket lives.
    let mut headers = HeaderMap::new();
    for name in [header::COOKIE, header::AUTHORIZATION] {
        for v in parts.headers.get_all(&name) {
            headers.append(name.clone(), v.clone());
        }
    }
    Ok(ws.on_upgrade(move |socket| async move {
        metrics::gauge!("deflect_inbox_sockets").increment(1.0);
        if let Err(e) = run(state, socket, p, headers).await {
            tracing::debug!(cause = %e, "inbox socket ended");
        }
        metrics::gauge!("deflect_inbox_sockets").decrement(1.0);
    }))
}

/// Decides, and remembers, which conversations a socket's agent may see.
struct Visibility {
    p: Principal,
    seen: HashMap<i64, bool>,
}

impl Visibility {
    /// After an event about this socket's agent (a role change; a presence change, which
    /// disabling them also makes), decides by their access as it is now. `false`: the agent
    /// may no longer use the inbox (disabled or gone); the socket ends.
    async fn follow_own_changes(&mut self, state: &AppState, e: &Event) -> bool {
        if !e.kind.is_about_an_agent() || e.data["agent_id"].as_i64() != Some(self.p.agent.id) {
            return true;
        }
        match state.inbox.viewer(self.p.agent.id).await {
            Ok(v) => {
                self.p.agent.role = v.role;
                self.adopt(v);
                true
            }
            Err(_) => false,
        }
    }

    /// Authenticates the socket's credentials again (they may have been logged out or revoked,
    /// the agent disabled or given other queues); `false`: the socket ends.
    async fn recheck(&mut self, state: &AppState, headers: &HeaderMap) -> bool {
        match authenticate(state, &Method::GET, headers).await {
            Ok(p) if p.agent.id == self.p.agent.id => {
                self.p.agent = p.agent;
                self.adopt(p.viewer);
                true
            }
            _ => false,
        }
    }

    fn adopt(&mut self, v: deflect_chat::Viewer) {
        if v != self.p.viewer {
            self.p.viewer = v;
            self.seen.clear();
        }
    }

    async fn allows(&mut self, state: &AppState, e: &Event) -> bool {
        if e.kind == EventKind::PhoneCall {
            // Calls ringing for their queues, and their own (answered or placed by them).
            let call = &e.data["call"];
            let queue = call["queue"].as_str().unwrap_or_default();
            return call["agent_id"].as_i64() == Some(self.p.agent.id)
                || self.p.viewer.may_take_call(queue, call["account"].as_str());
        }
        let Some(id) = e.conversation_id else {
            let own_role = e.kind == EventKind::AgentRoleChanged
                && e.data["agent_id"].as_i64() == Some(self.p.agent.id);
            return e.kind == EventKind::AgentPresence
                || own_role
                || self.p.viewer.role.sees_everything();
        };
        if self.p.viewer.role.sees_everything() {
            return true;
        }
        // Conversation events carry the conversation as it is now: access follows it.
        if let Ok(c) = serde_json::from_value::<Conversation>(e.data["conversation"].clone()) {
            let ok = self.p.viewer.can_see(&c);
            self.seen.insert(id, ok);
            return ok;
        }
        if let Some(ok) = self.seen.get(&id) {
            return *ok;
        }
        let ok = match state.inbox.conversation_unchecked(id).await {
            Ok(d) => self.p.viewer.can_see(&d.conversation),
            Err(_) => false,
        };
        if self.seen.len() > 50_000 {
            self.seen.clear();
        }
        self.seen.insert(id, ok);
        ok
    }
}

async fn send_json(socket: &mut WebSocket, v: &Value) -> Result<(), String> {
    socket
        .send(WsMessage::Text(v.to_string().into()))
        .await
        .map_err(|e| e.to_string())
}

async fn run(
    state: AppState,
    mut socket: WebSocket,
    p: Principal,
    headers: HeaderMap,
) -> Result<(), String> {
    let hello = tokio::time::timeout(Duration::from_secs(10), socket.recv())
        .await
        .map_err(|_| "no hello in time".to_string())?;
    let Some(Ok(WsMessage::Text(text))) = hello else {
        return Err("closed before hello".into());
    };
    let Ok(ClientMessage::Hello { after }) = serde_json::from_str(&text) else {
        send_json(&mut socket, &json!({ "type": "error", "error": { "code": "bad_request", "message": "the first message must be a hello" } })).await?;
        return Err("bad hello".into());
    };
    let mut feed = state
        .inbox
        .subscribe(after)
        .await
        .map_err(|e| e.to_string())?;
    send_json(&mut socket, &json!({ "type": "ready" })).await?;
    // Calls ring for the agent (when available) while a feed of theirs is open.
    let _listening = state.phones.listen(p.agent.id);
    let mut vis = Visibility {
        p,
        seen: HashMap::new(),
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            e = feed.next() => match e {
                Ok(Some(e)) => {
                    if !vis.follow_own_changes(&state, &e).await {
                        return Ok(());
                    }
                    if vis.allows(&state, &e).await {
                        send_json(&mut socket, &json!({ "type": "event", "event": e })).await?;
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.to_string()),
            },
            m = socket.recv() => {
                let Some(Ok(m)) = m else { return Ok(()) };
                heard = tokio::time::Instant::now();
                let WsMessage::Text(text) = m else { continue };
                match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Typing { conversation_id }) => {
                        if state.inbox.conversation(&vis.p.viewer, conversation_id).await.is_ok() {
                            let _ = state.inbox.typing(conversation_id, Some(vis.p.agent.id)).await;
                        }
                    }
                    Ok(ClientMessage::Ping) => send_json(&mut socket, &json!({ "type": "pong" })).await?,
                    Ok(ClientMessage::Hello { .. }) | Err(_) => {
                        send_json(&mut socket, &json!({ "type": "error", "error": { "code": "bad_request", "message": "unknown message" } })).await?;
                    }
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    return Err("silent for too long".into());
                }
                if !vis.recheck(&state, &headers).await {
                    return Ok(());
                }
                socket.send(WsMessage::Ping(Vec::new().into())).await.map_err(|e| e.to_string())?;
            }
        }
    }
}
