//! Prompt playback: WAV prompts loaded once at start-up, played in real-time frames.
//!
//! [`PromptLibrary`] holds every prompt in memory, already encoded in both G.711 laws, so a
//! call never touches the disk and sending a frame is a copy. The built-in prompts in seven
//! languages (`media/prompts/<language>`: en, nl, de, fr, es, pt, ko, made by
//! `scripts/generate-prompts`) are compiled into the binary; a prompts directory laid out
//! `<language>/<name>.wav` adds languages and replaces built-in prompts by name. A language
//! lacking a prompt plays its primary language's (`pt` for `pt-BR`), else the English one. WAV files are read with `hound`; any sample format it reads (8–32-bit
//! integer, 32-bit float), any channel count (mixed down) and any rate (resampled to 8 kHz
//! once, at load, by [`resample`]) are accepted.
//!
//! [`Player`] is the sans-IO queue one call plays from: [`Player::fill`] writes the next
//! frame of encoded audio — the current prompt, the next one, or quiet comfort noise when
//! nothing is queued — and reports playbacks finished or interrupted.

use crate::g711;
use deflect_config::Codec;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Samples per second of everything played.
pub const SAMPLE_RATE: u32 = 8000;

/// The built-in prompts, as `(language, name, WAV)`: every name of
/// `deflect_config::BUILTIN_PROMPTS` in every language of
/// `deflect_config::BUILTIN_PROMPT_LANGUAGES` (`media/prompts/<language>`, made by
/// `scripts/generate-prompts` from each language's `prompts.txt`, through
/// `deflect_config::for_each_builtin_prompt!`).
pub const BUILTIN_PROMPTS: &[(&str, &str, &[u8])] = &{
    macro_rules! prompts {
        ($(($language:literal, $name:literal)),* $(,)?) => {
            [$((
                $language,
                $name,
                include_bytes!(concat!("../prompts/", $language, "/", $name, ".wav")).as_slice(),
            )),*]
        };
    }
    deflect_config::for_each_builtin_prompt!(prompts)
};

/// The language every other falls back to for a prompt it lacks.
pub const BUILTIN_LANGUAGE: &str = "en";

/// The built-in music, `hold_music` in every language (`media/prompts/hold_music.wav`, made
/// by `scripts/generate-prompts`): 8 s that loop.
pub const BUILTIN_MUSIC: &[u8] = include_bytes!("../prompts/hold_music.wav");

/// A prompt ready to play: 8 kHz samples and both G.711 encodings.
#[derive(Debug)]
pub struct Prompt {
    /// `<language>/<name>`, for logs.
    pub name: String,
    /// Linear samples, 8 kHz mono.
    pub pcm: Box<[i16]>,
    pcmu: Box<[u8]>,
    pcma: Box<[u8]>,
}

impl Prompt {
    /// A prompt from 8 kHz mono samples.
    pub fn from_pcm(name: impl Into<String>, pcm: Vec<i16>) -> Self {
        let mut pcmu = vec![0u8; pcm.len()];
        let mut pcma = vec![0u8; pcm.len()];
        g711::encode_ulaw(&pcm, &mut pcmu);
        g711::encode_alaw(&pcm, &mut pcma);
        Self {
            name: name.into(),
            pcm: pcm.into(),
            pcmu: pcmu.into(),
            pcma: pcma.into(),
        }
    }

    /// The encoded samples for a codec.
    pub fn encoded(&self, codec: Codec) -> &[u8] {
        match codec {
            Codec::Pcmu => &self.pcmu,
            Codec::Pcma => &self.pcma,
        }
    }

    /// How long it plays.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.pcm.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }
}

/// A prompt file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Reading the prompts directory failed.
    #[error("cannot read the prompts directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A WAV file could not be read.
    #[error("cannot read prompt {path}: {source}")]
    Wav {
        /// The file (or `builtin:<name>`).
        path: PathBuf,
        /// Why.
        source: hound::Error,
    },
    /// A WAV file holds no audio.
    #[error("prompt {0} holds no audio")]
    Empty(PathBuf),
}

/// A prompt name the library does not have (in that language or in English).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no prompt {name:?} for language {language:?}")]
pub struct MissingPrompt {
    /// Language asked for.
    pub language: String,
    /// Prompt asked for.
    pub name: String,
}

/// Every prompt, by language and name, loaded at start-up and shared by all calls.
#[derive(Debug, Default)]
pub struct PromptLibrary {
    prompts: HashMap<String, HashMap<String, Arc<Prompt>>>,
}

