//! Server transactions from the endpoint's side (RFC 3261 §17.2, §8.2.6): building
//! responses that copy the request's routing headers (RFC 3581 `received`/`rport`), opening
//! a transaction and sending through it, stateless answers, and the transactions' timers.

use super::{CallKey, Endpoint, TimerRef, count_response};
use crate::message::{Headers, Method, NameAddr, Request, Response, Via};
use crate::transaction::{Action, ServerKey, ServerTransaction};
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::Instant;

/// Where a request came from, and so where its responses go (RFC 3261 §18.2.2; the Via's
/// `received`/`rport` say it back to the sender, RFC 3581).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Origin {
    pub(super) transport: SipTransport,
    pub(super) remote: SocketAddr,
}

pub(super) struct ServerEntry {
    pub(super) tx: ServerTransaction,
    pub(super) origin: Origin,
    pub(super) call: Option<CallKey>,
}

impl Endpoint {
    pub(super) fn respond_stateless(&mut self, origin: Origin, mut resp: Response) {
        resp.headers.push("Server", self.config.user_agent.clone());
        count_response(resp.status);
        self.send(origin.transport, origin.remote, resp.to_bytes());
    }

    /// Answers `req` with `status` and `extra` headers in a new server transaction.
    pub(super) fn reply(
        &mut self,
        now: Instant,
        origin: Origin,
        key: ServerKey,
        req: &Request,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        let mut resp = self.response(req, status, origin.remote, None);
        for (name, value) in extra {
            resp.headers.push(name, *value);
        }
        let invite = req.method == Method::Invite;
        self.respond_new(now, origin, key, None, invite, resp);
    }

    /// Builds a response copying the routing headers (with `received`/`rport`).
    pub(super) fn response(
        &self,
        req: &Request,
        status: u16,
        remote: SocketAddr,
        to_tag: Option<&str>,
    ) -> Response {
        let mut resp = Response::new(status);
        copy_routing(&req.headers, &mut resp.headers, remote);
        if let Some(tag) = to_tag
            && let Some(to) = resp.headers.0.iter_mut().find(|h| h.name == "To")
            && !has_tag(&to.value)
        {
            to.value = format!("{};tag={tag}", to.value);
        }
        resp.headers.push("Server", self.config.user_agent.clone());
        resp
    }

    /// Opens the server transaction for `req` under `key` (RFC 3261 §17.2), tied to `call`
    /// when it belongs to one. An INVITE gets 100 Trying at once (§17.2.1): it stops the
    /// caller's retransmissions while the layer above decides. The final response goes out
    /// later through [`Endpoint::respond`].
    pub(super) fn open_server(
        &mut self,
        now: Instant,
        origin: Origin,
        key: &ServerKey,
        req: &Request,
        call: Option<CallKey>,
    ) {
        let invite = req.method == Method::Invite;
        self.insert_server(origin, key, invite, call);
        if invite {
            let trying = self.response(req, 100, origin.remote, None);
            self.respond(now, key, trying);
        }
    }

    /// Opens a server transaction and sends its first (final) response in it.
    pub(super) fn respond_new(
        &mut self,
        now: Instant,
        origin: Origin,
        key: ServerKey,
        call: Option<CallKey>,
        invite: bool,
        resp: Response,
    ) {
        self.insert_server(origin, &key, invite, call);
        self.respond(now, &key, resp);
    }

    fn insert_server(
        &mut self,
        origin: Origin,
        key: &ServerKey,
        invite: bool,
        call: Option<CallKey>,
    ) {
        let reliable = origin.transport.is_stream();
        let tx = ServerTransaction::new(invite, reliable, self.config.timers);
        let entry = ServerEntry { tx, origin, call };
        self.server.insert(key.clone(), entry);
    }

