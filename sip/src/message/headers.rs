//! Typed views of the headers deflect acts on (RFC 3261 §20, RFC 4028, RFC 3326, RFC 3325):
//! `Via`, name-addr headers (`From`, `To`, `Contact`, `Route`, `P-Asserted-Identity`),
//! `CSeq`, and the session-timer headers. Parsed from the header's text on demand; parsing
//! is strict where RFC 4475 calls a form invalid.

use super::syntax::{self, Params, header_params, is_token, quote, quoted_string, skip_ws};
use super::uri::{Uri, split_host_port};
use super::{Method, ParseError};
use std::fmt;

/// A `Via` header value (RFC 3261 §20.42).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Transport token (`UDP`, `TCP`, `TLS`, …), upper case.
    pub transport: String,
    /// sent-by host.
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`, …).
    pub params: Params,
}

impl Via {
    /// Parses one Via value (`SIP / 2.0 / UDP host:port;params`; LWS allowed around `/`).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut parts = s.splitn(3, '/');
        let (name, version, rest) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c)) => (a.trim(), b.trim(), skip_ws(c)),
            _ => return Err(ParseError::syntax("Via without SIP/2.0/transport")),
        };
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(ParseError::syntax("Via protocol is not SIP/2.0"));
        }
        let end = rest
            .find([' ', '\t'])
            .ok_or_else(|| ParseError::syntax("Via without sent-by"))?;
        let transport = &rest[..end];
        if !is_token(transport) {
            return Err(ParseError::syntax("invalid Via transport"));
        }
        let rest = skip_ws(&rest[end..]);
        let end = rest.find([';', ' ', '\t']).unwrap_or(rest.len());
        let (host, port) = split_host_port(rest[..end].trim_end())?;
        let params = header_params(&rest[end..])?;
        Ok(Self {
            transport: transport.to_ascii_uppercase(),
            host: host.to_owned(),
            port,
            params,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch")
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A name-addr or addr-spec with header parameters: `From`, `To`, `Contact`, `Route`,
/// `Record-Route`, `P-Asserted-Identity` (RFC 3261 §20.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name (unquoted), if any.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, …).
    pub params: Params,
}

impl NameAddr {
    /// A name-addr around `uri` with no display name or parameters.
    pub fn new(uri: Uri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// Parses `[display-name] <URI> *(;param)` or `addr-spec *(;param)`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let (display, rest) = if s.starts_with('"') {
            let (d, rest) = quoted_string(s)?;
            let rest = skip_ws(rest);
            if !rest.starts_with('<') {
                return Err(ParseError::syntax("quoted display name without <URI>"));
            }
            (Some(d), rest)
        } else if let Some(lt) = s.find('<') {
            let name = s[..lt].trim();
            // display-name = *(token LWS) — anything else (a comma, a quote) is invalid.
            if !name
                .split([' ', '\t'])
                .filter(|w| !w.is_empty())
                .all(is_token)
            {
                return Err(ParseError::syntax(
                    "display name is neither tokens nor quoted",
                ));
            }
            ((!name.is_empty()).then(|| name.to_owned()), &s[lt..])
        } else {
            // addr-spec form: parameters after ';' belong to the header, and the URI may
            // carry neither ',' '?' nor ';' (RFC 3261 §20.10).
            let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
            let uri_text = &s[..end];
            if uri_text.contains(['?', ',']) {
                return Err(ParseError::syntax(
                    "addr-spec with '?' or ',' must be in <>",
                ));
            }
            let uri = Uri::parse(uri_text)?;
            let params = header_params(&s[end..])?;
            return Ok(Self {
                display: None,
                uri,
                params,
            });
        };
        let inner = rest
            .strip_prefix('<')
            .ok_or_else(|| ParseError::syntax("expected <"))?;
        let gt = inner
            .find('>')
            .ok_or_else(|| ParseError::syntax("unterminated <URI>"))?;
        let uri = Uri::parse(&inner[..gt])?;
        let params = header_params(&inner[gt + 1..])?;
        Ok(Self {
            display,
            uri,
            params,
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag")
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// Parses a comma-separated list of name-addrs.
pub fn name_addr_list(s: &str) -> Result<Vec<NameAddr>, ParseError> {
    syntax::split_commas(s)
        .into_iter()
        .map(NameAddr::parse)
        .collect()
}

/// `CSeq` (RFC 3261 §20.16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (less than 2³¹).
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let end = s
            .find([' ', '\t'])
            .ok_or_else(|| ParseError::syntax("CSeq without a method"))?;
        let num = &s[..end];
        let seq = parse_u32(num)
            .filter(|n| *n < 1 << 31)
            .ok_or_else(|| ParseError::syntax("CSeq number out of range"))?;
        let method = skip_ws(&s[end..]);
        if !is_token(method) {
            return Err(ParseError::syntax("invalid CSeq method"));
        }
        Ok(Self {
            seq,
            method: Method::from(method),
        })
    }
}

/// Parses an unsigned decimal made only of digits (leading zeros allowed).
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Who refreshes a session (RFC 4028).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresher {
    /// The caller.
    Uac,
    /// The callee.
    Uas,
}

impl fmt::Display for Refresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Uac => "uac",
            Self::Uas => "uas",
        })
    }
}

/// `Session-Expires` (RFC 4028 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionExpires {
    /// Interval in seconds.
    pub secs: u32,
    /// The `refresher` parameter.
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses `delta-seconds *(;param)`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let end = s.find([';', ' ', '\t']).unwrap_or(s.len());
        let secs =
            parse_u32(&s[..end]).ok_or_else(|| ParseError::syntax("invalid Session-Expires"))?;
        let params = header_params(&s[end..])?;
        let refresher = match params.get("refresher") {
            Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            _ => None,
        };
        Ok(Self { secs, refresher })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.secs)?;
        if let Some(r) = self.refresher {
            write!(f, ";refresher={r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn via_with_lws_everywhere() {
        let v = Via::parse("SIP  /   2.0 /UDP     192.0.2.2;rport;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(v.params.has("rport"));
        let v = Via::parse("SIP/2.0/TCP [2001:db8::1]:5061 ; branch = z9hG4bK1").unwrap();
        assert_eq!(v.host, "[2001:db8::1]");
        assert_eq!(v.port, Some(5061));
        assert!(Via::parse("SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
    }

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com>   ;   tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(n.display.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(n.tag(), Some("98asjd8"));
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display.as_deref(), Some("caller"));
        let n = NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert!(n.params.has("unknownparam"));
        assert!(n.uri.params.0.is_empty());
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "sip:caller@example.net;;tag=1",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cseq_and_session_expires() {
        assert_eq!(CSeq::parse("0009\t INVITE").unwrap().seq, 9);
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        let se = SessionExpires::parse("1800;refresher=uac").unwrap();
        assert_eq!(se.secs, 1800);
        assert_eq!(se.refresher, Some(Refresher::Uac));
    }
}
