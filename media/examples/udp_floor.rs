//! The kernel's share of a call's packets on this machine: `sendto` and `recvfrom` of one
//! 172-byte RTP-sized datagram between 1,000 loopback socket pairs, with nothing else
//! around them. It bounds what any RTP implementation can reach per call here (BENCHMARKS.md).
//!
//! It also times the bare cost of entering the kernel (`getpid`, a system call that does
//! nothing), and `send` on a connected socket: what batching system calls (`sendmmsg`,
//! io_uring) could save at most is the entry cost per datagram, not the delivery work.
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
    let connected = (0..n)
        .map(|i| {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.connect(addresses[i])?;
            Ok(s)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let (mut send, mut recv, mut empty) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut entry, mut send_connected) = (Duration::ZERO, Duration::ZERO);
    let mut recv_batch = Duration::ZERO;
    let states = receivers
        .iter()
        .map(|r| quinn_udp::UdpSocketState::new(r.into()))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut slots: [Vec<u8>; 8] = std::array::from_fn(|_| vec![0u8; 2048]);
    let mut meta = [quinn_udp::RecvMeta::default(); 8];
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
        let t = Instant::now();
        for _ in 0..n {
            // getpid(2): glibc no longer caches it, so each is a real system call.
            std::hint::black_box(std::process::id());
        }
        entry += t.elapsed();
        let t = Instant::now();
        for s in &connected {
            s.send(&packet)?;
        }
        send_connected += t.elapsed();
        let t = Instant::now();
        for (r, state) in receivers.iter().zip(&states) {
            let mut bufs = slots.each_mut().map(|b| std::io::IoSliceMut::new(b));
            state.recv(r.into(), &mut bufs, &mut meta)?;
        }
        recv_batch += t.elapsed();
    }
    let per = |d: Duration| d / (n * rounds) as u32;
    println!(
        "system call entry (getpid) {:?} | sendto {:?} | send (connected) {:?} | recvfrom {:?} | recvfrom on an empty socket {:?} | recvmmsg (8 slots) of one datagram {:?} | one call's 50+50 packets per second: {:.3} ms",
        per(entry),
        per(send),
        per(send_connected),
        per(recv),
        per(empty),
        per(recv_batch),
        (per(send) + per(recv)).as_secs_f64() * 50.0 * 1000.0
    );
    Ok(())
}
