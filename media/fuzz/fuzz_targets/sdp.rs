//! SDP offers from the network: parsing and answering never panic.
#![no_main]

use deflect_config::Codec;
use deflect_media::sdp::{LocalDescription, answer_offer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut local = LocalDescription::new([127, 0, 0, 1].into(), 20000);
    let _ = answer_offer(data, &[Codec::Pcmu, Codec::Pcma], &mut local);
});
