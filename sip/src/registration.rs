//! Registering one trunk at its carrier's registrar (RFC 3261 §10.2): a small sans-IO
//! client the endpoint drives, one per trunk with a `register` section.
//!
//! It builds each REGISTER (same Call-ID and From tag throughout, CSeq counting up,
//! §10.2.4), reads the final responses — 2xx: registered for the lifetime the registrar
//! granted (the Contact's `expires`, else `Expires`, else what was asked); 401/407: one
//! answer to the digest challenge (RFC 8760: SHA-256 first), a second challenge is a
//! failure — and says when to send the next one: the refresh before expiry, or after a
//! failure a back-off of 5 s doubling up to 5 minutes. At shutdown [`Registration::leave`]
//! asks for `Expires: 0` (RFC 3261 §10.2.2), answering a challenge as before; its final
//! response ends the registration ([`Outcome::Unregistered`]) and nothing follows. The
//! endpoint owns the transactions, the randomness (branches, tags, cnonces) and the events;
//! time is an input.
//!
//! ```
//! use deflect_config::{RegisterConfig, SipTransport};
//! use deflect_sip::message::{Message, Response};
//! use deflect_sip::registration::{Outcome, Registration};
//! use std::time::{Duration, Instant};
//!
//! let config = RegisterConfig {
//!     registrar: "sip:registrar.example".into(),
//!     aor: "sip:31201234567@registrar.example".into(),
//!     ..RegisterConfig::default()
//! };
//! let mut reg = Registration::new("carrier", config);
//! let registrar = "192.0.2.1:5060".parse().unwrap();
//! reg.start(SipTransport::Udp, registrar, "c1@deflect".into(), "t1".into());
//! let advertised = [(SipTransport::Udp, "198.51.100.7:5060".to_owned())];
//! let (_, to, request) = reg.request(&advertised, "deflect", "z9hG4bK1", None).unwrap();
//! assert_eq!(to, registrar);
//!
//! // The registrar grants 600 s: the refresh goes out at 90 % of them.
//! let mut ok = Response::new(200);
//! ok.headers.push("Expires", "600");
//! let now = Instant::now();
//! let outcome = reg.on_response(now, &request, &ok, String::new);
//! assert_eq!(outcome, Outcome::Registered { expires: 600 });
//! assert_eq!(reg.deadline(), Some(now + Duration::from_secs(540)));
//! assert!(reg.poll_due(now + Duration::from_secs(540)));
//! ```

use crate::auth;
use crate::message::headers::parse_u32;
use crate::message::{Method, NameAddr, Request, Response, Uri};
use deflect_config::{RegisterConfig, SipTransport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::warn;

/// What a response (or a transaction failure) means for the registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing yet (a provisional response).
    Pending,
    /// Registered for `expires` seconds; the refresh is due at [`Registration::deadline`].
    Registered {
        /// The lifetime the registrar granted, in seconds.
        expires: u32,
    },
    /// Challenged: send the REGISTER again with this header (`Authorization` or
    /// `Proxy-Authorization`) and value.
    Authenticate {
        /// Header name.
        header: &'static str,
        /// Its value (the digest answer; it carries no password).
        value: String,
    },
    /// Left ([`Registration::leave`]): the registrar answered the `Expires: 0` REGISTER
    /// (with `status`; 408 when it did not). Nothing follows.
    Unregistered {
        /// The final status.
        status: u16,
    },
    /// Refused or unanswered; the next attempt is due at [`Registration::deadline`].
    Failed {
        /// The final status (408 when the transaction timed out).
        status: u16,
        /// Time until the next attempt.
        retry_in: Duration,
    },
}

/// One trunk's registration. See the module documentation.
#[derive(Debug)]
pub struct Registration {
    trunk: String,
    config: RegisterConfig,
    remote: Option<(SipTransport, SocketAddr)>,
    call_id: String,
    from_tag: String,
    cseq: u32,
    failures: u32,
    next_at: Option<Instant>,
    authorized_once: bool,
    /// Leaving: the REGISTERs ask for `Expires: 0`.
    leaving: bool,
    /// The `Route` of an outbound proxy the REGISTERs go through.
    route: Option<String>,
}

impl Registration {
    /// The registration of trunk `trunk` (its name) with its `register` section; idle until
    /// [`Registration::start`].
    pub fn new(trunk: impl Into<String>, config: RegisterConfig) -> Self {
        Self {
            trunk: trunk.into(),
            config,
            remote: None,
            call_id: String::new(),
            from_tag: String::new(),
            cseq: 0,
            failures: 0,
            next_at: None,
            authorized_once: false,
            leaving: false,
            route: None,
        }
    }

