//! Call load generator for the whole-gateway benchmarks (scripts/bench-calls): many calls
//! from one process, with SIP and RTP like a phone's. It measures the gateway process from
//! outside (`/proc/<pid>` for CPU and RSS, `/metrics` for its RTP counters) and reports its
//! own CPU separately.
//!
//! It is built to cost as little as it can, so that the gateway, not the generator, is what
//! runs out of CPU: SIP goes through deflect's own SIP stack (as the test dialler's does), but
//! the callers' RTP does not go through a media engine. All calls share a few RTP sockets
//! (one per core; every call's SDP offer advertises its socket's port — the gateway latches
//! onto the address packets come from, as it does for any caller): a task per socket sends
//! each call's 20 ms packets from a 1 ms tick (calls bucketed by their phase, no timer or task
//! per call), and reads everything the gateway sends with one `recvmmsg` per tick, counting
//! it without decoding. Each call still sends what a phone does: an RTP stream of G.711 audio
//! (comfort noise, or `--wav`/the prompts in `hold` mode) from the answer on, and its digits as
//! real RFC 4733 events (start, continuation, three end packets; deflect-media's sender).
//!
//! Modes:
//!
//! - `rate`: calls at a fixed rate for a while; each waits `--prompt-ms` after the answer
//!   (the gateway's first prompt), sends `--digits` as RFC 4733 events and waits for the
//!   gateway's BYE. Reports calls, failures, gateway CPU per call, and the time from the
//!   last digit's first packet to the BYE (p50/p99). With `--numbers`, each call types its
//!   own callback number instead (`0612` + six digits, for a deflecting flow) and an
//!   embedded fake Cloud API on `--provider PORT` timestamps each template request: the time
//!   from the BYE to the provider's request (p50/p99).
//! - `hold`: `--calls` calls set up at `--ramp` per second, each playing `--wav` (or the
//!   built-in prompts) to the gateway while the gateway plays its prompts back; once all
//!   are up, the gateway and the generator are measured for `--measure` seconds: CPU per
//!   call-second, RSS per call, the share of RTP packets sent more than 5 ms late.
//!
//! ```sh
//! cargo run --release -p deflect-ivr --example call_load -- --mode rate --target 127.0.0.1:5060 \
//!     --gateway-pid 1234 --metrics 127.0.0.1:8080 --rate 100 --seconds 30
//! ```

mod audio;
mod calls;
mod measure;
mod provider;
mod rtp;

use audio::microphone;
use calls::{Generator, Plan};
use deflect_sip::message::Uri;
use measure::{Gateway, arg, cpu_seconds, ms, num, percentile, rss_kib};
use provider::fake_provider;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// A call that went as planned: last digit → BYE, and the number it typed with when the BYE
/// came (for matching the provider's request).
type Finished = (Duration, Option<(String, SystemTime)>);

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
    let generator = Arc::new(Generator::start(target).await);
    let user = arg("--user").unwrap_or_else(|| "31201234567".into());
    let plan = Plan {
        uri: Uri::parse(&format!("sip:{user}@{target}")).expect("a SIP URI"),
        target,
        from_user: "anonymous".into(),
        microphone: None,
        digits: None,
        hang_up_after_audio: false,
        timeout: Duration::from_secs(30),
    };
    match arg("--mode").as_deref().unwrap_or("rate") {
        "hold" => hold(generator, plan, &gateway).await,
        _ => rate(generator, plan, &gateway).await,
    }
}

