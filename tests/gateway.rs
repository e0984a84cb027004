//! The gateway as an operator runs it: start-up on defaults, health, listeners, shutdown.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Gateway, get, message, run_cli};
use std::io::Write;

#[test]
fn starts_on_embedded_defaults_and_answers_health_checks() {
    let gw = Gateway::start();
    let http = gw.http_addr();
    let (status, body) = get(http, "/healthz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(http, "/readyz");
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["checks"]["database"], "ok");

    // One line per listener, with the address actually bound (never port 0).
    let sip_udp = gw.listener("sip", Some("udp"));
    let sip_tcp = gw.listener("sip", Some("tcp"));
    assert_ne!(sip_udp.port(), 0);
    assert_eq!(
        sip_udp.port(),
        sip_tcp.port(),
        "UDP and TCP share the SIP port"
    );
    let rtp = gw.logs.wait_for("RTP line", |l| l["listener"] == "rtp");
    assert_eq!(rtp["ports"], "20000-20999");
    assert_eq!(rtp["address"], "127.0.0.1");

    // The embedded default database is a SQLite file in the data directory.
    assert!(gw.data_dir().join("deflect.db").exists());
    let status = gw.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigint_and_sigterm_both_stop_cleanly() {
    for signal in ["INT", "TERM"] {
        let mut gw = Gateway::start();
        gw.signal(signal);
        assert_eq!(gw.wait().code(), Some(0), "after SIG{signal}");
        gw.logs.wait_for("stopped", |l| message(l, "stopped"));
        assert!(
            gw.logs
                .json()
                .iter()
                .any(|l| l["signal"] == format!("SIG{signal}"))
        );
    }
}

#[test]
fn a_bad_configuration_exits_64_before_binding_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"[http]\nlisten = \"127.0.0.1:0\"\n[media]\nrtp_ports = \"9-3\"\n")
        .unwrap();
    let (code, _out, err) = run_cli(
        &[
            "--log-format",
            "json",
            "run",
            "--config",
            path.to_str().unwrap(),
        ],
        &[(
            "DEFLECT_DATA_DIR",
            dir.path().join("data").to_str().unwrap(),
        )],
    );
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("media.rtp_ports"), "{err}");
    assert!(!err.contains("listening"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created for a bad configuration"
    );
}

#[test]
fn an_occupied_port_is_a_clear_start_up_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (code, _out, err) = run_cli(
        &["run"],
        &[
            (
                "DEFLECT_DATA_DIR",
                dir.path().join("data").to_str().unwrap(),
            ),
            ("DEFLECT_HTTP__LISTEN", &addr),
            ("DEFLECT_SIP__LISTEN", r#"["udp:127.0.0.1:0"]"#),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot bind the HTTP listener") && err.contains(&addr),
        "{err}"
    );
}

#[test]
fn metrics_are_served_in_the_prometheus_format() {
    let gw = Gateway::start();
    let (status, body) = get(gw.http_addr(), "/metrics");
    assert_eq!(status, 200);
    assert!(
        body.lines()
            .any(|l| l.starts_with("deflect_build_info{version=\"") && l.ends_with(" 1")),
        "{body}"
    );
}

#[test]
fn the_configured_connection_caps_apply() {
    use std::io::Read;
    use std::net::TcpStream;
    use std::time::{Duration, Instant};
    let gw = Gateway::builder()
        .config("[http]\nmax_connections_per_source = 2\n")
        .start();
    let addr = gw.http_addr();
    // Reads what the server sends until it closes, or the head of one answer with its body.
    let answer = |s: &mut TcpStream| -> String {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n")
                && head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .is_some_and(|n| body.len() >= n.parse().unwrap())
            {
                return text;
            }
            match s.read(&mut chunk).unwrap() {
                0 => return text,
                n => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                .unwrap();
            assert!(answer(&mut s).starts_with("HTTP/1.1 200 "));
            s
        })
        .collect();
    // The third from the same source is refused before it asks anything.
    let refused = answer(&mut TcpStream::connect(addr).unwrap());
    assert!(
        refused.starts_with("HTTP/1.1 429 ") && refused.contains("\r\nretry-after: 10\r\n"),
        "{refused}"
    );
    drop(held);
    // Places come free once the gateway has seen the closes.
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let (status, body) = get(addr, "/metrics");
        if status == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "{status} {body}");
    };
    // At least the one above (more if the wait above was refused too).
    let refusals: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("deflect_http_connections_refused_total{reason=\"per_source\"} ")
        })
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    assert!(refusals >= 1, "{metrics}");
}
