//! Harness for whole-binary tests: starts the built `deflect` in a temporary directory on
//! free ports, reads its JSON log lines, and stops it with a signal.
//!
//! Tests synchronise on log lines (`Gateway::wait_for`), never on sleeps.

#![allow(dead_code, clippy::unwrap_used)]

pub mod baresip;
pub mod dialler;
pub mod kaleyra;
pub mod meta;
pub mod session;
pub mod sinch;
pub mod sipp;
pub mod tls;
pub mod udp_caller;
pub mod webrtc;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Upper bound for anything a test waits for; reaching it fails the test.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `future` to completion on a thread of its own, on a single-threaded tokio runtime:
/// fake servers and asynchronous clients beside a test's blocking code.
pub fn on_thread<F>(future: F) -> std::thread::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    })
}

/// Path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_deflect")
}

/// Log lines of a running gateway, parsed as JSON where they are JSON.
#[derive(Default)]
pub struct Logs {
    lines: Mutex<Vec<Value>>,
    raw: Mutex<Vec<String>>,
    closed: Mutex<bool>,
    changed: Condvar,
}

impl Logs {
    fn push(&self, raw: String) {
        let json = serde_json::from_str(&raw).unwrap_or(Value::Null);
        self.raw.lock().unwrap().push(raw);
        self.lines.lock().unwrap().push(json);
        self.changed.notify_all();
    }

    fn close(&self) {
        *self.closed.lock().unwrap() = true;
        self.changed.notify_all();
    }

    /// Every line so far, as written.
    pub fn raw(&self) -> Vec<String> {
        self.raw.lock().unwrap().clone()
    }

    /// Every JSON line so far.
    pub fn json(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// How many lines were written so far (a mark for [`Logs::wait_from`]).
    pub fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Waits until a line satisfies `pred` and returns it; panics after `PATIENCE` or when
    /// the process closed its output first.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_from(0, what, pred)
    }

    /// [`Logs::wait_for`], among the lines written after the first `from`.
    pub fn wait_from(&self, from: usize, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = from;
        let mut lines = self.lines.lock().unwrap();
        loop {
            if let Some(found) = lines[seen..].iter().find(|l| pred(l)) {
                return found.clone();
            }
            seen = lines.len();
            if *self.closed.lock().unwrap() {
                drop(lines);
                panic!(
                    "gateway exited before logging {what}; log:\n{}",
                    self.raw().join("\n")
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(lines);
                panic!(
                    "no log line {what} within {PATIENCE:?}; log:\n{}",
                    self.raw().join("\n")
                );
            }
            lines = self.changed.wait_timeout(lines, left).unwrap().0;
        }
    }
}

/// True for a log line whose message is `message`.
pub fn message(line: &Value, message: &str) -> bool {
    line["message"] == message
}

/// Builds a gateway run: configuration text, environment, arguments.
pub struct GatewayBuilder {
    config: String,
    env: BTreeMap<String, String>,
    log_filter: String,
    dir: Option<tempfile::TempDir>,
}

impl GatewayBuilder {
    /// Adds TOML configuration (written to the file passed with `--config`).
    pub fn config(mut self, toml: &str) -> Self {
        self.config.push_str(toml);
        self.config.push('\n');
        self
    }

    /// Sets an environment variable (overrides the harness's own `DEFLECT_*` defaults).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the `--log` filter (default `info`).
    pub fn log(mut self, filter: &str) -> Self {
        self.log_filter = filter.into();
        self
    }

    /// Runs in the directory (and so on the data) a previous gateway used; see
    /// [`Gateway::into_dir`].
    pub fn dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Starts the gateway and waits until it logs that it is ready.
    pub fn start(self) -> Gateway {
        let dir = match self.dir {
            Some(d) => d,
            None => tempfile::tempdir().unwrap(),
        };
        let config_path = dir.path().join("deflect.toml");
        std::fs::write(&config_path, &self.config).unwrap();
        let mut cmd = Command::new(binary());
        cmd.current_dir(dir.path())
            .args([
                "--log-format",
                "json",
                "--log",
                &self.log_filter,
                "run",
                "--config",
            ])
            .arg(&config_path)
            .env_remove("RUST_LOG")
            .env("DEFLECT_DATA_DIR", dir.path().join("data"))
            .env("DEFLECT_HTTP__LISTEN", "127.0.0.1:0")
            .env(
                "DEFLECT_SIP__LISTEN",
                r#"["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]"#,
            )
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the deflect binary starts");
        let logs = Arc::new(Logs::default());
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    match line {
                        Ok(l) => logs.push(l),
                        Err(_) => break,
                    }
                }
                logs.close();
            });
        }
        let gateway = Gateway {
            child: Some(child),
            dir,
            logs,
        };
        gateway
            .logs
            .wait_for("\"deflect is ready\"", |l| message(l, "deflect is ready"));
        gateway
    }
}

/// A running `deflect run`.
pub struct Gateway {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Its log.
    pub logs: Arc<Logs>,
}

impl Gateway {
    /// A builder with no configuration file content beyond the harness defaults: data in a
    /// temporary directory, HTTP and SIP on free loopback ports.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            config: String::new(),
            env: BTreeMap::new(),
            log_filter: "info".into(),
            dir: None,
        }
    }

    /// Starts a gateway on the harness defaults.
    pub fn start() -> Gateway {
        Self::builder().start()
    }

    /// Starts a gateway with `config`, logging SIP at debug level (the SIP tests read
    /// admission and dialog decisions from the log).
    pub fn with_sip_debug(config: &str) -> Gateway {
        Self::builder()
            .config(config)
            .log("info,deflect=debug,deflect_sip=debug")
            .start()
    }

    /// The temporary directory the gateway runs in (its working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The address a listener bound, from its "listening" log line.
    pub fn listener(&self, listener: &str, transport: Option<&str>) -> SocketAddr {
        let line = self.logs.wait_for("listening", |l| {
            message(l, "listening")
                && l["listener"] == listener
                && transport.is_none_or(|t| l["transport"] == t)
        });
        line["address"].as_str().unwrap().parse().unwrap()
    }

    /// The HTTP listener's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.listener("http", None)
    }

    /// The value of the metric line starting with `name` (with its labels), 0 when absent.
    pub fn metric(&self, name: &str) -> f64 {
        let (_, body) = get(self.http_addr(), "/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Sends `signal` (e.g. "TERM", "KILL") to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Kills the process if it still runs (SIGKILL) and hands over its directory, so a new
    /// gateway can start on the same data ([`GatewayBuilder::dir`]).
    pub fn into_dir(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// Waits (bounded by `PATIENCE`) for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gateway did not exit within {PATIENCE:?}"
            );
            // Polling a child's exit status has no blocking-with-timeout form in std.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A minimal HTTP/1.1 request over a fresh connection; returns status and body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let (status, _, body) = request(addr, method, path, headers, body);
    (status, body)
}

/// An HTTP/1.1 request over a fresh connection; returns status, headers (names in lower
/// case) and body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, String) {
    let (status, headers, body) = request_bytes(addr, method, path, headers, body);
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// [`request`], with the answer's body as it came (a `Content-Length` body: the gateway
/// does not chunk these answers).
pub fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let end = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&resp[..end]).into_owned();
    let body = resp[end + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body)
}

/// `GET path`.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(addr, "GET", path, &[], b"")
}

/// Runs the binary with `args` to completion; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
