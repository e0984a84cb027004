//! SDP offer/answer for a G.711 audio call (RFC 3264 on RFC 8866 session descriptions).
//!
//! The parser is written here. The maintained candidate, `sdp` 0.8 (webrtc-rs), was tried on
//! the offers trunks actually send and refused several of them: its line-order state machine
//! rejects a session without `t=` or `s=` and a session-level `a=` before `c=` (both seen from
//! SBCs and softphones), and it builds a full WebRTC-oriented model where a call needs six
//! fields. This parser reads what RFC 8866 §5 defines, tolerantly: CRLF or LF, any line
//! order within a level, unknown lines and attributes ignored, and every malformed line that
//! matters reported as an [`SdpError`] naming it.
//!
//! [`answer`] applies RFC 3264 §6 to one offer: the first acceptable `m=audio` gets PCMU or
//! PCMA by the configured preference plus `telephone-event/8000` at the payload type the
//! offer used; every other m-line is rejected with port 0; nothing acceptable is
//! [`NegotiationError::NotAcceptable`] (SIP 488). An `m=audio` is acceptable over `RTP/AVP`
//! unless the trunk requires SRTP, and over `RTP/SAVP` unless it refuses it and provided an
//! `a=crypto` line deflect can honour ([`crate::srtp`]): the answer repeats that line's tag and
//! suite with deflect's own key. Direction attributes follow
//! §6.1 (sendonly ↔ recvonly; inactive stays inactive). `c=0.0.0.0` is RFC 2543 hold
//! (§8.4): nothing is sent to that peer, and the answer says so (`a=recvonly`, or
//! `a=inactive` when the offer was `recvonly` or `inactive`).

use crate::srtp::{Crypto, SrtpKeys, Suite};
use deflect_config::{Codec, SrtpPolicy};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// A parse failure: the offer could not be read (SIP 400 or 488, the caller's choice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The body is not UTF-8 text.
    #[error("the session description is not UTF-8 text")]
    NotText,
    /// No `v=0` line starts the description.
    #[error("the session description does not start with v=0")]
    NoVersion,
    /// A line that matters could not be read.
    #[error("malformed SDP line {line:?}: {reason}")]
    BadLine {
        /// The line as received.
        line: String,
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// Why an offer cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// The offer could not be parsed.
    #[error(transparent)]
    Malformed(#[from] SdpError),
    /// No m-line offers audio this gateway can take (SIP 488 Not Acceptable Here).
    #[error("no acceptable audio stream in the offer (deflect takes {wanted} over {profiles})")]
    NotAcceptable {
        /// The codecs that would have been accepted, for the log.
        wanted: String,
        /// The transports that would have been accepted, for the log.
        profiles: &'static str,
    },
    /// SRTP contexts could not be made from the keys (SIP 488).
    #[error("{0}")]
    Srtp(String),
}

/// Media direction (RFC 3264 §5.1, §6.1), seen from the side that wrote the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Send and receive (the default).
    SendRecv,
    /// Send only (the peer putting us on hold sends this).
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The direction the answerer uses for an offered direction (§6.1).
    pub fn answer(self) -> Self {
        match self {
            Self::SendRecv => Self::SendRecv,
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            Self::Inactive => Self::Inactive,
        }
    }
    /// The same direction without receiving: what an offer with `c=0.0.0.0` (RFC 2543
    /// hold) means, since the peer gives no address to receive at (RFC 3264 §8.4).
    pub fn without_receiving(self) -> Self {
        match self {
            Self::SendRecv | Self::SendOnly => Self::SendOnly,
            Self::RecvOnly | Self::Inactive => Self::Inactive,
        }
    }
    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }
    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }
    fn attribute(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }
}

