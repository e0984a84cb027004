//! Call load generator for the whole-gateway benchmarks (scripts/bench-calls): many calls
//! from one process, built on the test dialler (`deflect_ivr::dialler`), with SIP and RTP
//! like a phone's. It measures the gateway process from outside (`/proc/<pid>` for CPU and
//! RSS, `/metrics` for its RTP counters) and reports its own CPU separately.
//!
//! Modes:
//!
//! - `rate`: calls at a fixed rate for a while; each waits for the gateway's first prompt
//!   (`--prompt-ms`), sends `--digits` as RFC 4733 events and waits for the gateway's BYE.
//!   Reports calls, failures, gateway CPU per call, and the time from the last digit's end
//!   packets to the BYE (p50/p99). With `--numbers`, each call types its own callback
//!   number instead (`0612` + six digits, for a deflecting flow) and an embedded fake Cloud
//!   API on `--provider PORT` timestamps each template request: the time from the BYE to
//!   the provider's request (p50/p99).
//! - `hold`: `--calls` calls set up at `--ramp` per second, each playing `--wav` (or the
//!   built-in prompts) to the gateway while the gateway plays its prompts back; once all
//!   are up, the gateway and the generator are measured for `--measure` seconds: CPU per
//!   call-second, RSS per call, the share of RTP packets sent more than 5 ms late.
//!
//! ```sh
//! cargo run --release -p deflect-ivr --example call_load -- --mode rate --target 127.0.0.1:5060 \
//!     --gateway-pid 1234 --metrics 127.0.0.1:8080 --rate 100 --seconds 30
//! ```

