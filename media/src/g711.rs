//! G.711 µ-law and A-law (ITU-T G.711, 1988), 16-bit linear PCM in and out.
//!
//! Written here rather than taken from a crate: the codec is two small algorithms, the crates
//! that carry it are unmaintained or pull in a DSP framework, and the hot path wants the
//! decode direction as a 256-entry table. The encoders follow the segment structure of
//! G.711 Tables 1 and 2 (the algorithm of the ITU-T G.191 software tool library), so they are
//! bit-exact with the reference: the tests check every decoder output value and every
//! encoder decision value against the tables, written out independently.
//!
//! Linear samples are 16-bit: A-law's 13-bit and µ-law's 14-bit magnitudes sit in the top
//! bits, as in G.191 (`alaw_expand` gives ±32256, `ulaw_expand` ±32124).

/// Encodes one 16-bit linear sample to µ-law (G.711 Table 2, the transmitted character with
/// all bits inverted).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    // The 14-bit magnitude the table uses is `sample >> 2`; the bias is added in 16-bit units.
    let (sign, magnitude) = if sample < 0 {
        (0x00u8, (-(i32::from(sample))).min(CLIP))
    } else {
        (0x80u8, i32::from(sample).min(CLIP))
    };
    let biased = magnitude + BIAS;
    // Segment = position of the highest set bit above bit 7 (biased value < 0x8000).
    let segment = (31 - (biased as u32).leading_zeros())
        .saturating_sub(7)
        .min(7);
    let mantissa = ((biased >> (segment + 3)) & 0x0F) as u8;
    !(((segment as u8) << 4) | mantissa) & 0x7F | sign
}

/// Decodes one µ-law character to 16-bit linear PCM.
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

/// Encodes one 16-bit linear sample to A-law (G.711 Table 1, even bits inverted).
pub fn linear_to_alaw(sample: i16) -> u8 {
    // 13-bit magnitude; negative values are one's complement as in G.191, so -1 and 0 land
    // in the same interval mirrored.
    let (sign, magnitude) = if sample >= 0 {
        (0x80u8, i32::from(sample) >> 3)
    } else {
        (0x00u8, (!i32::from(sample)) >> 3)
    };
    let code = if magnitude < 32 {
        (magnitude >> 1) as u8
    } else {
        let segment = 31 - (magnitude as u32).leading_zeros() - 4; // 1..=7 for 32..=4095
        let segment = segment.min(7);
        let mantissa = ((magnitude >> segment) & 0x0F) as u8;
        ((segment as u8) << 4) | mantissa
    };
    (code | sign) ^ 0x55
}

/// Decodes one A-law character to 16-bit linear PCM.
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

/// Encodes a frame of linear samples with µ-law into `out` (same length).
pub fn encode_ulaw(samples: &[i16], out: &mut [u8]) {
    for (o, &s) in out.iter_mut().zip(samples) {
        *o = linear_to_ulaw(s);
    }
}

/// Encodes a frame of linear samples with A-law into `out` (same length).
pub fn encode_alaw(samples: &[i16], out: &mut [u8]) {
    for (o, &s) in out.iter_mut().zip(samples) {
        *o = linear_to_alaw(s);
    }
}

/// Decodes µ-law characters into `out` (same length).
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ULAW_TO_LINEAR[usize::from(c)];
    }
}

/// Decodes A-law characters into `out` (same length).
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) {
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ALAW_TO_LINEAR[usize::from(c)];
    }
}

const fn ulaw_expand(code: u8) -> i16 {
    let c = !code;
    let sign = c & 0x80;
    let segment = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << segment) - 0x84;
    if sign != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_expand(code: u8) -> i16 {
    let c = code ^ 0x55;
    let segment = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0F) as i32;
    let magnitude = if segment == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (segment - 1)
    };
    if c & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

macro_rules! decode_table {
    ($expand:ident) => {{
        let mut t = [0i16; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $expand(i as u8);
            i += 1;
        }
        t
    }};
}

static ULAW_TO_LINEAR: [i16; 256] = decode_table!(ulaw_expand);
static ALAW_TO_LINEAR: [i16; 256] = decode_table!(alaw_expand);

