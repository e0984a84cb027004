//! `[media]`: RTP ports and address, codec preference, timeouts.

use crate::Problems;
use crate::secret::Secret;
use crate::value::{PortRange, duration};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// `[media]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Local address RTP sockets bind to.
    pub rtp_address: IpAddr,
    /// UDP ports for RTP (even) and RTCP (odd), e.g. `"20000-20999"`.
    pub rtp_ports: PortRange,
    /// Codecs in order of preference.
    pub codecs: Vec<Codec>,
    /// A call that receives no RTP for this long is hung up (not while on hold).
    #[serde(with = "duration")]
    pub rtp_timeout: Duration,
    /// STUN and TURN servers browsers use for their calls (widget visitors): STUN finds a
    /// browser's public address, TURN relays its media where UDP cannot reach the gateway.
    /// The gateway's own candidate is its advertised address (`sip.public_address`, else
    /// `rtp_address`) and needs neither.
    pub ice_servers: Vec<IceServerConfig>,
}

/// `[[media.ice_servers]]`: one STUN or TURN server, as browsers are told of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IceServerConfig {
    /// Its `stun:`, `stuns:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    /// A TURN server's fixed user name (with `password`), the same for every browser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The fixed user name's password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A TURN server's shared secret (coturn's `static-auth-secret`, the TURN REST API):
    /// each browser gets its own user name and password, valid for `credential_ttl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<Secret>,
    /// How long credentials made from `auth_secret` are valid.
    #[serde(with = "duration")]
    pub credential_ttl: Duration,
}

impl Default for IceServerConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            username: None,
            password: None,
            auth_secret: None,
            credential_ttl: Duration::from_secs(86_400),
        }
    }
}

impl IceServerConfig {
    fn validate(&self, p: &mut Problems, at: &str) {
        const SCHEMES: [&str; 4] = ["stun:", "stuns:", "turn:", "turns:"];
        if self.urls.is_empty() {
            p.push(
                format!("{at}.urls"),
                "list the server's URLs, e.g. [\"stun:stun.example.com:3478\"]",
            );
        }
        for (i, url) in self.urls.iter().enumerate() {
            if !SCHEMES.iter().any(|s| url.starts_with(s)) || url.len() > 512 {
                p.push(
                    format!("{at}.urls[{i}]"),
                    "must be a stun:, stuns:, turn: or turns: URL",
                );
            }
        }
        let turn = self.urls.iter().any(|u| u.starts_with("turn"));
        let fixed = (self.username.is_some(), self.password.is_some());
        match (turn, fixed, self.auth_secret.is_some()) {
            (_, (true, false) | (false, true), _) => {
                p.push(at, "set username and password together");
            }
            (_, (true, true), true) => p.push(
                at,
                "set either username and password or auth_secret, not both",
            ),
            (true, (false, false), false) => {
                p.push(
                    at,
                    "a TURN server needs auth_secret, or username and password",
                );
            }
            (false, (true, true), _) | (false, _, true) => {
                p.push(
                    at,
                    "credentials are for TURN servers; a STUN server takes none",
                );
            }
            _ => {}
        }
        if self.credential_ttl < Duration::from_secs(60)
            || self.credential_ttl > Duration::from_secs(7 * 86_400)
        {
            p.push(format!("{at}.credential_ttl"), "must be between 1m and 7d");
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            rtp_address: IpAddr::from([127, 0, 0, 1]),
            rtp_ports: PortRange {
                first: 20000,
                last: 20999,
            },
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            rtp_timeout: Duration::from_secs(30),
            ice_servers: Vec::new(),
        }
    }
}

/// An audio codec deflect speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    /// G.711 µ-law (payload type 0).
    #[serde(rename = "PCMU")]
    Pcmu,
    /// G.711 A-law (payload type 8).
    #[serde(rename = "PCMA")]
    Pcma,
}

impl MediaConfig {
    pub(crate) fn validate(&self, p: &mut Problems) {
        if self.codecs.is_empty() {
            p.push(
                "media.codecs",
                "at least one codec is needed; valid: \"PCMU\", \"PCMA\"",
            );
        }
        for (i, c) in self.codecs.iter().enumerate() {
            if self.codecs[..i].contains(c) {
                p.push(format!("media.codecs[{i}]"), "listed twice");
            }
        }
        if self.rtp_timeout < Duration::from_secs(1) {
            p.push("media.rtp_timeout", "must be at least 1s");
        }
        for (i, s) in self.ice_servers.iter().enumerate() {
            s.validate(p, &format!("media.ice_servers[{i}]"));
        }
    }
}
