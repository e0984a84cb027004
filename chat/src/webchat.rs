//! The web channel (visitors chatting through the widget), and the one-time hand-off codes
//! that move a web conversation to WhatsApp. (Named `webchat`, not `web`: the web crate is
//! the HTTP side.)
//!
//! Visitors are known by an opaque token their browser keeps; only its SHA-256 is stored. A
//! visitor reaches only their own conversations.
//!
//! A site's automations (`[widget.sites.automations]` over its account's and the inbox-wide
//! rules) apply to its conversations: a new one is welcomed (`welcome_message`, in the
//! visitor's language when translated — the browser's, sent when the chat starts) and starts
//! with the site's `bot` when it has one, whose replies the widget shows as the bot's; the
//! visitor's messages are then the bot's turns until it hands the conversation over.
//!
//! Interactive messages: an agent's or a bot's reply buttons, list or link button reach the
//! widget in the message's `interactive`; the widget shows them, and a visitor's tap comes
//! back as their message with a `button_reply` / `list_reply` (the choice's id and title,
//! the title as its text) — as a WhatsApp customer's tap does, so a bot gets the id.
//!
//! Hand-off: [`crate::Inbox::create_handoff`] gives a short code and a `wa.me` link whose prefilled
//! text carries it. When a WhatsApp message with an unspent, unexpired code arrives, the web
//! conversation continues on WhatsApp (same conversation, history kept) and the code is spent
//! (see [`crate::inbound`]).

use crate::blobs::LinkKind;
use crate::context::Ctx;
use crate::lifecycle::{self, automation, csat, dispatch, handoff, open};
pub use crate::model::{CODE_LEN, handoff_text};
use crate::model::{
    ChatError, Conversation, EscalationReason, EventKind, Handoff, Interactive,
    MAX_RELAY_AGENT_NAME, MAX_RELAY_AGENTS, Message, Origin, RelayAgent, RelayChannel, Status,
    Viewer, choose_channel, hash_token,
};
use crate::repo;
use deflect_config::{AccountConfig, OpeningHours, language_code};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A visitor starting a web chat.
#[derive(Clone, Debug, Default)]
pub struct NewWebConversation {
    /// Widget site.
    pub site: String,
    /// Queue (the site's); `None`: the default queue.
    pub queue: Option<String>,
    /// WhatsApp account offered for escalation (the site's); `None`: the default account.
    pub account: Option<String>,
    /// The visitor's opaque token.
    pub visitor_token: String,
    /// Name from the pre-chat form.
    pub name: Option<String>,
    /// Phone from the pre-chat form (E.164).
    pub phone: Option<String>,
    /// With no agent after this long, offer WhatsApp (the site's escalation timeout).
    pub escalate_after: Option<std::time::Duration>,
    /// The site's opening hours: outside them, WhatsApp is offered at once. `None`: always
    /// open. (A conversation that starts with the site's bot is offered WhatsApp after the
    /// site's `escalation_timeout` from the bot's hand-over.)
    pub hours: Option<OpeningHours>,
    /// The visitor's language as their browser names it (`navigator.language`, `de-DE`):
    /// kept as the contact's (ISO 639-1, `de`) when it is a language tag, ignored otherwise.
    pub language: Option<String>,
    /// The page the chat began on and the page that led there (the contact card's
    /// attributes): kept when an `http(s)` URL of at most 2048 characters, ignored otherwise.
    pub page_url: Option<String>,
    /// See `page_url`.
    pub referrer: Option<String>,
}

/// A page address worth keeping: `http(s)`, at most 2048 characters.
fn page_address(url: Option<&str>) -> Option<&str> {
    url.map(str::trim)
        .filter(|u| u.len() <= 2048 && (u.starts_with("https://") || u.starts_with("http://")))
}

