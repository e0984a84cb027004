//! Protocol scenarios on a virtual clock: two user agents (deflect's UAC and UAS) over an
//! in-memory link that loses, duplicates and reorders, and a scripted peer for the cases
//! where exact timing and message order matter (RFC 3261 §13, §17; RFC 4028).

#![allow(clippy::unwrap_used)]

use deflect_config::{SipConfig, SipTransport};
use deflect_sip::endpoint::{
    CallEvent, CallKey, EndReason, Endpoint, EndpointConfig, Event, OutgoingCall, Reason, Transmit,
};
use deflect_sip::message::{Message, Uri};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const UAS: &str = "127.0.0.1:5060";
const UAC: &str = "127.0.0.2:5070";
const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn endpoint(local: &str, seed: u64, now: Instant) -> Endpoint {
    endpoint_with(local, seed, now, SipConfig::default())
}

fn endpoint_with(local: &str, seed: u64, now: Instant, config: SipConfig) -> Endpoint {
    let config = EndpointConfig::new(&config, &[(SipTransport::Udp, addr(local))], seed);
    Endpoint::new(config, now)
}

/// An in-memory network between two endpoints with seeded loss, duplication and delay
/// (delays vary, so messages overtake each other).
struct Net {
    rng: fastrand::Rng,
    loss: f64,
    dup: f64,
    in_flight: Vec<(Instant, Transmit, SocketAddr)>,
}

impl Net {
    fn new(seed: u64, loss: f64, dup: f64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            loss,
            dup,
            in_flight: Vec::new(),
        }
    }

    fn carry(&mut self, now: Instant, from: SocketAddr, t: Transmit) {
        if self.rng.f64() < self.loss {
            return;
        }
        let copies = if self.rng.f64() < self.dup { 2 } else { 1 };
        for _ in 0..copies {
            let delay = Duration::from_millis(self.rng.u64(1..40));
            self.in_flight.push((now + delay, t.clone(), from));
        }
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.iter().map(|(t, _, _)| *t).min()
    }

    fn due(&mut self, now: Instant) -> Vec<(Transmit, SocketAddr)> {
        let (due, rest): (Vec<_>, Vec<_>) =
            self.in_flight.drain(..).partition(|(t, _, _)| *t <= now);
        self.in_flight = rest;
        due.into_iter().map(|(_, t, f)| (t, f)).collect()
    }
}

/// Runs both endpoints until `until` on the virtual clock; returns the events of each.
fn run(
    now: &mut Instant,
    until: Instant,
    net: &mut Net,
    uas: &mut Endpoint,
    uac: &mut Endpoint,
    mut on_uas_event: impl FnMut(Instant, &mut Endpoint, &Event),
) -> (Vec<Event>, Vec<Event>) {
    let (mut uas_events, mut uac_events) = (Vec::new(), Vec::new());
    loop {
        while let Some(t) = uas.poll_transmit() {
            net.carry(*now, addr(UAS), t);
        }
        while let Some(t) = uac.poll_transmit() {
            net.carry(*now, addr(UAC), t);
        }
        let mut progressed = false;
        while let Some(e) = uas.poll_event() {
            on_uas_event(*now, uas, &e);
            uas_events.push(e);
            progressed = true;
        }
        while let Some(e) = uac.poll_event() {
            uac_events.push(e);
        }
        if progressed {
            continue;
        }
        let next = [net.next_delivery(), uas.poll_timeout(), uac.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= until => *now = t.max(*now),
            _ => return (uas_events, uac_events),
        }
        for (t, from) in net.due(*now) {
            let to = if t.remote == addr(UAS) {
                &mut *uas
            } else {
                &mut *uac
            };
            to.handle_message(*now, t.transport, from, &t.data);
        }
        uas.handle_timeout(*now);
        uac.handle_timeout(*now);
    }
}

