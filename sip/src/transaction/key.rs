//! Which transaction a message belongs to (RFC 3261 §17.1.3, §17.2.3): typed keys, so a
//! server transaction's key cannot be looked up among client transactions or built from
//! the wrong fields.

use crate::message::{Method, Request, Response, Via};

/// The RFC 3261 magic cookie that starts every branch of an RFC 3261 client.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A server transaction's key (§17.2.3): the top Via's branch and sent-by and the method
/// (an ACK matches its INVITE), or, for RFC 2543 peers whose branch lacks the magic cookie,
/// the fields §17.2.3 falls back to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerKey {
    /// An RFC 3261 branch.
    Branch {
        /// The branch parameter.
        branch: String,
        /// The Via's `host:port` (port 5060 when absent).
        sent_by: String,
        /// The request's method; INVITE for an ACK.
        method: Method,
    },
    /// An RFC 2543 request: Request-URI, To tag… as §17.2.3 lists (the From tag, Call-ID
    /// and CSeq number stand for the whole From, Call-ID and CSeq).
    Rfc2543 {
        /// Request-URI.
        request_uri: String,
        /// From tag.
        from_tag: String,
        /// Call-ID.
        call_id: String,
        /// CSeq number.
        cseq: u32,
        /// The Via's `host:port`.
        sent_by: String,
        /// The request's method; INVITE for an ACK.
        method: Method,
    },
}

impl ServerKey {
    /// The key of the transaction `req` (whose top Via is `via`) belongs to.
    pub fn of(req: &Request, via: &Via) -> Self {
        let method = match req.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(5060));
        match via.branch() {
            Some(b) if b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len() => {
                Self::Branch {
                    branch: b.to_owned(),
                    sent_by,
                    method,
                }
            }
            _ => Self::Rfc2543 {
                request_uri: req.uri.to_string(),
                from_tag: req
                    .from()
                    .and_then(|f| f.tag().map(str::to_owned))
                    .unwrap_or_default(),
                call_id: req.call_id().to_owned(),
                cseq: req.cseq().map_or(0, |c| c.seq),
                sent_by,
                method,
            },
        }
    }

    /// The same request's transaction for another method: a CANCEL's INVITE (§9.2).
    pub fn with_method(&self, method: Method) -> Self {
        let mut key = self.clone();
        match &mut key {
            Self::Branch { method: m, .. } | Self::Rfc2543 { method: m, .. } => *m = method,
        }
        key
    }
}

/// A client transaction's key (§17.1.3): the branch deflect put in its Via and the method
/// (a CANCEL shares its INVITE's branch, §9.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey {
    /// The branch.
    pub branch: String,
    /// The request's method.
    pub method: Method,
}

impl ClientKey {
    /// The key of a request deflect sends (`None` without a branch).
    pub fn of_request(req: &Request) -> Option<Self> {
        let via = req.top_via()?;
        Some(Self {
            branch: via.branch()?.to_owned(),
            method: req.method.clone(),
        })
    }

    /// The key of the transaction a response answers (`None` without a branch or CSeq).
    pub fn of_response(resp: &Response) -> Option<Self> {
        let via = resp.top_via()?;
        Some(Self {
            branch: via.branch()?.to_owned(),
            method: resp.cseq()?.method,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::message::Message;

    fn request(text: &str) -> Request {
        let text = text.replace('\n', "\r\n");
        match Message::parse(text.as_bytes(), true).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => panic!("a request"),
        }
    }

    fn invite(method: &str, branch: &str, cseq: u32) -> Request {
        request(&format!(
            "{method} sip:a@h SIP/2.0\nVia: SIP/2.0/UDP p.example;branch={branch}\nFrom: <sip:c@p>;tag=f\nTo: <sip:a@h>\nCall-ID: c1\nCSeq: {cseq} {method}\nContent-Length: 0\n\n"
        ))
    }

    fn key(req: &Request) -> ServerKey {
        ServerKey::of(req, &req.top_via().unwrap())
    }

    #[test]
    fn an_ack_matches_its_invite_and_a_cancel_does_not() {
        let inv = key(&invite("INVITE", "z9hG4bK1", 1));
        assert_eq!(key(&invite("ACK", "z9hG4bK1", 1)), inv);
        let cancel = key(&invite("CANCEL", "z9hG4bK1", 1));
        assert_ne!(cancel, inv);
        assert_eq!(cancel.with_method(Method::Invite), inv);
        assert_ne!(key(&invite("INVITE", "z9hG4bK2", 1)), inv);
        let ServerKey::Branch { sent_by, .. } = inv else {
            panic!("an RFC 3261 branch")
        };
        assert_eq!(sent_by, "p.example:5060");
    }

    #[test]
    fn rfc_2543_requests_are_told_apart_by_cseq_and_from_tag() {
        let a = key(&invite("INVITE", "old", 1));
        assert!(matches!(a, ServerKey::Rfc2543 { .. }));
        assert_eq!(key(&invite("ACK", "old", 1)), a);
        assert_ne!(key(&invite("INVITE", "old", 2)), a);
        // The bare cookie is no RFC 3261 branch either.
        assert!(matches!(
            key(&invite("INVITE", "z9hG4bK", 1)),
            ServerKey::Rfc2543 { .. }
        ));
    }

    #[test]
    fn a_response_finds_its_client_transaction_by_branch_and_method() {
        let req = invite("INVITE", "z9hG4bKc1", 1);
        let resp = "SIP/2.0 487 Request Terminated\r\nVia: SIP/2.0/UDP p.example;branch=z9hG4bKc1\r\nFrom: <sip:c@p>;tag=f\r\nTo: <sip:a@h>;tag=t\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let Message::Response(resp) = Message::parse(resp.as_bytes(), true).unwrap() else {
            panic!("a response")
        };
        assert_eq!(ClientKey::of_response(&resp), ClientKey::of_request(&req));
        let cancel = invite("CANCEL", "z9hG4bKc1", 1);
        assert_ne!(ClientKey::of_request(&cancel), ClientKey::of_request(&req));
    }
}
