//! A WebRTC call's media — a WhatsApp call, a browser's — around the same session as a SIP
//! call's.
//!
//! A [`WebRtcSession`] answers a WebRTC offer (ICE, DTLS-SRTP, Opus, RFC 4733 digits in the
//! RTP stream) — or takes the answer to deflect's own offer, a [`WebRtcOffer`] — and runs,
//! inside, an ordinary [`MediaSession`] that believes it talks G.711 to a plain RTP peer:
//! prompts, relayed audio, digits, the audio tap and the RTP timeout are the same code as a
//! SIP call's. Between the two:
//!
//! - out: each 20 ms G.711 frame the inner session sends is decoded and encoded as Opus
//!   (libopus at 8 kHz, so no resampler: Opus's RTP clock is 48 kHz, six ticks per sample),
//!   then protected and sent by the peer connection;
//! - in: Opus is decoded at 8 kHz and handed to the inner session as G.711, RFC 4733 packets
//!   as they are (their payload type mapped).
//!
//! Until ICE and DTLS are up the inner session is on hold, so a prompt played at once is
//! heard from its start, not from where a clock running before the connection would be.
//! No connection within [`CONNECT_WITHIN`], or a connection that fails, ends the call as
//! [`MediaEvent::RtpTimeout`] does.
//!
//! The peer connection is webrtc-rs's sans-IO `rtc` crate: it takes `now` with every input and
//! never touches a clock or a socket, like everything else in this crate; `str0m`, the other
//! sans-IO stack, answers an `actpass` offer only as the DTLS server, which WhatsApp's ICE-lite
//! offers do not work with. deflect is a full ICE agent with one host candidate: the address
//! and port of the call's socket (the advertised address, for a public one). Digits are
//! received, not sent: an RFC 4733 event at 8 kHz cannot share the SSRC of Opus's 48 kHz
//! stream, and nothing deflect does needs to send a browser or WhatsApp a digit.

mod caller;
mod connection;

pub use caller::WebRtcCaller;

use crate::g711;
use crate::sdp::LocalDescription;
use crate::session::{Channel, MAX_DATAGRAM, MediaEvent, MediaSession, SessionConfig, Transmit};
use connection::{Connection, Negotiated, State, payload_type};
use deflect_config::{Codec, IdleMedia};
use opusic_c::{Application, Channels, Decoder, Encoder, SampleRate};
use rtc::rtp;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

/// A call whose ICE and DTLS are not up this long after the answer ends.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(20);

/// Opus's RTP clock ticks per 8 kHz sample.
const TICKS_PER_SAMPLE: u32 = 6;
/// The payload types of the inner session's pretend G.711 peer.
const INNER_PCMU: u8 = 0;
const INNER_TELEPHONE_EVENT: u8 = 101;
/// Where the inner session believes its peer is.
const INNER_PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9);
/// The longest Opus packet: 120 ms, in 8 kHz samples.
const MAX_OPUS_SAMPLES: usize = 960;
/// libopus's encoder complexity (0–10; its default, 10, costs a WebRTC call-second ~40 % more
/// CPU for narrowband telephone audio; BENCHMARKS.md "WebRTC calls").
const OPUS_COMPLEXITY: u8 = 5;
/// Room for one encoded 20 ms Opus frame (far more than a voice frame takes).
const MAX_OPUS_BYTES: usize = 400;

/// Why an offer cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum WebRtcError {
    /// The offer is not a WebRTC audio offer deflect can take (no Opus, unreadable SDP, no
    /// fingerprint, …).
    #[error("the WebRTC offer cannot be answered: {0}")]
    Offer(String),
    /// libopus refused to start (should not happen).
    #[error("Opus codec: {0:?}")]
    Opus(opusic_c::ErrorCode),
}

/// Opus both ways at 8 kHz, mono.
struct OpusCodec {
    encoder: Encoder,
    decoder: Decoder,
}

impl OpusCodec {
    fn new() -> Result<Self, WebRtcError> {
        let mut encoder = Encoder::new(Channels::Mono, SampleRate::Hz8000, Application::Voip)
            .map_err(WebRtcError::Opus)?;
        encoder
            .set_complexity(OPUS_COMPLEXITY)
            .map_err(WebRtcError::Opus)?;
        Ok(Self {
            encoder,
            decoder: Decoder::new(Channels::Mono, SampleRate::Hz8000).map_err(WebRtcError::Opus)?,
        })
    }