    /// Sends the REGISTERs through the outbound proxy `proxy` (a SIP URI; RFC 3261 §8.1.2):
    /// they carry `Route: <proxy;lr>`, and [`Registration::start`] is given the proxy's
    /// address.
    pub fn through(mut self, proxy: Option<&str>) -> Self {
        self.route = proxy.map(loose_route);
        self
    }

    /// The trunk's name.
    pub fn trunk(&self) -> &str {
        &self.trunk
    }

    /// Where its REGISTERs go, once started.
    pub fn remote(&self) -> Option<(SipTransport, SocketAddr)> {
        self.remote
    }

    /// Starts (or restarts) registering at `remote`, the registrar's resolved address, with
    /// a fresh Call-ID and From tag.
    pub fn start(
        &mut self,
        transport: SipTransport,
        remote: SocketAddr,
        call_id: String,
        from_tag: String,
    ) {
        self.remote = Some((transport, remote));
        self.call_id = call_id;
        self.from_tag = from_tag;
        self.cseq = 0;
        self.authorized_once = false;
    }

    /// Stops registering: the next REGISTER (the caller sends it now) asks for
    /// `Expires: 0`, and its outcome is the last. Returns whether there is anything to leave
    /// (the registration was started).
    pub fn leave(&mut self) -> bool {
        if self.remote.is_none() || self.leaving {
            return false;
        }
        self.leaving = true;
        self.authorized_once = false;
        self.next_at = None;
        true
    }

    /// The next REGISTER and where to send it, with `authorization` (a header name and
    /// value) when answering a challenge; `advertised` gives the host deflect puts in Via and
    /// Contact per transport. `None` before [`Registration::start`], or when the registrar or
    /// AOR is not a SIP URI (logged). Clears the pending deadline.
    pub fn request(
        &mut self,
        advertised: &[(SipTransport, String)],
        user_agent: &str,
        branch: &str,
        authorization: Option<(&str, String)>,
    ) -> Option<(SipTransport, SocketAddr, Request)> {
        let (transport, remote) = self.remote?;
        let (Ok(registrar), Ok(aor)) = (
            Uri::parse(&self.config.registrar),
            Uri::parse(&self.config.aor),
        ) else {
            warn!(trunk = %self.trunk, "registrar or aor is not a SIP URI");
            return None;
        };
        self.cseq += 1;
        self.next_at = None;
        let host = advertised
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, h)| h.as_str())
            .unwrap_or_default();
        let via_transport = transport.via_name();
        let contact_param = transport.uri_param();
        let mut req = Request::new(Method::Register, registrar);
        req.headers.push(
            "Via",
            format!("SIP/2.0/{via_transport} {host};branch={branch};rport"),
        );
        req.headers.push("Max-Forwards", "70");
        if let Some(route) = &self.route {
            req.headers.push("Route", route.clone());
        }
        req.headers
            .push("From", format!("<{aor}>;tag={}", self.from_tag));
        req.headers.push("To", format!("<{aor}>"));
        req.headers.push("Call-ID", self.call_id.clone());
        req.headers.push("CSeq", format!("{} REGISTER", self.cseq));
        let user = aor.user.clone().unwrap_or_default();
        req.headers
            .push("Contact", format!("<sip:{user}@{host}{contact_param}>"));
        req.headers.push("Expires", self.asked().to_string());
        req.headers.push("User-Agent", user_agent.to_owned());
        if let Some((name, value)) = authorization {
            req.headers.push(name, value);
        }
        Some((transport, remote, req))
    }

    /// A response to `request`, the REGISTER it answers. `cnonce` is asked for only when a
    /// challenge is answered.
    pub fn on_response(
        &mut self,
        now: Instant,
        request: &Request,
        resp: &Response,
        cnonce: impl FnOnce() -> String,
    ) -> Outcome {
        let status = resp.status;
        if status < 200 {
            return Outcome::Pending;
        }
        if self.leaving && (200..300).contains(&status) {
            self.next_at = None;
            return Outcome::Unregistered { status };
        }
        if (200..300).contains(&status) {
            let granted = resp
                .headers
                .list("Contact")
                .filter_map(|c| NameAddr::parse(c).ok())
                .find_map(|c| c.params.get("expires").and_then(parse_u32))
                .or_else(|| resp.headers.get("Expires").and_then(parse_u32))
                .unwrap_or(self.asked())
                .max(1);
            self.failures = 0;
            self.authorized_once = false;
            self.next_at = Some(now + refresh_after(granted));
            return Outcome::Registered { expires: granted };
        }
        if matches!(status, 401 | 407)
            && !self.authorized_once
            && let Some((header, value)) = self.answer_challenge(request, resp, cnonce)
        {
            self.authorized_once = true;
            return Outcome::Authenticate { header, value };
        }
        self.fail(now, status)
    }

    /// The REGISTER transaction failed with `status` (408: no answer): back off.
    pub fn fail(&mut self, now: Instant, status: u16) -> Outcome {
        if self.leaving {
            self.next_at = None;
            return Outcome::Unregistered { status };
        }
        self.failures += 1;
        self.authorized_once = false;
        let retry_in = backoff(self.failures);
        self.next_at = Some(now + retry_in);
        Outcome::Failed { status, retry_in }
    }

    /// When the next REGISTER is due (a refresh or a retry).
    pub fn deadline(&self) -> Option<Instant> {
        self.next_at
    }

    /// Whether the next REGISTER is due at `now`; if so the deadline is consumed and the
    /// caller sends [`Registration::request`].
    pub fn poll_due(&mut self, now: Instant) -> bool {
        match self.next_at {
            Some(at) if at <= now => {
                self.next_at = None;
                true
            }
            _ => false,
        }
    }

    fn asked(&self) -> u32 {
        match self.leaving {
            true => 0,
            false => u32::try_from(self.config.expires.as_secs()).unwrap_or(u32::MAX),
        }
    }

    fn answer_challenge(
        &self,
        request: &Request,
        resp: &Response,
        cnonce: impl FnOnce() -> String,
    ) -> Option<(&'static str, String)> {
        let password = self
            .config
            .password
            .as_ref()
            .map(|p| p.expose().to_owned())
            .unwrap_or_default();
        let (user, uri) = (digest_username(&self.config), request.uri.to_string());
        auth::answer_challenges(resp, &user, &password, "REGISTER", &uri, &cnonce())
    }
}

