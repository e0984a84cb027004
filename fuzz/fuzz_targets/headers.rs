//! libFuzzer binary of the `headers` target: see [`deflect_fuzz::sip::headers`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::sip::headers(data));