fn ended(events: &[Event]) -> Vec<EndReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Call(_, CallEvent::Ended(r)) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn calls_complete_over_a_lossy_duplicating_reordering_link() {
    for seed in 0..40 {
        let mut now = Instant::now();
        let start = now;
        let mut uas = endpoint(UAS, seed, now);
        let mut uac = endpoint(UAC, seed + 1000, now);
        let mut net = Net::new(seed, 0.2, 0.1);
        let key = uac.invite(
            now,
            OutgoingCall {
                uri: Uri::parse(&format!("sip:1000@{UAS}")).unwrap(),
                remote: addr(UAS),
                transport: SipTransport::Udp,
                from_user: "31612345678".into(),
                sdp: SDP.to_vec(),
                route: None,
                credentials: None,
                through: None,
            },
        );
        let (uas_events, uac_events) = run(
            &mut now,
            start + Duration::from_secs(20),
            &mut net,
            &mut uas,
            &mut uac,
            |now, ua, e| {
                if let Event::Incoming(call) = e {
                    assert_eq!(call.request_user().as_deref(), Some("1000"));
                    assert_eq!(call.from_user().as_deref(), Some("31612345678"));
                    assert_eq!(call.offer.as_deref(), Some(SDP));
                    ua.accept(now, call.key, b"v=0\r\n".to_vec());
                }
            },
        );
        assert_eq!(
            uas_events
                .iter()
                .filter(|e| matches!(e, Event::Incoming(_)))
                .count(),
            1,
            "seed {seed}: one call despite duplicates"
        );
        assert!(
            uac_events.contains(&Event::Call(
                key,
                CallEvent::Answered {
                    sdp: b"v=0\r\n".to_vec()
                }
            )),
            "seed {seed}: {uac_events:?}"
        );
        assert!(ended(&uas_events).is_empty(), "seed {seed}: {uas_events:?}");
        assert_eq!(uas.active_calls(), 1);
        // The caller hangs up; both sides end once.
        uac.hang_up(now, key, Reason::q850(16, "Normal call clearing"));
        let (uas_events, uac_events) = run(
            &mut now,
            start + Duration::from_secs(80),
            &mut net,
            &mut uas,
            &mut uac,
            |_, _, _| {},
        );
        assert_eq!(
            ended(&uas_events),
            vec![EndReason::RemoteHangup {
                reason: Some("Q.850;cause=16;text=\"Normal call clearing\"".into())
            }],
            "seed {seed}"
        );
        assert_eq!(ended(&uac_events), vec![EndReason::HungUp], "seed {seed}");
        assert_eq!((uas.active_calls(), uac.active_calls()), (0, 0));
    }
}

/// A scripted peer: sends hand-written requests, collects what the endpoint sends back.
struct Peer {
    ua: Endpoint,
    now: Instant,
    sent: Vec<(Instant, Message)>,
}

impl Peer {
    fn new(config: SipConfig) -> Self {
        let now = Instant::now();
        Self {
            ua: endpoint_with(UAS, 7, now, config),
            now,
            sent: Vec::new(),
        }
    }

    fn send(&mut self, text: &str) {
        let text = text.replace('\n', "\r\n");
        self.ua
            .handle_message(self.now, SipTransport::Udp, addr(UAC), text.as_bytes());
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(t) = self.ua.poll_transmit() {
            self.sent
                .push((self.now, Message::parse(&t.data, true).unwrap()));
        }
    }

