//! In-band DTMF: Goertzel filters on decoded 8 kHz audio with ITU-T Q.24-style checks.
//!
//! The detector looks at a Hann-windowed 20 ms (160 samples) every 10 ms; the window keeps
//! the tone estimates within 0.3 dB across Q.24's ±1.5 % frequency tolerance, where a plain
//! block loses over 1 dB. A window *hits* a key when
//!
//! - the strongest row tone (697/770/852/941 Hz) and column tone (1209/1336/1477/1633 Hz) are
//!   each above [`MIN_TONE_LEVEL_DBM0`];
//! - the twist is within limits: the row tone at most 8 dB above the column tone (normal
//!   twist), the column at most 4 dB above the row (reverse twist);
//! - each tone is 6 dB above every other tone of its group (relative peak);
//! - the two tones carry at least 80 % of the window's energy — the check that keeps speech,
//!   whose energy is spread over many harmonics, from passing (talk-off).
//!
//! A key is reported when two consecutive windows hit it (a tone of 40 ms, Q.24's minimum,
//! always fills two windows), once; it is over after two consecutive windows without it (a
//! pause of 40 ms, Q.24's minimum inter-digit gap, always contains two). So a held key is one
//! digit, a single noisy window does not split it, and the same key pressed twice with a
//! gap is two digits.

use super::Digit;

const RATE: f32 = 8000.0;
const HOP: usize = 80;
const WINDOW: usize = 2 * HOP;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// The weakest tone accepted, per frequency.
pub const MIN_TONE_LEVEL_DBM0: f32 = -33.0;
/// Row above column by at most this (normal twist).
pub const MAX_NORMAL_TWIST_DB: f32 = 8.0;
/// Column above row by at most this (reverse twist).
pub const MAX_REVERSE_TWIST_DB: f32 = 4.0;
/// Each tone above the others of its group by at least this.
pub const MIN_RELATIVE_PEAK_DB: f32 = 6.0;
/// Share of the window's energy the two tones must carry.
pub const MIN_TONE_SHARE: f32 = 0.8;

fn db_to_power(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// Energy over one Hann-windowed window of a sine at `dbm0` (0 dBm0 is a sine of peak 22 701
/// in 16-bit G.711, per G.711's 3.17 dB overload point): A²/2 · Σw² = 3NA²/16.
fn tone_energy(dbm0: f32) -> f32 {
    let amplitude = 22_701.0 * 10f32.powf(dbm0 / 20.0);
    3.0 * WINDOW as f32 * amplitude * amplitude / 16.0
}

/// The in-band DTMF detector of one call.
///
/// ```
/// use deflect_media::dtmf::inband::InbandDetector;
///
/// let mut detector = InbandDetector::new();
/// // 100 ms of key 5 (770 Hz + 1336 Hz), then 100 ms of silence.
/// let tone: Vec<i16> = (0..800)
///     .map(|n| {
///         let t = n as f32 / 8000.0;
///         let s = (2.0 * std::f32::consts::PI * 770.0 * t).sin()
///             + (2.0 * std::f32::consts::PI * 1336.0 * t).sin();
///         (s * 6000.0) as i16
///     })
///     .chain(std::iter::repeat(0).take(800))
///     .collect();
/// let mut digits = String::new();
/// for frame in tone.chunks(160) {
///     detector.process(frame, |d| digits.push(d.as_char()));
/// }
/// assert_eq!(digits, "5");
/// ```
#[derive(Debug, Clone)]
pub struct InbandDetector {
    previous: [f32; HOP],
    current: [f32; HOP],
    filled: usize,
    candidate: Option<(char, u8)>,
    held: Option<char>,
    misses: u8,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

struct Thresholds {
    coefficients: [f32; 8],
    hann: [f32; WINDOW],
    min_tone: f32,
    min_window: f32,
    normal_twist: f32,
    reverse_twist: f32,
    relative_peak: f32,
}

fn thresholds() -> &'static Thresholds {
    static T: std::sync::OnceLock<Thresholds> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut coefficients = [0.0; 8];
        for (c, f) in coefficients.iter_mut().zip(ROWS.iter().chain(COLS.iter())) {
            *c = 2.0 * (2.0 * std::f32::consts::PI * f / RATE).cos();
        }
        let min_tone = tone_energy(MIN_TONE_LEVEL_DBM0);
        let mut hann = [0.0; WINDOW];
        for (n, w) in hann.iter_mut().enumerate() {
            *w = 0.5 - 0.5 * (2.0 * std::f32::consts::PI * n as f32 / WINDOW as f32).cos();
        }
        Thresholds {
            coefficients,
            hann,
            min_tone,
            min_window: 2.0 * min_tone,
            normal_twist: db_to_power(MAX_NORMAL_TWIST_DB),
            reverse_twist: db_to_power(MAX_REVERSE_TWIST_DB),
            relative_peak: db_to_power(MIN_RELATIVE_PEAK_DB),
        }
    })
}

