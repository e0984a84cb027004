//! Outgoing messages: committed with the conversation's change (and, for WhatsApp, an outbox
//! row the outbox worker sends after the commit).

use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::{
    Channel, ChatError, Conversation, DeliveryStatus, EventKind, Message, Sender, Template,
    TemplateButton, TemplateHeader, payload_for,
};
use crate::provider::Outgoing;
use crate::repo::{self, attachments::NewStored, messages::NewOutgoing, uploads::Upload};
use crate::routing::AgentId;
use crate::store::Tx;
use deflect_config::{TemplateConfig, render_text};
use serde_json::json;

/// A message to send.
#[derive(Clone, Debug)]
pub(crate) struct Send<'a> {
    /// `text`, `template`, ….
    pub(crate) kind: &'a str,
    /// The text shown for it.
    pub(crate) body: &'a str,
    /// What the provider is asked to send.
    pub(crate) request: Outgoing,
    /// Who writes it.
    pub(crate) author: Author,
    /// The sender's idempotency key.
    pub(crate) client_key: Option<&'a str>,
}

impl<'a> Send<'a> {
    /// A text written by `author`.
    pub(crate) fn text(body: &'a str, author: Author) -> Self {
        Self {
            kind: "text",
            body,
            request: Outgoing::Text { body: body.into() },
            author,
            client_key: None,
        }
    }
}

/// Who writes an outgoing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Author {
    /// An agent.
    Agent(AgentId),
    /// The inbox on its own (auto-replies, welcome, templates after a call).
    Automation,
    /// The conversation's bot.
    Bot,
    /// The agent a relayed conversation is relayed to, writing on their own WhatsApp (no
    /// agent of the inbox; their name goes with [`Leg::FromRelayAgent`]).
    RelayAgent,
}

