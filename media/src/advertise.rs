//! The address media advertises: the connection address of the SDP this side sends (`c=`,
//! RFC 8866 §5.7), where callers send their RTP.
//!
//! RTP binds to `media.rtp_address`. When that is a specific address it is also the one
//! advertised. When it is unspecified (`0.0.0.0`, every interface) it cannot be put in SDP,
//! so the address callers already reach the gateway at is advertised: `sip.public_address`
//! (an IP address, or a host name resolved once at start-up), else the first specific SIP
//! listen address. [`advertised`] decides (sans-IO); [`resolve`] (feature `runtime`) also
//! looks a host name up, giving what [`MediaEngine::start`](crate::driver::MediaEngine::start)
//! takes. Peers in `sip.local_networks` are given that listen address instead of the public
//! one ([`local`], per call through `CallOptions::advertise`).

use deflect_config::{MediaConfig, SipConfig};
use std::net::IpAddr;

/// What to advertise in SDP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Advertised {
    /// `media.rtp_address` itself (it is a specific address).
    RtpAddress,
    /// This address.
    Ip(IpAddr),
    /// The address this host name (`sip.public_address`) resolves to.
    Host(String),
    /// Nothing better than the unspecified `rtp_address`: SDP will carry `0.0.0.0` (the
    /// engine warns at start).
    Unspecified,
}

/// Decides what media advertises (see the module docs).
pub fn advertised(media: &MediaConfig, sip: &SipConfig) -> Advertised {
    if !media.rtp_address.is_unspecified() {
        return Advertised::RtpAddress;
    }
    match &sip.public_address {
        Some(public) => match public.parse::<IpAddr>() {
            Ok(ip) => Advertised::Ip(ip),
            Err(_) => Advertised::Host(public.clone()),
        },
        None => sip
            .listen
            .iter()
            .map(|l| l.addr.ip())
            .find(|ip| !ip.is_unspecified())
            .map_or(Advertised::Unspecified, Advertised::Ip),
    }
}

/// The address to put in SDP for a peer in `sip.local_networks` instead of the public one:
/// the first specific SIP listen address, when media advertises `sip.public_address` (RTP
/// on every interface); `None` when local peers get what everyone gets.
pub fn local(media: &MediaConfig, sip: &SipConfig) -> Option<IpAddr> {
    let public = sip.public_address.is_some() && media.rtp_address.is_unspecified();
    if !public || sip.local_networks.is_empty() {
        return None;
    }
    sip.listen
        .iter()
        .map(|l| l.addr.ip())
        .find(|ip| !ip.is_unspecified())
}

/// `sip.public_address` names a host that does not resolve.
#[derive(Debug, thiserror::Error)]
#[error("sip.public_address {host:?} does not resolve to an address to put in SDP{}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
pub struct Unresolvable {
    /// The host name.
    pub host: String,
    /// The resolver's error, when it gave one (none: no address came back).
    pub cause: Option<std::io::Error>,
}

/// The address to advertise, a host name resolved: `None` means `media.rtp_address`
/// itself (what `MediaEngine::start` takes).
#[cfg(feature = "runtime")]
pub async fn resolve(media: &MediaConfig, sip: &SipConfig) -> Result<Option<IpAddr>, Unresolvable> {
    match advertised(media, sip) {
        Advertised::RtpAddress | Advertised::Unspecified => Ok(None),
        Advertised::Ip(ip) => Ok(Some(ip)),
        Advertised::Host(host) => {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await;
            match found.map(|mut addrs| addrs.next()) {
                Ok(Some(a)) => Ok(Some(a.ip())),
                Ok(None) => Err(Unresolvable { host, cause: None }),
                Err(e) => Err(Unresolvable {
                    host,
                    cause: Some(e),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn configs(rtp: &str, public: Option<&str>, listen: &[&str]) -> (MediaConfig, SipConfig) {
        let media = MediaConfig {
            rtp_address: rtp.parse().unwrap(),
            ..MediaConfig::default()
        };
        let sip = SipConfig {
            public_address: public.map(str::to_string),
            listen: listen.iter().map(|l| l.parse().unwrap()).collect(),
            ..SipConfig::default()
        };
        (media, sip)
    }

    #[test]
    fn local_peers_get_the_listen_address_only_instead_of_a_public_one() {
        let with_networks = |(m, mut s): (MediaConfig, SipConfig)| {
            s.local_networks = vec!["10.0.0.0/8".parse().unwrap()];
            (m, s)
        };
        let (m, s) = with_networks(configs(
            "0.0.0.0",
            Some("203.0.113.5"),
            &["udp:0.0.0.0:5070", "udp:10.0.0.2:5060"],
        ));
        assert_eq!(local(&m, &s), Some("10.0.0.2".parse().unwrap()));
        // RTP on a specific address is advertised to everyone; without a public address
        // or local networks nothing changes.
        let (m, s) = with_networks(configs(
            "10.0.0.2",
            Some("203.0.113.5"),
            &["udp:10.0.0.2:5060"],
        ));
        assert_eq!(local(&m, &s), None);
        let (m, s) = with_networks(configs("0.0.0.0", None, &["udp:10.0.0.2:5060"]));
        assert_eq!(local(&m, &s), None);
        let (m, s) = configs("0.0.0.0", Some("203.0.113.5"), &["udp:10.0.0.2:5060"]);
        assert_eq!(local(&m, &s), None);
    }

    #[test]
    fn a_specific_rtp_address_is_advertised_as_it_is() {
        let (m, s) = configs("192.0.2.10", Some("203.0.113.5"), &["udp:0.0.0.0:5060"]);
        assert_eq!(advertised(&m, &s), Advertised::RtpAddress);
    }

    #[test]
    fn with_rtp_on_every_interface_the_public_address_is_advertised() {
        let (m, s) = configs("0.0.0.0", Some("203.0.113.5"), &["udp:192.0.2.1:5060"]);
        assert_eq!(
            advertised(&m, &s),
            Advertised::Ip("203.0.113.5".parse().unwrap())
        );
        let (m, s) = configs("0.0.0.0", Some("sbc.example.net"), &["udp:192.0.2.1:5060"]);
        assert_eq!(
            advertised(&m, &s),
            Advertised::Host("sbc.example.net".into())
        );
    }

    #[test]
    fn without_a_public_address_the_first_specific_sip_listen_address_is_advertised() {
        let (m, s) = configs(
            "0.0.0.0",
            None,
            &[
                "udp:0.0.0.0:5060",
                "tcp:192.0.2.1:5060",
                "tcp:192.0.2.2:5060",
            ],
        );
        assert_eq!(
            advertised(&m, &s),
            Advertised::Ip("192.0.2.1".parse().unwrap())
        );
        let (m, s) = configs("0.0.0.0", None, &["udp:0.0.0.0:5060"]);
        assert_eq!(advertised(&m, &s), Advertised::Unspecified);
    }

    #[cfg(feature = "runtime")]
    #[tokio::test]
    async fn resolving_gives_the_engine_an_address_or_says_which_name_failed() {
        let (m, s) = configs("0.0.0.0", Some("localhost"), &[]);
        let ip = resolve(&m, &s).await.unwrap().unwrap();
        assert!(ip.is_loopback(), "{ip}");
        let (m, s) = configs("127.0.0.1", Some("localhost"), &[]);
        assert_eq!(resolve(&m, &s).await.unwrap(), None);
        let (m, s) = configs("0.0.0.0", Some("no-such-host.invalid"), &[]);
        let e = resolve(&m, &s).await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("sip.public_address \"no-such-host.invalid\" does not resolve"),
            "{e}"
        );
    }
}
