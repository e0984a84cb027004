//! Stream framing (RFC 3261 §18.3): where one message ends in a TCP byte stream, by its
//! `Content-Length`, which streams must carry.

use super::{MAX_MESSAGE_SIZE, ParseError};

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

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:u@example.com SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: sip:u@example.com\r\ni: x@y\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";

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
}