    /// Advances the virtual clock to `until`, firing every timer on the way.
    fn advance_to(&mut self, until: Instant) {
        while let Some(t) = self.ua.poll_timeout() {
            if t > until {
                break;
            }
            self.now = t;
            self.ua.handle_timeout(t);
            self.drain();
        }
        self.now = until;
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    fn incoming(&mut self) -> CallKey {
        match self.events().into_iter().next() {
            Some(Event::Incoming(c)) => c.key,
            other => panic!("expected a call, got {other:?}"),
        }
    }

    fn statuses(&self) -> Vec<u16> {
        self.sent
            .iter()
            .filter_map(|(_, m)| match m {
                Message::Response(r) => Some(r.status),
                _ => None,
            })
            .collect()
    }

    fn requests(&self, method: &str) -> Vec<(Instant, deflect_sip::message::Request)> {
        self.sent
            .iter()
            .filter_map(|(t, m)| match m {
                Message::Request(r) if r.method.as_str() == method => Some((*t, r.clone())),
                _ => None,
            })
            .collect()
    }

    /// A call answered and ACKed; its key and deflect's tag.
    fn answered_call(&mut self) -> (CallKey, String) {
        self.send(&invite(""));
        let key = self.incoming();
        self.ua
            .accept(self.now, key, b"v=0\r\no=deflect 1 1\r\n".to_vec());
        self.drain();
        let tag = self.to_tag();
        self.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
        (key, tag)
    }

    fn to_tag(&self) -> String {
        self.sent
            .iter()
            .find_map(|(_, m)| match m {
                Message::Response(r) if r.status > 100 => {
                    r.to().and_then(|t| t.tag().map(str::to_owned))
                }
                _ => None,
            })
            .unwrap()
    }
}

fn invite(extra: &str) -> String {
    format!(
        "INVITE sip:1000@{UAS} SIP/2.0\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bKinv1\nFrom: <sip:c@{UAC}>;tag=caller\nTo: <sip:1000@{UAS}>\nCall-ID: scenario\nCSeq: 1 INVITE\nContact: <sip:c@{UAC}>\n{extra}Content-Type: application/sdp\nContent-Length: {}\n\n{}",
        SDP.len(),
        String::from_utf8_lossy(SDP).replace("\r\n", "\n")
    )
    .replace("Content-Length: 71", &format!("Content-Length: {}", SDP.len()))
}

/// An INFO in the scenario's dialog carrying `body`.
fn info(cseq: u32, tag: &str, branch: &str, content_type: &str, body: &str) -> String {
    in_dialog(
        "INFO",
        cseq,
        tag,
        branch,
        &format!("Content-Type: {content_type}\n"),
    )
    .replace(
        "Content-Length: 0\n\n",
        &format!(
            "Content-Length: {}\n\n{body}",
            body.replace('\n', "\r\n").len()
        ),
    )
}

fn in_dialog(method: &str, cseq: u32, tag: &str, branch: &str, extra: &str) -> String {
    format!(
        "{method} sip:1000@{UAS} SIP/2.0\nVia: SIP/2.0/UDP {UAC};branch={branch}\nFrom: <sip:c@{UAC}>;tag=caller\nTo: <sip:1000@{UAS}>;tag={tag}\nCall-ID: scenario\nCSeq: {cseq} {method}\n{extra}Content-Length: 0\n\n"
    )
}

#[test]
fn a_missing_ack_ends_the_call_with_bye_after_64_t1_and_2xx_retransmits_on_schedule() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(""));
    assert_eq!(p.statuses(), vec![100], "100 Trying at once");
    let key = p.incoming();
    let answered = p.now;
    p.ua.accept(answered, key, b"v=0\r\n".to_vec());
    p.drain();
    p.advance_to(answered + Duration::from_secs(40));
    let ok_times: Vec<u128> = p
        .sent
        .iter()
        .filter(|(_, m)| matches!(m, Message::Response(r) if r.status == 200))
        .map(|(t, _)| (*t - answered).as_millis())
        .collect();
    // T1 doubling, capped at T2 (§13.3.1.4), until 64·T1.
    assert_eq!(
        ok_times,
        vec![
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    let byes = p.requests("BYE");
    assert_eq!(
        byes[0].0 - answered,
        Duration::from_secs(32),
        "BYE at 64·T1"
    );
    assert!(byes[0].1.headers.get("Reason").unwrap().contains("408"));
    let events = p.events();
    assert!(
        events.is_empty(),
        "the call ends when the BYE completes: {events:?}"
    );
    let tag = p.to_tag();
    let bye = &byes[0].1;
    let branch = bye.top_via().unwrap().branch().unwrap().to_owned();
    let cseq = bye.cseq().unwrap().seq;
    p.send(&format!(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP {UAS};branch={branch}\nFrom: <sip:1000@{UAS}>;tag={tag}\nTo: <sip:c@{UAC}>;tag=caller\nCall-ID: scenario\nCSeq: {cseq} BYE\nContent-Length: 0\n\n"
    ));
    assert_eq!(
        p.events(),
        vec![Event::Call(key, CallEvent::Ended(EndReason::AckTimeout))]
    );
}

#[test]
fn a_caller_without_a_from_tag_gets_in_dialog_requests_without_a_to_tag() {
    // RFC 2543 callers may send no From tag (RFC 4475 §3.4.1, inv2543): the dialog's remote
    // tag is then empty (RFC 3261 §12.1.1), and deflect's BYE must still parse.
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite("").replace(";tag=caller", ""));
    let key = p.incoming();
    p.ua.accept(p.now, key, b"v=0\r\n".to_vec());
    p.drain();
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", "").replace(";tag=caller", ""));
    p.ua.hang_up(p.now, key, Reason::q850(16, "deflected"));
    p.drain();
    let byes = p.requests("BYE");
    let to = byes[0].1.to().unwrap();
    assert_eq!(to.tag(), None);
    assert_eq!(to.to_string(), format!("<sip:c@{UAC}>"));
}

#[test]
fn a_contact_with_uri_headers_gets_in_dialog_requests_without_them() {
    // Found by fuzzing: a Contact `<sip:c@12?.0.0.2>` reads as host `12` with headers, and
    // deflect's BYE to it carried them in its Request-URI, which no parser takes.
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite("").replace(
        &format!("Contact: <sip:c@{UAC}>"),
        &format!("Contact: <sip:c@{UAC}?Subject=hold%20on>"),
    ));
    let key = p.incoming();
    p.ua.accept(p.now, key, b"v=0\r\n".to_vec());
    p.drain();
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
    p.ua.hang_up(p.now, key, Reason::q850(16, "deflected"));
    p.drain();
    let byes = p.requests("BYE");
    assert_eq!(byes[0].1.uri.to_string(), format!("sip:c@{UAC}"));
}

#[test]
fn the_ack_stops_2xx_retransmissions_and_invite_retransmissions_get_100_again() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(""));
    p.send(&invite("")); // a retransmission before the answer: 100 again, no second call
    assert_eq!(p.statuses(), vec![100, 100]);
    let key = p.incoming();
    assert!(p.events().is_empty());
    p.ua.accept(p.now, key, b"v=0\r\n".to_vec());
    p.drain();
    p.advance_to(p.now + Duration::from_millis(600)); // one retransmission
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
    let count = p.statuses().iter().filter(|s| **s == 200).count();
    assert_eq!(count, 2);
    p.advance_to(p.now + Duration::from_secs(60));
    assert_eq!(
        p.statuses().iter().filter(|s| **s == 200).count(),
        count,
        "no 200 after the ACK"
    );
    assert!(p.requests("BYE").is_empty());
    assert!(p.events().is_empty(), "the call is up");
}

