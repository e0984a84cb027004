//! Where requests for a SIP URI go (RFC 3263 §4, the part deflect uses): the transport from
//! the URI's `transport` parameter (UDP without one; TLS for `sips:`), the host's address,
//! and the port (5060 without one, 5061 over TLS). deflect looks up no NAPTR or SRV
//! records: registrars and test targets are named by address or by a host name with an
//! A/AAAA record, and a port.
//!
//! [`Destination::of`] reads the URI (sans-IO); `resolve` (with the `runtime` feature)
//! also looks the host up. A URI deflect cannot reach as written is an error rather than a
//! guess: a `sips:` URI with a transport other than TLS would be a silent downgrade.
//!
//! ```
//! use deflect_config::SipTransport;
//! use deflect_sip::message::Uri;
//! use deflect_sip::resolve::Destination;
//!
//! let uri = Uri::parse("sip:registrar.example:5080;transport=tcp").unwrap();
//! let to = Destination::of(&uri).unwrap();
//! assert_eq!((to.transport, to.host.as_str(), to.port), (SipTransport::Tcp, "registrar.example", 5080));
//! ```

use crate::message::{Scheme, Uri};
use deflect_config::SipTransport;

/// The port of a SIP URI without one (RFC 3261 §19.1.2).
pub const DEFAULT_PORT: u16 = 5060;

/// The port of a `sips:` (or `transport=tls`) URI without one.
pub const DEFAULT_TLS_PORT: u16 = 5061;

/// Why a URI gives no address to send to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Not a `sip:` URI with a host (`tel:`, other schemes).
    #[error("{0:?} is not a sip:[USER@]HOST[:PORT] URI")]
    NotSip(String),
    /// A `sips:` URI whose transport parameter is not TLS.
    #[error("{0:?}: a sips: URI is reached over TLS only; remove the transport parameter")]
    Tls(String),
    /// A `transport` parameter other than udp, tcp or tls.
    #[error("{uri:?}: transport {transport:?} is not supported (udp, tcp or tls)")]
    Transport {
        /// The URI.
        uri: String,
        /// Its transport parameter.
        transport: String,
    },
    /// The host has no address (or the lookup failed).
    #[error("{host:?} does not resolve to an address: {cause}")]
    Lookup {
        /// The host looked up.
        host: String,
        /// What the resolver said.
        cause: std::io::Error,
    },
}

impl ResolveError {
    /// Whether trying again later may help (a lookup that failed), rather than only a
    /// different URI.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Lookup { .. })
    }
}

/// Where requests for a URI go, before the host is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Transport.
    pub transport: SipTransport,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Destination {
    /// Reads the destination from `uri`.
    pub fn of(uri: &Uri) -> Result<Self, ResolveError> {
        let sips = match uri.scheme {
            _ if uri.host.is_empty() => return Err(ResolveError::NotSip(uri.to_string())),
            Scheme::Sip => false,
            Scheme::Sips => true,
            _ => return Err(ResolveError::NotSip(uri.to_string())),
        };
        let transport = match uri.params.get("transport") {
            None if sips => SipTransport::Tls,
            None => SipTransport::Udp,
            Some(t) if t.eq_ignore_ascii_case("tls") => SipTransport::Tls,
            Some(_) if sips => return Err(ResolveError::Tls(uri.to_string())),
            Some(t) if t.eq_ignore_ascii_case("udp") => SipTransport::Udp,
            Some(t) if t.eq_ignore_ascii_case("tcp") => SipTransport::Tcp,
            Some(t) => {
                return Err(ResolveError::Transport {
                    uri: uri.to_string(),
                    transport: t.to_owned(),
                });
            }
        };
        Ok(Self {
            transport,
            host: uri.host.trim_matches(['[', ']']).to_owned(),
            port: uri.port.unwrap_or(match transport {
                SipTransport::Tls => DEFAULT_TLS_PORT,
                _ => DEFAULT_PORT,
            }),
        })
    }

    /// Looks the host up: its first address, with the port.
    #[cfg(feature = "runtime")]
    pub async fn lookup(&self) -> Result<std::net::SocketAddr, ResolveError> {
        let fail = |cause| ResolveError::Lookup {
            host: self.host.clone(),
            cause,
        };
        tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(fail)?
            .next()
            .ok_or_else(|| fail(std::io::ErrorKind::NotFound.into()))
    }
}

/// The transport and address requests for `uri` go to: [`Destination::of`], then the
/// host's first address.
#[cfg(feature = "runtime")]
pub async fn resolve(uri: &Uri) -> Result<(SipTransport, std::net::SocketAddr), ResolveError> {
    let to = Destination::of(uri)?;
    Ok((to.transport, to.lookup().await?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn of(uri: &str) -> Result<Destination, ResolveError> {
        Destination::of(&Uri::parse(uri).unwrap())
    }

    #[test]
    fn transport_host_and_port_come_from_the_uri() {
        let to = of("sip:1000@127.0.0.1").unwrap();
        assert_eq!(
            to,
            Destination {
                transport: SipTransport::Udp,
                host: "127.0.0.1".into(),
                port: 5060
            }
        );
        let to = of("sip:[::1]:5070;transport=TCP").unwrap();
        assert_eq!(
            (to.transport, to.host.as_str(), to.port),
            (SipTransport::Tcp, "::1", 5070)
        );
        assert_eq!(
            of("sip:h;transport=udp").unwrap().transport,
            SipTransport::Udp
        );
    }

    #[test]
    fn sips_and_transport_tls_go_over_tls_to_5061() {
        for uri in ["sips:sbc.example", "sip:sbc.example;transport=TLS"] {
            let to = of(uri).unwrap();
            assert_eq!(
                (to.transport, to.host.as_str(), to.port),
                (SipTransport::Tls, "sbc.example", 5061),
                "{uri}"
            );
        }
        assert_eq!(of("sips:sbc.example:5081").unwrap().port, 5081);
    }

    #[test]
    fn what_deflect_cannot_reach_as_written_is_an_error() {
        for (uri, want) in [
            ("sips:registrar.example;transport=tcp", "over TLS only"),
            (
                "sip:h;transport=sctp",
                "transport \"sctp\" is not supported",
            ),
            ("tel:+31201234567", "is not a sip:"),
            ("mailto:a@b", "is not a sip:"),
        ] {
            let e = of(uri).unwrap_err();
            assert!(e.to_string().contains(want), "{uri}: {e}");
            assert!(!e.is_transient(), "{uri}");
        }
        let lookup = ResolveError::Lookup {
            host: "registrar.example".into(),
            cause: std::io::ErrorKind::NotFound.into(),
        };
        assert!(lookup.is_transient(), "DNS may answer later");
    }

    #[cfg(feature = "runtime")]
    #[tokio::test]
    async fn literal_addresses_resolve_without_a_lookup_service() {
        let (t, addr) = resolve(&Uri::parse("sip:u@[::1]:5080;transport=tcp").unwrap())
            .await
            .unwrap();
        assert_eq!(
            (t, addr),
            (SipTransport::Tcp, "[::1]:5080".parse().unwrap())
        );
        let (t, addr) = resolve(&Uri::parse("sip:127.0.0.1").unwrap())
            .await
            .unwrap();
        assert_eq!(
            (t, addr),
            (SipTransport::Udp, "127.0.0.1:5060".parse().unwrap())
        );
    }
}
