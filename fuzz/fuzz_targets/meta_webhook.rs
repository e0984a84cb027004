//! libFuzzer binary of the `meta_webhook` target: see [`deflect_fuzz::webhook::meta`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::webhook::meta(data));