/// `a=rtpmap:` — a dynamic payload type's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `telephone-event`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels, when given.
    pub channels: Option<u8>,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type (`audio`, `video`, …).
    pub media: String,
    /// Port (0 = rejected or disabled).
    pub port: u16,
    /// Transport protocol (`RTP/AVP`, `RTP/SAVP`, …).
    pub proto: String,
    /// Formats as listed (payload type numbers for RTP).
    pub formats: Vec<String>,
    /// Media-level `c=` address, if any.
    pub connection: Option<IpAddr>,
    /// `a=rtpmap` entries.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` entries: payload type and parameters.
    pub fmtps: Vec<(u8, String)>,
    /// `a=ptime` in milliseconds.
    pub ptime: Option<u32>,
    /// `a=maxptime` in milliseconds.
    pub maxptime: Option<u32>,
    /// Media-level direction attribute.
    pub direction: Option<Direction>,
    /// `a=rtcp` (RFC 3605): port and optional address.
    pub rtcp: Option<(u16, Option<IpAddr>)>,
    /// The `a=crypto` lines deflect can honour, in the offer's order.
    pub crypto: Vec<Crypto>,
}

/// A parsed session description (the parts offer/answer uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=` session id, as written.
    pub session_id: String,
    /// `o=` session version.
    pub session_version: u64,
    /// Session-level `c=` address.
    pub connection: Option<IpAddr>,
    /// Session-level direction attribute.
    pub direction: Option<Direction>,
    /// The m-lines in order.
    pub media: Vec<MediaDescription>,
}

fn bad(line: &str, reason: &'static str) -> SdpError {
    SdpError::BadLine {
        line: line.chars().take(200).collect(),
        reason,
    }
}

fn parse_connection(line: &str, value: &str) -> Result<IpAddr, SdpError> {
    // c=<nettype> <addrtype> <connection-address>, the address possibly with /ttl[/n].
    let mut it = value.split_ascii_whitespace();
    let (Some(net), Some(addr_type), Some(addr)) = (it.next(), it.next(), it.next()) else {
        return Err(bad(line, "expected `c=IN IP4 <address>`"));
    };
    if !net.eq_ignore_ascii_case("IN") {
        return Err(bad(line, "only the IN network type is supported"));
    }
    let addr = addr.split('/').next().unwrap_or(addr);
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| bad(line, "the connection address is not an IP address"))?;
    match (addr_type.to_ascii_uppercase().as_str(), ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Ok(ip),
        _ => Err(bad(line, "the address does not match its type (IP4/IP6)")),
    }
}

fn parse_payload_type(line: &str, s: &str) -> Result<u8, SdpError> {
    s.parse::<u8>()
        .ok()
        .filter(|pt| *pt < 128)
        .ok_or_else(|| bad(line, "payload type is not a number 0-127"))
}