/// The µ-law character for silence (linear 0).
pub const ULAW_SILENCE: u8 = 0xFF;
/// The A-law character for silence (the positive code nearest 0).
pub const ALAW_SILENCE: u8 = 0xD5;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// G.711 Table 2 (µ-law), positive half, 14-bit units: `(character on the line,
    /// decision value low, decision value high, decoder output)`. Segment `s` starts at
    /// `FIRST[s]` with intervals of `STEP[s]`; segment 0's first interval is [0, 1] and decodes
    /// to 0. The character is `segment << 4 | interval` with every bit inverted, so the sign
    /// bit is 1 for positive values; the negative character clears it.
    fn ulaw_reference() -> Vec<(u8, i32, i32, i32)> {
        const FIRST: [i32; 8] = [0, 31, 95, 223, 479, 991, 2015, 4063];
        const STEP: [i32; 8] = [2, 4, 8, 16, 32, 64, 128, 256];
        let mut rows = Vec::new();
        for s in 0..8 {
            for i in 0..16 {
                let (low, high, output) = match (s, i) {
                    (0, 0) => (0, 1, 0),
                    (0, _) => (2 * i - 1, 2 * i + 1, 2 * i),
                    _ => {
                        let low = FIRST[s] + i * STEP[s];
                        (low, low + STEP[s], low + STEP[s] / 2)
                    }
                };
                rows.push((!(((s as u8) << 4) | i as u8), low, high, output));
            }
        }
        rows
    }

    #[test]
    fn ulaw_decoder_matches_g711_table_2() {
        for (code, _, _, output) in ulaw_reference() {
            assert_eq!(
                i32::from(ulaw_to_linear(code)),
                output * 4,
                "code {code:#04x}"
            );
            let negative = code & 0x7F;
            assert_eq!(
                i32::from(ulaw_to_linear(negative)),
                -output * 4,
                "code {negative:#04x}"
            );
        }
        // Values G.191's ulaw_expand prints: the extremes and both zeros.
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
    }

    #[test]
    fn ulaw_encoder_decision_values_match_g711_table_2() {
        for (code, low, high, _) in ulaw_reference() {
            // The 14-bit interval [low, high) is [low × 4, high × 4) in 16-bit units.
            let (lo16, hi16) = (low * 4, (high * 4).min(32636));
            for v in [lo16, (lo16 + hi16) / 2, hi16 - 1] {
                assert_eq!(linear_to_ulaw(v as i16), code, "value {v}");
                if v > 0 {
                    assert_eq!(linear_to_ulaw(-v as i16), code & 0x7F, "value -{v}");
                }
            }
        }
        // Overload: beyond the last decision value the top character is sent.
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
    }

    /// G.711 Table 1 (A-law), positive half, 12-bit magnitude units (0..4096): segments 0 and
    /// 1 have intervals of 2, each later one doubles; the decoder output is the middle of the
    /// interval. The character is `0x80 | segment << 4 | interval` with the even bits
    /// inverted (XOR 0x55); the negative character clears the sign bit.
    fn alaw_reference() -> Vec<(u8, i32, i32)> {
        let mut rows = Vec::new();
        for s in 0..8u8 {
            let (base, step) = if s == 0 { (0, 2) } else { (16 << s, 1 << s) };
            for i in 0..16 {
                let low = base + i * step;
                rows.push(((0x80 | (s << 4) | i as u8) ^ 0x55, low, low + step));
            }
        }
        rows
    }

    #[test]
    fn alaw_decoder_matches_g711_table_1() {
        for (code, low, high) in alaw_reference() {
            // Middle of the 12-bit interval, in 16-bit units (× 8).
            let output16 = (low + high) * 4;
            assert_eq!(
                i32::from(alaw_to_linear(code)),
                output16,
                "code {code:#04x}"
            );
            assert_eq!(i32::from(alaw_to_linear(code ^ 0x80)), -output16);
        }
        // Values G.191's alaw_expand prints.
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
    }

    #[test]
    fn alaw_encoder_decision_values_match_g711_table_1() {
        for (code, low, high) in alaw_reference() {
            // The 12-bit interval [low, high) is [low × 8, high × 8) in 16-bit units.
            let (lo16, hi16) = (low * 8, high * 8);
            for v in [lo16, (lo16 + hi16) / 2, hi16 - 1] {
                assert_eq!(linear_to_alaw(v as i16), code, "value {v}");
                // Negative values are one's complement: -1 - v mirrors v.
                assert_eq!(
                    linear_to_alaw((-1 - v) as i16),
                    code ^ 0x80,
                    "value {}",
                    -1 - v
                );
            }
        }
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    /// Every reconstruction level of a decoder, sorted.
    fn levels(decode: fn(u8) -> i16) -> Vec<i32> {
        let mut l: Vec<i32> = (0..=255u8).map(|c| i32::from(decode(c))).collect();
        l.sort_unstable();
        l.dedup();
        l
    }

    /// `y` is one of the two reconstruction levels around `x`.
    fn brackets(levels: &[i32], x: i32, y: i32) -> bool {
        let below = levels.iter().rev().find(|&&l| l <= x);
        let above = levels.iter().find(|&&l| l >= x);
        Some(&y) == below || Some(&y) == above
    }

    #[test]
    fn silence_codes_decode_to_zero_or_the_smallest_step() {
        assert_eq!(ulaw_to_linear(ULAW_SILENCE), 0);
        assert_eq!(linear_to_ulaw(0), ULAW_SILENCE);
        assert_eq!(linear_to_alaw(0), ALAW_SILENCE);
    }

    proptest! {
        #[test]
        fn ulaw_round_trip_is_stable(code: u8) {
            // Decoding then encoding gives the same character (except µ-law's negative zero,
            // which encodes as positive zero).
            let again = linear_to_ulaw(ulaw_to_linear(code));
            if code == 0x7F { prop_assert_eq!(again, 0xFF); } else { prop_assert_eq!(again, code); }
        }

        #[test]
        fn alaw_round_trip_is_stable(code: u8) {
            prop_assert_eq!(linear_to_alaw(alaw_to_linear(code)), code);
        }

        #[test]
        fn encoding_picks_a_neighbouring_level(x: i16) {
            let y = i32::from(ulaw_to_linear(linear_to_ulaw(x)));
            prop_assert!(brackets(&levels(ulaw_to_linear), i32::from(x), y), "µ-law x {} y {}", x, y);
            let y = i32::from(alaw_to_linear(linear_to_alaw(x)));
            prop_assert!(brackets(&levels(alaw_to_linear), i32::from(x), y), "A-law x {} y {}", x, y);
        }

        #[test]
        fn encoders_are_monotonic(a: i16, b: i16) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(ulaw_to_linear(linear_to_ulaw(lo)) <= ulaw_to_linear(linear_to_ulaw(hi)));
            prop_assert!(alaw_to_linear(linear_to_alaw(lo)) <= alaw_to_linear(linear_to_alaw(hi)));
        }
    }
}