async fn rate(generator: Arc<Generator>, mut plan: Plan, gateway: &Gateway) {
    let rate = num("--rate", 50.0);
    let seconds = num("--seconds", 20.0);
    let prompt = Duration::from_millis(num("--prompt-ms", 1100.0) as u64);
    let digits = arg("--digits").unwrap_or_else(|| "12345".into());
    plan.digits = Some((prompt, digits));
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
            plan.digits = Some((prompt, format!("0612{:06}", i % 1_000_000)));
        }
        let (generator, failed, results) = (generator.clone(), failed.clone(), results.clone());
        tasks.spawn(async move {
            let outcome = generator.call(&plan).await;
            let bye_at = SystemTime::now();
            let wanted = plan.digits.as_ref().map(|(_, d)| d.as_str()).unwrap_or("");
            let ok = outcome.answered
                && outcome.error.is_none()
                && outcome.far_end_hung_up
                && outcome.digits_sent == wanted;
            if !ok {
                if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!(
                        "failed call {}: {:?}, answered {}, BYE from the gateway {}, digits sent {:?}",
                        outcome.call_id,
                        outcome.error,
                        outcome.answered,
                        outcome.far_end_hung_up,
                        outcome.digits_sent
                    );
                }
                return;
            }
            let after_digit = outcome
                .duration
                .saturating_sub(outcome.last_digit_at.unwrap_or_default());
            let number = (numbers && !wanted.is_empty())
                .then(|| (format!("31{}", &wanted[1..]), bye_at));
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
        "rate {rate}/s for {seconds} s: calls {total}, failed {failed} ({:.3} %), gateway CPU {:.3} ms per call ({:.2} cores), generator CPU {:.3} ms per call ({:.2} cores); last digit → BYE p50 {:.1} ms p99 {:.1} ms; wall {elapsed:.1} s",
        100.0 * failed as f64 / total.max(1) as f64,
        cpu * 1000.0 / total.max(1) as f64,
        cpu / elapsed,
        own * 1000.0 / total.max(1) as f64,
        own / elapsed,
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

async fn hold(generator: Arc<Generator>, mut plan: Plan, gateway: &Gateway) {
    let calls = num("--calls", 500.0) as u64;
    let ramp = num("--ramp", 200.0);
    let measure = num("--measure", 20.0);
    let settle = 3.0;
    let ramp_secs = calls as f64 / ramp;
    // Each call plays its audio to the end, then hangs up at once.
    plan.microphone = Some(microphone(ramp_secs + settle + measure + 5.0));
    plan.hang_up_after_audio = true;
    plan.timeout = Duration::from_secs_f64(ramp_secs + settle + measure + 60.0);
    let rss0 = rss_kib(&gateway.pid);
    let own_rss0 = rss_kib("self");
    let interval = Duration::from_secs_f64(1.0 / ramp);
    let started = Instant::now();
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        tokio::time::sleep_until(started + interval * i as u32).await;
        let (generator, plan, failed) = (generator.clone(), plan.clone(), failed.clone());
        tasks.spawn(async move {
            let outcome = generator.call(&plan).await;
            if !outcome.answered {
                failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("call failed: {:?}", outcome.error);
            }
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(settle)).await;
    let (sent0, late0) = gateway.rtp().await;
    let stats = &generator.stats;
    let (own_sent0, own_late0) = (
        stats.sent.load(Ordering::Relaxed),
        stats.late.load(Ordering::Relaxed),
    );
    let (cpu0, own0) = (cpu_seconds(&gateway.pid), cpu_seconds("self"));
    tokio::time::sleep(Duration::from_secs_f64(measure)).await;
    let (cpu, own) = (cpu_seconds(&gateway.pid) - cpu0, cpu_seconds("self") - own0);
    let (sent1, late1) = gateway.rtp().await;
    let (own_sent, own_late) = (
        stats.sent.load(Ordering::Relaxed) - own_sent0,
        stats.late.load(Ordering::Relaxed) - own_late0,
    );
    let up = calls - failed.load(Ordering::Relaxed);
    let call_seconds = up as f64 * measure;
    println!(
        "hold {up} of {calls} calls: gateway CPU {:.3} ms per call-second ({:.2} cores), RSS {:.1} KiB per call, sent {} packets, {:.3} % > 5 ms late | generator CPU {:.3} ms per call-second ({:.2} cores), RSS {:.1} KiB per call, {:.3} % late, received {} packets",
        cpu * 1000.0 / call_seconds.max(1.0),
        cpu / measure,
        (rss_kib(&gateway.pid) - rss0) / up.max(1) as f64,
        sent1 - sent0,
        100.0 * (late1 - late0) / (sent1 - sent0).max(1.0),
        own * 1000.0 / call_seconds.max(1.0),
        own / measure,
        (rss_kib("self") - own_rss0) / up.max(1) as f64,
        100.0 * own_late as f64 / own_sent.max(1) as f64,
        stats.received.load(Ordering::Relaxed),
    );
    // The calls end as their audio does.
    while tasks.join_next().await.is_some() {}
}