impl SessionDescription {
    /// Parses a session description (RFC 8866 §5) from a message body.
    pub fn parse(body: &[u8]) -> Result<Self, SdpError> {
        let text = std::str::from_utf8(body).map_err(|_| SdpError::NotText)?;
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).trim_end())
            .filter(|l| !l.is_empty());
        if lines.next().map(str::trim) != Some("v=0") {
            return Err(SdpError::NoVersion);
        }
        let mut sdp = SessionDescription {
            session_id: String::new(),
            session_version: 0,
            connection: None,
            direction: None,
            media: Vec::new(),
        };
        for line in lines {
            let Some((kind, value)) = line.split_once('=') else {
                return Err(bad(line, "expected <type>=<value>"));
            };
            let value = value.trim();
            match kind {
                "o" => {
                    let f: Vec<&str> = value.split_ascii_whitespace().collect();
                    if f.len() != 6 {
                        return Err(bad(line, "o= needs six fields"));
                    }
                    sdp.session_id = f[1].to_owned();
                    sdp.session_version = f[2]
                        .parse()
                        .map_err(|_| bad(line, "the session version is not a number"))?;
                }
                "c" => {
                    let ip = parse_connection(line, value)?;
                    match sdp.media.last_mut() {
                        Some(m) => m.connection = Some(ip),
                        None => sdp.connection = Some(ip),
                    }
                }
                "m" => {
                    let mut it = value.split_ascii_whitespace();
                    let (Some(media), Some(port), Some(proto)) = (it.next(), it.next(), it.next())
                    else {
                        return Err(bad(line, "expected `m=<media> <port> <proto> <fmt> …`"));
                    };
                    let port = port
                        .split('/')
                        .next()
                        .and_then(|p| p.parse::<u16>().ok())
                        .ok_or_else(|| bad(line, "the port is not a number 0-65535"))?;
                    sdp.media.push(MediaDescription {
                        media: media.to_owned(),
                        port,
                        proto: proto.to_owned(),
                        formats: it.map(str::to_owned).collect(),
                        connection: None,
                        rtpmaps: Vec::new(),
                        fmtps: Vec::new(),
                        ptime: None,
                        maxptime: None,
                        direction: None,
                        rtcp: None,
                        crypto: Vec::new(),
                    });
                }
                "a" => sdp.attribute(line, value)?,
                // v (repeated), s, i, u, e, p, b, t, r, z, k and unknown types: nothing to
                // negotiate. RFC 8866 lets parsers ignore what they do not use.
                _ => {}
            }
        }
        Ok(sdp)
    }

    fn attribute(&mut self, line: &str, value: &str) -> Result<(), SdpError> {
        let (name, arg) = match value.split_once(':') {
            Some((n, a)) => (n, a.trim()),
            None => (value, ""),
        };
        let direction = match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        };
        let Some(m) = self.media.last_mut() else {
            if direction.is_some() {
                self.direction = direction;
            }
            return Ok(());
        };
        if direction.is_some() {
            m.direction = direction;
            return Ok(());
        }
        match name {
            "rtpmap" => {
                let (pt, rest) = arg
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| bad(line, "expected `a=rtpmap:<pt> <name>/<rate>`"))?;
                let payload_type = parse_payload_type(line, pt)?;
                let mut parts = rest.trim().split('/');
                let encoding = parts.next().unwrap_or_default().to_owned();
                let clock_rate = parts
                    .next()
                    .and_then(|r| r.parse().ok())
                    .ok_or_else(|| bad(line, "the clock rate is not a number"))?;
                let channels = parts.next().and_then(|c| c.parse().ok());
                m.rtpmaps.push(RtpMap {
                    payload_type,
                    encoding,
                    clock_rate,
                    channels,
                });
            }
            "fmtp" => {
                let (pt, params) = arg.split_once(char::is_whitespace).unwrap_or((arg, ""));
                // Formats that are not payload types (non-RTP m-lines) are not ours to check.
                if let Ok(pt) = pt.parse::<u8>() {
                    m.fmtps.push((pt, params.trim().to_owned()));
                }
            }
            "ptime" => m.ptime = arg.parse::<f32>().ok().map(|p| p as u32),
            "maxptime" => m.maxptime = arg.parse::<f32>().ok().map(|p| p as u32),
            "rtcp" => {
                let mut it = arg.split_ascii_whitespace();
                let port = it
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| bad(line, "the RTCP port is not a number"))?;
                let addr = it.nth(1).and_then(|a| a.parse().ok());
                m.rtcp = Some((port, addr));
            }
            "crypto" => m.crypto.extend(Crypto::parse(arg)),
            _ => {}
        }
        Ok(())
    }
}

impl MediaDescription {
    /// The encoding of a payload type: its `a=rtpmap`, else the RFC 3551 static assignment.
    pub fn encoding(&self, payload_type: u8) -> Option<(String, u32)> {
        if let Some(m) = self.rtpmaps.iter().find(|m| m.payload_type == payload_type) {
            return Some((m.encoding.clone(), m.clock_rate));
        }
        match payload_type {
            0 => Some(("PCMU".into(), 8000)),
            8 => Some(("PCMA".into(), 8000)),
            13 => Some(("CN".into(), 8000)),
            18 => Some(("G729".into(), 8000)),
            _ => None,
        }
    }

    fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok())
    }

    /// The payload type the offer uses for `codec`, if any.
    fn find(&self, encoding: &str, clock: u32) -> Option<u8> {
        self.payload_types().find(|&pt| {
            self.encoding(pt)
                .is_some_and(|(e, c)| e.eq_ignore_ascii_case(encoding) && c == clock)
        })
    }
}

/// Encoding name of a codec in SDP.
pub fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
    }
}

/// The RFC 3551 static payload type of a codec.
pub fn static_payload_type(codec: Codec) -> u8 {
    match codec {
        Codec::Pcmu => 0,
        Codec::Pcma => 8,
    }
}

