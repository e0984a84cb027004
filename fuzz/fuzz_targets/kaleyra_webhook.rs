//! libFuzzer binary of the `kaleyra_webhook` target: see [`deflect_fuzz::webhook::kaleyra`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::webhook::kaleyra(data));