#[test]
fn cancel_before_the_answer_gets_200_and_487_and_a_late_accept_sends_nothing() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(""));
    let key = p.incoming();
    p.send(
        &invite("")
            .replace("INVITE sip", "CANCEL sip")
            .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL"),
    );
    assert_eq!(p.statuses(), vec![100, 200, 487]);
    assert_eq!(
        p.events(),
        vec![Event::Call(key, CallEvent::Ended(EndReason::Cancelled))]
    );
    p.ua.accept(p.now, key, b"v=0\r\n".to_vec());
    p.drain();
    assert_eq!(
        p.statuses(),
        vec![100, 200, 487],
        "nothing after the cancel"
    );
    // The ACK for the 487 is absorbed; Timer G stops.
    p.send(
        &invite("")
            .replace("INVITE sip", "ACK sip")
            .replace("CSeq: 1 INVITE", "CSeq: 1 ACK"),
    );
    p.advance_to(p.now + Duration::from_secs(60));
    assert_eq!(p.statuses(), vec![100, 200, 487]);
}

#[test]
fn cancel_racing_the_200_ok_leaves_the_call_up() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(""));
    let key = p.incoming();
    p.ua.accept(p.now, key, b"v=0\r\n".to_vec());
    p.drain();
    p.send(
        &invite("")
            .replace("INVITE sip", "CANCEL sip")
            .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL"),
    );
    assert_eq!(
        p.statuses(),
        vec![100, 200, 200],
        "the CANCEL gets 200 and nothing else"
    );
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
    p.advance_to(p.now + Duration::from_secs(60));
    assert!(p.events().is_empty(), "the call is up");
    assert_eq!(p.ua.active_calls(), 1);
    // The caller then hangs up as usual.
    p.send(&in_dialog("BYE", 2, &tag, "z9hG4bKbye1", ""));
    assert_eq!(
        p.events(),
        vec![Event::Call(
            key,
            CallEvent::Ended(EndReason::RemoteHangup { reason: None })
        )]
    );
}

#[test]
fn session_timers_422_refresh_and_expiry() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite("Supported: timer\nSession-Expires: 60\n"));
    assert_eq!(p.statuses(), vec![422]);
    let (_, Message::Response(r)) = &p.sent[0] else {
        panic!()
    };
    assert_eq!(r.headers.get("Min-SE"), Some("90"));

    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(
        "Supported: timer\nSession-Expires: 120;refresher=uac\n",
    ));
    let key = p.incoming();
    let start = p.now;
    p.ua.accept(start, key, b"v=0\r\n".to_vec());
    p.drain();
    let (_, Message::Response(ok)) = p.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!(ok.headers.get("Session-Expires"), Some("120;refresher=uac"));
    assert_eq!(ok.headers.get("Require"), Some("timer"));
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
    // A refresh (UPDATE without a body) at 50 s moves the deadline.
    p.advance_to(start + Duration::from_secs(50));
    p.send(&in_dialog(
        "UPDATE",
        2,
        &tag,
        "z9hG4bKupd1",
        "Supported: timer\nSession-Expires: 120;refresher=uac\n",
    ));
    assert_eq!(*p.statuses().last().unwrap(), 200);
    let refreshed = p.now;
    p.advance_to(start + Duration::from_secs(200));
    let byes = p.requests("BYE");
    // Expiry: interval − min(32, interval/3) after the last refresh.
    assert_eq!(byes[0].0 - refreshed, Duration::from_secs(120 - 32));
    assert!(
        byes[0]
            .1
            .headers
            .get("Reason")
            .unwrap()
            .contains("Session timer expired")
    );
}