    /// `samples` (8 kHz) as one Opus packet.
    fn encode(&mut self, samples: &[i16]) -> Option<Vec<u8>> {
        let pcm: Vec<u16> = samples.iter().map(|s| *s as u16).collect();
        let mut out = vec![0u8; MAX_OPUS_BYTES];
        match self.encoder.encode_to_slice(&pcm, &mut out) {
            Ok(len) => {
                out.truncate(len);
                Some(out)
            }
            Err(e) => {
                tracing::debug!(error = ?e, "Opus encoding failed; frame dropped");
                None
            }
        }
    }

    /// One Opus packet as 8 kHz samples.
    fn decode(&mut self, packet: &[u8]) -> Option<Vec<i16>> {
        let mut pcm = [0u16; MAX_OPUS_SAMPLES];
        match self.decoder.decode_to_slice(packet, &mut pcm, false) {
            Ok(n) => Some(pcm[..n].iter().map(|s| *s as i16).collect()),
            Err(e) => {
                tracing::trace!(error = ?e, "Opus packet not decodable");
                None
            }
        }
    }
}

/// One WebRTC call's media (see the module docs).
pub struct WebRtcSession {
    connection: Connection,
    negotiated: Negotiated,
    /// The host candidate: the call socket's port at the advertised address.
    candidate: SocketAddr,
    inner: MediaSession,
    opus: OpusCodec,
    /// Whether the call's owner put it on hold.
    held: bool,
    connect_by: Instant,
    scratch: Vec<u8>,
}

/// deflect's offer for a call it places (a business-initiated WhatsApp call): the peer
/// connection waits for the far end's answer, which makes it a [`WebRtcSession`].
///
/// deflect offers as a full ICE agent with `a=setup:actpass`, Opus and
/// telephone-event/8000, and its one host candidate; the far end (WhatsApp's ICE-lite side)
/// picks the DTLS role. The 20 s in which the connection must come up start with the
/// answer, not the offer: the customer's phone may ring for longer than that.
pub struct WebRtcOffer {
    connection: Connection,
    candidate: SocketAddr,
}

impl std::fmt::Debug for WebRtcOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcOffer")
            .field("candidate", &self.candidate)
            .finish_non_exhaustive()
    }
}

impl WebRtcOffer {
    /// An offer whose host candidate is `candidate`; returns it with its SDP.
    pub fn new(now: Instant, candidate: SocketAddr) -> Result<(Self, String), WebRtcError> {
        let mut connection = Connection::new(now, candidate, false)?;
        let offer = connection.offer(now)?;
        Ok((
            Self {
                connection,
                candidate,
            },
            offer,
        ))
    }

    /// The far end's `answer`: the session starts (ICE and DTLS follow at once). `config`
    /// gives the inner session's RTP timeout, as for [`WebRtcSession::answer`].
    pub fn answered(
        mut self,
        now: Instant,
        wall: SystemTime,
        config: SessionConfig,
        answer: &str,
    ) -> Result<WebRtcSession, WebRtcError> {
        let negotiated = Connection::negotiated(answer)?;
        self.connection.answered(now, answer.to_owned())?;
        let (connection, candidate) = (self.connection, self.candidate);
        WebRtcSession::start(now, wall, config, connection, negotiated, candidate)
    }
}

impl std::fmt::Debug for WebRtcSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcSession")
            .field("candidate", &self.candidate)
            .field("state", &self.connection.state)
            .finish_non_exhaustive()
    }
}

impl WebRtcSession {
    /// A session answering `offer` (WebRTC SDP); returns it with the answer.
    ///
    /// `config` gives the inner session's RTP timeout; its codecs do not matter.
    pub fn answer(
        now: Instant,
        wall: SystemTime,
        config: SessionConfig,
        candidate: SocketAddr,
        offer: &str,
    ) -> Result<(Self, String), WebRtcError> {
        let mut connection = Connection::new(now, candidate, false)?;
        let answer = connection.answer(now, keep_one_telephone_event(offer))?;
        let negotiated = Connection::negotiated(&answer)?;
        let session = Self::start(now, wall, config, connection, negotiated, candidate)?;
        Ok((session, answer))
    }