/// What an accepted offer settled: everything the RTP session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// Index of the accepted m-line.
    pub media_index: usize,
    /// The audio codec.
    pub codec: Codec,
    /// Its payload type (the offer's number).
    pub payload_type: u8,
    /// Payload type of telephone-event/8000, when the offer carried it.
    pub telephone_event: Option<u8>,
    /// Payload type of comfort noise (RFC 3389, `CN/8000`), when the offer carried it.
    pub comfort_noise: Option<u8>,
    /// Packet duration to send, in milliseconds (10–60, a multiple of 10).
    pub ptime_ms: u32,
    /// The direction this side takes (the answer's).
    pub direction: Direction,
    /// Where the peer wants RTP, from `c=` and `m=` (`None`: hold with `c=0.0.0.0`, or port 0).
    pub remote_rtp: Option<SocketAddr>,
    /// Where the peer wants RTCP (`a=rtcp`, else the RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// The SRTP keys, when the stream is `RTP/SAVP`.
    pub srtp: Option<SrtpKeys>,
}

impl NegotiatedMedia {
    /// Whether the peer has put the call on hold (it does not want our media).
    pub fn on_hold(&self) -> bool {
        !self.direction.sends() || self.remote_rtp.is_none()
    }
}

/// The local side of an answer: where our RTP socket is, and our `o=` line state.
#[derive(Debug, Clone)]
pub struct LocalDescription {
    /// Address advertised in `o=` and `c=`.
    pub address: IpAddr,
    /// Our RTP port (RTCP is the next one).
    pub rtp_port: u16,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version, incremented when an answer differs from the previous one.
    pub session_version: u64,
    /// Whether SRTP is taken, required or refused.
    pub srtp: SrtpPolicy,
    /// deflect's SRTP key and suite once chosen (kept across re-offers of the same suite).
    srtp_key: Option<Crypto>,
    last_body: Option<String>,
}

impl LocalDescription {
    /// A new local description with a random session id.
    pub fn new(address: IpAddr, rtp_port: u16) -> Self {
        let session_id = fastrand::u64(1..u64::from(u32::MAX));
        Self {
            address,
            rtp_port,
            session_id,
            session_version: session_id,
            srtp: SrtpPolicy::default(),
            srtp_key: None,
            last_body: None,
        }
    }

    /// The same, with SRTP as `policy` says.
    pub fn with_srtp(mut self, policy: SrtpPolicy) -> Self {
        self.srtp = policy;
        self
    }

    /// A whole description: deflect's session lines (`o=` with the current version, `c=`)
    /// and the media sections `lines`.
    fn session(&self, lines: &str) -> String {
        let ip_type = if self.address.is_ipv4() { "IP4" } else { "IP6" };
        format!(
            "v=0\r\no=deflect {} {} IN {ip_type} {addr}\r\ns=deflect\r\nc=IN {ip_type} {addr}\r\nt=0 0\r\n{lines}",
            self.session_id,
            self.session_version,
            addr = self.address,
        )
    }

    /// deflect's key for `suite` under `tag`: the one already in use for that suite, else
    /// a new one.
    fn srtp_key(&mut self, tag: u32, suite: Suite) -> Crypto {
        let key = match &self.srtp_key {
            Some(k) if k.suite == suite => k.key.clone(),
            _ => suite.new_key(),
        };
        let crypto = Crypto { tag, suite, key };
        self.srtp_key = Some(crypto.clone());
        crypto
    }
}

/// The crypto line of `m` deflect answers with: the suite it prefers among those offered.
fn chosen_crypto(m: &MediaDescription) -> Option<&Crypto> {
    Suite::ALL
        .iter()
        .find_map(|s| m.crypto.iter().find(|c| c.suite == *s))
}

/// Whether `m`'s transport is one `policy` takes (SRTP with a key deflect can honour).
fn transport_acceptable(m: &MediaDescription, policy: SrtpPolicy) -> bool {
    if m.proto.eq_ignore_ascii_case("RTP/AVP") {
        policy != SrtpPolicy::Required
    } else if m.proto.eq_ignore_ascii_case("RTP/SAVP") {
        policy != SrtpPolicy::Off && chosen_crypto(m).is_some()
    } else {
        false
    }
}

