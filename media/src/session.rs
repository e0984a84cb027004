//! The sans-IO media session of one call: RTP in and out, DTMF, playback, RTCP, timeouts.
//!
//! A [`MediaSession`] never reads the clock, sleeps or touches a socket; every input carries
//! `now`. The driver (or a test) runs it like this, after every input:
//!
//! 1. feed what happened: [`handle_rtp`](MediaSession::handle_rtp),
//!    [`handle_rtcp`](MediaSession::handle_rtcp),
//!    [`handle_info_dtmf`](MediaSession::handle_info_dtmf), commands
//!    ([`play`](MediaSession::play), [`stop_playback`](MediaSession::stop_playback),
//!    [`renegotiate`](MediaSession::renegotiate), [`set_hold`](MediaSession::set_hold),
//!    [`set_tap`](MediaSession::set_tap), [`set_relay`](MediaSession::set_relay),
//!    [`relay`](MediaSession::relay)), and [`handle_timeout`](MediaSession::handle_timeout)
//!    when the time from [`poll_timeout`](MediaSession::poll_timeout) has come;
//! 2. send every datagram [`poll_transmit`](MediaSession::poll_transmit) gives;
//! 3. take every [`poll_event`](MediaSession::poll_event);
//! 4. wait until [`poll_timeout`](MediaSession::poll_timeout) or the next input.
//!
//! Sending is paced by `now`: a frame of [`NegotiatedMedia::ptime_ms`] is due every packet
//! time from the start, on a fixed grid (no drift); a driver that falls more than three
//! frames behind skips ahead instead of bursting. While nothing plays, what goes out is the
//! trunk's [`SessionConfig::idle_media`]: the same frames (quiet noise), one RFC 3389
//! comfort-noise packet per [`COMFORT_NOISE_INTERVAL`], or nothing; the next prompt resumes
//! the stream with the marker bit and a timestamp that kept running with real time.
//!
//! Received packets go through a [`ReorderBuffer`], then to the telephone-event receiver,
//! the in-band detector (when enabled and no telephone-event has been seen) and the audio
//! tap.
//!
//! SRTP: when the offer was `RTP/SAVP` ([`NegotiatedMedia::srtp`]), every datagram is
//! authenticated and decrypted before anything else looks at it — a forged or replayed
//! packet is counted in [`SessionStats::unauthenticated`] and cannot latch — and every one
//! sent is encrypted last ([`crate::srtp`]).
//!
//! Symmetric RTP: media is sent to the address the peer's RTP really comes from (latched on
//! the first valid packet), not to the one in its SDP, which may be a private address behind
//! NAT. Packets from any other address are dropped unless the latched source has been
//! silent for [`RELATCH_AFTER`] (the peer moved), which keeps a stranger from hijacking
//! the stream.

use crate::dtmf::inband::InbandDetector;
use crate::dtmf::info::{InfoError, parse_info};
use crate::dtmf::telephone_event::{TelephoneEventReceiver, TelephoneEventSender};
use crate::dtmf::{DtmfDigit, DtmfMerger, DtmfSource};
use crate::g711;
use crate::playback::{PlayItem, PlaybackEnd, PlaybackId, Player};
use crate::relay::RelayBuffer;
use crate::reorder::{self, Accepted, BufferedPacket, ReorderBuffer};
use crate::rtcp::{self, ReceptionStats, SenderInfo};
use crate::sdp::{self, LocalDescription, NegotiatedMedia, NegotiationError};
use crate::srtp::Srtp;
use deflect_config::{Codec, IdleMedia, MediaConfig};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A latched source silent this long may be replaced by a new one.
pub const RELATCH_AFTER: Duration = Duration::from_secs(1);
/// A frame sent later than this after its due time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(5);
/// Average interval between RTCP reports (RFC 3550 §6.2 minimum), randomised ±50 %.
pub const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Room [`MediaSession::poll_transmit`] needs in its buffer.
pub const MAX_DATAGRAM: usize = 1500;
/// Payload type of comfort noise (RFC 3389), accepted and ignored.
const COMFORT_NOISE_PT: u8 = 13;
/// How often a comfort-noise packet goes out while nothing plays
/// ([`IdleMedia::ComfortNoise`]).
pub const COMFORT_NOISE_INTERVAL: Duration = Duration::from_secs(1);
/// The noise level comfort-noise packets announce: -70 dBov, a quiet room (RFC 3389 §3.1).
const COMFORT_NOISE_LEVEL: u8 = 70;

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Codecs in order of preference.
    pub codecs: Vec<Codec>,
    /// No RTP for this long (not on hold) ends the call.
    pub rtp_timeout: Duration,
    /// Detect DTMF tones in the audio (per trunk).
    pub inband_dtmf: bool,
    /// Longest wait of the reorder buffer for a missing packet.
    pub reorder_wait: Duration,
    /// What is sent while nothing plays.
    pub idle_media: IdleMedia,
}

