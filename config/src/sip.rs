//! `[sip]`: listeners, advertised address, transaction timers, overload limits and trunks.

use crate::Problems;
use crate::secret::Secret;
use crate::value::{Cidr, ListenAddr, SipTransport, duration, string_serde};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// `[sip]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Listeners, e.g. `["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060", "tls:127.0.0.1:5061"]`.
    pub listen: Vec<ListenAddr>,
    /// The certificate `tls:` listeners present.
    pub tls: SipTlsConfig,
    /// Host name or IP address advertised in Via, Contact and SDP when the listen address
    /// is not what peers reach (NAT, 0.0.0.0). Defaults to the listen address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_address: Option<String>,
    /// Networks of peers reached without `public_address` (an SBC or PBX beside deflect):
    /// requests and answers to them carry deflect's own listen and media addresses.
    pub local_networks: Vec<Cidr>,
    /// `User-Agent` / `Server` header value. The default names no version, so scanners
    /// cannot pick exploits by it.
    pub user_agent: String,
    /// RFC 3261 timer base values.
    pub timers: SipTimers,
    /// RFC 4028 session interval we ask for (`Session-Expires`).
    #[serde(with = "duration")]
    pub session_expires: Duration,
    /// RFC 4028 smallest session interval we accept (`Min-SE`); smaller gets 422.
    #[serde(with = "duration")]
    pub min_se: Duration,
    /// Calls in progress at most; more get 503 with Retry-After.
    pub max_calls: u32,
    /// New calls per second at most; more get 503 with Retry-After.
    pub max_calls_per_second: u32,
    /// What requests from unknown or banned sources get: `reject` (403) or `drop` (no
    /// answer).
    pub unauthorized: UnauthorizedAction,
    /// Digest authentication of trunks: nonce lifetime, failure throttling and bans.
    pub auth: SipAuthConfig,
    /// Idle TCP connections are closed after this long.
    #[serde(with = "duration")]
    pub tcp_idle_timeout: Duration,
    /// A TCP connection holding part of a message for this long is closed (slowloris).
    #[serde(with = "duration")]
    pub tcp_message_timeout: Duration,
    /// Inbound TCP connections open at once, at most (trunks' allow-listed sources are
    /// not refused by this cap, only by the per-source one).
    pub tcp_max_connections: u32,
    /// Inbound TCP connections open at once from one source (an IPv4 address or an IPv6
    /// /64), at most.
    pub tcp_max_connections_per_source: u32,
    /// Digest algorithms offered to trunks that authenticate by password, in order of
    /// preference (one challenge each): `"SHA-256"`, `"MD5"`.
    pub digest_algorithms: Vec<String>,
    /// Longest a call may last; deflect then hangs up with BYE and a Reason header.
    #[serde(with = "duration")]
    pub max_call_duration: Duration,
    /// Trunks calls are accepted from. The default accepts loopback only.
    pub trunks: Vec<TrunkConfig>,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: vec![
                "udp:127.0.0.1:5060".parse().expect("literal listener"),
                "tcp:127.0.0.1:5060".parse().expect("literal listener"),
            ],
            tls: SipTlsConfig::default(),
            public_address: None,
            local_networks: Vec::new(),
            user_agent: "deflect".to_owned(),
            timers: SipTimers::default(),
            session_expires: Duration::from_secs(1800),
            min_se: Duration::from_secs(90),
            max_calls: 10_000,
            max_calls_per_second: 2_000,
            unauthorized: UnauthorizedAction::Reject,
            auth: SipAuthConfig::default(),
            tcp_idle_timeout: Duration::from_secs(120),
            tcp_message_timeout: Duration::from_secs(10),
            tcp_max_connections: 4096,
            tcp_max_connections_per_source: 128,
            max_call_duration: Duration::from_secs(3600),
            digest_algorithms: vec!["SHA-256".into(), "MD5".into()],
            trunks: vec![TrunkConfig {
                name: "loopback".into(),
                allow: vec![
                    "127.0.0.0/8".parse().expect("literal network"),
                    "::1".parse().expect("literal network"),
                ],
                ..TrunkConfig::default()
            }],
        }
    }
}

