//! The whole user agent on arbitrary datagrams from an allowed and an unknown source:
//! nothing reachable from the network panics.
#![no_main]
use deflect_config::{SipConfig, SipTransport};
use deflect_sip::endpoint::{Endpoint, EndpointConfig, Event};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let local = "127.0.0.1:5060".parse().unwrap();
    let config = EndpointConfig::new(&SipConfig::default(), &[(SipTransport::Udp, local)], 1);
    let mut ua = Endpoint::new(config, now);
    for (i, chunk) in data.split(|b| *b == 0xff).enumerate() {
        let from = if i % 2 == 0 { "127.0.0.2:5060" } else { "192.0.2.1:5060" };
        ua.handle_message(now, SipTransport::Udp, from.parse().unwrap(), chunk);
        while let Some(e) = ua.poll_event() {
            if let Event::Incoming(c) = e {
                ua.accept(now, c.key, b"v=0\r\n".to_vec());
            }
        }
        while ua.poll_transmit().is_some() {}
    }
    ua.handle_timeout(now + Duration::from_secs(64));
});
