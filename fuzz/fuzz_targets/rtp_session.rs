//! libFuzzer binary of the `rtp_session` target: see [`deflect_fuzz::media::rtp_session`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::media::rtp_session(data));