/// `[sip.tls]`: the certificate and key `tls:` listeners present (PEM files, reloaded when
/// they change and on SIGHUP, so a renewed certificate needs no restart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipTlsConfig {
    /// PEM file with the certificate chain, the server's own certificate first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PathBuf>,
    /// PEM file with the private key (PKCS #8, PKCS #1 or SEC1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PathBuf>,
    /// How often the two files are checked for a change.
    #[serde(with = "duration")]
    pub reload_interval: Duration,
}

impl Default for SipTlsConfig {
    fn default() -> Self {
        Self {
            certificate: None,
            private_key: None,
            reload_interval: Duration::from_secs(60),
        }
    }
}

/// The SHA-256 fingerprint of a certificate (its DER encoding), written in hex with or
/// without colons, as `openssl x509 -noout -fingerprint -sha256` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CertificatePin(pub [u8; 32]);

impl FromStr for CertificatePin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hex = s.strip_prefix("sha256:").unwrap_or(s).replace(':', "");
        let mut pin = [0u8; 32];
        let bad = || {
            format!(
                "{s:?} is not a SHA-256 fingerprint: expected 64 hex digits, colons allowed, as \
                 `openssl x509 -noout -fingerprint -sha256` prints"
            )
        };
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        for (i, b) in pin.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(pin))
    }
}

impl fmt::Display for CertificatePin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}
string_serde!(
    CertificatePin,
    "a SHA-256 certificate fingerprint such as \"AB:CD:…\" (32 bytes in hex)"
);

/// `[sip.timers]`: RFC 3261 §17 base values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipTimers {
    /// Round-trip estimate (T1).
    #[serde(with = "duration")]
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses (T2).
    #[serde(with = "duration")]
    pub t2: Duration,
    /// Longest time a message stays in the network (T4).
    #[serde(with = "duration")]
    pub t4: Duration,
}

impl Default for SipTimers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// `[sip.auth]`: how trunks that authenticate by password are protected against guessing
/// and replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipAuthConfig {
    /// How long a challenge's nonce may be answered; later answers get a new challenge
    /// (`stale=true`).
    #[serde(with = "duration")]
    pub nonce_lifetime: Duration,
    /// The window the failure limits count in.
    #[serde(with = "duration")]
    pub failure_window: Duration,
    /// Failed authentications from one source (an IPv4 address or an IPv6 /64) within
    /// `failure_window` that ban the source.
    pub max_failures_per_source: u32,
    /// Failed authentications for one trunk user name, from any source, within
    /// `failure_window` that ban the user name (sources that authenticated before are
    /// exempt).
    pub max_failures_per_username: u32,
    /// How long a ban lasts.
    #[serde(with = "duration")]
    pub ban_time: Duration,
}

impl Default for SipAuthConfig {
    fn default() -> Self {
        Self {
            nonce_lifetime: Duration::from_secs(30),
            failure_window: Duration::from_secs(600),
            max_failures_per_source: 5,
            max_failures_per_username: 20,
            ban_time: Duration::from_secs(600),
        }
    }
}

/// A source that may answer a trunk's digest challenge: an address or network, or `any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeSource {
    /// Every source.
    Any,
    /// An address or network.
    Net(Cidr),
}

impl ChallengeSource {
    /// Whether `ip` may answer the challenge.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::Net(n) => n.contains(ip),
        }
    }
}

impl FromStr for ChallengeSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("any") {
            return Ok(Self::Any);
        }
        s.parse::<Cidr>().map(Self::Net).map_err(|_| {
            format!(
                "{s:?} is not an IP address or network; write e.g. \"203.0.113.7\", \"203.0.113.0/24\", \"2001:db8::/32\", or \"any\" for every source"
            )
        })
    }
}

impl fmt::Display for ChallengeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::Net(n) => n.fmt(f),
        }
    }
}
string_serde!(
    ChallengeSource,
    "an IP address or network such as \"203.0.113.0/24\", or \"any\""
);

/// What a request from a source that matches no trunk gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnauthorizedAction {
    /// Answer 403 Forbidden.
    Reject,
    /// Send nothing (scanners learn nothing).
    Drop,
}

