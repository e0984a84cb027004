//! Benchmark of the supervisors' reports (see BENCHMARKS.md, section "Reports"; run by
//! `scripts/bench-reports`).
//!
//! ```text
//! reports_load DB_URL CONVERSATIONS PERIODS
//!     Seeds CONVERSATIONS conversations spread evenly over 365 days (5 queues, 40 agents;
//!     one in ten abandoned, one in fifty still open, one in five rated, one in five a
//!     deflected call) with one INSERT … SELECT each (a recursive CTE on SQLite,
//!     generate_series on PostgreSQL), then asks the reports service for PERIODS random
//!     periods (lengths cycling through 1, 7 and 30 days and 1–31 days at random, starts at
//!     random): the queue, agent and deflection report of each, timed one by one. Prints
//!     p50/p99 per report and over all, then the whole year's queue and agent reports.
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use deflect_chat::{Inbox, InboxSettings, NewAgent, Period, Role, Store, SystemClock};
use deflect_config::{Config, DatabaseUrl, QueueConfig};
use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY: i64 = 86_400_000;
/// 2025-01-01T00:00:00Z: the seeded year's start.
const START: i64 = 1_735_689_600_000;

fn settings() -> InboxSettings {
    let mut c = Config::default();
    c.inbox.queues = (0..5)
        .map(|i| QueueConfig {
            name: format!("q{i}"),
            ..QueueConfig::default()
        })
        .collect();
    c.inbox.default_queue = Some("q0".into());
    InboxSettings::from_config(&c)
}

