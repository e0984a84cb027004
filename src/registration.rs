//! Outbound registration to the trunks that need it (`[sip.trunks.register]`): resolves each
//! registrar and hands it to the SIP stack, which registers with digest authentication,
//! refreshes before expiry and backs off on failure. State changes are logged (and exported
//! as `deflect_sip_registration_registered{trunk}` by the stack).

use deflect_config::{SipConfig, SipTransport};
use deflect_sip::endpoint::RegistrationState;
use deflect_sip::message::Uri;
use deflect_sip::runtime::Sip;
use std::time::Duration;
use tracing::{info, warn};

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
            }
        }
    });
    for (trunk, registrar) in trunks {
        let sip = sip.clone();
        tokio::spawn(async move {
            // DNS may be down at start-up: keep trying, then let the stack take over.
            loop {
                match resolve(&registrar).await {
                    Ok((transport, addr)) => {
                        info!(trunk, registrar, address = %addr, "registering");
                        sip.register(&trunk, transport, addr);
                        return;
                    }
                    Err(e) => {
                        warn!(trunk, registrar, cause = %e, "cannot resolve the registrar; retrying in 30s");
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                }
            }
        });
    }
}

async fn resolve(registrar: &str) -> std::io::Result<(SipTransport, std::net::SocketAddr)> {
    let uri = Uri::parse(registrar)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let transport = match uri.params.get("transport") {
        Some(t) if t.eq_ignore_ascii_case("tcp") => SipTransport::Tcp,
        _ => SipTransport::Udp,
    };
    let host = uri.host.trim_matches(['[', ']']).to_owned();
    let port = uri.port.unwrap_or(5060);
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    Ok((transport, addr))
}