use deflect_config::{PortRange, SipTransport};
use deflect_ivr::dialler::{CallPlan, DialOutcome, Dialler, DiallerSettings, Start};
use deflect_media::playback::{Prompt, PromptLibrary};
use deflect_sip::message::Uri;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: f64) -> f64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU seconds (user + system) of process `pid` ("self" for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident set size of process `pid` in KiB.
fn rss_kib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

/// A counter from the gateway's Prometheus `/metrics`.
async fn metric(addr: &str, name: &str) -> f64 {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return 0.0;
    };
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0.0;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body).await;
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A call that went as planned: last digit → BYE, and the number it typed with when the BYE
/// came (for matching the provider's request).
type Finished = (Duration, Option<(String, SystemTime)>);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The fake Cloud API: answers every POST like Meta and notes when each recipient's request
/// arrived (wall clock, to compare with the BYEs the calls saw).
async fn fake_provider(port: u16, seen: Arc<Mutex<HashMap<String, SystemTime>>>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the fake provider's port is free");
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let mut n_done = 0u64;
            loop {
                // Headers, then Content-Length bytes of body; keep-alive.
                let (head_end, length) = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                while buf.len() < head_end + length {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let at = SystemTime::now();
                let body: serde_json::Value =
                    serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or_default();
                if let Some(to) = body["to"].as_str() {
                    seen.lock().expect("not poisoned").insert(to.to_owned(), at);
                }
                buf.drain(..head_end + length);
                n_done += 1;
                let answer = format!(
                    r#"{{"messaging_product":"whatsapp","contacts":[{{"input":"x","wa_id":"x"}}],"messages":[{{"id":"wamid.load{n_done}"}}]}}"#
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if conn.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Audio to play as the callers' microphone: a WAV, or the built-in prompts back to back,
/// at least `seconds` long.
fn microphone(seconds: f64) -> Arc<Prompt> {
    let pcm: Vec<i16> = match arg("--wav") {
        Some(path) => deflect_media::playback::read_wav_file(std::path::Path::new(&path))
            .expect("a readable --wav file"),
        None => {
            let lib = PromptLibrary::builtin();
            [
                "offer_caller_number",
                "enter_number",
                "confirm_options",
                "message_sent",
            ]
            .iter()
            .flat_map(|n| lib.get("en", n).expect("built-in prompt").pcm.to_vec())
            .collect()
        }
    };
    let want = (seconds * 8000.0) as usize;
    let looped: Vec<i16> = pcm
        .iter()
        .copied()
        .cycle()
        .take(want.max(pcm.len()))
        .collect();
    Arc::new(Prompt::from_pcm("load", looped))
}

struct Gateway {
    pid: String,
    metrics: String,
}

impl Gateway {
    async fn rtp(&self) -> (f64, f64) {
        (
            metric(&self.metrics, "deflect_media_rtp_sent_total").await,
            metric(&self.metrics, "deflect_media_rtp_sent_late_total").await,
        )
    }
}

#[tokio::main]
async fn main() {
    let target: SocketAddr = arg("--target")
        .unwrap_or_else(|| "127.0.0.1:5060".into())
        .parse()
        .expect("--target HOST:PORT");
    let gateway = Gateway {
        pid: arg("--gateway-pid").expect("--gateway-pid PID"),
        metrics: arg("--metrics").unwrap_or_else(|| "127.0.0.1:8080".into()),
    };
    let settings = DiallerSettings {
        rtp_ports: PortRange {
            first: 40000,
            last: 59999,
        },
        media_shards: 0,
        ..DiallerSettings::default()
    };
    let dialler = Arc::new(
        Dialler::start(&settings, target)
            .await
            .expect("SIP and RTP"),
    );
    let user = arg("--user").unwrap_or_else(|| "31201234567".into());
    let uri = Uri::parse(&format!("sip:{user}@{target}")).expect("a SIP URI");
    let mut plan = CallPlan::new(uri, target, SipTransport::Udp);
    plan.listen = false;
    plan.from_user = "anonymous".into();
    match arg("--mode").as_deref().unwrap_or("rate") {
        "hold" => hold(dialler, plan, &gateway).await,
        _ => rate(dialler, plan, &gateway).await,
    }
}

async fn rate(dialler: Arc<Dialler>, mut plan: CallPlan, gateway: &Gateway) {
    let rate = num("--rate", 50.0);
    let seconds = num("--seconds", 20.0);
    plan.start = Start::After(Duration::from_millis(num("--prompt-ms", 1100.0) as u64));
    plan.dtmf = Some(arg("--digits").unwrap_or_else(|| "12345".into()));
    plan.timeout = Duration::from_secs(30);
    let numbers = arg("--numbers").is_some();
    let provider: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
    if let Some(port) = arg("--provider").and_then(|p| p.parse().ok()) {
        tokio::spawn(fake_provider(port, provider.clone()));
    }
    let total = (rate * seconds).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (cpu0, own0) = (cpu_seconds(&gateway.pid), cpu_seconds("self"));
    let started = Instant::now();
    let failed = Arc::new(AtomicU64::new(0));
    let results: Arc<Mutex<Vec<Finished>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        tokio::time::sleep_until(started + interval * i as u32).await;
        let mut plan = plan.clone();
        if numbers {
            plan.dtmf = Some(format!("0612{:06}", i % 1_000_000));
        }
        let (dialler, failed, results) = (dialler.clone(), failed.clone(), results.clone());
        tasks.spawn(async move {
            let report = dialler.call(&plan, |_, _| {}).await;
            let bye_at = SystemTime::now();
            let ok = report.answered_after.is_some()
                && report.digits_sent == plan.dtmf.clone().unwrap_or_default()
                && matches!(report.outcome, DialOutcome::FarEndHungUp(_));
            if !ok {
                if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!(
                        "failed call {}: {:?}, answered {:?}, digits sent {:?}",
                        report.call_id, report.outcome, report.answered_after, report.digits_sent
                    );
                }
                return;
            }
            let after_digit = report
                .duration
                .saturating_sub(report.last_digit_at.unwrap_or_default());
            let number = plan
                .dtmf
                .as_deref()
                .map(|d| format!("31{}", &d[1..]))
                .map(|n| (n, bye_at));
            results
                .lock()
                .expect("not poisoned")
                .push((after_digit, number));
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, own) = (cpu_seconds(&gateway.pid) - cpu0, cpu_seconds("self") - own0);
    // Hand-offs run after the BYE; give the last ones a moment to reach the provider.
    if numbers && arg("--provider").is_some() {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let results = results.lock().expect("not poisoned").clone();
    let failed = failed.load(Ordering::Relaxed);
    let mut to_bye: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    to_bye.sort();
    println!(
        "rate {rate}/s for {seconds} s: calls {total}, failed {failed} ({:.3} %), gateway CPU {:.3} ms per call ({:.2} cores), generator CPU {:.3} ms per call; last digit → BYE p50 {:.1} ms p99 {:.1} ms; wall {elapsed:.1} s",
        100.0 * failed as f64 / total.max(1) as f64,
        cpu * 1000.0 / total.max(1) as f64,
        cpu / elapsed,
        own * 1000.0 / total.max(1) as f64,
        ms(percentile(&to_bye, 0.5)),
        ms(percentile(&to_bye, 0.99)),
    );
    if arg("--provider").is_some() {
        let seen = provider.lock().expect("not poisoned").clone();
        let mut to_provider: Vec<Duration> = results
            .iter()
            .filter_map(|(_, n)| n.as_ref())
            .filter_map(|(number, bye)| seen.get(number)?.duration_since(*bye).ok())
            .collect();
        let missing = results.len() - to_provider.len();
        to_provider.sort();
        println!(
            "BYE → provider request: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests, {missing} missing or before the BYE was seen)",
            ms(percentile(&to_provider, 0.5)),
            ms(percentile(&to_provider, 0.99)),
            ms(to_provider.last().copied().unwrap_or_default()),
            to_provider.len(),
        );
    }
}

async fn hold(dialler: Arc<Dialler>, mut plan: CallPlan, gateway: &Gateway) {
    let calls = num("--calls", 500.0) as u64;
    let ramp = num("--ramp", 200.0);
    let measure = num("--measure", 20.0);
    let settle = 3.0;
    let ramp_secs = calls as f64 / ramp;
    // Each call plays its audio to the end, then hangs up at once.
    plan.microphone = Some(microphone(ramp_secs + settle + measure + 5.0));
    plan.start = Start::Now;
    plan.hang_up_after = Some(Duration::ZERO);
    plan.timeout = Duration::from_secs_f64(ramp_secs + settle + measure + 60.0);
    let rss0 = rss_kib(&gateway.pid);
    let own_rss0 = rss_kib("self");
    let interval = Duration::from_secs_f64(1.0 / ramp);
    let started = Instant::now();
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        tokio::time::sleep_until(started + interval * i as u32).await;
        let (dialler, plan, failed) = (dialler.clone(), plan.clone(), failed.clone());
        tasks.spawn(async move {
            let report = dialler.call(&plan, |_, _| {}).await;
            if report.answered_after.is_none() {
                failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("call failed: {:?}", report.outcome);
            }
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(settle)).await;
    let (sent0, late0) = gateway.rtp().await;
    let stats = dialler.media().stats();
    let (own_sent0, own_late0) = (
        stats.sent.load(Ordering::Relaxed),
        stats.sent_late.load(Ordering::Relaxed),
    );
    let (cpu0, own0) = (cpu_seconds(&gateway.pid), cpu_seconds("self"));
    tokio::time::sleep(Duration::from_secs_f64(measure)).await;
    let (cpu, own) = (cpu_seconds(&gateway.pid) - cpu0, cpu_seconds("self") - own0);
    let (sent1, late1) = gateway.rtp().await;
    let (own_sent, own_late) = (
        stats.sent.load(Ordering::Relaxed) - own_sent0,
        stats.sent_late.load(Ordering::Relaxed) - own_late0,
    );
    let up = calls - failed.load(Ordering::Relaxed);
    let call_seconds = up as f64 * measure;
    println!(
        "hold {up} of {calls} calls: gateway CPU {:.3} ms per call-second ({:.2} cores), RSS {:.1} KiB per call, sent {} packets, {:.3} % > 5 ms late | generator CPU {:.3} ms per call-second ({:.2} cores), RSS {:.1} KiB per call, {:.3} % late",
        cpu * 1000.0 / call_seconds.max(1.0),
        cpu / measure,
        (rss_kib(&gateway.pid) - rss0) / up.max(1) as f64,
        sent1 - sent0,
        100.0 * (late1 - late0) / (sent1 - sent0).max(1.0),
        own * 1000.0 / call_seconds.max(1.0),
        own / measure,
        (rss_kib("self") - own_rss0) / up.max(1) as f64,
        100.0 * own_late as f64 / own_sent.max(1) as f64,
    );
    // The calls end as their audio does.
    while tasks.join_next().await.is_some() {}
}
