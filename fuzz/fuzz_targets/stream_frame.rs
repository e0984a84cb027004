//! libFuzzer binary of the `stream_frame` target: see [`deflect_fuzz::sip::stream_frame`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::sip::stream_frame(data));