/// A new web conversation's metadata: `{"widget": {"page_url", "referrer"}}` when the widget
/// sent either.
fn widget_metadata(new: &NewWebConversation) -> Option<String> {
    let page_url = page_address(new.page_url.as_deref());
    let referrer = page_address(new.referrer.as_deref());
    if page_url.is_none() && referrer.is_none() {
        return None;
    }
    Some(json!({ "widget": { "page_url": page_url, "referrer": referrer } }).to_string())
}

/// An integration's request to hand a customer over to WhatsApp (a web form, a CRM): a
/// conversation waits for their first WhatsApp message, which carries a one-time code.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewHandoff {
    /// The customer's name.
    pub name: Option<String>,
    /// The customer's number (E.164), when known.
    pub phone: Option<String>,
    /// Anything the integration wants kept with the conversation (a JSON object).
    pub metadata: Option<serde_json::Value>,
    /// WhatsApp account; `None`: the default account.
    pub account: Option<String>,
    /// Queue; `None`: the default queue.
    pub queue: Option<String>,
    /// How long the code works.
    pub ttl: std::time::Duration,
    /// Relay mode: the agents, on their own WhatsApp numbers, offered the conversation in
    /// this order (none: the inbox's agents take it).
    #[serde(default)]
    pub agents: Vec<RelayAgent>,
}

/// What a visitor's widget is told of an event of their conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitorEvent {
    /// The event's position within the conversation (resume after it); 0 for ephemeral
    /// signals such as typing.
    pub seq: i64,
    /// What happened, as the widget names it.
    pub kind: VisitorEventKind,
    /// For `message`: id, direction, from (`visitor`, `agent`, `bot`: the site's bot, or
    /// `system`: the inbox's own notices), name (an agent's message: the agent's display name as
    /// it was when the message was stored; `null` otherwise), kind, body, interactive (the buttons, list or link
    /// button of an agent's or bot's message; a visitor's tap on one), status, client_key,
    /// channel, created_at, attachments (its stored files: `token`, `mime_type`, `size`,
    /// `filename`, `kind`; the widget downloads each from `/widget/sites/<site>/files/<token>`).
    pub data: serde_json::Value,
}

/// The widget's names for what happened in a visitor's conversation (a stable contract with
/// the widget's script).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitorEventKind {
    /// `message`: a message of the conversation (not an internal note).
    Message,
    /// `agent_joined`: an agent took the conversation.
    AgentJoined,
    /// `waiting`: it waits for an agent.
    Waiting,
    /// `escalation`: the widget offers WhatsApp (`reason`).
    Escalation,
    /// `continued_on_whatsapp`: the conversation moved to WhatsApp.
    ContinuedOnWhatsapp,
    /// `closed`: the conversation ended (`csat`: the rating to show — `question` and
    /// `answers`, each `score` and `title` — when the visitor is asked for one).
    Closed,
    /// `typing`: the agent is typing.
    Typing,
}

/// The view of `e` a visitor may have: messages without internal notes or provider
/// payloads, and the conversation's milestones without agents' or queues' details.
pub fn visitor_event(e: &crate::Event) -> Option<VisitorEvent> {
    let (kind, data) = match &e.kind {
        EventKind::MessageCreated => {
            let m = &e.data["message"];
            if m["internal"].as_bool() != Some(false) {
                return None;
            }
            // `bot`: the site's bot, shown as a participant like an agent; `system`: the
            // inbox's own notices (welcome, queue position, …).
            let from = match (
                m["direction"].as_str(),
                m["agent_id"].is_null(),
                m["sender"].as_str(),
            ) {
                (Some("in"), _, _) => "visitor",
                (_, false, _) => "agent",
                (_, _, Some("bot")) => "bot",
                _ => "system",
            };
            (
                VisitorEventKind::Message,
                json!({
                    "id": m["id"], "direction": m["direction"], "from": from,
                    "name": if from == "agent" { m["sender_name"].clone() } else { serde_json::Value::Null },
                    "kind": m["kind"],
                    "body": m["body"], "interactive": m["interactive"], "status": m["status"],
                    "client_key": m["client_key"], "channel": m["channel"],
                    "created_at": m["created_at"], "attachments": visitor_files(&m["attachments"]),
                }),
            )
        }
        EventKind::ConversationAssigned => (VisitorEventKind::AgentJoined, json!({})),
        EventKind::ConversationQueued => (VisitorEventKind::Waiting, json!({})),
        EventKind::ConversationEscalationOffered => (
            VisitorEventKind::Escalation,
            // Events logged before reasons were recorded were all timeouts.
            json!({ "reason": e.data["reason"].as_str().unwrap_or("timeout") }),
        ),
        EventKind::ConversationChannelChanged if e.data["channel"] == "whatsapp" => {
            (VisitorEventKind::ContinuedOnWhatsapp, json!({}))
        }
        EventKind::ConversationClosed => match e.data.get("csat") {
            // The rating the widget shows (question and answers).
            Some(csat) => (VisitorEventKind::Closed, json!({ "csat": csat })),
            None => (VisitorEventKind::Closed, json!({})),
        },
        EventKind::Typing if e.data["by"] == "agent" => (VisitorEventKind::Typing, json!({})),
        _ => return None,
    };
    Some(VisitorEvent {
        seq: e.seq,
        kind,
        data,
    })
}

