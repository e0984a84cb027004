//! Relaying a conversation to agents' own WhatsApp numbers (the deflection API's `agents`).
//!
//! The customer's first message (the hand-off code's) starts it: the customer hears
//! `finding_message` and the first agent of the list gets the account's `relay_offer`
//! template, whose quick replies accept or reject (`relay:accept:<reference>`,
//! `relay:reject:<reference>`). A rejection, or no answer within `offer_timeout`
//! (`TimerKind::RelayOffer`), offers it to the next agent; when nobody is left the customer
//! hears `nobody_message` and the conversation queues for the inbox or closes
//! (`[inbox.relay] fallback`). Once accepted, what the customer wrote so far and everything
//! after goes to the agent prefixed with the customer's name and reference, and the agent's
//! messages go to the customer under the agent's name. Files go as files (each side's copy
//! leaves once the attachment worker has stored it: [`file_settled`]), shared locations as
//! their text with a map link.
//!
//! Both legs are messages of the one conversation: the agent's leg is internal (kind
//! `relay`; the customer never sees it, supervisors do). An agent's message goes to the
//! conversation it replies to (the relayed copy it quotes), else to the agent's current one
//! (the last accepted, or chosen with `/switch`). Commands: `/close`, `/transfer NAME`,
//! `/note TEXT`, `/switch [REF]`, `/help`. Nobody writing for `inactivity_close`
//! (`TimerKind::RelayIdle`) closes it. The agent's side has its own 24 h window: a message
//! refused for it (131047) sends the account's `recontact` template once, and what failed
//! goes again when the agent writes or taps it. Agents' numbers are registered on the account by the
//! API call: their messages never open a customer's conversation.

use super::outgoing::{self, Author, Leg, Send};
use super::{arm, conversation_event, dispatch, load};
use crate::clock::{Millis, ms};
use crate::context::Ctx;
use crate::model::{
    AttachmentState, Channel, ChatError, Conversation, Direction, ErrorMeaning, EventKind,
    INACTIVE, Message, RELAY_HELP, Relay, RelayAgent, RelayCommand, RelayState, Status, TimerKind,
    map_link, new_token, offer_answer, offer_payloads, payload_for, reference_in_payload,
};
use crate::provider::{InboundMessage, MediaMessage, Outgoing, error_meaning};
use crate::repo::{self, attachments::MessageFile, relays::RegisteredAgent};
use crate::store::Tx;
use deflect_config::RelayFallback;
use serde_json::json;

/// Longest first message quoted in an offer.
const QUOTED: usize = 300;

/// The customer's first message arrived in relayed conversation `c` (pending): the customer
/// is told an agent is sought, and the first agent is offered it.
pub(crate) async fn begin(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(relay) = repo::relays::get(tx, c.id).await? else {
        return Ok(());
    };
    repo::conversations::set_relayed(tx, c.id).await?;
    let finding = ctx.settings().inbox.relay.finding_message.clone();
    to_customer(ctx, tx, c, &finding, None, "relay_finding", now).await?;
    offer(ctx, tx, c, &relay, relay.position, now).await
}

/// Conversation `id` enters `queue`: when the queue relays (`relay_agents`) and the
/// conversation is a WhatsApp one never relayed before, it is relayed to the queue's agents
/// instead of waiting (returns true). A relay nobody accepted falls back to the queue itself,
/// which then holds it for the inbox's agents.
pub(crate) async fn from_queue(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    queue: &str,
    now: Millis,
) -> Result<bool, ChatError> {
    let Some(agents) = ctx
        .queue_config(queue)
        .map(|q| q.relay_agents.clone())
        .filter(|a| !a.is_empty())
    else {
        return Ok(false);
    };
    if repo::relays::get(tx, id).await?.is_some() {
        return Ok(false);
    }
    let c = load(tx, id).await?;
    let account = c.account.as_deref().and_then(|a| ctx.account(a));
    let (Channel::Whatsapp, Some(account)) = (c.channel, account) else {
        return Ok(false);
    };
    let customer = repo::contacts::whatsapp_id_of(tx, id).await?;
    let business = account.business_number.trim_start_matches('+');
    let agents: Vec<RelayAgent> = (agents.into_iter())
        .filter(|a| customer.as_deref() != Some(a.wa_id()) && a.wa_id() != business)
        .collect();
    if agents.is_empty() {
        return Ok(false);
    }
    repo::relays::insert(tx, id, &account.name, &agents, now).await?;
    repo::conversations::set_queued(tx, id, queue, now).await?;
    let c = load(tx, id).await?;
    begin(ctx, tx, &c, now).await?;
    Ok(true)
}

