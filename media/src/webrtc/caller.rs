//! The other end of a WebRTC call, for tests and the call generator: offers (or answers
//! deflect's offer), sends audio and RFC 4733 digits, keeps the audio it hears. It can be
//! ICE-lite, as WhatsApp's side is.

use super::connection::{Connection, Negotiated, State};
use super::{OpusCodec, TICKS_PER_SAMPLE, WebRtcError};
use crate::dtmf::Digit;
use crate::dtmf::telephone_event::TelephoneEvent;
use crate::session::Transmit;
use rtc::rtp;
use std::net::SocketAddr;
use std::time::Instant;

/// Samples in one 20 ms frame at 8 kHz.
const FRAME: usize = 160;

/// The far end of a WebRTC call (see the module docs), sans-IO like [`super::WebRtcSession`].
pub struct WebRtcCaller {
    connection: Connection,
    negotiated: Option<Negotiated>,
    opus: OpusCodec,
    seq: u16,
    /// RTP clock in 8 kHz samples.
    clock: u32,
    heard: Vec<i16>,
}

impl std::fmt::Debug for WebRtcCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcCaller")
            .field("state", &self.connection.state)
            .finish_non_exhaustive()
    }
}

impl WebRtcCaller {
    /// A caller whose socket is at `candidate`; returns it with its offer (Opus and
    /// telephone-event/8000, one host candidate).
    pub fn offer(
        now: Instant,
        candidate: SocketAddr,
        ice_lite: bool,
    ) -> Result<(Self, String), WebRtcError> {
        let mut connection = Connection::new(now, candidate, ice_lite)?;
        let offer = connection.offer(now)?;
        let caller = Self {
            connection,
            negotiated: None,
            opus: OpusCodec::new()?,
            seq: fastrand::u16(..),
            clock: fastrand::u32(..),
            heard: Vec::new(),
        };
        Ok((caller, offer))
    }

    /// A peer answering `offer` (deflect's, for a call it places: this peer is then the
    /// callee, as WhatsApp's side of a business-initiated call is); returns it with its
    /// answer (`a=setup:active`).
    pub fn answer(
        now: Instant,
        candidate: SocketAddr,
        ice_lite: bool,
        offer: &str,
    ) -> Result<(Self, String), WebRtcError> {
        let mut connection = Connection::new(now, candidate, ice_lite)?;
        let answer = connection.answer(now, offer.to_owned())?;
        let caller = Self {
            negotiated: Some(Connection::negotiated(&answer)?),
            connection,
            opus: OpusCodec::new()?,
            seq: fastrand::u16(..),
            clock: fastrand::u32(..),
            heard: Vec::new(),
        };
        Ok((caller, answer))
    }

    /// The answer to the offer.
    pub fn answered(&mut self, now: Instant, answer: &str) -> Result<(), WebRtcError> {
        self.negotiated = Some(Connection::negotiated(answer)?);
        self.connection.answered(now, answer.to_owned())
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connection.state == State::Connected
    }

    /// Whether the connection ended (failed, or closed by either side).
    pub fn has_ended(&self) -> bool {
        self.connection.state == State::Ended
    }

    /// A datagram that arrived on the caller's socket.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.connection.handle_datagram(now, from, datagram);
        self.hear();
    }

    /// Runs the timers that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.connection.handle_timeout(now);
        self.hear();
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.connection.poll_timeout()
    }

    /// The next datagram to send, written into `buf`.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        self.connection.poll_transmit(buf)
    }

    /// Sends one 20 ms frame (160 samples at 8 kHz) as Opus.
    pub fn send_audio(&mut self, now: Instant, frame: &[i16; FRAME]) {
        let Some(negotiated) = self.negotiated else {
            return;
        };
        if let Some(encoded) = self.opus.encode(frame) {
            let header = self.header(negotiated.opus, false, TICKS_PER_SAMPLE);
            self.connection.write(now, header, &encoded);
        }
        self.clock = self.clock.wrapping_add(FRAME as u32);
    }

    /// Sends `digit` as an RFC 4733 event lasting `frames` × 20 ms (its start, then the end
    /// packet three times), in the stream's time. Nothing is sent when the answer has no
    /// telephone-event.
    pub fn send_digit(&mut self, now: Instant, digit: Digit, frames: u16) {
        let Some((pt, rate)) = self.negotiated.and_then(|n| n.telephone_event) else {
            return;
        };
        let scale = if rate == 48_000 { TICKS_PER_SAMPLE } else { 1 };
        let start = self.clock;
        let step = FRAME as u16 * scale as u16;
        for i in 0..frames + 2 {
            let end = i + 1 >= frames;
            let event = TelephoneEvent {
                event: digit.event_code(),
                end,
                volume: 10,
                duration: step.saturating_mul(i.min(frames - 1) + 1),
            };
            let mut header = self.header(pt, i == 0, scale);
            header.timestamp = start.wrapping_mul(scale);
            self.connection.write(now, header, &event.to_bytes());
        }
        self.clock = self.clock.wrapping_add(FRAME as u32 * u32::from(frames));
    }

    /// The audio heard since the last call (8 kHz samples, in arrival order).
    pub fn take_heard(&mut self) -> Vec<i16> {
        std::mem::take(&mut self.heard)
    }

    /// Hangs up.
    pub fn close(&mut self) {
        self.connection.close();
    }

    /// Keeps the audio of the packets received.
    fn hear(&mut self) {
        while let Some(packet) = self.connection.poll_rtp() {
            if self
                .negotiated
                .is_some_and(|n| n.opus == packet.header.payload_type)
                && let Some(samples) = self.opus.decode(&packet.payload)
            {
                self.heard.extend(samples);
            }
        }
    }

    fn header(&mut self, payload_type: u8, marker: bool, scale: u32) -> rtp::header::Header {
        self.seq = self.seq.wrapping_add(1);
        rtp::header::Header {
            version: 2,
            marker,
            payload_type,
            sequence_number: self.seq,
            timestamp: self.clock.wrapping_mul(scale),
            ssrc: self.connection.ssrc,
            ..Default::default()
        }
    }
}
