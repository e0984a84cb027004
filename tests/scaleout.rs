//! The scale-out deployment as `deploy/` describes it, on loopback: Kamailio
//! (`deploy/kamailio/kamailio.cfg`, its dispatcher) in front of three deflect nodes sharing
//! one PostgreSQL database, HAProxy (`deploy/haproxy/haproxy.cfg`) in front of their HTTP
//! listeners, each on an address of its own (127.0.0.10 the edge, 127.0.0.11–13 the nodes).
//! sipp places calls through Kamailio at a steady rate while Meta's webhooks arrive through
//! HAProxy; one node is killed (SIGKILL) mid-run, later another drains (SIGTERM).

#![allow(clippy::unwrap_used)]

mod common;

use common::meta::{self, FakeMeta};
use common::sipp::Sipp;
use common::{Gateway, PATIENCE, message};
use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EDGE: &str = "127.0.0.10";
const NODES: [&str; 3] = ["127.0.0.11", "127.0.0.12", "127.0.0.13"];
/// Seconds between the dispatcher's OPTIONS probes of each node.
const PROBE_INTERVAL: u64 = 1;
/// How soon after a node stops answering the dispatcher sends it no more calls (ms): the
/// next probe, and its timeout (the configuration's `fr_timer`, 2 s), with a second's slack.
const FOUND_DEAD: u64 = PROBE_INTERVAL * 1000 + 2000 + 1000;
/// How soon after a node starts draining the dispatcher sends it no more calls (ms): the
/// next probe, answered 503 at once, with a second's slack.
const FOUND_DRAINING: u64 = PROBE_INTERVAL * 1000 + 1000;

/// A process of the edge (Kamailio, HAProxy) in a process group of its own, killed with its
/// children (Kamailio's workers) when the test ends.
struct Edge(Child);