/// Answers `offer` (RFC 3264 §6) with the codecs in `preference` order.
///
/// Returns the answer body and what was negotiated. [`NegotiationError::NotAcceptable`] means
/// SIP 488; the caller keeps any previous session as it was (a failed re-offer changes
/// nothing, RFC 3264 §8).
pub fn answer(
    offer: &SessionDescription,
    preference: &[Codec],
    local: &mut LocalDescription,
) -> Result<(String, NegotiatedMedia), NegotiationError> {
    let mut chosen: Option<NegotiatedMedia> = None;
    let mut lines = String::new();
    for (index, m) in offer.media.iter().enumerate() {
        let accepted = if chosen.is_none()
            && m.port != 0
            && m.media.eq_ignore_ascii_case("audio")
            && transport_acceptable(m, local.srtp)
        {
            preference
                .iter()
                .find_map(|&codec| m.find(codec_name(codec), 8000).map(|pt| (codec, pt)))
        } else {
            None
        };
        let Some((codec, payload_type)) = accepted else {
            // Rejected (§6): port 0, same media and proto, the offered formats.
            let formats = if m.formats.is_empty() {
                "0".to_owned()
            } else {
                m.formats.join(" ")
            };
            let _ = write!(lines, "m={} 0 {} {}\r\n", m.media, m.proto, formats);
            continue;
        };
        let telephone_event = m.find("telephone-event", 8000);
        let comfort_noise = m.find("CN", 8000);
        let ptime_ms = m
            .ptime
            .filter(|p| (10..=60).contains(p) && p % 10 == 0)
            .map(|p| m.maxptime.map_or(p, |max| p.min(max.max(10) / 10 * 10)))
            .unwrap_or(20);
        let offered = m
            .direction
            .or(offer.direction)
            .unwrap_or(Direction::SendRecv);
        let connection = m.connection.or(offer.connection);
        let remote_ip = connection.filter(|ip| !ip.is_unspecified());
        // c=0.0.0.0 (RFC 2543 hold, §8.4): "neither RTP nor RTCP should be sent to the
        // peer", whatever its direction attribute says; the answer says we will not send.
        let offered = match remote_ip {
            Some(_) => offered,
            None => offered.without_receiving(),
        };
        let remote_rtp = remote_ip.map(|ip| SocketAddr::new(ip, m.port));
        let remote_rtcp = match m.rtcp {
            Some((port, addr)) => addr.or(remote_ip).map(|ip| SocketAddr::new(ip, port)),
            None => remote_ip.map(|ip| SocketAddr::new(ip, m.port.wrapping_add(1))),
        };
        let direction = offered.answer();
        let srtp = chosen_crypto(m)
            .filter(|_| m.proto.eq_ignore_ascii_case("RTP/SAVP"))
            .cloned();
        let proto = if srtp.is_some() {
            "RTP/SAVP"
        } else {
            "RTP/AVP"
        };
        let _ = write!(lines, "m=audio {} {proto} {payload_type}", local.rtp_port);
        for pt in [telephone_event, comfort_noise].into_iter().flatten() {
            let _ = write!(lines, " {pt}");
        }
        let _ = write!(
            lines,
            "\r\na=rtpmap:{payload_type} {}/8000\r\n",
            codec_name(codec)
        );
        if let Some(cn) = comfort_noise {
            let _ = write!(lines, "a=rtpmap:{cn} CN/8000\r\n");
        }
        if let Some(te) = telephone_event {
            let events = m
                .fmtps
                .iter()
                .find(|(pt, _)| *pt == te)
                .map(|(_, p)| p.as_str())
                .filter(|p| !p.is_empty())
                .unwrap_or("0-16");
            let _ = write!(
                lines,
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} {events}\r\n"
            );
        }
        let _ = write!(
            lines,
            "a=ptime:{ptime_ms}\r\na=rtcp:{}\r\na={}\r\n",
            local.rtp_port.wrapping_add(1),
            direction.attribute()
        );
        let srtp = srtp.map(|theirs| {
            let ours = local.srtp_key(theirs.tag, theirs.suite);
            let _ = write!(lines, "a=crypto:{}\r\n", ours.attribute());
            SrtpKeys {
                suite: theirs.suite,
                theirs: theirs.key,
                ours: ours.key,
            }
        });
        chosen = Some(NegotiatedMedia {
            media_index: index,
            codec,
            payload_type,
            telephone_event,
            comfort_noise,
            ptime_ms,
            direction,
            remote_rtp,
            remote_rtcp,
            srtp,
        });
    }
    let Some(negotiated) = chosen else {
        let wanted = preference
            .iter()
            .map(|&c| codec_name(c))
            .collect::<Vec<_>>()
            .join(" or ");
        let profiles = match local.srtp {
            SrtpPolicy::Off => "RTP/AVP (this trunk's srtp is off)",
            SrtpPolicy::Optional => "RTP/AVP, or RTP/SAVP with an a=crypto key",
            SrtpPolicy::Required => "RTP/SAVP with an a=crypto key (this trunk requires SRTP)",
        };
        return Err(NegotiationError::NotAcceptable { wanted, profiles });
    };
    if local.last_body.as_deref() != Some(lines.as_str()) {
        if local.last_body.is_some() {
            local.session_version += 1;
        }
        local.last_body = Some(lines.clone());
    }
    Ok((local.session(&lines), negotiated))
}

