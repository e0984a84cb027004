//! Why the driver runs calls from shared shards: the same work — every 20 ms per call, send
//! one RTP-sized datagram and read what came in — scheduled two ways over loopback:
//!
//! - `tasks`: one tokio task and one `interval` timer per call (tokio-registered sockets);
//! - `shards`: one task per core, each running its calls from a deadline heap with one
//!   timer (plain non-blocking sockets), as `deflect_media::driver` does.
//!
//! ```sh
//! cargo run --release -p deflect-media --example pacing_compare -- tasks 2000
//! cargo run --release -p deflect-media --example pacing_compare -- shards 2000
//! ```
//! Each prints CPU per call-second and the share of sends more than 5 ms late.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

const FRAME: Duration = Duration::from_millis(20);
const LATE: Duration = Duration::from_millis(5);

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (f.get(10).copied().unwrap_or(0.0) + f.get(11).copied().unwrap_or(0.0)) / 100.0
}

/// Socket pairs that send to each other: (ours, the peer's address).
fn pairs(n: usize) -> Vec<(UdpSocket, UdpSocket)> {
    (0..n)
        .map(|_| {
            let a = UdpSocket::bind("127.0.0.1:0").expect("bind");
            let b = UdpSocket::bind("127.0.0.1:0").expect("bind");
            a.set_nonblocking(true).expect("nonblocking");
            b.set_nonblocking(true).expect("nonblocking");
            (a, b)
        })
        .collect()
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    late: AtomicU64,
}

fn tick(socket: &UdpSocket, peer: SocketAddr, due: Instant, now: Instant, c: &Counters) {
    let mut buf = [0u8; 1500];
    while socket.recv_from(&mut buf).is_ok() {}
    let _ = socket.send_to(&[0u8; 172], peer);
    c.sent.fetch_add(1, Ordering::Relaxed);
    if now.saturating_duration_since(due) > LATE {
        c.late.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("shards", String::as_str).to_owned();
    let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1000);
    let seconds = 10;
    let counters = Arc::new(Counters::default());
    let all = pairs(n);
    // Every call sends to its peer, and the peer sends back, so both sides do the work.
    let mut sockets = Vec::new();
    for (a, b) in all {
        let (pa, pb) = (b.local_addr().expect("addr"), a.local_addr().expect("addr"));
        sockets.push((a, pa));
        sockets.push((b, pb));
    }
    let start = Instant::now();
    match mode.as_str() {
        "tasks" => {
            for (i, (socket, peer)) in sockets.into_iter().enumerate() {
                let c = counters.clone();
                let socket = tokio::net::UdpSocket::from_std(socket).expect("register");
                let first = start + FRAME * (i % 20) as u32 / 20;
                tokio::spawn(async move {
                    let mut interval = tokio::time::interval_at(first, FRAME);
                    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
                    let mut buf = [0u8; 1500];
                    loop {
                        let due = interval.tick().await;
                        while socket.try_recv_from(&mut buf).is_ok() {}
                        let _ = socket.try_send_to(&[0u8; 172], peer);
                        c.sent.fetch_add(1, Ordering::Relaxed);
                        if Instant::now().saturating_duration_since(due) > LATE {
                            c.late.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        }
        _ => {
            let shards = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut per_shard: Vec<Vec<(UdpSocket, SocketAddr)>> =
                (0..shards).map(|_| Vec::new()).collect();
            for (i, s) in sockets.into_iter().enumerate() {
                per_shard[i % shards].push(s);
            }
            for (k, calls) in per_shard.into_iter().enumerate() {
                let c = counters.clone();
                tokio::spawn(async move {
                    let mut heap: BinaryHeap<Reverse<(Instant, usize)>> = calls
                        .iter()
                        .enumerate()
                        .map(|(i, _)| {
                            Reverse((start + FRAME * ((i * shards + k) % 20) as u32 / 20, i))
                        })
                        .collect();
                    loop {
                        let Some(&Reverse((due, _))) = heap.peek() else {
                            return;
                        };
                        tokio::time::sleep_until(due).await;
                        let now = Instant::now();
                        while let Some(&Reverse((due, i))) = heap.peek() {
                            if due > now + Duration::from_micros(500) {
                                break;
                            }
                            heap.pop();
                            tick(&calls[i].0, calls[i].1, due, now, &c);
                            let mut next = due + FRAME;
                            while next <= now {
                                next += FRAME;
                            }
                            heap.push(Reverse((next, i)));
                        }
                    }
                });
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, sent0, late0) = (
        cpu_seconds(),
        counters.sent.load(Ordering::Relaxed),
        counters.late.load(Ordering::Relaxed),
    );
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = cpu_seconds() - cpu0;
    let sent = counters.sent.load(Ordering::Relaxed) - sent0;
    let late = counters.late.load(Ordering::Relaxed) - late0;
    // Two endpoints per call in this process.
    println!(
        "{mode}: {n} calls | CPU {:.3} ms per call-second ({:.2} cores) | sent {sent} of {} due | late >5 ms {:.2} %",
        cpu * 1000.0 / (n as f64 * seconds as f64),
        cpu / seconds as f64,
        n as u64 * 2 * 50 * seconds,
        100.0 * late as f64 / sent.max(1) as f64
    );
}