/// `[[sip.trunks]]`: a carrier or SBC calls are accepted from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrunkConfig {
    /// Name used in logs and metrics.
    pub name: String,
    /// Source addresses or networks accepted without a challenge.
    pub allow: Vec<Cidr>,
    /// Inbound digest authentication: requests from `challenge_from` sources not on an
    /// allow-list are challenged and accepted with these credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password for inbound digest authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Digest realm; defaults to the public address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Sources that may answer this trunk's digest challenge (required with credentials):
    /// addresses or networks, or `"any"`. Others get 403 (or nothing), never a challenge.
    pub challenge_from: Vec<ChallengeSource>,
    /// Detect DTMF tones in the audio of calls from this trunk (for carriers that send
    /// neither RFC 4733 events nor SIP INFO).
    pub inband_dtmf: bool,
    /// SRTP for this trunk's calls (keys in SDP, RFC 4568): `optional` answers an
    /// `RTP/SAVP` offer with SRTP and an `RTP/AVP` one with RTP; `required` refuses plain
    /// RTP (488); `off` refuses SRTP offers.
    pub srtp: SrtpPolicy,
    /// What deflect sends while it plays nothing (waiting for digits): `audio` (quiet
    /// frames every packet time), `comfort_noise` (an RFC 3389 packet a second, when the
    /// offer lists CN), `none` (no RTP; RTCP only).
    pub idle_media: IdleMedia,
    /// Outbound registration, for trunks that route calls to a registered contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<RegisterConfig>,
    /// Digest credentials deflect answers the trunk's 401/407 with on the calls it places
    /// through the trunk (bridges), for carriers that authenticate outbound calls without a
    /// registration. Without it, `register`'s credentials answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_auth: Option<OutboundAuthConfig>,
    /// The trunk's own SIP servers (its SBCs or proxies) as SIP URIs, e.g.
    /// `"sip:sbc1.carrier.example:5060"`: each is probed with OPTIONS every
    /// `options_interval`, its health exported as `deflect_sip_trunk_up{trunk,address}`;
    /// a bridge through the trunk tries them in order, those found down last.
    pub addresses: Vec<String>,
    /// How often each of `addresses` is probed (1s–1h; `"0s"`: never).
    #[serde(with = "duration")]
    pub options_interval: Duration,
    /// An outbound proxy (a SIP URI) this trunk's REGISTERs — and the bridges placed through
    /// it (`trunk` on a transfer step) — go through (RFC 3261 §8.1.2): sent to it with
    /// `Route: <proxy;lr>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_proxy: Option<String>,
    /// PEM file of the CA certificates this trunk's servers are verified against when
    /// deflect connects to them over TLS. Without it (and without `tls_pins`), the public
    /// web PKI roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// SHA-256 fingerprints of the certificates this trunk's servers may present over TLS
    /// (self-signed SBC certificates): one must match; no CA or name is consulted.
    pub tls_pins: Vec<CertificatePin>,
    /// The name deflect sends (SNI) and verifies in the trunk servers' certificates;
    /// defaults to the host of the URI connected to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
}

impl Default for TrunkConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            allow: Vec::new(),
            username: None,
            password: None,
            realm: None,
            challenge_from: Vec::new(),
            inband_dtmf: false,
            srtp: SrtpPolicy::Optional,
            idle_media: IdleMedia::Audio,
            register: None,
            outbound_auth: None,
            addresses: Vec::new(),
            options_interval: Duration::from_secs(30),
            outbound_proxy: None,
            tls_ca: None,
            tls_pins: Vec::new(),
            tls_server_name: None,
        }
    }
}

/// Whether a trunk's calls use SRTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SrtpPolicy {
    /// Plain RTP only: `RTP/SAVP` offers are refused.
    Off,
    /// SRTP when the offer asks for it, RTP otherwise.
    #[default]
    Optional,
    /// SRTP only: `RTP/AVP` offers are refused.
    Required,
}

/// What a call sends while nothing is being played.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleMedia {
    /// Quiet comfort-noise frames every packet time, as while playing.
    #[default]
    Audio,
    /// An RFC 3389 comfort-noise packet a second when the offer lists CN; else `Audio`.
    ComfortNoise,
    /// No RTP until something is played again.
    None,
}