    /// Sends a response through an existing server transaction.
    pub(super) fn respond(&mut self, now: Instant, key: &ServerKey, resp: Response) {
        let Some(entry) = self.server.get_mut(key) else {
            return;
        };
        count_response(resp.status);
        let actions = entry.tx.send_response(now, resp.status, resp.to_bytes());
        let at = entry.tx.next_deadline();
        self.apply_server(key.clone(), actions);
        self.arm(at, TimerRef::Server(key.clone()));
    }

    pub(super) fn apply_server(&mut self, key: ServerKey, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send(bytes) => {
                    if let Some(e) = self.server.get(&key) {
                        let to = e.origin;
                        self.send(to.transport, to.remote, bytes);
                    }
                }
                Action::Terminate => {
                    self.server.remove(&key);
                    self.timers.stop(&TimerRef::Server(key.clone()));
                }
                Action::TimedOut | Action::PassUp => {}
            }
        }
    }

    pub(super) fn server_timer(&mut self, now: Instant, k: ServerKey) {
        let Some(entry) = self.server.get_mut(&k) else {
            return;
        };
        if entry.tx.next_deadline().is_none_or(|t| t > now) {
            let at = entry.tx.next_deadline();
            self.arm(at, TimerRef::Server(k));
            return;
        }
        let actions = entry.tx.on_timer(now);
        let at = entry.tx.next_deadline();
        self.apply_server(k.clone(), actions);
        if self.server.contains_key(&k) {
            self.arm(at, TimerRef::Server(k));
        }
    }
}

pub(super) fn has_tag(value: &str) -> bool {
    NameAddr::parse(value).is_ok_and(|n| n.tag().is_some())
}

/// Copies Via (adding `received` and filling `rport`, RFC 3581), From, To, Call-ID and CSeq.
pub(super) fn copy_routing(from: &Headers, to: &mut Headers, remote: SocketAddr) {
    let mut first = true;
    for v in from.list("Via") {
        if first {
            first = false;
            if let Ok(mut via) = Via::parse(v) {
                let ip = remote.ip().to_string();
                if via.params.has("rport") {
                    via.params.set("rport", Some(remote.port().to_string()));
                    via.params.set("received", Some(ip));
                } else if via.host.trim_matches(['[', ']']) != ip {
                    via.params.set("received", Some(ip));
                }
                to.push("Via", via.to_string());
                continue;
            }
        }
        to.push("Via", v.to_owned());
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = from.get(name) {
            to.push(name, v.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Peer, invite, request};
    use std::time::Duration;

    #[test]
    fn an_invite_gets_100_trying_at_once_and_its_retransmission_gets_it_again() {
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi1"));
        assert_eq!(p.statuses(), [100]);
        p.incoming();
        p.send(&invite("z9hG4bKi1"));
        assert_eq!(p.statuses(), [100]);
        assert!(p.events().is_empty(), "a retransmission is no second call");
    }

    #[test]
    fn a_retransmitted_request_gets_the_same_final_answer_until_timer_j() {
        let mut p = Peer::new();
        let options = request("OPTIONS", None, 1, "z9hG4bKo1", "");
        p.send(&options);
        let first = p.responses();
        assert_eq!(first.len(), 1);
        p.send(&options);
        assert_eq!(p.responses(), first, "answered from the transaction");
        // Timer J (64·T1 over UDP) ends the transaction and leaves no deadline behind.
        assert!(p.ua.poll_timeout().is_some());
        p.advance(Duration::from_secs(32));
        assert_eq!(p.ua.poll_timeout(), None);
    }

    #[test]
    fn responses_tell_the_sender_its_source_address_and_port() {
        let mut p = Peer::new();
        p.send(&request("OPTIONS", None, 1, "z9hG4bKo1", ""));
        let resp = p.responses().pop().expect("a response");
        let via = resp.headers.get("Via").expect("a Via");
        assert!(via.contains("rport=5070"), "{via}");
        assert!(via.contains("received=127.0.0.2"), "{via}");
        assert_eq!(resp.headers.get("Call-ID"), Some("c1"));
        assert_eq!(resp.headers.get("CSeq"), Some("1 OPTIONS"));
    }
}
