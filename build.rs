//! The `deflect` binary links the IVR, hence the Vosk speech library: the same link search
//! path and run-time search path as `ivr/build.rs` (see there), emitted for this package's
//! binary and test binaries.

include!("ivr/build.rs");
