//! Agents' work on conversations: accepting, rejecting and claiming offers, transferring,
//! closing, writing to the customer and adding notes — each one [`Action`] (lock, check,
//! change, commit) — and reading conversations and their messages with access control.

use crate::clock::Millis;
use crate::context::Ctx;
use crate::lifecycle::transition::{Action, Handover, ensure_visible};
use crate::lifecycle::{automation, conversation_event, dispatch, outgoing, relay};
use crate::model::{
    APPROVED, ASK_FOR_CALLS, CallTarget, Channel, ChatError, Conversation, ConversationDetail,
    ConversationFilter, ConversationSummary, EventKind, Filled, FilledHeader, Interactive,
    MAX_TEXT, Message, Status, Template, TemplateValues, TimerKind, ViewCounts, Viewer,
};
use crate::provider::{HeaderParam, MediaMessage, NamedParam, Outgoing, UrlButtonParam};
use crate::repo::{self, assignments::Step};
use crate::routing::{self, AgentId};
use serde_json::json;

/// Accepts an offer made to `agent`.
pub(crate) async fn accept_offer(
    ctx: &Ctx,
    agent: AgentId,
    id: i64,
) -> Result<Conversation, ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    let c = &a.conversation;
    if c.status != Status::Offered || c.agent_id != Some(agent) {
        return Err(ChatError::Conflict(
            "this offer is no longer open (it lapsed, moved on or was taken)".into(),
        ));
    }
    let h = Handover::assigned(agent, "accepted", Some(agent), json!({}), true);
    let c = a.hand_over(ctx, h).await?;
    a.commit().await?;
    Ok(c)
}

/// Rejects an offer made to `agent`; it moves on at once.
pub(crate) async fn reject_offer(ctx: &Ctx, agent: AgentId, id: i64) -> Result<(), ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    let c = &a.conversation;
    if c.status != Status::Offered || c.agent_id != Some(agent) {
        return Err(ChatError::Conflict("this offer is no longer open".into()));
    }
    dispatch::decline(ctx, &mut a.tx, id, agent, "rejected", a.now).await?;
    a.commit().await
}

/// Takes a waiting conversation from the queue by hand; a supervisor also takes one from
/// its bot ([`take_from_bot`]).
pub(crate) async fn claim(ctx: &Ctx, viewer: &Viewer, id: i64) -> Result<Conversation, ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    a.visible_to(viewer)?;
    if a.conversation.status == Status::Bot {
        return take_from_bot(ctx, viewer, a).await;
    }
    let c = &a.conversation;
    if c.status != Status::Queued {
        return Err(ChatError::Conflict(format!(
            "only a waiting conversation can be claimed; this one is {}",
            c.status.as_str()
        )));
    }
    let member = viewer.queues.contains(&c.queue);
    let queue = c.queue.clone();
    let state = repo::agents::state(&mut a.tx, viewer.agent_id, ctx.capacity())
        .await?
        .ok_or(ChatError::NotFound("agent"))?;
    routing::can_claim(&state, member, &queue).map_err(|e| ChatError::Forbidden(e.to_string()))?;
    let me = viewer.agent_id;
    let h = Handover::assigned(me, "claimed", Some(me), json!({ "claimed": true }), true);
    let c = a.hand_over(ctx, h).await?;
    a.commit().await?;
    Ok(c)
}

/// A supervisor steps into a conversation its bot is having: the bot stops at once (its
/// pending turns dropped, a reply still in flight discarded), the hand-over is recorded
/// (`conversation.handed_over`, reason `taken over`), and the supervisor holds it — the
/// bot's transcript stays in the conversation. Agents cannot: they get it when the bot
/// hands it to their queue.
async fn take_from_bot(
    ctx: &Ctx,
    viewer: &Viewer,
    mut a: Action,
) -> Result<Conversation, ChatError> {
    if !viewer.role.sees_everything() {
        return Err(ChatError::Forbidden(
            "only supervisors take a conversation from its bot".into(),
        ));
    }
    let id = a.conversation.id;
    automation::stop_bot(&mut a.tx, id).await?;
    let data = json!({ "reason": "taken over", "agent_id": viewer.agent_id });
    conversation_event(
        &mut a.tx,
        id,
        EventKind::ConversationHandedOver,
        data,
        a.now,
    )
    .await?;
    let bot = a.conversation.bot.clone().unwrap_or_default();
    tracing::info!(conversation_id = id, %bot, agent_id = viewer.agent_id, "taken from its bot");
    metrics::counter!("deflect_bot_handovers_total", "bot" => bot).increment(1);
    let me = viewer.agent_id;
    let h = Handover::assigned(
        me,
        "taken over",
        Some(me),
        json!({ "taken_over": true }),
        false,
    );
    let c = a.hand_over(ctx, h).await?;
    a.commit().await?;
    Ok(c)
}

