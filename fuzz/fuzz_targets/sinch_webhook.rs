//! libFuzzer binary of the `sinch_webhook` target: see [`deflect_fuzz::webhook::sinch`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::webhook::sinch(data));