impl SessionConfig {
    /// Settings from `[media]`, with in-band detection as the trunk says.
    pub fn from_config(media: &MediaConfig, inband_dtmf: bool) -> Self {
        Self {
            codecs: media.codecs.clone(),
            rtp_timeout: media.rtp_timeout,
            inband_dtmf,
            reorder_wait: reorder::DEFAULT_WAIT,
            idle_media: IdleMedia::Audio,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self::from_config(&MediaConfig::default(), false)
    }
}

/// Which socket a datagram leaves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The RTP socket.
    Rtp,
    /// The RTCP socket (RTP port + 1).
    Rtcp,
}

/// A datagram to send: `buf[..len]` from the `channel` socket to `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// From which socket.
    pub channel: Channel,
    /// Bytes written into the buffer.
    pub len: usize,
}

/// Decoded audio of the caller, for speech recognition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// When the packet came out of the reorder buffer.
    pub at: Instant,
    /// Its RTP timestamp (8 kHz units; gaps show lost packets).
    pub timestamp: u32,
    /// 16-bit linear samples at 8 kHz.
    pub samples: Vec<i16>,
}

/// Something the call's owner needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// The caller pressed a key (each press once, whatever the source).
    Dtmf(DtmfDigit),
    /// No RTP for `rtp_timeout` while not on hold: hang up.
    RtpTimeout {
        /// How long nothing came.
        silent_for: Duration,
    },
    /// A playback ended.
    Playback {
        /// Which one.
        id: PlaybackId,
        /// How.
        end: PlaybackEnd,
    },
    /// A frame of the caller's audio (only while the tap is on).
    Audio(AudioFrame),
    /// A digit queued with [`MediaSession::send_dtmf`] has started: its first packet left
    /// (the key went down).
    DtmfStarted(crate::dtmf::Digit),
    /// A digit queued with [`MediaSession::send_dtmf`] has been sent (its last end packet
    /// left).
    DtmfSent(crate::dtmf::Digit),
}

/// Digits cannot be sent as RFC 4733 events: the peer did not negotiate telephone-event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the peer did not negotiate telephone-event; digits cannot be sent")]
pub struct NoTelephoneEvent;

/// Counters of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// RTP packets sent.
    pub sent: u64,
    /// Of those, sent more than [`LATE_AFTER`] after their due time.
    pub sent_late: u64,
    /// Frames skipped because the driver fell far behind.
    pub skipped: u64,
    /// RTP packets accepted from the peer.
    pub received: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Packets that came after their gap had been skipped.
    pub too_late: u64,
    /// Datagrams that were not valid RTP, or had a payload type not negotiated.
    pub malformed: u64,
    /// Packets from an address other than the latched one.
    pub foreign: u64,
    /// SRTP or SRTCP packets that failed authentication or were replays.
    pub unauthenticated: u64,
    /// Digits reported.
    pub digits: u64,
}

