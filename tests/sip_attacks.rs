//! The SIP side under attack, through the whole binary: sipvicious (`svcrack`, `svwar`;
//! Debian `sipvicious`) against a digest trunk, a replayed `Authorization`, one source
//! opening hundreds of TCP connections, and an INVITE flood at five times the configured
//! capacity while calls in progress keep their audio.

#![allow(clippy::unwrap_used)]

mod common;

use common::sipp::Sipp;
use common::{Gateway, PATIENCE, message};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn gateway(config: &str) -> Gateway {
    Gateway::with_sip_debug(config)
}

/// Runs a sipvicious tool against the gateway's UDP listener (bounded by `timeout`);
/// returns everything it printed.
fn sipvicious(tool: &str, sip: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["120", tool])
        .args(args)
        .args(["-p", &sip.port().to_string()])
        .args(["-P", "0", "-b", "127.0.0.1", "-x", "127.0.0.1"])
        .args(["--maximumtime", "2"])
        .arg(sip.ip().to_string())
        .output()
        .expect("sipvicious runs (Debian package sipvicious)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{tool} did not finish: {text}");
    text
}

const PASSWORD: &str = "1042";

fn digest_trunk(challenge_from: &str) -> String {
    format!(
        "[[sip.trunks]]\nname = \"carrier\"\nusername = \"trunk\"\npassword = \"{PASSWORD}\"\n\
         realm = \"deflect.test\"\nchallenge_from = [\"{challenge_from}\"]\n"
    )
}

#[test]
fn svcrack_is_banned_before_it_reaches_the_password() {
    // sipvicious answers MD5 challenges only; silence for banned sources lets it finish.
    let gw = gateway(&format!(
        "[sip]\ndigest_algorithms = [\"MD5\"]\nunauthorized = \"drop\"\n{}",
        digest_trunk("127.0.0.0/8")
    ));
    let sip = gw.listener("sip", Some("udp"));
    // A budget of 100 guesses, in order; the password is the 43rd.
    let out = sipvicious(
        "svcrack",
        sip,
        &["-u", "trunk", "-r", "1000-1099", "-m", "OPTIONS"],
    );
    // A cracked password is printed in a table of extensions and passwords. As a word: the
    // tool's timing messages ("2.003830671310425 seconds") may hold its digits.
    let mut words = out.split(|c: char| !c.is_ascii_alphanumeric());
    assert!(!words.any(|w| w == PASSWORD), "{out}");
    assert!(out.contains("found nothing"), "{out}");
    // Five wrong passwords were looked at, then the source was banned and nothing more.
    assert_eq!(
        gw.metric("deflect_sip_auth_failures_total{reason=\"bad_password\"}"),
        5.0
    );
    assert_eq!(
        gw.metric("deflect_sip_auth_bans_total{scope=\"source\"}"),
        1.0
    );
    assert!(gw.metric("deflect_sip_auth_banned_requests_total{scope=\"source\"}") > 0.0);
    gw.logs.wait_for("the ban", |l| {
        message(l, "SIP source banned after failed authentications") && l["source"] == "127.0.0.1"
    });
}

