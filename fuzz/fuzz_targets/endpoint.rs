//! libFuzzer binary of the `endpoint` target: see [`deflect_fuzz::sip::endpoint`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::sip::endpoint(data));
