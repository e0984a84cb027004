//! What deflect does towards its trunks on its own: outbound registration to those that
//! need it (`[sip.trunks.register]`) and OPTIONS probes of their servers (`addresses`).
//! Each target is resolved ([`deflect_sip::resolve`]) and handed to the SIP stack, which
//! registers with digest authentication, refreshes before expiry and backs off on failure,
//! and probes each server at its trunk's `options_interval`. A target that does not
//! resolve is tried again every 30 s; one deflect cannot reach as written (`sips:`, an
//! unknown transport) is logged as an error and left out. Registration states are logged
//! (and exported as `deflect_sip_registration_registered{trunk}` by the stack), as are
//! servers' health changes (`deflect_sip_trunk_up{trunk,address}`).
//! At shutdown, once the calls are over, each registration ends with `Expires: 0`
//! ([`end`]).

use deflect_config::{SipConfig, SipTransport};
use deflect_sip::endpoint::RegistrationState;
use deflect_sip::health::Target;
use deflect_sip::message::Uri;
use deflect_sip::resolve::resolve;
use deflect_sip::runtime::Sip;
use std::net::SocketAddr;
use std::time::Duration;
use tracing::{error, info, warn};

/// Starts registering every trunk that has `register`.
pub(crate) fn start(sip: &Sip, config: &SipConfig) {
    let trunks: Vec<_> = config
        .trunks
        .iter()
        .filter_map(|t| {
            // Through an outbound proxy, the REGISTERs go to the proxy.
            t.register.as_ref().map(|r| {
                let first_hop = t.outbound_proxy.as_ref().unwrap_or(&r.registrar);
                (t.name.clone(), first_hop.clone())
            })
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
    for (trunk, first_hop) in trunks {
        let sip = sip.clone();
        tokio::spawn(async move {
            if let Some((uri, transport, addr)) = resolved(&trunk, &first_hop).await {
                info!(trunk, to = first_hop, address = %addr, "registering");
                sip.register(&trunk, &uri.host, transport, addr);
            }
        });
    }
}

/// Starts probing every trunk server listed in `addresses` with OPTIONS (unless the trunk's
/// `options_interval` is 0).
pub(crate) fn probe(sip: &Sip, config: &SipConfig) {
    for t in config
        .trunks
        .iter()
        .filter(|t| !t.options_interval.is_zero())
    {
        for address in &t.addresses {
            let (sip, trunk, address) = (sip.clone(), t.name.clone(), address.clone());
            let interval = t.options_interval;
            tokio::spawn(async move {
                if let Some((uri, transport, remote)) = resolved(&trunk, &address).await {
                    sip.probe(Target {
                        trunk,
                        address,
                        uri,
                        transport,
                        remote,
                        interval,
                    });
                }
            });
        }
    }
}

/// Where requests for a trunk's `target` URI go. DNS may be down at start-up: a transient
/// failure is retried every 30 s; a target deflect cannot reach as written is logged as an
/// error (`None`).
async fn resolved(trunk: &str, target: &str) -> Option<(Uri, SipTransport, SocketAddr)> {
    let uri = match Uri::parse(target) {
        Ok(uri) => uri,
        Err(e) => {
            error!(trunk, uri = target, cause = %e, "not a SIP URI; left out");
            return None;
        }
    };
    loop {
        match resolve(&uri).await {
            Ok((transport, addr)) => return Some((uri, transport, addr)),
            Err(e) if e.is_transient() => {
                warn!(trunk, uri = target, cause = %e, "cannot resolve; retrying in 30s");
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Err(e) => {
                error!(trunk, uri = target, cause = %e, "cannot reach this target; left out");
                return None;
            }
        }
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
