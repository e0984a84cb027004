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

/// Node `i` on `database`, its WhatsApp account's Graph API at `api`, reached by agents'
/// browsers at HAProxy's `front`: SIP and media on its own address, SIP taken only from the
/// edge, a flow that deflects to the calling number on its first key (1).
fn node(i: usize, database: &str, api: &str, front: SocketAddr) -> Gateway {
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
        .env("DEFLECT_HTTP__PUBLIC_BASE_URL", &format!("http://{front}"))
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
fn haproxy(dir: &Path, front: SocketAddr, nodes: &[SocketAddr]) -> Edge {
    let log = std::fs::File::create(dir.join("haproxy.log")).unwrap();
    let mut cmd = Command::new("haproxy");
    cmd.args(["-db", "-f", &deploy("haproxy/haproxy.cfg")])
        .env("FRONTEND", front.to_string());
    for (i, n) in nodes.iter().enumerate() {
        cmd.env(format!("NODE{}", i + 1), n.to_string());
    }
    let mut edge = Edge::spawn(cmd.stderr(log), "haproxy");
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
    edge
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
    let front: SocketAddr = format!("{EDGE}:{}", common::sipp::free_port())
        .parse()
        .unwrap();
    let mut nodes: Vec<Gateway> = (0..3)
        .map(|i| node(i, database.expose(), &api_url, front))
        .collect();
    let sip: Vec<SocketAddr> = nodes
        .iter()
        .map(|n| n.listener("sip", Some("udp")))
        .collect();
    let http: Vec<SocketAddr> = nodes.iter().map(Gateway::http_addr).collect();
    let dir = tempfile::tempdir().unwrap();
    let edge_sip = common::sipp::free_port();
    let _kamailio = kamailio(dir.path(), edge_sip, &sip);
    let _haproxy = haproxy(dir.path(), front, &http);
    let edge: SocketAddr = format!("{EDGE}:{edge_sip}").parse().unwrap();
    // Meta posts each message's `sent` status, through the edge.
    api.call_back_to(&format!("http://{front}/webhooks/meta/main"), "app-secret");

    // A supervisor's inbox page, its live feed on node 2 (where HAProxy sent it).
    let ann = supervisor(database.expose(), dir.path(), front);
    let wanted: Vec<String> = (0..40).map(|i| format!("wamid.edge-{i}")).collect();
    let (ready, feed_ready) = std::sync::mpsc::channel();
    let feed = live_feed(http[1], front, ann.cookie.clone(), wanted.clone(), ready);
    feed_ready.recv().unwrap();

    // 50 calls at 5 a second; webhooks meanwhile; node 2 killed once it has finished two.
    let (sipp, started) = callers(edge, 5, 50, 0);
    let killed_at = std::thread::scope(|s| {
        s.spawn(|| {
            for (i, id) in wanted.iter().enumerate() {
                deliver(front, id, &format!("3161300{i:04}"));
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
    let stored = psql(
        database.expose(),
        "SELECT count(DISTINCT external_id), count(*) FROM messages WHERE external_id LIKE 'wamid.edge-%'",
    );
    assert_eq!(stored, "40|40");

    // The supervisor's page lost its socket with node 2, reconnected through HAProxy to
    // another node and resumed: every customer message reached it, and every message event
    // committed meanwhile, exactly once.
    let feed = feed.join().unwrap();
    assert_eq!(feed.connections[0], http[1]);
    assert!(feed.connections.len() >= 2, "{:?}", feed.connections);
    let ids: Vec<i64> = feed
        .events
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event came twice: {ids:?}");
    let seen: std::collections::BTreeSet<i64> = (feed.events.iter())
        .filter(|e| e["kind"] == "message.created")
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let (first, last) = (unique.first().unwrap(), unique.last().unwrap());
    let committed = psql(
        database.expose(),
        &format!(
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM events \
             WHERE kind = 'message.created' AND id BETWEEN {first} AND {last}"
        ),
    );
    let committed: std::collections::BTreeSet<i64> =
        committed.split(',').map(|id| id.parse().unwrap()).collect();
    assert_eq!(seen, committed, "message events the feed missed or made up");
    println!(
        "live feed: {} events over {:?}",
        feed.events.len(),
        feed.connections
    );

    // The survivors give the killed node up as lost; `deflect nodes` says so.
    let states = node_states(database.expose(), dir.path(), &http, |s| s[1] == "lost");
    assert_eq!(states, ["running", "lost", "running"]);

    // Every call that ended well got its WhatsApp message exactly once, the killed node's
    // too: each deflection was committed before the BYE. A send the killed node had
    // claimed was taken over when it was found lost (LOST_AFTER), and confirmed by its
    // status callback or sent again after `unconfirmed_wait`.
    let finished: Vec<&str> = (calls.values())
        .filter(|c| c.done)
        .map(|c| c.number.as_str())
        .collect();
    let requests = api.wait_until(
        deflect_chat::nodes::LOST_AFTER + Duration::from_secs(20),
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
    let states = node_states(database.expose(), dir.path(), &http, |_| true);
    assert_eq!(states, ["stopped", "lost", "stopped"]);
}

/// The state `deflect nodes` gives each of the nodes listening on `http`, once `until` holds
/// for them (within `PATIENCE`).
fn node_states(
    database: &str,
    dir: &Path,
    http: &[SocketAddr],
    until: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    let dir = dir.display().to_string();
    loop {
        let env = [
            ("DEFLECT_DATABASE__URL", database),
            ("DEFLECT_DATA_DIR", &dir),
        ];
        let (code, out, err) = common::run_cli(&["nodes"], &env);
        assert_eq!(code, 0, "{err}");
        let states: Vec<String> = http
            .iter()
            .map(|addr| {
                let line = (out.lines())
                    .find(|l| l.split_whitespace().nth(7) == Some(&addr.to_string()))
                    .unwrap_or_else(|| panic!("no node listening on {addr}:\n{out}"));
                line.split_whitespace().nth(2).unwrap().to_owned()
            })
            .collect();
        if until(&states) || Instant::now() > deadline {
            println!("{out}");
            return states;
        }
        // `deflect nodes` reads the database as it is: ask again until the heartbeats say so.
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The answer of `query` on `database`, from psql (unaligned, tuples only).
fn psql(database: &str, query: &str) -> String {
    let out = Command::new("psql")
        .args([database, "-tAc", query])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Supervisor `ann` added with the command line to `database` and logged in through `front`.
fn supervisor(database: &str, dir: &Path, front: SocketAddr) -> common::session::Session {
    let password = dir.join("password");
    std::fs::write(&password, "correct horse battery\n").unwrap();
    let data = dir.display().to_string();
    let (code, _, err) = common::run_cli(
        &[
            "agent",
            "add",
            "--username",
            "ann",
            "--role",
            "supervisor",
            "--password-file",
            password.to_str().unwrap(),
        ],
        &[
            ("DEFLECT_DATABASE__URL", database),
            ("DEFLECT_DATA_DIR", &data),
        ],
    );
    assert_eq!(code, 0, "{err}");
    common::session::Session::login(front, "ann", "correct horse battery")
}

/// What an agent's live feed received: the addresses its sockets were opened on, in order,
/// and the events (with an id) it was sent.
#[derive(Debug, Default)]
struct Feed {
    connections: Vec<SocketAddr>,
    events: Vec<serde_json::Value>,
}

/// An agent's live feed (`/api/v1/events`) kept as the inbox page keeps it: first opened on
/// node `first` with the session `cookie`, from the page's origin `front`; when the socket
/// drops, opened again through `front` (HAProxy) with a hello naming the last event it saw.
/// Says on `ready` when the first socket is ready; ends once it has seen the customer
/// messages `wanted` (by their WhatsApp ids).
fn live_feed(
    first: SocketAddr,
    front: SocketAddr,
    cookie: String,
    wanted: Vec<String>,
    ready: std::sync::mpsc::Sender<()>,
) -> std::thread::JoinHandle<Feed> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    common::on_thread(async move {
        let mut feed = Feed::default();
        let mut wanted: std::collections::BTreeSet<String> = wanted.into_iter().collect();
        let mut after: Option<i64> = None;
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut at = first;
        loop {
            assert!(
                Instant::now() < deadline,
                "feed stalled: {feed:?}, waiting for {wanted:?}"
            );
            let mut req = format!("ws://{at}/api/v1/events")
                .into_client_request()
                .unwrap();
            let headers = req.headers_mut();
            headers.insert("origin", format!("http://{front}").parse().unwrap());
            headers.insert("cookie", cookie.parse().unwrap());
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(req).await else {
                // The page's reconnect back-off.
                tokio::time::sleep(Duration::from_millis(100)).await;
                at = front;
                continue;
            };
            let hello = serde_json::json!({"type": "hello", "after": after});
            ws.send(Message::Text(hello.to_string().into()))
                .await
                .unwrap();
            feed.connections.push(at);
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                if v["type"] == "ready" && feed.connections.len() == 1 {
                    ready.send(()).unwrap();
                }
                let event = &v["event"];
                let Some(id) = event["id"].as_i64().filter(|id| *id > 0) else {
                    continue;
                };
                // As the page: the highest id seen.
                after = Some(after.map_or(id, |a| a.max(id)));
                if event["kind"] == "message.created"
                    && let Some(external) = event["data"]["message"]["external_id"].as_str()
                {
                    wanted.remove(external);
                }
                feed.events.push(event.clone());
                if wanted.is_empty() {
                    return feed;
                }
            }
            at = front;
        }
    })
}