/// The customer of relayed conversation `c` wrote `m`: relayed to the agent who holds it.
pub(crate) async fn customer_wrote(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(relay) = repo::relays::get(tx, c.id).await? else {
        return Ok(());
    };
    if let (RelayState::Active, Some(agent)) = (relay.state, relay.agent()) {
        copy_to_agent(ctx, tx, c, agent, m, now).await?;
        keep_alive(ctx, tx, c.id, now).await?;
    }
    Ok(())
}

/// Registered agent `agent` wrote `m` on `account`: an answer to an offer, a command, or a
/// message for their customer. Returns the conversation it was stored in; none when it was
/// stored before or concerns no conversation of theirs (dropped: there is nobody to tell).
pub(crate) async fn agent_wrote(
    ctx: &Ctx,
    tx: &mut Tx,
    account: &str,
    agent: &RegisteredAgent,
    m: &InboundMessage,
    now: Millis,
) -> Result<Option<i64>, ChatError> {
    let answer = m.button_payload.as_deref().and_then(offer_answer);
    // A tap on an offer names its conversation, and so does one on the template that
    // reopened the agent's window.
    let named = answer
        .map(|a| a.1)
        .or_else(|| m.button_payload.as_deref().and_then(reference_in_payload));
    let Some(relay) = target(tx, account, agent, m, named).await? else {
        tracing::info!(
            account,
            "a relay agent wrote with no relayed conversation; dropped"
        );
        metrics::counter!("deflect_inbox_relay_dropped_total").increment(1);
        return Ok(None);
    };
    let id = relay.conversation;
    let c = load(tx, id).await?;
    let held = relay.held_by(&agent.wa_id) && c.status == Status::Relay;
    let text = m.body.clone().unwrap_or_default();
    let command = (m.kind == "text")
        .then(|| RelayCommand::parse(&text))
        .flatten();
    let shown = match (&command, m.kind.as_str()) {
        (Some(RelayCommand::Note(note)), _) => note.clone(),
        (_, "text" | "button" | "interactive") => text.clone(),
        // A file's text is its caption, or `[image]` without one.
        (_, _) if !m.media.is_empty() => text.clone(),
        (_, kind) => format!("[{kind}] {text}").trim_end().to_string(),
    };
    let stored = repo::messages::insert_from_relay_agent(
        tx,
        id,
        (account, &m.external_id),
        &shown,
        &agent.name,
        now,
    )
    .await?;
    let Some(mut stored) = stored else {
        return Ok(None);
    };
    if held && !m.media.is_empty() {
        // Fetched by the attachment worker, then passed on (`file_settled`); a file sent
        // to a relay not held is neither.
        let files = [(stored.id, account, m.media.as_slice())];
        let mut files = repo::attachments::insert_all(tx, &files, now).await?;
        stored.attachments = files.remove(&stored.id).unwrap_or_default();
    }
    repo::events::log(
        tx,
        Some(id),
        EventKind::MessageCreated,
        json!({ "message": stored }),
        now,
    )
    .await?;
    // The agent's side is open again: what could not reach them meanwhile goes now.
    repo::relays::heard_from(tx, account, &agent.wa_id, now).await?;
    resend_lapsed(ctx, tx, account, &agent.wa_id, now).await?;
    if let Some((accept, _)) = answer {
        answer_offer(ctx, tx, &c, &relay, agent, accept, now).await?;
        return Ok(Some(id));
    }
    let offered = relay.state == RelayState::Offered
        && relay.agent().is_some_and(|a| a.wa_id() == agent.wa_id);
    if !held {
        let text = match offered {
            true => format!("Tap Accept to chat with {}, or Reject.", who(&c)),
            false => format!("You are not chatting with {} now.", who(&c)),
        };
        tell(ctx, tx, &c, &agent.wa_id, &text, now).await?;
        return Ok(Some(id));
    }
    if agent.current != Some(id) {
        repo::relays::set_current(tx, account, &agent.wa_id, Some(id)).await?;
    }
    match command {
        Some(command) => run(ctx, tx, &c, &relay, agent, command, now).await?,
        // Files follow once stored (`file_settled`).
        None if !m.media.is_empty() => keep_alive(ctx, tx, id, now).await?,
        None if matches!(
            m.kind.as_str(),
            "text" | "location" | "contacts" | "reaction"
        ) =>
        {
            let text = with_map_link(&m.kind, &text);
            let send = Send::text(&text, Author::RelayAgent);
            outgoing::queue_on(
                ctx,
                tx,
                &c,
                send,
                None,
                Leg::FromRelayAgent(&agent.name),
                now,
            )
            .await?;
            keep_alive(ctx, tx, id, now).await?;
        }
        // A tap (the template reopening their window): nothing to pass on.
        None if m.button_payload.is_some() => {}
        None => {
            let text = "This kind of message is not passed on to the customer; it was not sent.";
            tell(ctx, tx, &c, &agent.wa_id, text, now).await?;
        }
    }
    Ok(Some(id))
}

