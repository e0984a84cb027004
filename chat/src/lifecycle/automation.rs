//! What the inbox does on its own when a customer opens a conversation by writing on
//! WhatsApp (`[inbox.automations]`, per account `[whatsapp.accounts.automations]`):
//!
//! - **whitelist**: a number not on the account's whitelist gets `whitelist_reply`, and its
//!   conversation closes (disposition `not whitelisted`) without reaching a queue;
//! - **welcome**: `welcome_message`, unless the contact was welcomed within
//!   `welcome_period`;
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

use super::{dispatch, load, outgoing};
use crate::clock::{self, Millis};
use crate::context::Ctx;
use crate::model::{ChatError, NOT_WHITELISTED, OUTSIDE_HOURS, Origin};
use crate::repo;
use crate::store::Tx;

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
