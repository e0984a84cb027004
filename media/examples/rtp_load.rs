//! Load generator for concurrent calls' media: N calls, prompts playing both ways, DTMF
//! detection (RFC 4733 and in-band) on the gateway side.
//!
//! The process plays the gateway: a [`MediaEngine`] answering offers, exactly as the binary
//! does. It starts itself a second time as the callers (`--callers`): another engine that
//! makes the offers and plays prompts back. The two talk SDP over the child's stdin/stdout
//! and RTP over loopback. Each side measures its own CPU time and RSS from /proc, so the
//! gateway's figures are not mixed with the generator's.
//!
//! ```sh
//! ulimit -n 65536
//! cargo run --release -p deflect-media --example rtp_load -- --calls 2000 --seconds 30
//! ```
//! `--inband 0` turns in-band detection off (RFC 4733 detection is always on). It prints one
//! line per side: calls, CPU ms per call-second, RSS KiB per call, and the
//! share of RTP packets sent more than 5 ms late. scripts/bench-media-load runs 500, 2,000
//! and 5,000 calls.

use deflect_config::{MediaConfig, PortRange};
use deflect_media::driver::{CallOptions, MediaCall, MediaEngine};
use deflect_media::playback::{PlayItem, PromptLibrary};
use deflect_media::sdp::{self, LocalDescription};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

mod support;

use support::arg;

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    support::stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// Resident set size in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn engine(first: u16, last: u16) -> MediaEngine {
    let config = MediaConfig {
        rtp_ports: PortRange { first, last },
        rtp_timeout: Duration::from_secs(60),
        ..MediaConfig::default()
    };
    MediaEngine::start(&config, Arc::new(PromptLibrary::builtin()), None, 0)
}

/// A long queue of prompts, so playback runs for the whole test with no task per call.
fn programme(lib: &PromptLibrary) -> Vec<PlayItem> {
    let one = lib
        .resolve(
            "en",
            &[
                "offer_caller_number",
                "enter_number",
                "confirm_options",
                "digit_5",
            ],
        )
        .expect("built-in prompts");
    one.iter().cycle().take(one.len() * 60).cloned().collect()
}

struct Report {
    calls: u64,
    cpu: f64,
    seconds: f64,
    rss_per_call: f64,
    sent: u64,
    late: u64,
}

impl Report {
    fn line(&self, side: &str) -> String {
        format!(
            "{side}: calls {} | CPU {:.3} ms per call-second ({:.2} cores) | RSS {:.1} KiB per call | sent {} | late >5 ms {:.3} %",
            self.calls,
            self.cpu * 1000.0 / (self.calls as f64 * self.seconds),
            self.cpu / self.seconds,
            self.rss_per_call,
            self.sent,
            100.0 * self.late as f64 / self.sent.max(1) as f64
        )
    }
}

async fn measure(engine: &MediaEngine, calls: u64, seconds: u64, rss_before: u64) -> Report {
    let stats = engine.stats();
    let (sent0, late0) = (
        stats.sent.load(Ordering::Relaxed),
        stats.sent_late.load(Ordering::Relaxed),
    );
    let cpu0 = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = cpu_seconds() - cpu0;
    Report {
        calls,
        cpu,
        seconds: seconds as f64,
        rss_per_call: (rss_kib().saturating_sub(rss_before)) as f64 / calls.max(1) as f64,
        sent: stats.sent.load(Ordering::Relaxed) - sent0,
        late: stats.sent_late.load(Ordering::Relaxed) - late0,
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--callers") {
        callers().await;
        return;
    }
    let calls = arg("--calls", 500);
    let seconds = arg("--seconds", 20);
    let inband = arg("--inband", 1) == 1;
    let gateway = engine(20000, 39999);
    let lib = PromptLibrary::builtin();
    let items = programme(&lib);
    let rss_before = rss_kib();
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("--callers")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the callers");
    let mut to_child = child.stdin.take().expect("piped");
    let mut from_child = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut live: Vec<MediaCall> = Vec::new();
    // Calls start spread over at least a second, as real calls do, so their 20 ms phases
    // are spread too.
    let pace = Duration::from_secs(1).max(Duration::from_millis(calls)) / calls.max(1) as u32;
    for i in 0..calls {
        to_child
            .write_all(format!("CALL {i}\n").as_bytes())
            .await
            .expect("pipe");
        let line = from_child
            .next_line()
            .await
            .expect("pipe")
            .expect("an offer");
        let offer = line
            .split_once(' ')
            .map_or("", |(_, o)| o)
            .replace('|', "\r\n");
        let options = CallOptions {
            call_id: format!("load-{i}"),
            inband_dtmf: inband,
            srtp: Default::default(),
            idle_media: Default::default(),
            advertise: None,
        };
        let call = gateway
            .create_session(offer.as_bytes(), options)
            .expect("media for the call");
        call.handle.play(items.clone(), false);
        to_child
            .write_all(format!("ANSWER {}\n", call.answer.replace("\r\n", "|")).as_bytes())
            .await
            .expect("pipe");
        live.push(call);
        tokio::time::sleep(pace).await;
    }
    to_child
        .write_all(format!("MEASURE {seconds}\n").as_bytes())
        .await
        .expect("pipe");
    let report = measure(&gateway, calls, seconds, rss_before).await;
    println!("{}", report.line("gateway  "));
    if let Ok(Some(line)) = from_child.next_line().await {
        println!("{line}");
    }
    for c in &live {
        c.handle.close();
    }
    let _ = child.wait().await;
}

async fn callers() {
    let engine = engine(40000, 59999);
    let lib = PromptLibrary::builtin();
    let items = programme(&lib);
    let rss_before = rss_kib();
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let mut live = Vec::new();
    let mut calls = 0;
    while let Ok(Some(line)) = input.next_line().await {
        let mut parts = line.splitn(2, ' ');
        match (parts.next(), parts.next()) {
            (Some("CALL"), _) => {
                let ports = engine.allocate_ports().expect("caller ports");
                let port = ports.rtp.local_addr().expect("bound").port();
                let mut local = LocalDescription::new(engine.advertised_address(), port);
                let offer = sdp::offer(&mut local, &[deflect_config::Codec::Pcmu], Some(101));
                out.write_all(format!("OFFER {}\n", offer.replace("\r\n", "|")).as_bytes())
                    .await
                    .expect("pipe");
                out.flush().await.expect("pipe");
                let answer = input.next_line().await.expect("pipe").expect("an answer");
                let answer = answer
                    .split_once(' ')
                    .map_or("", |(_, a)| a)
                    .replace('|', "\r\n");
                let call = engine
                    .create_session_on(ports, answer.as_bytes(), CallOptions::default())
                    .expect("caller session");
                call.handle.play(items.clone(), false);
                live.push(call);
                calls += 1;
            }
            (Some("MEASURE"), Some(s)) => {
                let report = measure(&engine, calls, s.parse().unwrap_or(20), rss_before).await;
                out.write_all(format!("{}\n", report.line("generator")).as_bytes())
                    .await
                    .expect("pipe");
                out.flush().await.expect("pipe");
                break;
            }
            _ => break,
        }
    }
    drop(live);
}
