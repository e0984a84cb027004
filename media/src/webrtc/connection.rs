//! One peer connection on one socket: rtc driven sans-IO, audio-only, either side of the offer.

use super::WebRtcError;
use crate::session::{Channel, Transmit};
use bytes::{Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_TELEPHONE_EVENT, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::{RTCIceConnectionState, RTCPeerConnectionState};
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// Opus's payload type in deflect's media engine (an offer's own number is what is used).
const OPUS_PT: u8 = 111;
/// telephone-event's payload type in deflect's media engine.
const TELEPHONE_EVENT_PT: u8 = 126;

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Connecting,
    Connected,
    /// Failed or closed: nothing more will flow.
    Ended,
}

/// The negotiated payload types.
#[derive(Debug, Clone, Copy)]
pub(super) struct Negotiated {
    pub(super) opus: u8,
    /// telephone-event's payload type and clock rate.
    pub(super) telephone_event: Option<(u8, u32)>,
}

pub(super) struct Connection {
    pc: RTCPeerConnection,
    sender: Option<RTCRtpSenderId>,
    pub(super) ssrc: u32,
    /// The host candidate (also the local address of every datagram).
    candidate: SocketAddr,
    pub(super) state: State,
    /// Datagrams written, waiting to be sent.
    out: VecDeque<(SocketAddr, BytesMut)>,
    /// Media packets received, waiting for [`poll_rtp`](Self::poll_rtp).
    received: VecDeque<rtp::packet::Packet>,
}

fn bad(e: rtc::shared::error::Error) -> WebRtcError {
    WebRtcError::Offer(e.to_string())
}

impl Connection {
    /// A peer connection whose host candidate is `candidate`; `lite`: an ICE-lite
    /// agent (as WhatsApp's side is).
    pub(super) fn new(
        now: Instant,
        candidate: SocketAddr,
        lite: bool,
    ) -> Result<Self, WebRtcError> {
        let settings = SettingEngineBuilder::new()
            .with_lite(lite)
            // Against an ICE-lite offer (WhatsApp) rtc would answer `setup:passive`, which
            // WhatsApp does not take; RFC 5763 recommends active for the answerer anyway.
            .with_answering_dtls_role(RTCDtlsRole::Client)
            .build();
        let pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(settings)
            .with_media_engine(media_engine().map_err(bad)?)
            .build(now)
            .map_err(bad)?;
        Ok(Self {
            pc,
            sender: None,
            ssrc: fastrand::u32(..),
            candidate,
            state: State::Connecting,
            out: VecDeque::new(),
            received: VecDeque::new(),
        })
    }

    /// Answers `offer`; returns the answer (with the candidate: no trickle).
    pub(super) fn answer(&mut self, now: Instant, offer: String) -> Result<String, WebRtcError> {
        let offer = RTCSessionDescription::offer(offer).map_err(bad)?;
        self.pc.set_remote_description(now, offer).map_err(bad)?;
        self.add_track_and_candidate()?;
        let answer = self.pc.create_answer(None).map_err(bad)?;
        self.pc.set_local_description(now, answer).map_err(bad)?;
        self.flush();
        self.local_description()
    }

    /// Makes an offer (with the candidate).
    pub(super) fn offer(&mut self, now: Instant) -> Result<String, WebRtcError> {
        self.add_track_and_candidate()?;
        let offer = self.pc.create_offer(None).map_err(bad)?;
        self.pc.set_local_description(now, offer).map_err(bad)?;
        self.local_description()
    }

    /// The answer to [`offer`](Self::offer).
    pub(super) fn answered(&mut self, now: Instant, answer: String) -> Result<(), WebRtcError> {
        let answer = RTCSessionDescription::answer(answer).map_err(bad)?;
        self.pc.set_remote_description(now, answer).map_err(bad)?;
        self.flush();
        Ok(())
    }

