//! Runs `deflect call` (the test dialler) against a gateway and reads what it prints, line
//! by line, with the time each line arrived.

use super::{PATIENCE, binary};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Lines printed so far (with when each arrived), and whether the output has ended.
type Printed = Arc<(Mutex<(Vec<(Instant, String)>, bool)>, Condvar)>;

/// A running `deflect call`.
pub struct Dialler {
    child: Child,
    lines: Printed,
}

impl Dialler {
    /// Calls `user` at the gateway's SIP listener `sip` with `args` (`--dtmf …`, `--wav …`).
    pub fn call(sip: SocketAddr, user: &str, args: &[&str]) -> Self {
        let mut child = Command::new(binary())
            .arg("call")
            .arg(format!("sip:{user}@{sip}"))
            .args(["--timeout", "60s"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("deflect call starts");
        let lines: Printed = Arc::default();
        let out = child.stdout.take().unwrap();
        let shared = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let (m, cv) = &*shared;
                m.lock().unwrap().0.push((Instant::now(), line));
                cv.notify_all();
            }
            let (m, cv) = &*shared;
            m.lock().unwrap().1 = true;
            cv.notify_all();
        });
        Self { child, lines }
    }

    /// Waits for a printed line containing `needle`; returns when it arrived and the line.
    pub fn wait_for(&self, needle: &str) -> (Instant, String) {
        let (m, cv) = &*self.lines;
        let deadline = Instant::now() + PATIENCE;
        let mut g = m.lock().unwrap();
        loop {
            if let Some((at, l)) = g.0.iter().find(|(_, l)| l.contains(needle)) {
                return (*at, l.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !g.1 && !left.is_zero(),
                "deflect call printed no line with {needle:?}:\n{}",
                g.0.iter()
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            g = cv.wait_timeout(g, left).unwrap().0;
        }
    }

    /// Stops the dialler (its call is cut off).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the dialler to exit; returns its status and everything it printed.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + PATIENCE * 3;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "deflect call did not finish");
            // Polling a child's exit status has no blocking-with-timeout form in std.
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let (m, cv) = &*self.lines;
        let mut g = m.lock().unwrap();
        while !g.1 {
            g = cv.wait(g).unwrap();
        }
        let text =
            g.0.iter()
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
                .join("\n");
        (status, text)
    }
}

impl Drop for Dialler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
