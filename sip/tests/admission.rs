//! Digest trunks under attack, on a virtual clock: guessing is banned after a few failures
//! (per source and per user name), a captured `Authorization` cannot be replayed, expired
//! nonces are re-challenged with `stale=true`, sources outside a trunk's `challenge_from`
//! never see a challenge, and allow-listed sources are never banned (RFC 7616 §3.3, §5).

#![allow(clippy::unwrap_used)]

use deflect_config::{SipConfig, SipTransport, TrunkConfig, UnauthorizedAction};
use deflect_sip::auth;
use deflect_sip::endpoint::{Endpoint, EndpointConfig, Event};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const LOCAL: &str = "127.0.0.1:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn digest_trunk(challenge_from: &[&str]) -> TrunkConfig {
    TrunkConfig {
        name: "carrier".into(),
        username: Some("trunk".into()),
        password: Some(deflect_config::Secret::new("s3cret")),
        realm: Some("deflect.test".into()),
        challenge_from: challenge_from.iter().map(|s| s.parse().unwrap()).collect(),
        ..TrunkConfig::default()
    }
}

fn endpoint(trunks: Vec<TrunkConfig>, now: Instant) -> Endpoint {
    endpoint_with(
        SipConfig {
            trunks,
            ..SipConfig::default()
        },
        now,
    )
}

fn endpoint_with(config: SipConfig, now: Instant) -> Endpoint {
    let config = EndpointConfig::new(&config, &[(SipTransport::Udp, addr(LOCAL))], 7);
    Endpoint::new(config, now)
}

/// A peer: sends requests from one address and reads what comes back.
struct Peer {
    from: SocketAddr,
    n: u32,
}

impl Peer {
    fn new(from: &str) -> Self {
        Self {
            from: addr(from),
            n: 0,
        }
    }

    fn request(&mut self, method: &str, authorization: Option<&str>) -> Vec<u8> {
        self.n += 1;
        let n = self.n;
        let from = self.from;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let (body, ctype) = if method == "INVITE" {
            (
                "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
                "Content-Type: application/sdp\r\n",
            )
        } else {
            ("", "")
        };
        format!(
            "{method} sip:1000@{LOCAL} SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{n}x\r\n\
             From: <sip:c@{from}>;tag=t{n}\r\nTo: <sip:1000@{LOCAL}>\r\nCall-ID: call{n}\r\n\
             CSeq: 1 {method}\r\nContact: <sip:c@{from}>\r\nMax-Forwards: 70\r\n{auth}{ctype}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Sends `bytes`; returns every message sent back and whether a call was offered.
    fn send(&self, ua: &mut Endpoint, now: Instant, bytes: &[u8]) -> (Vec<String>, bool) {
        ua.handle_message(now, SipTransport::Udp, self.from, bytes);
        let mut out = Vec::new();
        while let Some(t) = ua.poll_transmit() {
            assert_eq!(t.remote, self.from);
            out.push(String::from_utf8(t.data).unwrap());
        }
        let call = std::iter::from_fn(|| ua.poll_event()).any(|e| matches!(e, Event::Incoming(_)));
        (out, call)
    }

    /// A request without credentials; the final response.
    fn ask(&mut self, ua: &mut Endpoint, now: Instant, method: &str) -> String {
        let req = self.request(method, None);
        last(self.send(ua, now, &req).0)
    }

    /// Answers `challenge` (a 401) with `password`; returns the Authorization value.
    fn answer(&self, challenge: &str, method: &str, password: &str) -> String {
        let www = header(challenge, "WWW-Authenticate").unwrap();
        auth::authorize(
            &www,
            "trunk",
            password,
            method,
            &format!("sip:1000@{LOCAL}"),
            "cn",
        )
        .unwrap()
    }

    /// Challenge, then an answer with `password`: the final response to the answer.
    fn try_password(
        &mut self,
        ua: &mut Endpoint,
        now: Instant,
        method: &str,
        password: &str,
    ) -> (String, bool) {
        let challenge = self.ask(ua, now, method);
        assert_eq!(status(&challenge), 401, "{challenge}");
        let a = self.answer(&challenge, method, password);
        let req = self.request(method, Some(&a));
        let (out, call) = self.send(ua, now, &req);
        (last(out), call)
    }
}

fn last(out: Vec<String>) -> String {
    out.into_iter()
        .rfind(|m| !m.starts_with("SIP/2.0 100"))
        .unwrap_or_default()
}

fn status(resp: &str) -> u16 {
    resp.get(8..11).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn header(msg: &str, name: &str) -> Option<String> {
    msg.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::to_owned)
}

#[test]
fn a_source_outside_challenge_from_gets_403_and_never_the_realm() {
    let now = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["192.0.2.0/24"])], now);
    for method in ["INVITE", "OPTIONS", "REGISTER"] {
        let resp = Peer::new("198.51.100.1:5070").ask(&mut ua, now, method);
        assert_eq!(status(&resp), 403, "{resp}");
        assert!(!resp.contains("deflect.test"), "{resp}");
        assert!(!resp.contains("WWW-Authenticate"), "{resp}");
    }
    // From the trunk's own network: a challenge.
    let resp = Peer::new("192.0.2.9:5070").ask(&mut ua, now, "OPTIONS");
    assert_eq!(status(&resp), 401, "{resp}");
    assert!(resp.contains("realm=\"deflect.test\""), "{resp}");
}

