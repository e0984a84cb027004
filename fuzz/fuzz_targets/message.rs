//! The message parser on arbitrary bytes, as a datagram and as a framed stream message;
//! whatever parses must serialize and parse again.
#![no_main]
use deflect_sip::message::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for datagram in [true, false] {
        if let Ok(m) = Message::parse(data, datagram) {
            let bytes = match &m {
                Message::Request(r) => r.to_bytes(),
                Message::Response(r) => r.to_bytes(),
            };
            let _ = Message::parse(&bytes, false);
        }
    }
});
