//! URIs in SIP messages (RFC 3261 §19.1, §25.1; RFC 3966 `tel:`): `sip:`/`sips:` with user,
//! password, host (name, IPv4, IPv6 reference), port, parameters and headers; `tel:` numbers
//! with parameters; any other absolute URI kept opaque so that a request to an unknown
//! scheme can still be answered (416).

use super::ParseError;
use super::syntax::{Param, Params};
use std::fmt;

/// URI scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other scheme (`http:`, `isbn:`, …), kept as written.
    Other(String),
}

/// A parsed URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// User part as written (percent escapes kept); the number for `tel:`.
    pub user: Option<String>,
    /// Password as written.
    pub password: Option<String>,
    /// Host as written (IPv6 references with brackets); empty for `tel:` and other schemes.
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// URI parameters.
    pub params: Params,
    /// Headers after `?`, as written.
    pub headers: Option<String>,
    /// For other schemes: everything after the colon.
    pub opaque: Option<String>,
}

impl Uri {
    /// A `sip:` URI to `user@host:port`.
    pub fn sip(user: Option<&str>, host: &str, port: Option<u16>) -> Self {
        Self {
            scheme: Scheme::Sip,
            user: user.map(str::to_owned),
            password: None,
            host: host.to_owned(),
            port,
            params: Params::default(),
            headers: None,
            opaque: None,
        }
    }

    /// Parses a URI with no surrounding white space.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let colon = s
            .find(':')
            .ok_or_else(|| ParseError::syntax("URI without a scheme"))?;
        let scheme = &s[..colon];
        if scheme.is_empty()
            || !scheme.as_bytes()[0].is_ascii_alphabetic()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(ParseError::syntax("invalid URI scheme"));
        }
        let rest = &s[colon + 1..];
        if rest.is_empty()
            || rest
                .bytes()
                .any(|b| b <= b' ' || b == b'<' || b == b'>' || b == b'"')
        {
            return Err(ParseError::syntax("invalid character in URI"));
        }
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            let secure = scheme.eq_ignore_ascii_case("sips");
            return Self::parse_sip(if secure { Scheme::Sips } else { Scheme::Sip }, rest);
        }
        if scheme.eq_ignore_ascii_case("tel") {
            let (number, params) = match rest.find(';') {
                Some(i) => (&rest[..i], uri_params(&rest[i..])?),
                None => (rest, Params::default()),
            };
            if number.is_empty()
                || !number
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b"+-.()*#".contains(&b))
            {
                return Err(ParseError::syntax("invalid tel: number"));
            }
            return Ok(Self {
                scheme: Scheme::Tel,
                user: Some(number.to_owned()),
                password: None,
                host: String::new(),
                port: None,
                params,
                headers: None,
                opaque: None,
            });
        }
        Ok(Self {
            scheme: Scheme::Other(scheme.to_owned()),
            user: None,
            password: None,
            host: String::new(),
            port: None,
            params: Params::default(),
            headers: None,
            opaque: Some(rest.to_owned()),
        })
    }

    fn parse_sip(scheme: Scheme, rest: &str) -> Result<Self, ParseError> {
        // userinfo ends at the first '@': neither parameters nor headers may contain one.
        let (userinfo, hostpart) = match rest.find('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(u) => {
                let (user, password) = match u.find(':') {
                    Some(i) => (&u[..i], Some(u[i + 1..].to_owned())),
                    None => (u, None),
                };
                if user.is_empty() || !valid_escapes(user) {
                    return Err(ParseError::syntax("invalid user part in SIP URI"));
                }
                (Some(user.to_owned()), password)
            }
            None => (None, None),
        };
        let (hostport, headers) = match hostpart.find('?') {
            Some(i) => (&hostpart[..i], Some(hostpart[i + 1..].to_owned())),
            None => (hostpart, None),
        };
        let (hostport, params) = match hostport.find(';') {
            Some(i) => (&hostport[..i], uri_params(&hostport[i..])?),
            None => (hostport, Params::default()),
        };
        let (host, port) = split_host_port(hostport)?;
        Ok(Self {
            scheme,
            user,
            password,
            host: host.to_owned(),
            port,
            params,
            headers,
            opaque: None,
        })
    }

    /// Whether this is a `sip:` or `sips:` URI.
    pub fn is_sip(&self) -> bool {
        matches!(self.scheme, Scheme::Sip | Scheme::Sips)
    }

    /// The user part with percent escapes decoded (lossy for non-UTF-8).
    pub fn user_decoded(&self) -> Option<String> {
        self.user.as_deref().map(percent_decode)
    }
}

/// Splits `host[:port]`, validating the host (name, IPv4 or `[IPv6]`).
pub(crate) fn split_host_port(s: &str) -> Result<(&str, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = s
            .find(']')
            .ok_or_else(|| ParseError::syntax("unterminated IPv6 reference"))?;
        let inner = &s[1..end];
        inner
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| ParseError::syntax("invalid IPv6 address"))?;
        let rest = &s[end + 1..];
        match rest.strip_prefix(':') {
            Some(p) => (&s[..=end], Some(p)),
            None if rest.is_empty() => (&s[..=end], None),
            None => return Err(ParseError::syntax("garbage after IPv6 reference")),
        }
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    if host.is_empty()
        || !(host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    {
        return Err(ParseError::syntax("invalid host"));
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| ParseError::syntax("invalid port"))?,
        ),
        None => None,
    };
    Ok((host, port))
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn uri_params(s: &str) -> Result<Params, ParseError> {
    let mut params = Vec::new();
    for p in s.split(';').skip(1) {
        if p.is_empty() {
            return Err(ParseError::syntax("empty URI parameter"));
        }
        let (name, value) = match p.find('=') {
            Some(i) => (&p[..i], Some(p[i + 1..].to_owned())),
            None => (p, None),
        };
        if name.is_empty() {
            return Err(ParseError::syntax("URI parameter without a name"));
        }
        params.push(Param {
            name: name.to_owned(),
            value,
        });
    }
    Ok(Params(params))
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                b.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scheme {
            Scheme::Sip => f.write_str("sip:")?,
            Scheme::Sips => f.write_str("sips:")?,
            Scheme::Tel => {
                write!(f, "tel:{}", self.user.as_deref().unwrap_or(""))?;
                return write!(f, "{}", self.params);
            }
            Scheme::Other(s) => {
                return write!(f, "{s}:{}", self.opaque.as_deref().unwrap_or(""));
            }
        }
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sip_uris_with_unusual_user_parts_ipv6_and_params() {
        let u = Uri::parse("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com").unwrap();
        assert_eq!(u.host, "example.com");
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        let u = Uri::parse("sip:[2001:db8::10]:5070;transport=tcp;lr").unwrap();
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.params.get("transport"), Some("tcp"));
        assert!(u.params.has("lr"));
        assert_eq!(u.to_string(), "sip:[2001:db8::10]:5070;transport=tcp;lr");
        let u = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(
            Uri::parse("sip:%75se%72@example.com")
                .unwrap()
                .user_decoded()
                .unwrap(),
            "user"
        );
    }

    #[test]
    fn tel_and_other_schemes() {
        let u = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user.as_deref(), Some("+1-201-555-0123"));
        assert_eq!(
            u.to_string(),
            "tel:+1-201-555-0123;phone-context=example.com"
        );
        let u = Uri::parse("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme, Scheme::Other("soap.beep".into()));
    }

    #[test]
    fn bad_uris_are_errors() {
        for bad in [
            "sip:",
            "sip:user@",
            "sip:[::1",
            "sip:host:99999",
            "sip:a b@c",
            "sip:%4@x",
            "nocolon",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
