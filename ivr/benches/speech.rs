//! The recogniser's CPU per second of caller audio, grammar-restricted to Korean digit
//! words with the Korean Vosk model (8 kHz, 20 ms frames). Needs espeak-ng, sox and the
//! model (`scripts/test` installs them).
//!
//! `cargo bench -p deflect-ivr --bench speech`

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use deflect_config::IvrConfig;
use deflect_ivr::speech::models_dirs;
use deflect_ivr::{Flows, SpeechModels};
use std::hint::black_box;
use std::path::Path;
use std::process::Command;

fn korean_audio() -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("s.wav");
    let raw = dir.path().join("s.raw");
    let ok = Command::new("espeak-ng")
        .args(["-v", "ko", "-w"])
        .arg(&wav)
        .arg("공 일 공 일 이 삼 사 오 육 칠 팔")
        .status()
        .unwrap()
        .success()
        && Command::new("sox")
            .arg(&wav)
            .args([
                "-r", "8000", "-c", "1", "-e", "signed", "-b", "16", "-t", "raw",
            ])
            .arg(&raw)
            .args(["pad", "0.5", "0.5"])
            .status()
            .unwrap()
            .success();
    assert!(
        ok,
        "espeak-ng and sox are needed (scripts/test installs them)"
    );
    std::fs::read(&raw)
        .unwrap()
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn bench(c: &mut Criterion) {
    let toml = "[[ivr.flows]]\nname = \"ko\"\nlanguage = \"ko\"\ncountry = \"KR\"\n";
    let path = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(path.path(), toml).unwrap();
    let ivr = deflect_config::load(Some(path.path()), Vec::<(String, String)>::new())
        .unwrap()
        .ivr;
    let models = SpeechModels::load(
        &ivr,
        &models_dirs(&IvrConfig::default(), Path::new("/nonexistent")),
    );
    assert!(
        models.has("ko"),
        "the Korean model is needed (scripts/test installs it)"
    );
    let flows = Flows::new(&ivr, |l| models.has(l)).unwrap();
    let flow = flows.route("1").clone();
    let audio = korean_audio();
    let seconds = audio.len() as f64 / 8000.0;
    let mut g = c.benchmark_group("ivr/recogniser_ko_grammar");
    g.sample_size(10);
    // Throughput in samples: criterion prints samples/s; CPU per audio second = 8000 / that.
    g.throughput(Throughput::Elements(audio.len() as u64));
    g.bench_function(format!("{seconds:.2}s_of_8khz_audio"), |b| {
        b.iter(|| {
            let mut rec = models.recogniser(&flow, 8000).unwrap();
            for frame in audio.chunks(160) {
                black_box(rec.accept(frame));
            }
            black_box(rec.finish())
        })
    });
    g.bench_function("new_recogniser", |b| {
        b.iter(|| black_box(models.recogniser(&flow, 8000).is_some()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
