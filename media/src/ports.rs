//! RTP/RTCP port pairs from the configured range (`[media].rtp_ports` on `rtp_address`).
//!
//! RTP takes an even port and RTCP the odd one above it (RFC 3550 §11). Ports are found by
//! binding, so ports other processes (or other tests) hold are skipped, and a cursor walks
//! the range round-robin so a port just released is not reused at once (late packets of the
//! previous call would land in the new one). When no pair is free the caller gets
//! [`PortError::Exhausted`] (SIP 503), never a panic.

use deflect_config::PortRange;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Mutex;

/// A bound RTP/RTCP socket pair (non-blocking).
#[derive(Debug)]
pub struct PortPair {
    /// The RTP socket (even port).
    pub rtp: UdpSocket,
    /// The RTCP socket (RTP port + 1).
    pub rtcp: UdpSocket,
}

impl PortPair {
    /// The RTP port.
    pub fn port(&self) -> u16 {
        self.rtp.local_addr().map(|a| a.port()).unwrap_or_default()
    }
}

/// Why no port pair could be had.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Every pair in the range is in use (SIP 503 Service Unavailable).
    #[error("no free RTP port pair in {first}-{last}")]
    Exhausted {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// Binding failed for another reason than the port being in use (the address is not
    /// local, permissions).
    #[error("cannot bind RTP on {address}: {source}")]
    Bind {
        /// The address tried.
        address: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// Hands out port pairs from a range (see the module docs). Shared by every call.
#[derive(Debug)]
pub struct PortAllocator {
    address: IpAddr,
    first: u16,
    pairs: u16,
    cursor: Mutex<u16>,
}

impl PortAllocator {
    /// An allocator over `range` on `address`.
    pub fn new(address: IpAddr, range: PortRange) -> Self {
        let first = u32::from(range.first) + u32::from(range.first % 2);
        let last = u32::from(range.last);
        let pairs = if last > first {
            (last + 1 - first) / 2
        } else {
            0
        };
        let (first, pairs) = (first.min(65534) as u16, pairs as u16);
        Self {
            address,
            first,
            pairs,
            cursor: Mutex::new(fastrand::u16(..pairs.max(1))),
        }
    }

    /// Number of pairs the range holds.
    pub fn capacity(&self) -> u16 {
        self.pairs
    }

    /// Binds the next free pair.
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        let start = {
            let mut c = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
            let s = *c;
            *c = (s + 1) % self.pairs.max(1);
            s
        };
        for i in 0..self.pairs {
            let index = (start + i) % self.pairs;
            let port = self.first + 2 * index;
            match self.bind_pair(port) {
                Ok(pair) => {
                    if i > 0 {
                        let mut c = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
                        *c = (index + 1) % self.pairs;
                    }
                    return Ok(pair);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(source) => {
                    return Err(PortError::Bind {
                        address: SocketAddr::new(self.address, port),
                        source,
                    });
                }
            }
        }
        Err(PortError::Exhausted {
            first: self.first,
            last: self.first + 2 * self.pairs.max(1) - 1,
        })
    }

    fn bind_pair(&self, port: u16) -> io::Result<PortPair> {
        let rtp = UdpSocket::bind(SocketAddr::new(self.address, port))?;
        let rtcp = UdpSocket::bind(SocketAddr::new(self.address, port + 1))?;
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        Ok(PortPair { rtp, rtcp })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A block of `n` consecutive free ports, found by binding a throwaway socket.
    fn free_range(n: u16) -> PortRange {
        loop {
            let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
            let base = probe.local_addr().unwrap().port() & !1;
            drop(probe);
            if base < 1024 || base > 65535 - n {
                continue;
            }
            let all_free = (base..base + n).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok());
            if all_free {
                return PortRange {
                    first: base,
                    last: base + n - 1,
                };
            }
        }
    }

    #[test]
    fn pairs_are_even_and_odd_and_in_use_ports_are_skipped() {
        let range = free_range(6);
        let alloc = PortAllocator::new("127.0.0.1".parse().unwrap(), range);
        assert_eq!(alloc.capacity(), 3);
        // Someone else holds the middle RTCP port: that pair is skipped.
        let squatter = UdpSocket::bind(("127.0.0.1", range.first + 3));
        let a = alloc.allocate().unwrap();
        let b = alloc.allocate().unwrap();
        let mut ports = vec![a.port(), b.port()];
        ports.sort_unstable();
        for p in &ports {
            assert_eq!(p % 2, 0);
            assert!((range.first..=range.last).contains(p));
        }
        if squatter.is_ok() {
            assert!(!ports.contains(&(range.first + 2)));
            assert!(matches!(alloc.allocate(), Err(PortError::Exhausted { .. })));
        }
        // Released ports come back.
        drop(a);
        assert!(alloc.allocate().is_ok());
    }

    #[test]
    fn exhaustion_is_an_error_not_a_panic() {
        let range = free_range(2);
        let alloc = PortAllocator::new("127.0.0.1".parse().unwrap(), range);
        let _held = alloc.allocate().unwrap();
        assert!(matches!(
            alloc.allocate(),
            Err(PortError::Exhausted { first, .. }) if first == range.first
        ));
        let none = PortAllocator::new(
            "127.0.0.1".parse().unwrap(),
            PortRange {
                first: range.first,
                last: range.first,
            },
        );
        assert!(matches!(none.allocate(), Err(PortError::Exhausted { .. })));
    }

    #[test]
    fn a_foreign_address_is_a_bind_error() {
        let alloc = PortAllocator::new("192.0.2.1".parse().unwrap(), free_range(2));
        assert!(matches!(alloc.allocate(), Err(PortError::Bind { .. })));
    }
}