/// The relay an agent's message concerns: the one its quick reply names, the one whose
/// relayed message it replies to, else the agent's current one, else the one offered to
/// them last — among those the agent
/// is (or was) offered.
async fn target(
    tx: &mut Tx,
    account: &str,
    agent: &RegisteredAgent,
    m: &InboundMessage,
    named: Option<&str>,
) -> Result<Option<Relay>, ChatError> {
    let named = match named {
        Some(reference) => repo::relays::by_reference(tx, account, reference).await?,
        None => None,
    };
    let quoted = match (named, m.context_id.as_deref()) {
        (None, Some(context)) => (repo::messages::by_external_id(tx, account, context).await?)
            .map(|(_, conversation)| conversation),
        _ => None,
    };
    let offered = match named.or(quoted).or(agent.current) {
        None => repo::relays::offered_to(tx, account, &agent.wa_id).await?,
        Some(_) => None,
    };
    let Some(id) = named.or(quoted).or(agent.current).or(offered) else {
        return Ok(None);
    };
    let relay = repo::relays::get(tx, id).await?;
    Ok(relay.filter(|r| r.agents.iter().any(|a| a.wa_id() == agent.wa_id)))
}

/// Agent `agent` accepted or rejected the offer of `c`.
async fn answer_offer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    agent: &RegisteredAgent,
    accept: bool,
    now: Millis,
) -> Result<(), ChatError> {
    let offered = relay.state == RelayState::Offered
        && relay.agent().is_some_and(|a| a.wa_id() == agent.wa_id)
        && c.status == Status::Relay;
    if !offered {
        let text = format!("The chat with {} is no longer offered to you.", who(c));
        return tell(ctx, tx, c, &agent.wa_id, &text, now).await;
    }
    repo::timers::cancel(tx, c.id, TimerKind::RelayOffer).await?;
    if accept {
        return connect(ctx, tx, c, relay, now).await;
    }
    state_event(tx, c.id, "rejected", relay.agent(), now).await?;
    offer(ctx, tx, c, relay, relay.position + 1, now).await
}

/// The offer of relayed conversation `id` lapsed (its timer fired): the next agent.
pub(crate) async fn offer_lapsed(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(relay) = repo::relays::get(tx, id).await? else {
        return Ok(());
    };
    let timeout = ms(ctx.settings().inbox.relay.offer_timeout);
    let lapsed = relay.offered_at.is_some_and(|at| at + timeout <= now);
    if relay.state != RelayState::Offered || !lapsed {
        return Ok(());
    }
    let c = load(tx, id).await?;
    if c.status != Status::Relay {
        return Ok(());
    }
    state_event(tx, id, "expired", relay.agent(), now).await?;
    offer(ctx, tx, &c, &relay, relay.position + 1, now).await
}

/// Nobody wrote in relayed conversation `id` for `inactivity_close` (its timer fired): it
/// closes.
pub(crate) async fn idle(ctx: &Ctx, tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
    let Some(relay) = repo::relays::get(tx, id).await? else {
        return Ok(());
    };
    let c = load(tx, id).await?;
    if relay.state != RelayState::Active || c.status != Status::Relay {
        return Ok(());
    }
    if let Some(agent) = relay.agent() {
        let text = format!(
            "The chat with {} closed: nobody wrote for a while.",
            who(&c)
        );
        tell(ctx, tx, &c, agent.wa_id(), &text, now).await?;
    }
    end(ctx, tx, &c, &relay, INACTIVE, now).await
}