    /// The session around a connection whose offer and answer are settled.
    fn start(
        now: Instant,
        wall: SystemTime,
        config: SessionConfig,
        connection: Connection,
        negotiated: Negotiated,
        candidate: SocketAddr,
    ) -> Result<Self, WebRtcError> {
        let inner_config = SessionConfig {
            codecs: vec![Codec::Pcmu],
            inband_dtmf: false,
            idle_media: IdleMedia::Audio,
            ..config
        };
        let inner_offer = format!(
            "v=0\r\no=- 0 0 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP {INNER_PCMU} {INNER_TELEPHONE_EVENT}\r\n\
             a=rtpmap:{INNER_TELEPHONE_EVENT} telephone-event/8000\r\na=ptime:20\r\n",
            ip = INNER_PEER.ip(),
            port = INNER_PEER.port(),
        );
        let local = LocalDescription::new(INNER_PEER.ip(), INNER_PEER.port());
        let (mut inner, _) =
            MediaSession::new(now, wall, inner_config, local, inner_offer.as_bytes())
                .map_err(|e| WebRtcError::Offer(format!("inner session: {e}")))?;
        inner.set_hold(now, true);
        Ok(Self {
            connection,
            negotiated,
            candidate,
            inner,
            opus: OpusCodec::new()?,
            held: false,
            connect_by: now + CONNECT_WITHIN,
            scratch: vec![0; MAX_DATAGRAM],
        })
    }

    /// The session inside: play, stop, relay, tap, digits in from elsewhere.
    pub fn session(&mut self) -> &mut MediaSession {
        &mut self.inner
    }

    /// The inner session's counters.
    pub fn stats(&self) -> &crate::session::SessionStats {
        self.inner.stats()
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connection.state == State::Connected
    }

    /// Local hold (or its end): nothing is sent meanwhile.
    pub fn set_hold(&mut self, now: Instant, hold: bool) {
        self.held = hold;
        self.inner.set_hold(now, hold || !self.is_connected());
    }

