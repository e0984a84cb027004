//! WhatsApp's conversational components of each Meta number: the ice breakers a customer
//! opening the chat can tap (`[inbox.automations] ice_breakers`, per account), pushed to
//! `POST /{phone_number_id}/conversational_automation` when the inbox starts — the
//! configuration changes only with a restart, so that is also "on change". An account
//! without ice breakers is left as WhatsApp Manager set it.
//!
//! Meta's own welcome request is switched off (`enable_welcome_message: false`): the inbox
//! welcomes a customer on their first message itself (`welcome_message`), and a welcome
//! request would open a conversation with nothing in it for an agent.
//!
//! A refused push is logged and counted (`deflect_whatsapp_components_total{outcome}`); a
//! temporary failure is tried again with back-off (1 s doubling, five attempts).

use crate::context::Ctx;
use crate::provider::SendError;
use crate::provider::meta::MetaClient;
use deflect_config::Provider;
use std::sync::Arc;
use std::time::Duration;

/// Pushes every Meta account's ice breakers; returns when each push succeeded or gave up.
pub(crate) async fn push(ctx: Arc<Ctx>, http: reqwest::Client) {
    let accounts = ctx.file_settings().whatsapp.accounts.clone();
    let pushes = accounts
        .into_iter()
        .filter(|a| a.provider == Provider::Meta)
        .filter_map(|a| {
            let prompts = ctx.automations(Some(&a.name)).ice_breakers.clone();
            (!prompts.is_empty())
                .then(|| (a.name.clone(), MetaClient::new(&a, http.clone()), prompts))
        });
    for (account, client, prompts) in pushes {
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=5 {
            match client.set_conversational_automation(&prompts, false).await {
                Ok(()) => {
                    tracing::info!(%account, ice_breakers = prompts.len(), "conversational components set");
                    count("set");
                    break;
                }
                Err(SendError::Retry { .. } | SendError::Unknown { .. }) if attempt < 5 => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => {
                    tracing::warn!(%account, cause = %e, "conversational components not set");
                    count("failed");
                    break;
                }
            }
        }
    }
}

fn count(outcome: &'static str) {
    metrics::counter!("deflect_whatsapp_components_total", "outcome" => outcome).increment(1);
}