impl PromptLibrary {
    /// The built-in prompts only; the music is English's, which every language falls back
    /// to.
    pub fn builtin() -> Self {
        let mut lib = Self::default();
        let music = (
            BUILTIN_LANGUAGE,
            deflect_config::MUSIC_PROMPT,
            BUILTIN_MUSIC,
        );
        for &(language, name, bytes) in BUILTIN_PROMPTS.iter().chain([&music]) {
            let pcm = read_wav(std::io::Cursor::new(bytes))
                .expect("the built-in prompts are valid WAV files (checked by a test)");
            lib.insert(language, name, pcm);
        }
        lib
    }

    /// The built-in prompts, then every `<language>/<name>.wav` under `dir` (when given),
    /// which add languages and replace built-in prompts of the same name.
    pub fn load(dir: Option<&Path>) -> Result<Self, PromptError> {
        let mut lib = Self::builtin();
        let Some(dir) = dir else { return Ok(lib) };
        let read_dir = |path: &Path| {
            std::fs::read_dir(path).map_err(|source| PromptError::Directory {
                path: path.to_owned(),
                source,
            })
        };
        let mut languages: Vec<PathBuf> = read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        languages.sort();
        for lang_dir in languages {
            let Some(language) = lang_dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let language = language.to_owned();
            for entry in read_dir(&lang_dir)?.filter_map(Result::ok) {
                let path = entry.path();
                let is_wav = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
                let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !is_wav {
                    continue;
                }
                lib.insert(&language, name, read_wav_file(&path)?);
            }
        }
        Ok(lib)
    }

    /// Adds or replaces a prompt from 8 kHz mono samples.
    pub fn insert(&mut self, language: &str, name: &str, pcm: Vec<i16>) {
        let prompt = Prompt::from_pcm(format!("{language}/{name}"), pcm);
        self.prompts
            .entry(language.to_owned())
            .or_default()
            .insert(name.to_owned(), Arc::new(prompt));
    }

    /// Whether `language` has its own prompt `name` (built in or from the prompts
    /// directory; `pt-BR` takes `pt`'s), not the English one [`get`](Self::get) falls back
    /// to.
    pub fn has(&self, language: &str, name: &str) -> bool {
        self.own(language, name).is_some()
    }

    /// `language`'s own prompt `name`, else its primary language's (`pt` for `pt-BR`).
    fn own(&self, language: &str, name: &str) -> Option<&Arc<Prompt>> {
        let primary = language.split('-').next().unwrap_or(language);
        [language, primary]
            .into_iter()
            .find_map(|l| self.prompts.get(l).and_then(|p| p.get(name)))
    }

    /// A prompt in `language` (or its primary language), falling back to the English one.
    pub fn get(&self, language: &str, name: &str) -> Result<Arc<Prompt>, MissingPrompt> {
        self.own(language, name)
            .or_else(|| self.prompts.get(BUILTIN_LANGUAGE).and_then(|p| p.get(name)))
            .cloned()
            .ok_or_else(|| MissingPrompt {
                language: language.to_owned(),
                name: name.to_owned(),
            })
    }

    /// The items to play a list of prompt names, or the first name missing.
    pub fn resolve(&self, language: &str, names: &[&str]) -> Result<Vec<PlayItem>, MissingPrompt> {
        names
            .iter()
            .map(|n| self.get(language, n).map(PlayItem::Prompt))
            .collect()
    }

    /// Keeps only the prompts of `languages` (a regional variant keeping its primary
    /// language's too) and English, the fallback: a gateway drops the built-in languages no
    /// flow speaks.
    pub fn retain_languages(&mut self, languages: &[&str]) {
        self.prompts.retain(|kept, _| {
            kept == BUILTIN_LANGUAGE
                || (languages.iter())
                    .any(|l| l == kept || l.split('-').next() == Some(kept.as_str()))
        });
    }

    /// Languages with at least one prompt.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.prompts.keys().map(String::as_str)
    }

    /// Prompt names of a language.
    pub fn names(&self, language: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .prompts
            .get(language)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }
}

impl Prompt {
    /// A prompt from a WAV file (any format [`read_wav`] takes), named `name` in logs.
    pub fn from_file(name: impl Into<String>, path: &Path) -> Result<Self, PromptError> {
        Ok(Self::from_pcm(name, read_wav_file(path)?))
    }
}

