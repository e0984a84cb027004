//! A caller written by hand over UDP, for what sipp cannot assert: how much RTP deflect
//! sends. It runs one dialog (INVITE, ACK, re-INVITEs, BYE) and counts the RTP reaching its
//! media socket; [`UdpCaller::start_rtp`] makes it send its own RTP (µ-law silence every
//! 20 ms) the whole time, as a phone on hold often keeps doing.

use super::PATIENCE;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One call from a hand-written UDP user agent.
pub struct UdpCaller {
    sip: UdpSocket,
    rtp: UdpSocket,
    gateway: SocketAddr,
    call_id: String,
    to_tag: Option<String>,
    cseq: u32,
    /// deflect's RTP address, from its answer.
    pub remote_rtp: Option<SocketAddr>,
    sender: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

/// A SIP response as text.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The whole message.
    pub text: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.text
            .split("\r\n\r\n")
            .next()?
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(str::trim)
    }

    /// The body (SDP).
    pub fn body(&self) -> &str {
        self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }
}

impl UdpCaller {
    /// A caller of the gateway's UDP SIP listener, with sockets on loopback.
    pub fn new(gateway: SocketAddr) -> Self {
        let sip = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        Self {
            call_id: format!("udp-caller-{}@127.0.0.1", sip.local_addr().unwrap().port()),
            sip,
            rtp,
            gateway,
            to_tag: None,
            cseq: 0,
            remote_rtp: None,
            sender: None,
        }
    }

    fn sdp(&self, connection: &str) -> String {
        let port = self.rtp.local_addr().unwrap().port();
        format!(
            "v=0\r\no=caller 1 {} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 {connection}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
            self.cseq
        )
    }

    fn request(&self, method: &str, cseq: u32, body: &str) -> String {
        let local = self.sip.local_addr().unwrap();
        let to_tag = self
            .to_tag
            .as_ref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        let content_type = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        };
        format!(
            "{method} sip:31201234567@{gw} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};rport;branch=z9hG4bK{method}{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:+31612345678@{local}>;tag=caller\r\n\
             To: <sip:31201234567@{gw}>{to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:caller@{local}>\r\n\
             {content_type}Content-Length: {len}\r\n\r\n{body}",
            gw = self.gateway,
            call_id = self.call_id,
            len = body.len(),
        )
    }

    fn send(&self, text: &str) {
        self.sip.send_to(text.as_bytes(), self.gateway).unwrap();
    }

    /// The final response to the request with CSeq `cseq` (provisional ones and
    /// retransmissions of earlier answers are skipped).
    fn final_response(&self, cseq: u32, method: &str) -> Response {
        let deadline = Instant::now() + PATIENCE;
        let mut buf = [0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no final response to {method} {cseq}");
            self.sip.set_read_timeout(Some(left)).unwrap();
            let Ok(n) = self.sip.recv(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let Some(status) = text
                .strip_prefix("SIP/2.0 ")
                .and_then(|s| s.get(..3))
                .and_then(|s| s.parse::<u16>().ok())
            else {
                continue; // a request from deflect; not expected in these tests
            };
            let response = Response { status, text };
            if status >= 200 && response.header("CSeq") == Some(&format!("{cseq} {method}")) {
                return response;
            }
        }
    }

    /// Sends an INVITE (the first, or a re-INVITE in the dialog) offering PCMU at this
    /// caller's RTP socket with `c=IN IP4 <connection>`; ACKs the 2xx and returns it.
    pub fn invite(&mut self, connection: &str) -> Response {
        self.cseq += 1;
        let cseq = self.cseq;
        let offer = self.sdp(connection);
        self.send(&self.request("INVITE", cseq, &offer));
        let ok = self.final_response(cseq, "INVITE");
        assert_eq!(ok.status, 200, "{}", ok.text);
        if self.to_tag.is_none() {
            let to = ok.header("To").unwrap();
            self.to_tag = Some(to.split(";tag=").nth(1).unwrap().to_owned());
        }
        let body = ok.body();
        let port: u16 = body
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|m| m.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        let ip = body
            .lines()
            .find_map(|l| l.strip_prefix("c=IN IP4 "))
            .unwrap()
            .trim();
        self.remote_rtp = Some(format!("{ip}:{port}").parse().unwrap());
        self.send(&self.request("ACK", cseq, ""));
        ok
    }

    /// Starts sending this caller's RTP to deflect (until the BYE).
    pub fn start_rtp(&mut self) {
        let socket = self.rtp.try_clone().unwrap();
        let to = self.remote_rtp.unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0xad, 0xca, 0x11];
            packet.extend_from_slice(&[0xFF; 160]);
            let start = Instant::now();
            for i in 0u32.. {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                packet[2..4].copy_from_slice(&(i as u16).to_be_bytes());
                packet[4..8].copy_from_slice(&(i * 160).to_be_bytes());
                let _ = socket.send_to(&packet, to);
                // Paced on a 20 ms grid, as a phone does.
                let next = start + Duration::from_millis(20) * (i + 1);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        self.sender = Some((stop, thread));
    }

    /// Throws away RTP already received; returns how many packets that was.
    pub fn drain_rtp(&self) -> usize {
        self.rtp.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while self.rtp.recv(&mut buf).is_ok() {
            n += 1;
        }
        self.rtp.set_nonblocking(false).unwrap();
        n
    }

    /// RTP packets from deflect arriving within `window` from now.
    pub fn rtp_within(&self, window: Duration) -> usize {
        let end = Instant::now() + window;
        let mut buf = [0u8; 2048];
        let mut n = 0;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return n;
            }
            self.rtp.set_read_timeout(Some(left)).unwrap();
            if let Ok((len, from)) = self.rtp.recv_from(&mut buf)
                && Some(from) == self.remote_rtp
                && len >= 12
            {
                n += 1;
            }
        }
    }

    /// Waits until `count` RTP packets from deflect have arrived.
    pub fn wait_for_rtp(&self, count: usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut buf = [0u8; 2048];
        let mut n = 0;
        while n < count {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "only {n} of {count} RTP packets arrived");
            self.rtp.set_read_timeout(Some(left)).unwrap();
            if let Ok((len, from)) = self.rtp.recv_from(&mut buf)
                && Some(from) == self.remote_rtp
                && len >= 12
            {
                n += 1;
            }
        }
    }

    /// Hangs up (BYE, answered 200) and stops the RTP.
    pub fn bye(mut self) {
        if let Some((stop, thread)) = self.sender.take() {
            stop.store(true, Ordering::Relaxed);
            thread.join().unwrap();
        }
        self.cseq += 1;
        let cseq = self.cseq;
        self.send(&self.request("BYE", cseq, ""));
        assert_eq!(self.final_response(cseq, "BYE").status, 200);
    }
}
