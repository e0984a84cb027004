//! The `deflect` binary links the IVR, hence the Vosk speech library: the same link search
//! path and run-time search path as `ivr/build.rs` (see there), emitted for this package's
//! binary and test binaries — a `rustc-link-arg` reaches only the package that emits it.

include!("ivr/vosk_link.rs");