/// A message's stored files as the widget sees them: `token` (the widget downloads the file
/// from `/widget/sites/<site>/files/<token>` with the visitor's token, like its other calls),
/// `mime_type`, `size`, `filename`, `kind`.
fn visitor_files(attachments: &serde_json::Value) -> serde_json::Value {
    let files = (attachments.as_array().into_iter().flatten())
        .filter(|a| a["state"] == "stored")
        .filter_map(|a| {
            let token = a["url"]
                .as_str()?
                .strip_prefix(crate::model::ATTACHMENT_PATH)?;
            Some(json!({
                "token": token, "mime_type": a["mime_type"],
                "size": a["size"], "filename": a["filename"], "kind": a["kind"],
            }))
        })
        .collect();
    serde_json::Value::Array(files)
}

/// The (contact, identity) of the visitor whose token is `token`.
async fn visitor(tx: &mut crate::store::Tx, token: &str) -> Result<Option<(i64, i64)>, ChatError> {
    Ok(repo::visitors::of_token(tx, &hash_token(token)).await?)
}

/// Whether `hours` are open now, by the inbox's clock (`None`: always open).
pub(crate) fn is_open(ctx: &Ctx, hours: Option<&OpeningHours>) -> bool {
    hours.is_none_or(|h| h.is_open_at_unix_ms(ctx.now()))
}

