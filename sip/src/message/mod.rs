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

pub mod headers;
pub mod syntax;
pub mod uri;

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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

/// Compact header forms (RFC 3261 §7.3.3 and the extensions that define one).
fn expand_compact(name: &str) -> Option<&'static str> {
    if name.len() != 1 {
        return None;
    }
    Some(match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'o' => "Event",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'u' => "Allow-Events",
        _ => return None,
    })
}

const CANONICAL: &[&str] = &[
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Route",
    "Record-Route",
    "Supported",
    "Require",
    "Proxy-Require",
    "Allow",
    "Accept",
    "Session-Expires",
    "Min-SE",
    "Authorization",
    "WWW-Authenticate",
    "Expires",
    "Date",
    "P-Asserted-Identity",
    "Reason",
    "Retry-After",
];

fn canonical_name(name: &str) -> String {
    if let Some(c) = expand_compact(name) {
        return c.to_owned();
    }
    CANONICAL
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |c| (*c).to_owned())
}

/// Headers that may appear at most once (RFC 3261 §20; RFC 4475 §3.3.8, §3.3.9).
const SINGLE: &[&str] = &[
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
];

/// Finds the end of one message at the start of `buf` for stream transports: `Ok(None)`
/// while incomplete, `Ok(Some(len))` once `len` bytes hold a whole message (leading CRLF
/// keep-alives are part of the count and are skipped by the parser).
pub fn frame(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let start = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let rest = &buf[start..];
    let Some(end) = find(rest, b"\r\n\r\n") else {
        if rest.len() > MAX_MESSAGE_SIZE {
            return Err(ParseError::syntax("header section too large"));
        }
        return Ok(None);
    };
    let head = &rest[..end];
    let mut length = None;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| ParseError::syntax("invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(ParseError::syntax("conflicting Content-Length headers"));
            }
            length = Some(n);
        }
    }
    let length = length.ok_or(ParseError::syntax("Content-Length is required on streams"))?;
    // Checked: a Content-Length near the largest integer must not wrap to a short frame.
    let total = (start + end + 4)
        .checked_add(length)
        .filter(|t| *t <= MAX_MESSAGE_SIZE)
        .ok_or(ParseError::syntax("message too large"))?;
    Ok((buf.len() >= total).then_some(total))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Message {
    /// Parses one message. `datagram` says whether `bytes` is a whole UDP datagram (a
    /// missing `Content-Length` then means "the rest", and trailing octets beyond it are
    /// ignored) or one framed stream message.
    pub fn parse(bytes: &[u8], datagram: bool) -> Result<Self, Malformed> {
        parse_inner(bytes, datagram).map_err(|error| {
            // Rare: collect the headers again rather than copy them on every parse.
            let (method, answerable) = answerable(bytes);
            Malformed {
                error,
                answerable,
                method,
            }
        })
    }

    /// Call-ID.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }
}

/// The method and headers of a malformed message when it may be answerable: a request line
/// with a method token, and a `Via` (whether each parses decides, with the error: a 505
/// answers a Via of another SIP version too).
fn answerable(bytes: &[u8]) -> (Option<Method>, Option<Headers>) {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return (None, None);
    }
    let (head, _) = split_head(bytes);
    let Some(head) = head else {
        return (None, None);
    };
    let head = String::from_utf8_lossy(head);
    let start = head.split("\r\n").next().unwrap_or("");
    if start.starts_with("SIP/") {
        return (None, None); // a response is never answered
    }
    let method = start
        .split(' ')
        .next()
        .filter(|m| syntax::is_token(m))
        .map(Method::from);
    let Some(method) = method else {
        return (None, None);
    };
    let headers = parse_headers(&head)
        .ok()
        .map(|(_, h)| h)
        .filter(|h| h.list("Via").next().is_some());
    (Some(method), headers)
}

/// The header section (after leading CRLFs, up to the blank line) and what follows it.
fn split_head(bytes: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let skip = bytes
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let bytes = &bytes[skip..];
    match find(bytes, b"\r\n\r\n") {
        Some(end) => (Some(&bytes[..end]), &bytes[end + 4..]),
        None => (None, bytes),
    }
}

/// Splits a message into its start line, unfolded headers and the bytes after the blank line.
fn parse_head(bytes: &[u8]) -> Result<(&str, Headers, &[u8]), ParseError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(ParseError::syntax("message too large"));
    }
    let (head, body_in) = split_head(bytes);
    let head = head.ok_or(ParseError::Incomplete)?;
    let head =
        std::str::from_utf8(head).map_err(|_| ParseError::syntax("header section is not UTF-8"))?;
    let (start, headers) = parse_headers(head)?;
    Ok((start, headers, body_in))
}