#[test]
fn an_info_unanswered_when_the_call_ends_gets_481() {
    let mut p = Peer::new(SipConfig::default());
    let (_, tag) = p.answered_call();
    p.send(&info(2, &tag, "z9hG4bKinfo2", "application/dtmf", "7"));
    assert!(matches!(
        p.events()[..],
        [Event::Call(_, CallEvent::Info { .. })]
    ));
    p.send(&in_dialog("BYE", 3, &tag, "z9hG4bKbye9", ""));
    let answers: Vec<(u16, String)> = p
        .sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Response(r) if r.status > 100 => {
                Some((r.status, r.headers.get("CSeq").unwrap_or("").to_owned()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        answers[answers.len() - 2..],
        [(200, "3 BYE".to_owned()), (481, "2 INFO".to_owned())]
    );
}

#[test]
fn in_dialog_requests_unknown_dialogs_info_and_reinvite_offers() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&in_dialog("BYE", 2, "nosuchtag", "z9hG4bKbye0", ""));
    assert_eq!(p.statuses(), vec![481]);
    p.sent.clear();
    let (key, tag) = p.answered_call();
    let relay = info(
        2,
        &tag,
        "z9hG4bKinfo1",
        "application/dtmf-relay",
        "Signal=5\nDuration=160\n",
    );
    p.send(&relay);
    let events = p.events();
    let Some(Event::Call(
        k,
        CallEvent::Info {
            request,
            content_type,
            body,
        },
    )) = events.into_iter().next()
    else {
        panic!("expected INFO")
    };
    assert_eq!(
        (k, content_type.as_str(), body.as_slice()),
        (
            key,
            "application/dtmf-relay",
            b"Signal=5\r\nDuration=160\r\n".as_slice()
        )
    );
    // The INFO waits for the layer above's answer; a retransmission is absorbed.
    let answered = p.statuses().len();
    p.send(&relay);
    assert_eq!(p.statuses().len(), answered);
    assert!(p.events().is_empty());
    p.ua.answer_info(p.now, key, request, 415);
    p.drain();
    assert_eq!(p.statuses().last(), Some(&415));
    // A re-INVITE offer goes up and is answered with the layer's SDP.
    let reinvite = invite("")
        .replace(
            &format!("To: <sip:1000@{UAS}>"),
            &format!("To: <sip:1000@{UAS}>;tag={tag}"),
        )
        .replace("CSeq: 1 INVITE", "CSeq: 3 INVITE")
        .replace("z9hG4bKinv1", "z9hG4bKinv2");
    p.send(&reinvite);
    let Some(Event::Call(_, CallEvent::Offer { offer, sdp })) = p.events().into_iter().next()
    else {
        panic!()
    };
    assert_eq!(sdp, SDP);
    // A second offer while the first is unanswered: 500 with Retry-After (§14.2).
    p.send(
        &in_dialog(
            "UPDATE",
            4,
            &tag,
            "z9hG4bKupd9",
            "Content-Type: application/sdp\n",
        )
        .replace("Content-Length: 0\n\n", "Content-Length: 5\n\nv=0\r\n"),
    );
    let (_, Message::Response(r)) = p.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.status, r.headers.get("Retry-After").is_some()),
        (500, true)
    );
    p.ua.answer_offer(p.now, key, offer, Ok(b"v=0\r\no=deflect 1 2\r\n".to_vec()));
    p.drain();
    let (_, Message::Response(r)) = p.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"v=0\r\no=deflect 1 2\r\n"[..])
    );
}

#[test]
fn overload_and_shutdown_answer_503_with_retry_after() {
    let config = SipConfig {
        max_calls: 1,
        ..SipConfig::default()
    };
    let mut p = Peer::new(config);
    p.send(&invite(""));
    p.incoming();
    p.send(
        &invite("")
            .replace("Call-ID: scenario", "Call-ID: second")
            .replace("z9hG4bKinv1", "z9hG4bKinv2"),
    );
    let (_, Message::Response(r)) = p.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!((r.status, r.headers.get("Retry-After")), (503, Some("5")));

    let config = SipConfig {
        max_calls_per_second: 2,
        ..SipConfig::default()
    };
    let mut p = Peer::new(config);
    for i in 0..3 {
        p.send(
            &invite("")
                .replace("Call-ID: scenario", &format!("Call-ID: rate{i}"))
                .replace("z9hG4bKinv1", &format!("z9hG4bKrate{i}")),
        );
    }
    assert_eq!(p.statuses(), vec![100, 100, 503]);
    p.advance_to(p.now + Duration::from_millis(500)); // one token back
    p.send(
        &invite("")
            .replace("Call-ID: scenario", "Call-ID: rate9")
            .replace("z9hG4bKinv1", "z9hG4bKrate9"),
    );
    assert_eq!(p.statuses().last(), Some(&100));

    let mut p = Peer::new(SipConfig::default());
    p.ua.stop_accepting(30);
    p.send(&invite(""));
    let (_, Message::Response(r)) = p.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!((r.status, r.headers.get("Retry-After")), (503, Some("30")));
}

/// OPTIONS are answered 200 while calls are taken and 503 (with the shutdown's
/// `Retry-After`) once they are not, so a dispatcher probing with them sends calls to other
/// nodes while this one drains.
#[test]
fn options_say_a_draining_node_takes_no_calls() {
    let options = |p: &mut Peer, branch: &str| {
        p.send(&format!(
            "OPTIONS sip:probe@{UAS} SIP/2.0\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bK{branch}\n\
             From: <sip:kamailio@{UAC}>;tag=p1\nTo: <sip:probe@{UAS}>\nCall-ID: probe-{branch}\n\
             CSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"
        ));
        let (_, Message::Response(r)) = p.sent.last().unwrap() else {
            panic!("no answer to OPTIONS")
        };
        (r.status, r.headers.get("Retry-After").map(str::to_owned))
    };
    let mut p = Peer::new(SipConfig::default());
    assert_eq!(options(&mut p, "opt1"), (200, None));
    p.ua.stop_accepting(30);
    assert_eq!(options(&mut p, "opt2"), (503, Some("30".to_owned())));
}