/// `[sip.trunks.register]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterConfig {
    /// Registrar URI, e.g. `sip:sip.carrier.example:5060;transport=udp`.
    pub registrar: String,
    /// Address of record, e.g. `sip:31201234567@sip.carrier.example`.
    pub aor: String,
    /// Digest user name (defaults to the user part of `aor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Digest password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Registration lifetime asked for; refreshed before it runs out.
    #[serde(with = "duration")]
    pub expires: Duration,
}

/// `[sip.trunks.outbound_auth]`: the digest credentials of calls placed through a trunk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundAuthConfig {
    /// Digest user name.
    pub username: String,
    /// Digest password.
    pub password: Secret,
}

impl Default for RegisterConfig {
    fn default() -> Self {
        Self {
            registrar: String::new(),
            aor: String::new(),
            username: None,
            password: None,
            expires: Duration::from_secs(3600),
        }
    }
}

fn is_sip_uri(s: &str) -> bool {
    (s.starts_with("sip:") || s.starts_with("sips:")) && s.len() > 5
}

impl SipConfig {
    pub(crate) fn validate(&self, p: &mut Problems) {
        if self.listen.is_empty() {
            p.push(
                "sip.listen",
                "at least one listener is needed, e.g. [\"udp:0.0.0.0:5060\"]",
            );
        }
        for (i, a) in self.listen.iter().enumerate() {
            if a.addr.port() != 0 && self.listen[..i].contains(a) {
                p.push(format!("sip.listen[{i}]"), format!("{a} is listed twice"));
            }
        }
        self.validate_tls(p);
        if !self.local_networks.is_empty() && self.public_address.is_none() {
            p.push(
                "sip.local_networks",
                "only matters with sip.public_address (local peers are given the listen addresses \
                 instead of it): set public_address, or remove local_networks",
            );
        }
        let t = &self.timers;
        if t.t1.is_zero() || t.t1 > Duration::from_secs(10) {
            p.push(
                "sip.timers.t1",
                "must be between 1ms and 10s (RFC 3261 default: 500ms)",
            );
        }
        if t.t2 < t.t1 {
            p.push(
                "sip.timers.t2",
                "must not be shorter than t1 (RFC 3261 default: 4s)",
            );
        }
        if t.t4.is_zero() {
            p.push("sip.timers.t4", "must be positive (RFC 3261 default: 5s)");
        }
        if self.min_se < Duration::from_secs(90) {
            p.push("sip.min_se", "RFC 4028 requires at least 90s");
        }
        if self.session_expires < self.min_se {
            p.push("sip.session_expires", "must not be shorter than sip.min_se");
        }
        if self.digest_algorithms.is_empty() {
            p.push(
                "sip.digest_algorithms",
                "at least one is needed; valid: \"SHA-256\", \"MD5\"",
            );
        }
        for (i, a) in self.digest_algorithms.iter().enumerate() {
            if a != "SHA-256" && a != "MD5" {
                p.push(
                    format!("sip.digest_algorithms[{i}]"),
                    format!("unknown algorithm `{a}`; valid: \"SHA-256\", \"MD5\""),
                );
            }
        }
        if self.max_call_duration < Duration::from_secs(1) {
            p.push("sip.max_call_duration", "must be at least 1s, e.g. \"1h\"");
        }
        if self.tcp_idle_timeout < Duration::from_secs(1) {
            p.push("sip.tcp_idle_timeout", "must be at least 1s, e.g. \"2m\"");
        }
        if self.tcp_message_timeout < Duration::from_secs(1) {
            p.push(
                "sip.tcp_message_timeout",
                format!(
                    "{} is too short; must be at least 1s, e.g. \"10s\"",
                    humantime::format_duration(self.tcp_message_timeout)
                ),
            );
        }
        if self.tcp_max_connections == 0 {
            p.push(
                "sip.tcp_max_connections",
                "0 would refuse every connection; must be at least 1, e.g. 4096",
            );
        }
        if self.tcp_max_connections_per_source == 0 {
            p.push(
                "sip.tcp_max_connections_per_source",
                "0 would refuse every connection; must be at least 1, e.g. 128",
            );
        }
        if self.tcp_max_connections_per_source > self.tcp_max_connections {
            p.push(
                "sip.tcp_max_connections_per_source",
                format!(
                    "{} is more than sip.tcp_max_connections ({}); must be 1 to {}",
                    self.tcp_max_connections_per_source,
                    self.tcp_max_connections,
                    self.tcp_max_connections
                ),
            );
        }
        self.auth.validate(p);
        if self.max_calls == 0 {
            p.push("sip.max_calls", "must be at least 1");
        }
        if self.max_calls_per_second == 0 {
            p.push("sip.max_calls_per_second", "must be at least 1");
        }
        p.unique_names("sip.trunks", self.trunks.iter().map(|t| t.name.as_str()));
        for (i, t) in self.trunks.iter().enumerate() {
            let at = format!("sip.trunks[{i}]");
            p.identifier(format!("{at}.name"), &t.name);
            let digest = t.username.is_some() || t.password.is_some();
            if t.username.is_some() != t.password.is_some() {
                p.push(
                    format!("{at}.password"),
                    "inbound digest authentication needs both username and password",
                );
            }
            if t.allow.is_empty() && !digest {
                p.push(
                    format!("{at}.allow"),
                    "a trunk needs source addresses (allow) or digest credentials (username, password)",
                );
            }
            if digest && t.challenge_from.is_empty() {
                p.push(
                    format!("{at}.challenge_from"),
                    "a trunk with digest credentials needs the sources that may answer its \
                     challenge: addresses or networks such as [\"203.0.113.0/24\"], or [\"any\"]",
                );
            }
            if !digest && !t.challenge_from.is_empty() {
                p.push(
                    format!("{at}.challenge_from"),
                    "only trunks with digest credentials (username, password) challenge; \
                     remove it, or use allow for sources accepted without a challenge",
                );
            }
            for (j, a) in t.addresses.iter().enumerate() {
                if !is_sip_uri(a) {
                    p.push(
                        format!("{at}.addresses[{j}]"),
                        format!(
                            "{a:?} is not a SIP URI; write e.g. \"sip:sbc1.carrier.example:5060\""
                        ),
                    );
                } else if t.addresses[..j].contains(a) {
                    p.push(
                        format!("{at}.addresses[{j}]"),
                        format!("{a} is listed twice"),
                    );
                }
            }
            if let Some(proxy) = &t.outbound_proxy
                && !is_sip_uri(proxy)
            {
                p.push(
                    format!("{at}.outbound_proxy"),
                    format!(
                        "{proxy:?} is not a SIP URI; write e.g. \"sip:proxy.carrier.example:5060\""
                    ),
                );
            }
            let interval = t.options_interval;
            if !interval.is_zero()
                && (interval < Duration::from_secs(1) || interval > Duration::from_secs(3600))
            {
                p.push(
                    format!("{at}.options_interval"),
                    format!(
                        "{} is out of range; expected 1s–1h, or \"0s\" to never probe",
                        humantime::format_duration(interval)
                    ),
                );
            }
            if let Some(ca) = &t.tls_ca {
                pem_problem(p, format!("{at}.tls_ca"), ca, Pem::Certificates);
                if !t.tls_pins.is_empty() {
                    p.push(
                        format!("{at}.tls_ca"),
                        "with tls_pins the pinned certificates are trusted and no CA is \
                         consulted: keep one of the two",
                    );
                }
            }
            if let Some(name) = &t.tls_server_name
                && rustls_pki_types::ServerName::try_from(name.as_str()).is_err()
            {
                p.push(
                    format!("{at}.tls_server_name"),
                    format!("{name:?} is not a DNS name or IP address"),
                );
            }
            if let Some(a) = &t.outbound_auth {
                if a.username.trim().is_empty() {
                    p.push(format!("{at}.outbound_auth.username"), "must not be empty");
                }
                if a.password.is_empty() {
                    p.push(format!("{at}.outbound_auth.password"), "must not be empty");
                }
            }
            if let Some(r) = &t.register {
                let at = format!("{at}.register");
                if !is_sip_uri(&r.registrar) {
                    p.push(
                        format!("{at}.registrar"),
                        "expected a SIP URI such as \"sip:sip.carrier.example\"",
                    );
                }
                if !is_sip_uri(&r.aor) {
                    p.push(
                        format!("{at}.aor"),
                        "expected a SIP URI such as \"sip:31201234567@sip.carrier.example\"",
                    );
                }
                if r.expires < Duration::from_secs(60) {
                    p.push(format!("{at}.expires"), "must be at least 60s");
                }
            }
        }
    }
}

