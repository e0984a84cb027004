//! Stream framing by Content-Length on arbitrary bytes: a frame never exceeds the input.
#![no_main]
use deflect_sip::message::frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(n)) = frame(data) {
        assert!(n <= data.len());
    }
});
