//! Contacts as agents see them beside a conversation, and the labels they put on
//! conversations.
//!
//! - **The contact card** ([`contact`]): with the same access as the conversation, the
//!   customer's profile and identities (a WhatsApp id, the widget sites they chatted on —
//!   never a visitor's token), their other conversations the viewer may see (newest 20, with
//!   labels), what an API hand-off or the widget attached, and the deflected call (flow,
//!   language, digits or words, input method, time in the IVR).
//! - **Labels** ([`set_label`]): free words normalised to one spelling
//!   ([`crate::model::normalize_label`]), on any conversation the viewer may see (closed ones
//!   too: labels are for finding and counting); each change logs `conversation.labelled`
//!   (live feeds, webhooks), a repeated one changes nothing and logs nothing.
//!   [`labels`] counts them over the viewer's conversations; the list filters by one.

use crate::context::Ctx;
use crate::lifecycle::conversation_event;
use crate::lifecycle::transition::ensure_visible;
use crate::model::{
    ChatError, ContactCall, ContactCard, ContactConversation, ConversationFilter, EventKind,
    LabelCount, Origin, Viewer, normalize_label,
};
use crate::repo;
use serde_json::{Map, Value, json};

/// How many other conversations the card lists.
const PREVIOUS: usize = 20;

/// Puts label `raw` on conversation `id` (`on`), or takes it off; returns its labels now.
pub(crate) async fn set_label(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    raw: &str,
    on: bool,
) -> Result<Vec<String>, ChatError> {
    let label = normalize_label(raw)?;
    let now = ctx.now();
    let mut tx = ctx.store().write().await?;
    let c = crate::lifecycle::load(&mut tx, id).await?;
    ensure_visible(viewer, &c)?;
    let changed = if on {
        repo::labels::add(&mut tx, id, &label, Some(viewer.agent_id), now).await?
    } else {
        repo::labels::remove(&mut tx, id, &label).await?
    };
    if changed {
        let data = json!({ "label": label, "added": on, "by": viewer.agent_id });
        conversation_event(&mut tx, id, EventKind::ConversationLabelled, data, now).await?;
    }
    tx.commit().await?;
    Ok(repo::labels::of_conversation(ctx.store(), id).await?)
}

/// The labels on conversations the viewer may see, with their counts, by label.
pub(crate) async fn labels(ctx: &Ctx, viewer: &Viewer) -> Result<Vec<LabelCount>, ChatError> {
    Ok(repo::labels::counts(ctx.store(), viewer).await?)
}

/// The contact card of conversation `id`, if the viewer may see it.
pub(crate) async fn contact(ctx: &Ctx, viewer: &Viewer, id: i64) -> Result<ContactCard, ChatError> {
    let store = ctx.store();
    let c = repo::conversations::get(store, id)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?;
    ensure_visible(viewer, &c)?;
    let contact = repo::contacts::profile(store, c.contact_id)
        .await?
        .ok_or(ChatError::NotFound("contact"))?;
    let filter = ConversationFilter {
        contact_id: Some(c.contact_id),
        limit: Some(PREVIOUS as u32 + 1),
        ..ConversationFilter::default()
    };
    let others: Vec<_> = repo::conversations::list(store, viewer, &filter)
        .await?
        .into_iter()
        .filter(|o| o.id != id)
        .take(PREVIOUS)
        .collect();
    let ids: Vec<i64> = others.iter().map(|o| o.id).collect();
    let mut labels = repo::labels::of_conversations(store, &ids).await?;
    let conversations = others
        .into_iter()
        .map(|o| ContactConversation {
            labels: labels.remove(&o.id).unwrap_or_default(),
            id: o.id,
            reference: o.reference,
            status: o.status,
            channel: o.channel,
            queue: o.queue,
            agent_id: o.agent_id,
            created_at: o.created_at,
            closed_at: o.closed_at,
            disposition: o.disposition,
        })
        .collect();
    let call = repo::deflections::call_context(store, id)
        .await?
        .map(|context| ContactCall {
            seconds_in_ivr: (context.ended_at - context.started_at).max(0) / 1000,
            context,
        });
    Ok(ContactCard {
        attributes: attributes(c.origin, c.site.as_deref(), c.metadata.as_ref()),
        contact,
        conversations,
        call,
    })
}

/// What is known beside the profile: `metadata`, what an integration attached, and `widget`:
/// the site and the page the chat began on (a web conversation's metadata is the widget's
/// own: `{"widget": {"page_url", "referrer"}}`).
fn attributes(origin: Origin, site: Option<&str>, metadata: Option<&Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let attached = metadata.and_then(Value::as_object);
    let page = match origin {
        Origin::Web => attached.and_then(|m| m.get("widget")),
        _ => {
            if let Some(m) = attached.filter(|m| !m.is_empty()) {
                out.insert("metadata".into(), Value::Object(m.clone()));
            }
            None
        }
    };
    if let Some(site) = site {
        let mut widget = Map::new();
        widget.insert("site".into(), json!(site));
        if let Some(Value::Object(page)) = page {
            for key in ["page_url", "referrer"] {
                if let Some(v @ Value::String(_)) = page.get(key) {
                    widget.insert(key.into(), v.clone());
                }
            }
        }
        out.insert("widget".into(), Value::Object(widget));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_the_integrations_metadata_and_the_widgets_page() {
        let api = json!({ "order": "A-17", "widget": "the integration's own" });
        let a = attributes(Origin::Api, None, Some(&api));
        assert_eq!(Value::Object(a), json!({ "metadata": api }));
        let web = json!({ "widget": { "page_url": "https://shop.example/cart", "referrer": 7 } });
        let a = attributes(Origin::Web, Some("www"), Some(&web));
        assert_eq!(
            Value::Object(a),
            json!({ "widget": { "site": "www", "page_url": "https://shop.example/cart" } })
        );
        assert!(attributes(Origin::Whatsapp, None, None).is_empty());
    }
}