/// A message to the agent of relayed conversation `id` failed with `error_code`: outside
/// the agent's 24 h window, the account's `recontact` template asks them (once per closed
/// window) to reopen it; what failed goes again when they write ([`resend_lapsed`]).
pub(crate) async fn copy_failed(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    error_code: Option<i64>,
    now: Millis,
) -> Result<(), ChatError> {
    if error_meaning(error_code) != ErrorMeaning::OutsideWindow {
        return Ok(());
    }
    let Some(relay) = repo::relays::get(tx, id).await? else {
        return Ok(());
    };
    let Some(agent) = relay.agent().filter(|_| relay.state == RelayState::Active) else {
        return Ok(());
    };
    if !repo::relays::reopen_due(tx, &relay.account, agent.wa_id(), now).await? {
        return Ok(());
    }
    let account = ctx
        .account(&relay.account)
        .ok_or(ChatError::NotFound("WhatsApp account"))?;
    let c = load(tx, id).await?;
    let t = &account.templates.recontact;
    let text = format!("Template {} (reference {})", t.name, c.reference);
    let request = Outgoing::Template {
        name: t.name.clone(),
        language: t.language.clone(),
        body_params: vec![c.reference.clone()],
        named_params: Vec::new(),
        header: None,
        url_buttons: Vec::new(),
        button_payload: Some(payload_for(&c.reference)),
        more_payloads: Vec::new(),
        content_sid: t.content_sid.clone(),
        variables: None,
        text: None,
    };
    to_agent(ctx, tx, &c, agent.wa_id(), request, &text, now).await?;
    metrics::counter!("deflect_inbox_relay_reopens_total").increment(1);
    Ok(())
}

/// Sends again, to agent `wa_id` of `account`, the relayed messages that failed for their
/// closed window, in order.
async fn resend_lapsed(
    ctx: &Ctx,
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let lapsed = repo::relays::lapsed(tx, account, wa_id).await?;
    let Some(&(last, _, _)) = lapsed.last() else {
        return Ok(());
    };
    let mut c: Option<Conversation> = None;
    for (_, conversation, text) in &lapsed {
        if c.as_ref().is_none_or(|c| c.id != *conversation) {
            c = Some(load(tx, *conversation).await?);
        }
        if let Some(c) = &c {
            tell(ctx, tx, c, wa_id, text, now).await?;
        }
    }
    repo::relays::resent_through(tx, account, wa_id, last).await?;
    Ok(())
}

/// Relayed conversation `c` is closed from the inbox (a supervisor): its relay ends, and
/// the agent holding it — or offered it — is told.
pub(crate) async fn closed_in_inbox(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(relay) = repo::relays::get(tx, c.id).await? else {
        return Ok(());
    };
    let Some(agent) = relay.agent() else {
        return Ok(());
    };
    let text = format!("The chat with {} was closed by the team.", who(c));
    tell(ctx, tx, c, agent.wa_id(), &text, now).await?;
    finish(tx, c, &relay, now).await
}

/// Offers `c` to the agent at `position` of its list; nobody left: the fallback.
async fn offer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    position: usize,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(agent) = relay.agents.get(position) else {
        return nobody(ctx, tx, c, relay, now).await;
    };
    let wa_id = agent.wa_id();
    let state = RelayState::Offered;
    repo::relays::set(tx, c.id, position, state, Some(wa_id), Some(now), now).await?;
    let account = ctx
        .account(&relay.account)
        .ok_or(ChatError::NotFound("WhatsApp account"))?;
    let template = &account.templates.relay_offer;
    let first = repo::messages::from_customer(tx, c.id, 1).await?;
    let first = first
        .first()
        .and_then(|m| m.body.clone())
        .unwrap_or_default();
    let params = vec![
        parameter(c.contact_name.as_deref().unwrap_or("A customer")),
        parameter(&first),
        parameter(&details(c.metadata.as_ref())),
        c.reference.clone(),
    ];
    let about = match c.metadata.as_ref().map(|m| details(Some(m))) {
        Some(d) if !d.is_empty() => format!(" ({d})"),
        _ => String::new(),
    };
    let text = format!(
        "{} wants to chat ({}): \"{}\"{about}. Accept or reject?",
        params[0], params[3], params[1]
    );
    let [accept, reject] = offer_payloads(&c.reference);
    let request = Outgoing::Template {
        name: template.name.clone(),
        language: template.language.clone(),
        body_params: params,
        named_params: Vec::new(),
        header: None,
        url_buttons: Vec::new(),
        button_payload: Some(accept),
        more_payloads: vec![reject],
        content_sid: template.content_sid.clone(),
        variables: None,
        text: Some(text.clone()),
    };
    to_agent(ctx, tx, c, wa_id, request, &text, now).await?;
    let timeout = ms(ctx.settings().inbox.relay.offer_timeout);
    arm(ctx, tx, c.id, TimerKind::RelayOffer, now + timeout, None).await?;
    state_event(tx, c.id, "offered", Some(agent), now).await?;
    metrics::counter!("deflect_inbox_relay_offers_total").increment(1);
    Ok(())
}

