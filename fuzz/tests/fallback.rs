//! The fuzz targets without libFuzzer, for machines with only a stable toolchain (and as a
//! regression test everywhere): each target gets every seed in `fuzz/seeds/<target>/`, every
//! input of the corpus fuzzing has grown (`<fuzz dir>/corpus/<target>/`), then a fixed
//! number of deterministic mutations of them ([`deflect_fuzz::mutate`]), through the same
//! entry functions as the libFuzzer binaries.
//!
//! Settings (environment):
//! - `DEFLECT_FUZZ_DIR`: the fuzz cache (default `~/.cache/deflect/fuzz`);
//! - `DEFLECT_FUZZ_MUTATIONS`: mutations per target (default 10,000);
//! - `DEFLECT_FUZZ_INPUT`: replay this one file only (with `--exact <target>`).
//!
//! An input that makes a target panic is written to `<fuzz dir>/artifacts/<target>/` and
//! the test fails naming the file; `cargo +nightly fuzz run <target> <file>` or
//! `DEFLECT_FUZZ_INPUT=<file> cargo test --no-default-features -- --exact <target>`
//! reproduces it.

use deflect_fuzz::mutate::Mutator;
use deflect_fuzz::{TARGETS, Target};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DEFLECT_FUZZ_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("deflect").join("fuzz")
}

/// The files of `dir`, sorted by name (none when it does not exist).
fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| match std::fs::read(&p) {
            Ok(bytes) => Some((p, bytes)),
            // A corpus being minimised by a fuzzer running beside this.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("{}: {e}", p.display()),
        })
        .collect()
}

/// Runs one input; on a panic, keeps it as an artifact and fails naming it.
fn run_one(target: &Target, input: &[u8], origin: &str) {
    if catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_ok() {
        return;
    }
    let dir = fuzz_dir().join("artifacts").join(target.name);
    std::fs::create_dir_all(&dir).expect("the artifacts directory can be made");
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("fallback-crash-{hash:016x}"));
    std::fs::write(&path, input).expect("the artifact can be written");
    panic!(
        "fuzz target {} panicked on {origin}; the input is saved as {}\n\
         reproduce: DEFLECT_FUZZ_INPUT={} cargo test --manifest-path fuzz/Cargo.toml \
         --no-default-features -- --exact {}",
        target.name,
        path.display(),
        path.display(),
        target.name
    );
}

fn fuzz(name: &str) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a target of that name");
    if let Some(file) = std::env::var_os("DEFLECT_FUZZ_INPUT") {
        let bytes = std::fs::read(&file).expect("DEFLECT_FUZZ_INPUT names a readable file");
        run_one(target, &bytes, &PathBuf::from(file).display().to_string());
        return;
    }
    let seeds_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(name);
    let seeds = inputs(&seeds_dir);
    assert!(
        !seeds.is_empty(),
        "no seeds for {name} in {}",
        seeds_dir.display()
    );
    let corpus = inputs(&fuzz_dir().join("corpus").join(name));
    let all: Vec<&(PathBuf, Vec<u8>)> = seeds.iter().chain(&corpus).collect();
    for (path, bytes) in &all {
        run_one(target, bytes, &path.display().to_string());
    }
    let mutations: usize = std::env::var("DEFLECT_FUZZ_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let seed = name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31) + u64::from(b));
    let mut mutator = Mutator::new(seed);
    for i in 0..mutations {
        let (path, input) = all[i % all.len()];
        let (_, other) = all[(i * 7 + 3) % all.len()];
        let mutated = mutator.mutate(input, other);
        run_one(
            target,
            &mutated,
            &format!("mutation {i} of {}", path.display()),
        );
    }
    println!(
        "{name}: {} seeds, {} corpus inputs, {mutations} mutations",
        seeds.len(),
        corpus.len()
    );
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                fuzz(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_fallback_test() {
            let here = [$(stringify!($name)),*];
            for t in TARGETS {
                assert!(here.contains(&t.name), "no fallback test for {}", t.name);
            }
        }
    };
}

targets!(
    message,
    headers,
    stream_frame,
    endpoint,
    sdp,
    rtp_session,
    meta_webhook,
    twilio_webhook,
    sinch_webhook,
    kaleyra_webhook,
);
