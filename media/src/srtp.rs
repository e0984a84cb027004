//! SRTP (RFC 3711) keyed in SDP by SDES (RFC 4568): the crypto suites deflect answers, the
//! `a=crypto` attribute, and a call's two contexts — the peer's key decrypts what arrives,
//! deflect's own key encrypts what leaves.
//!
//! The cryptography is `rtc-srtp`, the sans-IO SRTP of the webrtc-rs project (replay window,
//! rollover counter, AES-CM with HMAC-SHA1 and AES-GCM), on ring as deflect's TLS is; this
//! module only reads and writes the attribute and holds the contexts.
//!
//! An `a=crypto` line is taken only when deflect can honour all of it: a known suite, one
//! `inline:` key of the suite's length, no MKI (its per-packet key index is not supported) and
//! no session parameters (`UNENCRYPTED_SRTP`, `KDR=`, … change the processing). Lines that
//! ask for more are skipped; when none is left the m-line is not acceptable (SIP 488), which
//! is safer than protecting media differently from what the peer expects.
//!
//! ```
//! use deflect_media::srtp::{Crypto, Suite};
//!
//! let line = "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4";
//! assert!(Crypto::parse(line).is_none(), "an MKI is not supported");
//! let line = "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20";
//! let crypto = Crypto::parse(line).unwrap();
//! assert_eq!((crypto.tag, crypto.suite), (1, Suite::AesCm128HmacSha1_80));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::BytesMut;
use rtc_srtp::context::Context;
use rtc_srtp::crypto::RTCRandom;
use rtc_srtp::crypto::providers::{RingCrypto, RingRandom};
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;
use std::fmt;

/// The SRTP crypto suites deflect answers (RFC 4568 §6.2, RFC 7714 §14.2), in the order it
/// prefers them when an offer lists several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    /// AES-128 in GCM (RFC 7714): authenticated encryption, the cheapest per packet.
    AeadAes128Gcm,
    /// AES-256 in GCM (RFC 7714).
    AeadAes256Gcm,
    /// AES-128 counter mode with an 80-bit HMAC-SHA1 tag: what every SDES peer offers.
    AesCm128HmacSha1_80,
    /// As above with a 32-bit tag.
    AesCm128HmacSha1_32,
}

impl Suite {
    /// Every suite, preferred first.
    pub const ALL: [Suite; 4] = [
        Suite::AeadAes128Gcm,
        Suite::AeadAes256Gcm,
        Suite::AesCm128HmacSha1_80,
        Suite::AesCm128HmacSha1_32,
    ];

    /// The name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Self::AeadAes256Gcm => "AEAD_AES_256_GCM",
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            Self::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
            Self::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
            Self::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Self::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }

    /// Length of the master key and salt, concatenated as `inline:` carries them.
    pub fn key_len(self) -> usize {
        let p = self.profile();
        p.key_len() + p.salt_len()
    }

    /// A new random master key and salt for this suite.
    pub fn new_key(self) -> Vec<u8> {
        let mut key = vec![0u8; self.key_len()];
        RingRandom
            .fill(&mut key)
            .expect("the operating system's random source works");
        key
    }
}

/// One `a=crypto` attribute deflect can honour.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    /// The tag the answer repeats.
    pub tag: u32,
    /// The suite.
    pub suite: Suite,
    /// Master key and salt.
    pub key: Vec<u8>,
}

impl fmt::Debug for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypto")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl Crypto {
    /// Reads an `a=crypto:` value (`<tag> <suite> inline:<key>[|<lifetime>] …`); `None` when
    /// deflect cannot honour it (see the module documentation).
    pub fn parse(value: &str) -> Option<Self> {
        let mut fields = value.split_ascii_whitespace();
        let tag = fields.next()?.parse::<u32>().ok()?;
        let suite = Suite::from_name(fields.next()?)?;
        let key_params = fields.next()?;
        if fields.next().is_some() || key_params.contains(';') {
            return None; // session parameters, or several keys
        }
        let inline = key_params.strip_prefix("inline:")?;
        let mut parts = inline.split('|');
        let key = STANDARD.decode(parts.next()?).ok()?;
        for part in parts {
            // A lifetime (`2^31`, `1048576`) is fine; an MKI (`1:4`) is not.
            if part.contains(':') {
                return None;
            }
        }
        (key.len() == suite.key_len()).then_some(Self { tag, suite, key })
    }

    /// The attribute's value for this tag, suite and key.
    pub fn attribute(&self) -> String {
        format!(
            "{} {} inline:{}",
            self.tag,
            self.suite.name(),
            STANDARD.encode(&self.key)
        )
    }
}

/// The keys a call settled on: the peer's (decrypting what arrives) and deflect's
/// (encrypting what leaves). `Debug` shows the suite only.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The suite.
    pub suite: Suite,
    /// The peer's master key and salt.
    pub theirs: Vec<u8>,
    /// deflect's master key and salt.
    pub ours: Vec<u8>,
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// Why SRTP could not be set up with the negotiated keys.
#[derive(Debug, thiserror::Error)]
#[error("SRTP cannot start: {0}")]
pub struct SrtpError(String);

/// A call's two SRTP contexts.
pub struct Srtp {
    inbound: Context,
    outbound: Context,
}