#[test]
fn registration_answers_digest_refreshes_before_expiry_and_backs_off() {
    use deflect_config::{RegisterConfig, Secret, TrunkConfig};
    use deflect_sip::endpoint::RegistrationState;
    let trunk = TrunkConfig {
        name: "carrier".into(),
        allow: vec!["192.0.2.0/24".parse().unwrap()],
        register: Some(RegisterConfig {
            registrar: "sip:registrar.example".into(),
            aor: "sip:31201234567@registrar.example".into(),
            username: Some("31201234567".into()),
            password: Some(Secret::new("pw")),
            expires: Duration::from_secs(120),
        }),
        ..TrunkConfig::default()
    };
    let mut p = Peer::new(SipConfig {
        trunks: vec![trunk],
        ..SipConfig::default()
    });
    let start = p.now;
    p.ua.register(start, "carrier", SipTransport::Udp, addr(UAC));
    p.drain();
    let reply = |p: &mut Peer, status: u16, extra: &str| {
        let (_, req) = p.requests("REGISTER").pop().unwrap();
        let via = req.headers.get("Via").unwrap();
        let cseq = req.headers.get("CSeq").unwrap();
        let from = req.headers.get("From").unwrap();
        let call_id = req.call_id().to_owned();
        p.send(&format!(
            "SIP/2.0 {status} X\nVia: {via}\nFrom: {from}\nTo: <sip:31201234567@registrar.example>;tag=r\nCall-ID: {call_id}\nCSeq: {cseq}\n{extra}Content-Length: 0\n\n"
        ));
        req
    };
    let first = reply(
        &mut p,
        401,
        "WWW-Authenticate: Digest realm=\"carrier\", nonce=\"abc\", algorithm=MD5\nWWW-Authenticate: Digest realm=\"carrier\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\"\n",
    );
    assert_eq!(first.headers.get("Expires"), Some("120"));
    let (_, second) = p.requests("REGISTER").pop().unwrap();
    assert_eq!(second.cseq().unwrap().seq, first.cseq().unwrap().seq + 1);
    let auth = deflect_sip::auth::DigestParams::parse(second.headers.get("Authorization").unwrap())
        .unwrap();
    assert_eq!(auth.get("algorithm"), Some("SHA-256"), "SHA-256 preferred");
    let want = deflect_sip::auth::response(
        deflect_sip::auth::Algorithm::Sha256,
        "31201234567",
        "carrier",
        "pw",
        "REGISTER",
        "sip:registrar.example",
        "abc",
        Some((auth.get("nc").unwrap(), auth.get("cnonce").unwrap())),
    );
    assert_eq!(auth.get("response"), Some(want.as_str()));
    reply(
        &mut p,
        200,
        "Contact: <sip:31201234567@127.0.0.1:5060>;expires=100\n",
    );
    assert_eq!(
        p.events(),
        vec![Event::Registration {
            trunk: "carrier".into(),
            state: RegistrationState::Registered { expires: 100 }
        }]
    );
    // Refreshed before expiry: at 90 % of the 100 s granted (and ≥ 30 s early).
    let count = p.requests("REGISTER").len();
    p.advance_to(start + Duration::from_secs(69));
    assert_eq!(p.requests("REGISTER").len(), count);
    p.advance_to(start + Duration::from_secs(70));
    let (at, _) = p.requests("REGISTER")[count].clone();
    assert_eq!(at - start, Duration::from_secs(70));
    // A refusal backs off 5 s, then 10 s after a timeout.
    reply(&mut p, 403, "");
    assert_eq!(
        p.events(),
        vec![Event::Registration {
            trunk: "carrier".into(),
            state: RegistrationState::Failed {
                status: 403,
                retry_in: Duration::from_secs(5)
            }
        }]
    );
    let refused = p.now;
    let count = p.requests("REGISTER").len();
    p.advance_to(refused + Duration::from_secs(5));
    let (at, _) = p.requests("REGISTER")[count].clone();
    assert_eq!(at - refused, Duration::from_secs(5));
    p.advance_to(at + Duration::from_secs(40));
    assert_eq!(
        p.events(),
        vec![Event::Registration {
            trunk: "carrier".into(),
            state: RegistrationState::Failed {
                status: 408,
                retry_in: Duration::from_secs(10)
            }
        }]
    );
}

/// A response from the scenario's peer to a request deflect sent.
fn response_to(req: &deflect_sip::message::Request, status: u16, reason: &str) -> String {
    let h = |name: &str| req.headers.get(name).unwrap().to_owned();
    format!(
        "SIP/2.0 {status} {reason}\nVia: {}\nFrom: {}\nTo: {}\nCall-ID: {}\nCSeq: {}\nContent-Length: 0\n\n",
        h("Via"),
        h("From"),
        h("To"),
        h("Call-ID"),
        h("CSeq")
    )
}

/// deflect's re-INVITEs, one per transaction (retransmissions left out).
fn reinvites_sent(p: &Peer) -> Vec<(Instant, deflect_sip::message::Request)> {
    let mut seen = Vec::new();
    p.requests("INVITE")
        .into_iter()
        .filter(|(_, r)| {
            let cseq = r.headers.get("CSeq").unwrap().to_owned();
            let new = !seen.contains(&cseq);
            seen.push(cseq);
            new
        })
        .collect()
}