#[test]
fn guessing_is_banned_at_the_fifth_wrong_password_from_a_source() {
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["any"])], t0);
    let mut attacker = Peer::new("192.0.2.66:5070");
    for guess in 0..5 {
        let (resp, _) = attacker.try_password(&mut ua, t0, "OPTIONS", &format!("guess{guess}"));
        assert_eq!(status(&resp), 403, "guess {guess}: {resp}");
    }
    // Banned: no more challenges, and the right password is not even looked at.
    let resp = attacker.ask(&mut ua, t0, "OPTIONS");
    assert_eq!(status(&resp), 403, "{resp}");
    assert!(!resp.contains("WWW-Authenticate"), "{resp}");
    let forged = "Digest username=\"trunk\", realm=\"deflect.test\", nonce=\"x\", uri=\"sip:1000@127.0.0.1:5060\", response=\"0\", algorithm=SHA-256";
    let req = attacker.request("OPTIONS", Some(forged));
    assert_eq!(status(&last(attacker.send(&mut ua, t0, &req).0)), 403);
    // Other sources are unaffected, and the right password works for them.
    let mut trunk = Peer::new("203.0.113.5:5070");
    let (resp, _) = trunk.try_password(&mut ua, t0, "OPTIONS", "s3cret");
    assert_eq!(status(&resp), 200, "{resp}");
    // The ban ends after ban_time (10 minutes); its end is a deadline of the endpoint.
    let end = t0 + Duration::from_secs(600);
    assert!(ua.poll_timeout().is_some_and(|t| t <= end));
    ua.handle_timeout(end);
    let (resp, _) = attacker.try_password(&mut ua, end, "OPTIONS", "s3cret");
    assert_eq!(status(&resp), 200, "{resp}");
}

#[test]
fn guesses_on_one_nonce_are_counted_like_any_other() {
    // svcrack --reusenonce: one challenge, then every guess on its nonce.
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["any"])], t0);
    let mut attacker = Peer::new("192.0.2.66:5070");
    let challenge = attacker.ask(&mut ua, t0, "OPTIONS");
    for guess in 0..5 {
        let a = attacker.answer(&challenge, "OPTIONS", &format!("guess{guess}"));
        let req = attacker.request("OPTIONS", Some(&a));
        assert_eq!(status(&last(attacker.send(&mut ua, t0, &req).0)), 403);
    }
    let right = attacker.answer(&challenge, "OPTIONS", "s3cret");
    let req = attacker.request("OPTIONS", Some(&right));
    let resp = last(attacker.send(&mut ua, t0, &req).0);
    assert_eq!(status(&resp), 403, "banned before the right one: {resp}");
}

#[test]
fn a_banned_source_hears_nothing_when_unauthorized_is_drop() {
    let t0 = Instant::now();
    let mut ua = endpoint_with(
        SipConfig {
            trunks: vec![digest_trunk(&["any"])],
            unauthorized: UnauthorizedAction::Drop,
            ..SipConfig::default()
        },
        t0,
    );
    let mut attacker = Peer::new("192.0.2.66:5070");
    for guess in 0..5 {
        let (resp, _) = attacker.try_password(&mut ua, t0, "OPTIONS", &format!("guess{guess}"));
        assert_eq!(resp, "", "guess {guess}: a wrong password is dropped too");
    }
    let req = attacker.request("OPTIONS", None);
    assert!(attacker.send(&mut ua, t0, &req).0.is_empty());
}