impl Edge {
    fn spawn(cmd: &mut Command, what: &str) -> Self {
        use std::os::unix::process::CommandExt;
        let child = (cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn())
        .unwrap_or_else(|e| panic!("{what} runs (its Debian package): {e}"));
        Self(child)
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// Node `i` on `database`, its WhatsApp account's Graph API at `api`: SIP and media on its
/// own address, SIP taken only from the edge, a flow that deflects to the calling number on
/// its first key (1).
fn node(i: usize, database: &str, api: &str) -> Gateway {
    let ip = NODES[i];
    let config = format!(
        r#"
[shutdown]
grace_period = "20s"

# HAProxy connects to the nodes from 127.0.0.1.
[http]
client_ip_header = "x-forwarded-for"
trusted_proxies = ["127.0.0.1/32"]

[[sip.trunks]]
name = "edge"
allow = ["{EDGE}/32"]

[media]
rtp_address = "{ip}"

[ivr.limits]
per_caller_per_hour = 0
per_callback_number_per_hour = 0

# A send a killed node left unconfirmed is confirmed by its status callback, or goes
# again after this.
[inbox.outbox]
unconfirmed_wait = "10s"

[[ivr.flows]]
name = "edge"
[[ivr.flows.steps]]
step = "gather"
input = "dtmf"
prompts = []
offer_caller_number = true
offer_prompts = []
[[ivr.flows.steps]]
step = "deflect"
prompts = []
"#
    );
    Gateway::builder()
        .config(&meta::account(api))
        .config(&config)
        .env("DEFLECT_DATABASE__URL", database)
        .env("DEFLECT_HTTP__LISTEN", &format!("{ip}:0"))
        .env("DEFLECT_SIP__LISTEN", &format!(r#"["udp:{ip}:0"]"#))
        .start()
}

fn deploy(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file);
    path.display().to_string()
}

/// Kamailio on `port` of the edge address, dispatching to `nodes`; returns once it answers
/// OPTIONS.
fn kamailio(dir: &Path, port: u16, nodes: &[SocketAddr]) -> Edge {
    let list = dir.join("dispatcher.list");
    let lines: String = nodes.iter().map(|n| format!("1 sip:{n} 0 0\n")).collect();
    std::fs::write(&list, lines).unwrap();
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let mut edge = Edge::spawn(
        Command::new("kamailio")
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-Y"])
            .arg(dir)
            .args(["-f", &deploy("kamailio/kamailio.cfg")])
            .args(["-A", &format!("LISTEN=udp:{EDGE}:{port}")])
            .args(["-A", &format!("DISPATCHER_LIST=\"{}\"", list.display())])
            .args(["-A", &format!("PROBE_INTERVAL={PROBE_INTERVAL}")])
            .stderr(log),
        "kamailio",
    );
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let at = probe.local_addr().unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 2048];
    for n in 0.. {
        let options = format!(
            "OPTIONS sip:{EDGE}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {at};branch=z9hG4bKup{n}\r\n\
             From: <sip:test@{at}>;tag=up\r\nTo: <sip:{EDGE}:{port}>\r\nCall-ID: up{n}\r\n\
             CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        probe.send_to(options.as_bytes(), (EDGE, port)).unwrap();
        if let Ok(len) = probe.recv(&mut buf)
            && buf[..len].starts_with(b"SIP/2.0 200")
        {
            break;
        }
        assert!(
            Instant::now() < deadline && edge.0.try_wait().unwrap().is_none(),
            "kamailio did not answer: {}",
            std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default()
        );
    }
    edge
}

/// HAProxy on `port` of the edge address in front of `nodes`' HTTP listeners; returns once a
/// request through it reaches a ready node.
fn haproxy(dir: &Path, port: u16, nodes: &[SocketAddr]) -> (Edge, SocketAddr) {
    let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
    let mut cmd = Command::new("haproxy");
    cmd.args(["-db", "-f", &deploy("haproxy/haproxy.cfg")])
        .env("FRONTEND", format!("{EDGE}:{port}"));
    for (i, n) in nodes.iter().enumerate() {
        cmd.env(format!("NODE{}", i + 1), n.to_string());
    }
    let mut edge = Edge::spawn(cmd.stderr(log), "haproxy");
    let front: SocketAddr = format!("{EDGE}:{port}").parse().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(front).is_err()
        || common::http(front, "GET", "/readyz", &[], b"").0 != 200
    {
        assert!(
            Instant::now() < deadline && edge.0.try_wait().unwrap().is_none(),
            "haproxy did not pass requests: {}",
            std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (edge, front)
}

/// Meta's webhook of customer message `id` from `from`, delivered through `front` and
/// delivered again — as Meta does — until it is acknowledged (200).
fn deliver(front: SocketAddr, id: &str, from: &str) {
    let body = meta::messages_webhook(serde_json::json!({"from": from, "id": id,
        "timestamp": "1767225600", "type": "text", "text": {"body": "Where is my order?"}}));
    let signature = deflect_chat::provider::meta::sign("app-secret", body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, _, _) = common::request(
            front,
            "POST",
            "/webhooks/meta/main",
            &headers,
            body.as_bytes(),
        );
        if status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never acknowledged");
        // Meta's next attempt.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many of `gw`'s log lines so far have message `what`.
fn count(gw: &Gateway, what: &str) -> usize {
    gw.logs.json().iter().filter(|l| message(l, what)).count()
}

/// Waits until `gw` logged `what` `n` times.
fn wait_count(gw: &Gateway, what: &str, n: usize) {
    while count(gw, what) < n {
        gw.logs
            .wait_from(gw.logs.count(), what, |l| message(l, what));
    }
}

/// Waits until `gw` finished `n` calls and has one in progress; returns how many it has.
fn busy_after(gw: &Gateway, n: usize) -> f64 {
    wait_count(gw, "call finished", n);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let active = gw.metric("deflect_calls_active");
        if active >= 1.0 {
            return active;
        }
        assert!(Instant::now() < deadline, "no call reached the node");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One call as the sipp scenario logged it: its number, when it started, which node
/// answered and when (sipp's clock, ms), and whether it ended with the node's BYE.
#[derive(Debug, Default)]
struct Call {
    number: String,
    started: u64,
    answered: Option<(String, u64)>,
    done: bool,
}

/// The calls of a run of `edge_caller.xml`, by Call-ID.
fn calls(log: &[String]) -> BTreeMap<String, Call> {
    let mut calls: BTreeMap<String, Call> = BTreeMap::new();
    for line in log {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["start", id, tick, number] => {
                let c = calls.entry(id.into()).or_default();
                (c.started, c.number) = (tick.parse().unwrap(), number.into());
            }
            ["answered", id, node, tick] => {
                calls.entry(id.into()).or_default().answered =
                    Some((node.into(), tick.parse().unwrap()));
            }
            ["done", id, ..] => calls.entry(id.into()).or_default().done = true,
            _ => {}
        }
    }
    calls
}

/// sipp placing `n` calls at `rate` a second through the edge at `sip`, from numbers
/// `+316120<from>`, `+316120<from + 1>`, …; started now.
fn callers(sip: SocketAddr, rate: u32, n: u32, from: u32) -> (common::sipp::Running, Instant) {
    let numbers: Vec<String> = (from..from + n)
        .map(|i| format!("+316120{i:05};"))
        .collect();
    let run = Sipp::new("edge_caller.xml", &[])
        .inject(&numbers)
        .args(&[
            "-r",
            &rate.to_string(),
            "-m",
            &n.to_string(),
            "-l",
            &n.to_string(),
            "-rtp_echo",
            "-recv_timeout",
            "8000",
        ])
        .spawn(sip);
    (run, Instant::now())
}

/// How many calls each node answered, and how many of them ended well.
fn per_node(calls: &BTreeMap<String, Call>) -> BTreeMap<String, (usize, usize)> {
    let mut nodes = BTreeMap::new();
    for c in calls.values() {
        if let Some((node, _)) = &c.answered {
            let n: &mut (usize, usize) = nodes.entry(node.clone()).or_default();
            n.0 += 1;
            n.1 += usize::from(c.done);
        }
    }
    nodes
}

/// The templates the fake Graph API received, by the number they went to.
fn templates(requests: &[meta::Request]) -> BTreeMap<String, usize> {
    let mut sent = BTreeMap::new();
    for r in requests.iter().filter(|r| r.body["type"] == "template") {
        *sent
            .entry(format!("+{}", r.body["to"].as_str().unwrap()))
            .or_insert(0) += 1;
    }
    sent
}

#[test]
fn nodes_behind_kamailio_and_haproxy_lose_nothing_when_one_dies_or_drains() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let database = rt.block_on(deflect_chat::testing::postgres_database());
    let api = FakeMeta::start();
    let api_url = format!("http://{}", api.addr);
    let mut nodes: Vec<Gateway> = (0..3)
        .map(|i| node(i, database.expose(), &api_url))
        .collect();
    let sip: Vec<SocketAddr> = nodes
        .iter()
        .map(|n| n.listener("sip", Some("udp")))
        .collect();
    let http: Vec<SocketAddr> = nodes.iter().map(Gateway::http_addr).collect();
    let dir = tempfile::tempdir().unwrap();
    let edge_sip = common::sipp::free_port();
    let _kamailio = kamailio(dir.path(), edge_sip, &sip);
    let (_haproxy, front) = haproxy(dir.path(), common::sipp::free_port(), &http);
    let edge: SocketAddr = format!("{EDGE}:{edge_sip}").parse().unwrap();
    // Meta posts each message's `sent` status, through the edge.
    api.call_back_to(&format!("http://{front}/webhooks/meta/main"), "app-secret");

    // 50 calls at 5 a second; webhooks meanwhile; node 2 killed once it has finished two.
    let (sipp, started) = callers(edge, 5, 50, 0);
    let killed_at = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..40 {
                deliver(front, &format!("wamid.edge-{i}"), &format!("3161300{i:04}"));
                std::thread::sleep(Duration::from_millis(150));
            }
        });
        let busy = busy_after(&nodes[1], 2);
        nodes[1].signal("KILL");
        println!("node 2 killed with {busy} calls in progress");
        started.elapsed().as_millis() as u64
    });
    let (log, out) = sipp.logged();
    let calls = calls(&log);
    let report = || format!("{calls:#?}\n{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(calls.len(), 50, "{}", report());
    let survivors = [NODES[0], NODES[2]];
    let mut on_killed = 0;
    for (id, c) in &calls {
        let (node, answered) = c
            .answered
            .clone()
            .unwrap_or_else(|| panic!("{id} was never answered (no node took it): {}", report()));
        if survivors.contains(&node.as_str()) {
            assert!(
                c.done,
                "{id} on a surviving node did not end well: {}",
                report()
            );
        } else {
            assert!(
                answered <= killed_at,
                "{id} answered by the killed node: {}",
                report()
            );
            on_killed += 1;
        }
        // Once the probes found the node dead, calls go straight to the survivors.
        if c.started > killed_at + FOUND_DEAD {
            assert!(
                answered - c.started < 1000,
                "{id} took {} ms to be answered: {}",
                answered - c.started,
                report()
            );
        }
    }
    assert!(on_killed >= 2, "{}", report());
    println!(
        "node 2 killed at {killed_at} ms; calls answered, ended well: {:?}",
        per_node(&calls)
    );

    // Every acknowledged webhook is stored once.
    let stored = Command::new("psql")
        .args([database.expose(), "-tAc"])
        .arg("SELECT count(DISTINCT external_id), count(*) FROM messages WHERE external_id LIKE 'wamid.edge-%'")
        .output()
        .expect("psql runs");
    assert_eq!(
        String::from_utf8_lossy(&stored.stdout).trim(),
        "40|40",
        "{}",
        String::from_utf8_lossy(&stored.stderr)
    );

    // Every call that ended well got its WhatsApp message exactly once, the killed node's
    // too: each deflection was committed before the BYE. A send the killed node had
    // claimed waits for its lease (60 s) to run out.
    let finished: Vec<&str> = (calls.values())
        .filter(|c| c.done)
        .map(|c| c.number.as_str())
        .collect();
    let requests = api.wait_until(
        Duration::from_secs(90),
        "a template for every call that ended well",
        |r| {
            let sent = templates(r);
            finished.iter().all(|n| sent.contains_key(*n))
        },
    );
    let sent = templates(&requests);
    for n in &finished {
        assert_eq!(sent[*n], 1, "{n} got {} templates", sent[*n]);
    }

    // Node 3 drains: it finishes its calls and takes no new ones; node 1 takes them.
    let (sipp, started) = callers(edge, 4, 24, 100);
    let finished_before = count(&nodes[2], "call finished");
    let busy = busy_after(&nodes[2], finished_before + 2);
    nodes[2].signal("TERM");
    println!("node 3 drained with {busy} calls in progress");
    let drained_at = started.elapsed().as_millis() as u64;
    let (log, out) = sipp.logged();
    let calls = self::calls(&log);
    let report = || format!("{calls:#?}\n{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(calls.len(), 24, "{}", report());
    for (id, c) in &calls {
        assert!(c.done, "{id} did not end well: {}", report());
        if c.started > drained_at + FOUND_DRAINING {
            let node = &c.answered.as_ref().unwrap().0;
            assert_eq!(node, NODES[0], "{id} went to a draining node: {}", report());
        }
    }
    println!(
        "node 3 drained at {drained_at} ms; calls answered, ended well: {:?}",
        per_node(&calls)
    );
    assert_eq!(
        nodes[2].wait().code(),
        Some(0),
        "the drained node stops cleanly"
    );
    assert_eq!(nodes.remove(0).stop().code(), Some(0));
}
