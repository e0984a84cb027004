//! Runs sipp (Debian `sip-tester`) against a gateway: scenarios from tests/data/sipp with
//! `{name}` placeholders filled in, on free ports, bounded in time.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A free UDP (and, in practice, TCP) port on loopback.
pub fn free_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    drop(s);
    port
}

/// A sipp run being prepared.
pub struct Sipp {
    scenario: String,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Sipp {
    /// Scenario `name` (a file in tests/data/sipp) with placeholders filled in.
    pub fn new(name: &str, vars: &[(&str, &str)]) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/sipp")
            .join(name);
        let mut scenario = std::fs::read_to_string(&path).unwrap();
        for (k, v) in vars {
            scenario = scenario.replace(&format!("{{{k}}}"), v);
        }
        Self {
            scenario,
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
        }
    }

    /// Extra sipp arguments (`-t t1`, `-au user`, `-m 10`, …).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    fn command(&self, target: SocketAddr) -> Command {
        let file = self.dir.path().join("scenario.xml");
        std::fs::write(&file, &self.scenario).unwrap();
        let mut cmd = Command::new("sipp");
        cmd.current_dir(self.dir.path())
            .arg(target.to_string())
            .args(["-sf", file.to_str().unwrap()])
            .args(["-i", "127.0.0.1", "-s", "31201234567"])
            .args(["-p", &free_port().to_string()])
            .args(["-mp", &free_port().to_string()])
            .args(["-cp", &free_port().to_string()])
            .args([
                "-nostdin",
                "-trace_err",
                "-timeout",
                "60s",
                "-timeout_error",
            ])
            .args(["-error_file", self.error_file().to_str().unwrap()]);
        if !self.args.iter().any(|a| a == "-m") {
            cmd.args(["-m", "1"]);
        }
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn error_file(&self) -> PathBuf {
        self.dir.path().join("errors.log")
    }

    /// Runs to completion and panics with sipp's output unless every call succeeded.
    pub fn run(self, target: SocketAddr) -> Output {
        let out = self
            .command(target)
            .output()
            .expect("sipp runs (Debian package sip-tester)");
        self.check(out)
    }

    /// Starts in the background.
    pub fn spawn(self, target: SocketAddr) -> Running {
        let child = self
            .command(target)
            .spawn()
            .expect("sipp runs (Debian package sip-tester)");
        Running { sipp: self, child }
    }

    fn check(&self, out: Output) -> Output {
        if !out.status.success() {
            let errors = std::fs::read_to_string(self.error_file()).unwrap_or_default();
            panic!(
                "sipp failed ({}):\n{}\n{}\nerrors:\n{errors}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out
    }
}

/// sipp running in the background.
pub struct Running {
    sipp: Sipp,
    child: Child,
}

impl Running {
    /// Waits for it and panics unless every call succeeded.
    pub fn wait(self) -> Output {
        let out = self.child.wait_with_output().unwrap();
        self.sipp.check(out)
    }
}