/// Reads a WAV file to 8 kHz mono samples; an error names the file.
pub fn read_wav_file(path: &Path) -> Result<Vec<i16>, PromptError> {
    let file = std::fs::File::open(path).map_err(|e| PromptError::Wav {
        path: path.to_owned(),
        source: hound::Error::IoError(e),
    })?;
    let pcm = read_wav(std::io::BufReader::new(file)).map_err(|source| PromptError::Wav {
        path: path.to_owned(),
        source,
    })?;
    if pcm.is_empty() {
        return Err(PromptError::Empty(path.to_owned()));
    }
    Ok(pcm)
}

/// Reads a WAV file to 8 kHz mono 16-bit samples (mixing channels, resampling).
pub fn read_wav<R: std::io::Read>(reader: R) -> Result<Vec<i16>, hound::Error> {
    let mut wav = hound::WavReader::new(reader)?;
    let spec = wav.spec();
    let channels = usize::from(spec.channels.max(1));
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => wav.samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.max(1) - 1)) as f32;
            wav.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()?
        }
    };
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    let mono = if spec.sample_rate == SAMPLE_RATE {
        mono
    } else {
        resample(&mono, spec.sample_rate, SAMPLE_RATE)
    };
    Ok(mono
        .iter()
        .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Resamples `input` from `from` Hz to `to` Hz with a windowed-sinc (Blackman) low-pass at
/// 90 % of the lower Nyquist frequency, 16 zero crossings each side.
///
/// Written here instead of depending on a resampling crate: it runs once per prompt at
/// start-up, where a short direct convolution is fast enough and exact, and the crates
/// (rubato and others) bring FFT stacks for streaming use deflect does not have.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    const ZERO_CROSSINGS: f64 = 16.0;
    let ratio = f64::from(from) / f64::from(to);
    // Cut-off relative to the input rate.
    let cutoff = 0.45 * f64::from(from.min(to)) / f64::from(from) * 2.0;
    let half_width = ZERO_CROSSINGS / cutoff;
    let out_len = ((input.len() as f64) / ratio).round() as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let centre = n as f64 * ratio;
        let first = (centre - half_width).ceil().max(0.0) as usize;
        let last = ((centre + half_width).floor() as usize).min(input.len() - 1);
        let mut acc = 0.0f64;
        for (k, &x) in input.iter().enumerate().take(last + 1).skip(first) {
            let t = k as f64 - centre;
            let arg = std::f64::consts::PI * cutoff * t;
            let sinc = if arg.abs() < 1e-12 {
                1.0
            } else {
                arg.sin() / arg
            };
            let w = t / half_width; // -1..1
            let window = 0.42
                + 0.5 * (std::f64::consts::PI * w).cos()
                + 0.08 * (2.0 * std::f64::consts::PI * w).cos();
            acc += f64::from(x) * cutoff * sinc * window;
        }
        out.push(acc as f32);
    }
    out
}

/// One thing to play.
#[derive(Debug, Clone)]
pub enum PlayItem {
    /// A prompt.
    Prompt(Arc<Prompt>),
    /// A pause (comfort noise).
    Silence(Duration),
}

impl PlayItem {
    fn samples(&self) -> usize {
        match self {
            Self::Prompt(p) => p.pcm.len(),
            Self::Silence(d) => (d.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as usize,
        }
    }
}

/// Identifies one [`Player::play`] call in the events about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaybackId(pub u64);

/// How a playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEnd {
    /// Played to the end.
    Finished,
    /// Stopped before the end (a stop command, or barge-in by a key press).
    Interrupted,
}

#[derive(Debug)]
struct Playback {
    id: PlaybackId,
    items: Vec<PlayItem>,
    barge_in: bool,
}

/// Comfort noise at about -70 dBov: a second of it, encoded once and cycled.
struct ComfortNoise {
    pcmu: Box<[u8]>,
    pcma: Box<[u8]>,
}

fn comfort_noise() -> &'static ComfortNoise {
    static NOISE: std::sync::OnceLock<ComfortNoise> = std::sync::OnceLock::new();
    NOISE.get_or_init(|| {
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let pcm: Vec<i16> = (0..SAMPLE_RATE).map(|_| rng.i16(-12..=12)).collect();
        let mut pcmu = vec![0; pcm.len()];
        let mut pcma = vec![0; pcm.len()];
        g711::encode_ulaw(&pcm, &mut pcmu);
        g711::encode_alaw(&pcm, &mut pcma);
        ComfortNoise {
            pcmu: pcmu.into(),
            pcma: pcma.into(),
        }
    })
}