/// The digest user name of a registration: `username`, else the user part of the `aor`.
pub fn digest_username(config: &RegisterConfig) -> String {
    (config.username.clone())
        .or_else(|| Uri::parse(&config.aor).ok().and_then(|u| u.user))
        .unwrap_or_default()
}

/// The `Route` header value that sends a request through the outbound proxy `proxy` (a SIP
/// URI), as a loose router: `<proxy;lr>`.
pub fn loose_route(proxy: &str) -> String {
    let loose = proxy
        .split(';')
        .skip(1)
        .any(|x| x.eq_ignore_ascii_case("lr"));
    if loose {
        format!("<{proxy}>")
    } else {
        format!("<{proxy};lr>")
    }
}

/// When to refresh a registration granted for `granted` seconds: at the earlier of 90 % of
/// the lifetime and 30 s before it ends, but not before half of it (and after at least 1 s).
fn refresh_after(granted: u32) -> Duration {
    let g = u64::from(granted);
    Duration::from_secs((g * 9 / 10).min(g.saturating_sub(30)).max(g / 2).max(1))
}

/// The wait after the `failures`-th failure in a row: 5 s doubling up to 5 minutes.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs((5u64 << failures.saturating_sub(1).min(6)).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deflect_config::Secret;

    const REGISTRAR: &str = "192.0.2.1:5060";

    fn registration(transport: SipTransport) -> Registration {
        let config = RegisterConfig {
            registrar: "sip:registrar.example".into(),
            aor: "sip:3120@registrar.example".into(),
            username: None,
            password: Some(Secret::new("hunter2")),
            expires: Duration::from_secs(300),
        };
        let mut reg = Registration::new("carrier", config);
        reg.start(
            transport,
            REGISTRAR.parse().unwrap(),
            "c1".into(),
            "t1".into(),
        );
        reg
    }

    fn advertised() -> Vec<(SipTransport, String)> {
        vec![
            (SipTransport::Udp, "198.51.100.7:5060".into()),
            (SipTransport::Tcp, "198.51.100.7:5061".into()),
        ]
    }

    fn request(reg: &mut Registration) -> Request {
        reg.request(&advertised(), "deflect-test", "z9hG4bKb", None)
            .expect("a REGISTER")
            .2
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        let mut resp = Response::new(status);
        for (name, value) in headers {
            resp.headers.push(name, *value);
        }
        resp
    }

    const CHALLENGE: &str = r#"Digest realm="carrier", nonce="abc", algorithm=MD5, qop="auth""#;

    #[test]
    fn through_an_outbound_proxy_the_register_carries_a_loose_route_to_it() {
        let direct = request(&mut registration(SipTransport::Udp));
        assert_eq!(direct.headers.get("Route"), None);
        for (proxy, route) in [
            ("sip:proxy.example:5070", "<sip:proxy.example:5070;lr>"),
            ("sip:proxy.example;lr", "<sip:proxy.example;lr>"),
        ] {
            let mut reg = registration(SipTransport::Udp).through(Some(proxy));
            let req = request(&mut reg);
            assert_eq!(req.headers.get("Route"), Some(route));
            assert_eq!(
                req.uri.to_string(),
                "sip:registrar.example",
                "still the registrar"
            );
        }
    }

    #[test]
    fn leaving_asks_for_expires_zero_answers_a_challenge_and_ends() {
        let mut idle = Registration::new("carrier", RegisterConfig::default());
        assert!(!idle.leave(), "nothing to leave before the start");
        let mut reg = registration(SipTransport::Udp);
        let now = Instant::now();
        let first = request(&mut reg);
        reg.on_response(
            now,
            &first,
            &response(200, &[("Expires", "600")]),
            String::new,
        );
        assert!(reg.leave());
        assert!(!reg.leave(), "once");
        assert_eq!(reg.deadline(), None, "no refresh");
        let bye = request(&mut reg);
        assert_eq!(bye.headers.get("Expires"), Some("0"));
        let challenge = response(401, &[("WWW-Authenticate", CHALLENGE)]);
        let answered = reg.on_response(now, &bye, &challenge, || "c1".into());
        assert!(
            matches!(answered, Outcome::Authenticate { .. }),
            "{answered:?}"
        );
        let done = reg.on_response(now, &bye, &response(200, &[]), String::new);
        assert_eq!(done, Outcome::Unregistered { status: 200 });
        assert_eq!(reg.deadline(), None);
        // A registrar that does not answer ends it too, without a retry.
        let mut reg = registration(SipTransport::Udp);
        let first = request(&mut reg);
        reg.on_response(now, &first, &response(200, &[]), String::new);
        reg.leave();
        assert_eq!(reg.fail(now, 408), Outcome::Unregistered { status: 408 });
        assert_eq!(reg.deadline(), None);
    }

    #[test]
    fn nothing_to_send_before_start() {
        let mut reg = Registration::new("carrier", RegisterConfig::default());
        assert!(reg.request(&advertised(), "ua", "z9hG4bKb", None).is_none());
    }

    #[test]
    fn a_bad_registrar_uri_sends_nothing() {
        let mut reg = registration(SipTransport::Udp);
        reg.config.registrar = "not a uri".into();
        assert!(reg.request(&advertised(), "ua", "z9hG4bKb", None).is_none());
    }

    #[test]
    fn register_keeps_call_id_and_tag_and_counts_cseq() {
        let mut reg = registration(SipTransport::Tcp);
        let first = request(&mut reg);
        let second = request(&mut reg);
        assert_eq!(first.method, Method::Register);
        assert_eq!(first.uri.to_string(), "sip:registrar.example");
        assert_eq!(first.headers.get("CSeq"), Some("1 REGISTER"));
        assert_eq!(second.headers.get("CSeq"), Some("2 REGISTER"));
        assert_eq!(second.call_id(), "c1");
        assert_eq!(
            second.headers.get("From"),
            Some("<sip:3120@registrar.example>;tag=t1")
        );
        assert_eq!(
            second.headers.get("To"),
            Some("<sip:3120@registrar.example>")
        );
        assert_eq!(
            second.headers.get("Contact"),
            Some("<sip:3120@198.51.100.7:5061;transport=tcp>")
        );
        assert_eq!(
            second.headers.get("Via"),
            Some("SIP/2.0/TCP 198.51.100.7:5061;branch=z9hG4bKb;rport")
        );
        assert_eq!(second.headers.get("Expires"), Some("300"));
        // A restart is a new registration: CSeq starts again.
        reg.start(
            SipTransport::Udp,
            REGISTRAR.parse().unwrap(),
            "c2".into(),
            "t2".into(),
        );
        assert_eq!(request(&mut reg).headers.get("CSeq"), Some("1 REGISTER"));
    }

    #[test]
    fn granted_lifetime_from_contact_then_expires_then_asked() {
        let now = Instant::now();
        let cases: [(&[(&str, &str)], u32); 3] = [
            (
                &[
                    ("Contact", "<sip:3120@198.51.100.7>;expires=120"),
                    ("Expires", "900"),
                ],
                120,
            ),
            (&[("Expires", "900")], 900),
            (&[], 300),
        ];
        for (headers, expires) in cases {
            let mut reg = registration(SipTransport::Udp);
            let req = request(&mut reg);
            let outcome = reg.on_response(now, &req, &response(200, headers), || {
                unreachable!("no challenge")
            });
            assert_eq!(outcome, Outcome::Registered { expires });
        }
    }

    #[test]
    fn refresh_comes_before_expiry() {
        assert_eq!(refresh_after(3600), Duration::from_secs(3240)); // 90 %
        assert_eq!(refresh_after(120), Duration::from_secs(90)); // 30 s before
        assert_eq!(refresh_after(40), Duration::from_secs(20)); // not before half
        assert_eq!(refresh_after(1), Duration::from_secs(1));
    }

    #[test]
    fn provisional_responses_change_nothing() {
        let now = Instant::now();
        let mut reg = registration(SipTransport::Udp);
        let req = request(&mut reg);
        let outcome = reg.on_response(now, &req, &response(100, &[]), String::new);
        assert_eq!(outcome, Outcome::Pending);
        assert_eq!(reg.deadline(), None);
    }

    #[test]
    fn one_challenge_is_answered_a_second_is_a_failure() {
        let now = Instant::now();
        let mut reg = registration(SipTransport::Udp);
        let req = request(&mut reg);
        let challenge = response(401, &[("WWW-Authenticate", CHALLENGE)]);
        let Outcome::Authenticate { header, value } =
            reg.on_response(now, &req, &challenge, || "cn".into())
        else {
            panic!("the challenge is answered");
        };
        assert_eq!(header, "Authorization");
        assert!(value.starts_with("Digest username=\"3120\""), "{value}");
        assert!(value.contains("uri=\"sip:registrar.example\""), "{value}");
        assert!(!value.contains("hunter2"), "the password never leaves");
        assert!(!format!("{reg:?}").contains("hunter2"), "nor is it logged");
        let again = reg.on_response(now, &req, &challenge, || "cn".into());
        assert_eq!(
            again,
            Outcome::Failed {
                status: 401,
                retry_in: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn proxy_challenge_is_answered_in_proxy_authorization() {
        let now = Instant::now();
        let mut reg = registration(SipTransport::Udp);
        let req = request(&mut reg);
        let challenge = response(407, &[("Proxy-Authenticate", CHALLENGE)]);
        let outcome = reg.on_response(now, &req, &challenge, || "cn".into());
        assert!(matches!(
            outcome,
            Outcome::Authenticate {
                header: "Proxy-Authorization",
                ..
            }
        ));
    }

    #[test]
    fn an_unanswerable_challenge_is_a_failure() {
        let now = Instant::now();
        let mut reg = registration(SipTransport::Udp);
        let req = request(&mut reg);
        let challenge = response(401, &[("WWW-Authenticate", "Basic realm=\"x\"")]);
        let outcome = reg.on_response(now, &req, &challenge, || "cn".into());
        assert!(matches!(outcome, Outcome::Failed { status: 401, .. }));
    }

    #[test]
    fn failures_back_off_doubling_to_five_minutes_and_success_resets() {
        let now = Instant::now();
        let mut reg = registration(SipTransport::Udp);
        let waits: Vec<u64> = (0..8)
            .map(|_| match reg.fail(now, 408) {
                Outcome::Failed { retry_in, .. } => retry_in.as_secs(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        let req = request(&mut reg);
        reg.on_response(now, &req, &response(200, &[]), String::new);
        assert_eq!(
            reg.fail(now, 503),
            Outcome::Failed {
                status: 503,
                retry_in: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn the_deadline_is_consumed_when_due_and_cleared_by_a_request() {
        let now = Instant::now();
        let mut reg = registration(SipTransport::Udp);
        reg.fail(now, 500);
        let due = now + Duration::from_secs(5);
        assert_eq!(reg.deadline(), Some(due));
        assert!(!reg.poll_due(due - Duration::from_millis(1)));
        assert!(reg.poll_due(due));
        assert_eq!(reg.deadline(), None);
        assert!(!reg.poll_due(due));
        reg.fail(now, 500);
        request(&mut reg);
        assert_eq!(
            reg.deadline(),
            None,
            "a REGISTER on its way has no retry pending"
        );
    }
}