#[test]
fn a_replayed_authorization_is_refused_on_a_new_transaction() {
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["any"])], t0);
    let mut trunk = Peer::new("192.0.2.10:5070");
    let challenge = trunk.ask(&mut ua, t0, "INVITE");
    let a = trunk.answer(&challenge, "INVITE", "s3cret");
    let req = trunk.request("INVITE", Some(&a));
    let (_, call) = trunk.send(&mut ua, t0, &req);
    assert!(call, "the real answer is a call");
    // The same Authorization (same nonce, same nc) from an eavesdropper, a second later.
    let mut eavesdropper = Peer::new("198.51.100.66:5070");
    let replay = eavesdropper.request("INVITE", Some(&a));
    let (out, call) = eavesdropper.send(&mut ua, t0 + Duration::from_secs(1), &replay);
    assert!(!call, "a replay is no call");
    let resp = last(out);
    assert_eq!(status(&resp), 401, "{resp}");
    assert!(resp.contains("stale=true"), "{resp}");
    // And from the trunk's own address too.
    let replay = trunk.request("INVITE", Some(&a));
    let (_, call) = trunk.send(&mut ua, t0 + Duration::from_secs(1), &replay);
    assert!(!call);
}

#[test]
fn a_nonce_can_be_reused_with_growing_counts_within_its_lifetime() {
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["any"])], t0);
    let mut trunk = Peer::new("192.0.2.10:5070");
    let challenge = trunk.ask(&mut ua, t0, "OPTIONS");
    let www = header(&challenge, "WWW-Authenticate").unwrap();
    let p = auth::DigestParams::parse(&www).unwrap();
    let nonce = p.get("nonce").unwrap();
    let uri = format!("sip:1000@{LOCAL}");
    let with_nc = |nc: &str| {
        let r = auth::response(
            auth::Algorithm::Sha256,
            "trunk",
            "deflect.test",
            "s3cret",
            "OPTIONS",
            &uri,
            nonce,
            Some((nc, "cn")),
        );
        format!(
            "Digest username=\"trunk\", realm=\"deflect.test\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{r}\", algorithm=SHA-256, qop=auth, nc={nc}, cnonce=\"cn\""
        )
    };
    for (nc, at, want) in [
        ("00000001", 0, 200),
        ("00000002", 10, 200),
        ("00000002", 11, 401),
        // Past the 30 s lifetime: a new challenge, stale=true.
        ("00000003", 31, 401),
    ] {
        let req = trunk.request("OPTIONS", Some(&with_nc(nc)));
        let resp = last(trunk.send(&mut ua, t0 + Duration::from_secs(at), &req).0);
        assert_eq!(status(&resp), want, "nc {nc} at {at}s: {resp}");
        if want == 401 {
            assert!(resp.contains("stale=true"), "{resp}");
        }
    }
}

#[test]
fn an_expired_nonce_is_stale_only_with_the_right_password() {
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["any"])], t0);
    let mut peer = Peer::new("192.0.2.10:5070");
    let challenge = peer.ask(&mut ua, t0, "OPTIONS");
    let later = t0 + Duration::from_secs(31);
    let right = peer.answer(&challenge, "OPTIONS", "s3cret");
    let req = peer.request("OPTIONS", Some(&right));
    let resp = last(peer.send(&mut ua, later, &req).0);
    assert_eq!(status(&resp), 401, "{resp}");
    assert!(resp.contains("stale=true"), "{resp}");
    // A wrong password on an expired nonce is a failure like any other (no oracle): the
    // fifth bans.
    for i in 0..5 {
        let wrong = peer.answer(&challenge, "OPTIONS", &format!("guess{i}"));
        let req = peer.request("OPTIONS", Some(&wrong));
        let resp = last(peer.send(&mut ua, later, &req).0);
        assert_eq!(status(&resp), 403, "{i}: {resp}");
    }
    let resp = peer.ask(&mut ua, later, "OPTIONS");
    assert_eq!(status(&resp), 403, "banned, no challenge: {resp}");
}

