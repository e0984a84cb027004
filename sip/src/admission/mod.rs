//! Who may send requests outside a dialog (RFC 3261 §22.1, RFC 7616, RFC 8760): a trunk by
//! its allow-list, or by digest credentials from the sources it names in `challenge_from`,
//! with the protections hardened registrars use:
//!
//! - sources on no allow-list and no `challenge_from` are refused (403 or nothing) — they
//!   never see a challenge, so the realm is not revealed to scanners;
//! - nonces live `nonce_lifetime` and each nonce count is accepted once ([`nonce`]): a
//!   captured `Authorization` replayed on a new transaction is refused;
//! - a right answer to an expired nonce gets a new challenge with `stale=true` (RFC 7616
//!   §3.3); a wrong one counts as a failure, so expired nonces are no guessing oracle;
//! - failures are throttled with temporary bans per source and per user name ([`bans`]);
//!   banned sources get what `sip.unauthorized` says, without their credentials being
//!   looked at. Allow-listed sources are decided before any of this and are never banned.
//!
//! Sans-IO: [`Admission::decide`] takes `now`; [`Admission::poll_timeout`] and
//! [`Admission::handle_timeout`] end bans on time (for the `deflect_sip_auth_active_bans`
//! gauge; a ban is checked against `now` whenever it matters).
//!
//! A new call from an admitted trunk then passes [`overload`]: shutdown, `sip.max_calls`
//! and `sip.max_calls_per_second` (503 with `Retry-After`).
//!
//! ```
//! use deflect_config::SipConfig;
//! use deflect_sip::admission::{Admission, Decision};
//! use std::time::Instant;
//!
//! let mut admission = Admission::new(&SipConfig::default(), "key".into());
//! let now = Instant::now();
//! // The default configuration accepts loopback only, by its allow-list.
//! let loopback = "127.0.0.1:5060".parse().unwrap();
//! assert_eq!(admission.decide(now, loopback, "INVITE", None), Decision::Trunk(0));
//! let elsewhere = "192.0.2.1:5060".parse().unwrap();
//! assert!(matches!(admission.decide(now, elsewhere, "INVITE", None), Decision::Refuse(_)));
//! ```

pub mod bans;
pub mod nonce;
pub mod overload;

use crate::auth::{self, Algorithm, DigestParams};
use crate::source::SourceKey;
use bans::{Bans, Limits, Scope};
use deflect_config::{SipAuthConfig, SipConfig, TrunkConfig};
use nonce::{NonceState, NonceTable};
use std::net::SocketAddr;
use std::time::Instant;
use tracing::info;

/// Why an authentication failed (`deflect_sip_auth_failures_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Credentials that cannot be checked: missing fields, an algorithm or qop not offered.
    Malformed,
    /// A nonce this process never issued.
    BadNonce,
    /// A user name (and realm) of no trunk that may answer from this source.
    UnknownUser,
    /// A wrong password.
    BadPassword,
    /// A nonce count used before: a replayed `Authorization`.
    Replay,
}

impl Failure {
    /// Label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadNonce => "bad_nonce",
            Self::UnknownUser => "unknown_user",
            Self::BadPassword => "bad_password",
            Self::Replay => "replay",
        }
    }
}

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The source is on no trunk's allow-list or `challenge_from`.
    NoTrunk,
    /// The source, or the user name it tries, is banned.
    Banned(Scope),
    /// The credentials failed.
    Failed(Failure),
}

impl Refusal {
    /// Label for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoTrunk => "no_trunk",
            Self::Banned(Scope::Source) => "banned_source",
            Self::Banned(Scope::Username) => "banned_username",
            Self::Failed(f) => f.as_str(),
        }
    }
}

/// What to do with a request from outside a dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It comes from the trunk with this index.
    Trunk(usize),
    /// Answer 401 with these `WWW-Authenticate` values (one per algorithm offered).
    Challenge(Vec<String>),
    /// Answer 403, or nothing with `sip.unauthorized = "drop"`.
    Refuse(Refusal),
}

/// The admission state of one endpoint: trunks, nonces, failure counters and bans.
pub struct Admission {
    trunks: Vec<TrunkConfig>,
    algorithms: Vec<Algorithm>,
    default_realm: String,
    nonces: NonceTable,
    bans: Bans,
}

impl Admission {
    /// From `[sip]`; `key` (random per process) keys the nonces.
    pub fn new(sip: &SipConfig, key: String) -> Self {
        Self::from_parts(
            sip.trunks.clone(),
            sip.digest_algorithms
                .iter()
                .filter_map(|a| Algorithm::parse(Some(a)))
                .collect(),
            sip.public_address
                .clone()
                .unwrap_or_else(|| "deflect".to_owned()),
            &sip.auth,
            key,
        )
    }

    /// From trunks, the algorithms challenged with (preferred first), the realm of trunks
    /// that name none, `[sip.auth]` and the nonce key.
    pub fn from_parts(
        trunks: Vec<TrunkConfig>,
        algorithms: Vec<Algorithm>,
        default_realm: String,
        a: &SipAuthConfig,
        key: String,
    ) -> Self {
        Self {
            trunks,
            algorithms,
            default_realm,
            nonces: NonceTable::new(key, a.nonce_lifetime),
            bans: Bans::new(Limits {
                window: a.failure_window,
                per_source: a.max_failures_per_source,
                per_username: a.max_failures_per_username,
                ban_time: a.ban_time,
            }),
        }
    }

    fn realm<'a>(&'a self, t: &'a TrunkConfig) -> &'a str {
        t.realm.as_deref().unwrap_or(&self.default_realm)
    }

