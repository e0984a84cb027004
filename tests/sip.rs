//! SIP as trunks and SBCs see it, against sipp: calls over UDP and TCP, CANCEL, both sides'
//! BYE, re-INVITE, the allow-list, digest authentication, OPTIONS probes (theirs, and deflect's
//! of a trunk's servers), overload and graceful shutdown.

#![allow(clippy::unwrap_used)]

mod common;

use common::sipp::Sipp;
use common::{Gateway, get, message};
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

fn gateway(config: &str) -> Gateway {
    Gateway::with_sip_debug(config)
}

fn ended_with(gw: &Gateway, reason: &str) {
    gw.logs.wait_for(reason, |l| {
        message(l, "call ended") && l["reason"].as_str().is_some_and(|r| r.contains(reason))
    });
}

#[test]
fn basic_call_over_udp_ends_with_the_callers_bye() {
    let gw = gateway("");
    Sipp::new("call.xml", &[]).run(gw.listener("sip", Some("udp")));
    ended_with(&gw, "RemoteHangup");
    assert_eq!(gw.stop().code(), Some(0));
}

#[test]
fn basic_call_over_tcp() {
    let gw = gateway("");
    Sipp::new("call.xml", &[])
        .args(&["-t", "t1"])
        .run(gw.listener("sip", Some("tcp")));
    ended_with(&gw, "RemoteHangup");
}

#[test]
fn caller_cancel_before_the_answer_gets_487() {
    // deflect answers at once, so sipp's CANCEL always loses the race with the 200 OK. A
    // caller that sends INVITE and CANCEL in one TCP write reaches deflect with both in the
    // same read, which deflect handles before the call can be answered.
    let gw = gateway("");
    let sip = gw.listener("sip", Some("tcp"));
    let mut tcp = TcpStream::connect(sip).unwrap();
    tcp.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let local = tcp.local_addr().unwrap();
    let head = |method: &str| {
        format!(
            "{method} sip:1000@{sip};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKcancel1\r\nFrom: <sip:c@{local}>;tag=1\r\nTo: <sip:1000@{sip}>\r\nCall-ID: cancel1\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        )
    };
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let both = format!(
        "{}Contact: <sip:c@{local};transport=tcp>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}{}Content-Length: 0\r\n\r\n",
        head("INVITE"),
        sdp.len(),
        head("CANCEL")
    );
    tcp.write_all(both.as_bytes()).unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("SIP/2.0 487") {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed; got {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        seen.contains("CSeq: 1 CANCEL"),
        "the CANCEL is answered 200: {seen}"
    );
    assert!(
        !seen.contains("application/sdp"),
        "the call was answered: {seen}"
    );
    ended_with(&gw, "Cancelled");
    // The ACK for the 487 is absorbed by the transaction.
    tcp.write_all(format!("{}Content-Length: 0\r\n\r\n", head("ACK")).as_bytes())
        .unwrap();
}

#[test]
fn deflect_hangs_up_with_a_reason_at_max_call_duration() {
    let gw = gateway("[sip]\nmax_call_duration = \"1s\"\n");
    Sipp::new(
        "held_call.xml",
        &[("timeout", "20000"), ("reason", "Q.850;cause=16")],
    )
    .run(gw.listener("sip", Some("udp")));
    ended_with(&gw, "HungUp");
}

#[test]
fn re_invite_mid_call_is_answered_with_sdp() {
    let gw = gateway("");
    Sipp::new("reinvite.xml", &[]).run(gw.listener("sip", Some("udp")));
    ended_with(&gw, "RemoteHangup");
}

#[test]
fn a_source_not_on_the_allow_list_gets_403() {
    let gw = gateway("[[sip.trunks]]\nname = \"carrier\"\nallow = [\"192.0.2.0/24\"]\n");
    Sipp::new(
        "rejected.xml",
        &[
            ("status", "403"),
            ("header", "CSeq:"),
            ("header_check", "INVITE"),
        ],
    )
    .run(gw.listener("sip", Some("udp")));
    gw.logs.wait_for("debug line", |l| {
        message(l, "request from a source on no trunk")
    });
}

#[test]
fn unauthorized_drop_sends_nothing() {
    let gw = gateway(
        "[sip]\nunauthorized = \"drop\"\n[[sip.trunks]]\nname = \"carrier\"\nallow = [\"192.0.2.0/24\"]\n",
    );
    let sip = gw.listener("sip", Some("udp"));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = sock.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:x@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKdrop1\r\nFrom: <sip:scan@{local}>;tag=1\r\nTo: <sip:x@{sip}>\r\nCall-ID: drop1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(options.as_bytes(), sip).unwrap();
    gw.logs.wait_for("debug line", |l| {
        message(l, "request from a source on no trunk")
    });
    // The decision is logged before anything would be sent; nothing arrives.
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 2048];
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "a dropped request was answered"
    );
}

