//! Bridges to `inbox:<queue>` (`deflect_ivr::runtime::AgentPhones`) ring the agents'
//! softphones (`deflect_web::phone::Phones`); what the agents do goes back to the call.

use deflect_config::Config;
use deflect_ivr::runtime::{AgentCall, AgentPhones, AgentSignal};
use deflect_web::phone::{PhoneSignal, Phones, Ringing};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The inbox's softphones, as the IVR rings them.
pub(crate) struct InboxPhones {
    phones: Arc<Phones>,
    /// The WhatsApp account of each widget site that has one.
    site_accounts: HashMap<String, String>,
}

impl InboxPhones {
    pub(crate) fn new(phones: Arc<Phones>, config: &Config) -> Self {
        let site_accounts = (config.widget.sites.iter())
            .filter_map(|s| Some((s.name.clone(), s.whatsapp_account.clone()?)))
            .collect();
        Self {
            phones,
            site_accounts,
        }
    }
}

/// The WhatsApp account a call from `channel` belongs to: a WhatsApp call's, a widget
/// site's (`site_accounts`); none for a telephone caller.
fn account(site_accounts: &HashMap<String, String>, channel: &str) -> Option<String> {
    match channel.split_once(':') {
        Some(("whatsapp", account)) => Some(account.to_owned()),
        Some(("widget", site)) => site_accounts.get(site).cloned(),
        _ => None,
    }
}

impl AgentPhones for InboxPhones {
    fn ring(&self, call: AgentCall) -> (String, mpsc::UnboundedReceiver<AgentSignal>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let ringing = Ringing {
            account: account(&self.site_accounts, &call.channel),
            queue: call.queue,
            caller: call.caller,
            channel: call.channel,
            flow: call.flow,
            conversation_id: call.conversation,
            takes_digits: call.takes_digits,
        };
        let sink = Box::new(move |signal| {
            let signal = match signal {
                PhoneSignal::Answered {
                    agent,
                    offer,
                    answer,
                } => AgentSignal::Answered {
                    agent,
                    offer,
                    answer,
                },
                PhoneSignal::Held(on) => AgentSignal::Held(on),
                PhoneSignal::HungUp => AgentSignal::HungUp,
            };
            tx.send(signal).is_ok()
        });
        (self.phones.ring(ringing, sink), rx)
    }

    fn end(&self, id: &str) {
        self.phones.end(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_belongs_to_its_whatsapp_account_or_its_sites() {
        let sites = HashMap::from([("shop".to_owned(), "main".to_owned())]);
        assert_eq!(account(&sites, "whatsapp:sales").as_deref(), Some("sales"));
        assert_eq!(account(&sites, "widget:shop").as_deref(), Some("main"));
        assert_eq!(
            account(&sites, "widget:blog"),
            None,
            "a site without an account"
        );
        assert_eq!(account(&sites, "carrier"), None, "a telephone caller's");
    }
}