impl InbandDetector {
    /// A detector waiting for the first samples.
    pub fn new() -> Self {
        Self {
            previous: [0.0; HOP],
            current: [0.0; HOP],
            filled: 0,
            candidate: None,
            held: None,
            misses: 0,
        }
    }

    /// Feeds decoded 8 kHz samples (any length); calls `on_digit` for each new key press.
    pub fn process(&mut self, samples: &[i16], mut on_digit: impl FnMut(Digit)) {
        for &s in samples {
            self.current[self.filled] = f32::from(s);
            self.filled += 1;
            if self.filled == HOP {
                let hit = self.analyse();
                self.previous = self.current;
                self.filled = 0;
                if let Some(d) = self.decide(hit) {
                    on_digit(d);
                }
            }
        }
    }

    /// The key one window hits, if any.
    fn analyse(&self) -> Option<char> {
        let t = thresholds();
        let mut windowed = [0f32; WINDOW];
        let mut energy = 0f32;
        for (i, o) in windowed.iter_mut().enumerate() {
            let x = if i < HOP {
                self.previous[i]
            } else {
                self.current[i - HOP]
            };
            *o = x * t.hann[i];
            energy += *o * *o;
        }
        if energy < t.min_window {
            return None;
        }
        // Eight independent recurrences side by side.
        let c = t.coefficients;
        let mut s1 = [0f32; 8];
        let mut s2 = [0f32; 8];
        for &x in &windowed {
            let mut s0 = [0f32; 8];
            for k in 0..8 {
                s0[k] = x + c[k] * s1[k] - s2[k];
            }
            s2 = s1;
            s1 = s0;
        }
        let mut power = [0f32; 8];
        for k in 0..8 {
            // |X|² from the Goertzel state, scaled to the windowed energy of the sine it
            // measures (3|X|²/N for a Hann window).
            let p = s1[k] * s1[k] + s2[k] * s2[k] - t.coefficients[k] * s1[k] * s2[k];
            power[k] = 3.0 * p / WINDOW as f32;
        }
        let (rows, cols) = power.split_at(4);
        let peak = |g: &[f32]| -> (usize, f32) {
            g.iter()
                .copied()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, p)| if p > a.1 { (i, p) } else { a })
        };
        let (r, row) = peak(rows);
        let (c, col) = peak(cols);
        if row < t.min_tone || col < t.min_tone {
            return None;
        }
        if row > col * t.normal_twist || col > row * t.reverse_twist {
            return None;
        }
        let dominant = |g: &[f32], i: usize, p: f32| {
            g.iter()
                .enumerate()
                .all(|(j, &q)| j == i || q * t.relative_peak <= p)
        };
        if !dominant(rows, r, row) || !dominant(cols, c, col) {
            return None;
        }
        if row + col < MIN_TONE_SHARE * energy {
            return None;
        }
        Some(KEYS[r][c])
    }

    fn decide(&mut self, hit: Option<char>) -> Option<Digit> {
        if hit.is_some() && hit == self.held {
            self.misses = 0;
            self.candidate = None;
            return None;
        }
        if self.held.is_some() {
            self.misses += 1;
            if self.misses >= 2 {
                self.held = None;
            }
        }
        let Some(key) = hit else {
            self.candidate = None;
            return None;
        };
        let count = match self.candidate {
            Some((k, n)) if k == key => n + 1,
            _ => 1,
        };
        self.candidate = Some((key, count));
        if count >= 2 && self.held.is_none() {
            self.held = Some(key);
            self.misses = 0;
            self.candidate = None;
            return Digit::from_char(key);
        }
        None
    }
}
