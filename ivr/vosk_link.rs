// Shared by the build scripts of `deflect-ivr` and of the `deflect` binary (included by
// both with `include!`): see `ivr/build.rs` for what it does and why.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=VOSK_LIB_DIR");
    println!("cargo:rerun-if-env-changed=XDG_CACHE_HOME");
    println!("cargo:rerun-if-env-changed=HOME");
    let dir = vosk_lib_dir();
    let lib = dir.join("libvosk.so");
    println!("cargo:rerun-if-changed={}", lib.display());
    if !lib.is_file() {
        eprintln!(
            "error: the Vosk speech library was not found at {}.\n\
             deflect links it for speech input. `scripts/run` and `scripts/test` install it \
             (from the PyPI wheel vosk==0.3.45) into ~/.cache/deflect/vosk/lib; or set \
             VOSK_LIB_DIR to the directory holding libvosk.so.",
            lib.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}

fn vosk_lib_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VOSK_LIB_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("deflect/vosk/lib")
}
