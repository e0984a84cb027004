//! In-band DTMF: the eight tone powers of a sliding window of decoded 8 kHz audio with ITU-T
//! Q.24-style checks.
//!
//! The detector looks at a Hann-windowed 20 ms (160 samples) every 10 ms; the window keeps
//! the tone estimates within 0.3 dB across Q.24's ±1.5 % frequency tolerance, where a plain
//! block loses over 1 dB. A window whose energy is below two tones at the minimum level is
//! dismissed at once; otherwise the eight tone powers are the window's DFT at those
//! frequencies (the quantity a Goertzel filter computes), taken as sixteen dot products with
//! a table of Hann-weighted cosines and sines, which vectorise. A window *hits* a key when
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
    /// The window: the previous hop, then the current one (filled up to `HOP + filled`).
    window: [f32; WINDOW],
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
    /// Per group (rows, columns) and sample of the window: for each of the group's four
    /// tones the Hann-weighted cosine and sine of that sample's phase (the window and the
    /// transform in one table, so a group's powers are eight independent dot products).
    basis: [[[f32; LANES]; WINDOW]; 2],
    /// A row tone weaker than this share of the window's energy fails the checks whatever
    /// the columns hold: with the column at most `reverse_twist` times the row, the pair
    /// carries at most `(1 + reverse_twist)` times the row.
    min_row_share: f32,
    hann: [f32; WINDOW],
    min_tone: f32,
    min_window: f32,
    normal_twist: f32,
    reverse_twist: f32,
    relative_peak: f32,
}

/// Cosine and sine parts for the four tones of a group.
const LANES: usize = 8;

fn thresholds() -> &'static Thresholds {
    static T: std::sync::OnceLock<Thresholds> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let min_tone = tone_energy(MIN_TONE_LEVEL_DBM0);
        let mut hann = [0.0; WINDOW];
        let mut basis = [[[0.0; LANES]; WINDOW]; 2];
        for n in 0..WINDOW {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / WINDOW as f64).cos();
            hann[n] = w as f32;
            for (group, freqs) in [ROWS, COLS].iter().enumerate() {
                for (k, f) in freqs.iter().enumerate() {
                    let phase =
                        2.0 * std::f64::consts::PI * f64::from(*f) / f64::from(RATE) * n as f64;
                    basis[group][n][k] = (w * phase.cos()) as f32;
                    basis[group][n][k + 4] = (w * phase.sin()) as f32;
                }
            }
        }
        let reverse_twist = db_to_power(MAX_REVERSE_TWIST_DB);
        Thresholds {
            basis,
            hann,
            min_row_share: MIN_TONE_SHARE / (1.0 + reverse_twist),
            min_tone,
            min_window: 2.0 * min_tone,
            normal_twist: db_to_power(MAX_NORMAL_TWIST_DB),
            reverse_twist,
            relative_peak: db_to_power(MIN_RELATIVE_PEAK_DB),
        }
    })
}

impl InbandDetector {
    /// A detector waiting for the first samples.
    pub fn new() -> Self {
        Self {
            window: [0.0; WINDOW],
            filled: 0,
            candidate: None,
            held: None,
            misses: 0,
        }
    }