const DIGEST_TRUNK: &str = "[[sip.trunks]]\nname = \"carrier\"\nusername = \"trunk\"\npassword = \"s3cret\"\nrealm = \"deflect.test\"\nchallenge_from = [\"127.0.0.0/8\"]\n";

#[test]
fn digest_authenticated_trunk_with_md5() {
    let gw = gateway(&format!(
        "[sip]\ndigest_algorithms = [\"MD5\"]\n{DIGEST_TRUNK}"
    ));
    Sipp::new("auth_call.xml", &[])
        .args(&["-au", "trunk", "-ap", "s3cret"])
        .run(gw.listener("sip", Some("udp")));
    ended_with(&gw, "RemoteHangup");
    // Without credentials: an MD5 challenge only, as configured.
    Sipp::new(
        "rejected.xml",
        &[
            ("status", "401"),
            ("header", "WWW-Authenticate:"),
            ("header_check", "MD5"),
        ],
    )
    .run(gw.listener("sip", Some("udp")));
}

#[test]
fn digest_authenticated_trunk_with_sha256() {
    // sipp 3.6 answers only MD5 challenges; this UAC uses deflect's own client side.
    let gw = gateway(DIGEST_TRUNK);
    let sip = gw.listener("sip", Some("udp"));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(common::PATIENCE)).unwrap();
    let local = sock.local_addr().unwrap();
    let invite = |cseq: u32, auth: &str| {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        format!(
            "INVITE sip:1000@{sip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKsha{cseq}\r\nFrom: <sip:c@{local}>;tag=1\r\nTo: <sip:1000@{sip}>\r\nCall-ID: sha256\r\nCSeq: {cseq} INVITE\r\nContact: <sip:c@{local}>\r\n{auth}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        )
    };
    let recv_final = |sock: &UdpSocket| loop {
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 100") {
            return text;
        }
    };
    sock.send_to(invite(1, "").as_bytes(), sip).unwrap();
    let challenge = recv_final(&sock);
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    let sha = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("SHA-256"))
        .unwrap()
        .trim_start_matches("WWW-Authenticate:")
        .to_owned();
    let auth = deflect_sip::auth::authorize(
        &sha,
        "trunk",
        "s3cret",
        "INVITE",
        &format!("sip:1000@{sip}"),
        "c1",
    )
    .unwrap();
    sock.send_to(
        invite(2, &format!("Authorization: {auth}\r\n")).as_bytes(),
        sip,
    )
    .unwrap();
    let ok = recv_final(&sock);
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    gw.logs.wait_for("call answered", |l| {
        message(l, "answering call") && l["trunk"] == "carrier"
    });
}

#[test]
fn options_probe_gets_200() {
    let gw = gateway("");
    Sipp::new("options.xml", &[]).run(gw.listener("sip", Some("udp")));
}

#[test]
fn over_max_calls_new_calls_get_503_with_retry_after() {
    let gw = gateway("[sip]\nmax_calls = 1\n");
    Sipp::new("overload.xml", &[])
        .args(&["-m", "2", "-l", "2", "-r", "10"])
        .run(gw.listener("sip", Some("udp")));
    let (_, metrics) = get(gw.http_addr(), "/metrics");
    assert!(
        metrics.contains("deflect_sip_overload_rejections_total{reason=\"max_calls\"} 1"),
        "{metrics}"
    );
}

