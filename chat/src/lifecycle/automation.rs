//! What the inbox does on its own when a customer opens a conversation by writing on
//! WhatsApp (`[inbox.automations]`, per account `[whatsapp.accounts.automations]`):
//!
//! - **whitelist**: a number not on the account's whitelist gets `whitelist_reply`, and its
//!   conversation closes (disposition `not whitelisted`) without reaching a queue; the
//!   account's whitelist is the configured one joined with the entries admins added
//!   through the API for it or for every account (`Ctx::listed_numbers`);
//! - **welcome**: `welcome_message`, unless the contact was welcomed within
//!   `welcome_period`;
//! - **bot**: the conversation starts with the account's `bot` (status `bot`, not queued):
//!   the customer's messages become turns the bot worker (`crate::bots`) passes to it, and
//!   its replies are stored with sender `bot`. It ends in a queue when the bot hands it
//!   over — it asks to, or fails, or does not answer in time — or closed (`bot ended`)
//!   after the bot's `silence_close` without a message either way.
//! - **opening hours** (`hours`): outside them `closed_message`, and, with `closed_queue =
//!   false`, the conversation closes (disposition `outside hours`) instead of queueing (no
//!   welcome then). This rule also applies when a customer answers a deflected call's
//!   template (their conversation enters a queue then).
//!
//! Conversations opened by a deflected call (the template invited the customer) or by a
//! hand-off from the widget are not the customer's first contact: neither rule applies. The
//! widget's own first words are its site's `greeting`.
//!
//! Each automatic message is stored with sender `automation`, sent through the outbox like
//! any other, and counted in `deflect_inbox_automations_total{rule}`.

use super::{arm, conversation_event, dispatch, load, outgoing};
use crate::clock::{self, Millis};
use crate::context::Ctx;
use crate::faq::{DEFAULT_HANDOVER_WORDS, wants_person};
use crate::model::{
    ChatError, Conversation, EventKind, Message, NOT_WHITELISTED, OUTSIDE_HOURS, Origin, Status,
    TimerKind,
};
use crate::repo;
use crate::store::Tx;
use deflect_config::FAQ_BOT;
use serde_json::json;
use std::time::Duration;

/// Conversation `id`, just opened by a message from WhatsApp id `wa_id`: whether the
/// whitelist lets it reach a queue. One that may not is answered and closed here.
pub(crate) async fn admit(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    wa_id: &str,
    now: Millis,
) -> Result<bool, ChatError> {
    let c = load(tx, id).await?;
    if c.origin != Origin::Whatsapp {
        return Ok(true);
    }
    let account = c.account.as_deref();
    let rules = ctx.automations(account);
    if (ctx.listed_numbers(tx).await?).admits(rules, account, &format!("+{wa_id}")) {
        return Ok(true);
    }
    outgoing::automatic(ctx, tx, &c, &rules.whitelist_reply, "whitelist", now).await?;
    dispatch::close(ctx, tx, id, NOT_WHITELISTED, None, now).await?;
    Ok(false)
}

/// Welcomes the customer of conversation `id`, which they just opened by writing, unless
/// the account sends no welcome or they were welcomed within its period.
pub(crate) async fn welcome(ctx: &Ctx, tx: &mut Tx, id: i64, now: Millis) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    let rules = ctx.automations(c.account.as_deref());
    if rules.welcome_message.is_empty() {
        return Ok(());
    }
    let since = now - clock::ms(rules.welcome_period);
    if !repo::contacts::welcome(tx, c.contact_id, since, now).await? {
        return Ok(());
    }
    outgoing::automatic(ctx, tx, &c, &rules.welcome_message, "welcome", now).await
}

/// Whether a conversation of `account` enters its queue when its customer writes at `now`:
/// inside opening hours, or outside them with `closed_queue`.
pub(crate) fn may_queue(ctx: &Ctx, account: Option<&str>, now: Millis) -> bool {
    ctx.open_for_chat(account, now) || ctx.automations(account).closed_queue
}

