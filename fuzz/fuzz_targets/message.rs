//! libFuzzer binary of the `message` target: see [`deflect_fuzz::sip::message`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::sip::message(data));