#[test]
fn glare_a_reinvite_during_our_refresh_gets_491_and_our_491_is_retried_within_2s() {
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(
        "Supported: timer\nSession-Expires: 120;refresher=uas\n",
    ));
    let key = p.incoming();
    let start = p.now;
    p.ua.accept(start, key, b"v=0\r\no=deflect 1 1\r\n".to_vec());
    p.drain();
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
    // deflect refreshes (it is the refresher) with a re-INVITE at half the interval.
    p.advance_to(start + Duration::from_secs(61));
    let refreshes = reinvites_sent(&p);
    assert_eq!(refreshes.len(), 1, "one refresh by 61 s");
    assert_eq!(refreshes[0].0 - start, Duration::from_secs(60));
    // The caller's own re-INVITE crosses it: 491 (RFC 3261 §14.2), nothing goes up.
    let crossing = invite("")
        .replace(
            &format!("To: <sip:1000@{UAS}>"),
            &format!("To: <sip:1000@{UAS}>;tag={tag}"),
        )
        .replace("CSeq: 1 INVITE", "CSeq: 2 INVITE")
        .replace("z9hG4bKinv1", "z9hG4bKinv2");
    p.send(&crossing);
    assert_eq!(p.statuses().last(), Some(&491));
    assert!(
        !p.events()
            .iter()
            .any(|e| matches!(e, Event::Call(_, CallEvent::Offer { .. }))),
        "the glaring offer is not passed up"
    );
    // The caller answers ours with 491 too: deflect ACKs it (the transaction does) and
    // tries again after a random delay under 2 s; that one succeeds and is ACKed.
    let answered_at = p.now;
    p.send(&response_to(&refreshes[0].1, 491, "Request Pending"));
    p.advance_to(answered_at + Duration::from_secs(2));
    let refreshes = reinvites_sent(&p);
    assert_eq!(refreshes.len(), 2, "the refresh is tried again");
    let retry_after = refreshes[1].0 - answered_at;
    assert!(retry_after < Duration::from_secs(2), "{retry_after:?}");
    assert_ne!(
        refreshes[0].1.headers.get("CSeq"),
        refreshes[1].1.headers.get("CSeq"),
        "a new transaction"
    );
    let acks_before = p.requests("ACK").len();
    p.send(&response_to(&refreshes[1].1, 200, "OK"));
    assert_eq!(p.requests("ACK").len(), acks_before + 1, "the 200 is ACKed");
    // The call stays up, and the next refresh comes half an interval after this one.
    let refreshed_at = p.now;
    p.advance_to(refreshed_at + Duration::from_secs(61));
    assert!(p.requests("BYE").is_empty());
    let refreshes = reinvites_sent(&p);
    assert_eq!(refreshes.len(), 3);
    assert_eq!(refreshes[2].0 - refreshed_at, Duration::from_secs(60));
}

#[test]
fn an_ended_call_leaves_no_deadline_behind() {
    let mut p = Peer::new(SipConfig::default());
    let (key, tag) = p.answered_call();
    // A minute into the call, the next thing due is deflect's session refresh (at 900 s).
    p.advance_to(p.now + Duration::from_secs(60));
    p.send(&in_dialog("BYE", 2, &tag, "z9hG4bKbye1", ""));
    assert_eq!(
        p.events(),
        vec![Event::Call(
            key,
            CallEvent::Ended(EndReason::RemoteHangup { reason: None })
        )]
    );
    // The BYE's transaction keeps Timer J (64·T1) …
    p.advance_to(p.now + Duration::from_secs(33));
    // … and then nothing is left to wake up for: not the ended call's session refresh.
    assert_eq!(p.ua.poll_timeout(), None);
}

#[test]
fn the_ack_takes_back_the_2xx_retransmission_deadline() {
    let mut p = Peer::new(SipConfig::default());
    let answered = p.now;
    p.answered_call();
    // Left: Timer L of the INVITE's transaction (64·T1); no retransmission of the 200 OK
    // is due any more (it would have been at T1).
    assert_eq!(
        p.ua.poll_timeout(),
        Some(answered + Duration::from_secs(32))
    );
}

#[test]
fn deflects_refresh_names_the_refresher_in_its_own_transactions_terms() {
    // RFC 4028 §7.4: `refresher` names a role in the transaction that carries it. deflect,
    // the refresher, sends the refresh, so it is the UAC of it: `refresher=uac` (`uas`
    // would hand the refreshing to the caller).
    let mut p = Peer::new(SipConfig::default());
    p.send(&invite(
        "Supported: timer\nSession-Expires: 120;refresher=uas\n",
    ));
    let key = p.incoming();
    let start = p.now;
    p.ua.accept(start, key, b"v=0\r\n".to_vec());
    p.drain();
    let tag = p.to_tag();
    p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
    p.advance_to(start + Duration::from_secs(61));
    let refreshes = reinvites_sent(&p);
    assert_eq!(
        refreshes[0].1.headers.get("Session-Expires"),
        Some("120;refresher=uac")
    );
}