/// Which way a WhatsApp message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Leg<'a> {
    /// To the conversation's customer.
    Customer,
    /// To the customer, from the relay's agent of this name.
    FromRelayAgent(&'a str),
    /// To the relay's agent with this WhatsApp id: internal, the customer never sees it.
    ToRelayAgent(&'a str),
}

impl Author {
    /// The agent, if one writes; the inbox otherwise.
    pub(crate) fn of(agent: Option<AgentId>) -> Self {
        agent.map_or(Self::Automation, Self::Agent)
    }

    fn agent(self) -> Option<AgentId> {
        match self {
            Self::Agent(a) => Some(a),
            Self::Automation | Self::Bot | Self::RelayAgent => None,
        }
    }

    fn sender(self) -> Sender {
        match self {
            Self::Agent(_) | Self::RelayAgent => Sender::Agent,
            Self::Automation => Sender::Automation,
            Self::Bot => Sender::Bot,
        }
    }
}

/// Commits an outgoing message of conversation `c` (and, for WhatsApp, its outbox row); the
/// outbox worker sends it after the commit. A web chat's message is sent as it is stored.
pub(crate) async fn queue(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    send: Send<'_>,
    now: Millis,
) -> Result<Message, ChatError> {
    queue_on(ctx, tx, c, send, None, Leg::Customer, now).await
}

/// As [`queue`], for a message carrying uploaded file `file`: the upload becomes the
/// message's attachment (keeping its token and URL) in the same transaction, so the
/// `message.created` event and the API show the file with the message.
pub(crate) async fn queue_with(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    send: Send<'_>,
    file: Option<&Upload>,
    now: Millis,
) -> Result<Message, ChatError> {
    let stored = file.map(NewStored::of_upload);
    let m = queue_on(ctx, tx, c, send, stored.as_ref(), Leg::Customer, now).await?;
    if let Some(u) = file {
        repo::uploads::delete(tx, u.id).await?;
    }
    Ok(m)
}

/// As [`queue`], on leg `leg` of a relayed conversation, carrying stored file `file` (an
/// upload's, or a relayed message's copied under a token of its own).
pub(crate) async fn queue_on(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    send: Send<'_>,
    file: Option<&NewStored<'_>>,
    leg: Leg<'_>,
    now: Millis,
) -> Result<Message, ChatError> {
    let (status, recipient) = match (c.channel, leg) {
        (_, Leg::ToRelayAgent(agent)) => (DeliveryStatus::Queued, Some(agent.to_string())),
        (Channel::Web, _) => (DeliveryStatus::Sent, None),
        (Channel::Sms, _) => (DeliveryStatus::Queued, Some(sms_number(tx, c).await?)),
        (Channel::Whatsapp, _) => {
            let to = repo::contacts::whatsapp_id_of(tx, c.id)
                .await?
                .ok_or_else(|| {
                    ChatError::Conflict("the conversation has no WhatsApp number".into())
                })?;
            (DeliveryStatus::Queued, Some(to))
        }
    };
    let request = match (c.channel, send.request) {
        // SMS carries text alone.
        (Channel::Sms, Outgoing::Text { body } | Outgoing::Sms { body }) => Outgoing::Sms { body },
        (Channel::Sms, _) if matches!(leg, Leg::Customer | Leg::FromRelayAgent(_)) => {
            return Err(ChatError::Invalid(
                "the conversation continues by SMS: send text".into(),
            ));
        }
        (_, request) => request,
    };
    let send = Send { request, ..send };
    let payload = serde_json::to_string(&send.request).expect("a request serializes");
    // An SMS is kept as the conversation shows it (the fallback's signed link hidden); the
    // outbox sends the request itself.
    let stored = match &send.request {
        Outgoing::Sms { .. } => serde_json::to_string(&Outgoing::Sms {
            body: send.body.to_string(),
        })
        .expect("a request serializes"),
        _ => payload.clone(),
    };
    let interactive = (send.request.as_interactive())
        .map(|i| serde_json::to_string(&i).expect("an interactive message serializes"));
    let new = NewOutgoing {
        conversation: c.id,
        kind: send.kind,
        body: send.body,
        payload: &stored,
        interactive: interactive.as_deref(),
        agent: send.author.agent(),
        sender: send.author.sender(),
        channel: c.channel,
        account: recipient.as_ref().and(c.account.as_deref()),
        client_key: send.client_key,
        status,
        internal: matches!(leg, Leg::ToRelayAgent(_)),
        sender_name: match leg {
            Leg::FromRelayAgent(name) => Some(name),
            Leg::Customer | Leg::ToRelayAgent(_) => None,
        },
    };
    let mut m = repo::messages::insert_outgoing(tx, &new, now).await?;
    if let Some(file) = file {
        let a = repo::attachments::insert_stored(tx, m.id, new.account, file, now).await?;
        m.attachments = vec![a];
    }
    if let (Some(to), Some(account)) = (recipient, c.account.as_deref()) {
        repo::outbox::insert(tx, m.id, account, &to, &payload, now).await?;
        ctx.wake_outbox();
    }
    match send.author {
        // An agent's message is activity; automatic ones (auto-replies) are not.
        Author::Agent(_) => {
            repo::conversations::touch(tx, c.id, now).await?;
            super::waiting::agent_wrote(ctx, tx, c, now).await?;
        }
        Author::RelayAgent => repo::conversations::touch(tx, c.id, now).await?,
        Author::Automation | Author::Bot => {}
    }
    let data = json!({ "message": m });
    repo::events::log(tx, Some(c.id), EventKind::MessageCreated, data, now).await?;
    metrics::counter!("deflect_inbox_messages_total", "direction" => "out", "channel" => c.channel.as_str())
        .increment(1);
    Ok(m)
}

/// Queues template `t` in conversation `c`, carrying its reference: the template's body
/// parameter, and the quick-reply payload that brings the customer's answer back to `c`.
/// When the account's listed templates hold it (with that one parameter), the message shows
/// the text the customer receives; otherwise its name and the reference.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn queue_template(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    t: &TemplateConfig,
    agent: Option<AgentId>,
    client_key: Option<&str>,
    now: Millis,
) -> Result<Message, ChatError> {
    let listed = match c.account.as_deref() {
        Some(account) => repo::templates::get(tx.conn(), account, &t.name, &t.language).await?,
        None => None,
    };
    let text = listed.and_then(|listed| reference_text(&listed, &c.reference));
    let request = Outgoing::Template {
        name: t.name.clone(),
        language: t.language.clone(),
        body_params: vec![c.reference.clone()],
        button_payload: Some(payload_for(&c.reference)),
        content_sid: t.content_sid.clone(),
        named_params: Vec::new(),
        header: None,
        url_buttons: Vec::new(),
        more_payloads: Vec::new(),
        variables: None,
        text: text.clone(),
    };
    let body = text.unwrap_or_else(|| format!("Template {} (reference {})", t.name, c.reference));
    let send = Send {
        kind: "template",
        body: &body,
        request,
        author: Author::of(agent),
        client_key,
    };
    queue(ctx, tx, c, send, now).await
}