    /// A datagram that arrived on the call's socket from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.connection.handle_datagram(now, from, datagram);
        self.receive(now);
        self.settle(now);
    }

    /// Timers: the peer connection's and the inner session's.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.connection.handle_timeout(now);
        self.receive(now);
        self.inner.handle_timeout(now);
        if self.connection.state == State::Connecting && now >= self.connect_by {
            self.connection.close();
        }
        self.settle(now);
    }

    /// The earliest time something is due.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        if self.inner.is_closed() {
            return None;
        }
        let connecting = self.connection.state == State::Connecting;
        [
            self.inner.poll_timeout(),
            self.connection.poll_timeout(),
            connecting.then_some(self.connect_by),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Writes the next datagram due at `now` into `buf` (at least [`MAX_DATAGRAM`] bytes).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if let Some(t) = self.connection.poll_transmit(buf) {
            return Some(t);
        }
        while let Some(t) = self.inner.poll_transmit(now, &mut self.scratch) {
            if t.channel != Channel::Rtp {
                continue; // the peer connection makes its own RTCP
            }
            let Ok(packet) = rtp_rs::RtpReader::new(&self.scratch[..t.len]) else {
                continue;
            };
            if packet.payload_type() != INNER_PCMU {
                continue; // digits are not sent (module docs); comfort noise is not used
            }
            let mut samples = [0i16; MAX_OPUS_SAMPLES];
            let n = packet.payload().len().min(MAX_OPUS_SAMPLES);
            g711::decode_ulaw(&packet.payload()[..n], &mut samples[..n]);
            let Some(encoded) = self.opus.encode(&samples[..n]) else {
                continue;
            };
            let header = rtp::header::Header {
                version: 2,
                marker: packet.mark(),
                payload_type: self.negotiated.opus,
                sequence_number: packet.sequence_number().into(),
                timestamp: packet.timestamp().wrapping_mul(TICKS_PER_SAMPLE),
                ssrc: self.connection.ssrc,
                ..Default::default()
            };
            self.connection.write(now, header, &encoded);
            if let Some(t) = self.connection.poll_transmit(buf) {
                return Some(t);
            }
        }
        None
    }

    /// The next event for the call's owner.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.inner.poll_event()
    }

    /// Ends the session (the DTLS close goes out with the next transmits).
    pub fn close(&mut self) {
        self.connection.close();
        self.inner.close();
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The packets received, handed to the inner session as G.711 or digits.
    fn receive(&mut self, now: Instant) {
        while let Some(packet) = self.connection.poll_rtp() {
            let h = &packet.header;
            let (payload_type, timestamp, payload) = if h.payload_type == self.negotiated.opus {
                let Some(samples) = self.opus.decode(&packet.payload) else {
                    continue;
                };
                let mut ulaw = vec![0u8; samples.len()];
                g711::encode_ulaw(&samples, &mut ulaw);
                (INNER_PCMU, h.timestamp / TICKS_PER_SAMPLE, ulaw)
            } else if let Some((pt, rate)) = self.negotiated.telephone_event
                && h.payload_type == pt
            {
                let timestamp = if rate == 48_000 {
                    h.timestamp / TICKS_PER_SAMPLE
                } else {
                    h.timestamp
                };
                (INNER_TELEPHONE_EVENT, timestamp, packet.payload.to_vec())
            } else {
                continue;
            };
            let built = rtp_rs::RtpPacketBuilder::new()
                .payload_type(payload_type)
                .ssrc(h.ssrc)
                .sequence(h.sequence_number.into())
                .timestamp(timestamp)
                .marked(h.marker)
                .payload(&payload)
                .build();
            if let Ok(bytes) = built {
                self.inner.handle_rtp(now, INNER_PEER, &bytes);
            }
        }
    }

    /// Follows the connection's state: media flows once it is up; one that ended (failed, or
    /// never came up) ends the call as silence does.
    fn settle(&mut self, now: Instant) {
        match self.connection.state {
            State::Connected => self.inner.set_hold(now, self.held),
            State::Ended => {
                let silent_for = now.saturating_duration_since(self.connect_by - CONNECT_WITHIN);
                self.inner.report_timeout(silent_for);
            }
            State::Connecting => {}
        }
    }
}

/// The offer with at most one telephone-event: browsers offer one at 48 kHz and one at
/// 8 kHz, and rtc (which matches codecs without their clock rate) would answer both with one
/// payload type. The 8 kHz one is kept.
fn keep_one_telephone_event(offer: &str) -> String {
    let Some(drop) = payload_type(offer, "telephone-event/48000")
        .filter(|_| payload_type(offer, "telephone-event/8000").is_some())
    else {
        return offer.to_owned();
    };
    let drop = drop.to_string();
    let mut out = String::with_capacity(offer.len());
    for line in offer.split_inclusive('\n') {
        let bare = line.trim_end();
        let about_drop = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|p| {
            bare.strip_prefix(p)
                .and_then(|rest| rest.split_once(' '))
                .is_some_and(|(pt, _)| pt == drop)
        });
        if about_drop {
            continue;
        }
        if bare.starts_with("m=audio ") {
            let kept: Vec<&str> = bare.split(' ').filter(|f| *f != drop).collect();
            out.push_str(&kept.join(" "));
            out.push_str(&line[bare.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_offer_keeps_the_8_khz_telephone_event_only() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 110 126\r\n\
                     a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\n\
                     a=rtpmap:110 telephone-event/48000\r\na=fmtp:110 0-16\r\n\
                     a=rtpmap:126 telephone-event/8000\r\n";
        let kept = keep_one_telephone_event(offer);
        assert_eq!(
            kept,
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 126\r\n\
             a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\n\
             a=rtpmap:126 telephone-event/8000\r\n"
        );
        assert_eq!(payload_type(&kept, "opus/48000"), Some(111));
        // One telephone-event alone stays, whatever its rate.
        let only48 = offer.replace("a=rtpmap:126 telephone-event/8000\r\n", "");
        assert_eq!(keep_one_telephone_event(&only48), only48);
    }
}
