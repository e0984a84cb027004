//! A WebRTC peer for whole-binary tests: deflect-media's far end (ICE-lite, as WhatsApp's
//! side is) on a loopback socket, driven on a thread of its own — offering, as a customer
//! calling, or answering deflect's offer, as a customer called. The test presses keys, makes
//! it speak (a tone) and reads what it heard through the handle.

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
    speaking: Arc<AtomicBool>,
    /// Its SDP offer (empty for a peer that answered one).
    pub offer: String,
}

impl WebRtcPeer {
    /// An ICE-lite peer offering Opus and telephone-event/8000 from a loopback socket.
    pub fn start() -> Self {
        let socket = loopback();
        let at = socket.local_addr().unwrap();
        let (caller, offer) = WebRtcCaller::offer(Instant::now(), at, true).unwrap();
        Self::run(caller, socket, offer)
    }

    /// An ICE-lite peer answering deflect's `offer` from a loopback socket, as WhatsApp's
    /// side of a call the business places; returns it with its answer.
    pub fn answering(offer: &str) -> (Self, String) {
        let socket = loopback();
        let at = socket.local_addr().unwrap();
        let (caller, answer) = WebRtcCaller::answer(Instant::now(), at, true, offer).unwrap();
        (Self::run(caller, socket, String::new()), answer)
    }

    /// Drives `caller` on `socket` on a thread of its own.
    fn run(caller: WebRtcCaller, socket: UdpSocket, offer: String) -> Self {
        let caller = Arc::new(Mutex::new(caller));
        let stop = Arc::new(AtomicBool::new(false));
        let speaking = Arc::new(AtomicBool::new(false));
        let (driven, stopped, speaks) = (caller.clone(), stop.clone(), speaking.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            let (mut next_frame, mut phase) = (Instant::now(), 0usize);
            while !stopped.load(Ordering::Relaxed) {
                {
                    let mut c = driven.lock().unwrap();
                    let now = Instant::now();
                    if now >= next_frame {
                        next_frame += Duration::from_millis(20);
                        if speaks.load(Ordering::Relaxed) && c.is_connected() {
                            c.send_audio(now, &tone(&mut phase));
                        }
                    }
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
            speaking,
            offer,
        }
    }

    /// Speaks from now on: a 440 Hz tone, one 20 ms frame every 20 ms once connected.
    pub fn speak(&self) {
        self.speaking.store(true, Ordering::Relaxed);
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

    /// Waits until it heard `frames` loud 20 ms frames (any sample above 1000), at most
    /// `within`; panics with how many it heard by then.
    pub fn wait_to_hear(&self, frames: usize, within: Duration) {
        let deadline = Instant::now() + within;
        let mut loud = 0;
        while loud < frames {
            assert!(Instant::now() < deadline, "{loud} loud frames heard");
            loud += (self.heard().chunks(160))
                .filter(|f| f.iter().any(|s| s.abs() > 1000))
                .count();
            // The peer's own thread fills what it heard; this only looks every 10 ms.
            std::thread::sleep(Duration::from_millis(10));
        }
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

fn loopback() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    socket
}

/// The next 20 ms (8 kHz) of a 440 Hz tone at a third of full scale; `phase` counts samples.
fn tone(phase: &mut usize) -> [i16; 160] {
    std::array::from_fn(|_| {
        let t = *phase as f64 / 8000.0;
        *phase += 1;
        (f64::sin(2.0 * std::f64::consts::PI * 440.0 * t) * 10_000.0) as i16
    })
}
