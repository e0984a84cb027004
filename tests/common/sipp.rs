//! Runs sipp (Debian `sip-tester`) against a gateway: scenarios from tests/data/sipp with
//! `{name}` placeholders filled in, on free ports, bounded in time.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A port free for both UDP and TCP on loopback, outside the kernel's ephemeral range
/// (32768–60999: the source ports of connections and of port-0 binds) and the RTP ports the
/// tests' gateways use (20000–20999), so nothing the kernel hands out meanwhile can take it
/// before it is bound. Drawn at random and checked, so concurrent tests seldom meet.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    const FIRST: u16 = 21_000;
    const COUNT: u64 = 32_768 - FIRST as u64;
    loop {
        let draw = RandomState::new().hash_one(std::process::id());
        let port = FIRST + u16::try_from(draw % COUNT).unwrap();
        let udp = UdpSocket::bind(("127.0.0.1", port));
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        if udp.is_ok() && tcp.is_ok() {
            return port;
        }
    }
}

/// A sipp run being prepared.
pub struct Sipp {
    scenario: String,
    dir: tempfile::TempDir,
    args: Vec<String>,
    local_ip: Option<String>,
    port: Option<u16>,
    /// The injection file's lines (`-inf`), when the scenario reads `[field0]`, ….
    inject: Option<String>,
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
            local_ip: None,
            port: None,
            inject: None,
        }
    }

    /// One call's fields per line (`;`-separated), read in order as `[field0]`, ….
    pub fn inject(mut self, lines: &[String]) -> Self {
        self.inject = Some(format!("SEQUENTIAL\n{}\n", lines.join("\n")));
        self
    }

    /// Calls from `ip` (default: `127.0.0.1`, or `::1` towards an IPv6 target).
    pub fn local_ip(mut self, ip: &str) -> Self {
        self.local_ip = Some(ip.to_owned());
        self
    }

    /// Listens for SIP on `port` (default: any free one), e.g. as a bridge's agent.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
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
            .args([
                "-i",
                self.local_ip.as_deref().unwrap_or(if target.is_ipv6() {
                    "::1"
                } else {
                    "127.0.0.1"
                }),
            ])
            .args(["-s", "31201234567"])
            .args(["-p", &self.port.unwrap_or_else(free_port).to_string()])
            .args(["-mp", &free_port().to_string()])
            .args(["-cp", &free_port().to_string()])
            .args([
                "-nostdin",
                "-trace_err",
                "-timeout",
                "60s",
                "-timeout_error",
            ])
            .args(["-error_file", self.error_file().to_str().unwrap()])
            .args([
                "-trace_logs",
                "-log_file",
                self.log_file().to_str().unwrap(),
            ]);
        if let Some(lines) = &self.inject {
            let file = self.dir.path().join("inject.csv");
            std::fs::write(&file, lines).unwrap();
            cmd.args(["-inf", file.to_str().unwrap()]);
        }
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

    /// Where the scenario's `<log>` actions write.
    fn log_file(&self) -> PathBuf {
        self.dir.path().join("scenario.log")
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

    /// Waits for it, however its calls went; returns the lines its scenario logged
    /// (`<log>` actions) and its output.
    pub fn logged(self) -> (Vec<String>, Output) {
        let out = self.child.wait_with_output().unwrap();
        let log = std::fs::read_to_string(self.sipp.log_file()).unwrap_or_default();
        (log.lines().map(str::to_owned).collect(), out)
    }
}

/// The `caller.xml` scenario put together: an offer, then the caller's media (pcaps,
/// `play_dtmf`, INFO requests), then the caller's BYE or waiting for deflect's.
pub struct Caller {
    from: String,
    headers: String,
    formats: String,
    rtpmaps: String,
    answer: String,
    media: String,
    cseq: u32,
}

impl Caller {
    /// PCMU and telephone-event at `te` (101 is what most phones use; sipp's `play_dtmf`
    /// sends 96).
    pub fn pcmu(te: u8) -> Self {
        Self {
            from: "+31612345678".into(),
            headers: String::new(),
            formats: format!("0 {te}"),
            rtpmaps: format!("a=rtpmap:0 PCMU/8000\na=rtpmap:{te} telephone-event/8000"),
            answer: format!("m=audio [0-9]+ RTP/AVP 0 {te}"),
            media: String::new(),
            cseq: 1,
        }
    }

    /// Another offer: `formats` on the m-line, its `rtpmaps`, and a regular expression the
    /// answer must match.
    pub fn offer(mut self, formats: &str, rtpmaps: &str, answer: &str) -> Self {
        self.formats = formats.into();
        self.rtpmaps = rtpmaps.into();
        self.answer = answer.into();
        self
    }

    /// The From user (the calling number).
    pub fn from(mut self, user: &str) -> Self {
        self.from = user.into();
        self
    }

    /// An extra INVITE header line, e.g. `P-Asserted-Identity: <sip:+31…@carrier>`.
    pub fn header(mut self, line: &str) -> Self {
        self.headers.push_str(line);
        self.headers.push('\n');
        self
    }

    /// Plays sipp's shipped RFC 2833 captures (`1`, `star`, `pound`, …), one after another.
    pub fn pcaps(mut self, keys: &[&str]) -> Self {
        for k in keys {
            self.media.push_str(&format!(
                "<nop><action><exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_{k}.pcap\"/></action></nop>\n<pause milliseconds=\"250\"/>\n"
            ));
        }
        self
    }