/// Starts (or resumes: the visitor's open conversation on the site) a web conversation,
/// queued for an agent — or, when the site's rules name a bot, with the bot. A new one is
/// welcomed by the site's rules. Outside the site's opening hours WhatsApp is offered at
/// once (with reason `closed`); otherwise after `escalate_after` without an agent.
pub(crate) async fn start_web_conversation(
    ctx: &Ctx,
    new: &NewWebConversation,
) -> Result<Conversation, ChatError> {
    if new.visitor_token.len() < 16 {
        return Err(ChatError::Invalid("the visitor token is too short".into()));
    }
    let queue = match &new.queue {
        Some(q) if ctx.queue_config(q).is_some() => q.clone(),
        Some(q) => return Err(ChatError::Invalid(format!("unknown queue {q:?}"))),
        None => ctx.default_queue().to_string(),
    };
    let account = match &new.account {
        Some(a) if ctx.account(a).is_some() => Some(a.clone()),
        Some(a) => {
            return Err(ChatError::Invalid(format!(
                "unknown WhatsApp account {a:?}"
            )));
        }
        None => ctx.default_account().map(|a| a.name.clone()),
    };
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let (contact, identity) = match visitor(&mut tx, &new.visitor_token).await? {
        Some(v) => v,
        None => {
            let (name, phone) = (new.name.as_deref(), new.phone.as_deref());
            let contact = repo::contacts::insert(&mut tx, name, phone, now).await?;
            let hash = hash_token(&new.visitor_token);
            let identity =
                repo::contacts::insert_web_identity(&mut tx, contact, &hash, now).await?;
            repo::visitors::insert(&mut tx, &hash, contact, identity, &new.site, now).await?;
            (contact, identity)
        }
    };
    if let Some(n) = &new.name {
        repo::contacts::rename(&mut tx, contact, n).await?;
    }
    if let Some(language) = new.language.as_deref().and_then(language_code) {
        repo::contacts::set_language(&mut tx, contact, &language).await?;
    }
    let open = repo::conversations::open_web_of(&mut tx, identity, &new.site).await?;
    // One open conversation per visitor and WhatsApp account: sites of one origin share the
    // visitor, so a chat still open on another site comes first.
    if open.is_none()
        && let Some(a) = &account
        && repo::conversations::open_of(&mut tx, identity, a)
            .await?
            .is_some()
    {
        return Err(ChatError::Conflict(
            "the visitor's chat on another site of this page is still open".into(),
        ));
    }
    let id = match open {
        Some(id) => id,
        None => {
            let metadata = widget_metadata(new);
            let w = repo::conversations::NewWeb {
                contact,
                identity,
                account: account.as_deref(),
                site: &new.site,
                queue: &queue,
                metadata: metadata.as_deref(),
            };
            let reference = crate::model::random_token(6);
            let id = repo::conversations::insert_web(&mut tx, &reference, &w, now).await?;
            open::created(&mut tx, id, now).await?;
            let c = lifecycle::load(&mut tx, id).await?;
            automation::welcome(ctx, &mut tx, &c, now).await?;
            let open = is_open(ctx, new.hours.as_ref());
            // With its bot, nobody waits for an agent yet: the escalation counts from the
            // bot's hand-over.
            if automation::start_bot(ctx, &mut tx, &c, now)
                .await?
                .is_none()
            {
                if let (true, Some(after)) = (open, new.escalate_after) {
                    lifecycle::arm(
                        ctx,
                        &mut tx,
                        id,
                        crate::model::TimerKind::Escalation,
                        now + crate::clock::ms(after),
                        None,
                    )
                    .await?;
                }
                // Outside opening hours it still queues: agents answer when they open.
                dispatch::enqueue(ctx, &mut tx, id, &queue, None, now).await?;
            }
            if !open {
                handoff::offer_escalation(&mut tx, id, EscalationReason::Closed, now).await?;
            }
            id
        }
    };
    let c = repo::conversations::reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok(c)
}

async fn visitor_conversation(
    tx: &mut crate::store::Tx,
    token: &str,
    id: i64,
) -> Result<Conversation, ChatError> {
    let Some((contact, _)) = visitor(tx, token).await? else {
        return Err(ChatError::NotFound("conversation"));
    };
    let c = lifecycle::load(tx, id).await?;
    if c.contact_id != contact || c.site.is_none() {
        return Err(ChatError::NotFound("conversation"));
    }
    Ok(c)
}

/// A visitor's answer to the rating the widget showed as their conversation ended: their
/// score 1–5 (answered with the follow-up question to show, if any), or then their comment.
pub(crate) async fn web_rating(
    ctx: &Ctx,
    visitor_token: &str,
    id: i64,
    score: Option<u8>,
    comment: Option<&str>,
) -> Result<Option<String>, ChatError> {
    let answer = match (score, comment) {
        (Some(score), None) => csat::WebAnswer::Score(score),
        (None, Some(comment)) => csat::WebAnswer::Comment(comment),
        _ => {
            return Err(ChatError::Invalid(
                "send either a score or a comment".into(),
            ));
        }
    };
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let c = visitor_conversation(&mut tx, visitor_token, id).await?;
    let follow_up = csat::web_answer(ctx, &mut tx, &c, answer, now).await?;
    tx.commit().await?;
    Ok(follow_up)
}

