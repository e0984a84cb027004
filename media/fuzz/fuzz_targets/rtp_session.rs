//! RTP, RTCP and SIP INFO input into a live session never panics: the input is split into
//! datagrams at 0xFF 0xFF 0xFF, each fed as RTP, RTCP and an INFO body.
#![no_main]

use deflect_media::sdp::LocalDescription;
use deflect_media::session::{MediaSession, SessionConfig};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant, SystemTime};

const OFFER: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let local = LocalDescription::new([127, 0, 0, 1].into(), 20000);
    let config = SessionConfig {
        inband_dtmf: true,
        ..SessionConfig::default()
    };
    let Ok((mut s, _)) = MediaSession::new(t0, SystemTime::now(), config, local, OFFER) else {
        return;
    };
    s.set_tap(true);
    let from = "192.0.2.1:4000".parse().expect("literal");
    let mut buf = [0u8; 1500];
    for (i, d) in data.split(|&b| b == 0xFF).enumerate() {
        let now = t0 + Duration::from_millis(10 * i as u64);
        s.handle_rtp(now, from, d);
        s.handle_rtcp(now, from, d);
        let _ = s.handle_info_dtmf(now, "application/dtmf-relay", d);
        s.handle_timeout(now);
        while s.poll_transmit(now, &mut buf).is_some() {}
        while s.poll_event().is_some() {}
    }
});
