//! Media as real peers exercise it, through the whole binary: DTMF from sipp's shipped RFC
//! 2833 captures and its `play_dtmf`, from SIP INFO (both content types), from baresip's
//! `sndcode`, and as tones in the audio; a PCMA-only call; a G.729-only offer (488); a
//! caller's hold (RFC 2543 `c=0.0.0.0`) stopping deflect's RTP until it resumes.
//!
//! Each test reads the digits back from the gateway's `DTMF digit` log lines (digit and
//! source), after the call has finished (`call finished`).

#![allow(clippy::unwrap_used)]

mod common;

use common::baresip::{self, Baresip};
use common::dialler::Dialler;
use common::sipp::{Caller, Sipp};
use common::udp_caller::UdpCaller;
use common::{Gateway, message};
use serde_json::Value;
use std::time::Duration;

fn gateway(config: &str) -> Gateway {
    Gateway::builder()
        .config(config)
        .log("info,deflect_media=debug")
        .start()
}

/// Waits for the call to finish; returns the digits the gateway reported, each with its
/// source.
fn digits_of_the_call(gw: &Gateway) -> Vec<(String, String)> {
    gw.logs
        .wait_for("call finished", |l| message(l, "call finished"));
    gw.logs
        .json()
        .iter()
        .filter(|l| message(l, "DTMF digit"))
        .map(|l| {
            (
                l["digit"].as_str().unwrap().to_owned(),
                l["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn keys(digits: &[(String, String)]) -> String {
    digits.iter().map(|(d, _)| d.as_str()).collect()
}

fn sources(digits: &[(String, String)]) -> Vec<&str> {
    let mut s: Vec<&str> = digits.iter().map(|(_, s)| s.as_str()).collect();
    s.dedup();
    s
}

#[test]
fn sipps_rfc2833_captures_come_out_as_the_exact_digits() {
    let gw = gateway("");
    // Out of capture order, so the sender's sequence numbers jump back and forth between
    // captures (each is a slice of one recorded stream): the session follows the restarts.
    Caller::pcmu(101)
        .pcaps(&["1", "5", "9", "0", "star", "2", "pound"])
        .hang_up()
        .run(gw.listener("sip", Some("udp")));
    let digits = digits_of_the_call(&gw);
    assert_eq!(keys(&digits), "1590*2#");
    assert_eq!(sources(&digits), vec!["rfc4733"]);
}

#[test]
fn sipps_play_dtmf_comes_out_as_the_exact_digits() {
    let gw = gateway("");
    Caller::pcmu(96)
        .play_dtmf("0612345678#*")
        .hang_up()
        .run(gw.listener("sip", Some("udp")));
    let digits = digits_of_the_call(&gw);
    assert_eq!(keys(&digits), "0612345678#*");
    assert_eq!(sources(&digits), vec!["rfc4733"]);
}

#[test]
fn sip_info_digits_of_both_content_types_and_the_answers() {
    let gw = gateway("");
    Caller::pcmu(101)
        .info("application/dtmf-relay", &["Signal=5", "Duration=160"], 200)
        .info("application/dtmf", &["7"], 200)
        .info("application/dtmf-relay", &["Signal=#", "Duration=250"], 200)
        .info("application/dtmf-relay; charset=utf-8", &["Signal= 1"], 200)
        // Not DTMF at all: 415; DTMF without a key: 400. Neither is a digit.
        .info("text/plain", &["5"], 415)
        .info("application/dtmf-relay", &["Duration=160"], 400)
        .hang_up()
        .run(gw.listener("sip", Some("udp")));
    let digits = digits_of_the_call(&gw);
    assert_eq!(keys(&digits), "57#1");
    assert_eq!(sources(&digits), vec!["sip_info"]);
}

#[test]
fn baresip_sndcode_comes_out_as_the_exact_digits() {
    let gw = gateway("");
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Baresip::start(&baresip::silence(dir.path(), 60));
    phone.dial(gw.listener("sip", Some("udp")), "31201234567");
    phone.command("sndcode", "0612345678#");
    // Each digit reported (the gateway keeps listening for more).
    gw.logs.wait_for("the last digit", |l| {
        message(l, "DTMF digit") && l["digit"] == "#"
    });
    phone.command("hangup", "");
    phone.wait_for("CALL_CLOSED");
    let digits = digits_of_the_call(&gw);
    assert_eq!(keys(&digits), "0612345678#");
    assert_eq!(sources(&digits), vec!["rfc4733"]);
}

#[test]
fn a_call_offering_only_pcma_is_answered_in_pcma_and_works() {
    let gw = gateway("");
    Caller::pcmu(96)
        .offer(
            "8 96",
            "a=rtpmap:8 PCMA/8000\na=rtpmap:96 telephone-event/8000",
            "m=audio [0-9]+ RTP/AVP 8 96",
        )
        .play_dtmf("42")
        .hang_up()
        .run(gw.listener("sip", Some("udp")));
    let started: Value = gw
        .logs
        .wait_for("media session", |l| message(l, "media session starts"));
    assert_eq!(started["codec"], "Pcma");
    assert_eq!(keys(&digits_of_the_call(&gw)), "42");
}

#[test]
fn a_call_offering_only_g729_gets_488() {
    let gw = gateway("");
    Sipp::new(
        "offer_rejected.xml",
        &[
            ("formats", "18 101"),
            (
                "rtpmaps",
                "a=rtpmap:18 G729/8000\na=rtpmap:101 telephone-event/8000",
            ),
            ("status", "488"),
        ],
    )
    .run(gw.listener("sip", Some("udp")));
}

/// A WAV (8 kHz, 16-bit) of DTMF tones: each key 100 ms of its two frequencies, 100 ms of
/// silence between keys.
fn dtmf_tones(path: &std::path::Path, keys: &str) {
    let freqs = |k: char| -> (f64, f64) {
        let rows = [697.0, 770.0, 852.0, 941.0];
        let cols = [1209.0, 1336.0, 1477.0, 1633.0];
        let at = "123A456B789C*0#D".find(k).unwrap();
        (rows[at / 4], cols[at % 4])
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let silence = |w: &mut hound::WavWriter<_>, n: usize| {
        for _ in 0..n {
            w.write_sample(0i16).unwrap();
        }
    };
    silence(&mut w, 2400);
    for k in keys.chars() {
        let (lo, hi) = freqs(k);
        for i in 0..800 {
            let t = f64::from(i) / 8000.0;
            let v = 6000.0 * (2.0 * std::f64::consts::PI * lo * t).sin()
                + 6000.0 * (2.0 * std::f64::consts::PI * hi * t).sin();
            w.write_sample(v as i16).unwrap();
        }
        silence(&mut w, 800);
    }
    silence(&mut w, 2400);
    w.finalize().unwrap();
}

#[test]
fn tones_in_the_audio_of_an_inband_trunk_come_out_as_the_exact_digits() {
    // sipp 3.6.1's rtp_stream sent no packets in our attempts (raw and WAV u-law files), so
    // the tones are played by deflect's own dialler as its microphone.
    let gw = gateway(
        "[[sip.trunks]]\nname = \"tones\"\nallow = [\"127.0.0.0/8\"]\ninband_dtmf = true\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("tones.wav");
    dtmf_tones(&wav, "0612345678#");
    let call = Dialler::call(
        gw.listener("sip", Some("udp")),
        "31201234567",
        &[
            "--wav",
            wav.to_str().unwrap(),
            "--start",
            "now",
            "--hang-up-after",
            "1s",
        ],
    );
    let (status, out) = call.finish();
    assert!(status.success(), "{out}");
    let digits = digits_of_the_call(&gw);
    assert_eq!(keys(&digits), "0612345678#");
    assert_eq!(sources(&digits), vec!["inband"]);
}

#[test]
fn an_invite_without_sdp_gets_our_offer_and_its_answer_in_the_ack_carries_the_media() {
    let gw = gateway("");
    Sipp::new("late_offer.xml", &[]).run(gw.listener("sip", Some("udp")));
    let digits = digits_of_the_call(&gw);
    assert_eq!(keys(&digits), "4");
}

/// A block of two free UDP ports, even then odd: one RTP/RTCP pair.
fn one_port_pair() -> (u16, u16) {
    loop {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        if port.is_multiple_of(2)
            && port < 65000
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port + 1)).is_ok()
        {
            return (port, port + 1);
        }
    }
}

#[test]
fn no_free_rtp_port_is_503_with_retry_after_and_silence_ends_the_call_that_has_one() {
    let (first, last) = one_port_pair();
    let gw = Gateway::builder()
        .config(&format!(
            "[media]\nrtp_ports = \"{first}-{last}\"\nrtp_timeout = \"2s\"\n"
        ))
        .log("info,deflect_ivr=debug")
        .start();
    let sip = gw.listener("sip", Some("udp"));
    // The first call takes the only pair; it sends no RTP, so after 2 s deflect hangs up.
    let held = Caller::pcmu(101).await_bye("Q.850;cause=102").spawn(sip);
    gw.logs
        .wait_for("the first call", |l| message(l, "answering call"));
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
    // Each call ends with its own outcome: the refused one rejected, the silent one timed out.
    let outcome = |o: &'static str| {
        move |l: &serde_json::Value| message(l, "call finished") && l["outcome"] == o
    };
    gw.logs.wait_for("the refused call", outcome("rejected"));
    gw.logs.wait_for("the silent call", outcome("timed_out"));
    let finished = (gw.logs.json().into_iter())
        .filter(|l| message(l, "call finished"))
        .count();
    assert_eq!(finished, 2);
}

#[test]
fn a_caller_holding_with_c_0_0_0_0_gets_no_rtp_until_it_resumes() {
    let gw = gateway("");
    let mut caller = UdpCaller::new(gw.listener("sip", Some("udp")));
    caller.invite("127.0.0.1");
    // The phone sends its RTP throughout, on hold too (deflect latches onto it).
    caller.start_rtp();
    caller.wait_for_rtp(25);

    // Hold, RFC 2543 style (RFC 3264 §8.4): answered recvonly, and from the 200 OK on no
    // RTP, although the phone's packets keep arriving. Over 2 s deflect would send ~100.
    let held = caller.invite("0.0.0.0");
    assert!(held.body().contains("a=recvonly\r\n"), "{}", held.text);
    // Packets sent before the re-INVITE was answered are already in the socket (loopback).
    caller.drain_rtp();
    assert_eq!(caller.rtp_within(Duration::from_secs(2)), 0, "RTP on hold");

    // Resumed with an address: RTP flows again.
    let resumed = caller.invite("127.0.0.1");
    assert!(
        resumed.body().contains("a=sendrecv\r\n"),
        "{}",
        resumed.text
    );
    caller.wait_for_rtp(25);
    caller.bye();
    gw.logs
        .wait_for("call finished", |l| message(l, "call finished"));
}