/// A visitor's message in their web conversation, with `reply` the button or row they
/// tapped (whose title `text` is); a repeated `client_key` returns the message already
/// stored.
pub(crate) async fn web_visitor_message(
    ctx: &Ctx,
    visitor_token: &str,
    id: i64,
    text: &str,
    reply: Option<&Interactive>,
    client_key: Option<&str>,
) -> Result<Message, ChatError> {
    let reply = match reply {
        Some(r) => {
            let r = r.clone().trimmed();
            r.check_reply()?;
            Some(serde_json::to_string(&r).expect("a reply serializes"))
        }
        None => None,
    };
    let text = text.trim();
    if text.is_empty() || text.chars().count() > crate::model::MAX_TEXT {
        return Err(ChatError::Invalid(
            "a message needs 1 to 4096 characters".into(),
        ));
    }
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let c = visitor_conversation(&mut tx, visitor_token, id).await?;
    let existing = match client_key {
        Some(key) => repo::messages::by_client_key(&mut tx, id, key).await?,
        None => None,
    };
    if let Some(m) = existing {
        return Ok(m);
    }
    if c.status == Status::Closed {
        return Err(ChatError::Conflict("the conversation is closed".into()));
    }
    if c.channel != crate::Channel::Web {
        return Err(ChatError::Conflict(
            "the conversation continues on WhatsApp".into(),
        ));
    }
    let m =
        repo::messages::insert_web_incoming(&mut tx, id, text, reply.as_deref(), client_key, now)
            .await?;
    repo::conversations::received(&mut tx, id, now).await?;
    crate::repo::events::log(
        &mut tx,
        Some(id),
        EventKind::MessageCreated,
        json!({ "message": m }),
        now,
    )
    .await?;
    match c.status {
        // With the site's bot: the message is the bot's next turn.
        Status::Bot => automation::to_bot(ctx, &mut tx, &c, &m, now).await?,
        // A deflection continued from its SMS link: the customer's answer.
        Status::Pending => automation::answered(ctx, &mut tx, &c, &m, now).await?,
        _ => {}
    }
    tx.commit().await?;
    metrics::counter!("deflect_inbox_messages_total", "direction" => "in", "channel" => "web")
        .increment(1);
    Ok(m)
}

/// A visitor's view of their conversation: the conversation and its messages without
/// internal notes.
pub(crate) async fn web_transcript(
    ctx: &Ctx,
    visitor_token: &str,
    id: i64,
    after: Option<i64>,
) -> Result<(Conversation, Vec<Message>), ChatError> {
    let mut tx = ctx.store().write().await?;
    let c = visitor_conversation(&mut tx, visitor_token, id).await?;
    tx.commit().await?;
    let messages = repo::messages::list(ctx.store(), id, after.unwrap_or(0), 1000)
        .await?
        .into_iter()
        .filter(|m| !m.internal)
        .collect();
    Ok((c, messages))
}

/// Creates a one-time code that moves the visitor's conversation to WhatsApp, valid for
/// `ttl` — not while an agent holds it ([`ChatError::AgentChatting`]: the visitor is being
/// answered here; the offer comes back if the conversation returns to the queue).
pub(crate) async fn create_handoff(
    ctx: &Ctx,
    visitor_token: &str,
    id: i64,
    ttl: std::time::Duration,
) -> Result<Handoff, ChatError> {
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let c = visitor_conversation(&mut tx, visitor_token, id).await?;
    if c.status == Status::Closed {
        return Err(ChatError::Conflict("the conversation is closed".into()));
    }
    if c.channel != crate::Channel::Web {
        return Err(ChatError::Conflict(
            "the conversation continues on WhatsApp already".into(),
        ));
    }
    if c.status == Status::Assigned {
        return Err(ChatError::AgentChatting);
    }
    let account = c
        .account
        .as_deref()
        .and_then(|a| ctx.account(a))
        .ok_or_else(|| ChatError::Conflict("no WhatsApp account to continue on".into()))?;
    let handoff = handoff::issue_code(&mut tx, id, account, ttl, now).await?;
    tx.commit().await?;
    Ok(handoff)
}