    /// Sends `digits` with sipp's `play_dtmf` (RFC 2833 events at payload type 96) and
    /// waits until they have gone out.
    pub fn play_dtmf(mut self, digits: &str) -> Self {
        let ms = 500 * digits.len() + 800;
        self.media.push_str(&format!(
            "<nop><action><exec play_dtmf=\"{digits}\"/></action></nop>\n<pause milliseconds=\"{ms}\"/>\n"
        ));
        self
    }

    /// A pause.
    pub fn pause(mut self, ms: u32) -> Self {
        self.media
            .push_str(&format!("<pause milliseconds=\"{ms}\"/>\n"));
        self
    }

    /// An INFO request with `body` (lines joined with CRLF) and the response expected.
    pub fn info(mut self, content_type: &str, body: &[&str], status: u16) -> Self {
        self.cseq += 1;
        self.media.push_str(&format!(
            "<send retrans=\"500\"><![CDATA[\n\
             INFO [next_url] SIP/2.0\n\
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
             From: sipp <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
             [last_To:]\n\
             Call-ID: [call_id]\n\
             CSeq: {cseq} INFO\n\
             Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\n\
             Max-Forwards: 70\n\
             Content-Type: {content_type}\n\
             Content-Length: [len]\n\
             \n\
             {body}\n\
             ]]></send>\n<recv response=\"{status}\"/>\n",
            from = self.from,
            cseq = self.cseq,
            body = body.join("\n"),
        ));
        self
    }

    /// Plays the PBX taking a blind transfer: waits for deflect's REFER, whose `Refer-To`
    /// must match `refer_to` (a regular expression, in an XML attribute: `.` for the angle
    /// brackets), answers it `status`, and when that is
    /// 2xx reports the target's call in NOTIFYs: each `(status line, Subscription-State)`.
    pub fn refer(mut self, refer_to: &str, status: u16, notifies: &[(&str, &str)]) -> Self {
        self.media.push_str(&format!(
            "<recv request=\"REFER\" timeout=\"30000\"><action>\
             <ereg regexp=\"{refer_to}\" search_in=\"hdr\" header=\"Refer-To:\" check_it=\"true\" assign_to=\"refer_to\"/>\
             <ereg regexp=\"tag=([A-Za-z0-9]+)\" search_in=\"hdr\" header=\"From:\" check_it=\"true\" assign_to=\"from_tag,deflect_tag\"/>\
             </action></recv>\n\
             <send><![CDATA[\n\
             SIP/2.0 {status} Whatever\n\
             [last_Via:]\n\
             [last_From:]\n\
             [last_To:]\n\
             [last_Call-ID:]\n\
             [last_CSeq:]\n\
             Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\n\
             Content-Length: 0\n\
             \n\
             ]]></send>\n<Reference variables=\"refer_to,from_tag{unused}\"/>\n",
            unused = if notifies.is_empty() { ",deflect_tag" } else { "" },
        ));
        for (sipfrag, state) in notifies {
            self.cseq += 1;
            self.media.push_str(&format!(
                "<send retrans=\"500\"><![CDATA[\n\
                 NOTIFY [next_url] SIP/2.0\n\
                 Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
                 From: sipp <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
                 To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$deflect_tag]\n\
                 Call-ID: [call_id]\n\
                 CSeq: {cseq} NOTIFY\n\
                 Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\n\
                 Max-Forwards: 70\n\
                 Event: refer\n\
                 Subscription-State: {state}\n\
                 Content-Type: message/sipfrag;version=2.0\n\
                 Content-Length: [len]\n\
                 \n\
                 {sipfrag}\n\
                 ]]></send>\n<recv response=\"200\"/>\n",
                from = self.from,
                cseq = self.cseq,
            ));
        }
        self
    }

    fn scenario(self, end: String) -> Sipp {
        Sipp::new(
            "caller.xml",
            &[
                ("from", &self.from),
                ("headers", &self.headers),
                ("formats", &self.formats),
                ("rtpmaps", &self.rtpmaps),
                ("answer", &self.answer),
                ("media", &self.media),
                ("end", &end),
            ],
        )
    }

    /// Ends with the caller's BYE.
    pub fn hang_up(mut self) -> Sipp {
        self.cseq += 1;
        let end = format!(
            "<send retrans=\"500\"><![CDATA[\n\
             BYE [next_url] SIP/2.0\n\
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
             From: sipp <sip:{from}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]\n\
             [last_To:]\n\
             Call-ID: [call_id]\n\
             CSeq: {cseq} BYE\n\
             Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\n\
             Max-Forwards: 70\n\
             Content-Length: 0\n\
             \n\
             ]]></send>\n<recv response=\"200\" crlf=\"true\"/>\n",
            from = self.from,
            cseq = self.cseq,
        );
        self.scenario(end)
    }

    /// Ends with deflect's BYE, whose Reason header must match `reason`.
    pub fn await_bye(self, reason: &str) -> Sipp {
        let end = format!(
            "<recv request=\"BYE\" timeout=\"60000\"><action>\
             <ereg regexp=\"{reason}\" search_in=\"hdr\" header=\"Reason:\" check_it=\"true\" assign_to=\"reason\"/>\
             </action></recv>\n\
             <send><![CDATA[\n\
             SIP/2.0 200 OK\n\
             [last_Via:]\n\
             [last_From:]\n\
             [last_To:]\n\
             [last_Call-ID:]\n\
             [last_CSeq:]\n\
             Content-Length: 0\n\
             \n\
             ]]></send>\n<Reference variables=\"reason\"/>\n"
        );
        self.scenario(end)
    }
}
