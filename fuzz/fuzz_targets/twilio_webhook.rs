//! libFuzzer binary of the `twilio_webhook` target: see [`deflect_fuzz::webhook::twilio`].
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| deflect_fuzz::webhook::twilio(data));