/// Splits a header section into its start line and unfolded headers.
fn parse_headers(head: &str) -> Result<(&str, Headers), ParseError> {
    let (start, rest) = head.split_once("\r\n").unwrap_or((head, ""));
    let mut headers = Headers(Vec::with_capacity(16));
    for line in rest.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers
                .0
                .last_mut()
                .ok_or(ParseError::syntax("continuation line before any header"))?;
            last.value.push(' ');
            last.value.push_str(line.trim());
            continue;
        }
        let colon = line
            .find(':')
            .ok_or(ParseError::syntax("header line without a colon"))?;
        let name = line[..colon].trim_end_matches([' ', '\t']);
        if !syntax::is_token(name) {
            return Err(ParseError::syntax("invalid header name"));
        }
        headers.0.push(Header {
            name: canonical_name(name),
            value: line[colon + 1..].trim().to_owned(),
        });
    }
    for h in &mut headers.0 {
        let trimmed = h.value.trim();
        if trimmed.len() != h.value.len() {
            h.value = trimmed.to_owned();
        }
    }
    Ok((start, headers))
}

fn parse_inner(bytes: &[u8], datagram: bool) -> Result<Message, ParseError> {
    let (start, headers, body_in) = parse_head(bytes)?;
    // Start line.
    if let Some(status_line) = start.strip_prefix("SIP/") {
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let code = parts.next().unwrap_or("");
        let reason = parts.next().unwrap_or("");
        if version != "2.0" {
            return Err(ParseError::Version);
        }
        let status = (code.len() == 3)
            .then(|| code.parse::<u16>().ok())
            .flatten()
            .filter(|c| (100..=699).contains(c))
            .ok_or(ParseError::syntax("invalid status code"))?;
        check_common(&headers)?;
        let body = take_body(&headers, body_in, datagram)?;
        return Ok(Message::Response(Response {
            status,
            reason: reason.to_owned(),
            headers,
            body,
        }));
    }
    let parts: Vec<&str> = start.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(ParseError::syntax(
            "request line is not METHOD SP URI SP SIP/2.0",
        ));
    };
    if !syntax::is_token(method) {
        return Err(ParseError::syntax("invalid method"));
    }
    if uri.is_empty() {
        return Err(ParseError::syntax("empty Request-URI"));
    }
    match version.strip_prefix("SIP/") {
        Some("2.0") => {}
        Some(v) if v.contains('.') => return Err(ParseError::Version),
        _ => return Err(ParseError::syntax("invalid SIP version")),
    }
    let uri = Uri::parse(uri)?;
    if uri.is_sip() && uri.headers.is_some() {
        return Err(ParseError::syntax("Request-URI carries headers"));
    }
    let method = Method::from(method);
    check_common(&headers)?;
    let cseq = CSeq::parse(headers.get("CSeq").unwrap_or(""))?;
    if cseq.method != method {
        return Err(ParseError::syntax("CSeq method does not match the request"));
    }
    if let Some(mf) = headers.get("Max-Forwards") {
        headers::parse_u32(mf)
            .filter(|n| *n <= 255)
            .ok_or(ParseError::syntax("invalid Max-Forwards"))?;
    }
    for c in headers.list("Contact") {
        if c != "*" {
            NameAddr::parse(c)?;
        }
    }
    if let Some(e) = headers.get("Expires") {
        headers::parse_u32(e).ok_or(ParseError::syntax("invalid Expires"))?;
    }
    if let Some(d) = headers.get("Date")
        && !d.ends_with(" GMT")
    {
        return Err(ParseError::syntax("Date must be in GMT"));
    }
    let body = take_body(&headers, body_in, datagram)?;
    Ok(Message::Request(Request {
        method,
        uri,
        headers,
        body,
    }))
}

/// Checks the headers every message needs, whichever direction.
fn check_common(headers: &Headers) -> Result<(), ParseError> {
    for name in SINGLE {
        if headers.get_all(name).nth(1).is_some() {
            return Err(ParseError::syntax("a single-valued header is repeated"));
        }
    }
    for (name, missing) in [
        ("Via", "Via is missing"),
        ("From", "From is missing"),
        ("To", "To is missing"),
        ("Call-ID", "Call-ID is missing"),
        ("CSeq", "CSeq is missing"),
    ] {
        if headers.get(name).is_none_or(str::is_empty) {
            return Err(ParseError::syntax(missing));
        }
    }
    for v in headers.list("Via") {
        Via::parse(v)?;
    }
    if headers
        .get_all("Via")
        .any(|v| v.trim().is_empty() || v.trim_end().ends_with(','))
    {
        return Err(ParseError::syntax("empty Via value"));
    }
    NameAddr::parse(headers.get("From").unwrap_or(""))?;
    NameAddr::parse(headers.get("To").unwrap_or(""))?;
    let call_id = headers.get("Call-ID").unwrap_or("");
    if call_id.contains([' ', '\t']) {
        return Err(ParseError::syntax("invalid Call-ID"));
    }
    if let Some(cl) = headers.get("Content-Length") {
        headers::parse_u32(cl).ok_or(ParseError::syntax("invalid Content-Length"))?;
    }
    CSeq::parse(headers.get("CSeq").unwrap_or(""))?;
    Ok(())
}