/// The text a listed template reads with `reference` as its one body parameter `{{1}}`;
/// none when it takes other values (a header's, a button's, more parameters).
fn reference_text(listed: &Template, reference: &str) -> Option<String> {
    let header_free = match &listed.header {
        None => true,
        Some(TemplateHeader::Text { parameter, .. }) => parameter.is_none(),
        Some(TemplateHeader::Media { .. }) => false,
    };
    let url_free = !(listed.buttons.iter()).any(|b| {
        matches!(
            b,
            TemplateButton::Url {
                parameter: Some(_),
                ..
            }
        )
    });
    (listed.parameters == ["1"] && header_free && url_free)
        .then(|| listed.text(|_| None, |n| (n == "1").then(|| reference.to_string())))
}

/// The number an SMS conversation's messages go to: its customer's, as digits (the SMS
/// client writes it in E.164), as for the SMS fallback.
async fn sms_number(tx: &mut Tx, c: &Conversation) -> Result<String, ChatError> {
    (repo::contacts::whatsapp_id_of(tx, c.id).await?)
        .ok_or_else(|| ChatError::Conflict("the conversation has no phone number".into()))
}

/// Sends automatic text `text` (automation `rule`, e.g. `welcome`) in conversation `c`, its
/// variables filled (`deflect_config::CONVERSATION_VARIABLES`), and counts it in
/// `deflect_inbox_automations_total{rule}`.
pub(crate) async fn automatic(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    text: &str,
    rule: &'static str,
    now: Millis,
) -> Result<(), ChatError> {
    automatic_with(ctx, tx, c, text, rule, &[], now).await
}

/// As [`automatic`], with values for the rule's own variables besides the conversation's
/// (a queue notice's `position` and `wait`).
pub(crate) async fn automatic_with(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    text: &str,
    rule: &'static str,
    extra: &[(&str, &str)],
    now: Millis,
) -> Result<(), ChatError> {
    let text = conversation_text(text, c, extra);
    queue(ctx, tx, c, Send::text(&text, Author::Automation), now).await?;
    metrics::counter!("deflect_inbox_automations_total", "rule" => rule).increment(1);
    Ok(())
}

/// Sends `text` by `author` in conversation `c`, its variables filled
/// (`deflect_config::CONVERSATION_VARIABLES`).
pub(crate) async fn filled(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    text: &str,
    author: Author,
    now: Millis,
) -> Result<Message, ChatError> {
    let text = conversation_text(text, c, &[]);
    queue(ctx, tx, c, Send::text(&text, author), now).await
}

/// `text` with the variables of conversation `c` filled; the configuration check refused
/// unknown variables and bad syntax, so the text as written is a fallback that cannot
/// happen.
pub(crate) fn conversation_text(text: &str, c: &Conversation, extra: &[(&str, &str)]) -> String {
    let mut values = vec![
        ("customer_name", c.contact_name.as_deref().unwrap_or("")),
        ("customer_phone", c.contact_phone.as_deref().unwrap_or("")),
        ("queue", c.queue.as_str()),
        ("reference", c.reference.as_str()),
    ];
    values.extend_from_slice(extra);
    render_text(text, &values).unwrap_or_else(|e| {
        tracing::error!(cause = %e, "an automatic text cannot be rendered; sent as written");
        text.to_owned()
    })
}
