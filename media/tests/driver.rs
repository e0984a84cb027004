//! The tokio driver over loopback sockets: answer, symmetric RTP latching, DTMF in, prompts
//! out, re-offers, INFO, RTP timeout, port exhaustion, WebRTC calls either side offers.
#![allow(clippy::unwrap_used)]

use deflect_config::{MediaConfig, PortRange};
use deflect_media::driver::{CallOptions, CreateError, MediaCall, MediaEngine};
use deflect_media::dtmf::DtmfSource;
use deflect_media::dtmf::telephone_event::TelephoneEvent;
use deflect_media::playback::{PlaybackEnd, PlaybackId, PromptLibrary};
use deflect_media::sdp::Direction;
use deflect_media::session::MediaEvent;
use std::net::UdpSocket as StdSocket;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// A block of `n` consecutive free UDP ports on loopback.
fn free_range(n: u16) -> PortRange {
    loop {
        let probe = StdSocket::bind("127.0.0.1:0").unwrap();
        let base = probe.local_addr().unwrap().port() & !1;
        drop(probe);
        if base < 1024 || base > 65535 - n {
            continue;
        }
        if (base..base + n).all(|p| StdSocket::bind(("127.0.0.1", p)).is_ok()) {
            return PortRange {
                first: base,
                last: base + n - 1,
            };
        }
    }
}

fn engine(ports: u16, rtp_timeout: Duration) -> MediaEngine {
    let config = MediaConfig {
        rtp_ports: free_range(ports),
        rtp_timeout,
        ..MediaConfig::default()
    };
    MediaEngine::start(&config, Arc::new(PromptLibrary::builtin()), None, 1)
}

/// An offer that claims an address where nothing listens (as behind NAT).
fn offer(pt: u8) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP {pt} 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
}

fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    rtp_rs::RtpPacketBuilder::new()
        .payload_type(pt)
        .ssrc(0x1234)
        .sequence(seq.into())
        .timestamp(ts)
        .payload(payload)
        .build()
        .unwrap()
}

