//! The SMS fallback: when WhatsApp cannot reach a deflected caller's number (the deflection
//! template failed as not a WhatsApp user, undeliverable), an account with
//! `[whatsapp.accounts.sms_fallback]` sends one SMS to that number, committed to the outbox
//! with the failure's status (so it goes out once, after the commit, like any message), and
//! shown in the conversation. A deflection to a number WhatsApp could not reach in the last 30
//! days sends its SMS at once, instead of the template ([`KNOWN_UNREACHABLE_MS`]). Its `{{link}}` opens a signed, expiring page
//! (`<public_base_url>/continue/<id>?expires=…&signature=…`, valid `link_ttl`) where the
//! customer continues the same conversation in the browser (the widget of the account's
//! site) or on WhatsApp; without a public address or a widget site, the business's WhatsApp
//! chat itself — a customer who installs WhatsApp and writes from the same number continues
//! the same conversation. The conversation shows the SMS with a signed link hidden
//! ([`HIDDEN_LINK`]).

use crate::blobs::LinkKind;
use crate::clock::Millis;
use crate::context::Ctx;
use crate::lifecycle::outgoing::{self, Author, Send};
use crate::model::{ChatError, Conversation, Message, Status};
use crate::provider::Outgoing;
use deflect_config::{AccountConfig, render_text};

/// What the conversation shows in place of a signed continue link.
pub(crate) const HIDDEN_LINK: &str = "[continue link]";

/// How long a number WhatsApp could not reach is taken as not on WhatsApp: a deflection to
/// it sends the SMS at once.
pub(crate) const KNOWN_UNREACHABLE_MS: Millis = 30 * 24 * 3600 * 1000;

/// Sends conversation `conversation`'s SMS fallback, when it is a deflection still waiting
/// for the customer and its account has one; returns the SMS.
pub(crate) async fn fall_back(
    ctx: &Ctx,
    tx: &mut crate::store::Tx,
    conversation: i64,
    now: Millis,
) -> Result<Option<Message>, ChatError> {
    let c = super::load(tx, conversation).await?;
    if c.status != Status::Pending {
        return Ok(None);
    }
    let Some(account) = c.account.as_deref().and_then(|a| ctx.account(a)) else {
        return Ok(None);
    };
    let Some(sms) = &account.sms_fallback else {
        return Ok(None);
    };
    let link = continue_link(ctx, &c, account, sms.link_ttl, now);
    let render = |link: &str| {
        let values = [
            ("link", link),
            ("reference", c.reference.as_str()),
            ("business_number", account.business_number.as_str()),
        ];
        render_text(&sms.text, &values).unwrap_or_else(|e| {
            tracing::error!(cause = %e, "the SMS fallback's text cannot be rendered; sent as written");
            sms.text.clone()
        })
    };
    // The conversation shows a signed continue link hidden: whoever opens it first keeps
    // the conversation, and that must be the customer, not someone reading along.
    let shown = match link.contains("/continue/") {
        true => render(HIDDEN_LINK),
        false => render(&link),
    };
    let send = Send {
        kind: "sms",
        body: &shown,
        request: Outgoing::Sms {
            body: render(&link),
        },
        author: Author::Automation,
        client_key: None,
    };
    let m = outgoing::queue(ctx, tx, &c, send, now).await?;
    metrics::counter!("deflect_inbox_sms_fallbacks_total", "account" => account.name.clone())
        .increment(1);
    Ok(Some(m))
}

/// Where the SMS of conversation `c` sends the customer (see the module documentation).
fn continue_link(
    ctx: &Ctx,
    c: &Conversation,
    account: &AccountConfig,
    ttl: std::time::Duration,
    now: Millis,
) -> String {
    let base = ctx.settings().public_base_url.clone();
    match (base, ctx.continue_site(c.account.as_deref())) {
        (Some(base), Some(_)) => {
            let expires = now + crate::clock::ms(ttl);
            let links = ctx.links();
            links.link_to(LinkKind::Continue, &base, &c.id.to_string(), expires)
        }
        _ => format!(
            "https://wa.me/{}",
            account.business_number.trim_start_matches('+')
        ),
    }
}
