//! SIP messages (RFC 3261 §7, §25): parsing from the wire and serializing.
//!
//! A message is a start line, an ordered list of headers (names normalised from compact
//! forms, values unfolded) and a body. Headers deflect acts on have typed views in
//! [`headers`]; everything else passes through untouched. [`Message::parse`] checks what a
//! UAS must rely on — request line, `Via`, `From`, `To`, `Call-ID`, `CSeq` (matching the
//! method), `Max-Forwards`, `Content-Length`, `Contact` — so that the layers above see only
//! well-formed requests, and a malformed one still yields enough to answer 400
//! ([`Malformed::answerable`]).
//!
//! Stream transports use [`frame`] to find where one message ends (`Content-Length`).
//!
//! | module | what |
//! |---|---|
//! | `parse` | bytes → [`Message`]: header section, compact names, the checks above, the body |
//! | `frame` | where a message ends in a stream |
//! | [`headers`], [`uri`], [`syntax`] | typed views of the headers deflect acts on, URIs, the §25 lexical rules |
//! | this module | the types, serializing ([`Request::to_bytes`], [`Response::to_bytes`]), reason phrases |

mod frame;
pub mod headers;
mod parse;
pub mod syntax;
pub mod uri;

pub use frame::frame;
pub use headers::{CSeq, NameAddr, Refresher, SessionExpires, Via};
pub use syntax::{Param, Params};
pub use uri::{Scheme, Uri};

use std::fmt;

/// Largest message accepted on any transport.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Why bytes are not a usable SIP message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text does not follow the grammar.
    #[error("malformed: {0}")]
    Syntax(&'static str),
    /// A request for a SIP version other than 2.0 (answered 505).
    #[error("SIP version not supported")]
    Version,
    /// A stream holds only part of a message so far.
    #[error("incomplete message")]
    Incomplete,
}

impl ParseError {
    pub(crate) fn syntax(what: &'static str) -> Self {
        Self::Syntax(what)
    }
}

/// A parse failure together with what is needed to answer it: RFC 3261 §8.2 lets a UAS
/// answer a request with 400 whenever the response can be routed back, that is when the
/// request's `Via` headers are intact (the endpoint checks they parse) — even if `From`,
/// `To`, `Call-ID` or `CSeq` are missing (the response then carries what there is) or a
/// value is not UTF-8.
#[derive(Clone, Debug)]
pub struct Malformed {
    /// What is wrong.
    pub error: ParseError,
    /// The request's headers (invalid UTF-8 replaced), when it can be answered.
    pub answerable: Option<Headers>,
    /// The request line's method, when the message is a request.
    pub method: Option<Method>,
}

/// A SIP method.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// OPTIONS
    Options,
    /// REGISTER
    Register,
    /// INFO (RFC 6086)
    Info,
    /// UPDATE (RFC 3311)
    Update,
    /// PRACK (RFC 3262)
    Prack,
    /// REFER (RFC 3515)
    Refer,
    /// NOTIFY (RFC 6665)
    Notify,
    /// Any other method token, as written.
    Other(String),
}

impl Method {
    /// The method's name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Options => "OPTIONS",
            Self::Register => "REGISTER",
            Self::Info => "INFO",
            Self::Update => "UPDATE",
            Self::Prack => "PRACK",
            Self::Refer => "REFER",
            Self::Notify => "NOTIFY",
            Self::Other(s) => s,
        }
    }
}

impl From<&str> for Method {
    /// Methods are case-sensitive (RFC 3261 §7.1).
    fn from(s: &str) -> Self {
        match s {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "OPTIONS" => Self::Options,
            "REGISTER" => Self::Register,
            "INFO" => Self::Info,
            "UPDATE" => Self::Update,
            "PRACK" => Self::Prack,
            "REFER" => Self::Refer,
            "NOTIFY" => Self::Notify,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header: canonical name (compact forms expanded) and unfolded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Name; known headers in their canonical spelling.
    pub name: String,
    /// Value with folding replaced by single spaces and outer white space trimmed.
    pub value: String,
}

/// Headers in order of appearance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every comma-separated element of every `name` header, in order.
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(syntax::split_commas)
            .filter(|v| !v.is_empty())
    }

    /// Whether a list header (`Supported`, `Require`, `Allow`…) holds `token`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|v| v.eq_ignore_ascii_case(token))
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: name.to_owned(),
            value: value.into(),
        });
    }

    /// Removes every `name` header.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Replaces every `name` header by one with `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(i) = self
            .0
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
        {
            self.0[i].value = value;
            let mut n = 0;
            self.0.retain(|h| {
                !h.name.eq_ignore_ascii_case(name) || {
                    n += 1;
                    n == 1
                }
            });
        } else {
            self.push(name, value);
        }
    }
}

/// A SIP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code (100–699).
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Parses one message. `datagram` says whether `bytes` is a whole UDP datagram (a
    /// missing `Content-Length` then means "the rest", and trailing octets beyond it are
    /// ignored) or one framed stream message.
    pub fn parse(bytes: &[u8], datagram: bool) -> Result<Self, Malformed> {
        parse::message(bytes, datagram)
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }
}

impl Request {
    /// A request with no headers or body yet.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// Serializes with an exact `Content-Length`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        out.extend_from_slice(format!("{} {} SIP/2.0\r\n", self.method, self.uri).as_bytes());
        write_headers(&mut out, &self.headers, &self.body);
        out
    }

    /// Call-ID.
    pub fn call_id(&self) -> &str {
        self.headers.get("Call-ID").unwrap_or("")
    }

    /// CSeq (checked by the parser for received requests).
    pub fn cseq(&self) -> Option<CSeq> {
        CSeq::parse(self.headers.get("CSeq")?).ok()
    }

    /// The top `Via`.
    pub fn top_via(&self) -> Option<Via> {
        Via::parse(self.headers.list("Via").next()?).ok()
    }

    /// From.
    pub fn from(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.get("From")?).ok()
    }

    /// To.
    pub fn to(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.get("To")?).ok()
    }
}

impl Response {
    /// A response with no headers or body yet.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: reason_phrase(status).to_owned(),
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// Serializes with an exact `Content-Length`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body.len());
        out.extend_from_slice(format!("SIP/2.0 {} {}\r\n", self.status, self.reason).as_bytes());
        write_headers(&mut out, &self.headers, &self.body);
        out
    }

    /// CSeq.
    pub fn cseq(&self) -> Option<CSeq> {
        CSeq::parse(self.headers.get("CSeq")?).ok()
    }

    /// To.
    pub fn to(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.get("To")?).ok()
    }

    /// The top `Via`.
    pub fn top_via(&self) -> Option<Via> {
        Via::parse(self.headers.list("Via").next()?).ok()
    }
}

fn write_headers(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    for h in &headers.0 {
        if h.name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

/// The standard reason phrase of `status`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        422 => "Session Interval Too Small",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => match status / 100 {
            1 => "Progress",
            2 => "OK",
            3 => "Redirect",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
    }
}
