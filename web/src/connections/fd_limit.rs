//! Whether the process may open as many files as the caps let connections take. Every
//! connection is a file descriptor; past the process's limit (`ulimit -n`, systemd's
//! `LimitNOFILE`, often 1024) accepting fails before any cap is reached, and refusals,
//! health checks, the SIP side and the database fail with it. The listener warns at start
//! when `http.max_connections` and what else the process keeps open do not fit under it.
//!
//! The limit is read from `/proc/self/limits` (Linux), not set: raising it is the
//! operator's decision.

use super::refusal::REFUSING_AT_ONCE;
use super::{ConnectionLimits, HEALTH_RESERVE};

/// Descriptors kept for everything but HTTP connections: SIP sockets and TCP connections,
/// RTP ports in use, the database, files.
pub const OTHER_FILES: u64 = 512;

/// The soft limit on open files in a `/proc/self/limits` text; `None` when unlimited or
/// not found.
pub fn soft_limit(proc_limits: &str) -> Option<u64> {
    proc_limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Descriptors the listener may need with `limits`: the connections, the reserve, the
/// refusals being answered, and [`OTHER_FILES`].
pub fn needed(limits: &ConnectionLimits) -> u64 {
    (limits.max_connections + HEALTH_RESERVE + REFUSING_AT_ONCE) as u64 + OTHER_FILES
}

/// Logs a warning when `needed(limits)` exceeds the process's soft limit.
pub(crate) fn warn_if_too_low(limits: &ConnectionLimits) {
    let Some(soft) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .as_deref()
        .and_then(soft_limit)
    else {
        return;
    };
    let needed = needed(limits);
    if needed > soft {
        tracing::warn!(
            max_connections = limits.max_connections,
            open_files_limit = soft,
            needed,
            "http.max_connections does not fit under the open-file limit: connections will fail to be accepted before the cap; raise the limit (ulimit -n, systemd LimitNOFILE) or lower http.max_connections"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
        Max processes             96362                96362                processes \n\
        Max open files            1024                 524288               files     \n\
        Max locked memory         8388608              8388608              bytes     \n";

    #[test]
    fn the_soft_open_files_limit_is_read() {
        assert_eq!(soft_limit(LIMITS), Some(1024));
        assert_eq!(
            soft_limit(&LIMITS.replace("1024 ", "unlimited ")),
            None,
            "no limit, nothing to warn about"
        );
        assert_eq!(soft_limit("garbage"), None);
    }

    #[test]
    fn the_defaults_need_more_than_a_common_limit_of_1024() {
        let defaults = ConnectionLimits::default();
        assert_eq!(needed(&defaults), 10_000 + 8 + 256 + 512);
        assert!(needed(&defaults) > soft_limit(LIMITS).unwrap_or(u64::MAX));
    }
}
