//! Links the Vosk speech library (`libvosk.so`, used through the `vosk` crate) and records
//! its directory as the run-time search path of every binary and test binary this package
//! builds, so they run without `LD_LIBRARY_PATH`.
//!
//! The library is looked for in `$VOSK_LIB_DIR`, else `$XDG_CACHE_HOME/deflect/vosk/lib`,
//! else `~/.cache/deflect/vosk/lib` — where `scripts/run` and `scripts/test` install it.
//! The root package's build script includes this file: a `rustc-link-arg` reaches only the
//! targets of the package whose build script emits it, so each package that produces a
//! binary linking the IVR needs its own copy of the instruction.
//!
//! Emitted as build-script instructions rather than `.cargo/config.toml` rustflags, which a
//! `RUSTFLAGS` environment variable would silently replace.

include!("vosk_link.rs");