#[test]
fn graceful_shutdown_refuses_new_calls_then_hangs_up_the_rest() {
    let mut gw = gateway("[shutdown]\ngrace_period = \"2s\"\n");
    let sip = gw.listener("sip", Some("udp"));
    let held = Sipp::new(
        "held_call.xml",
        &[("timeout", "30000"), ("reason", "SIP;cause=503")],
    )
    .spawn(sip);
    gw.logs
        .wait_for("the call answered", |l| message(l, "answering call"));
    gw.signal("TERM");
    gw.logs.wait_for("stopping", |l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("stopping"))
    });
    gw.logs.wait_for("waiting for calls", |l| {
        message(l, "waiting for calls in progress")
    });
    Sipp::new(
        "rejected.xml",
        &[
            ("status", "503"),
            ("header", "Retry-After:"),
            ("header_check", "[0-9]+"),
        ],
    )
    .run(sip);
    held.wait();
    gw.logs.wait_for("hang-up after the grace period", |l| {
        message(l, "grace period over; hanging up the calls left")
    });
    assert_eq!(gw.wait().code(), Some(0));
}

/// A 200 OK to the request `req` (as received), with `extra` header lines (each ending in
/// CRLF): its Via, From, Call-ID and CSeq, its To with a tag.
fn ok_to(req: &str, extra: &str) -> String {
    let header = |name: &str| {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        (req.lines())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .unwrap_or_default()
            .to_string()
    };
    format!(
        "SIP/2.0 200 OK\r\n{}\r\n{}\r\n{};tag=peer\r\n{}\r\n{}\r\n{extra}Content-Length: 0\r\n\r\n",
        header("Via"),
        header("From"),
        header("To"),
        header("Call-ID"),
        header("CSeq")
    )
}

/// The registrar's grant in a 200 OK to a REGISTER.
const REGISTERED: &str = "Contact: <sip:31201234567@127.0.0.1>;expires=300\r\n";

/// A trunk's registration ends at shutdown: a registrar (a UDP socket here) answers the
/// REGISTER with 200 and a lifetime; on SIGTERM the gateway sends REGISTER again with
/// `Expires: 0` (same Call-ID, the next CSeq), logs the end once it is answered, and exits 0.
#[test]
fn a_trunk_registration_ends_with_expires_zero_at_shutdown() {
    let registrar = UdpSocket::bind("127.0.0.1:0").unwrap();
    registrar
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let port = registrar.local_addr().unwrap().port();
    let mut gw = Gateway::builder()
        .config(&format!(
            r#"
[[sip.trunks]]
name = "carrier"
allow = ["127.0.0.1/32"]

[sip.trunks.register]
registrar = "sip:127.0.0.1:{port}"
aor = "sip:31201234567@127.0.0.1"
expires = "5m"
"#
        ))
        .start();
    // Answers one REGISTER with 200 OK (granting 300 s); returns it.
    let answer = move |registrar: &UdpSocket| {
        let mut buf = [0u8; 4096];
        let (n, from) = registrar.recv_from(&mut buf).unwrap();
        let req = String::from_utf8_lossy(&buf[..n]).to_string();
        let ok = ok_to(&req, REGISTERED);
        registrar.send_to(ok.as_bytes(), from).unwrap();
        req
    };
    let first = answer(&registrar);
    assert!(first.starts_with("REGISTER sip:127.0.0.1"), "{first}");
    assert!(first.contains("\r\nExpires: 300\r\n"), "{first}");
    gw.logs.wait_for("registered", |l| message(l, "registered"));
    let last = std::thread::spawn(move || answer(&registrar));
    gw.signal("TERM");
    let status = gw.wait();
    let last = last.join().unwrap();
    assert!(last.contains("\r\nExpires: 0\r\n"), "{last}");
    let call_id = |r: &str| {
        (r.lines())
            .find(|l| l.starts_with("Call-ID:"))
            .unwrap()
            .to_string()
    };
    assert_eq!(call_id(&first), call_id(&last), "the same registration");
    assert!(last.contains("\r\nCSeq: 2 REGISTER\r\n"), "{last}");
    let ended = gw
        .logs
        .wait_for("unregistered", |l| message(l, "unregistered"));
    assert_eq!(
        (ended["trunk"].as_str(), ended["status"].as_i64()),
        (Some("carrier"), Some(200))
    );
    assert_eq!(status.code(), Some(0));
}

