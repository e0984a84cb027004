//! `[sip]`: listeners, advertised address, transaction timers, overload limits and trunks.

use crate::Problems;
use crate::secret::Secret;
use crate::value::{Cidr, ListenAddr, duration};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[sip]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Listeners, e.g. `["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]`.
    pub listen: Vec<ListenAddr>,
    /// Host name or IP address advertised in Via, Contact and SDP when the listen address
    /// is not what peers reach (NAT, 0.0.0.0). Defaults to the listen address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_address: Option<String>,
    /// `User-Agent` / `Server` header value.
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
    /// What requests from unknown sources get: `reject` (403) or `drop` (no answer).
    pub unauthorized: UnauthorizedAction,
    /// Idle TCP connections are closed after this long.
    #[serde(with = "duration")]
    pub tcp_idle_timeout: Duration,
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
            public_address: None,
            user_agent: format!("deflect/{}", env!("CARGO_PKG_VERSION")),
            timers: SipTimers::default(),
            session_expires: Duration::from_secs(1800),
            min_se: Duration::from_secs(90),
            max_calls: 10_000,
            max_calls_per_second: 2_000,
            unauthorized: UnauthorizedAction::Reject,
            tcp_idle_timeout: Duration::from_secs(120),
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
#[derive(Default)]
pub struct TrunkConfig {
    /// Name used in logs and metrics.
    pub name: String,
    /// Source addresses or networks accepted without a challenge.
    pub allow: Vec<Cidr>,
    /// Inbound digest authentication: requests from sources not on an allow-list are
    /// challenged and accepted with these credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password for inbound digest authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Digest realm; defaults to the public address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Detect DTMF tones in the audio of calls from this trunk (for carriers that send
    /// neither RFC 4733 events nor SIP INFO).
    pub inband_dtmf: bool,
    /// Outbound registration, for trunks that route calls to a registered contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<RegisterConfig>,
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
