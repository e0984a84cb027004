//! Parsing (RFC 3261 §7, §20, §25): bytes into a [`Message`], with compact header names
//! expanded, folded lines unfolded and the checks a UAS relies on; a malformed request
//! keeps what is needed to answer it 400 ([`Malformed::answerable`]).

use super::frame::find;
use super::{
    CSeq, Header, Headers, MAX_MESSAGE_SIZE, Malformed, Message, Method, NameAddr, ParseError,
    Request, Response, Uri, Via, headers, syntax,
};

/// Parses one message (see [`Message::parse`]); a failure carries what is needed to answer.
pub(super) fn message(bytes: &[u8], datagram: bool) -> Result<Message, Malformed> {
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