/// Opens a conversation for a customer an integration hands over to WhatsApp: it waits
/// (`pending`) for their first WhatsApp message, which carries the returned code and
/// joins it; then it is queued for an agent. Agents may only hand over into their own
/// queues and accounts.
pub(crate) async fn start_handoff(
    ctx: &Ctx,
    viewer: &Viewer,
    new: &NewHandoff,
) -> Result<(Conversation, Handoff), ChatError> {
    let queue = match &new.queue {
        Some(q) if ctx.queue_config(q).is_some() => q.clone(),
        Some(q) => return Err(ChatError::Invalid(format!("unknown queue {q:?}"))),
        None => ctx.default_queue().to_string(),
    };
    let relaying = !new.agents.is_empty()
        || ctx
            .queue_config(&queue)
            .is_some_and(|q| !q.relay_agents.is_empty());
    let account = match &new.account {
        Some(a) => ctx
            .account(a)
            .ok_or_else(|| ChatError::Invalid(format!("unknown WhatsApp account {a:?}")))?,
        None if relaying => relay_channel(ctx, viewer, new, &queue).await?,
        None => ctx
            .default_account()
            .ok_or_else(|| ChatError::Invalid("no default WhatsApp account; name one".into()))?,
    };
    let own_queue = viewer.role.sees_everything() || viewer.queues.contains(&queue);
    if !(own_queue && viewer.may_use_account(&account.name)) {
        return Err(ChatError::Forbidden(
            "agents hand over only into their own queues and accounts".into(),
        ));
    }
    let name = new.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 200) {
        return Err(ChatError::Invalid(
            "the name has more than 200 characters".into(),
        ));
    }
    let phone = new
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(p) = phone
        && !deflect_config::is_e164(p)
    {
        return Err(ChatError::Invalid(format!(
            "phone {p:?} is not E.164 (+ country code and number)"
        )));
    }
    let metadata = match &new.metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(m @ serde_json::Value::Object(_)) => {
            let text = m.to_string();
            if text.len() > 16 * 1024 {
                return Err(ChatError::Invalid("metadata is larger than 16 KiB".into()));
            }
            Some(text)
        }
        Some(_) => return Err(ChatError::Invalid("metadata must be a JSON object".into())),
    };
    if new.ttl < std::time::Duration::from_secs(60)
        || new.ttl > std::time::Duration::from_secs(30 * 86400)
    {
        return Err(ChatError::Invalid(
            "the code's lifetime must be between 1 minute and 30 days".into(),
        ));
    }
    let agents = relay_agents(&new.agents, phone, account)?;
    let origin = if agents.is_empty() {
        Origin::Api
    } else {
        Origin::Relay
    };
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let contact = repo::contacts::insert(&mut tx, name, phone, now).await?;
    let reference = crate::model::random_token(6);
    let metadata = metadata.as_deref();
    let id = repo::conversations::insert_handoff(
        &mut tx,
        (&reference, origin),
        contact,
        &account.name,
        &queue,
        metadata,
        now,
    )
    .await?;
    if !agents.is_empty() {
        repo::relays::insert(&mut tx, id, &account.name, &agents, now).await?;
    }
    open::created(&mut tx, id, now).await?;
    let handoff = handoff::issue_code(&mut tx, id, account, new.ttl, now).await?;
    let c = repo::conversations::reload(&mut tx, id).await?;
    tx.commit().await?;
    metrics::counter!("deflect_api_handoffs_total", "account" => account.name.clone()).increment(1);
    Ok((c, handoff))
}

/// A visitor's conversation, if `visitor_token` owns it ("not found" otherwise).
pub(crate) async fn web_conversation(
    ctx: &Ctx,
    visitor_token: &str,
    id: i64,
) -> Result<Conversation, ChatError> {
    repo::conversations::of_visitor(ctx.store(), id, &hash_token(visitor_token))
        .await?
        .ok_or(ChatError::NotFound("conversation"))
}

