//! Outbound registration to the trunks that need it (`[sip.trunks.register]`): resolves each
//! registrar ([`deflect_sip::resolve`]) and hands it to the SIP stack, which registers with
//! digest authentication, refreshes before expiry and backs off on failure. A registrar
//! that does not resolve is tried again every 30 s; one deflect cannot reach as written
//! (`sips:`, an unknown transport) is logged as an error and not registered. State changes
//! are logged (and exported as `deflect_sip_registration_registered{trunk}` by the stack).
//! At shutdown, once the calls are over, each registration ends with `Expires: 0`
//! ([`end`]).

use deflect_config::SipConfig;
use deflect_sip::endpoint::RegistrationState;
use deflect_sip::message::Uri;
use deflect_sip::resolve::resolve;
use deflect_sip::runtime::Sip;
use std::time::Duration;
use tracing::{error, info, warn};

/// Starts registering every trunk that has `register`.
pub(crate) fn start(sip: &Sip, config: &SipConfig) {
    let trunks: Vec<_> = config
        .trunks
        .iter()
        .filter_map(|t| {
            t.register
                .as_ref()
                .map(|r| (t.name.clone(), r.registrar.clone()))
        })
        .collect();
    if trunks.is_empty() {
        return;
    }
    let mut states = sip.registrations();
    tokio::spawn(async move {
        while let Some((trunk, state)) = states.recv().await {
            match state {
                RegistrationState::Registered { expires } => {
                    info!(trunk, expires, "trunk registration active")
                }
                RegistrationState::Failed { status, retry_in } => {
                    warn!(trunk, status, retry_in = ?retry_in, "trunk registration failed")
                }
                RegistrationState::Unregistered { status } => {
                    info!(trunk, status, "trunk registration ended")
                }
            }
        }
    });
    for (trunk, registrar) in trunks {
        let sip = sip.clone();
        tokio::spawn(async move {
            let uri = match Uri::parse(&registrar) {
                Ok(uri) => uri,
                Err(e) => {
                    error!(trunk, registrar, cause = %e, "the registrar is not a SIP URI; not registering");
                    return;
                }
            };
            // DNS may be down at start-up: keep trying, then let the stack take over.
            loop {
                match resolve(&uri).await {
                    Ok((transport, addr)) => {
                        info!(trunk, registrar, address = %addr, "registering");
                        sip.register(&trunk, transport, addr);
                        return;
                    }
                    Err(e) if e.is_transient() => {
                        warn!(trunk, registrar, cause = %e, "cannot resolve the registrar; retrying in 30s");
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    Err(e) => {
                        error!(trunk, registrar, cause = %e, "cannot register this trunk");
                        return;
                    }
                }
            }
        });
    }
}

/// At shutdown: ends every trunk's registration (`Expires: 0`) and waits, at most
/// `patience`, for each registrar's answer, so carriers stop routing calls here at once.
pub(crate) async fn end(sip: &Sip, config: &SipConfig, patience: Duration) {
    let registering = config
        .trunks
        .iter()
        .filter(|t| t.register.is_some())
        .count();
    if registering == 0 {
        return;
    }
    let mut states = sip.registrations();
    sip.unregister();
    let mut ended = 0;
    let waited = tokio::time::timeout(patience, async {
        while ended < registering {
            match states.recv().await {
                Some((_, RegistrationState::Unregistered { .. })) => ended += 1,
                Some(_) => {}
                None => return,
            }
        }
    })
    .await;
    if waited.is_err() {
        warn!(
            left = registering - ended,
            "trunk registrations not ended in time; their registrars forget them at expiry"
        );
    }
}
