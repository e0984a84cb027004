//! Value types with their own syntax in the configuration file, each parsed once with an
//! error message that says what would be valid.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// Implements `Serialize`/`Deserialize` through `Display`/`FromStr<Err = String>`.
macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
pub(crate) use string_serde;

/// Transport of a SIP listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SipTransport {
    /// SIP over UDP (RFC 3261 §18).
    Udp,
    /// SIP over TCP, framed by Content-Length.
    Tcp,
    /// SIP over TLS over TCP (RFC 3261 §26.2), framed like TCP.
    Tls,
}

impl SipTransport {
    /// Lower-case name as written in the configuration (`udp`, `tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }

    /// The transport as a Via header writes it: `UDP`, `TCP`, `TLS`.
    pub fn via_name(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        }
    }

    /// The `transport` URI parameter that makes a URI reach a listener of this transport
    /// (none for UDP, the default).
    pub fn uri_param(self) -> &'static str {
        match self {
            Self::Udp => "",
            Self::Tcp => ";transport=tcp",
            Self::Tls => ";transport=tls",
        }
    }

    /// Whether messages travel on a connection (TCP, TLS): framed by Content-Length, no
    /// retransmissions.
    pub fn is_stream(self) -> bool {
        self != Self::Udp
    }
}

impl fmt::Display for SipTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SIP listener: `udp:127.0.0.1:5060`, `tcp:[::1]:5060`, `tls:0.0.0.0:5061`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenAddr {
    /// Transport to listen on.
    pub transport: SipTransport,
    /// Local address (port 0 picks a free port).
    pub addr: SocketAddr,
}

impl FromStr for ListenAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const HELP: &str = "expected \"udp:HOST:PORT\", \"tcp:HOST:PORT\" or \"tls:HOST:PORT\", e.g. \
                            \"udp:127.0.0.1:5060\" or \"tls:[::1]:5061\"";
        let (transport, addr) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} has no transport; {HELP}"))?;
        let transport = match transport.to_ascii_lowercase().as_str() {
            "udp" => SipTransport::Udp,
            "tcp" => SipTransport::Tcp,
            "tls" => SipTransport::Tls,
            other => {
                return Err(format!(
                    "unknown transport {other:?} in {s:?}; valid: udp, tcp, tls"
                ));
            }
        };
        let addr = parse_socket_addr(addr).map_err(|e| format!("{e}; {HELP}"))?;
        Ok(Self { transport, addr })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}
string_serde!(ListenAddr, "a SIP listener such as \"udp:127.0.0.1:5060\"");

/// Parses `HOST:PORT` with a message that names what is wrong (notably a port over 65535).
pub(crate) fn parse_socket_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    match s.rsplit_once(':') {
        Some((host, port)) if port.parse::<u64>().is_ok() && port.parse::<u16>().is_err() => Err(
            format!("port {port} of {host}:{port} is out of range (0–65535)"),
        ),
        _ => Err(format!(
            "{s:?} is not an IP address and port (IPv6 in brackets: \"[::1]:8080\")"
        )),
    }
}

/// A socket address that deserializes with [`parse_socket_addr`]'s messages.
pub mod socket_addr {
    use super::*;

    /// Serializes as `HOST:PORT`.
    pub fn serialize<S: Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(a)
    }

    /// Deserializes `HOST:PORT`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
        let s = String::deserialize(d)?;
        parse_socket_addr(&s).map_err(serde::de::Error::custom)
    }
}

/// An inclusive UDP port range: `"20000-20999"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port (inclusive).
    pub last: u16,
}

impl PortRange {
    /// Number of ports in the range.
    pub fn len(self) -> usize {
        usize::from(self.last) - usize::from(self.first) + 1
    }

    /// Always false: a parsed range holds at least two ports.
    pub fn is_empty(self) -> bool {
        false
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const HELP: &str = "expected \"FIRST-LAST\" with ports 1–65535, e.g. \"20000-20999\"";
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("{s:?} is not a port range; {HELP}"))?;
        let port = |p: &str| -> Result<u16, String> {
            let p = p.trim();
            match p.parse::<u64>() {
                Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
                Ok(n) => Err(format!("port {n} in {s:?} is out of range; {HELP}")),
                Err(_) => Err(format!("{p:?} in {s:?} is not a port number; {HELP}")),
            }
        };
        let (first, last) = (port(a)?, port(b)?);
        if last <= first {
            return Err(format!(
                "{s:?} must hold at least two ports (RTP and RTCP), first below last; {HELP}"
            ));
        }
        Ok(Self { first, last })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}
string_serde!(PortRange, "a port range such as \"20000-20999\"");

/// Durations written the human way: `"500ms"`, `"10s"`, `"5m"`, `"24h"`, `"1h 30m"`.
pub mod duration {
    use super::*;
    use std::time::Duration;