/// Every agent rejected `c` or let the offer lapse: the customer is told, and the
/// conversation queues for the inbox or closes.
async fn nobody(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    now: Millis,
) -> Result<(), ChatError> {
    repo::relays::set(tx, c.id, relay.position, RelayState::Ended, None, None, now).await?;
    state_event(tx, c.id, "unanswered", None, now).await?;
    let rules = ctx.settings().inbox.relay.clone();
    to_customer(ctx, tx, c, &rules.nobody_message, None, "relay_nobody", now).await?;
    metrics::counter!("deflect_inbox_relay_unanswered_total").increment(1);
    match rules.fallback {
        // Boxed: a queue's relay begins inside `enqueue` itself.
        RelayFallback::Queue => {
            Box::pin(dispatch::enqueue(ctx, tx, c.id, &c.queue, None, now)).await
        }
        RelayFallback::Close => dispatch::close(ctx, tx, c.id, "unanswered", None, now).await,
    }
}

/// The agent offered `c` accepted: the customer is told, the agent gets what the customer
/// wrote so far, and `c` becomes the agent's current conversation.
async fn connect(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(agent) = relay.agent() else {
        return Ok(());
    };
    let wa_id = agent.wa_id();
    let (position, offered_at) = (relay.position, relay.offered_at);
    let active = RelayState::Active;
    repo::relays::set(tx, c.id, position, active, Some(wa_id), offered_at, now).await?;
    repo::relays::set_current(tx, &relay.account, wa_id, Some(c.id)).await?;
    state_event(tx, c.id, "accepted", Some(agent), now).await?;
    let connected = ctx.settings().inbox.relay.connected_message.clone();
    to_customer(
        ctx,
        tx,
        c,
        &connected,
        Some(&agent.name),
        "relay_connected",
        now,
    )
    .await?;
    let text = format!(
        "You are chatting with {}. Your messages go to them; reply to one of theirs to answer them when you chat with several. /help lists the commands.",
        who(c)
    );
    tell(ctx, tx, c, wa_id, &text, now).await?;
    for m in repo::messages::from_customer(tx, c.id, 50).await? {
        copy_to_agent(ctx, tx, c, agent, &m, now).await?;
    }
    keep_alive(ctx, tx, c.id, now).await
}

/// Agent `agent`, holding `c`, wrote `command`.
async fn run(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    agent: &RegisteredAgent,
    command: RelayCommand,
    now: Millis,
) -> Result<(), ChatError> {
    let to = agent.wa_id.as_str();
    match command {
        RelayCommand::Close => {
            tell(
                ctx,
                tx,
                c,
                to,
                &format!("Closed the chat with {}.", who(c)),
                now,
            )
            .await?;
            end(ctx, tx, c, relay, "closed by agent", now).await
        }
        RelayCommand::Note(_) => {
            tell(ctx, tx, c, to, "Noted; the customer does not see it.", now).await
        }
        RelayCommand::Help => tell(ctx, tx, c, to, RELAY_HELP, now).await,
        RelayCommand::Switch(None) => {
            let held = repo::relays::held_by(tx, &relay.account, to).await?;
            let mut text = String::from("Your chats:");
            for (id, reference, name) in held {
                let mark = if id == c.id { " (current)" } else { "" };
                let name = name.as_deref().unwrap_or("Customer");
                text.push_str(&format!("\n{name} ({reference}){mark}"));
            }
            text.push_str("\n/switch REF writes to another.");
            tell(ctx, tx, c, to, &text, now).await
        }
        RelayCommand::Switch(Some(reference)) => {
            let held = repo::relays::held_by(tx, &relay.account, to).await?;
            match held.iter().find(|h| h.1 == reference) {
                Some(&(id, _, _)) => {
                    repo::relays::set_current(tx, &relay.account, to, Some(id)).await?;
                    let other = load(tx, id).await?;
                    let text = format!("Now writing to {}.", who(&other));
                    tell(ctx, tx, &other, to, &text, now).await
                }
                None => {
                    let text = format!("You have no chat {reference}; /switch lists yours.");
                    tell(ctx, tx, c, to, &text, now).await
                }
            }
        }
        RelayCommand::Transfer(name) => transfer(ctx, tx, c, relay, agent, &name, now).await,
    }
}