#[test]
fn a_password_sprayed_from_many_sources_bans_the_user_name_but_not_the_trunk() {
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["any"])], t0);
    let mut trunk = Peer::new("192.0.2.10:5070");
    let (resp, _) = trunk.try_password(&mut ua, t0, "OPTIONS", "s3cret");
    assert_eq!(status(&resp), 200);
    // 20 sources, two guesses each: under the per-source limit, over the user name's.
    for i in 0..20 {
        let mut bot = Peer::new(&format!("198.51.100.{}:5070", i + 1));
        for g in 0..2 {
            let (resp, _) = bot.try_password(&mut ua, t0, "OPTIONS", &format!("g{i}-{g}"));
            if i == 19 && g == 1 {
                break;
            }
            assert_eq!(status(&resp), 403, "bot {i} guess {g}: {resp}");
        }
    }
    // A new source is refused even with the right password...
    let mut newcomer = Peer::new("203.0.113.77:5070");
    let challenge = newcomer.ask(&mut ua, t0, "OPTIONS");
    let a = newcomer.answer(&challenge, "OPTIONS", "s3cret");
    let req = newcomer.request("OPTIONS", Some(&a));
    assert_eq!(status(&last(newcomer.send(&mut ua, t0, &req).0)), 403);
    // ...the trunk, which authenticated before, is not.
    let (resp, _) = trunk.try_password(&mut ua, t0, "OPTIONS", "s3cret");
    assert_eq!(status(&resp), 200, "{resp}");
}

#[test]
fn allow_listed_sources_are_never_banned() {
    let t0 = Instant::now();
    let allowed = TrunkConfig {
        name: "office".into(),
        allow: vec!["192.0.2.0/24".parse().unwrap()],
        ..TrunkConfig::default()
    };
    let mut ua = endpoint(vec![allowed, digest_trunk(&["any"])], t0);
    // Failed credentials carried by allow-listed requests (a spoofed or misconfigured
    // sender) do not count: the allow-list decides first.
    let mut office = Peer::new("192.0.2.7:5070");
    let bad = "Digest username=\"trunk\", realm=\"deflect.test\", nonce=\"x\", uri=\"sip:1000@127.0.0.1:5060\", response=\"0\", algorithm=SHA-256";
    for i in 0..10 {
        let req = office.request("OPTIONS", Some(bad));
        let resp = last(office.send(&mut ua, t0, &req).0);
        assert_eq!(status(&resp), 200, "{i}: {resp}");
    }
}

#[test]
fn an_algorithm_that_was_not_offered_is_refused() {
    let t0 = Instant::now();
    let mut ua = endpoint_with(
        SipConfig {
            trunks: vec![digest_trunk(&["any"])],
            digest_algorithms: vec!["SHA-256".into()],
            ..SipConfig::default()
        },
        t0,
    );
    let mut peer = Peer::new("192.0.2.10:5070");
    let challenge = peer.ask(&mut ua, t0, "OPTIONS");
    let md5 = header(&challenge, "WWW-Authenticate")
        .unwrap()
        .replace("SHA-256", "MD5");
    let a = auth::authorize(
        &md5,
        "trunk",
        "s3cret",
        "OPTIONS",
        &format!("sip:1000@{LOCAL}"),
        "c",
    )
    .unwrap();
    let req = peer.request("OPTIONS", Some(&a));
    assert_eq!(status(&last(peer.send(&mut ua, t0, &req).0)), 403);
}

#[test]
fn refusals_and_challenges_keep_no_state() {
    // RFC 3261 §8.2.7: unauthenticated requests are answered statelessly, so a flood of
    // them cannot pile up transactions (each would hold timers for 32 s).
    let t0 = Instant::now();
    let mut ua = endpoint(vec![digest_trunk(&["192.0.2.0/24"])], t0);
    let mut outsider = Peer::new("198.51.100.1:5070");
    let mut insider = Peer::new("192.0.2.9:5070");
    for _ in 0..500 {
        assert_eq!(status(&outsider.ask(&mut ua, t0, "INVITE")), 403);
        assert_eq!(status(&insider.ask(&mut ua, t0, "INVITE")), 401);
    }
    assert_eq!(ua.poll_timeout(), None, "no transaction, no timer");
    // A retransmission is answered again, with a new challenge.
    let req = insider.request("OPTIONS", None);
    let first = last(insider.send(&mut ua, t0, &req).0);
    let again = last(insider.send(&mut ua, t0, &req).0);
    assert_eq!((status(&first), status(&again)), (401, 401));
    assert_ne!(
        header(&first, "WWW-Authenticate"),
        header(&again, "WWW-Authenticate")
    );
}
