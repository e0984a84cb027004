//! SIP over TLS against the whole binary: a `tls:` listener presenting `[sip.tls]`'s
//! certificate (made by the test's own CA), callers that verify it, a certificate renewed
//! with SIGHUP, and trunk servers deflect verifies by pinned fingerprint.

#![allow(clippy::unwrap_used)]

mod common;

use common::baresip::{self, Baresip};
use common::dialler::Dialler;
use common::tls::{Ca, ServerCert};
use common::{Gateway, get, message};
use std::path::Path;

/// `[sip.tls]` presenting `cert`.
fn tls_config(cert: &ServerCert) -> String {
    format!(
        "[sip.tls]\ncertificate = {:?}\nprivate_key = {:?}\n",
        cert.cert, cert.key
    )
}

/// A gateway with UDP and TLS listeners presenting `cert`, and `extra` configuration.
fn gateway(cert: &ServerCert, listen: &str, extra: &str) -> Gateway {
    Gateway::builder()
        .config(&format!("{}{extra}", tls_config(cert)))
        .env("DEFLECT_SIP__LISTEN", listen)
        .log("info,deflect_ivr=debug")
        .start()
}

const LISTEN: &str = r#"["udp:127.0.0.1:0", "tls:127.0.0.1:0"]"#;

/// `deflect call` over TLS to the gateway's TLS listener, trusting `ca`.
fn call_over_tls(gw: &Gateway, ca: &Path, args: &[&str]) -> Dialler {
    let tls = gw.listener("sip", Some("tls"));
    let ca = ca.to_str().unwrap();
    let mut all = vec!["--transport", "tls", "--tls-ca", ca];
    all.extend_from_slice(args);
    Dialler::call(tls, "31201234567", &all)
}

/// A caller that trusts the gateway's CA completes a deflection over TLS (Via `TLS`,
/// `transport=tls` in the gateway's Contact); one that trusts another CA refuses the
/// gateway's certificate, and its INVITE fails at once with 503 rather than after Timer B.
#[test]
fn a_caller_over_tls_is_deflected_and_a_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "good");
    let other = Ca::new(dir.path(), "other");
    let gw = gateway(&ca.server(dir.path(), "gateway"), LISTEN, "");

    let (status, out) = call_over_tls(&gw, &other.pem, &["--dtmf", "1"]).finish();
    assert!(!status.success(), "{out}");
    assert!(out.contains("rejected with 503"), "{out}");

    let (status, out) = call_over_tls(&gw, &ca.pem, &["--dtmf", "0623456789#1"]).finish();
    assert!(status.success(), "{out}");
    assert!(out.contains("digits sent: 0623456789#1"), "{out}");
    let deflection = gw.logs.wait_for("deflection", |l| message(l, "deflection"));
    assert_eq!(deflection["callback_number"], "+31623456789");
}

/// baresip, verifying the gateway's certificate against the test's CA, calls over TLS with
/// mandatory SDES-SRTP (`RTP/SAVP`) and types a number: the call's media is SRTP both ways
/// (its digits arrive encrypted) and it is deflected.
#[test]
fn baresip_over_tls_with_srtp_is_deflected() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "good");
    let gw = Gateway::builder()
        .config(&tls_config(&ca.server(dir.path(), "gateway")))
        .env("DEFLECT_SIP__LISTEN", LISTEN)
        .log("info,deflect_ivr=debug,deflect_media=debug")
        .start();
    let tls = gw.listener("sip", Some("tls"));
    let mut phone = Baresip::start_with(
        &baresip::silence(dir.path(), 120),
        &format!("sip_cafile {}\nmodule srtp.so\n", ca.pem.display()),
        ";mediaenc=srtp-mand",
    );
    phone.dial_uri(&format!("sip:31201234567@{tls};transport=tls"));
    phone.command("sndcode", "0623456789#1");
    phone.wait_for("CALL_CLOSED");
    let deflection = gw.logs.wait_for("deflection", |l| message(l, "deflection"));
    assert_eq!(deflection["callback_number"], "+31623456789");
    let media = gw
        .logs
        .wait_for("media session", |l| message(l, "media session starts"));
    let suite = media["srtp"].as_str().unwrap_or_default();
    assert!(
        suite.starts_with("AES_CM_128_HMAC_SHA1") || suite.starts_with("AEAD_AES"),
        "{media}"
    );
    let ended = gw
        .logs
        .wait_for("media session end", |l| message(l, "media session ends"));
    // Every digit and the audio came through decryption (baresip's one RTCP "PINGPONG"
    // keep-alive, sent in the clear, is refused as unauthenticated).
    assert_eq!(ended["digits"], 12, "{ended}");
    assert!(ended["received"].as_u64().unwrap() > 100, "{ended}");
    assert!(ended["unauthenticated"].as_u64().unwrap() <= 1, "{ended}");
}