/// Agent `agent` hands `c` to the agent called `name` (of the relay's list, else any
/// registered on the account), who is offered it.
async fn transfer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    agent: &RegisteredAgent,
    name: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let to = agent.wa_id.as_str();
    let listed = (relay.agents.iter()).position(|a| a.name.eq_ignore_ascii_case(name));
    let mut relay = relay.clone();
    let position = match listed {
        Some(p) => p,
        None => match repo::relays::agent_named(tx, &relay.account, name).await? {
            Some(other) => {
                relay.agents.push(other);
                repo::relays::set_agents(tx, c.id, &relay.agents).await?;
                relay.agents.len() - 1
            }
            None => {
                let text = format!("Nobody called {name} takes relayed chats here.");
                return tell(ctx, tx, c, to, &text, now).await;
            }
        },
    };
    if relay.agents[position].wa_id() == to {
        return tell(ctx, tx, c, to, "You already hold this chat.", now).await;
    }
    let target = relay.agents[position].name.clone();
    let text = format!("Offered the chat with {} to {target}.", who(c));
    tell(ctx, tx, c, to, &text, now).await?;
    state_event(tx, c.id, "transferred", relay.agents.get(position), now).await?;
    release(tx, &relay.account, to, c.id).await?;
    offer(ctx, tx, c, &relay, position, now).await
}

/// `c` ends (closed by its agent or for inactivity): the agent's next chat becomes current.
async fn end(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    disposition: &str,
    now: Millis,
) -> Result<(), ChatError> {
    finish(tx, c, relay, now).await?;
    dispatch::close(ctx, tx, c.id, disposition, None, now).await
}

/// The relay of `c` is over (`conversation.relay` `ended`): its agent's next chat becomes
/// current.
async fn finish(
    tx: &mut Tx,
    c: &Conversation,
    relay: &Relay,
    now: Millis,
) -> Result<(), ChatError> {
    let (position, agent) = (relay.position, relay.agent());
    repo::relays::set(tx, c.id, position, RelayState::Ended, None, None, now).await?;
    state_event(tx, c.id, "ended", agent, now).await?;
    match agent {
        Some(agent) => release(tx, &relay.account, agent.wa_id(), c.id).await,
        None => Ok(()),
    }
}

/// Agent `wa_id` no longer holds `conversation`: if it was their current one, their oldest
/// other becomes it.
async fn release(
    tx: &mut Tx,
    account: &str,
    wa_id: &str,
    conversation: i64,
) -> Result<(), ChatError> {
    let Some(agent) = repo::relays::agent(tx, account, wa_id).await? else {
        return Ok(());
    };
    if agent.current == Some(conversation) {
        let held = repo::relays::held_by(tx, account, wa_id).await?;
        let next = held.iter().map(|h| h.0).find(|&id| id != conversation);
        repo::relays::set_current(tx, account, wa_id, next).await?;
    }
    Ok(())
}

