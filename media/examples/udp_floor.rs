//! The kernel's share of a call's packets on this machine: `sendto` and `recvfrom` of one
//! 172-byte RTP-sized datagram between 1,000 loopback socket pairs, with nothing else
//! around them. It bounds what any RTP implementation can reach per call here (BENCHMARKS.md).
//!
//! ```sh
//! cargo run --release -p deflect-media --example udp_floor
//! ```

use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let n = 1000;
    let senders = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let receivers = (0..n)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.set_nonblocking(true)?;
            Ok(s)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let addresses = receivers
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<Result<Vec<_>, _>>()?;
    let packet = [0u8; 172];
    let mut buf = [0u8; 2048];
    let (mut send, mut recv, mut empty) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let rounds = 50;
    for _ in 0..rounds {
        let t = Instant::now();
        for (s, a) in senders.iter().zip(&addresses) {
            s.send_to(&packet, a)?;
        }
        send += t.elapsed();
        let t = Instant::now();
        for r in &receivers {
            r.recv_from(&mut buf)?;
        }
        recv += t.elapsed();
        let t = Instant::now();
        for r in &receivers {
            let _ = r.recv_from(&mut buf);
        }
        empty += t.elapsed();
    }
    let per = |d: Duration| d / (n * rounds) as u32;
    println!(
        "sendto {:?} | recvfrom {:?} | recvfrom on an empty socket {:?} | one call's 50+50 packets per second: {:.3} ms",
        per(send),
        per(recv),
        per(empty),
        (per(send) + per(recv)).as_secs_f64() * 50.0 * 1000.0
    );
    Ok(())
}