    fn local_description(&mut self) -> Result<String, WebRtcError> {
        self.pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| WebRtcError::Offer("no local description".into()))
    }

    fn add_track_and_candidate(&mut self) -> Result<(), WebRtcError> {
        let track = MediaStreamTrack::new(
            "deflect".into(),
            "deflect-audio".into(),
            "deflect-audio".into(),
            RtpCodecKind::Audio,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(self.ssrc),
                    ..Default::default()
                },
                // Empty: a codec here would narrow the transceiver to it and drop
                // telephone-event.
                codec: RTCRtpCodec::default(),
                ..Default::default()
            }],
        );
        self.sender = Some(self.pc.add_track(track).map_err(bad)?);
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".into(),
                address: self.candidate.ip().to_string(),
                port: self.candidate.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .map_err(bad)?;
        let init = RTCIceCandidate::from(&candidate).to_json().map_err(bad)?;
        self.pc.add_local_candidate(init).map_err(bad)?;
        // Every candidate is in the description (no trickle).
        self.pc
            .add_local_candidate(RTCIceCandidateInit::default())
            .map_err(bad)
    }

    /// The payload types a description (the answer) settled on.
    pub(super) fn negotiated(description: &str) -> Result<Negotiated, WebRtcError> {
        let opus = payload_type(description, "opus/48000")
            .ok_or_else(|| WebRtcError::Offer("Opus is not offered".into()))?;
        let telephone_event = [
            (8_000, "telephone-event/8000"),
            (48_000, "telephone-event/48000"),
        ]
        .into_iter()
        .find_map(|(rate, name)| Some((payload_type(description, name)?, rate)));
        Ok(Negotiated {
            opus,
            telephone_event,
        })
    }

    /// A datagram that arrived on the socket (its media, if any, comes out of
    /// [`poll_rtp`](Self::poll_rtp)).
    pub(super) fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.state == State::Ended {
            return;
        }
        let read = self.pc.handle_read(TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.candidate,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(datagram),
        });
        if let Err(e) = read {
            // A stranger's datagram, or a damaged one: the call goes on.
            tracing::trace!(%from, error = %e, "WebRTC datagram ignored");
        }
        self.drain(now);
    }

    /// Runs the connection's timers if due (ICE checks, DTLS retransmissions, consent).
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if self.state != State::Ended
            && self.pc.poll_timeout().is_some_and(|t| t <= now)
            && let Err(e) = self.pc.handle_timeout(now)
        {
            tracing::debug!(error = %e, "WebRTC timer");
        }
        self.drain(now);
    }

    /// The next media packet received.
    pub(super) fn poll_rtp(&mut self) -> Option<rtp::packet::Packet> {
        self.received.pop_front()
    }

    pub(super) fn poll_timeout(&mut self) -> Option<Instant> {
        (self.state != State::Ended)
            .then(|| self.pc.poll_timeout())
            .flatten()
    }

    /// Sends one media packet (protected by SRTP once connected; dropped before).
    pub(super) fn write(&mut self, now: Instant, header: rtp::header::Header, payload: &[u8]) {
        if self.state != State::Connected {
            return;
        }
        let Some(mut sender) = self.sender.and_then(|id| self.pc.rtp_sender(id)) else {
            return;
        };
        let packet = rtp::packet::Packet {
            header,
            payload: Bytes::copy_from_slice(payload),
        };
        if let Err(e) = sender.write_rtp(now, packet) {
            tracing::debug!(error = %e, "RTP not sent");
        }
        self.flush();
    }

    /// The next datagram to send, written into `buf`.
    pub(super) fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        let (destination, datagram) = self.out.pop_front()?;
        let len = datagram.len().min(buf.len());
        buf[..len].copy_from_slice(&datagram[..len]);
        Some(Transmit {
            destination,
            channel: Channel::Rtp,
            len,
        })
    }

    /// Ends the connection (its DTLS close alert goes out with the next transmits).
    pub(super) fn close(&mut self) {
        if self.state != State::Ended {
            let _ = self.pc.close();
            self.state = State::Ended;
            self.flush();
        }
    }

    /// Takes the peer connection's events, received media and datagrams to send.
    fn drain(&mut self, now: Instant) {
        let mut kick = false;
        while let Some(event) = self.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(s) => {
                    tracing::debug!(state = %s, "ICE");
                    kick |= s == RTCIceConnectionState::Connected;
                }
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) => {
                    tracing::debug!(state = %s, "WebRTC connection");
                    match s {
                        RTCPeerConnectionState::Connected if self.state == State::Connecting => {
                            self.state = State::Connected;
                        }
                        RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                            self.state = State::Ended;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if kick {
            // rtc queues the DTLS ClientHello when ICE connects but releases it only on
            // its next timer (up to 200 ms later): run the timers now.
            let _ = self.pc.handle_timeout(now);
        }
        while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
            if let RTCMessage::RtpPacket(_, packet) = message {
                self.received.push_back(packet);
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        while let Some(m) = self.pc.poll_write() {
            self.out.push_back((m.transport.peer_addr, m.message));
        }
    }
}

/// Opus and telephone-event/8000: what deflect's media engine takes.
fn media_engine() -> Result<MediaEngine, rtc::shared::error::Error> {
    let mut engine = MediaEngine::default();
    for (mime_type, clock_rate, channels, fmtp, payload_type) in [
        // Only `useinbandfec`: rtc drops a codec whose fmtp conflicts with the offer's on any
        // key (WhatsApp offers `minptime=20`, browsers `minptime=10`).
        (MIME_TYPE_OPUS, 48_000, 2, "useinbandfec=1", OPUS_PT),
        (
            MIME_TYPE_TELEPHONE_EVENT,
            8_000,
            0,
            "0-16",
            TELEPHONE_EVENT_PT,
        ),
    ] {
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: RTCRtpCodec {
                    mime_type: mime_type.into(),
                    clock_rate,
                    channels,
                    sdp_fmtp_line: fmtp.into(),
                    rtcp_feedback: vec![],
                },
                payload_type,
            },
            RtpCodecKind::Audio,
        )?;
    }
    Ok(engine)
}

/// The payload type of `encoding` (`name/rate`, case-insensitive) in an SDP's rtpmaps.
pub(super) fn payload_type(sdp: &str, encoding: &str) -> Option<u8> {
    let wanted = encoding.to_ascii_lowercase();
    sdp.lines().find_map(|line| {
        let (pt, name) = line.strip_prefix("a=rtpmap:")?.split_once(' ')?;
        let name = name.trim().to_ascii_lowercase();
        (name == wanted || name.starts_with(&format!("{wanted}/")))
            .then(|| pt.parse().ok())
            .flatten()
    })
}