/// A conversation's logged events after its `after_seq`-th, in order (resuming a
/// conversation's feed).
pub(crate) async fn conversation_events(
    ctx: &Ctx,
    id: i64,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<crate::Event>, ChatError> {
    Ok(crate::repo::events::of_conversation(
        ctx.store(),
        id,
        after_seq,
        i64::from(limit.clamp(1, 10_000)),
    )
    .await?)
}

/// The agents of a relay as an API call names them, checked: at most
/// [`MAX_RELAY_AGENTS`], each with a name and an E.164 number, no number twice, none the
/// customer's or the account's own.
/// The account a relay the call names none for goes through: among `[inbox.relay] accounts`
/// the caller may use, chosen by [`choose_channel`] near the customer's number (else the
/// first agent's, of the call or of `queue`); without that list, the default account.
async fn relay_channel<'a>(
    ctx: &'a Ctx,
    viewer: &Viewer,
    new: &NewHandoff,
    queue: &str,
) -> Result<&'a AccountConfig, ChatError> {
    let pool = &ctx.file_settings().inbox.relay.accounts;
    if pool.is_empty() {
        return ctx
            .default_account()
            .ok_or_else(|| ChatError::Invalid("no default WhatsApp account; name one".into()));
    }
    let load = repo::relays::channel_load(ctx.store()).await?;
    let channels: Vec<RelayChannel<'_>> = (pool.iter())
        .filter_map(|name| ctx.account(name))
        .filter(|a| viewer.may_use_account(&a.name))
        .map(|a| {
            let (relays, failing) = load.get(&a.name).copied().unwrap_or_default();
            RelayChannel {
                account: &a.name,
                business_number: &a.business_number,
                relays,
                failing,
            }
        })
        .collect();
    let queue_agent =
        (ctx.queue_config(queue)).and_then(|q| q.relay_agents.first().map(|a| a.number.clone()));
    let near = (new.phone.clone())
        .or(new.agents.first().map(|a| a.number.clone()))
        .or(queue_agent);
    choose_channel(&channels, near.as_deref().map(str::trim))
        .and_then(|name| ctx.account(name))
        .ok_or_else(|| {
            ChatError::Forbidden("no account of [inbox.relay] accounts this agent may use".into())
        })
}

fn relay_agents(
    agents: &[RelayAgent],
    customer: Option<&str>,
    account: &AccountConfig,
) -> Result<Vec<RelayAgent>, ChatError> {
    if agents.len() > MAX_RELAY_AGENTS {
        let e = format!("agents: at most {MAX_RELAY_AGENTS} agents can be named");
        return Err(ChatError::Invalid(e));
    }
    let mut out: Vec<RelayAgent> = Vec::with_capacity(agents.len());
    for (i, a) in agents.iter().enumerate() {
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > MAX_RELAY_AGENT_NAME {
            let e = format!("agents[{i}].name must have 1 to {MAX_RELAY_AGENT_NAME} characters");
            return Err(ChatError::Invalid(e));
        }
        let number = a.number.trim();
        if !deflect_config::is_e164(number) {
            let e =
                format!("agents[{i}].number {number:?} is not E.164 (+ country code and number)");
            return Err(ChatError::Invalid(e));
        }
        if out.iter().any(|o| o.number == number) {
            return Err(ChatError::Invalid(format!(
                "agents[{i}].number is named twice"
            )));
        }
        if customer == Some(number) || account.business_number == number {
            let e = format!("agents[{i}].number is the customer's or the business's own");
            return Err(ChatError::Invalid(e));
        }
        out.push(RelayAgent {
            name: name.to_string(),
            number: number.to_string(),
        });
    }
    Ok(out)
}

/// What the page of a continue link (the SMS fallback's `{{link}}`) offers: the
/// conversation's reference, the widget site it continues on in the browser, and the
/// business's WhatsApp chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinueOffer {
    /// The conversation's reference.
    pub reference: String,
    /// The widget site it continues on.
    pub site: String,
    /// `https://wa.me/<business number>`, when the conversation has a WhatsApp account.
    pub whatsapp_url: Option<String>,
}