/// Sends customer message `m` of `c` to `agent`, prefixed with who wrote it: its files as
/// files once they are stored (a file still being fetched defers the whole message to
/// [`file_settled`]), a location with a map link.
async fn copy_to_agent(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    agent: &RelayAgent,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    let body = m.body.as_deref().unwrap_or_default();
    let Some(files) = settled_files(tx, m.id).await? else {
        return Ok(());
    };
    if files.is_empty() {
        let content = match m.kind.as_str() {
            "text" | "button" | "interactive" => body.to_string(),
            "location" => with_map_link(&m.kind, body),
            kind => format!("[{kind}] {body}").trim_end().to_string(),
        };
        let text = format!("{}: {content}", who(c));
        return tell(ctx, tx, c, agent.wa_id(), &text, now).await;
    }
    let caption = caption_of(m, body);
    let leg = Leg::ToRelayAgent(agent.wa_id());
    for (i, f) in files.iter().enumerate() {
        let caption = caption.filter(|_| i == 0);
        let line = match caption {
            Some(caption) => format!("{}: {caption}", who(c)),
            None => format!("{}: [{}]", who(c), f.kind),
        };
        if f.state == AttachmentState::Failed {
            let text = format!("{line} (the file could not be fetched)");
            tell(ctx, tx, c, agent.wa_id(), &text, now).await?;
        } else if MediaMessage::takes_caption(f.kind) {
            send_file(ctx, tx, c, f, Some(&line), Author::Automation, leg, now).await?;
        } else {
            // Voice notes and stickers take no caption: who sent it comes first.
            tell(ctx, tx, c, agent.wa_id(), &line, now).await?;
            send_file(ctx, tx, c, f, None, Author::Automation, leg, now).await?;
        }
    }
    Ok(())
}

/// A file of message `message` of conversation `id` was stored or failed: in an active
/// relay the customer's files go to the agent (with the rest of their message), the
/// agent's to the customer — or the agent hears it could not be fetched.
pub(crate) async fn file_settled(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    message: i64,
    now: Millis,
) -> Result<(), ChatError> {
    if repo::relays::get(tx, id).await?.is_none() {
        return Ok(());
    }
    // Locked: an accept being committed is seen, and of two files of one message settling
    // at once, the second sees both.
    let c = load(tx, id).await?;
    let Some(relay) = repo::relays::get(tx, id).await? else {
        return Ok(());
    };
    let Some(agent) = relay.agent().filter(|_| relay.state == RelayState::Active) else {
        return Ok(());
    };
    if c.status != Status::Relay {
        return Ok(());
    }
    let m = repo::messages::reload(tx, message).await?;
    match (m.direction, m.internal) {
        (Direction::In, false) => copy_to_agent(ctx, tx, &c, agent, &m, now).await,
        (Direction::In, true) if m.sender_name.as_deref() == Some(agent.name.as_str()) => {
            files_to_customer(ctx, tx, &c, agent, &m, now).await
        }
        _ => Ok(()),
    }
}

/// Sends the files of agent message `m` to the customer of `c`, once all are settled; the
/// agent hears of any that could not be fetched.
async fn files_to_customer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    agent: &RelayAgent,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    let Some(files) = settled_files(tx, m.id).await? else {
        return Ok(());
    };
    let caption = caption_of(m, m.body.as_deref().unwrap_or_default());
    let leg = Leg::FromRelayAgent(&agent.name);
    for (i, f) in files.iter().enumerate() {
        if f.state == AttachmentState::Failed {
            let text = format!("Your {} could not be fetched; it was not sent.", f.kind);
            tell(ctx, tx, c, agent.wa_id(), &text, now).await?;
            continue;
        }
        let caption = caption.filter(|_| i == 0 && MediaMessage::takes_caption(f.kind));
        send_file(ctx, tx, c, f, caption, Author::RelayAgent, leg, now).await?;
    }
    Ok(())
}

/// The files of message `message`, once none is still being fetched.
async fn settled_files(tx: &mut Tx, message: i64) -> Result<Option<Vec<MessageFile>>, ChatError> {
    let files = repo::attachments::files_of(tx, message).await?;
    let pending = files.iter().any(|f| f.state == AttachmentState::Pending);
    Ok((!pending).then_some(files))
}

/// The caption message `m` (with text `body`) gave its file, if any (WhatsApp's text of a
/// file without one is `[kind]`).
fn caption_of<'a>(m: &Message, body: &'a str) -> Option<&'a str> {
    let body = body.trim();
    (!body.is_empty() && body != format!("[{}]", m.kind)).then_some(body)
}