/// What a PEM file must hold.
#[derive(Clone, Copy)]
enum Pem {
    Certificates,
    PrivateKey,
}

/// Reads `file` as the configuration check does: it must exist and hold what `what` says.
fn pem_problem(p: &mut Problems, key: String, file: &Path, what: Pem) {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let shown = file.display();
    let found = match what {
        Pem::Certificates => CertificateDer::pem_file_iter(file).and_then(|certs| {
            let n = certs.collect::<Result<Vec<_>, _>>()?.len();
            Ok(n > 0)
        }),
        Pem::PrivateKey => PrivateKeyDer::from_pem_file(file).map(|_| true),
    };
    let wanted = match what {
        Pem::Certificates => "PEM CERTIFICATE block",
        Pem::PrivateKey => "PEM PRIVATE KEY block (PKCS #8, PKCS #1 or SEC1)",
    };
    match found {
        Ok(true) => {}
        Ok(false) | Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            p.push(key, format!("{shown} holds no {wanted}"));
        }
        Err(rustls_pki_types::pem::Error::Io(e)) => {
            p.push(key, format!("cannot read {shown}: {e}"));
        }
        Err(e) => p.push(
            key,
            format!("{shown} is not valid PEM ({e}); expected a {wanted}"),
        ),
    }
}

impl SipConfig {
    fn validate_tls(&self, p: &mut Problems) {
        let tls = &self.tls;
        let listening = self.listen.iter().any(|l| l.transport == SipTransport::Tls);
        match (&tls.certificate, &tls.private_key) {
            (Some(cert), Some(key)) => {
                pem_problem(p, "sip.tls.certificate".into(), cert, Pem::Certificates);
                pem_problem(p, "sip.tls.private_key".into(), key, Pem::PrivateKey);
            }
            (None, None) if !listening => {}
            (None, _) => p.push(
                "sip.tls.certificate",
                "a tls: listener needs a certificate and a private key: set \
                 sip.tls.certificate = \"/etc/deflect/sip.crt\" (PEM)",
            ),
            (_, None) => p.push(
                "sip.tls.private_key",
                "a certificate needs its private key: set sip.tls.private_key = \
                 \"/etc/deflect/sip.key\" (PEM)",
            ),
        }
        if tls.reload_interval < Duration::from_secs(1) {
            p.push(
                "sip.tls.reload_interval",
                "must be at least 1s, e.g. \"1m\"",
            );
        }
    }
}