#[test]
fn a_refresh_answered_by_deflect_as_caller_names_the_refresher_in_that_transactions_terms() {
    // deflect placed the call (the test dialler); the far end refreshes with re-INVITEs,
    // which it sends: `refresher=uac` in them, and in deflect's 200 OK to them.
    let mut p = Peer::new(SipConfig::default());
    let key = p.ua.invite(
        p.now,
        OutgoingCall {
            uri: Uri::parse(&format!("sip:1000@{UAC}")).unwrap(),
            remote: addr(UAC),
            transport: SipTransport::Udp,
            from_user: "31612345678".into(),
            sdp: SDP.to_vec(),
            route: None,
            credentials: None,
            through: None,
        },
    );
    p.drain();
    let (_, inv) = p.requests("INVITE").pop().unwrap();
    let h = |name: &str| inv.headers.get(name).unwrap().to_owned();
    p.send(&format!(
        "SIP/2.0 200 OK\nVia: {}\nFrom: {}\nTo: {};tag=far\nCall-ID: {}\nCSeq: {}\nContact: <sip:1000@{UAC}>\nSupported: timer\nRequire: timer\nSession-Expires: 120;refresher=uas\nContent-Type: application/sdp\nContent-Length: 5\n\nv=0\n",
        h("Via"),
        h("From"),
        h("To"),
        h("Call-ID"),
        h("CSeq")
    ));
    assert!(p.events().contains(&Event::Call(
        key,
        CallEvent::Answered {
            sdp: b"v=0\r\n".to_vec()
        }
    )));
    assert_eq!(p.requests("ACK").len(), 1);
    p.send(&format!(
        "INVITE sip:31612345678@{UAS} SIP/2.0\nVia: SIP/2.0/UDP {UAC};branch=z9hG4bKfar2\nFrom: {};tag=far\nTo: {}\nCall-ID: {}\nCSeq: 7 INVITE\nContact: <sip:1000@{UAC}>\nSupported: timer\nSession-Expires: 120;refresher=uac\nContent-Length: 0\n\n",
        h("To"),
        h("From"),
        h("Call-ID"),
    ));
    let (_, Message::Response(ok)) = p.sent.last().unwrap() else {
        panic!("an answer")
    };
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers.get("Session-Expires"), Some("120;refresher=uac"));
}

/// A re-INVITE in the scenario's dialog with an SDP offer and these session-timer headers.
fn reinvite_offer(tag: &str, cseq: u32, branch: &str, session: &str) -> String {
    invite(session)
        .replace(
            &format!("To: <sip:1000@{UAS}>"),
            &format!("To: <sip:1000@{UAS}>;tag={tag}"),
        )
        .replace("CSeq: 1 INVITE", &format!("CSeq: {cseq} INVITE"))
        .replace("z9hG4bKinv1", branch)
}

#[test]
fn a_session_timer_due_while_an_offer_waits_for_its_answer_neither_crosses_it_nor_ends_the_call() {
    for (refresher, who) in [("uas", "deflect"), ("uac", "the caller")] {
        let mut p = Peer::new(SipConfig::default());
        p.send(&invite(
            "Supported: timer\nSession-Expires: 120;refresher=uas\n",
        ));
        let key = p.incoming();
        let start = p.now;
        p.ua.accept(start, key, b"v=0\r\n".to_vec());
        p.drain();
        let tag = p.to_tag();
        p.send(&in_dialog("ACK", 1, &tag, "z9hG4bKack1", ""));
        // deflect's refresh is due at 60 s; the caller's re-INVITE comes just before, and the
        // layer above takes two seconds to answer its offer.
        p.advance_to(start + Duration::from_millis(59_900));
        p.send(&reinvite_offer(
            &tag,
            2,
            "z9hG4bKre2",
            &format!("Supported: timer\nSession-Expires: 120;refresher={refresher}\n"),
        ));
        let Some(Event::Call(_, CallEvent::Offer { offer, .. })) = p.events().into_iter().next()
        else {
            panic!("{who}: an offer")
        };
        p.advance_to(start + Duration::from_millis(61_900));
        assert!(
            reinvites_sent(&p).is_empty(),
            "{who}: no INVITE crosses the caller's"
        );
        assert!(p.requests("BYE").is_empty(), "{who}: the call is up");
        assert!(p.events().is_empty(), "{who}");
        p.ua.answer_offer(p.now, key, offer, Ok(b"v=0\r\n".to_vec()));
        p.drain();
        assert_eq!(p.statuses().last(), Some(&200));
        p.send(&in_dialog("ACK", 2, &tag, "z9hG4bKack2", ""));
        let refreshed = p.now;
        // The answer refreshed the session: the next refresh, or the expiry, counts from it.
        p.advance_to(refreshed + Duration::from_secs(59));
        assert!(reinvites_sent(&p).is_empty(), "{who}");
        assert!(p.requests("BYE").is_empty(), "{who}");
        p.advance_to(refreshed + Duration::from_secs(120));
        if refresher == "uas" {
            let refreshes = reinvites_sent(&p);
            assert_eq!(refreshes[0].0 - refreshed, Duration::from_secs(60), "{who}");
        } else {
            let byes = p.requests("BYE");
            assert_eq!(
                byes[0].0 - refreshed,
                Duration::from_secs(120 - 32),
                "{who}"
            );
        }
    }
}