/// One call's media (see the module docs for how to drive it).
///
/// ```
/// use deflect_media::session::{MediaSession, SessionConfig};
/// use deflect_media::sdp::LocalDescription;
/// use std::time::{Instant, SystemTime};
///
/// let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
///              m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
/// let local = LocalDescription::new("127.0.0.1".parse().unwrap(), 20000);
/// let now = Instant::now();
/// let (mut session, answer) =
///     MediaSession::new(now, SystemTime::now(), SessionConfig::default(), local, offer.as_bytes())
///         .unwrap();
/// assert!(answer.contains("m=audio 20000 RTP/AVP 8 101"));
/// // The first frame (comfort noise) is due at once, to the offered address.
/// let mut buf = [0u8; 1500];
/// let t = session.poll_transmit(now, &mut buf).unwrap();
/// assert_eq!(t.destination, "192.0.2.1:4000".parse::<std::net::SocketAddr>().unwrap());
/// assert_eq!(t.len, 12 + 160);
/// assert!(session.poll_transmit(now, &mut buf).is_none());
/// assert!(session.poll_timeout().unwrap() <= now + std::time::Duration::from_millis(20));
/// ```
#[derive(Debug)]
pub struct MediaSession {
    config: SessionConfig,
    local: LocalDescription,
    media: NegotiatedMedia,
    srtp: Option<Srtp>,
    started: Instant,
    wall_at_start: SystemTime,
    // Sending.
    ssrc: u32,
    cname: String,
    seq: u16,
    timestamp: u32,
    next_frame: Instant,
    marker: bool,
    local_hold: bool,
    was_sending: bool,
    /// Nothing is being played and the trunk wants no audio then.
    quiet: bool,
    next_comfort_noise: Instant,
    player: Player,
    /// Audio from the other leg of a bridge, sent while no prompt plays.
    relay: Option<RelayBuffer>,
    dtmf_out: TelephoneEventSender,
    octets_sent: u32,
    // Receiving.
    latched: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    last_from_latched: Option<Instant>,
    remote_ssrc: Option<u32>,
    reorder: ReorderBuffer,
    telephone_events: TelephoneEventReceiver,
    inband: Option<InbandDetector>,
    merger: DtmfMerger,
    tap: bool,
    last_rtp: Instant,
    timed_out: bool,
    reception: ReceptionStats,
    next_rtcp: Instant,
    events: VecDeque<MediaEvent>,
    stats: SessionStats,
    closed: bool,
}

impl MediaSession {
    /// A session answering `offer`; returns it with the answer body.
    ///
    /// `now` and `wall` are the same instant on the monotonic and the wall clock (RTCP
    /// sender reports carry wall-clock time).
    pub fn new(
        now: Instant,
        wall: SystemTime,
        config: SessionConfig,
        mut local: LocalDescription,
        offer: &[u8],
    ) -> Result<(Self, String), NegotiationError> {
        let (answer, media) = sdp::answer_offer(offer, &config.codecs, &mut local)?;
        let srtp = srtp_for(&media)?;
        let ssrc = fastrand::u32(..);
        let inband = config.inband_dtmf.then(InbandDetector::new);
        let session = Self {
            reorder: ReorderBuffer::new(config.reorder_wait),
            config,
            local,
            media,
            srtp,
            started: now,
            wall_at_start: wall,
            ssrc,
            cname: format!("deflect-{ssrc:08x}"),
            seq: fastrand::u16(..),
            timestamp: fastrand::u32(..),
            next_frame: now,
            marker: true,
            local_hold: false,
            was_sending: false,
            quiet: false,
            next_comfort_noise: now,
            player: Player::default(),
            relay: None,
            dtmf_out: TelephoneEventSender::default(),
            octets_sent: 0,
            latched: None,
            latched_rtcp: None,
            last_from_latched: None,
            remote_ssrc: None,
            telephone_events: TelephoneEventReceiver::default(),
            inband,
            merger: DtmfMerger::default(),
            tap: false,
            last_rtp: now,
            timed_out: false,
            reception: ReceptionStats::default(),
            next_rtcp: now + jittered(RTCP_INTERVAL),
            events: VecDeque::new(),
            stats: SessionStats::default(),
            closed: false,
        };
        Ok((session, answer))
    }

    /// What was negotiated (codec, payload types, direction, the peer's addresses).
    pub fn media(&self) -> &NegotiatedMedia {
        &self.media
    }