    /// Feeds decoded 8 kHz samples (any length); calls `on_digit` for each new key press.
    pub fn process(&mut self, mut samples: &[i16], mut on_digit: impl FnMut(Digit)) {
        while !samples.is_empty() {
            let n = (HOP - self.filled).min(samples.len());
            for (o, &s) in self.window[HOP + self.filled..HOP + self.filled + n]
                .iter_mut()
                .zip(&samples[..n])
            {
                *o = f32::from(s);
            }
            self.filled += n;
            samples = &samples[n..];
            if self.filled == HOP {
                let hit = self.analyse();
                self.window.copy_within(HOP.., 0);
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
        // The energy gate first: a quiet window (pauses, silence, comfort noise) costs 160
        // multiplications.
        // Eight partial sums side by side, so the loop vectorises.
        let mut partial = [0f32; 8];
        for (x, w) in self.window.chunks_exact(8).zip(t.hann.chunks_exact(8)) {
            for k in 0..8 {
                let y = x[k] * w[k];
                partial[k] += y * y;
            }
        }
        let energy: f32 = partial.iter().sum();
        if energy < t.min_window {
            return None;
        }
        let peak = |g: &[f32]| -> (usize, f32) {
            g.iter()
                .copied()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, p)| if p > a.1 { (i, p) } else { a })
        };
        // Rows first: speech and noise mostly fail here, and the columns are not computed.
        let rows = group_powers(&self.window, &t.basis[0]);
        let (r, row) = peak(&rows);
        if row < t.min_tone || row < t.min_row_share * energy {
            return None;
        }
        let cols = group_powers(&self.window, &t.basis[1]);
        let (c, col) = peak(&cols);
        if col < t.min_tone {
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
        if !dominant(&rows, r, row) || !dominant(&cols, c, col) {
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

/// The Hann-windowed DFT at a group's four tones: eight dot products over the window, in
/// two interleaved sets of accumulators so that the additions do not wait on each other (the
/// loops vectorise). The same |X|² a Goertzel recurrence gives, without its
/// sample-to-sample dependency; scaled to the windowed energy of the sine it measures
/// (3|X|²/N for a Hann window).
fn group_powers(samples: &[f32; WINDOW], basis: &[[f32; LANES]; WINDOW]) -> [f32; 4] {
    let mut even = [0f32; LANES];
    let mut odd = [0f32; LANES];
    for (x, b) in samples.chunks_exact(2).zip(basis.chunks_exact(2)) {
        multiply_add(&mut even, x[0], &b[0]);
        multiply_add(&mut odd, x[1], &b[1]);
    }
    let mut power = [0f32; 4];
    for (k, p) in power.iter_mut().enumerate() {
        let re = even[k] + odd[k];
        let im = even[k + 4] + odd[k + 4];
        *p = 3.0 * (re * re + im * im) / WINDOW as f32;
    }
    power
}

/// `acc += x · b`, lane by lane.
#[inline(always)]
fn multiply_add(acc: &mut [f32; LANES], x: f32, b: &[f32; LANES]) {
    for (a, b) in acc.iter_mut().zip(b) {
        *a += x * b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tone powers from the table are what a Goertzel filter over the Hann-windowed
    /// samples measures (in f64), for tones, noise and speech-like mixtures alike.
    #[test]
    fn tone_powers_match_a_goertzel_reference() {
        let mut rng = fastrand::Rng::with_seed(24);
        for case in 0..200 {
            let samples: [f32; WINDOW] = std::array::from_fn(|n| {
                let t = n as f32 / RATE;
                let tone = ((case % 8) as f32 * 0.13 + 0.2) * 9000.0;
                let f = ROWS[case % 4] * (1.0 + (case % 5) as f32 * 0.004);
                let g = COLS[(case / 4) % 4];
                (tone * (2.0 * std::f32::consts::PI * f * t).sin()
                    + 3000.0 * (2.0 * std::f32::consts::PI * g * t).sin()
                    + rng.f32() * 2000.0
                    - 1000.0)
                    .round()
            });
            let t = thresholds();
            let (rows, cols) = (
                group_powers(&samples, &t.basis[0]),
                group_powers(&samples, &t.basis[1]),
            );
            let got: Vec<f32> = rows.iter().chain(&cols).copied().collect();
            for (k, f) in ROWS.iter().chain(COLS.iter()).enumerate() {
                let w = 2.0 * std::f64::consts::PI * f64::from(*f) / f64::from(RATE);
                let c = 2.0 * w.cos();
                let (mut s1, mut s2) = (0f64, 0f64);
                for (n, &x) in samples.iter().enumerate() {
                    let hann =
                        0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / WINDOW as f64).cos();
                    let s0 = f64::from(x) * hann + c * s1 - s2;
                    s2 = s1;
                    s1 = s0;
                }
                let want = 3.0 * (s1 * s1 + s2 * s2 - c * s1 * s2) / WINDOW as f64;
                let floor = f64::from(tone_energy(-60.0));
                let err = (f64::from(got[k]) - want).abs() / want.max(floor);
                assert!(err < 1e-3, "case {case}, tone {f} Hz: {} vs {want}", got[k]);
            }
        }
    }
}
