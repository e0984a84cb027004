//! libFuzzer binary of the `sdp` target: see [`deflect_fuzz::media::sdp`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::media::sdp(data));
