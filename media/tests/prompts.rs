//! The prompt library: built-in prompts, replacement from a directory, resampling at load.
#![allow(clippy::unwrap_used)]

use deflect_media::playback::{BUILTIN_PROMPTS, PromptError, PromptLibrary, read_wav, resample};
use std::f32::consts::PI;
use std::path::Path;

fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Power of `x` at frequency `f` (8 kHz), normalised to the signal's energy.
fn share_at(x: &[f32], f: f32) -> f32 {
    let (mut re, mut im) = (0.0f32, 0.0f32);
    for (n, &v) in x.iter().enumerate() {
        let w = 2.0 * PI * f * n as f32 / 8000.0;
        re += v * w.cos();
        im -= v * w.sin();
    }
    let energy: f32 = x.iter().map(|v| v * v).sum();
    2.0 * (re * re + im * im) / x.len() as f32 / energy
}

#[test]
fn every_builtin_prompt_is_compiled_in_at_8khz_mono_with_audio() {
    let lib = PromptLibrary::builtin();
    for (language, name, bytes) in BUILTIN_PROMPTS {
        let spec = hound::WavReader::new(std::io::Cursor::new(bytes))
            .unwrap()
            .spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (8000, 1, 16),
            "{language}/{name}"
        );
        let p = lib.get(language, name).unwrap();
        assert_eq!(p.name, format!("{language}/{name}"), "its own, not English");
        assert!(
            p.duration().as_millis() > 150,
            "{language}/{name} is {:?}",
            p.duration()
        );
    }
    // Every language has every name (the build checks the lists; this, the compiled set).
    for language in deflect_config::BUILTIN_PROMPT_LANGUAGES {
        for name in deflect_config::BUILTIN_PROMPTS {
            assert!(lib.has(language, name), "{language}/{name}");
        }
    }
    assert_eq!(
        deflect_config::BUILTIN_PROMPT_LANGUAGES,
        ["de", "en", "es", "fr", "ko", "nl", "pt"]
    );
    // The prompts the default flow and the IVR engine name in code are in the list
    // (media/prompts/en/prompts.txt).
    let names: Vec<&str> = BUILTIN_PROMPTS.iter().map(|(_, n, _)| *n).collect();
    for name in [
        "welcome",
        "offer_caller_number",
        "enter_number",
        "you_entered",
        "confirm_options",
        "invalid_number",
        "no_input",
        "too_many_attempts",
        "message_sent",
        "limit_reached",
        "goodbye",
        "digit_0",
        "digit_1",
        "digit_2",
        "digit_3",
        "digit_4",
        "digit_5",
        "digit_6",
        "digit_7",
        "digit_8",
        "digit_9",
        "plus",
    ] {
        assert!(names.contains(&name), "{name} is not built in");
    }
}

#[test]
fn a_prompts_directory_replaces_and_adds_prompts_resampled_at_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::create_dir_all(dir.path().join("it")).unwrap();
    // 44.1 kHz stereo, one second of 1 kHz in both channels.
    let stereo: Vec<f32> = (0..44100)
        .flat_map(|n| {
            let v = 0.5 * (2.0 * PI * 1000.0 * n as f32 / 44100.0).sin();
            [v, v]
        })
        .collect();
    write_wav(&dir.path().join("en/welcome.wav"), 44100, 2, &stereo);
    write_wav(&dir.path().join("it/benvenuto.wav"), 8000, 1, &[0.1; 800]);
    std::fs::write(dir.path().join("it/README.txt"), "not a prompt").unwrap();
    let lib = PromptLibrary::load(Some(dir.path())).unwrap();
    let welcome = lib.get("en", "welcome").unwrap();
    assert_eq!(welcome.pcm.len(), 8000);
    let x: Vec<f32> = welcome.pcm[400..7600]
        .iter()
        .map(|&s| f32::from(s))
        .collect();
    assert!(
        share_at(&x, 1000.0) > 0.95,
        "a 1 kHz tone stays a 1 kHz tone"
    );
    assert!(lib.get("it", "benvenuto").is_ok());
    // A language without a prompt falls back to the English one; a regional variant to
    // its primary language first.
    assert_eq!(lib.get("it", "goodbye").unwrap().name, "en/goodbye");
    assert!(!lib.has("it", "goodbye"));
    assert_eq!(lib.get("pt-BR", "goodbye").unwrap().name, "pt/goodbye");
    assert!(lib.has("pt-BR", "goodbye"));
    assert_eq!(lib.get("nl", "goodbye").unwrap().name, "nl/goodbye");
    // A gateway keeps the languages its flows speak, and English.
    let mut kept = PromptLibrary::builtin();
    kept.retain_languages(&["pt-BR", "it"]);
    let mut languages: Vec<&str> = kept.languages().collect();
    languages.sort_unstable();
    assert_eq!(languages, ["en", "pt"]);
    assert_eq!(kept.get("nl", "goodbye").unwrap().name, "en/goodbye");
    let missing = lib.get("it", "nope").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "no prompt \"nope\" for language \"it\""
    );
    assert!(lib.resolve("en", &["welcome", "nope"]).is_err());
}

#[test]
fn a_broken_prompt_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(dir.path().join("en/welcome.wav"), b"RIFF nonsense").unwrap();
    let e = PromptLibrary::load(Some(dir.path())).unwrap_err();
    assert!(matches!(e, PromptError::Wav { .. }));
    assert!(e.to_string().contains("welcome.wav"), "{e}");
    let e = PromptLibrary::load(Some(&dir.path().join("missing"))).unwrap_err();
    assert!(matches!(e, PromptError::Directory { .. }), "{e}");
}

#[test]
fn resampling_keeps_the_band_and_removes_what_8khz_cannot_carry() {
    let tone = |f: f32, rate: u32| -> Vec<f32> {
        (0..rate as usize)
            .map(|n| (2.0 * PI * f * n as f32 / rate as f32).sin())
            .collect()
    };
    for rate in [11025, 16000, 22050, 44100, 48000] {
        let pass = resample(&tone(1500.0, rate), rate, 8000);
        assert_eq!(pass.len(), 8000);
        let middle = &pass[500..7500];
        let rms = (middle.iter().map(|v| v * v).sum::<f32>() / middle.len() as f32).sqrt();
        assert!(
            (rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.02,
            "{rate}: 1.5 kHz rms {rms}"
        );
        assert!(share_at(middle, 1500.0) > 0.98);
        if rate >= 16000 {
            // 6 kHz would alias to 2 kHz: it must be gone (below -40 dB).
            let stop = resample(&tone(6000.0, rate), rate, 8000);
            let rms = (stop[500..7500].iter().map(|v| v * v).sum::<f32>() / 7000.0).sqrt();
            assert!(rms < 0.01, "{rate}: 6 kHz leaks at rms {rms}");
        }
    }
    // Reading a WAV at another rate resamples it.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        for _ in 0..1600 {
            w.write_sample(1000i16).unwrap();
        }
        w.finalize().unwrap();
    }
    buf.set_position(0);
    assert_eq!(read_wav(buf).unwrap().len(), 800);
}
