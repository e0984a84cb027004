//! DTMF: one stream of digits whatever the carrier sends — RFC 4733 telephone-events
//! ([`telephone_event`]), SIP INFO bodies ([`info`]) or tones in the audio ([`inband`]).
//!
//! [`DtmfMerger`] turns the three sources into one stream in which each key press appears
//! exactly once. Carriers sometimes send a press twice (RFC 4733 *and* INFO, or RFC 4733 with
//! the tone left in the audio); the rules, applied in order:
//!
//! 1. Once any telephone-event has arrived, in-band detection is ignored for the rest of the
//!    call (the tones in the audio are then an echo of the events).
//! 2. A digit equal to the previous one, from a *different* source, within
//!    [`DUPLICATE_WINDOW`], is the same press: it is dropped, and the less reliable of the two
//!    sources (RFC 4733 before SIP INFO before in-band) is muted for the rest of the call,
//!    because the carrier evidently sends every press both ways.

pub mod inband;
pub mod info;
pub mod telephone_event;

use std::fmt;
use std::time::{Duration, Instant};

/// A DTMF key: `0`–`9`, `*`, `#` or `A`–`D`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digit(char);

impl Digit {
    /// The digit for a key character, if it is one.
    pub fn from_char(c: char) -> Option<Self> {
        let c = c.to_ascii_uppercase();
        matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(Self(c))
    }
    /// The digit for an RFC 4733 §3.2 event code (0–15).
    pub fn from_event_code(code: u8) -> Option<Self> {
        const KEYS: &[u8; 16] = b"0123456789*#ABCD";
        KEYS.get(usize::from(code)).map(|&k| Self(char::from(k)))
    }
    /// The RFC 4733 event code of this digit.
    pub fn event_code(self) -> u8 {
        const KEYS: &str = "0123456789*#ABCD";
        KEYS.find(self.0).map_or(0, |i| i as u8)
    }
    /// The key character.
    pub fn as_char(self) -> char {
        self.0
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digit({})", self.0)
    }
}

/// Where a digit came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtmfSource {
    /// RFC 4733 telephone-event RTP packets.
    Rfc4733,
    /// A SIP INFO request (`application/dtmf-relay` or `application/dtmf`).
    SipInfo,
    /// Tones detected in the decoded audio.
    InBand,
}

impl DtmfSource {
    /// Name used in logs and metrics (`rfc4733`, `sip_info`, `inband`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc4733 => "rfc4733",
            Self::SipInfo => "sip_info",
            Self::InBand => "inband",
        }
    }
}

/// A digit the caller pressed, reported once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfDigit {
    /// The key.
    pub digit: Digit,
    /// Where it was seen first.
    pub source: DtmfSource,
    /// When it was seen.
    pub at: Instant,
}

/// How close the same digit from two sources must be to count as one press.
pub const DUPLICATE_WINDOW: Duration = Duration::from_millis(1500);

/// Merges the digits of every source into one stream (the rules are in the module docs).
#[derive(Debug, Default)]
pub struct DtmfMerger {
    rfc4733_seen: bool,
    muted: [bool; 3],
    last: Option<DtmfDigit>,
}

impl DtmfMerger {
    /// Offers a digit from `source` seen at `now`; returns it when it is a new press.
    pub fn offer(&mut self, digit: Digit, source: DtmfSource, now: Instant) -> Option<DtmfDigit> {
        if source == DtmfSource::Rfc4733 {
            self.rfc4733_seen = true;
        }
        if self.muted[source as usize] || (source == DtmfSource::InBand && self.rfc4733_seen) {
            return None;
        }
        if let Some(last) = self.last
            && last.digit == digit
            && last.source != source
            && now.saturating_duration_since(last.at) <= DUPLICATE_WINDOW
        {
            // The enum's order is the order of reliability.
            let worse = if (source as usize) > (last.source as usize) {
                source
            } else {
                last.source
            };
            self.muted[worse as usize] = true;
            tracing::debug!(
                digit = %digit,
                source = source.as_str(),
                first = last.source.as_str(),
                "the same key press arrived twice; ignoring this source from now on"
            );
            return None;
        }
        let d = DtmfDigit {
            digit,
            source,
            at: now,
        };
        self.last = Some(d);
        Some(d)
    }

    /// Notes that a telephone-event packet arrived (it mutes in-band detection) even when
    /// it started no new digit.
    pub fn telephone_event_seen(&mut self) {
        self.rfc4733_seen = true;
    }

    /// Whether in-band detection still matters (no telephone-event seen yet).
    pub fn wants_inband(&self) -> bool {
        !self.rfc4733_seen && !self.muted[DtmfSource::InBand as usize]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(c: char) -> Digit {
        Digit::from_char(c).unwrap()
    }

    #[test]
    fn event_codes_map_to_keys() {
        let keys: String = (0..16)
            .map(|c| Digit::from_event_code(c).unwrap().as_char())
            .collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(Digit::from_event_code(16), None);
        assert_eq!(d('#').event_code(), 11);
        assert_eq!(Digit::from_char('x'), None);
        assert_eq!(d('a').as_char(), 'A');
    }

    #[test]
    fn a_press_sent_both_ways_counts_once_and_mutes_the_echo() {
        let t = Instant::now();
        let mut m = DtmfMerger::default();
        assert!(m.offer(d('5'), DtmfSource::Rfc4733, t).is_some());
        assert!(
            m.offer(d('5'), DtmfSource::SipInfo, t + Duration::from_millis(80))
                .is_none()
        );
        // INFO is muted now, even for a different digit.
        assert!(
            m.offer(d('6'), DtmfSource::SipInfo, t + Duration::from_secs(1))
                .is_none()
        );
        assert!(
            m.offer(d('6'), DtmfSource::Rfc4733, t + Duration::from_secs(1))
                .is_some()
        );
    }

    #[test]
    fn a_late_telephone_event_after_an_inband_tone_keeps_telephone_events_on() {
        let t = Instant::now();
        let mut m = DtmfMerger::default();
        assert!(m.offer(d('8'), DtmfSource::InBand, t).is_some());
        // The events' start packets were lost; the same press arrives as RFC 4733 later.
        assert!(
            m.offer(d('8'), DtmfSource::Rfc4733, t + Duration::from_millis(60))
                .is_none()
        );
        assert!(
            m.offer(d('9'), DtmfSource::Rfc4733, t + Duration::from_secs(1))
                .is_some()
        );
        assert!(
            m.offer(d('7'), DtmfSource::InBand, t + Duration::from_secs(2))
                .is_none()
        );
    }

    #[test]
    fn the_same_digit_twice_from_one_source_is_two_presses() {
        let t = Instant::now();
        let mut m = DtmfMerger::default();
        assert!(m.offer(d('1'), DtmfSource::SipInfo, t).is_some());
        assert!(
            m.offer(d('1'), DtmfSource::SipInfo, t + Duration::from_millis(200))
                .is_some()
        );
    }

    #[test]
    fn telephone_events_mute_inband_detection() {
        let t = Instant::now();
        let mut m = DtmfMerger::default();
        assert!(m.offer(d('1'), DtmfSource::InBand, t).is_some());
        assert!(m.wants_inband());
        m.telephone_event_seen();
        assert!(!m.wants_inband());
        assert!(
            m.offer(d('2'), DtmfSource::InBand, t + Duration::from_secs(5))
                .is_none()
        );
    }
}