/// The playback queue of one call (sans-IO; the session pulls a frame every packet time).
///
/// ```
/// use deflect_media::playback::{PlaybackEnd, Player, PromptLibrary};
/// use deflect_config::Codec;
///
/// let library = PromptLibrary::builtin();
/// let mut player = Player::default();
/// let id = player.play(library.resolve("en", &["goodbye"]).unwrap(), true);
/// let mut frame = [0u8; 160];
/// let mut ended = None;
/// while ended.is_none() {
///     player.fill(Codec::Pcmu, &mut frame, |i, end| ended = Some((i, end)));
/// }
/// assert_eq!(ended, Some((id, PlaybackEnd::Finished)));
/// ```
#[derive(Debug, Default)]
pub struct Player {
    queue: VecDeque<Playback>,
    item: usize,
    position: usize,
    noise_position: usize,
    next_id: u64,
}

impl Player {
    /// Queues items to play after whatever is queued; returns the playback's id.
    /// `barge_in`: a key press stops it (see [`Player::barge_in`]).
    pub fn play(&mut self, items: Vec<PlayItem>, barge_in: bool) -> PlaybackId {
        self.next_id += 1;
        let id = PlaybackId(self.next_id);
        self.play_as(id, items, barge_in);
        id
    }

    /// Like [`play`](Self::play) with an id the caller chose (the driver numbers playbacks
    /// before they reach the session).
    pub fn play_as(&mut self, id: PlaybackId, items: Vec<PlayItem>, barge_in: bool) {
        self.queue.push_back(Playback {
            id,
            items,
            barge_in,
        });
    }

    /// Stops everything playing and queued; `on_end` hears of each as interrupted.
    pub fn stop(&mut self, mut on_end: impl FnMut(PlaybackId, PlaybackEnd)) {
        for p in self.queue.drain(..) {
            on_end(p.id, PlaybackEnd::Interrupted);
        }
        self.item = 0;
        self.position = 0;
    }

    /// A key was pressed: stops the current playback and every queued one if the current
    /// one allows barge-in. Returns whether it did.
    pub fn barge_in(&mut self, on_end: impl FnMut(PlaybackId, PlaybackEnd)) -> bool {
        if self.queue.front().is_some_and(|p| p.barge_in) {
            self.stop(on_end);
            true
        } else {
            false
        }
    }

    /// Whether something is playing or queued.
    pub fn is_playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Writes the next `out.len()` samples in `codec`; `on_end` hears of playbacks that
    /// finish within the frame.
    pub fn fill(
        &mut self,
        codec: Codec,
        out: &mut [u8],
        mut on_end: impl FnMut(PlaybackId, PlaybackEnd),
    ) {
        let mut written = 0;
        while written < out.len() {
            let Some(playback) = self.queue.front() else {
                let noise = match codec {
                    Codec::Pcmu => &comfort_noise().pcmu,
                    Codec::Pcma => &comfort_noise().pcma,
                };
                while written < out.len() {
                    let n = (out.len() - written).min(noise.len() - self.noise_position);
                    out[written..written + n]
                        .copy_from_slice(&noise[self.noise_position..self.noise_position + n]);
                    written += n;
                    self.noise_position = (self.noise_position + n) % noise.len();
                }
                return;
            };
            let Some(item) = playback.items.get(self.item) else {
                let id = playback.id;
                self.queue.pop_front();
                self.item = 0;
                self.position = 0;
                on_end(id, PlaybackEnd::Finished);
                continue;
            };
            let remaining = item.samples() - self.position.min(item.samples());
            let n = remaining.min(out.len() - written);
            match item {
                PlayItem::Prompt(p) => out[written..written + n]
                    .copy_from_slice(&p.encoded(codec)[self.position..self.position + n]),
                PlayItem::Silence(_) => {
                    let noise = match codec {
                        Codec::Pcmu => &comfort_noise().pcmu,
                        Codec::Pcma => &comfort_noise().pcma,
                    };
                    for (i, o) in out[written..written + n].iter_mut().enumerate() {
                        *o = noise[(self.position + i) % noise.len()];
                    }
                }
            }
            written += n;
            self.position += n;
            if self.position >= item.samples() {
                self.item += 1;
                self.position = 0;
            }
        }
        // A playback whose last sample went out in this frame has finished now.
        while let Some(p) = self.queue.front()
            && self.item >= p.items.len()
        {
            let id = p.id;
            self.queue.pop_front();
            self.item = 0;
            on_end(id, PlaybackEnd::Finished);
        }
    }
}