/// Whom a transfer of `c` returns to when nobody accepts it: its holder, or (a transfer
/// being passed on) the one it returns to already.
fn returns_to(c: &Conversation) -> Option<AgentId> {
    if c.status == Status::Assigned {
        c.agent_id
    } else {
        c.return_agent_id
    }
}

/// The note given with a transfer, trimmed (`None` when empty), checked as notes are.
fn transfer_note(note: Option<&str>) -> Result<Option<&str>, ChatError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.len() > MAX_NOTE) {
        return Err(ChatError::Invalid("a note needs 1 to 16384 bytes".into()));
    }
    Ok(note)
}

/// Stores the note given with a transfer as an internal note by `viewer`, in the transfer's
/// transaction (both or neither); returns its id.
async fn note_transfer(
    a: &mut Action,
    viewer: &Viewer,
    note: Option<&str>,
) -> Result<Option<i64>, ChatError> {
    let Some(text) = note else { return Ok(None) };
    let (id, channel, now) = (a.conversation.id, a.conversation.channel, a.now);
    let m = repo::messages::insert_note(&mut a.tx, id, text, viewer.agent_id, channel, now).await?;
    let data = json!({ "message": m });
    repo::events::log(&mut a.tx, Some(id), EventKind::MessageCreated, data, now).await?;
    fault!("transfer-note", Err(ChatError::injected("transfer-note")));
    Ok(Some(m.id))
}

/// Transfers a conversation to another agent, who gets it as an offer; not accepted within
/// `inbox.transfer_timeout`, it returns unread to the agent who held it. `note` (for the
/// agent taking over) is stored as an internal note with the transfer.
pub(crate) async fn transfer_to_agent(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    to: AgentId,
    note: Option<&str>,
) -> Result<Conversation, ChatError> {
    let note = transfer_note(note)?;
    let mut a = Action::begin(ctx, id).await?;
    a.handled_by(viewer)?;
    a.open()?;
    if a.conversation.agent_id == Some(to) {
        return Err(ChatError::Invalid("the agent holds it already".into()));
    }
    let target = repo::agents::load(a.tx.conn(), to)
        .await?
        .ok_or(ChatError::NotFound("agent"))?;
    if target.disabled {
        return Err(ChatError::Invalid("that agent is disabled".into()));
    }
    let note_id = note_transfer(&mut a, viewer, note).await?;
    let h = Handover {
        status: Status::Offered,
        agent: to,
        return_agent: returns_to(&a.conversation),
        cancel: &[TimerKind::Offer, TimerKind::Wait],
        arm: Some((TimerKind::Transfer, a.now + ctx.transfer_timeout())),
        action: "transferred",
        by: Some(viewer.agent_id),
        event: EventKind::ConversationTransferred,
        data: json!({ "to_agent": to, "by": viewer.agent_id, "note_message_id": note_id }),
        ends_wait: false,
    };
    let c = a.hand_over(ctx, h).await?;
    a.commit().await?;
    Ok(c)
}