/// The seeded rows, the same on both databases (integer arithmetic only).
fn seed_sql(postgres: bool, n: i64) -> Vec<String> {
    let step = 365 * DAY / n;
    let (with, from) = if postgres {
        (
            String::new(),
            format!("generate_series(CAST(1 AS BIGINT), {n}) AS g(i)"),
        )
    } else {
        (
            format!(
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) "
            ),
            "g".to_string(),
        )
    };
    let t = format!("({START} + i * {step})");
    let queued = format!("({t} + 1000)");
    let wait = "((i * 7919) % 600000)";
    let assigned = format!("({queued} + {wait})");
    let abandoned = "i % 10 = 3";
    let open = "i % 50 = 0";
    let closed = format!(
        "CASE WHEN {open} THEN NULL WHEN {abandoned} THEN {queued} + 2 * {wait} \
         ELSE {assigned} + 60000 + (i * 13) % 3600000 END"
    );
    let mut out = vec![
        "INSERT INTO contacts (id, name, phone, created_at) VALUES (1, 'Bench', '+31600000000', 0)"
            .into(),
        format!(
            "{with}INSERT INTO agents (id, username, display_name, password_hash, role, created_at) \
             SELECT i, 'agent' || i, 'Agent ' || i, 'x', 'agent', 0 FROM {from} WHERE i <= 40"
        ),
        format!(
            "{with}INSERT INTO conversations (id, reference, contact_id, channel, origin, account, \
             status, queue, agent_id, last_inbound_at, last_activity_at, created_at, first_queued_at, \
             first_assigned_at, first_response_at, closed_at, csat_score, csat_at) \
             SELECT i, 'B' || i, 1, 'whatsapp', 'whatsapp', 'main', \
             CASE WHEN {open} THEN 'assigned' ELSE 'closed' END, 'q' || (i % 5), \
             CASE WHEN {abandoned} THEN NULL ELSE 1 + i % 40 END, \
             CASE WHEN i % 7 = 0 THEN NULL ELSE {t} END, {t}, {t}, {queued}, \
             CASE WHEN {abandoned} THEN NULL ELSE {assigned} END, \
             CASE WHEN {abandoned} THEN NULL ELSE {assigned} + (i * 104729) % 300000 END, \
             {closed}, \
             CASE WHEN i % 5 = 1 AND NOT ({open}) THEN 1 + (i / 5) % 5 END, \
             CASE WHEN i % 5 = 1 AND NOT ({open}) THEN {closed} + 60000 END \
             FROM {from}"
        ),
        format!(
            "{with}INSERT INTO deflections (call_id, conversation_id, callback_number, flow, started_at, \
             ended_at, input_method, account, queue, created_at) \
             SELECT 'call' || i, i, '+31600000000', \
             CASE i % 3 WHEN 0 THEN 'support' WHEN 1 THEN 'billing' ELSE 'sales' END, \
             {t} - 60000, {t} - 1000, CASE WHEN i % 4 = 0 THEN 'speech' ELSE 'dtmf' END, \
             'main', 'q0', {t} FROM {from} WHERE i % 5 = 0"
        ),
        "ANALYZE".into(),
    ];
    if postgres {
        // The agents' ids were given: the next one made (the supervisor) follows them.
        out.push("SELECT setval(pg_get_serial_sequence('agents', 'id'), 40)".into());
    }
    out
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        i64::try_from(r % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn summary(name: &str, mut t: Vec<Duration>) {
    t.sort();
    println!(
        "  {name:<12} {:>4} requests  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        t.len(),
        quantile(&t, 0.5).as_secs_f64() * 1e3,
        quantile(&t, 0.99).as_secs_f64() * 1e3,
        t.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, n, periods] = args.as_slice() else {
        eprintln!("usage: reports_load DB_URL CONVERSATIONS PERIODS");
        std::process::exit(64);
    };
    let (n, periods): (i64, usize) = (n.parse().unwrap(), periods.parse().unwrap());
    let url: DatabaseUrl = url.parse().unwrap();
    let postgres = url.expose().starts_with("postgres");

    let store = Store::connect(&url, 4).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url.expose()).await.unwrap();
    let seeding = Instant::now();
    for q in seed_sql(postgres, n) {
        sqlx::query(sqlx::AssertSqlSafe(q))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    println!(
        "  seeded {n} conversations (and {} deflections) in {:.1} s",
        n / 5,
        seeding.elapsed().as_secs_f64()
    );

    let store = Store::connect(&url, 4).await.unwrap();
    let inbox = Inbox::open(store, settings(), Arc::new(SystemClock))
        .await
        .unwrap();
    let boss = inbox
        .create_agent(NewAgent {
            username: "boss".into(),
            display_name: "Boss".into(),
            password: "correct horse battery".into(),
            role: Role::Supervisor,
            queues: vec![],
            accounts: vec![],
        })
        .await
        .unwrap();
    let boss = inbox.viewer(boss.id).await.unwrap();

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut queues, mut agents, mut deflections) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = 0usize;
    for k in 0..periods {
        let days = match k % 4 {
            0 => 1,
            1 => 7,
            2 => 30,
            _ => 1 + rng.below(31),
        };
        let len = days * DAY;
        let from = START + rng.below(365 * DAY - len);
        let p = Period {
            from,
            to: from + len,
        };
        let t = Instant::now();
        let r = inbox.queue_report(&boss, p).await.unwrap();
        queues.push(t.elapsed());
        rows += usize::try_from(r.total.conversations_closed).unwrap_or(0);
        let t = Instant::now();
        inbox.agent_report(&boss, p).await.unwrap();
        agents.push(t.elapsed());
        let t = Instant::now();
        inbox.deflection_report(&boss, p).await.unwrap();
        deflections.push(t.elapsed());
    }
    println!(
        "  {periods} random periods (1, 7, 30, 1–31 days), {} conversations closed per period on average",
        rows / periods.max(1)
    );
    let all: Vec<Duration> = queues
        .iter()
        .chain(&agents)
        .chain(&deflections)
        .copied()
        .collect();
    summary("queues", queues);
    summary("agents", agents);
    summary("deflections", deflections);
    summary("all", all);

    for (name, days) in [("a quarter", 91), ("the whole year", 365)] {
        let p = Period {
            from: START,
            to: START + days * DAY,
        };
        let (mut q, mut a) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let t = Instant::now();
            inbox.queue_report(&boss, p).await.unwrap();
            q.push(t.elapsed());
            let t = Instant::now();
            inbox.agent_report(&boss, p).await.unwrap();
            a.push(t.elapsed());
        }
        println!("  {name} ({} conversations):", n * days / 365);
        summary("queues", q);
        summary("agents", a);
    }
}
