//! Which connections the HTTP listener takes: at most `per_source` open at once from one
//! source and `total` from all together, plus a small `reserve` beyond `total` for operators'
//! health checks.
//!
//! Sans-IO: the table only counts. The listener asks [`Admission::admit`] for every accepted
//! connection and keeps the [`Permit`] as long as the connection is open (WebSockets
//! included); dropping the permit frees the place. No clock is involved.
//!
//! A source is the TCP peer's address — never a header a client could write. IPv6 peers
//! count by their /64 prefix, since one host is commonly given a whole /64 and could
//! otherwise take a new address for every connection; IPv4-mapped IPv6 addresses
//! (`::ffff:192.0.2.1`, from a dual-stack socket) count as the IPv4 address.
//!
//! ```
//! use deflect_web::connections::admission::{Admission, Admitted, Refusal};
//! let admission = Admission::new(3, 1, 1);
//! let a = "192.0.2.1".parse().unwrap();
//! let first = admission.admit(a).unwrap();
//! assert_eq!(first.admitted(), Admitted::Fully);
//! assert_eq!(admission.admit(a).unwrap_err(), Refusal::SourceFull);
//! drop(first);
//! assert!(admission.admit(a).is_ok(), "the place is free again");
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// A source of connections: an IPv4 address, or the /64 prefix of an IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An IPv4 peer (also when it arrived as an IPv4-mapped IPv6 address).
    V4(u32),
    /// An IPv6 peer's /64 prefix.
    V6(u64),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => Self::V6((u128::from(v6) >> 64) as u64),
        }
    }
}

/// Why a connection is not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its source already holds `per_source` connections (answered 429).
    SourceFull,
    /// All sources together hold `total` connections and the reserve is taken (answered 503).
    TotalFull,
}

/// What a taken connection may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admitted {
    /// Anything.
    Fully,
    /// Taken from the reserve beyond `total`: health checks only, one request.
    Reserve,
}

/// The connection table; cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Admission {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    total: usize,
    per_source: usize,
    reserve: usize,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    open: usize,
    by_source: HashMap<Source, usize>,
}

impl Admission {
    /// A table allowing `total` connections (plus `reserve` for health checks) and
    /// `per_source` from one source. Zero limits are taken as 1.
    pub fn new(total: usize, per_source: usize, reserve: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                total: total.max(1),
                per_source: per_source.max(1),
                reserve,
                table: Mutex::new(Table::default()),
            }),
        }
    }

    /// Takes a connection from `peer`, or says why not.
    pub fn admit(&self, peer: IpAddr) -> Result<Permit, Refusal> {
        let source = Source::from(peer);
        let s = &self.shared;
        let mut t = s.table.lock().unwrap_or_else(PoisonError::into_inner);
        if t.by_source.get(&source).copied().unwrap_or(0) >= s.per_source {
            return Err(Refusal::SourceFull);
        }
        let admitted = if t.open < s.total {
            Admitted::Fully
        } else if t.open < s.total + s.reserve {
            Admitted::Reserve
        } else {
            return Err(Refusal::TotalFull);
        };
        t.open += 1;
        *t.by_source.entry(source).or_default() += 1;
        Ok(Permit {
            shared: self.shared.clone(),
            source,
            admitted,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().open
    }

    /// Connections open now from `peer`'s source.
    pub fn open_from(&self, peer: IpAddr) -> usize {
        self.lock()
            .by_source
            .get(&Source::from(peer))
            .copied()
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.shared
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open connection's place in the table, freed when dropped.
#[derive(Debug)]
pub struct Permit {
    shared: Arc<Shared>,
    source: Source,
    admitted: Admitted,
}

impl Permit {
    /// What the connection may do.
    pub fn admitted(&self) -> Admitted {
        self.admitted
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut t = self
            .shared
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        t.open = t.open.saturating_sub(1);
        let left = t.by_source.get_mut(&self.source).map(|n| {
            *n = n.saturating_sub(1);
            *n
        });
        if left == Some(0) {
            let sources = &mut t.by_source;
            sources.remove(&self.source);
            // A flood from many sources leaves a large empty map behind; give it back.
            if sources.capacity() > 1024 && sources.capacity() > 4 * sources.len() {
                sources.shrink_to(2 * sources.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_source_is_held_to_its_share() {
        let a = Admission::new(100, 2, 0);
        let held = [
            a.admit(ip("192.0.2.1")).unwrap(),
            a.admit(ip("192.0.2.1")).unwrap(),
        ];
        assert_eq!(a.admit(ip("192.0.2.1")).unwrap_err(), Refusal::SourceFull);
        assert!(
            a.admit(ip("192.0.2.2")).is_ok(),
            "other sources are not affected"
        );
        assert_eq!(a.open_from(ip("192.0.2.1")), 2);
        drop(held);
        assert_eq!(a.open_from(ip("192.0.2.1")), 0);
        assert_eq!(a.open(), 0, "every permit gave its place back");
        assert!(a.admit(ip("192.0.2.1")).is_ok());
    }

    #[test]
    fn the_total_is_shared_and_a_reserve_takes_health_checks() {
        let a = Admission::new(2, 10, 1);
        let _x = a.admit(ip("192.0.2.1")).unwrap();
        let _y = a.admit(ip("192.0.2.2")).unwrap();
        let r = a.admit(ip("192.0.2.3")).unwrap();
        assert_eq!(r.admitted(), Admitted::Reserve);
        assert_eq!(a.admit(ip("192.0.2.4")).unwrap_err(), Refusal::TotalFull);
        drop(r);
        assert_eq!(
            a.admit(ip("192.0.2.4")).unwrap().admitted(),
            Admitted::Reserve
        );
    }

    #[test]
    fn a_source_at_its_share_is_refused_as_such_even_when_all_are_full() {
        let a = Admission::new(1, 1, 0);
        let _x = a.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.1")).unwrap_err(), Refusal::SourceFull);
        assert_eq!(a.admit(ip("192.0.2.2")).unwrap_err(), Refusal::TotalFull);
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_mapped_ipv4_as_ipv4() {
        let a = Admission::new(100, 1, 0);
        let _x = a.admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            a.admit(ip("2001:db8:1:2:ffff::9")).unwrap_err(),
            Refusal::SourceFull,
            "another address of the same /64"
        );
        assert!(a.admit(ip("2001:db8:1:3::1")).is_ok(), "another /64");
        let _y = a.admit(ip("192.0.2.7")).unwrap();
        assert_eq!(
            a.admit(ip("::ffff:192.0.2.7")).unwrap_err(),
            Refusal::SourceFull
        );
    }

    #[test]
    fn a_flood_from_many_sources_leaves_no_large_table() {
        let a = Admission::new(100_000, 1, 0);
        let held: Vec<Permit> = (0..50_000u32)
            .map(|i| a.admit(IpAddr::from(i.to_be_bytes())).unwrap())
            .collect();
        drop(held);
        assert!(
            a.lock().by_source.capacity() < 2048,
            "{}",
            a.lock().by_source.capacity()
        );
    }
}
