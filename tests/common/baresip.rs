//! Runs baresip (Debian `baresip`) as a caller or as an agent deflect calls: dials and
//! answers through its `ctrl_tcp` module (netstring JSON commands and events), sends digits
//! with `sndcode` once the call is established, and reports the call's events. The
//! microphone is a WAV file and what it hears is written to one (`aufile`); tones in either
//! are told apart by [`frames_of_tone`].

use super::PATIENCE;
use super::sipp::free_port;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// A port free for UDP and TCP whose successor is free too (baresip binds SIP over TLS on
/// the next port), drawn as [`free_port`] draws.
fn free_pair() -> u16 {
    loop {
        let port = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// A running baresip with its control connection.
pub struct Baresip {
    child: Child,
    ctrl: TcpStream,
    buf: Vec<u8>,
    /// Where it takes SIP over UDP.
    pub sip: SocketAddr,
    dir: tempfile::TempDir,
}

impl Baresip {
    /// Starts baresip with `microphone` (16-bit PCM WAV) as its audio source.
    pub fn start(microphone: &Path) -> Self {
        Self::start_with(microphone, "", "")
    }

    /// Starts baresip as [`start`](Self::start) does, with `extra` lines of configuration
    /// (e.g. `sip_cafile`, `module srtp.so`: before the accounts are read, so they can name
    /// its media encryption) and `account` parameters (e.g. `;mediaenc=srtp-mand`).
    pub fn start_with(microphone: &Path, extra: &str, account: &str) -> Self {
        // Another test may take a drawn port before baresip binds it; baresip then says so
        // and goes on without it: start again on other ports.
        loop {
            if let Some(phone) = Self::try_start(microphone, extra, account) {
                return phone;
            }
            eprintln!("baresip could not bind its ports; starting it again on others");
        }
    }

    /// One start; `None` when baresip could not bind a port it was given.
    fn try_start(microphone: &Path, extra: &str, account: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let sip = free_pair();
        let ctrl = super::sipp::free_port();
        let config = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip}\n\
             audio_source aufile,{mic}\naudio_alert aufile,{alert}\n\
             module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
             module sndfile.so\nsnd_path {dumps}\n{extra}\
             module account.so\nmodule menu.so\nmodule ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl}\n",
            dumps = dir.path().display(),
            alert = dir.path().join("alert.wav").display(),
            mic = microphone.display(),
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(
            dir.path().join("accounts"),
            format!("<sip:31612345678@127.0.0.1>;regint=0{account}\n"),
        )
        .unwrap();
        // Its output and its errors through one pipe, in the order it wrote them: a bind
        // error comes before "baresip is ready". Both are passed on to the test's errors.
        let (out, into) = std::io::pipe().unwrap();
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(into.try_clone().unwrap())
            .stderr(into)
            .spawn()
            .expect("baresip runs (Debian package baresip)");
        let mut lines = BufReader::new(out).lines();
        let mut refused = false;
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            eprintln!("{line}");
            refused |= line.contains("Address already in use");
            if line.contains("baresip is ready") {
                break;
            }
        }
        std::thread::spawn(move || {
            for line in lines {
                eprintln!("{}", line.unwrap_or_default());
            }
        });
        if refused {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        let ctrl = TcpStream::connect(("127.0.0.1", ctrl)).expect("baresip's ctrl_tcp listens");
        ctrl.set_read_timeout(Some(PATIENCE)).unwrap();
        Some(Self {
            child,
            ctrl,
            buf: Vec::new(),
            sip: SocketAddr::from(([127, 0, 0, 1], sip)),
            dir,
        })
    }

    /// The audio it heard in its call (the `sndfile` module's dump of the decoded stream,
    /// a 16-bit PCM WAV complete once the call has closed).
    pub fn heard(&self) -> std::path::PathBuf {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .expect("baresip dumped the audio it heard")
    }

    /// Sends a command (`dial`, `sndcode`, `hangup`).
    pub fn command(&mut self, command: &str, params: &str) {
        let msg =
            serde_json::json!({"command": command, "params": params, "token": command}).to_string();
        write!(self.ctrl, "{}:{msg},", msg.len()).unwrap();
    }

    /// Reads events until one of type `kind`; returns it.
    pub fn wait_for(&mut self, kind: &str) -> serde_json::Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            while let Some(colon) = self.buf.iter().position(|b| *b == b':') {
                let n: usize = std::str::from_utf8(&self.buf[..colon])
                    .unwrap()
                    .parse()
                    .unwrap();
                if self.buf.len() < colon + 1 + n + 1 {
                    break;
                }
                let msg: serde_json::Value =
                    serde_json::from_slice(&self.buf[colon + 1..colon + 1 + n]).unwrap();
                self.buf.drain(..colon + 1 + n + 1);
                if msg["type"] == kind {
                    return msg;
                }
            }
            assert!(Instant::now() < deadline, "baresip sent no {kind} event");
            let mut chunk = [0u8; 4096];
            let n = self.ctrl.read(&mut chunk).unwrap();
            assert!(n > 0, "baresip closed its control connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Dials `user` at `sip`, waits until the call is established.
    pub fn dial(&mut self, sip: SocketAddr, user: &str) {
        self.dial_uri(&format!("sip:{user}@{sip}"));
    }

    /// Dials `uri`, waits until the call is established.
    pub fn dial_uri(&mut self, uri: &str) {
        self.command("dial", uri);
        self.wait_for("CALL_ESTABLISHED");
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WAV of `seconds` of silence (16-bit PCM, 8 kHz), baresip's microphone when only digits
/// matter.
pub fn silence(dir: &Path, seconds: u32) -> std::path::PathBuf {
    tone(dir, 0, seconds)
}

/// A WAV of `seconds` of a sine at `hz` (0: silence), at -12 dBFS (16-bit PCM, 8 kHz).
pub fn tone(dir: &Path, hz: u32, seconds: u32) -> std::path::PathBuf {
    let path = dir.join(format!("tone-{hz}.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..seconds * 8000 {
        let phase = 2.0 * std::f64::consts::PI * f64::from(hz) * f64::from(i) / 8000.0;
        w.write_sample((phase.sin() * 8000.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    path
}

/// How many 20 ms frames of the WAV at `path` are mostly a tone at `hz`: the Goertzel
/// filter's power at `hz` is more than half the frame's energy, and the frame is not
/// near-silent.
pub fn frames_of_tone(path: &Path, hz: u32) -> usize {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate as f64;
    let samples: Vec<f64> = reader
        .samples::<i16>()
        .map(|s| f64::from(s.unwrap()))
        .collect();
    let n = (rate * 0.02) as usize;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * f64::from(hz) / rate).cos();
    samples
        .chunks_exact(n)
        .filter(|frame| {
            let (mut s1, mut s2) = (0.0, 0.0);
            for &x in *frame {
                let s0 = x + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
            let energy: f64 = frame.iter().map(|x| x * x).sum();
            // A pure tone's Goertzel power is energy · n / 2.
            energy > n as f64 * 100.0 * 100.0 && power > 0.5 * energy * n as f64 / 2.0
        })
        .count()
}