/// Answers the next OPTIONS arriving at `sbc` with 200 OK.
fn answer_options(sbc: &UdpSocket) {
    let mut buf = [0u8; 4096];
    let (n, from) = sbc.recv_from(&mut buf).unwrap();
    let req = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(req.starts_with("OPTIONS sip:127.0.0.1:"), "{req}");
    sbc.send_to(ok_to(&req, "").as_bytes(), from).unwrap();
}

/// A trunk's server is probed with OPTIONS: up (metric 1, logged) while it answers, down
/// (metric 0, logged) once a probe goes unanswered through its retransmissions, up again
/// when it answers again.
#[test]
fn a_trunk_servers_health_flips_when_it_stops_answering_options() {
    let sbc = UdpSocket::bind("127.0.0.1:0").unwrap();
    sbc.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let port = sbc.local_addr().unwrap().port();
    let address = format!("sip:127.0.0.1:{port}");
    let gw = gateway(&format!(
        r#"
[sip.timers]
t1 = "20ms"

[[sip.trunks]]
name = "carrier"
allow = ["127.0.0.1/32"]
addresses = ["{address}"]
options_interval = "1s"
"#
    ));
    let health = |gw: &Gateway| {
        let (_, metrics) = get(gw.http_addr(), "/metrics");
        (metrics.lines())
            .find(|l| {
                l.starts_with("deflect_sip_trunk_up{")
                    && l.contains("trunk=\"carrier\"")
                    && l.contains(&format!("address=\"{address}\""))
            })
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
    };
    let is = |l: &serde_json::Value, m: &str| {
        message(l, m) && l["trunk"] == "carrier" && l["address"] == address.as_str()
    };
    answer_options(&sbc);
    gw.logs.wait_for("up", |l| is(l, "trunk server answering"));
    assert_eq!(health(&gw).as_deref(), Some("1"));
    // Silent: the next probe's retransmissions go unanswered.
    let mark = gw.logs.count();
    let down = gw
        .logs
        .wait_from(mark, "down", |l| is(l, "trunk server not answering"));
    assert_eq!(down["status"], 408, "no answer: {down}");
    assert_eq!(health(&gw).as_deref(), Some("0"));
    // Back: everything that arrives from now on is answered.
    let mark = gw.logs.count();
    sbc.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answering = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if sbc.peek_from(&mut [0u8; 1]).is_ok() {
                    answer_options(&sbc);
                }
            }
        })
    };
    gw.logs
        .wait_from(mark, "up again", |l| is(l, "trunk server answering"));
    assert_eq!(health(&gw).as_deref(), Some("1"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    answering.join().unwrap();
}

/// A trunk with an outbound proxy registers through it: the REGISTER goes to the proxy's
/// address with `Route: <proxy;lr>` and the registrar (a name nobody resolves here) as its
/// Request-URI.
#[test]
fn a_trunk_registers_through_its_outbound_proxy() {
    let proxy = UdpSocket::bind("127.0.0.1:0").unwrap();
    proxy
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let port = proxy.local_addr().unwrap().port();
    let gw = gateway(&format!(
        r#"
[[sip.trunks]]
name = "carrier"
allow = ["127.0.0.1/32"]
outbound_proxy = "sip:127.0.0.1:{port}"

[sip.trunks.register]
registrar = "sip:registrar.carrier.invalid"
aor = "sip:31201234567@registrar.carrier.invalid"
"#
    ));
    let mut buf = [0u8; 4096];
    let (n, from) = proxy.recv_from(&mut buf).unwrap();
    let req = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        req.starts_with("REGISTER sip:registrar.carrier.invalid SIP/2.0\r\n"),
        "{req}"
    );
    assert!(
        req.contains(&format!("\r\nRoute: <sip:127.0.0.1:{port};lr>\r\n")),
        "{req}"
    );
    proxy
        .send_to(ok_to(&req, REGISTERED).as_bytes(), from)
        .unwrap();
    let registered = gw
        .logs
        .wait_for("registered", |l| message(l, "trunk registration active"));
    assert_eq!(registered["trunk"], "carrier");
}