    /// Decides on a request from `remote` with this `method` and `Authorization` value.
    pub fn decide(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        method: &str,
        authorization: Option<&str>,
    ) -> Decision {
        let ip = remote.ip();
        if let Some(i) = self
            .trunks
            .iter()
            .position(|t| t.allow.iter().any(|c| c.contains(ip)))
        {
            return Decision::Trunk(i);
        }
        let may_answer = |t: &TrunkConfig| {
            t.username.is_some() && t.challenge_from.iter().any(|s| s.contains(ip))
        };
        let Some(first) = self.trunks.iter().position(may_answer) else {
            return Decision::Refuse(Refusal::NoTrunk);
        };
        let source = SourceKey::of(ip);
        if self.bans.source_banned(now, source) {
            return self.banned(Scope::Source);
        }
        let Some(p) = authorization.and_then(DigestParams::parse) else {
            return self.challenge(now, first, false);
        };
        let username = p.get("username").unwrap_or("");
        if self.bans.username_banned(now, username, source) {
            return self.banned(Scope::Username);
        }
        let Some(c) = Credentials::read(&p, &self.algorithms) else {
            return self.fail(now, source, None, Failure::Malformed);
        };
        let state = self.nonces.check(c.nonce, now);
        if state == NonceState::Forged {
            return self.fail(now, source, None, Failure::BadNonce);
        }
        let Some(trunk) = self.trunks.iter().position(|t| {
            may_answer(t) && t.username.as_deref() == Some(c.username) && self.realm(t) == c.realm
        }) else {
            return self.fail(now, source, None, Failure::UnknownUser);
        };
        let Some(password) = self.trunks[trunk].password.as_ref() else {
            return self.fail(now, source, None, Failure::UnknownUser);
        };
        let want = auth::response(
            c.algorithm,
            c.username,
            c.realm,
            password.expose(),
            method,
            c.uri,
            c.nonce,
            c.qop,
        );
        if !auth::constant_time_eq(want.as_bytes(), c.response.as_bytes()) {
            return self.fail(now, source, Some(c.username), Failure::BadPassword);
        }
        match state {
            NonceState::Fresh(seq) if self.nonces.use_count(seq, c.nc) => {
                self.bans.success(source);
                Decision::Trunk(trunk)
            }
            NonceState::Fresh(_) => {
                // The right answer, already used: a replay (or a client that counts wrong,
                // which a new nonce lets through).
                self.fail(now, source, None, Failure::Replay);
                self.challenge(now, trunk, true)
            }
            _ => self.challenge(now, trunk, true),
        }
    }

    fn challenge(&mut self, now: Instant, trunk: usize, stale: bool) -> Decision {
        let realm = self.realm(&self.trunks[trunk]).to_owned();
        let nonce = self.nonces.issue(now);
        let stale = if stale { ", stale=true" } else { "" };
        Decision::Challenge(
            self.algorithms
                .iter()
                .map(|a| {
                    format!(
                        "Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm={a}, qop=\"auth\"{stale}"
                    )
                })
                .collect(),
        )
    }

    fn banned(&self, scope: Scope) -> Decision {
        metrics::counter!("deflect_sip_auth_banned_requests_total", "scope" => scope.as_str())
            .increment(1);
        Decision::Refuse(Refusal::Banned(scope))
    }

    fn fail(
        &mut self,
        now: Instant,
        source: SourceKey,
        username: Option<&str>,
        why: Failure,
    ) -> Decision {
        metrics::counter!("deflect_sip_auth_failures_total", "reason" => why.as_str()).increment(1);
        for scope in self.bans.failure(now, source, username) {
            match scope {
                Scope::Source => info!(%source, "SIP source banned after failed authentications"),
                Scope::Username => info!(
                    username = username.unwrap_or(""),
                    "SIP trunk user name banned after failed authentications"
                ),
            }
        }
        Decision::Refuse(Refusal::Failed(why))
    }

    /// When the next ban ends.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bans.poll_timeout()
    }

    /// Ends the bans due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.bans.handle_timeout(now);
    }

    /// Bans in force for `scope`.
    pub fn active_bans(&self, scope: Scope) -> usize {
        self.bans.active(scope)
    }
}

/// The fields of a Digest `Authorization` that are checked.
struct Credentials<'a> {
    algorithm: Algorithm,
    username: &'a str,
    realm: &'a str,
    nonce: &'a str,
    uri: &'a str,
    response: &'a str,
    /// `(nc, cnonce)` with `qop=auth`.
    qop: Option<(&'a str, &'a str)>,
    /// The nonce count (1 without qop: such a nonce is good for one request).
    nc: u32,
}

impl<'a> Credentials<'a> {
    fn read(p: &'a DigestParams, offered: &[Algorithm]) -> Option<Self> {
        let algorithm = Algorithm::parse(p.get("algorithm"))?;
        if !offered.contains(&algorithm) {
            return None;
        }
        let (qop, nc) = match p.get("qop") {
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc = p.get("nc")?;
                let n = (nc.len() <= 8)
                    .then(|| u32::from_str_radix(nc, 16).ok())
                    .flatten()?;
                (Some((nc, p.get("cnonce")?)), n)
            }
            Some(_) => return None,
            None => (None, 1),
        };
        Some(Self {
            algorithm,
            username: p.get("username")?,
            realm: p.get("realm")?,
            nonce: p.get("nonce")?,
            uri: p.get("uri")?,
            response: p.get("response")?,
            qop,
            nc,
        })
    }
}