/// Transfers a conversation to a queue; if nobody there accepts it within
/// `inbox.transfer_timeout`, it returns unread to the agent who held it. `note` is stored as
/// an internal note with the transfer.
pub(crate) async fn transfer_to_queue(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    queue: &str,
    note: Option<&str>,
) -> Result<Conversation, ChatError> {
    if ctx.queue_config(queue).is_none() {
        return Err(ChatError::Invalid(format!(
            "unknown queue {queue:?}; configured: {}",
            ctx.queue_names().join(", ")
        )));
    }
    let note = transfer_note(note)?;
    let mut a = Action::begin(ctx, id).await?;
    a.handled_by(viewer)?;
    a.open()?;
    let note_id = note_transfer(&mut a, viewer, note).await?;
    let (now, holder) = (a.now, a.conversation.agent_id);
    let back = returns_to(&a.conversation);
    let tx = &mut a.tx;
    repo::conversations::set_return_agent(tx, id, back).await?;
    if back.is_some() {
        let due = now + ctx.transfer_timeout();
        crate::lifecycle::arm(ctx, tx, id, TimerKind::Transfer, due, None).await?;
    }
    let step = Step {
        agent: None,
        queue,
        action: "transferred",
        by: Some(viewer.agent_id),
    };
    repo::assignments::record(tx, id, step, now).await?;
    let data = json!({ "to_queue": queue, "by": viewer.agent_id, "note_message_id": note_id });
    conversation_event(tx, id, EventKind::ConversationTransferred, data, now).await?;
    dispatch::enqueue(ctx, tx, id, queue, None, now).await?;
    if let Some(prev) = holder {
        dispatch::pull_for_agent(ctx, tx, prev, now).await?;
    }
    let c = a.reload().await?;
    a.commit().await?;
    Ok(c)
}

/// Closes a conversation with a disposition (required when its queue says so).
pub(crate) async fn close(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    disposition: Option<&str>,
) -> Result<Conversation, ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    a.visible_to(viewer)?;
    let c = &a.conversation;
    if c.status == Status::Closed {
        return Err(ChatError::Conflict(
            "the conversation is closed already".into(),
        ));
    }
    if !(viewer.role.sees_everything() || c.agent_id == Some(viewer.agent_id)) {
        return Err(ChatError::Forbidden(
            "only the agent holding the conversation (or a supervisor) can close it".into(),
        ));
    }
    let q = ctx.queue_config(&c.queue);
    let choices = q
        .as_ref()
        .map(|q| q.dispositions.clone())
        .unwrap_or_default();
    let required = q.is_some_and(|q| q.disposition_required);
    let disposition = match disposition.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if choices.iter().any(|x| x == d) => d.to_string(),
        Some(d) => {
            return Err(ChatError::Invalid(format!(
                "unknown disposition {d:?}; choose one of: {}",
                choices.join(", ")
            )));
        }
        None if required => return Err(ChatError::DispositionRequired { choices }),
        None => String::new(),
    };
    let by = Some(viewer.agent_id);
    if c.status == Status::Relay {
        // Its agent on WhatsApp is told, and their chat with it ends.
        let c = c.clone();
        relay::closed_in_inbox(ctx, &mut a.tx, &c, a.now).await?;
    }
    dispatch::close(ctx, &mut a.tx, id, &disposition, by, a.now).await?;
    let c = a.reload().await?;
    a.commit().await?;
    Ok(c)
}

/// The message of the action's conversation sent before with `client_key`, if any.
async fn already_sent(
    a: &mut Action,
    client_key: Option<&str>,
) -> Result<Option<Message>, ChatError> {
    let Some(key) = client_key else {
        return Ok(None);
    };
    Ok(repo::messages::by_client_key(&mut a.tx, a.conversation.id, key).await?)
}

/// Refuses to send to a closed conversation, or on WhatsApp to an unreachable number.
fn check_sendable(c: &Conversation) -> Result<(), ChatError> {
    if c.status == Status::Closed {
        return Err(ChatError::Conflict("the conversation is closed".into()));
    }
    if c.channel == Channel::Whatsapp && c.unreachable {
        return Err(ChatError::Unreachable);
    }
    Ok(())
}

/// A WhatsApp call button, a call permission request or a call (`what`) only goes to a
/// WhatsApp conversation of an account that takes calls (`calling`).
fn check_calling(ctx: &Ctx, c: &Conversation, what: &str) -> Result<(), ChatError> {
    let calling = c.channel == Channel::Whatsapp
        && (c.account.as_deref())
            .and_then(|a| ctx.account(a))
            .is_some_and(|a| a.calling);
    if calling {
        Ok(())
    } else {
        Err(ChatError::Invalid(format!(
            "{what} needs a WhatsApp conversation of an account with calling = true"
        )))
    }
}

