//! What the inbox does on its own when a customer opens a conversation by writing on
//! WhatsApp (`[inbox.automations]`, per account `[whatsapp.accounts.automations]`):
//!
//! - **whitelist**: a number not on the account's whitelist gets `whitelist_reply`, and its
//!   conversation closes (disposition `not whitelisted`) without reaching a queue;
//! - **welcome**: `welcome_message`, unless the contact was welcomed within
//!   `welcome_period`;
//! - **bot**: the conversation starts with the account's `bot` (status `bot`, not queued):
//!   the customer's messages become turns the bot worker (`crate::bots`) passes to it, and
//!   its replies are stored with sender `bot`. It ends in a queue when the bot hands it
//!   over — it asks to, or fails, or does not answer in time — or closed (`bot ended`)
//!   after the bot's `silence_close` without a message either way.
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
use crate::model::{ChatError, EventKind, NOT_WHITELISTED, Origin, Status, TimerKind};
use crate::repo;
use crate::store::Tx;
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
    let rules = ctx.automations(c.account.as_deref());
    if c.origin != Origin::Whatsapp || rules.admits(&format!("+{wa_id}")) {
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
    let Some(bot) = ctx.bot(name).filter(|_| c.origin == Origin::Whatsapp) else {
        return Ok(false);
    };
    repo::conversations::set_bot(tx, id, &bot.name).await?;
    conversation_event(tx, id, EventKind::ConversationBotStarted, json!({}), now).await?;
    metrics::counter!("deflect_bot_conversations_total", "bot" => bot.name.clone()).increment(1);
    Ok(true)
}

/// Passes customer message `message` of conversation `id` (with its bot) to the bot: a
/// turn the bot worker takes after the commit. The bot's silence timer starts again.
pub(crate) async fn to_bot(
    ctx: &Ctx,
    tx: &mut Tx,
    id: i64,
    message: i64,
    now: Millis,
) -> Result<(), ChatError> {
    repo::bot_turns::insert(tx, id, message, now).await?;
    ctx.wake_bots();
    bot_still_talking(ctx, tx, id, now).await
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
    repo::bot_turns::cancel_all(tx, id).await?;
    repo::timers::cancel(tx, id, TimerKind::BotSilence).await?;
    let data = json!({ "reason": reason, "queue": queue });
    conversation_event(tx, id, EventKind::ConversationHandedOver, data, now).await?;
    let bot = c.bot.unwrap_or_default();
    metrics::counter!("deflect_bot_handovers_total", "bot" => bot).increment(1);
    dispatch::enqueue(ctx, tx, id, &queue, None, now).await
}
