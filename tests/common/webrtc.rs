//! A WebRTC peer for whole-binary tests: deflect-media's offering caller (ICE-lite, as
//! WhatsApp's side is) on a loopback socket, driven on a thread of its own. The test presses
//! keys and reads what it heard through the handle.

use deflect_media::dtmf::Digit;
use deflect_media::webrtc::WebRtcCaller;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The peer; its thread stops when this is dropped.
pub struct WebRtcPeer {
    caller: Arc<Mutex<WebRtcCaller>>,
    stop: Arc<AtomicBool>,
    /// Its SDP offer.
    pub offer: String,
}

impl WebRtcPeer {
    /// An ICE-lite peer offering Opus and telephone-event/8000 from a loopback socket.
    pub fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let at = socket.local_addr().unwrap();
        let (caller, offer) = WebRtcCaller::offer(Instant::now(), at, true).unwrap();
        let caller = Arc::new(Mutex::new(caller));
        let stop = Arc::new(AtomicBool::new(false));
        let (driven, stopped) = (caller.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            while !stopped.load(Ordering::Relaxed) {
                {
                    let mut c = driven.lock().unwrap();
                    let now = Instant::now();
                    while let Ok((n, from)) = socket.recv_from(&mut buf) {
                        c.handle_datagram(now, from, &buf[..n]);
                    }
                    c.handle_timeout(now);
                    while let Some(t) = c.poll_transmit(&mut buf) {
                        let _ = socket.send_to(&buf[..t.len], t.destination);
                    }
                }
                // The socket is polled every millisecond (a peer's I/O loop, not a wait).
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        Self {
            caller,
            stop,
            offer,
        }
    }

    /// Takes deflect's answer.
    pub fn answered(&self, answer: &str) {
        let mut c = self.caller.lock().unwrap();
        c.answered(Instant::now(), answer).unwrap();
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.caller.lock().unwrap().is_connected()
    }

    /// Presses `key` for 100 ms (RFC 4733).
    pub fn press(&self, key: char) {
        let digit = Digit::from_char(key).unwrap();
        self.caller
            .lock()
            .unwrap()
            .send_digit(Instant::now(), digit, 5);
    }

    /// What it heard since the last call (8 kHz samples).
    pub fn heard(&self) -> Vec<i16> {
        self.caller.lock().unwrap().take_heard()
    }
}

impl Drop for WebRtcPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
