//! One byte range of a stored file, as an HTTP `Range` header asks for it (RFC 9110 §14):
//! `bytes=0-499`, `bytes=500-`, `bytes=-500`. Browsers ask for ranges to seek in audio and
//! video (Safari plays video only when its server answers them). Several ranges in one header
//! (a multipart answer) are not served: the whole file is, as RFC 9110 allows.

use std::ops::Range;

/// The part of a file a `Range` header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// From this offset to the end (`bytes=500-`).
    From(u64),
    /// From the first to the last offset, both included (`bytes=0-499`).
    Span(u64, u64),
    /// The last this many bytes (`bytes=-500`).
    Last(u64),
}

impl ByteRange {
    /// The range a `Range` header's value asks for; `None` — serve the whole file — for
    /// anything else: another unit, several ranges, or a malformed one.
    pub fn parse(value: &str) -> Option<Self> {
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (first.trim().is_empty(), last.trim().is_empty()) {
            (false, true) => Some(Self::From(number(first)?)),
            (false, false) => {
                let (a, b) = (number(first)?, number(last)?);
                (a <= b).then_some(Self::Span(a, b))
            }
            (true, false) => Some(Self::Last(number(last)?)),
            (true, true) => None,
        }
    }

    /// The bytes of a file of `size` bytes this range covers; `None` when it covers none
    /// (answered 416 with the file's size).
    pub fn within(self, size: u64) -> Option<Range<u64>> {
        let range = match self {
            Self::From(a) => a..size,
            Self::Span(a, b) => a..b.saturating_add(1).min(size),
            Self::Last(n) => size.saturating_sub(n)..size,
        };
        (range.start < range.end).then_some(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_in_each_form_is_read() {
        assert_eq!(
            ByteRange::parse("bytes=0-499"),
            Some(ByteRange::Span(0, 499))
        );
        assert_eq!(ByteRange::parse("bytes=500-"), Some(ByteRange::From(500)));
        assert_eq!(ByteRange::parse("bytes=-500"), Some(ByteRange::Last(500)));
        assert_eq!(
            ByteRange::parse(" bytes= 7 - 9 "),
            Some(ByteRange::Span(7, 9))
        );
        for whole in [
            "",
            "bytes=",
            "bytes=-",
            "bytes=5-3",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=a-1",
            "bytes=+1-2",
            "bytes=99999999999999999999-",
        ] {
            assert_eq!(ByteRange::parse(whole), None, "{whole:?}");
        }
    }

    #[test]
    fn ranges_are_cut_to_the_file_and_an_empty_one_is_unsatisfiable() {
        assert_eq!(ByteRange::Span(0, 499).within(1000), Some(0..500));
        assert_eq!(ByteRange::Span(900, 5000).within(1000), Some(900..1000));
        assert_eq!(ByteRange::From(999).within(1000), Some(999..1000));
        assert_eq!(ByteRange::Last(5000).within(1000), Some(0..1000));
        assert_eq!(ByteRange::Last(10).within(1000), Some(990..1000));
        assert_eq!(ByteRange::From(1000).within(1000), None);
        assert_eq!(ByteRange::Span(1000, 1001).within(1000), None);
        assert_eq!(ByteRange::Last(0).within(1000), None);
        assert_eq!(ByteRange::Span(0, u64::MAX).within(10), Some(0..10));
    }
}