/// Checks the continue link of conversation `id` (`expires`, `signature` as its query
/// carries them): [`ChatError::Forbidden`] when it is not the gateway's or has expired.
fn check_continue_link(
    ctx: &Ctx,
    id: i64,
    expires: &str,
    signature: &str,
) -> Result<(), ChatError> {
    let token = id.to_string();
    (ctx.links()
        .check_of(LinkKind::Continue, &token, expires, signature, ctx.now()))
    .map_err(|e| ChatError::Forbidden(e.to_string()))
}

/// The offer of a continue link of conversation `id`, which must be open. Spends nothing:
/// link previewers may fetch the page.
pub(crate) async fn continue_offer(
    ctx: &Ctx,
    id: i64,
    expires: &str,
    signature: &str,
) -> Result<ContinueOffer, ChatError> {
    check_continue_link(ctx, id, expires, signature)?;
    let c = repo::conversations::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
    offer_of(ctx, c)
}

/// What the continue page of conversation `c` offers, which must be open.
fn offer_of(ctx: &Ctx, c: Conversation) -> Result<ContinueOffer, ChatError> {
    if c.status == Status::Closed {
        return Err(ChatError::Conflict("the conversation is closed".into()));
    }
    let site = ctx
        .continue_site(c.account.as_deref())
        .ok_or(ChatError::NotFound("widget site"))?;
    let account = c.account.as_deref().and_then(|a| ctx.account(a));
    let whatsapp_url = account.map(|a| {
        format!(
            "https://wa.me/{}",
            a.business_number.trim_start_matches('+')
        )
    });
    Ok(ContinueOffer {
        reference: c.reference,
        site,
        whatsapp_url,
    })
}

/// Continues conversation `id` in the browser of visitor `visitor_token` through its
/// continue link: the visitor becomes the conversation's contact's, the conversation moves
/// to channel `web` on the offer's site (`conversation.channel_changed`), and the widget
/// shows its history. Again from the same browser it changes nothing; from another, once
/// moved, it is refused.
pub(crate) async fn continue_on_web(
    ctx: &Ctx,
    id: i64,
    (expires, signature): (&str, &str),
    visitor_token: &str,
) -> Result<(ContinueOffer, Conversation), ChatError> {
    if visitor_token.len() < 16 {
        return Err(ChatError::Invalid("the visitor token is too short".into()));
    }
    check_continue_link(ctx, id, expires, signature)?;
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let c = lifecycle::load(&mut tx, id).await?;
    let offer = offer_of(ctx, c.clone())?;
    match visitor(&mut tx, visitor_token).await? {
        Some((contact, _)) if contact == c.contact_id => {}
        Some(_) => {
            return Err(ChatError::Conflict(
                "this browser chats as another visitor".into(),
            ));
        }
        None if c.channel == crate::Channel::Web => {
            return Err(ChatError::Conflict(
                "the conversation continues in another browser".into(),
            ));
        }
        None => {
            let hash = hash_token(visitor_token);
            let identity =
                repo::contacts::insert_web_identity(&mut tx, c.contact_id, &hash, now).await?;
            repo::visitors::insert(&mut tx, &hash, c.contact_id, identity, &offer.site, now)
                .await?;
        }
    }
    if c.channel != crate::Channel::Web {
        repo::conversations::move_to_web(&mut tx, id, &offer.site).await?;
        let data = json!({ "channel": crate::Channel::Web, "site": offer.site });
        lifecycle::conversation_event(
            &mut tx,
            id,
            EventKind::ConversationChannelChanged,
            data,
            now,
        )
        .await?;
        metrics::counter!("deflect_inbox_continued_on_web_total").increment(1);
    }
    let c = repo::conversations::reload(&mut tx, id).await?;
    tx.commit().await?;
    Ok((offer, c))
}