impl SipAuthConfig {
    fn validate(&self, p: &mut Problems) {
        let at_least = |p: &mut Problems, key: &str, d: Duration, min: Duration, e: &str| {
            if d < min {
                p.push(
                    format!("sip.auth.{key}"),
                    format!(
                        "{} is too short; must be at least {}, e.g. \"{e}\"",
                        humantime::format_duration(d),
                        humantime::format_duration(min)
                    ),
                );
            }
        };
        at_least(
            p,
            "nonce_lifetime",
            self.nonce_lifetime,
            Duration::from_secs(1),
            "30s",
        );
        if self.nonce_lifetime > Duration::from_secs(600) {
            p.push(
                "sip.auth.nonce_lifetime",
                format!(
                    "{} is too long (a captured answer stays usable for it); must be 1s to 10m, e.g. \"30s\"",
                    humantime::format_duration(self.nonce_lifetime)
                ),
            );
        }
        at_least(
            p,
            "failure_window",
            self.failure_window,
            Duration::from_secs(1),
            "1m",
        );
        at_least(p, "ban_time", self.ban_time, Duration::from_secs(1), "10m");
        for (key, n) in [
            ("max_failures_per_source", self.max_failures_per_source),
            ("max_failures_per_username", self.max_failures_per_username),
        ] {
            if !(1..=100).contains(&n) {
                p.push(
                    format!("sip.auth.{key}"),
                    format!("{n} is out of range; must be 1 to 100, e.g. 5"),
                );
            }
        }
    }
}