impl fmt::Debug for Srtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Srtp")
    }
}

/// Packets within this many of the newest are accepted once each (RFC 3711 §3.3.2).
const REPLAY_WINDOW: usize = 128;

impl Srtp {
    /// Contexts for `keys`.
    pub fn new(keys: &SrtpKeys) -> Result<Self, SrtpError> {
        let context = |key: &[u8], replay: bool| {
            let profile = keys.suite.profile();
            let (master, salt) = key.split_at(profile.key_len());
            let (rtp, rtcp) = if replay {
                (
                    Some(srtp_replay_protection(REPLAY_WINDOW)),
                    Some(srtcp_replay_protection(REPLAY_WINDOW)),
                )
            } else {
                (None, None)
            };
            Context::new(master, salt, profile, rtp, rtcp, &RingCrypto)
                .map_err(|e| SrtpError(e.to_string()))
        };
        Ok(Self {
            inbound: context(&keys.theirs, true)?,
            outbound: context(&keys.ours, false)?,
        })
    }

    /// Authenticates and decrypts an SRTP packet; `None` for a forgery, a replay or a
    /// packet too short to be one.
    pub fn unprotect_rtp(&mut self, datagram: &[u8]) -> Option<BytesMut> {
        self.inbound.decrypt_rtp(datagram).ok()
    }

    /// Authenticates and decrypts an SRTCP packet.
    pub fn unprotect_rtcp(&mut self, datagram: &[u8]) -> Option<BytesMut> {
        self.inbound.decrypt_rtcp(datagram).ok()
    }

    /// Encrypts the RTP packet in `buf[..len]` in place; returns the protected length
    /// (`buf` must have room for the tag: 16 bytes).
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Option<usize> {
        let out = self.outbound.encrypt_rtp(&buf[..len]).ok()?;
        let room = buf.get_mut(..out.len())?;
        room.copy_from_slice(&out);
        Some(out.len())
    }

    /// Encrypts the RTCP packet in `buf[..len]` in place; returns the protected length.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Option<usize> {
        let out = self.outbound.encrypt_rtcp(&buf[..len]).ok()?;
        let room = buf.get_mut(..out.len())?;
        room.copy_from_slice(&out);
        Some(out.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rtp(seq: u16) -> Vec<u8> {
        let mut p = vec![0x80, 0x00, 0, 0, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0x55; 160]);
        p
    }

    fn pair(suite: Suite) -> (Srtp, Srtp) {
        let (a, b) = (suite.new_key(), suite.new_key());
        let ours = SrtpKeys {
            suite,
            theirs: b.clone(),
            ours: a.clone(),
        };
        let theirs = SrtpKeys {
            suite,
            theirs: a,
            ours: b,
        };
        (Srtp::new(&ours).unwrap(), Srtp::new(&theirs).unwrap())
    }

    #[test]
    fn every_suite_round_trips_and_refuses_forgeries_and_replays() {
        for suite in Suite::ALL {
            let (mut us, mut them) = pair(suite);
            let mut buf = [0u8; 1500];
            let plain = rtp(7);
            buf[..plain.len()].copy_from_slice(&plain);
            let len = us.protect_rtp(&mut buf, plain.len()).unwrap();
            assert!(len > plain.len(), "{suite:?}: a tag is added");
            assert_ne!(&buf[12..plain.len()], &plain[12..], "{suite:?}: encrypted");
            let got = them.unprotect_rtp(&buf[..len]).unwrap();
            assert_eq!(&got[..], &plain[..], "{suite:?}");
            assert!(
                them.unprotect_rtp(&buf[..len]).is_none(),
                "{suite:?}: replay"
            );
            let len = {
                let plain = rtp(8);
                buf[..plain.len()].copy_from_slice(&plain);
                us.protect_rtp(&mut buf, plain.len()).unwrap()
            };
            buf[20] ^= 1;
            assert!(
                them.unprotect_rtp(&buf[..len]).is_none(),
                "{suite:?}: forged"
            );
        }
    }

    #[test]
    fn only_lines_deflect_can_honour_are_taken() {
        let key = STANDARD.encode([7u8; 30]);
        let ok = Crypto::parse(&format!("3 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^31")).unwrap();
        assert_eq!(
            (ok.tag, ok.suite, ok.key.len()),
            (3, Suite::AesCm128HmacSha1_80, 30)
        );
        assert_eq!(
            Crypto::parse(&ok.attribute()).unwrap(),
            ok,
            "what deflect writes it reads"
        );
        for refused in [
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4"), // MKI
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key} UNENCRYPTED_SRTP"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key};inline:{key}"),
            format!("1 F8_128_HMAC_SHA1_80 inline:{key}"),
            format!("1 AEAD_AES_128_GCM inline:{key}"), // 30 bytes, the suite needs 28
            "1 AES_CM_128_HMAC_SHA1_80 inline:not base64!".to_owned(),
            format!("x AES_CM_128_HMAC_SHA1_80 inline:{key}"),
        ] {
            assert!(Crypto::parse(&refused).is_none(), "{refused}");
        }
        assert!(
            !format!("{ok:?}").contains(&key[..8]),
            "keys stay out of logs"
        );
    }
}
