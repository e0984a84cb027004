//! Load generator for inbound WhatsApp messages over HTTP (see BENCHMARKS.md, section
//! "Scale-out"; run by `scripts/bench-scaleout`, through HAProxy in front of the nodes).
//!
//! ```text
//! webhook_load URL APP_SECRET MESSAGES IN_FLIGHT CUSTOMERS
//! ```
//!
//! Posts Meta `messages` webhooks, signed with APP_SECRET (`X-Hub-Signature-256`), to URL
//! (`http://HOST:PORT/webhooks/meta/<account>`, phone number id 106540352242922): first one
//! message from each of CUSTOMERS customers, which opens their conversations (not measured),
//! then MESSAGES more from them in turn, IN_FLIGHT at a time, each with an id of its own.
//! A webhook not answered 200 is posted again, as Meta does (counted). Prints `measuring`
//! when the timed run starts, then a line with its rate and latency (p50/p99, from the
//! request to the 200), then its own CPU seconds for the timed run; then waits for standard
//! input to close (so that the caller can read the gateways' figures first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Load {
    client: reqwest::Client,
    url: String,
    secret: String,
    customers: usize,
    next: AtomicUsize,
    again: AtomicUsize,
}

impl Load {
    /// Posts message `n` (from customer `n % customers`) until it is acknowledged; returns
    /// how long the acknowledged post took.
    async fn post(&self, n: usize) -> Duration {
        let from = format!("3161{:07}", n % self.customers);
        let body = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
                "contacts": [{"profile": {"name": "Load"}, "wa_id": from}],
                "messages": [{"from": from, "id": format!("wamid.load-{n}"),
                              "timestamp": "1767225600", "type": "text",
                              "text": {"body": "Where is my order?"}}]
            }}]}]
        })
        .to_string();
        let signature = deflect_chat::provider::meta::sign(&self.secret, body.as_bytes());
        loop {
            let started = Instant::now();
            let answer = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", &signature)
                .body(body.clone())
                .send()
                .await;
            if matches!(&answer, Ok(r) if r.status() == 200) {
                return started.elapsed();
            }
            self.again.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Posts messages `from..to` with `in_flight` workers; returns their latencies.
    async fn run(self: &Arc<Self>, from: usize, to: usize, in_flight: usize) -> Vec<Duration> {
        self.next.store(from, Ordering::Relaxed);
        let workers: Vec<_> = (0..in_flight)
            .map(|_| {
                let load = self.clone();
                tokio::spawn(async move {
                    let mut took = Vec::new();
                    loop {
                        let n = load.next.fetch_add(1, Ordering::Relaxed);
                        if n >= to {
                            return took;
                        }
                        took.push(load.post(n).await);
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        all
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, secret, messages, in_flight, customers] = &args[..] else {
        eprintln!("usage: webhook_load URL APP_SECRET MESSAGES IN_FLIGHT CUSTOMERS");
        std::process::exit(64);
    };
    let (messages, in_flight, customers): (usize, usize, usize) = (
        messages.parse().expect("MESSAGES is a number"),
        in_flight.parse().expect("IN_FLIGHT is a number"),
        customers.parse().expect("CUSTOMERS is a number"),
    );
    let load = Arc::new(Load {
        // The providers' client: rustls on ring (the URL is plain HTTP), 64 idle connections.
        client: deflect_chat::provider::http_client(),
        url: url.clone(),
        secret: secret.clone(),
        customers,
        next: AtomicUsize::new(0),
        again: AtomicUsize::new(0),
    });
    load.run(0, customers, in_flight).await;
    let again_before = load.again.load(Ordering::Relaxed);
    println!("measuring");
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let mut took = load.run(customers, customers + messages, in_flight).await;
    let elapsed = started.elapsed();
    took.sort_unstable();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    println!(
        "{messages} messages in {:.1} s: {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, posted again {}",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        load.again.load(Ordering::Relaxed) - again_before,
    );
    println!("{:.3}", own_cpu_seconds() - cpu_before);
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}

/// The CPU time (user + system) this process has used, from /proc/self/stat.
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command name (in parentheses, which may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}