/// deflect's offer for a re-INVITE of an established session (RFC 3264 §8): the media
/// sections of its last description with `direction` (deflect's side) on the accepted one
/// (`media.media_index`), under the next `o=` version. `None` before any description.
pub fn reoffer(
    local: &mut LocalDescription,
    media: &NegotiatedMedia,
    direction: Direction,
) -> Option<String> {
    let last = local.last_body.as_deref()?;
    let mut lines = String::with_capacity(last.len());
    let mut section = None::<usize>;
    for line in last.split_inclusive("\r\n") {
        if line.starts_with("m=") {
            section = Some(section.map_or(0, |i| i + 1));
        }
        let is_direction = ["sendrecv", "sendonly", "recvonly", "inactive"]
            .iter()
            .any(|d| line.trim_end() == format!("a={d}"));
        if is_direction && section == Some(media.media_index) {
            let _ = write!(lines, "a={}\r\n", direction.attribute());
        } else {
            lines.push_str(line);
        }
    }
    if local.last_body.as_deref() != Some(lines.as_str()) {
        local.session_version += 1;
        local.last_body = Some(lines.clone());
    }
    Some(local.session(&lines))
}

/// Parses an offer body and answers it: the one call the SIP wiring needs.
pub fn answer_offer(
    body: &[u8],
    preference: &[Codec],
    local: &mut LocalDescription,
) -> Result<(String, NegotiatedMedia), NegotiationError> {
    answer(&SessionDescription::parse(body)?, preference, local)
}

/// Writes an offer (for the offering side, e.g. a load generator or test dialler): one
/// `m=audio` with `codecs` at their static payload types and telephone-event at
/// `telephone_event`, 20 ms packets, sendrecv; over `RTP/SAVP` with an
/// `AES_CM_128_HMAC_SHA1_80` key (the suite every SDES peer takes) when `local` requires
/// SRTP, else over `RTP/AVP`.
pub fn offer(
    local: &mut LocalDescription,
    codecs: &[Codec],
    telephone_event: Option<u8>,
) -> String {
    let srtp = local.srtp == SrtpPolicy::Required;
    let mut body = format!(
        "m=audio {} {}",
        local.rtp_port,
        if srtp { "RTP/SAVP" } else { "RTP/AVP" },
    );
    for &c in codecs {
        let _ = write!(body, " {}", static_payload_type(c));
    }
    if let Some(te) = telephone_event {
        let _ = write!(body, " {te}");
    }
    body.push_str("\r\n");
    for &c in codecs {
        let _ = write!(
            body,
            "a=rtpmap:{} {}/8000\r\n",
            static_payload_type(c),
            codec_name(c)
        );
    }
    if let Some(te) = telephone_event {
        let _ = write!(
            body,
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        );
    }
    body.push_str("a=ptime:20\r\na=sendrecv\r\n");
    if srtp {
        let key = local.srtp_key(1, Suite::AesCm128HmacSha1_80);
        let _ = write!(body, "a=crypto:{}\r\n", key.attribute());
    }
    local.session(&body)
}