/// Whom `viewer` may call on WhatsApp from conversation `id`, whether or not the customer
/// allows it (see [`crate::Inbox::call_target`]).
pub(crate) async fn call_target(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
) -> Result<CallTarget, ChatError> {
    let c = repo::conversations::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
    ensure_visible(viewer, &c)?;
    check_calling(ctx, &c, "a WhatsApp call")?;
    let (Some(account), Some(phone)) = (&c.account, &c.contact_phone) else {
        return Err(ChatError::Invalid(
            "a WhatsApp call needs the customer's WhatsApp number".into(),
        ));
    };
    Ok(CallTarget {
        account: account.clone(),
        whatsapp_id: phone.trim_start_matches('+').to_owned(),
        conversation_id: id,
    })
}

/// Whether the customer of conversation `id` allowed calls as far as the conversations
/// say: their latest `call_permission_reply` on the account, here or in another
/// conversation of theirs. Why not otherwise.
pub(crate) async fn replied_call_permission(ctx: &Ctx, id: i64) -> Result<(), ChatError> {
    let reply = repo::messages::latest_call_permission_reply(ctx.store(), id).await?;
    call_permission(reply.as_ref(), ctx.now())
}

/// Whether the customer's latest answer to a call permission request (`reply`) lets the
/// business call them at `now`; why not otherwise.
fn call_permission(reply: Option<&Interactive>, now: Millis) -> Result<(), ChatError> {
    match reply {
        None => Err(ChatError::Conflict(format!(
            "the customer has not allowed calls: {ASK_FOR_CALLS}"
        ))),
        Some(Interactive::CallPermissionReply { response, .. }) if response != "accept" => {
            Err(ChatError::Conflict(format!(
                "the customer refused calls; {ASK_FOR_CALLS} again later"
            )))
        }
        Some(Interactive::CallPermissionReply {
            is_permanent: false,
            expiration_timestamp,
            ..
        }) if expiration_timestamp.is_none_or(|until| until * 1000 <= now) => {
            Err(ChatError::Conflict(format!(
                "the customer's permission to call has expired: {ASK_FOR_CALLS} again"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// Sends free text to the customer (see [`crate::Inbox::send_text`]).
pub(crate) async fn send_text(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    text: &str,
    client_key: Option<&str>,
) -> Result<Message, ChatError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(ChatError::Invalid(format!(
            "a message needs 1 to {MAX_TEXT} characters"
        )));
    }
    let send = outgoing::Send {
        client_key,
        ..outgoing::Send::text(text, outgoing::Author::Agent(viewer.agent_id))
    };
    send_within_window(ctx, viewer, id, send).await
}

/// Sends an interactive message to the customer (see [`crate::Inbox::send_interactive`]).
pub(crate) async fn send_interactive(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    text: &str,
    interactive: &Interactive,
    client_key: Option<&str>,
) -> Result<Message, ChatError> {
    let interactive = interactive.clone().trimmed();
    let text = text.trim();
    let body = match interactive.body() {
        Some(b) if !text.is_empty() && b != text => {
            return Err(ChatError::Invalid(
                "interactive.body: the text goes in `text` or in `interactive.body`, not both"
                    .into(),
            ));
        }
        Some(b) if text.is_empty() => b.to_string(),
        _ => text.to_string(),
    };
    interactive.check_sendable(&body)?;
    let request = Outgoing::interactive(&body, &interactive)
        .ok_or_else(|| ChatError::Invalid("interactive.type: not sendable".into()))?;
    let send = outgoing::Send {
        kind: "interactive",
        body: &body,
        request,
        author: outgoing::Author::Agent(viewer.agent_id),
        client_key,
    };
    send_within_window(ctx, viewer, id, send).await
}

/// The longest caption WhatsApp shows with a file.
const MAX_CAPTION: usize = 1024;

/// Sends an uploaded file to the customer (see [`crate::Inbox::send_file`]).
pub(crate) async fn send_file(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    token: &str,
    caption: Option<&str>,
    client_key: Option<&str>,
) -> Result<Message, ChatError> {
    let caption = caption.map(str::trim).filter(|c| !c.is_empty());
    if caption.is_some_and(|c| c.chars().count() > MAX_CAPTION) {
        return Err(ChatError::Invalid(format!(
            "text: a file's caption has at most {MAX_CAPTION} characters"
        )));
    }
    let mut a = Action::begin(ctx, id).await?;
    a.handled_by(viewer)?;
    if let Some(mut m) = already_sent(&mut a, client_key).await? {
        m.attachments = repo::attachments::of_message(&mut a.tx, m.id).await?;
        return Ok(m);
    }
    let upload = repo::uploads::by_token(&mut a.tx, token).await?;
    let fresh = a.now - crate::model::UPLOAD_TTL;
    let Some(u) = upload.filter(|u| u.conversation == id && u.created_at >= fresh) else {
        return Err(ChatError::Invalid(
            "attachments[0].token: no file was uploaded to this conversation with this token \
             (POST …/attachments first; uploads can be sent for 24 hours, once)"
                .into(),
        ));
    };
    if caption.is_some() && !MediaMessage::takes_caption(u.kind) {
        return Err(ChatError::Invalid(format!(
            "text: WhatsApp shows no caption with {} files; send the text as a message of its own",
            u.kind
        )));
    }
    let placeholder = format!("[{}]", u.kind);
    let request = Outgoing::Media(MediaMessage {
        kind: u.kind,
        blob_key: u.blob_key.clone(),
        token: u.token.clone(),
        mime_type: u.mime_type.clone(),
        size: u.size,
        filename: u.filename.clone(),
        caption: caption.map(str::to_string),
    });
    let send = outgoing::Send {
        kind: u.kind.as_str(),
        body: caption.unwrap_or(&placeholder),
        request,
        author: outgoing::Author::Agent(viewer.agent_id),
        client_key,
    };
    check_window(ctx, &a.conversation, a.now)?;
    let m = outgoing::queue_with(ctx, &mut a.tx, &a.conversation, send, Some(&u), a.now).await?;
    a.commit().await?;
    Ok(m)
}

/// Refuses to send to a closed or unreachable conversation, and free messages on WhatsApp
/// outside the 24 h window (naming the recontact template).
fn check_window(ctx: &Ctx, c: &Conversation, now: Millis) -> Result<(), ChatError> {
    check_sendable(c)?;
    if !c.window_open(now) {
        let recontact_template = c
            .account
            .as_deref()
            .and_then(|a| ctx.account(a))
            .map(|a| a.templates.recontact.name.clone())
            .unwrap_or_default();
        return Err(ChatError::OutsideWindow { recontact_template });
    }
    Ok(())
}

/// Sends `send` by an agent handling conversation `id`: WhatsApp takes it only within 24
/// hours of the customer's last message. A repeated client key returns the message sent.
async fn send_within_window(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    send: outgoing::Send<'_>,
) -> Result<Message, ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    a.handled_by(viewer)?;
    if let Some(m) = already_sent(&mut a, send.client_key).await? {
        return Ok(m);
    }
    let c = &a.conversation;
    check_sendable(c)?;
    match send.request {
        Outgoing::VoiceCall { .. } => check_calling(ctx, c, "interactive.type: voice_call")?,
        Outgoing::CallPermissionRequest { .. } => {
            check_calling(ctx, c, "interactive.type: call_permission_request")?;
        }
        _ => {}
    }
    if !c.window_open(a.now) {
        let recontact_template = c
            .account
            .as_deref()
            .and_then(|a| ctx.account(a))
            .map(|a| a.templates.recontact.name.clone())
            .unwrap_or_default();
        return Err(ChatError::OutsideWindow { recontact_template });
    }
    let m = outgoing::queue(ctx, &mut a.tx, &a.conversation, send, a.now).await?;
    a.commit().await?;
    Ok(m)
}

/// Sends the account's recontact template (allowed outside the 24 h window); the
/// customer's answer reopens the window.
pub(crate) async fn send_recontact(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    client_key: Option<&str>,
) -> Result<Message, ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    a.handled_by(viewer)?;
    if let Some(m) = already_sent(&mut a, client_key).await? {
        return Ok(m);
    }
    let c = &a.conversation;
    check_sendable(c)?;
    if c.channel != Channel::Whatsapp {
        return Err(ChatError::Invalid(
            "templates are for WhatsApp conversations".into(),
        ));
    }
    let account = c
        .account
        .as_deref()
        .and_then(|a| ctx.account(a))
        .ok_or_else(|| {
            ChatError::Conflict("the conversation's account is not configured".into())
        })?;
    let t = &account.templates.recontact;
    let agent = Some(viewer.agent_id);
    let m = outgoing::queue_template(ctx, &mut a.tx, c, t, agent, client_key, a.now).await?;
    a.commit().await?;
    Ok(m)
}

/// Sends a template of the conversation's account, filled in with `values` (see
/// [`crate::Inbox::send_template`]).
pub(crate) async fn send_template(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    values: &TemplateValues,
    client_key: Option<&str>,
) -> Result<Message, ChatError> {
    let mut a = Action::begin(ctx, id).await?;
    a.handled_by(viewer)?;
    if let Some(m) = already_sent(&mut a, client_key).await? {
        return Ok(m);
    }
    let c = &a.conversation;
    check_sendable(c)?;
    let account = match (c.channel, c.account.as_deref()) {
        (Channel::Whatsapp, Some(account)) => account.to_string(),
        _ => {
            return Err(ChatError::Invalid(
                "template: templates are for WhatsApp conversations".into(),
            ));
        }
    };
    let (name, language) = (values.name.trim(), values.language.trim());
    let t = repo::templates::get(a.tx.conn(), &account, name, language)
        .await?
        .ok_or_else(|| {
            ChatError::Invalid(format!(
                "template.name: account {account} has no template {name:?} in language {language:?}"
            ))
        })?;
    if t.status != APPROVED {
        return Err(ChatError::Invalid(format!(
            "template.name: {name:?} is {}, not approved; WhatsApp sends only approved templates",
            t.status
        )));
    }
    let filled = t.fill(values)?;
    let request = template_request(&t, filled.clone());
    let send = outgoing::Send {
        kind: "template",
        body: &filled.text,
        request,
        author: outgoing::Author::Agent(viewer.agent_id),
        client_key,
    };
    let m = outgoing::queue(ctx, &mut a.tx, &a.conversation, send, a.now).await?;
    a.commit().await?;
    Ok(m)
}

/// What the provider is asked to send for template `t` filled in as `f`.
fn template_request(t: &Template, f: Filled) -> Outgoing {
    let positional = t.positional();
    let header = f.header.map(|h| match h {
        FilledHeader::Text { name, value } => HeaderParam::Text {
            text: value,
            name: (!positional).then_some(name),
        },
        FilledHeader::Media { format, link } => HeaderParam::Media { format, link },
    });
    Outgoing::Template {
        name: t.name.clone(),
        language: t.language.clone(),
        body_params: f.positional,
        named_params: (f.named.into_iter())
            .map(|(name, value)| NamedParam { name, value })
            .collect(),
        header,
        url_buttons: (f.url_buttons.into_iter())
            .map(|(index, text)| UrlButtonParam { index, text })
            .collect(),
        button_payload: None,
        more_payloads: Vec::new(),
        content_sid: t.content_sid.clone(),
        variables: t.content_sid.is_some().then_some(f.variables),
        text: Some(f.text),
    }
}

/// The longest internal note, in bytes.
const MAX_NOTE: usize = 16 * 1024;

/// Adds an internal note, visible to agents only.
pub(crate) async fn add_note(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    text: &str,
) -> Result<Message, ChatError> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_NOTE {
        return Err(ChatError::Invalid("a note needs 1 to 16384 bytes".into()));
    }
    let mut a = Action::begin(ctx, id).await?;
    a.visible_to(viewer)?;
    let (channel, now) = (a.conversation.channel, a.now);
    let m = repo::messages::insert_note(&mut a.tx, id, text, viewer.agent_id, channel, now).await?;
    let data = json!({ "message": m });
    repo::events::log(&mut a.tx, Some(id), EventKind::MessageCreated, data, now).await?;
    a.commit().await?;
    Ok(m)
}

/// A conversation with its call context, if the viewer may see it.
pub(crate) async fn detail(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
) -> Result<ConversationDetail, ChatError> {
    let c = detail_unchecked(ctx, id).await?;
    ensure_visible(viewer, &c.conversation)?;
    Ok(c)
}

/// A conversation with its call context, without access control.
pub(crate) async fn detail_unchecked(ctx: &Ctx, id: i64) -> Result<ConversationDetail, ChatError> {
    let c = repo::conversations::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
    let call = repo::deflections::call_context(ctx.store(), id).await?;
    let labels = repo::labels::of_conversation(ctx.store(), id).await?;
    let q = ctx.queue_config(&c.queue);
    Ok(ConversationDetail {
        dispositions: q
            .as_ref()
            .map(|q| q.dispositions.clone())
            .unwrap_or_default(),
        disposition_required: q.is_some_and(|q| q.disposition_required),
        conversation: c,
        call,
        labels,
    })
}

/// A conversation's messages after message `after`, oldest first, if the viewer may see it.
pub(crate) async fn messages(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<Message>, ChatError> {
    let c = detail(ctx, viewer, id).await?;
    messages_unchecked(ctx, c.conversation.id, after, limit).await
}

/// A conversation's messages without access control.
pub(crate) async fn messages_unchecked(
    ctx: &Ctx,
    id: i64,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<Message>, ChatError> {
    let limit = i64::from(limit.clamp(1, 1000));
    Ok(repo::messages::list(ctx.store(), id, after.unwrap_or(0), limit).await?)
}

/// Conversations the viewer may see, newest first, narrowed by `filter`.
pub(crate) async fn list(
    ctx: &Ctx,
    viewer: &Viewer,
    filter: &ConversationFilter,
) -> Result<Vec<Conversation>, ChatError> {
    Ok(repo::conversations::list(ctx.store(), viewer, filter).await?)
}

/// [`list`], each conversation with what its row in the viewer's list shows.
pub(crate) async fn summaries(
    ctx: &Ctx,
    viewer: &Viewer,
    filter: &ConversationFilter,
) -> Result<Vec<ConversationSummary>, ChatError> {
    Ok(repo::conversations::summaries(ctx.store(), viewer, filter).await?)
}

/// The inbox's working views counted for the viewer: what they hold or are offered, the
/// queue, and the deflections waiting for the customer.
pub(crate) async fn counts(ctx: &Ctx, viewer: &Viewer) -> Result<ViewCounts, ChatError> {
    let store = ctx.store();
    let mine = ConversationFilter {
        status: vec![Status::Offered, Status::Assigned],
        agent_id: Some(viewer.agent_id),
        ..ConversationFilter::default()
    };
    let of = |status| ConversationFilter {
        status: vec![status],
        ..ConversationFilter::default()
    };
    Ok(ViewCounts {
        mine: repo::conversations::count(store, viewer, &mine).await?,
        queue: repo::conversations::count(store, viewer, &of(Status::Queued)).await?,
        waiting_for_customer: repo::conversations::count(store, viewer, &of(Status::Pending))
            .await?,
    })
}

/// Refuses ("not found") unless the viewer may see conversation `id` (one read: the
/// conversation, not what [`detail`] adds to it).
pub(crate) async fn ensure_visible_id(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
) -> Result<(), ChatError> {
    let c = repo::conversations::get(ctx.store(), id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
    ensure_visible(viewer, &c)
}

/// Records that the viewer has read conversation `id` up to message `upto` (its newest
/// message when `None`); the marker never moves back. Returns where it stands.
pub(crate) async fn mark_read(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    upto: Option<i64>,
) -> Result<Option<i64>, ChatError> {
    ensure_visible_id(ctx, viewer, id).await?;
    Ok(repo::reads::mark(ctx.store(), viewer.agent_id, id, upto, ctx.now()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(response: &str, is_permanent: bool, until: Option<i64>) -> Interactive {
        Interactive::CallPermissionReply {
            response: response.into(),
            is_permanent,
            expiration_timestamp: until,
        }
    }

    #[test]
    fn only_an_accepted_permission_in_force_allows_a_call() {
        let now = 1_800_000_000_000;
        let allowed = |r: Option<&Interactive>| call_permission(r, now).is_ok();
        assert!(!allowed(None), "never asked");
        assert!(!allowed(Some(&reply("reject", false, None))));
        assert!(!allowed(Some(&reply("reject", true, None))));
        assert!(allowed(Some(&reply("accept", true, None))));
        assert!(allowed(Some(&reply("accept", false, Some(now / 1000 + 1)))));
        assert!(
            !allowed(Some(&reply("accept", false, Some(now / 1000)))),
            "expired"
        );
        assert!(
            !allowed(Some(&reply("accept", false, None))),
            "temporary without an end"
        );
        let Err(ChatError::Conflict(why)) = call_permission(None, now) else {
            panic!("a conflict");
        };
        assert!(why.contains("call_permission_request"), "{why}");
    }
}
