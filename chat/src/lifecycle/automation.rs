//! What the inbox does on its own when a customer opens a conversation — by writing on
//! WhatsApp, on the widget, or by answering a deflected call's template — following the
//! conversation's rules (`Ctx::automations_of`: `[inbox.automations]`, then its account's,
//! then its widget site's or IVR flow's overrides):
//!
//! - **whitelist** (WhatsApp): a number not on the account's whitelist gets
//!   `whitelist_reply`, and its conversation closes (disposition `not whitelisted`) without
//!   reaching a queue; the account's whitelist is the configured one joined with the
//!   entries admins added through the API for it or for every account
//!   (`Ctx::listed_numbers`);
//! - **welcome** (WhatsApp and the widget): `welcome_message` — in the contact's language
//!   when `welcome_translations` has it — unless the contact was welcomed within
//!   `welcome_period`;
//! - **bot**: the conversation starts with its `bot` (status `bot`, not queued): the
//!   customer's messages become turns the bot worker (`crate::bots`) passes to it, and its
//!   replies are stored with sender `bot` (the widget shows them as the bot's). It ends in a
//!   queue when the bot hands it over — it asks to, or fails, or does not answer in time —
//!   or closed (`bot ended`) after the bot's `silence_close` without a message either way.
//!   A widget conversation starts with its site's bot; a deflected call's when the customer
//!   first answers the template (where it would enter a queue).
//! - **opening hours** (`hours`, WhatsApp): outside them `closed_message`, and, with
//!   `closed_queue = false`, the conversation closes (disposition `outside hours`) instead
//!   of queueing (no welcome then). This rule also applies when a customer answers a
//!   deflected call's template (their conversation enters a queue then). A widget site has
//!   hours of its own (`[widget.sites] hours`: the widget offers WhatsApp outside them).
//!
//! A deflected call's conversation is not the customer's first contact (the template invited
//! them), nor is an API hand-off's: no whitelist or welcome. The widget's own first line is
//! its site's `greeting`; the welcome, when set, follows it in the conversation.
//!
//! Each automatic message is stored with sender `automation`, sent through the outbox like
//! any other (on the widget, as it is stored), and counted in
//! `deflect_inbox_automations_total{rule}`.

use super::{arm, conversation_event, dispatch, outgoing};
use crate::clock::{self, Millis};
use crate::context::Ctx;
use crate::faq::{DEFAULT_HANDOVER_WORDS, wants_person};
use crate::model::{
    Channel, ChatError, Conversation, EventKind, Message, NOT_WHITELISTED, OUTSIDE_HOURS, Origin,
    Status, TimerKind,
};
use crate::repo;
use crate::store::Tx;
use deflect_config::FAQ_BOT;
use serde_json::json;
use std::time::Duration;

/// Conversation `c`, just opened by a message from WhatsApp id `wa_id`: whether the
/// whitelist lets it reach a queue. One that may not is answered and closed here.
pub(crate) async fn admit(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    wa_id: &str,
    now: Millis,
) -> Result<bool, ChatError> {
    if c.origin != Origin::Whatsapp {
        return Ok(true);
    }
    let account = c.account.as_deref();
    let rules = ctx.automations_of(c);
    if (ctx.listed_numbers(tx).await?).admits(&rules, account, &format!("+{wa_id}")) {
        return Ok(true);
    }
    outgoing::automatic(ctx, tx, c, &rules.whitelist_reply, "whitelist", now).await?;
    dispatch::close(ctx, tx, c.id, NOT_WHITELISTED, None, now).await?;
    Ok(false)
}