/// Sends stored file `f` (with `caption`) on `leg` of `c`, as a message of its own holding
/// a copy of the file under a token of its own.
#[allow(clippy::too_many_arguments)]
async fn send_file(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    f: &MessageFile,
    caption: Option<&str>,
    author: Author,
    leg: Leg<'_>,
    now: Millis,
) -> Result<(), ChatError> {
    let token = new_token();
    let Some(file) = f.copy(&token) else {
        return Ok(());
    };
    let placeholder = format!("[{}]", f.kind);
    let request = Outgoing::Media(MediaMessage {
        kind: f.kind,
        blob_key: file.blob_key.to_string(),
        token: token.clone(),
        mime_type: f.mime_type.clone(),
        size: f.size,
        filename: f.filename.clone(),
        caption: caption.map(str::to_string),
    });
    let kind = match leg {
        Leg::ToRelayAgent(_) => "relay",
        Leg::Customer | Leg::FromRelayAgent(_) => f.kind.as_str(),
    };
    let send = Send {
        kind,
        body: caption.unwrap_or(&placeholder),
        request,
        author,
        client_key: None,
    };
    outgoing::queue_on(ctx, tx, c, send, Some(&file), leg, now).await?;
    Ok(())
}

/// `text` of a message of `kind`, with a map link when it is a location.
fn with_map_link(kind: &str, text: &str) -> String {
    match map_link(text).filter(|_| kind == "location") {
        Some(link) => format!("{text}\n{link}"),
        None => text.to_string(),
    }
}

/// Sends `text` to the agent with WhatsApp id `wa_id` on `c`'s agent leg.
async fn tell(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    wa_id: &str,
    text: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let request = Outgoing::Text { body: text.into() };
    to_agent(ctx, tx, c, wa_id, request, text, now).await
}

/// Sends `request` (shown as `text`) to the agent with WhatsApp id `wa_id` on `c`'s agent
/// leg.
async fn to_agent(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    wa_id: &str,
    request: Outgoing,
    text: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let send = Send {
        kind: "relay",
        body: text,
        request,
        author: Author::Automation,
        client_key: None,
    };
    outgoing::queue_on(ctx, tx, c, send, None, Leg::ToRelayAgent(wa_id), now).await?;
    Ok(())
}

/// Sends the relay's `text` (none when empty) to the customer of `c`.
async fn to_customer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    text: &str,
    agent_name: Option<&str>,
    rule: &'static str,
    now: Millis,
) -> Result<(), ChatError> {
    if text.is_empty() {
        return Ok(());
    }
    let extra = [("agent_name", agent_name.unwrap_or(""))];
    outgoing::automatic_with(ctx, tx, c, text, rule, &extra, now).await
}

/// (Re)arms the inactivity close of relayed conversation `id`.
async fn keep_alive(ctx: &Ctx, tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
    let after = ms(ctx.settings().inbox.relay.inactivity_close);
    arm(ctx, tx, id, TimerKind::RelayIdle, now + after, None).await
}

/// Logs `conversation.relay` for `id`: the relay's new `state` and the agent concerned.
async fn state_event(
    tx: &mut Tx,
    id: i64,
    state: &str,
    agent: Option<&RelayAgent>,
    now: Millis,
) -> Result<(), ChatError> {
    let data = json!({ "state": state, "agent": agent });
    conversation_event(tx, id, EventKind::ConversationRelay, data, now).await?;
    Ok(())
}

/// How agents know the customer of `c`: their name and the reference.
fn who(c: &Conversation) -> String {
    let name = c.contact_name.as_deref().unwrap_or("Customer");
    format!("{name} ({})", c.reference)
}

/// `text` as a template parameter: one line (WhatsApp refuses line breaks, tabs and long
/// runs of spaces in one), at most [`QUOTED`] characters, never empty.
fn parameter(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = line.chars().take(QUOTED).collect();
    if line.chars().count() > QUOTED {
        out.push('…');
    }
    if out.is_empty() { "-".into() } else { out }
}

/// The details an API call gave (its metadata), as one line: `key: value, …`.
fn details(metadata: Option<&serde_json::Value>) -> String {
    let Some(serde_json::Value::Object(fields)) = metadata else {
        return String::new();
    };
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_one_short_line_and_details_name_their_keys() {
        assert_eq!(
            parameter("  two\nlines\tand   spaces "),
            "two lines and spaces"
        );
        assert_eq!(parameter(""), "-");
        let long = "x".repeat(QUOTED + 5);
        assert_eq!(parameter(&long).chars().count(), QUOTED + 1);
        let m = json!({ "order": 7, "topic": "refund" });
        assert_eq!(details(Some(&m)), "order: 7, topic: refund");
        assert_eq!(details(None), "");
    }
}