#[test]
fn svwar_learns_neither_extensions_nor_the_realm() {
    // The digest trunk takes credentials from its own network only; the scanner is
    // elsewhere.
    let gw = gateway(&digest_trunk("192.0.2.0/24"));
    let sip = gw.listener("sip", Some("udp"));
    for method in ["REGISTER", "OPTIONS", "INVITE"] {
        let out = sipvicious("svwar", sip, &["--force", "-e", "1000-1020", "-m", method]);
        assert!(out.contains("found nothing"), "{method}: {out}");
        assert!(!out.contains("deflect.test"), "{method}: {out}");
    }
    // What it was answered: 403, no challenge, no realm, no version.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let local = sock.local_addr().unwrap();
    let register = format!(
        "REGISTER sip:{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKwar1\r\nFrom: <sip:1000@{sip}>;tag=1\r\nTo: <sip:1000@{sip}>\r\nCall-ID: war1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(register.as_bytes(), sip).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let resp = String::from_utf8_lossy(&buf[..n]);
    assert!(resp.starts_with("SIP/2.0 403"), "{resp}");
    assert!(
        !resp.contains("WWW-Authenticate") && !resp.contains("deflect.test"),
        "{resp}"
    );
    assert!(resp.contains("\r\nServer: deflect\r\n"), "{resp}");
}

/// An INVITE from `local` with an SDP offer for RTP at `rtp`.
fn invite(sip: SocketAddr, local: SocketAddr, rtp: u16, id: &str, auth: &str) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {rtp} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    format!(
        "INVITE sip:31201234567@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{id}\r\nFrom: <sip:+31612345678@{local}>;tag={id}\r\nTo: <sip:31201234567@{sip}>\r\nCall-ID: {id}\r\nCSeq: 1 INVITE\r\nContact: <sip:c@{local}>\r\nMax-Forwards: 70\r\n{auth}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The next final response on `sock`.
fn final_response(sock: &UdpSocket) -> String {
    let mut buf = [0u8; 8192];
    loop {
        let (n, _) = sock.recv_from(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("SIP/2.0 ") && !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

fn header(msg: &str, name: &str) -> String {
    msg.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {msg}"))
        .to_owned()
}

/// ACKs a 2xx to the INVITE `id`.
fn ack(sock: &UdpSocket, sip: SocketAddr, ok: &str, id: &str) {
    let local = sock.local_addr().unwrap();
    let ack = format!(
        "ACK sip:31201234567@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{id}ack\r\nFrom: <sip:+31612345678@{local}>;tag={id}\r\nTo: {}\r\nCall-ID: {id}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        header(ok, "To")
    );
    sock.send_to(ack.as_bytes(), sip).unwrap();
}

#[test]
fn a_replayed_authorization_does_not_make_a_call() {
    let gw = gateway(&digest_trunk("127.0.0.0/8"));
    let sip = gw.listener("sip", Some("udp"));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let local = sock.local_addr().unwrap();
    sock.send_to(invite(sip, local, 4000, "replay1", "").as_bytes(), sip)
        .unwrap();
    let challenge = final_response(&sock);
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    ack(&sock, sip, &challenge, "replay1");
    let www = header(&challenge, "WWW-Authenticate");
    let uri = format!("sip:31201234567@{sip}");
    let auth = deflect_sip::auth::authorize(&www, "trunk", PASSWORD, "INVITE", &uri, "c1").unwrap();
    let auth = format!("Authorization: {auth}\r\n");
    sock.send_to(invite(sip, local, 4000, "replay2", &auth).as_bytes(), sip)
        .unwrap();
    let ok = final_response(&sock);
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    ack(&sock, sip, &ok, "replay2");
    // An eavesdropper sends the captured Authorization again, in a new call.
    let thief = UdpSocket::bind("127.0.0.1:0").unwrap();
    thief.set_read_timeout(Some(PATIENCE)).unwrap();
    let thief_addr = thief.local_addr().unwrap();
    thief
        .send_to(
            invite(sip, thief_addr, 4002, "replay3", &auth).as_bytes(),
            sip,
        )
        .unwrap();
    let refused = final_response(&thief);
    assert!(refused.starts_with("SIP/2.0 401"), "{refused}");
    assert!(refused.contains("stale=true"), "{refused}");
    assert_eq!(
        gw.metric("deflect_sip_auth_failures_total{reason=\"replay\"}"),
        1.0
    );
    gw.logs.wait_for("the real call", |l| {
        message(l, "answering call") && l["span"]["call_id"] == "replay2"
    });
    let stolen = gw
        .logs
        .json()
        .into_iter()
        .find(|l| l["span"]["call_id"] == "replay3" || l["call_id"] == "replay3");
    assert_eq!(stolen, None, "the replay reached the IVR");
}

#[test]
fn one_source_cannot_hold_more_than_its_tcp_connections() {
    // Loopback is the default trunk's allow-list: even a trunk's address is held to the
    // per-source cap (128 by default).
    let gw = gateway("");
    let tcp = gw.listener("sip", Some("tcp"));
    let held: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(tcp).unwrap()).collect();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let refused = gw.metric("deflect_sip_tcp_refused_total{reason=\"per_source\"}");
        let open = gw.metric("deflect_sip_tcp_connections");
        if refused + open >= 200.0 {
            assert_eq!((open, refused), (128.0, 72.0));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "accepted {open}, refused {refused}"
        );
    }
    // Closed ones give their places back.
    drop(held);
    let deadline = Instant::now() + PATIENCE;
    while gw.metric("deflect_sip_tcp_connections") > 0.0 {
        assert!(Instant::now() < deadline, "connections still counted");
    }
}

/// A call in progress that this test holds, and the gateway's RTP it receives.
struct HeldCall {
    sip: UdpSocket,
    arrivals: std::thread::JoinHandle<Vec<Instant>>,
}

fn hold_call(sip: SocketAddr, n: usize, stop: Arc<AtomicBool>) -> HeldCall {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(PATIENCE)).unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let id = format!("held{n}");
    let local = sock.local_addr().unwrap();
    let offer = invite(sip, local, rtp.local_addr().unwrap().port(), &id, "");
    sock.send_to(offer.as_bytes(), sip).unwrap();
    let ok = final_response(&sock);
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    ack(&sock, sip, &ok, &id);
    let port: u16 = ok
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|m| m.split(' ').next()?.parse().ok())
        .unwrap();
    let far: SocketAddr = ([127, 0, 0, 1], port).into();
    rtp.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let arrivals = std::thread::spawn(move || {
        // The caller speaks (silence, 20 ms packets) and records when the gateway's
        // packets arrive.
        let mut arrivals = Vec::new();
        let mut packet = [0xffu8; 172];
        packet[..2].copy_from_slice(&[0x80, 0x00]);
        let mut next = Instant::now();
        let mut seq: u16 = 0;
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if Instant::now() >= next {
                packet[2..4].copy_from_slice(&seq.to_be_bytes());
                packet[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
                let _ = rtp.send_to(&packet, far);
                seq = seq.wrapping_add(1);
                next += Duration::from_millis(20);
            }
            if let Ok((n, from)) = rtp.recv_from(&mut buf)
                && from == far
                && n > 12
            {
                arrivals.push(Instant::now());
            }
        }
        arrivals
    });
    HeldCall {
        sip: sock,
        arrivals,
    }
}

#[test]
fn an_invite_flood_at_five_times_capacity_gets_503_and_calls_in_progress_keep_their_audio() {
    let gw = gateway("[sip]\nmax_calls = 10\nmax_calls_per_second = 10\n");
    let sip = gw.listener("sip", Some("udp"));
    let stop = Arc::new(AtomicBool::new(false));
    let held: Vec<HeldCall> = (0..3).map(|n| hold_call(sip, n, stop.clone())).collect();
    // 50 INVITEs a second for 6 seconds; the few answered hang up after 2 s.
    let flood_start = Instant::now();
    Sipp::new("overload.xml", &[])
        .args(&["-r", "50", "-m", "300", "-l", "300"])
        .run(sip);
    let flood_end = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let rejected = gw
        .metric("deflect_sip_overload_rejections_total{reason=\"max_calls_per_second\"}")
        + gw.metric("deflect_sip_overload_rejections_total{reason=\"max_calls\"}");
    assert!(rejected >= 200.0, "only {rejected} of 300 INVITEs got 503");
    let flood = flood_end - flood_start;
    for (n, call) in held.into_iter().enumerate() {
        let arrivals = call.arrivals.join().unwrap();
        let during: Vec<Instant> = arrivals
            .into_iter()
            .filter(|t| *t >= flood_start && *t <= flood_end)
            .collect();
        let expected = flood.as_secs_f64() / 0.020;
        let gap = during
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(flood);
        eprintln!(
            "held call {n}: {} RTP packets in {flood:?} of flood ({:.0}% of 20 ms packets), longest gap {gap:?}",
            during.len(),
            100.0 * during.len() as f64 / expected
        );
        assert!(
            during.len() as f64 >= 0.9 * expected,
            "held call {n} got {} packets, expected about {expected:.0}",
            during.len()
        );
        assert!(
            gap < Duration::from_millis(500),
            "held call {n}: gap {gap:?}"
        );
        // Still up: no BYE was sent to it.
        call.sip
            .set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while let Ok((n, _)) = call.sip.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            assert!(!text.starts_with("BYE"), "held call hung up: {text}");
        }
    }
}
