//! The endpoint's settings: `[sip]` and the addresses actually bound.

use crate::auth::Algorithm;
use crate::transaction::Timers;
use deflect_config::{
    Cidr, SipAuthConfig, SipConfig, SipTransport, TrunkConfig, UnauthorizedAction,
};
use std::net::SocketAddr;
use std::time::Duration;

/// Settings of an [`Endpoint`](super::Endpoint), from `[sip]` and the bound listeners.
#[derive(Clone, Debug)]
pub struct EndpointConfig {
    /// Timer base values.
    pub timers: Timers,
    /// `User-Agent`/`Server` value.
    pub user_agent: String,
    /// Advertised `host:port` per transport, for Via and Contact.
    pub advertised: Vec<(SipTransport, String)>,
    /// The listeners' own `host:port` per transport, advertised instead to peers in
    /// `local_networks` (empty when there are none, or no public address to avoid).
    pub local: Vec<(SipTransport, String)>,
    /// `sip.local_networks`.
    pub local_networks: Vec<Cidr>,
    /// Session interval asked for (seconds).
    pub session_expires: u32,
    /// Smallest session interval accepted (seconds).
    pub min_se: u32,
    /// Calls in progress at most.
    pub max_calls: u32,
    /// New calls per second at most.
    pub max_calls_per_second: u32,
    /// What unauthorized requests get.
    pub unauthorized: UnauthorizedAction,
    /// Trunks.
    pub trunks: Vec<TrunkConfig>,
    /// Digest realm when a trunk names none.
    pub default_realm: String,
    /// Digest algorithms challenged with, preferred first.
    pub digest_algorithms: Vec<Algorithm>,
    /// Nonce lifetime, failure limits and bans for digest trunks.
    pub auth: SipAuthConfig,
    /// Seed for tags, branches and the nonce key (random in production, fixed in tests).
    pub seed: u64,
}

impl EndpointConfig {
    /// Settings from `[sip]`, the listeners actually bound, and a random seed.
    pub fn new(sip: &SipConfig, bound: &[(SipTransport, SocketAddr)], seed: u64) -> Self {
        let own = |a: &SocketAddr| match a.ip() {
            ip if ip.is_unspecified() => None,
            std::net::IpAddr::V6(ip) => Some(format!("[{ip}]:{}", a.port())),
            ip => Some(format!("{ip}:{}", a.port())),
        };
        let advertised = bound
            .iter()
            .map(|(t, a)| {
                let host = match &sip.public_address {
                    Some(h) if h.contains(':') && !h.starts_with('[') => h.clone(),
                    Some(h) => format!("{h}:{}", a.port()),
                    None => own(a).unwrap_or_else(|| format!("127.0.0.1:{}", a.port())),
                };
                (*t, host)
            })
            .collect();
        let local = match (&sip.public_address, sip.local_networks.is_empty()) {
            (Some(_), false) => bound
                .iter()
                .filter_map(|(t, a)| own(a).map(|h| (*t, h)))
                .collect(),
            _ => Vec::new(),
        };
        Self {
            timers: Timers {
                t1: sip.timers.t1,
                t2: sip.timers.t2,
                t4: sip.timers.t4,
            },
            user_agent: sip.user_agent.clone(),
            advertised,
            local,
            local_networks: sip.local_networks.clone(),
            session_expires: secs(sip.session_expires),
            min_se: secs(sip.min_se),
            max_calls: sip.max_calls,
            max_calls_per_second: sip.max_calls_per_second,
            unauthorized: sip.unauthorized,
            trunks: sip.trunks.clone(),
            digest_algorithms: sip
                .digest_algorithms
                .iter()
                .filter_map(|a| Algorithm::parse(Some(a)))
                .collect(),
            default_realm: sip
                .public_address
                .clone()
                .unwrap_or_else(|| "deflect".to_owned()),
            auth: sip.auth.clone(),
            seed,
        }
    }
}

pub(super) fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}