/// Conversation `id`, whose customer just wrote and which is about to enter (or just
/// entered) a queue: outside the account's opening hours, `closed_message`; and when
/// conversations do not queue then, it closes here. Returns whether it may queue.
pub(crate) async fn after_hours(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<bool, ChatError> {
    let c = load(tx, id).await?;
    let account = c.account.as_deref();
    if ctx.open_for_chat(account, now) {
        return Ok(true);
    }
    let rules = ctx.automations(account);
    if !rules.closed_message.is_empty() {
        outgoing::automatic(ctx, tx, &c, &rules.closed_message, "closed", now).await?;
    }
    if rules.closed_queue {
        return Ok(true);
    }
    dispatch::close(ctx, tx, id, OUTSIDE_HOURS, None, now).await?;
    Ok(false)
}

/// Starts conversation `id`, just opened by the customer, with its account's bot, if the
/// account has one; returns whether it did. Its customer's messages then go to the bot
/// ([`to_bot`]) until the bot hands it over ([`hand_over`]) or it ends.
pub(crate) async fn start_bot(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<bool, ChatError> {
    let c = load(tx, id).await?;
    let name = &ctx.automations(c.account.as_deref()).bot;
    let known = name == FAQ_BOT || ctx.bot(name).is_some();
    if !known || c.origin != Origin::Whatsapp {
        return Ok(false);
    }
    repo::conversations::set_bot(tx, id, name).await?;
    conversation_event(tx, id, EventKind::ConversationBotStarted, json!({}), now).await?;
    metrics::counter!("deflect_bot_conversations_total", "bot" => name.clone()).increment(1);
    Ok(true)
}

/// Passes customer message `m` of conversation `id` (with its bot) to the bot: the FAQ bot
/// answers here; another's is a turn the bot worker takes after the commit. The bot's
/// silence timer starts again.
pub(crate) async fn to_bot(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    m: &Message,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    if c.bot.as_deref() == Some(FAQ_BOT) {
        return faq_answer(ctx, tx, &c, m, now).await;
    }
    repo::bot_turns::insert(tx, id, m.id, now).await?;
    ctx.wake_bots();
    bot_still_talking(ctx, tx, id, now).await
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
    let rules = ctx.automations(c.account.as_deref());
    let Some(text) = m.body.as_deref().filter(|_| m.kind == "text") else {
        return hand_over(ctx, tx, c.id, None, "the FAQ bot reads only text", now).await;
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
        return hand_over(ctx, tx, c.id, None, "the customer asked for a person", now).await;
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
            bot_still_talking(ctx, tx, c.id, now).await
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
            hand_over(ctx, tx, c.id, None, "the FAQ had no answer", now).await
        }
    }
}

/// Conversation `id` goes on with its bot: it closes if both stay silent for the bot's
/// `silence_close`.
pub(crate) async fn bot_still_talking(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
    let silence = (c.bot.as_deref())
        .and_then(|b| ctx.bot(b))
        .map_or(Duration::from_secs(600), |b| b.silence_close);
    arm(
        ctx,
        tx,
        id,
        TimerKind::BotSilence,
        now + clock::ms(silence),
        None,
    )
    .await
}

/// Hands conversation `id` from its bot to `queue` (the bot's configured queue, else the
/// inbox's default queue, when none or one that does not exist is named), for `reason`.
/// The bot's messages stay in the conversation: the agent reads the transcript there.
pub(crate) async fn hand_over(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    queue: Option<&str>,
    reason: &str,
    now: Millis,
) -> Result<(), ChatError> {
    let c = load(tx, id).await?;
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
    let bot = c.bot.unwrap_or_default();
    tracing::info!(conversation_id = id, %bot, reason, %queue, "handed over by its bot");
    metrics::counter!("deflect_bot_handovers_total", "bot" => bot).increment(1);
    dispatch::enqueue(ctx, tx, id, &queue, None, now).await
}

/// Conversation `id`'s bot stops: its pending turns are dropped and its silence timer with
/// them (a reply in flight finds the conversation no longer with its bot and is discarded).
pub(crate) async fn stop_bot(tx: &mut Tx, id: i64) -> Result<(), ChatError> {
    repo::bot_turns::cancel_all(tx, id).await?;
    repo::timers::cancel(tx, id, TimerKind::BotSilence).await?;
    Ok(())
}