/// A trunk that requires SRTP refuses a plain-RTP offer with 488, and takes the dialler's
/// SRTP offer.
#[test]
fn a_trunk_requiring_srtp_refuses_plain_rtp() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "good");
    let gw = gateway(
        &ca.server(dir.path(), "gateway"),
        LISTEN,
        "[[sip.trunks]]\nname = \"secure\"\nallow = [\"127.0.0.0/8\"]\nsrtp = \"required\"\n",
    );
    let (status, out) = call_over_tls(&gw, &ca.pem, &["--dtmf", "1"]).finish();
    assert!(!status.success(), "{out}");
    assert!(out.contains("rejected with 488"), "{out}");
    let args = ["--srtp", "--start", "now", "--hang-up-after", "0s"];
    let (status, out) = call_over_tls(&gw, &ca.pem, &args).finish();
    assert!(status.success(), "{out}");
    assert!(out.contains(", SRTP AES_CM_128_HMAC_SHA1_80"), "{out}");
}

/// A renewed certificate is presented after SIGHUP without a restart: callers trusting
/// only the new CA get through, those trusting only the old one no longer do.
#[test]
fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let old = Ca::new(dir.path(), "old");
    let new = Ca::new(dir.path(), "new");
    let gw = gateway(&old.server(dir.path(), "gateway"), LISTEN, "");
    let answered = |ca: &Path| {
        let args = ["--start", "now", "--hang-up-after", "0s"];
        let (status, out) = call_over_tls(&gw, ca, &args).finish();
        (status.success(), out)
    };
    let (ok, out) = answered(&old.pem);
    assert!(ok, "{out}");

    new.server(dir.path(), "gateway");
    let mark = gw.logs.count();
    gw.signal("HUP");
    gw.logs.wait_from(mark, "reloaded", |l| {
        message(l, "SIGHUP: TLS certificate reloaded")
    });
    let (ok, out) = answered(&new.pem);
    assert!(ok, "{out}");
    let (ok, out) = answered(&old.pem);
    assert!(!ok, "the old CA no longer verifies it: {out}");
}

/// Trunk servers presenting a self-signed certificate are trusted by pinned fingerprint:
/// the pinned trunk's OPTIONS probes over TLS are answered (up), a trunk pinning another
/// certificate refuses the same server's (down, 503, the refusal logged with the
/// certificate's fingerprint).
#[test]
fn trunk_servers_are_verified_by_pinned_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "sbc");
    let cert = ca.server(dir.path(), "gateway");
    let elsewhere = ca.server(dir.path(), "elsewhere");
    // The gateway probes its own two TLS listeners, one per trunk.
    let ports = [common::sipp::free_port(), common::sipp::free_port()];
    let listen = format!(
        r#"["udp:127.0.0.1:0", "tls:127.0.0.1:{}", "tls:127.0.0.1:{}"]"#,
        ports[0], ports[1]
    );
    let (pinned, mispinned) = (
        format!("sips:127.0.0.1:{}", ports[0]),
        format!("sips:127.0.0.1:{}", ports[1]),
    );
    let gw = gateway(
        &cert,
        &listen,
        &format!(
            r#"
[[sip.trunks]]
name = "pinned"
allow = ["127.0.0.1"]
addresses = ["{pinned}"]
options_interval = "1s"
tls_pins = ["{}"]

[[sip.trunks]]
name = "mispinned"
allow = ["127.0.0.2"]
addresses = ["{mispinned}"]
options_interval = "1s"
tls_pins = ["{}"]
"#,
            cert.fingerprint, elsewhere.fingerprint
        ),
    );
    let up = gw.logs.wait_for("pinned up", |l| {
        message(l, "trunk server answering") && l["trunk"] == "pinned"
    });
    assert_eq!(up["address"], pinned.as_str());
    let down = gw.logs.wait_for("mispinned down", |l| {
        message(l, "trunk server not answering") && l["trunk"] == "mispinned"
    });
    assert_eq!(down["status"], 503, "{down}");
    let refused = gw
        .logs
        .wait_for("refusal", |l| message(l, "TLS connection refused"));
    let cause = refused["cause"].as_str().unwrap();
    assert!(cause.contains(&cert.fingerprint), "{refused}");
    let (_, metrics) = get(gw.http_addr(), "/metrics");
    let gauge = |trunk: &str| {
        (metrics.lines())
            .find(|l| l.starts_with("deflect_sip_trunk_up{") && l.contains(trunk))
            .map(|l| l.rsplit(' ').next().unwrap().to_owned())
    };
    assert_eq!(gauge("trunk=\"pinned\"").as_deref(), Some("1"), "{metrics}");
    assert_eq!(
        gauge("trunk=\"mispinned\"").as_deref(),
        Some("0"),
        "{metrics}"
    );
}
