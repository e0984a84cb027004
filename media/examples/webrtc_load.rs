//! Load generator for WebRTC calls (WhatsApp calls, browsers): N calls set up one after the
//! other, then held with audio both ways — deflect playing a prompt as Opus, the far end
//! sending a tone as Opus — for a while.
//!
//! The gateway side is a [`MediaEngine`] answering each offer with
//! [`create_webrtc_session`](MediaEngine::create_webrtc_session), exactly as the binary does;
//! the far end is one thread driving every call's [`WebRtcCaller`] (ICE-lite, as WhatsApp's
//! side is) on its own loopback socket. CPU is read per thread from /proc, so the engine's
//! figures (its tokio worker threads) are not mixed with the far end's.
//!
//! ```sh
//! cargo run --release -p deflect-media --example webrtc_load -- --calls 100 --seconds 20
//! ```
//! It prints the setup time (offer answered → ICE and DTLS up on both sides: median, 90th
//! percentile, maximum), the engine's CPU per call-second while the calls are held, and the
//! share of the far end's 20 ms frames it heard back.

use deflect_config::{MediaConfig, PortRange};
use deflect_media::driver::{CallOptions, MediaCall, MediaEngine};
use deflect_media::playback::{PlayItem, Prompt, PromptLibrary};
use deflect_media::webrtc::WebRtcCaller;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::arg;

/// CPU seconds (user + system) of this process's threads whose name starts with `prefix`.
fn thread_cpu_seconds(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut total = 0.0;
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        total += support::stat_cpu_seconds(&stat);
    }
    total
}

/// One call's far end.
struct FarEnd {
    caller: WebRtcCaller,
    socket: UdpSocket,
    answered_at: Instant,
    connected_after: Option<Duration>,
    heard_frames: u64,
}

/// The far ends, driven by one thread: datagrams, timers, a tone frame every 20 ms.
fn drive(ends: Arc<Mutex<Vec<FarEnd>>>, stop: Arc<AtomicBool>) {
    let tone: [i16; 160] = std::array::from_fn(|i| ((i as f64 * 0.39).sin() * 6000.0) as i16);
    let mut buf = vec![0u8; 2048];
    let mut next_frame = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let frame_due = now >= next_frame;
        if frame_due {
            next_frame += Duration::from_millis(20);
        }
        let mut ends = ends.lock().expect("the far end runs");
        for end in ends.iter_mut() {
            while let Ok((n, from)) = end.socket.recv_from(&mut buf) {
                end.caller.handle_datagram(now, from, &buf[..n]);
            }
            end.caller.handle_timeout(now);
            if end.caller.is_connected() {
                end.connected_after
                    .get_or_insert_with(|| now - end.answered_at);
                if frame_due {
                    end.caller.send_audio(now, &tone);
                }
            }
            end.heard_frames += end.caller.take_heard().len() as u64 / 160;
            while let Some(t) = end.caller.poll_transmit(&mut buf) {
                let _ = end.socket.send_to(&buf[..t.len], t.destination);
            }
        }
        drop(ends);
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(worker_threads = 1)]
async fn main() {
    let calls = arg("--calls", 100) as usize;
    let seconds = arg("--seconds", 20);
    let first = arg("--first-port", 30000) as u16;
    let config = MediaConfig {
        rtp_ports: PortRange {
            first,
            last: first + 2 * calls as u16 + 1,
        },
        rtp_timeout: Duration::from_secs(60),
        rtp_address: std::net::Ipv4Addr::LOCALHOST.into(),
        ..MediaConfig::default()
    };
    let engine = MediaEngine::start(&config, Arc::new(PromptLibrary::builtin()), None, 1);
    // A minute of tone, so the engine encodes speech-like frames for the whole run.
    let prompt: Vec<i16> = (0..8000 * 60)
        .map(|i| ((i as f64 * 0.2).sin() * 6000.0) as i16)
        .collect();
    let prompt = Arc::new(Prompt::from_pcm("tone", prompt));

    let ends = Arc::new(Mutex::new(Vec::with_capacity(calls)));
    let stop = Arc::new(AtomicBool::new(false));
    let driver = {
        let (ends, stop) = (ends.clone(), stop.clone());
        std::thread::Builder::new()
            .name("far-end".into())
            .spawn(move || drive(ends, stop))
            .expect("a thread for the far end")
    };
    let mut held: Vec<MediaCall> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback socket");
        socket.set_nonblocking(true).expect("a non-blocking socket");
        let at = socket.local_addr().expect("a bound socket");
        let (mut caller, offer) = WebRtcCaller::offer(Instant::now(), at, true).expect("an offer");
        let call = engine
            .create_webrtc_session(&offer, CallOptions::default())
            .expect("a free port");
        call.handle
            .play(vec![PlayItem::Prompt(prompt.clone())], false);
        caller
            .answered(Instant::now(), &call.answer)
            .expect("the answer is taken");
        ends.lock().expect("the far end runs").push(FarEnd {
            caller,
            socket,
            answered_at: Instant::now(),
            connected_after: None,
            heard_frames: 0,
        });
        held.push(call);
        // 50 new calls a second.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last ones connect, then measure while every call is held.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let heard_before: u64 = ends
        .lock()
        .expect("the far end runs")
        .iter()
        .map(|e| e.heard_frames)
        .sum();
    let cpu_before = thread_cpu_seconds("tokio-rt");
    let far_before = thread_cpu_seconds("far-end");
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let held_for = started.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds("tokio-rt") - cpu_before;
    let far = thread_cpu_seconds("far-end") - far_before;
    let (mut setups, heard) = {
        let ends = ends.lock().expect("the far end runs");
        let setups: Vec<Duration> = ends.iter().filter_map(|e| e.connected_after).collect();
        let heard: u64 = ends.iter().map(|e| e.heard_frames).sum::<u64>() - heard_before;
        (setups, heard)
    };
    stop.store(true, Ordering::Relaxed);
    driver.join().expect("the far end stops");
    setups.sort();
    let call_seconds = calls as f64 * held_for;
    let expected_frames = call_seconds * 50.0;
    println!(
        "calls {calls} connected {} setup median {:.1} ms p90 {:.1} ms max {:.1} ms | engine {:.3} ms CPU per call-second ({:.2} cores) | far end {:.3} ms per call-second | frames heard {:.1} %",
        setups.len(),
        percentile(&setups, 0.5).as_secs_f64() * 1000.0,
        percentile(&setups, 0.9).as_secs_f64() * 1000.0,
        setups.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        cpu * 1000.0 / call_seconds,
        cpu / held_for,
        far * 1000.0 / call_seconds,
        heard as f64 * 100.0 / expected_frames,
    );
    for call in &held {
        call.handle.close();
    }
}
