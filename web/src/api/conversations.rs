//! Conversations: the list and its filters, one conversation and its messages, and what
//! agents do with it (send, notes, accept, reject, claim, transfer, close).

use super::{JsonBody, QueryOf};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deflect_chat::{
    Channel, ConversationFilter, Interactive, Message, Origin, Status, TemplateValues,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Filters of `GET /api/v1/conversations` and the CSV export.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
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
    /// Carrying this label (normalised as labels are; 422 when it cannot be).
    label: Option<String>,
    before_id: Option<i64>,
    limit: Option<u32>,
}

impl ListQuery {
    pub(super) fn filter(&self) -> ApiResult<ConversationFilter> {
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
                    "unknown status {s:?}; valid: pending, bot, queued, offered, assigned, relay, closed"
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
            label: match self.label.as_deref().filter(|l| !l.trim().is_empty()) {
                Some(l) => Some(deflect_chat::normalize_label(l)?),
                None => None,
            },
            contact_id: None,
            before_id: self.before_id,
            limit: self.limit,
        })
    }
}

pub(super) async fn list(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<ListQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let f = q.filter()?;
    let limit = f.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let list = s.inbox.conversation_summaries(&p.viewer, &f).await?;
    let next = if list.len() == limit {
        list.last().map(|c| c.conversation.id)
    } else {
        None
    };
    Ok(Json(
        json!({ "conversations": list, "next_before_id": next }),
    ))
}

pub(super) async fn conversation(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "conversation": s.inbox.conversation(&p.viewer, id).await? }),
    ))
}

#[derive(Deserialize)]
pub(super) struct Page {
    after: Option<i64>,
    limit: Option<u32>,
}

pub(super) async fn messages(
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

/// `POST …/messages`: `text`, and for an interactive message `interactive` (reply
/// buttons, a list or a link button; `text` is its body); or, without `text`, a message
/// template of the conversation's account, `template` (name, language, `parameters`,
/// `header`, `buttons`); or a file, `attachments` (one uploaded file, by its `token` or its
/// `url`; `text`, optional, is its caption). Unknown fields are refused (a misspelt `text`
/// is not an empty message).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SendBody {
    /// Required, except with `template` or `attachments`.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    template: Option<TemplateValues>,
    #[serde(default)]
    attachments: Vec<AttachmentRef>,
    #[serde(default)]
    client_key: Option<String>,
}

/// A file to send: its upload's `token`, or the `url` the upload answered (an attachment as
/// messages carry it is accepted as it is: its other fields are ignored).
#[derive(Deserialize)]
pub(super) struct AttachmentRef {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

impl AttachmentRef {
    fn token(&self) -> Option<&str> {
        (self.token.as_deref())
            .or_else(|| (self.url.as_deref())?.strip_prefix(deflect_chat::ATTACHMENT_PATH))
            .filter(|t| !t.is_empty())
    }
}

fn created(m: Message) -> Response {
    (StatusCode::CREATED, Json(json!({ "message": m }))).into_response()
}

pub(super) async fn send(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<SendBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let key = b.client_key.as_deref();
    let files = b.attachments.as_slice();
    let text = match (&b.text, &b.template) {
        (Some(t), _) => t.as_str(),
        (None, Some(_)) => "",
        (None, None) if !files.is_empty() => "",
        (None, None) => {
            return Err(ApiError::bad_request(
                "Failed to deserialize the JSON body into the target type: missing field `text`",
            ));
        }
    };
    let invalid = |m: &str| Err(deflect_chat::ChatError::Invalid(m.into()));
    let sent = match (&b.template, &b.interactive, files) {
        (_, _, [_, _, ..]) => invalid(
            "attachments: WhatsApp carries one file per message; send each in its own message",
        ),
        (Some(_), _, [_]) | (_, Some(_), [_]) => invalid(
            "attachments: a file goes alone (with text as its caption), not with a template or interactive",
        ),
        (None, None, [file]) => match file.token() {
            Some(token) => {
                let caption = Some(text);
                s.inbox.send_file(&p.viewer, id, token, caption, key).await
            }
            None => invalid("attachments[0]: give the upload's token (or its url)"),
        },
        (Some(_), Some(_), []) => {
            invalid("template: a message is a template or an interactive message, not both")
        }
        (Some(_), None, []) if !text.trim().is_empty() => {
            invalid("text: a template's text is its own; leave text out")
        }
        (Some(t), None, []) => s.inbox.send_template(&p.viewer, id, t, key).await,
        (None, Some(i), []) => s.inbox.send_interactive(&p.viewer, id, text, i, key).await,
        (None, None, []) => s.inbox.send_text(&p.viewer, id, text, key).await,
    };
    match sent {
        Ok(m) => Ok(created(m)),
        Err(deflect_chat::ChatError::OutsideWindow { recontact_template }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "outside_window",
            format!(
                "WhatsApp delivers free text only within 24 hours of the customer's last message; \
                 send an approved template (`template`, see GET /api/v1/templates) or the recontact \
                 template {recontact_template:?} (POST …/recontact) and write once they answer"
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct KeyBody {
    #[serde(default)]
    client_key: Option<String>,
}

pub(super) async fn recontact(
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
pub(super) struct NoteBody {
    text: String,
}

pub(super) async fn note(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<NoteBody>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    Ok(created(s.inbox.add_note(&p.viewer, id, &b.text).await?))
}

pub(super) async fn accept(
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

pub(super) async fn reject(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.inbox.conversation(&p.viewer, id).await?;
    s.inbox.reject_offer(p.agent.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agent opened the conversation: its customer's messages are marked read on WhatsApp,
/// in the background (a slow provider never holds the page).
/// Body of `POST /api/v1/conversations/{id}/read` (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadBody {
    /// The newest message shown (default: the conversation's newest).
    #[serde(default)]
    message_id: Option<i64>,
}

/// The caller has read the conversation (up to a message): their unread count of it starts
/// after it, and the customer's WhatsApp messages are marked read in the background.
pub(super) async fn read(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // No body (or an empty one): up to the newest message.
    let body: ReadBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReadBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let marked = s.inbox.mark_read(&p.viewer, id, body.message_id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "message_id": marked }))))
}

/// `GET /api/v1/conversations/counts`: the working views counted for the caller.
pub(super) async fn counts(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "counts": s.inbox.view_counts(&p.viewer).await? }),
    ))
}

pub(super) async fn claim(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "conversation": s.inbox.claim(&p.viewer, id).await? }),
    ))
}

#[derive(Deserialize)]
pub(super) struct TransferBody {
    #[serde(default)]
    agent_id: Option<i64>,
    #[serde(default)]
    queue: Option<String>,
    /// For the agent taking over: stored as an internal note with the transfer.
    #[serde(default)]
    note: Option<String>,
}

pub(super) async fn transfer(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: JsonBody<TransferBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body?;
    let note = b.note.as_deref();
    let c = match (b.agent_id, b.queue) {
        (Some(a), None) => {
            (s.inbox)
                .transfer_to_agent_with_note(&p.viewer, id, a, note)
                .await?
        }
        (None, Some(q)) => {
            (s.inbox)
                .transfer_to_queue_with_note(&p.viewer, id, &q, note)
                .await?
        }
        _ => return Err(ApiError::bad_request("give either agent_id or queue")),
    };
    Ok(Json(json!({ "conversation": c })))
}

#[derive(Deserialize, Default)]
pub(super) struct CloseBody {
    #[serde(default)]
    disposition: Option<String>,
}

pub(super) async fn close(
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