async fn next_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<MediaEvent>,
    mut want: impl FnMut(&MediaEvent) -> bool,
) -> MediaEvent {
    timeout(Duration::from_secs(10), async {
        loop {
            let e = events.recv().await.expect("the session ended");
            if want(&e) {
                return e;
            }
        }
    })
    .await
    .expect("event in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_latches_hears_digits_plays_prompts_and_renegotiates() {
    let engine = engine(20, Duration::from_secs(30));
    let mut call = engine
        .create_session(offer(8).as_bytes(), CallOptions::default())
        .unwrap();
    assert!(
        call.answer
            .contains(&format!("m=audio {} RTP/AVP 8 101", call.local_rtp.port()))
    );
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // The phone speaks first; the gateway latches onto its real address and answers there.
    let mut seq = 100u16;
    let mut ts = 8000u32;
    for _ in 0..3 {
        phone
            .send_to(&rtp(8, seq, ts, &[0xD5; 160]), call.local_rtp)
            .await
            .unwrap();
        seq += 1;
        ts += 160;
    }
    let mut buf = [0u8; 1500];
    let (n, from) = timeout(Duration::from_secs(5), phone.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, call.local_rtp);
    let r = rtp_rs::RtpReader::new(&buf[..n]).unwrap();
    assert_eq!((r.payload_type(), r.payload().len()), (8, 160));

    // A prompt plays to the end.
    let id = call.handle.play_prompts("en", &["digit_1"], false).unwrap();
    let e = next_event(&mut call.events, |e| {
        matches!(e, MediaEvent::Playback { .. })
    })
    .await;
    assert_eq!(
        e,
        MediaEvent::Playback {
            id,
            end: PlaybackEnd::Finished
        }
    );

    // A key press (start, continuation, three ends) is one digit.
    for (i, end) in [(1u16, false), (2, false), (2, true), (2, true), (2, true)] {
        let ev = TelephoneEvent {
            event: 9,
            end,
            volume: 10,
            duration: 160 * i,
        };
        phone
            .send_to(&rtp(101, seq, ts, &ev.to_bytes()), call.local_rtp)
            .await
            .unwrap();
        seq += 1;
    }
    let e = next_event(&mut call.events, |e| matches!(e, MediaEvent::Dtmf(_))).await;
    let MediaEvent::Dtmf(d) = e else {
        unreachable!()
    };
    assert_eq!((d.digit.as_char(), d.source), ('9', DtmfSource::Rfc4733));

    // INFO digits join the stream; a bad body is an error for the SIP side.
    call.handle
        .info_dtmf("application/dtmf-relay", b"Signal=#\r\nDuration=100\r\n")
        .unwrap();
    assert!(
        call.handle
            .info_dtmf("application/dtmf-relay", b"Signal=?")
            .is_err()
    );
    let e = next_event(&mut call.events, |e| matches!(e, MediaEvent::Dtmf(_))).await;
    let MediaEvent::Dtmf(d) = e else {
        unreachable!()
    };
    assert_eq!((d.digit.as_char(), d.source), ('#', DtmfSource::SipInfo));

    // A G.729 re-offer is refused and the call goes on; a PCMU one switches the codec.
    let g729 = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 18\r\n";
    assert!(call.handle.renegotiate(g729.as_bytes()).await.is_err());
    let answer = call.handle.renegotiate(offer(0).as_bytes()).await.unwrap();
    assert!(answer.answer.contains("RTP/AVP 0 101"));
    assert_eq!(answer.peer_direction, Direction::SendRecv);
    // The peer's address in SDP did not change, so the latch holds: PCMU arrives.
    let pcmu = timeout(Duration::from_secs(5), async {
        loop {
            let (n, _) = phone.recv_from(&mut buf).await.unwrap();
            if rtp_rs::RtpReader::new(&buf[..n]).unwrap().payload_type() == 0 {
                return;
            }
        }
    })
    .await;
    assert!(pcmu.is_ok());

    // Listening gives the caller's audio.
    call.handle.listen(true);
    phone
        .send_to(&rtp(0, seq, ts + 800, &[0x80; 160]), call.local_rtp)
        .await
        .unwrap();
    let e = next_event(&mut call.events, |e| matches!(e, MediaEvent::Audio(_))).await;
    let MediaEvent::Audio(frame) = e else {
        unreachable!()
    };
    assert_eq!(frame.samples, vec![32124i16; 160]);

    call.handle.close();
    let ended = timeout(Duration::from_secs(5), async {
        while call.events.recv().await.is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the events stream ends when the session does"
    );
}

#[tokio::test]
async fn silence_from_the_phone_times_the_call_out() {
    let engine = engine(4, Duration::from_secs(1));
    let mut call = engine
        .create_session(offer(0).as_bytes(), CallOptions::default())
        .unwrap();
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    phone
        .send_to(&rtp(0, 1, 0, &[0xFF; 160]), call.local_rtp)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let e = next_event(&mut call.events, |e| {
        matches!(e, MediaEvent::RtpTimeout { .. })
    })
    .await;
    let MediaEvent::RtpTimeout { silent_for } = e else {
        unreachable!()
    };
    assert!(silent_for >= Duration::from_secs(1));
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn offers_that_cannot_be_served_get_488_or_503() {
    let engine = engine(2, Duration::from_secs(30));
    let g729 = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 18\r\n";
    let e = engine
        .create_session(g729.as_bytes(), CallOptions::default())
        .unwrap_err();
    assert_eq!(e.sip_status(), 488);
    let e = engine
        .create_session(b"nonsense", CallOptions::default())
        .unwrap_err();
    assert_eq!(e.sip_status(), 400);
    let mut first = engine
        .create_session(offer(0).as_bytes(), CallOptions::default())
        .unwrap();
    let e = engine
        .create_session(offer(0).as_bytes(), CallOptions::default())
        .unwrap_err();
    assert!(matches!(e, CreateError::Ports(_)));
    assert_eq!(e.sip_status(), 503);
    // When the call has ended (its events stream closes as its sockets are dropped) its
    // ports come back.
    first.handle.close();
    let ended = timeout(Duration::from_secs(5), async {
        while first.events.recv().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok());
    let second = engine
        .create_session(offer(0).as_bytes(), CallOptions::default())
        .unwrap();
    // Dropping a call's events receiver ends it too (within ten visits, 200 ms): its
    // ports come back.
    drop(second.events);
    let third = timeout(Duration::from_secs(5), async {
        loop {
            match engine.create_session(offer(0).as_bytes(), CallOptions::default()) {
                Ok(call) => return call,
                Err(e) => assert_eq!(e.sip_status(), 503),
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(third.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offering_side_sends_digits_the_answering_side_hears_once_each() {
    let caller = engine(4, Duration::from_secs(30));
    let gateway = engine(4, Duration::from_secs(30));
    let offered = caller.offer(CallOptions::default()).unwrap();
    assert!(offered.offer.contains(" 0 8 101\r\n"), "{}", offered.offer);
    let mut answering = gateway
        .create_session(offered.offer.as_bytes(), CallOptions::default())
        .unwrap();
    let mut calling = caller
        .answered(offered, answering.answer.as_bytes())
        .unwrap();
    assert_eq!(calling.media.telephone_event, Some(101));
    calling
        .handle
        .send_dtmf(
            "0612345678#",
            Duration::from_millis(80),
            Duration::from_millis(60),
        )
        .unwrap();
    assert_eq!(
        calling
            .handle
            .send_dtmf("12x", Duration::ZERO, Duration::ZERO),
        Err('x')
    );
    let mut heard = String::new();
    while heard.len() < 11 {
        if let MediaEvent::Dtmf(d) =
            next_event(&mut answering.events, |e| matches!(e, MediaEvent::Dtmf(_))).await
        {
            assert_eq!(d.source, DtmfSource::Rfc4733);
            heard.push(d.digit.as_char());
        }
    }
    assert_eq!(heard, "0612345678#");
    let mut sent = String::new();
    while sent.len() < 11 {
        if let MediaEvent::DtmfSent(d) = next_event(&mut calling.events, |e| {
            matches!(e, MediaEvent::DtmfSent(_))
        })
        .await
        {
            sent.push(d.as_char());
        }
    }
    assert_eq!(sent, "0612345678#");
    calling.handle.close();
    answering.handle.close();
}

/// A WebRTC caller (ICE-lite, as WhatsApp's side is) on a loopback socket, driven here.
struct WebRtcPeer {
    caller: deflect_media::webrtc::WebRtcCaller,
    socket: UdpSocket,
}

impl WebRtcPeer {
    /// Runs the caller for `d` (real time): datagrams both ways, its timers.
    async fn run_for(&mut self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        let mut buf = vec![0u8; 2048];
        loop {
            let now = std::time::Instant::now();
            self.caller.handle_timeout(now);
            while let Some(t) = self.caller.poll_transmit(&mut buf) {
                self.socket
                    .send_to(&buf[..t.len], t.destination)
                    .await
                    .unwrap();
            }
            let wake = self
                .caller
                .poll_timeout()
                .map_or(until, tokio::time::Instant::from_std)
                .min(until)
                .max(tokio::time::Instant::now() + Duration::from_millis(1));
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let (n, from) = r.unwrap();
                    self.caller.handle_datagram(std::time::Instant::now(), from, &buf[..n]);
                }
                () = tokio::time::sleep_until(wake) => {}
            }
            if tokio::time::Instant::now() >= until {
                return;
            }
        }
    }
}

impl WebRtcPeer {
    /// Runs until `call` played prompt `id` out and its last frames arrived; returns what
    /// the peer heard.
    async fn hear_prompt(&mut self, call: &mut MediaCall, id: PlaybackId) -> Vec<i16> {
        let mut ended = false;
        for _ in 0..100 {
            self.run_for(Duration::from_millis(50)).await;
            while let Ok(event) = call.events.try_recv() {
                ended |= matches!(event, MediaEvent::Playback { id: e, .. } if e == id);
            }
            if ended {
                break;
            }
        }
        assert!(self.caller.is_connected());
        assert!(ended, "the prompt was played out");
        // Its last frames are on their way.
        self.run_for(Duration::from_millis(200)).await;
        self.caller.take_heard()
    }

    /// Presses `key` (RFC 4733, 80 ms); returns the digit `call` heard and how.
    async fn press(&mut self, call: &mut MediaCall, key: char) -> (char, DtmfSource) {
        let digit = deflect_media::dtmf::Digit::from_char(key).unwrap();
        self.caller.send_digit(std::time::Instant::now(), digit, 4);
        self.run_for(Duration::from_millis(100)).await;
        let event = next_event(&mut call.events, |e| matches!(e, MediaEvent::Dtmf(_))).await;
        let MediaEvent::Dtmf(d) = event else {
            unreachable!()
        };
        (d.digit.as_char(), d.source)
    }
}

/// The mean absolute sample: speech is loud, silence near 0.
fn energy(samples: &[i16]) -> i64 {
    samples.iter().map(|x| i64::from(*x).abs()).sum::<i64>() / samples.len().max(1) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_call_connects_plays_and_hears_digits() {
    use deflect_media::webrtc::WebRtcCaller;
    let engine = engine(4, Duration::from_secs(5));
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let at = socket.local_addr().unwrap();
    let (caller, offer) = WebRtcCaller::offer(std::time::Instant::now(), at, true).unwrap();
    let mut call = engine
        .create_webrtc_session(&offer, CallOptions::default())
        .unwrap();
    let id = call.handle.play_prompts("en", &["goodbye"], false).unwrap();
    let mut peer = WebRtcPeer { caller, socket };
    peer.caller
        .answered(std::time::Instant::now(), &call.answer)
        .unwrap();
    let heard = peer.hear_prompt(&mut call, id).await;
    let goodbye = PromptLibrary::builtin().get("en", "goodbye").unwrap();
    assert!(
        heard.len() >= goodbye.pcm.len(),
        "the whole prompt is heard: {} of {} samples",
        heard.len(),
        goodbye.pcm.len()
    );
    assert!(
        energy(&heard) > 100,
        "speech, not silence: {}",
        energy(&heard)
    );

    // A key pressed on the caller's side is heard once.
    assert_eq!(peer.press(&mut call, '7').await, ('7', DtmfSource::Rfc4733));

    // A re-offer is refused (as SIP's 488), the call goes on.
    assert!(call.handle.renegotiate(offer.as_bytes()).await.is_err());

    // Closed: the media stops.
    call.handle.close();
    peer.run_for(Duration::from_millis(100)).await;
    peer.caller.take_heard();
    peer.run_for(Duration::from_millis(200)).await;
    assert!(
        peer.caller.take_heard().is_empty(),
        "nothing after the close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_call_this_side_offers_connects_once_answered() {
    use deflect_media::webrtc::WebRtcCaller;
    let engine = engine(4, Duration::from_secs(5));
    let offered = engine.offer_webrtc(CallOptions::default()).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let at = socket.local_addr().unwrap();
    // The callee answers as WhatsApp's side of a business-initiated call does.
    let (caller, answer) =
        WebRtcCaller::answer(std::time::Instant::now(), at, true, &offered.offer).unwrap();
    let mut call = engine.answered_webrtc(offered, &answer).unwrap();
    let id = call.handle.play_prompts("en", &["goodbye"], false).unwrap();
    let mut peer = WebRtcPeer { caller, socket };
    let heard = peer.hear_prompt(&mut call, id).await;
    assert!(energy(&heard) > 100, "the callee hears the prompt");
    assert_eq!(peer.press(&mut call, '3').await, ('3', DtmfSource::Rfc4733));
    call.handle.close();
}

#[tokio::test]
async fn an_unusable_answer_to_a_webrtc_offer_frees_its_port() {
    let engine = engine(2, Duration::from_secs(5));
    let offered = engine.offer_webrtc(CallOptions::default()).unwrap();
    assert!(
        engine.offer_webrtc(CallOptions::default()).is_err(),
        "the only port pair is taken by the offer"
    );
    let refused = engine.answered_webrtc(offered, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n");
    assert!(
        matches!(refused, Err(CreateError::WebRtc(_))),
        "{refused:?}"
    );
    assert!(engine.offer_webrtc(CallOptions::default()).is_ok(), "freed");
}