/// Welcomes the customer of conversation `c`, which they just opened (by writing, or on the
/// widget), in their language when the welcome has a translation for it — unless its rules
/// send no welcome or the customer was welcomed within their period.
pub(crate) async fn welcome(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<(), ChatError> {
    let rules = ctx.automations_of(c);
    let text = rules.welcome_for(c.contact_language.as_deref());
    if text.is_empty() {
        return Ok(());
    }
    let since = now - clock::ms(rules.welcome_period);
    if !repo::contacts::welcome(tx, c.contact_id, since, now).await? {
        return Ok(());
    }
    outgoing::automatic(ctx, tx, c, text, "welcome", now).await
}

/// Whether a conversation a customer opens on WhatsApp account `account` enters its queue
/// at `now`: inside opening hours, or outside them with `closed_queue`.
pub(crate) fn may_queue(ctx: &Ctx, account: Option<&str>, now: Millis) -> bool {
    ctx.open_for_chat(account, now) || ctx.automations(account).closed_queue
}

/// As [`may_queue`], for conversation `c` by its own rules.
pub(crate) fn may_queue_of(ctx: &Ctx, c: &Conversation, now: Millis) -> bool {
    ctx.open_for_chat_of(c, now) || ctx.automations_of(c).closed_queue
}

/// The customer answered pending conversation `c` (a deflection or hand-off waiting for
/// them) with `m`: outside opening hours they are told so (and it may close); else its
/// bot takes the answer, or it queues.
pub(crate) async fn answered(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    if after_hours(ctx, tx, c, now).await? {
        match start_bot(ctx, tx, c, now).await? {
            Some(c) => to_bot(ctx, tx, &c, m, now).await?,
            None => dispatch::enqueue(ctx, tx, c.id, &c.queue, None, now).await?,
        }
    }
    Ok(())
}

/// Conversation `c`, whose customer just wrote and which is about to enter (or just
/// entered) a queue: outside its opening hours, `closed_message`; and when conversations do
/// not queue then, it closes here. Returns whether it may queue.
pub(crate) async fn after_hours(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<bool, ChatError> {
    if ctx.open_for_chat_of(c, now) {
        return Ok(true);
    }
    let rules = ctx.automations_of(c);
    if !rules.closed_message.is_empty() {
        outgoing::automatic(ctx, tx, c, &rules.closed_message, "closed", now).await?;
    }
    if rules.closed_queue {
        return Ok(true);
    }
    dispatch::close(ctx, tx, c.id, OUTSIDE_HOURS, None, now).await?;
    Ok(false)
}

/// Starts conversation `c`, just opened by the customer — on WhatsApp, on the widget, or by
/// answering a deflected call's template — with its rules' bot, if they name one; returns
/// the conversation as it is then (status `bot`), or none. Its customer's messages then go
/// to the bot ([`to_bot`]) until the bot hands it over ([`hand_over`]) or it ends. An API
/// hand-off's conversation never starts with a bot: the integration asked for an agent.
pub(crate) async fn start_bot(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<Option<Conversation>, ChatError> {
    let name = &ctx.automations_of(c).bot;
    let known = name == FAQ_BOT || ctx.bot(name).is_some();
    let opened_by_customer = matches!(c.origin, Origin::Whatsapp | Origin::Web | Origin::Call);
    if !known || !opened_by_customer {
        return Ok(None);
    }
    repo::conversations::set_bot(tx, c.id, name).await?;
    let data = json!({});
    let c = conversation_event(tx, c.id, EventKind::ConversationBotStarted, data, now).await?;
    metrics::counter!("deflect_bot_conversations_total", "bot" => name.clone()).increment(1);
    Ok(Some(c))
}

/// Passes customer message `m` of conversation `c` (with its bot) to the bot: the FAQ bot
/// answers here; another's is a turn the bot worker takes after the commit. The bot's
/// silence timer starts again.
pub(crate) async fn to_bot(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    if c.bot.as_deref() == Some(FAQ_BOT) {
        return faq_answer(ctx, tx, c, m, now).await;
    }
    repo::bot_turns::insert(tx, c.id, m.id, now).await?;
    ctx.wake_bots();
    bot_still_talking(ctx, tx, c, now).await
}

/// The FAQ bot's turn: the answer of the question `m` asks, if it matches well enough; a
/// customer who asks for a person, writes something else than text or asks what no entry
/// answers is handed over. Each outcome is logged with its score and the entry (`entry`:
/// its index in `[[inbox.faq]]`; `api_entry`: the id of one added through the API), so
/// operators can tune `faq_min_score` and the questions.
async fn faq_answer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    let rules = ctx.automations_of(c);
    let Some(text) = m.body.as_deref().filter(|_| m.kind == "text") else {
        return hand_over(ctx, tx, c, None, "the FAQ bot reads only text", now).await;
    };
    let defaults = || {
        DEFAULT_HANDOVER_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    };
    let words = match rules.handover_words.is_empty() {
        true => defaults(),
        false => rules.handover_words.clone(),
    };
    if wants_person(text, &words) {
        metrics::counter!("deflect_faq_turns_total", "outcome" => "person").increment(1);
        return hand_over(ctx, tx, c, None, "the customer asked for a person", now).await;
    }
    let account = c.account.as_deref().unwrap_or_default();
    let faq = ctx.faq(tx).await?;
    match faq.best(account, text) {
        Some((entry, found)) if found.score >= rules.faq_min_score => {
            let (configured, api_entry) = faq.origin(found.entry);
            tracing::info!(
                conversation_id = c.id,
                entry = configured,
                api_entry,
                score = found.score,
                "FAQ answered"
            );
            metrics::counter!("deflect_faq_turns_total", "outcome" => "answered").increment(1);
            outgoing::filled(ctx, tx, c, &entry.answer, outgoing::Author::Bot, now).await?;
            bot_still_talking(ctx, tx, c, now).await
        }
        other => {
            let ((entry, api_entry), score) =
                other.map_or(((None, None), 0.0), |(_, f)| (faq.origin(f.entry), f.score));
            tracing::info!(
                conversation_id = c.id,
                entry,
                api_entry,
                score,
                "FAQ had no answer"
            );
            metrics::counter!("deflect_faq_turns_total", "outcome" => "unanswered").increment(1);
            hand_over(ctx, tx, c, None, "the FAQ had no answer", now).await
        }
    }
}

/// Conversation `c` goes on with its bot: it closes if both stay silent for the bot's
/// `silence_close`.
pub(crate) async fn bot_still_talking(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    now: Millis,
) -> Result<(), ChatError> {
    let silence = (c.bot.as_deref())
        .and_then(|b| ctx.bot(b))
        .map_or(Duration::from_secs(600), |b| b.silence_close);
    arm(
        ctx,
        tx,
        c.id,
        TimerKind::BotSilence,
        now + clock::ms(silence),
        None,
    )
    .await
}

/// Hands conversation `c` (as loaded in `tx`) from its bot to `queue` (the bot's
/// configured queue, else the inbox's default queue, when none or one that does not exist
/// is named), for `reason`. The bot's messages stay in the conversation: the agent reads
/// the transcript there. A widget visitor is offered WhatsApp after their site's
/// `escalation_timeout` from now, when no agent has taken it by then.
pub(crate) async fn hand_over(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    queue: Option<&str>,
    reason: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let id = c.id;
    if c.status != Status::Bot {
        return Ok(());
    }
    let configured = c.bot.as_deref().and_then(|b| ctx.bot(b));
    let queue = queue
        .or_else(|| configured.and_then(|b| b.queue.as_deref()))
        .filter(|q| ctx.queue_config(q).is_some())
        .unwrap_or_else(|| ctx.default_queue())
        .to_string();
    stop_bot(tx, id).await?;
    let data = json!({ "reason": reason, "queue": queue });
    conversation_event(tx, id, EventKind::ConversationHandedOver, data, now).await?;
    let bot = c.bot.clone().unwrap_or_default();
    tracing::info!(conversation_id = id, %bot, reason, %queue, "handed over by its bot");
    metrics::counter!("deflect_bot_handovers_total", "bot" => bot).increment(1);
    let settings = ctx.settings();
    let site = (c.site.as_deref()).and_then(|s| settings.widget.site(s));
    if let (Channel::Web, None, Some(site)) = (c.channel, c.escalation_at, site) {
        let due = now + clock::ms(site.escalation_timeout);
        arm(ctx, tx, id, TimerKind::Escalation, due, None).await?;
    }
    dispatch::enqueue(ctx, tx, id, &queue, None, now).await
}

/// Conversation `id`'s bot stops: its pending turns are dropped and its silence timer with
/// them (a reply in flight finds the conversation no longer with its bot and is discarded).
pub(crate) async fn stop_bot(tx: &mut Tx, id: i64) -> Result<(), ChatError> {
    repo::bot_turns::cancel_all(tx, id).await?;
    repo::timers::cancel(tx, id, TimerKind::BotSilence).await?;
    Ok(())
}