    /// Counters.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Where RTP goes: the latched source, else the SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.media.remote_rtp)
    }

    /// Our RTP SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Whether RTP goes out: not closed, not on hold by either side. A peer's hold
    /// ([`NegotiatedMedia::on_hold`]: `a=sendonly`/`a=inactive`, or `c=0.0.0.0`) stops it
    /// even when its packets keep coming and the latch has an address.
    fn sending(&self) -> bool {
        !self.closed && !self.local_hold && !self.media.on_hold() && self.destination().is_some()
    }

    /// Whether the RTP timeout applies now: not on hold (either side), not already fired.
    fn timeout_armed(&self) -> bool {
        !self.closed
            && !self.local_hold
            && !self.timed_out
            && self.media.direction == sdp::Direction::SendRecv
            && self.media.remote_rtp.is_some()
    }

    /// Answers a re-offer (re-INVITE or UPDATE). On success the new parameters apply at
    /// once and the call goes on; on error nothing changes (the SIP side answers 488 and the
    /// call keeps its current media, RFC 3264 §8).
    pub fn renegotiate(&mut self, now: Instant, offer: &[u8]) -> Result<String, NegotiationError> {
        let mut local = self.local.clone();
        let (answer, media) = sdp::answer_offer(offer, &self.config.codecs, &mut local)?;
        self.apply(now, media)?;
        self.local = local;
        Ok(answer)
    }

    /// deflect's offer for a re-INVITE: this session's media with `direction` (deflect's
    /// side; e.g. `SendOnly` passes on the other call of a bridge putting this one on hold).
    /// Nothing changes until [`reoffer_answered`](Self::reoffer_answered).
    pub fn reoffer(&mut self, direction: sdp::Direction) -> Option<String> {
        sdp::reoffer(&mut self.local, &self.media, direction)
    }

    /// The peer's answer to [`reoffer`](Self::reoffer): its direction, address and keys
    /// apply at once. On error nothing changes.
    pub fn reoffer_answered(
        &mut self,
        now: Instant,
        answer: &[u8],
    ) -> Result<(), NegotiationError> {
        // The answer reads like an offer of the peer's side (as for a call deflect places);
        // the description it would produce is not sent, so deflect's own stays as offered.
        let mut local = self.local.clone();
        let (_, media) = sdp::answer_offer(answer, &self.config.codecs, &mut local)?;
        self.apply(now, media)
    }

    /// Takes newly negotiated media: new SRTP keys, a new latch when the peer moved, the RTP
    /// timeout and sending resumed after a hold.
    fn apply(&mut self, now: Instant, media: NegotiatedMedia) -> Result<(), NegotiationError> {
        if media.srtp != self.media.srtp {
            self.srtp = srtp_for(&media)?;
        }
        let was_held = !self.timeout_armed();
        let was_sending = self.sending();
        if media.remote_rtp != self.media.remote_rtp {
            // The peer moved: latch anew.
            self.latched = None;
            self.latched_rtcp = None;
        }
        self.media = media;
        if was_held && self.timeout_armed() {
            self.last_rtp = now;
        }
        if !was_sending && self.sending() {
            self.resume_sending(now);
        }
        Ok(())
    }

    /// Puts the call on hold from this side (stops sending, no RTP timeout) or takes it
    /// off. The SIP side sends the matching re-INVITE.
    pub fn set_hold(&mut self, now: Instant, hold: bool) {
        if self.local_hold == hold {
            return;
        }
        self.local_hold = hold;
        if !hold {
            self.last_rtp = now;
            if self.sending() {
                self.resume_sending(now);
            }
        }
    }

    /// Whether, by the trunk's `idle_media`, no audio frames go out now: nothing plays, no
    /// digit is being sent, and the trunk wants nothing or comfort noise (which the offer
    /// must have listed) while idle.
    fn wants_quiet(&self) -> bool {
        let mode = match self.config.idle_media {
            IdleMedia::Audio => false,
            IdleMedia::None => true,
            IdleMedia::ComfortNoise => self.media.comfort_noise.is_some(),
        };
        mode && self.relay.is_none() && !self.player.is_playing() && !self.dtmf_out.is_sending()
    }

    /// The RTP clock at `now` (the sampling instant of audio due then).
    fn rtp_clock(&self, now: Instant) -> u32 {
        let units = |d: Duration| (d.as_micros() as u64 * 8 / 1000) as u32;
        if now >= self.next_frame {
            (self.timestamp).wrapping_add(units(now - self.next_frame))
        } else {
            (self.timestamp).wrapping_sub(units(self.next_frame - now))
        }
    }

    fn resume_sending(&mut self, now: Instant) {
        // Keep the timestamp running with real time across the pause (RFC 3550 §5.1).
        if now > self.next_frame {
            let behind = now - self.next_frame;
            let samples = behind.as_micros() as u64 * 8 / 1000;
            self.timestamp = self.timestamp.wrapping_add(samples as u32);
            self.next_frame = now;
        }
        self.marker = true;
    }

    /// Starts sending the caller's decoded audio as [`MediaEvent::Audio`] (or stops).
    pub fn set_tap(&mut self, on: bool) {
        self.tap = on;
    }

    /// Bridges this session to another call (or ends that): while on, the audio given to
    /// [`relay`](Self::relay) is what goes out whenever no prompt plays, and the trunk's
    /// `idle_media` does not apply (see [`crate::relay`]).
    pub fn set_relay(&mut self, on: bool) {
        if on != self.relay.is_some() {
            self.relay = on.then(RelayBuffer::default);
        }
    }

    /// The other leg's decoded audio, to send on this one (ignored unless
    /// [`set_relay`](Self::set_relay) is on).
    pub fn relay(&mut self, samples: &[i16]) {
        if let Some(r) = &mut self.relay {
            r.push(samples);
        }
    }

    /// Queues prompts after whatever is playing; `barge_in`: a key press stops them.
    pub fn play(&mut self, items: Vec<PlayItem>, barge_in: bool) -> PlaybackId {
        self.player.play(items, barge_in)
    }

    /// Like [`play`](Self::play) with an id the caller chose.
    pub fn play_as(&mut self, id: PlaybackId, items: Vec<PlayItem>, barge_in: bool) {
        self.player.play_as(id, items, barge_in);
    }

    /// Sends `digits` as RFC 4733 events, each a tone of `tone` then `gap` of silence, after
    /// any digits still queued; audio pauses while a tone is sent. Each digit is reported
    /// with [`MediaEvent::DtmfStarted`] as its first packet leaves and
    /// [`MediaEvent::DtmfSent`] once its end packets have.
    pub fn send_dtmf(
        &mut self,
        digits: &[crate::dtmf::Digit],
        tone: Duration,
        gap: Duration,
    ) -> Result<(), NoTelephoneEvent> {
        if self.media.telephone_event.is_none() {
            return Err(NoTelephoneEvent);
        }
        self.dtmf_out.queue(digits, tone, gap);
        Ok(())
    }

    /// Stops the current playback and everything queued (each reported as interrupted).
    pub fn stop_playback(&mut self) {
        let events = &mut self.events;
        self.player
            .stop(|id, end| events.push_back(MediaEvent::Playback { id, end }));
    }

    /// Ends the session: nothing more is sent or reported.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// A SIP INFO request's body (the SIP side answers 200, or 415/400 on the error).
    pub fn handle_info_dtmf(
        &mut self,
        now: Instant,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), InfoError> {
        let info = parse_info(content_type, body)?;
        self.handle_info_digit(now, info.digit);
        Ok(())
    }

    /// A digit the SIP side already read from an INFO body.
    pub fn handle_info_digit(&mut self, now: Instant, digit: crate::dtmf::Digit) {
        self.digit(digit, DtmfSource::SipInfo, now);
    }

    fn digit(&mut self, digit: crate::dtmf::Digit, source: DtmfSource, now: Instant) {
        if self.closed {
            return;
        }
        if let Some(d) = self.merger.offer(digit, source, now) {
            self.stats.digits += 1;
            self.events.push_back(MediaEvent::Dtmf(d));
            let events = &mut self.events;
            self.player
                .barge_in(|id, end| events.push_back(MediaEvent::Playback { id, end }));
        }
    }

    /// `datagram` as plain RTP or RTCP: decrypted on an SRTP call, where one that fails
    /// authentication (a forgery, a replay) is counted and gives `None`.
    fn plain<'a>(&mut self, channel: Channel, datagram: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let Some(srtp) = &mut self.srtp else {
            return Some(Cow::Borrowed(datagram));
        };
        let plain = match channel {
            Channel::Rtp => srtp.unprotect_rtp(datagram),
            Channel::Rtcp => srtp.unprotect_rtcp(datagram),
        };
        if plain.is_none() {
            self.stats.unauthenticated += 1;
        }
        plain.map(|p| Cow::Owned(Vec::from(p)))
    }

    /// A datagram received on the RTP socket from `from`.
    pub fn handle_rtp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.closed {
            return;
        }
        let Some(datagram) = self.plain(Channel::Rtp, datagram) else {
            return;
        };
        let Ok(packet) = rtp_rs::RtpReader::new(&datagram) else {
            self.stats.malformed += 1;
            return;
        };
        let pt = packet.payload_type();
        if pt != self.media.payload_type
            && Some(pt) != self.media.telephone_event
            && pt != COMFORT_NOISE_PT
        {
            self.stats.malformed += 1;
            return;
        }
        match self.latched {
            Some(addr) if addr == from => {}
            Some(addr) => {
                let idle = self
                    .last_from_latched
                    .is_none_or(|t| now.saturating_duration_since(t) >= RELATCH_AFTER);
                if !idle {
                    self.stats.foreign += 1;
                    return;
                }
                tracing::debug!(from = %addr, to = %from, "RTP source moved; latching to the new one");
                self.latched = Some(from);
            }
            None => {
                tracing::debug!(%from, "latched to the RTP source");
                self.latched = Some(from);
                if !self.was_sending && self.sending() {
                    self.resume_sending(now);
                }
            }
        }
        self.last_from_latched = Some(now);
        let ssrc = packet.ssrc();
        if self.remote_ssrc != Some(ssrc) {
            // A new stream: a new sequence and timestamp space.
            self.remote_ssrc = Some(ssrc);
            self.reorder.reset();
            self.telephone_events.reset();
            self.reception.reset(ssrc);
        }
        self.last_rtp = now;
        self.timed_out = false;
        let seq = u16::from(packet.sequence_number());
        let accepted = self.reorder.insert(
            now,
            seq,
            pt,
            packet.timestamp(),
            packet.mark(),
            packet.payload(),
        );
        if accepted == Accepted::Restarted {
            // Same SSRC, new sequence space: a new stream in all but name.
            tracing::debug!(%from, "the RTP sender restarted its sequence numbers");
            self.telephone_events.reset();
            self.reception.reset(ssrc);
        }
        let ext = self.reorder.extend(seq);
        match accepted {
            Accepted::Yes | Accepted::Restarted => {
                self.stats.received += 1;
                let arrival = self.arrival_units(now);
                self.reception.record(
                    ext,
                    packet.timestamp(),
                    arrival,
                    pt == self.media.payload_type,
                );
            }
            Accepted::Duplicate => self.stats.duplicates += 1,
            Accepted::Late => self.stats.too_late += 1,
        }
        self.drain_reorder(now);
    }

    fn arrival_units(&self, now: Instant) -> u32 {
        (now.saturating_duration_since(self.started).as_micros() as u64 * 8 / 1000) as u32
    }

    fn drain_reorder(&mut self, now: Instant) {
        while let Some(p) = self.reorder.pop(now) {
            self.process(now, &p);
            self.reorder.recycle(p.payload);
        }
    }

    fn process(&mut self, now: Instant, p: &BufferedPacket) {
        if Some(p.payload_type) == self.media.telephone_event {
            self.merger.telephone_event_seen();
            match self
                .telephone_events
                .handle_packet(now, p.timestamp, &p.payload)
            {
                Ok(Some(d)) => self.digit(d, DtmfSource::Rfc4733, now),
                Ok(None) => {}
                Err(_) => self.stats.malformed += 1,
            }
            return;
        }
        if p.payload_type != self.media.payload_type {
            return; // comfort noise
        }
        let inband = self.inband.is_some() && self.merger.wants_inband();
        if !inband && !self.tap {
            return;
        }
        let codec = self.media.codec;
        let decode = |codes: &[u8], out: &mut [i16]| match codec {
            Codec::Pcmu => g711::decode_ulaw(codes, out),
            Codec::Pcma => g711::decode_alaw(codes, out),
        };
        if inband && let Some(det) = &mut self.inband {
            let mut found: [Option<crate::dtmf::Digit>; 4] = [None; 4];
            let mut n = 0;
            let mut pcm = [0i16; 160];
            for codes in p.payload.chunks(pcm.len()) {
                decode(codes, &mut pcm[..codes.len()]);
                det.process(&pcm[..codes.len()], |d| {
                    if n < found.len() {
                        found[n] = Some(d);
                        n += 1;
                    }
                });
            }
            for d in found.into_iter().flatten() {
                self.digit(d, DtmfSource::InBand, now);
            }
        }
        if self.tap {
            let mut samples = vec![0i16; p.payload.len()];
            decode(&p.payload, &mut samples);
            self.events.push_back(MediaEvent::Audio(AudioFrame {
                at: now,
                timestamp: p.timestamp,
                samples,
            }));
        }
    }

    /// A datagram received on the RTCP socket.
    pub fn handle_rtcp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.closed {
            return;
        }
        let Some(datagram) = self.plain(Channel::Rtcp, datagram) else {
            return;
        };
        match rtcp::parse_compound(&datagram) {
            Ok(sr) => {
                // Symmetric RTCP: answer where reports come from, when it is the peer.
                if self.latched.is_none_or(|a| a.ip() == from.ip()) {
                    self.latched_rtcp = Some(from);
                }
                if let Some(sr) = sr
                    && Some(sr.ssrc) == self.remote_ssrc
                {
                    let at = self.q16(now);
                    self.reception.record_sender_report(sr.ntp, at);
                }
            }
            Err(_) => self.stats.malformed += 1,
        }
    }

    fn q16(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.started).as_secs_f64() * 65536.0) as u64
    }

    /// Timers: the reorder buffer's wait, a telephone-event's missing end, the RTP timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.drain_reorder(now);
        self.telephone_events.handle_timeout(now);
        if self.timeout_armed() && now >= self.last_rtp + self.config.rtp_timeout {
            self.timed_out = true;
            self.events.push_back(MediaEvent::RtpTimeout {
                silent_for: now - self.last_rtp,
            });
        }
    }

    /// Reports the media as gone (once): a WebRTC connection that never came up or failed
    /// ends the call as silence does.
    pub(crate) fn report_timeout(&mut self, silent_for: Duration) {
        if !self.timed_out {
            self.timed_out = true;
            self.events.push_back(MediaEvent::RtpTimeout { silent_for });
        }
    }

    /// The earliest time something is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.sending() {
            if !self.wants_quiet() {
                consider(Some(self.next_frame));
            } else if self.config.idle_media == IdleMedia::ComfortNoise {
                consider(Some(self.next_comfort_noise));
            }
            consider(Some(self.next_rtcp));
        }
        consider(self.reorder.poll_timeout());
        consider(self.telephone_events.poll_timeout());
        if self.timeout_armed() {
            consider(Some(self.last_rtp + self.config.rtp_timeout));
        }
        t
    }

    /// Writes the next datagram due at `now` into `buf` (at least [`MAX_DATAGRAM`] bytes).
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let sending = self.sending();
        if sending && !self.was_sending {
            self.resume_sending(now);
        }
        self.was_sending = sending;
        if !sending {
            return None;
        }
        let destination = self.destination()?;
        let frame = Duration::from_millis(u64::from(self.media.ptime_ms));
        let samples = self.media.ptime_ms as usize * 8;
        let quiet = self.wants_quiet();
        if quiet != self.quiet {
            self.quiet = quiet;
            if quiet {
                self.next_comfort_noise = now;
            } else {
                // The clock ran on while nothing was sent; a talkspurt starts (marker).
                self.resume_sending(now);
            }
        }
        if quiet
            && let Some(pt) = self.media.comfort_noise
            && self.config.idle_media == IdleMedia::ComfortNoise
            && now >= self.next_comfort_noise
        {
            self.next_comfort_noise = now + COMFORT_NOISE_INTERVAL;
            let header = rtp_rs::RtpPacketBuilder::new()
                .payload_type(pt)
                .ssrc(self.ssrc)
                .sequence(self.seq.into())
                .timestamp(self.rtp_clock(now));
            let len = header
                .build_into(buf)
                .expect("a 12-byte header fits in the datagram buffer");
            buf[len] = COMFORT_NOISE_LEVEL;
            self.seq = self.seq.wrapping_add(1);
            self.stats.sent += 1;
            self.octets_sent = self.octets_sent.wrapping_add(1);
            let len = match &mut self.srtp {
                Some(srtp) => srtp.protect_rtp(buf, len + 1)?,
                None => len + 1,
            };
            return Some(Transmit {
                destination,
                channel: Channel::Rtp,
                len,
            });
        }
        if !quiet && now >= self.next_frame {
            let mut late = now - self.next_frame;
            if late >= 3 * frame {
                // Far behind (a stalled driver): skip to the present instead of bursting.
                let skip = (late.as_micros() / frame.as_micros()) as u32;
                self.next_frame += frame * skip;
                self.timestamp = self.timestamp.wrapping_add(skip * samples as u32);
                self.stats.skipped += u64::from(skip);
                self.marker = true;
                late = now - self.next_frame;
            }
            if late > LATE_AFTER {
                self.stats.sent_late += 1;
            }
            let event = match self.media.telephone_event {
                Some(pt) => self
                    .dtmf_out
                    .next_packet(self.timestamp, samples as u32)
                    .map(|p| (pt, p)),
                None => None,
            };
            let (payload_type, timestamp, marker) = match &event {
                Some((pt, p)) => (*pt, p.timestamp, p.marker),
                None => (self.media.payload_type, self.timestamp, self.marker),
            };
            let header = rtp_rs::RtpPacketBuilder::new()
                .payload_type(payload_type)
                .ssrc(self.ssrc)
                .sequence(self.seq.into())
                .timestamp(timestamp)
                .marked(marker);
            let len = header
                .build_into(buf)
                .expect("a 12-byte header fits in the datagram buffer");
            let payload = match event {
                Some((_, p)) => {
                    buf[len..len + p.payload.len()].copy_from_slice(&p.payload);
                    if let Some(d) = p.started {
                        self.events.push_back(MediaEvent::DtmfStarted(d));
                    }
                    if let Some(d) = p.finished {
                        self.events.push_back(MediaEvent::DtmfSent(d));
                    }
                    p.payload.len()
                }
                None => {
                    let out = &mut buf[len..len + samples];
                    let relayed = !self.player.is_playing()
                        && self
                            .relay
                            .as_mut()
                            .is_some_and(|r| r.fill(self.media.codec, out));
                    if !relayed {
                        let events = &mut self.events;
                        self.player.fill(self.media.codec, out, |id, end| {
                            events.push_back(MediaEvent::Playback { id, end })
                        });
                    }
                    self.marker = false;
                    samples
                }
            };
            self.seq = self.seq.wrapping_add(1);
            self.timestamp = self.timestamp.wrapping_add(samples as u32);
            self.next_frame += frame;
            self.stats.sent += 1;
            self.octets_sent = self.octets_sent.wrapping_add(payload as u32);
            let len = match &mut self.srtp {
                Some(srtp) => srtp.protect_rtp(buf, len + payload)?,
                None => len + payload,
            };
            return Some(Transmit {
                destination,
                channel: Channel::Rtp,
                len,
            });
        }
        if now >= self.next_rtcp {
            self.next_rtcp = now + jittered(RTCP_INTERVAL);
            let rtcp_to = self
                .latched_rtcp
                .or(self.media.remote_rtcp)
                .or_else(|| Some(SocketAddr::new(destination.ip(), destination.port() + 1)))?;
            let sender = SenderInfo {
                ntp: self.ntp(now),
                rtp_timestamp: self.rtp_clock(now),
                packets: self.stats.sent as u32,
                octets: self.octets_sent,
            };
            let q16 = self.q16(now);
            let reception = (self.reception.received > 0).then_some(&mut self.reception);
            let packet = rtcp::build_report(self.ssrc, &self.cname, Some(sender), reception, q16);
            let len = packet.len().min(buf.len());
            buf[..len].copy_from_slice(&packet[..len]);
            let len = match &mut self.srtp {
                Some(srtp) => srtp.protect_rtcp(buf, len)?,
                None => len,
            };
            return Some(Transmit {
                destination: rtcp_to,
                channel: Channel::Rtcp,
                len,
            });
        }
        None
    }

    fn ntp(&self, now: Instant) -> u64 {
        const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
        let wall = self.wall_at_start + now.saturating_duration_since(self.started);
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since_unix.as_secs() + NTP_UNIX_OFFSET;
        let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        (secs << 32) | frac
    }

    /// The next event for the call's owner.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }
}

/// The SRTP contexts `media` asks for (none for plain RTP).
fn srtp_for(media: &NegotiatedMedia) -> Result<Option<Srtp>, NegotiationError> {
    media
        .srtp
        .as_ref()
        .map(Srtp::new)
        .transpose()
        .map_err(|e| NegotiationError::Srtp(e.to_string()))
}

fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.5 + fastrand::f64())
}
