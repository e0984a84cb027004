//! HTTP Digest for SIP (RFC 3261 §22, RFC 7616, RFC 8760): MD5 and SHA-256, `qop=auth`.
//! The responses both sides compute, and the client side's answer to a challenge (to
//! REGISTER). The server side — nonces, counts, failure limits — is [`crate::admission`].
//!
//! Hashes come from the RustCrypto `md-5` and `sha2` crates.

use crate::message::Response;
use crate::message::syntax::{self, hex, quote};
use md5::{Digest as _, Md5};
use sha2::Sha256;
use std::fmt;

/// Digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (RFC 2617/7616).
    Md5,
    /// SHA-256 (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// Parses the `algorithm` parameter (absent means MD5).
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            None => Some(Self::Md5),
            Some(a) if a.eq_ignore_ascii_case("MD5") => Some(Self::Md5),
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Some(Self::Sha256),
            _ => None,
        }
    }

    /// Hex digest of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Self::Md5 => hex(&Md5::digest(data.as_bytes())),
            Self::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        })
    }
}

/// The parameters of a `Digest` challenge or credentials header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestParams(pub Vec<(String, String)>);

impl DigestParams {
    /// Parses `Digest k=v, k="v", …`; `None` when the scheme is not Digest.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once([' ', '\t'])?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        let mut out = Vec::new();
        for item in syntax::split_commas(rest) {
            let (k, v) = item.split_once('=')?;
            let v = v.trim();
            let v = if v.starts_with('"') {
                syntax::quoted_string(v).ok()?.0
            } else {
                v.to_owned()
            };
            out.push((k.trim().to_ascii_lowercase(), v));
        }
        Some(Self(out))
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Computes a digest `response` (RFC 7616 §3.4.1).
#[allow(clippy::too_many_arguments)]
pub fn response(
    algorithm: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let ha1 = algorithm.hash(&format!("{username}:{realm}:{password}"));
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => algorithm.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => algorithm.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// The header answering the challenges in `resp` for a `method` request to `uri` — its
/// name (`Authorization` for a 401's `WWW-Authenticate`, `Proxy-Authorization` for a 407's
/// `Proxy-Authenticate`) and value: SHA-256 preferred when offered (RFC 8760), else the
/// first challenge deflect can answer; `None` when it can answer none.
pub fn answer_challenges(
    resp: &Response,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Option<(&'static str, String)> {
    let (challenge, answer) = if resp.status == 401 {
        ("WWW-Authenticate", "Authorization")
    } else {
        ("Proxy-Authenticate", "Proxy-Authorization")
    };
    let mut challenges: Vec<&str> = resp.headers.get_all(challenge).collect();
    challenges.sort_by_key(|c| !c.contains("SHA-256"));
    let value =
        (challenges.iter()).find_map(|c| authorize(c, username, password, method, uri, cnonce))?;
    Some((answer, value))
}

/// Builds an `Authorization` value answering `challenge` (a `WWW-Authenticate` or
/// `Proxy-Authenticate` value). `None` when the challenge is not a Digest one deflect can
/// answer.
pub fn authorize(
    challenge: &str,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Option<String> {
    let c = DigestParams::parse(challenge)?;
    let algorithm = Algorithm::parse(c.get("algorithm"))?;
    let realm = c.get("realm").unwrap_or("");
    let nonce = c.get("nonce")?;
    let qop_auth = c
        .get("qop")
        .is_some_and(|q| q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")));
    let nc = "00000001";
    let resp = response(
        algorithm,
        username,
        realm,
        password,
        method,
        uri,
        nonce,
        qop_auth.then_some((nc, cnonce)),
    );
    let mut out = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={algorithm}",
        quote(username),
        quote(realm),
        quote(nonce),
        quote(uri),
        quote(&resp)
    );
    if qop_auth {
        out.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
    }
    if let Some(o) = c.get("opaque") {
        out.push_str(&format!(", opaque={}", quote(o)));
    }
    Some(out)
}

/// Compares without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc_7616_example_responses() {
        // RFC 7616 §3.9.1 (SHA-256 and MD5 for the same request).
        let args = |a| {
            response(
                a,
                "Mufasa",
                "http-auth@example.org",
                "Circle of Life",
                "GET",
                "/dir/index.html",
                "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
            )
        };
        assert_eq!(args(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(
            args(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn answering_a_challenge_round_trips() {
        let nonce = "0000000000000001abcdef";
        let challenge =
            format!("Digest realm=\"deflect\", nonce=\"{nonce}\", algorithm=SHA-256, qop=\"auth\"");
        let auth = authorize(&challenge, "trunk", "secret", "INVITE", "sip:1@x", "abc").unwrap();
        let p = DigestParams::parse(&auth).unwrap();
        assert_eq!(p.get("algorithm"), Some("SHA-256"));
        let expected = response(
            Algorithm::Sha256,
            "trunk",
            "deflect",
            "secret",
            "INVITE",
            "sip:1@x",
            nonce,
            Some(("00000001", "abc")),
        );
        assert_eq!(p.get("response"), Some(expected.as_str()));
    }
}
