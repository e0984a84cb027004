//! What the load generators share: reading the gateway's process figures from /proc.

/// The resident memory of process `pid` in KiB (`VmRSS` from /proc/PID/status).
pub fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}