    /// Serializes as e.g. `"1m 30s"`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    /// Deserializes `"10s"`-style strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not a duration ({e}); write e.g. \"500ms\", \"10s\", \"5m\", \"24h\""
            ))
        })
    }

    /// The same for `Option<Duration>`.
    pub mod option {
        use super::*;

        /// Serializes `Some` as a duration string (`None` is skipped by the field).
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        /// Deserializes a duration string into `Some`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

/// A number of bytes, written with a unit: `"500KiB"`, `"5MiB"`, `"100MB"`, `"1GiB"`, or plain
/// bytes (`"2048"`, `"2048B"`). KiB, MiB and GiB are powers of 1024; KB, MB and GB powers of
/// 1000. Shown in the largest binary unit that divides it exactly (else in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// One kibibyte (1024 bytes).
    pub const KIB: u64 = 1024;
    /// One mebibyte.
    pub const MIB: u64 = 1024 * 1024;
    /// One gibibyte.
    pub const GIB: u64 = 1024 * 1024 * 1024;

    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        const HELP: &str = "write a number and a unit: B, KiB, MiB, GiB (1024) or KB, MB, GB (1000), e.g. \"5MiB\"";
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a size; {HELP}"))?;
        let factor = match unit.trim() {
            "" | "B" => 1,
            "KiB" => Self::KIB,
            "MiB" => Self::MIB,
            "GiB" => Self::GIB,
            "KB" | "kB" => 1000,
            "MB" => 1000 * 1000,
            "GB" => 1000 * 1000 * 1000,
            other => return Err(format!("unknown unit {other:?} in {s:?}; {HELP}")),
        };
        number
            .checked_mul(factor)
            .map(Self)
            .ok_or_else(|| format!("{s:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (factor, unit) in [(Self::GIB, "GiB"), (Self::MIB, "MiB"), (Self::KIB, "KiB")] {
            if n != 0 && n.is_multiple_of(factor) {
                return write!(f, "{}{unit}", n / factor);
            }
        }
        write!(f, "{n}B")
    }
}
string_serde!(ByteSize, "a size such as \"5MiB\" or \"500KiB\"");

/// True for an E.164 number written `+` and 8–15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Checks a web origin (`https://example.com`, `http://localhost:3000`): scheme, host,
/// optional port, nothing else.
pub fn check_origin(s: &str) -> Result<(), String> {
    let help = "expected an origin such as \"https://www.example.com\" (scheme, host and optional port, no path)";
    let url = url::Url::parse(s).map_err(|e| format!("{s:?} is not an origin ({e}); {help}"))?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && !s.ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty();
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not an origin; {help}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addr_parses_both_transports_and_ipv6() {
        let a: ListenAddr = "udp:127.0.0.1:5060".parse().unwrap();
        assert_eq!(a.transport, SipTransport::Udp);
        assert_eq!(a.addr, "127.0.0.1:5060".parse().unwrap());
        let b: ListenAddr = "TCP:[::1]:5070".parse().unwrap();
        assert_eq!(b.to_string(), "tcp:[::1]:5070");
        let e = "sctp:127.0.0.1:5060".parse::<ListenAddr>().unwrap_err();
        assert!(e.contains("valid: udp, tcp"), "{e}");
        let e = "udp:127.0.0.1:70000".parse::<ListenAddr>().unwrap_err();
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn port_range_checks_bounds_and_order() {
        let r: PortRange = "20000-20999".parse().unwrap();
        assert_eq!((r.first, r.last, r.len()), (20000, 20999, 1000));
        for bad in ["20000", "0-10", "20000-70000", "5-4", "5-5", "a-b"] {
            assert!(bad.parse::<PortRange>().is_err(), "{bad} accepted");
        }
        let e = "20000-70000".parse::<PortRange>().unwrap_err();
        assert!(e.contains("70000") && e.contains("out of range"), "{e}");
    }

    #[test]
    fn byte_sizes_read_both_unit_families_and_show_the_binary_one() {
        let size = |s: &str| s.parse::<ByteSize>().map(ByteSize::bytes);
        assert_eq!(size("5MiB"), Ok(5 * 1024 * 1024));
        assert_eq!(size("500KiB"), Ok(500 * 1024));
        assert_eq!(size("100MB"), Ok(100_000_000));
        assert_eq!(size("2kB"), Ok(2000));
        assert_eq!(size("1GiB"), Ok(1 << 30));
        assert_eq!(size("2048"), Ok(2048));
        assert_eq!(size(" 16 MiB "), Ok(16 * 1024 * 1024));
        for bad in [
            "",
            "MiB",
            "5 mib",
            "5TB",
            "-5MiB",
            "1.5MiB",
            "99999999999999999999GiB",
        ] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?} accepted");
        }
        let e = "5mb".parse::<ByteSize>().unwrap_err();
        assert!(e.contains("\"mb\"") && e.contains("MiB"), "{e}");
        assert_eq!(ByteSize(5 * 1024 * 1024).to_string(), "5MiB");
        assert_eq!(ByteSize(500 * 1024).to_string(), "500KiB");
        assert_eq!(ByteSize(100_000_000).to_string(), "100000000B");
        assert_eq!(ByteSize(0).to_string(), "0B");
    }

    #[test]
    fn e164_shape() {
        assert!(is_e164("+31612345678"));
        assert!(!is_e164("0612345678"));
        assert!(!is_e164("+0612345678"));
        assert!(!is_e164("+3161234567890123"));
        assert!(!is_e164("+3161 2345678"));
    }

    #[test]
    fn origins() {
        assert!(check_origin("https://www.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("https://example.com/").is_err());
        assert!(check_origin("https://example.com/chat").is_err());
        assert!(check_origin("example.com").is_err());
    }
}

/// An IP network for allow-lists: `"203.0.113.0/24"`, `"2001:db8::/32"`, or a single
/// address (`"127.0.0.1"`, `"::1"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr(pub ipnet::IpNet);

impl Cidr {
    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(net) = s.parse::<ipnet::IpNet>() {
            return Ok(Self(net.trunc()));
        }
        if let Ok(ip) = s.parse::<std::net::IpAddr>() {
            return Ok(Self(ipnet::IpNet::from(ip)));
        }
        Err(format!(
            "{s:?} is not an IP address or network; write e.g. \"203.0.113.7\", \"203.0.113.0/24\" or \"2001:db8::/32\""
        ))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
string_serde!(Cidr, "an IP address or network such as \"203.0.113.0/24\"");