fn take_body(headers: &Headers, body: &[u8], datagram: bool) -> Result<Vec<u8>, ParseError> {
    match headers.get("Content-Length").and_then(headers::parse_u32) {
        Some(n) => {
            let n = n as usize;
            if body.len() < n {
                return Err(if datagram {
                    ParseError::syntax("body shorter than Content-Length")
                } else {
                    ParseError::Incomplete
                });
            }
            Ok(body[..n].to_vec())
        }
        None if datagram => Ok(body.to_vec()),
        None => Err(ParseError::syntax("Content-Length is required on streams")),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:u@example.com SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: sip:u@example.com\r\ni: x@y\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";

    #[test]
    fn compact_names_expand_and_round_trip() {
        let Message::Request(r) = Message::parse(OPTIONS, true).unwrap() else {
            panic!("a request")
        };
        assert_eq!(r.call_id(), "x@y");
        assert_eq!(r.from().unwrap().tag(), Some("1"));
        let again = Message::parse(&r.to_bytes(), false).unwrap();
        assert_eq!(again, Message::Request(r));
    }

    #[test]
    fn framing_on_streams() {
        let mut two = OPTIONS.to_vec();
        two.extend_from_slice(OPTIONS);
        assert_eq!(frame(&two).unwrap(), Some(OPTIONS.len()));
        assert_eq!(frame(&OPTIONS[..40]).unwrap(), None);
        assert_eq!(frame(b"\r\n\r\n").unwrap(), None);
        assert!(frame(b"INVITE sip:a@b SIP/2.0\r\nl: -1\r\n\r\n").is_err());
    }

    #[test]
    fn a_content_length_near_the_largest_integer_is_too_large_not_an_overflow() {
        // Found by fuzzing: the frame's end overflowed (a panic in debug builds; wrapped to a
        // short, wrong frame in release builds, desynchronising the stream).
        let head = b"REGISTER sip:a@b SIP/2.0\r\nL:00000018446744073709551615\r\n\r\n";
        assert_eq!(
            frame(head),
            Err(ParseError::syntax("message too large")),
            "{}",
            String::from_utf8_lossy(head)
        );
        let just_over = format!("OPTIONS sip:a@b SIP/2.0\r\nl: {}\r\n\r\n", usize::MAX - 20);
        assert!(frame(just_over.as_bytes()).is_err());
    }

    #[test]
    fn a_malformed_request_with_routing_headers_is_answerable() {
        let bad = b"OPTIONS sip:u@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:u@x>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n";
        let err = Message::parse(bad, true).unwrap_err();
        assert!(err.answerable.is_some());
        assert_eq!(err.method, Some(Method::Options));
        let err = Message::parse(b"garbage\r\n\r\n", true).unwrap_err();
        assert!(err.answerable.is_none());
    }

    #[test]
    fn an_intact_via_is_enough_to_answer() {
        let full = "INVITE sip:u@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:u@x>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n";
        for (missing, error) in [
            ("Call-ID: x\r\n", "Call-ID is missing"),
            ("CSeq: 1 INVITE\r\n", "CSeq is missing"),
            ("From: <sip:a@b>;tag=1\r\n", "From is missing"),
            ("To: <sip:u@x>\r\n", "To is missing"),
        ] {
            let bad = full.replace(missing, "");
            let err = Message::parse(bad.as_bytes(), true).unwrap_err();
            assert_eq!(err.error, ParseError::Syntax(error));
            let headers = err.answerable.expect(error);
            assert_eq!(headers.list("Via").count(), 1);
            assert_eq!(err.method, Some(Method::Invite));
        }
        // A display name that is not UTF-8: answerable, the bad octets replaced.
        let mut bad = full.as_bytes().to_vec();
        let at = find(&bad, b"<sip:a@b>").unwrap();
        bad.splice(at..at, b"\"\xff\xfe\" ".iter().copied());
        let err = Message::parse(&bad, true).unwrap_err();
        assert_eq!(err.error, ParseError::Syntax("header section is not UTF-8"));
        let headers = err.answerable.unwrap();
        assert_eq!(
            headers.get("From"),
            Some("\"\u{fffd}\u{fffd}\" <sip:a@b>;tag=1")
        );
        // Without Via nothing can reach the sender.
        let err = Message::parse(
            full.replace("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "")
                .as_bytes(),
            true,
        )
        .unwrap_err();
        assert!(err.answerable.is_none());
        // Responses are never answered.
        let err = Message::parse(
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
            true,
        )
        .unwrap_err();
        assert!(err.answerable.is_none() && err.method.is_none());
    }
}
