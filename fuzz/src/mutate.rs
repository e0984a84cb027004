//! A small deterministic mutator for the stable fallback (`tests/fallback.rs`): byte-level
//! edits in the spirit of libFuzzer's (bit flips, interesting bytes and numbers, inserted
//! protocol tokens, deleted and duplicated ranges, splices of two inputs), stacked one to
//! four at a time, from a seeded generator so every run feeds the same inputs.
//!
//! It is not coverage-guided: it exists so machines without a nightly toolchain still push
//! more than the seeds through every target. libFuzzer does the real exploring.

/// Tokens worth inserting: SIP, SDP, JSON and form syntax, and what tends to break parsers.
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\r\n ",
    b"\n",
    b"Content-Length: ",
    b"l: 0",
    b"Via: SIP/2.0/UDP ",
    b";branch=z9hG4bK",
    b";tag=",
    b"SIP/2.0",
    b"sip:",
    b"tel:",
    b"[::1]",
    b"<sip:a@b>",
    b"\"",
    b"%",
    b"%00",
    b"c=IN IP4 0.0.0.0\r\n",
    b"a=sendonly\r\n",
    b"a=recvonly\r\n",
    b"a=inactive\r\n",
    b"a=sendrecv\r\n",
    b"m=audio 0 RTP/AVP 0\r\n",
    b"a=rtpmap:101 telephone-event/8000\r\n",
    b"a=ptime:",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"\":",
    b"&",
    b"=",
    b"+",
    b"\xff",
    b"\x00",
];

/// Numbers at the edges of the integer types parsers use.
const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"255",
    b"256",
    b"65535",
    b"65536",
    b"2147483648",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e999",
    b"0.0",
];

/// Bytes worth writing over another.
const BYTES: &[u8] = b"\x00\x01\x7f\x80\xfe\xff\r\n\t :;,<>\"%=/@[]{}0123456789";

/// Mutates inputs, reproducibly for a given seed.
#[derive(Debug)]
pub struct Mutator {
    rng: fastrand::Rng,
}

impl Mutator {
    /// A mutator whose sequence depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// One to four edits of `input`; `other` is spliced in by some of them.
    pub fn mutate(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..self.rng.usize(1..=4) {
            self.edit(&mut out, other);
        }
        out.truncate(64 * 1024);
        out
    }

    fn edit(&mut self, v: &mut Vec<u8>, other: &[u8]) {
        let at = self.rng.usize(..=v.len());
        match self.rng.u8(..9) {
            0 if !v.is_empty() => {
                let i = self.rng.usize(..v.len());
                v[i] ^= 1 << self.rng.u8(..8);
            }
            1 if !v.is_empty() => {
                let i = self.rng.usize(..v.len());
                v[i] = BYTES[self.rng.usize(..BYTES.len())];
            }
            2 => {
                let token = TOKENS[self.rng.usize(..TOKENS.len())];
                v.splice(at..at, token.iter().copied());
            }
            3 if !v.is_empty() => {
                let end = (at + self.rng.usize(1..=16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 if !v.is_empty() => {
                let from = self.rng.usize(..v.len());
                let len = self.rng.usize(1..=64).min(v.len() - from);
                let piece = v[from..from + len].to_vec();
                v.splice(at..at, piece);
            }
            5 => self.replace_number(v),
            6 if !other.is_empty() => {
                let from = self.rng.usize(..other.len());
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            7 => v.truncate(at),
            _ => {
                let n = self.rng.usize(1..=8);
                v.splice(at..at, std::iter::repeat_with(|| self.rng.u8(..)).take(n));
            }
        }
    }

    /// Replaces a run of ASCII digits with a number at some edge.
    fn replace_number(&mut self, v: &mut Vec<u8>) {
        let starts: Vec<usize> = (0..v.len())
            .filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit()))
            .collect();
        let number = NUMBERS[self.rng.usize(..NUMBERS.len())];
        if starts.is_empty() {
            let at = self.rng.usize(..=v.len());
            v.splice(at..at, number.iter().copied());
            return;
        }
        let start = starts[self.rng.usize(..starts.len())];
        let end = start + v[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        v.splice(start..end, number.iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let input = b"INVITE sip:1@2 SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n";
        let run = |seed| {
            let mut m = Mutator::new(seed);
            (0..50)
                .map(|_| m.mutate(input, b"other"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().any(|m| m.as_slice() != input));
    }

    #[test]
    fn numbers_are_replaced_whole() {
        let mut m = Mutator::new(1);
        for _ in 0..100 {
            let mut v = b"Content-Length: 123\r\n".to_vec();
            m.replace_number(&mut v);
            let text = String::from_utf8(v).unwrap();
            let n = text
                .trim_start_matches("Content-Length: ")
                .trim_end_matches("\r\n");
            assert!(NUMBERS.contains(&n.as_bytes()), "{text:?}");
        }
    }
}
