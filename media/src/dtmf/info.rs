//! DTMF in SIP INFO bodies: `application/dtmf-relay` (`Signal=5\r\nDuration=160`) and
//! `application/dtmf` (`5`), as carriers send them (no RFC defines either; both are the
//! de-facto formats of Cisco and others). A pure parser: the SIP layer hands over the
//! Content-Type and body and answers 200, or 415/400 on the error this returns.

use super::Digit;
use std::time::Duration;

/// A digit read from an INFO body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoDigit {
    /// The key.
    pub digit: Digit,
    /// `Duration=` in milliseconds, when given.
    pub duration: Option<Duration>,
}

/// Why an INFO body carries no digit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    /// Not a DTMF content type (SIP 415 Unsupported Media Type).
    #[error("content type {0:?} is not application/dtmf-relay or application/dtmf")]
    UnsupportedContentType(String),
    /// A DTMF content type whose body has no readable key (SIP 400).
    #[error("INFO body has no DTMF key: {0:?}")]
    NoDigit(String),
}

impl InfoError {
    /// The SIP status to answer the INFO with: 415 or 400.
    pub fn sip_status(&self) -> u16 {
        match self {
            Self::UnsupportedContentType(_) => 415,
            Self::NoDigit(_) => 400,
        }
    }
}

/// Reads the digit of an INFO request with this `Content-Type` (parameters allowed) and body.
pub fn parse_info(content_type: &str, body: &[u8]) -> Result<InfoDigit, InfoError> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let text = String::from_utf8_lossy(body);
    let shown = || text.chars().take(80).collect::<String>();
    match media_type.as_str() {
        "application/dtmf-relay" | "application/dtmf" => {}
        _ => return Err(InfoError::UnsupportedContentType(media_type)),
    }
    // Either form may arrive under either type: `key=value` lines, or the bare key.
    let mut digit = None;
    let mut duration = None;
    if text.contains('=') {
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "signal" => digit = key_value(value),
                "duration" => duration = value.parse::<u64>().ok().map(Duration::from_millis),
                _ => {}
            }
        }
    } else {
        let bare = text.trim();
        let mut chars = bare.chars();
        digit = match (chars.next(), chars.next()) {
            (Some(c), None) => Digit::from_char(c),
            _ => None,
        };
    }
    digit
        .map(|digit| InfoDigit { digit, duration })
        .ok_or_else(|| InfoError::NoDigit(shown()))
}

/// A key as INFO bodies write it: the character, or the event code 10/11 for `*`/`#`.
fn key_value(v: &str) -> Option<Digit> {
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Digit::from_char(c),
        _ => v.parse::<u8>().ok().and_then(Digit::from_event_code),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(ct: &str, body: &str) -> Result<char, InfoError> {
        parse_info(ct, body.as_bytes()).map(|d| d.digit.as_char())
    }

    #[test]
    fn dtmf_relay_bodies() {
        let d = parse_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n").unwrap();
        assert_eq!(d.digit.as_char(), '5');
        assert_eq!(d.duration, Some(Duration::from_millis(160)));
        assert_eq!(
            key(
                "Application/DTMF-Relay; charset=utf-8",
                "signal= #\nduration=100"
            ),
            Ok('#')
        );
        assert_eq!(key("application/dtmf-relay", "Signal=*"), Ok('*'));
        assert_eq!(
            key("application/dtmf-relay", "Signal=11\r\nDuration=250"),
            Ok('#')
        );
        assert_eq!(key("application/dtmf-relay", "Signal=10"), Ok('*'));
        assert_eq!(key("application/dtmf-relay", "Signal=a"), Ok('A'));
    }

    #[test]
    fn dtmf_bodies() {
        assert_eq!(key("application/dtmf", "5"), Ok('5'));
        assert_eq!(key("application/dtmf", " 9\r\n"), Ok('9'));
        assert_eq!(key("application/dtmf", "#"), Ok('#'));
        assert_eq!(key("application/dtmf", "Signal=3"), Ok('3'));
    }

    #[test]
    fn bad_bodies_and_types_are_errors() {
        assert!(matches!(
            key("application/sdp", "5"),
            Err(InfoError::UnsupportedContentType(t)) if t == "application/sdp"
        ));
        assert!(matches!(
            key("application/dtmf-relay", "Duration=100"),
            Err(InfoError::NoDigit(_))
        ));
        assert!(matches!(
            key("application/dtmf-relay", "Signal=X"),
            Err(InfoError::NoDigit(_))
        ));
        assert!(matches!(
            key("application/dtmf", ""),
            Err(InfoError::NoDigit(_))
        ));
        assert!(matches!(
            key("application/dtmf", "12"),
            Err(InfoError::NoDigit(_))
        ));
        assert!(matches!(
            key("application/dtmf", "99"),
            Err(InfoError::NoDigit(_))
        ));
    }
}
