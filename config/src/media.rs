//! `[media]`: RTP ports and address, codec preference, timeouts.

use crate::Problems;
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
    }
}
