//! deflect's media side: SDP offer/answer, RTP sessions, WebRTC, G.711, Opus, DTMF and prompt
//! playback.
//!
//! # Using it (the SIP/IVR wiring)
//!
//! One [`driver::MediaEngine`] per process, started from `[media]` with the prompt library
//! loaded once ([`playback::PromptLibrary::load`] with `ivr.prompts_dir`):
//!
//! - an INVITE's offer → [`MediaEngine::create_session`](driver::MediaEngine::create_session)
//!   → a [`MediaCall`](driver::MediaCall) with the SDP answer for the 200 OK, or a
//!   [`CreateError`](driver::CreateError) whose
//!   [`sip_status`](driver::CreateError::sip_status) is the final response: 488 when nothing
//!   in the offer is acceptable, 400 when it cannot be parsed, 503 when no RTP port is free;
//! - a WebRTC offer (a WhatsApp call's, a browser's) →
//!   [`MediaEngine::create_webrtc_session`](driver::MediaEngine::create_webrtc_session) → the
//!   same [`MediaCall`](driver::MediaCall), whose answer carries deflect's ICE candidate and
//!   DTLS fingerprint; everything below works the same on it, except re-offers (refused) and
//!   sending digits (not done) — see [`webrtc`];
//! - an INVITE without an offer, or a call this side places →
//!   [`MediaEngine::offer`](driver::MediaEngine::offer) (the SDP offer, ports held), then
//!   [`MediaEngine::answered`](driver::MediaEngine::answered) with the peer's answer;
//! - commands in through the call's [`MediaHandle`](driver::MediaHandle): `play` /
//!   `play_prompts` (a queue; returns a [`PlaybackId`](playback::PlaybackId)),
//!   `stop_playback`, `renegotiate(offer).await` for re-INVITEs (an error leaves the call's
//!   media as it was; answer 488), `info_dtmf(content_type, body)` for SIP INFO (the error
//!   says 415 or 400), `hold`, `listen` (audio frames for speech recognition),
//!   `send_dtmf` (RFC 4733 events: the test dialler, a bridge passing digits on), `bridge` and
//!   `relay` (the other leg's audio sent on this one, [`relay`]), `close`;
//! - events out on [`MediaCall::events`](driver::MediaCall::events), a
//!   [`session::MediaEvent`]: `Dtmf` (each key press once, with its source, whatever the
//!   carrier sends), `RtpTimeout` (hang up), `Playback { id, end }` (finished or
//!   interrupted — by `stop_playback` or by a key press when played with barge-in), `Audio`
//!   frames while listening, `DtmfStarted`/`DtmfSent` as digits go out. The stream ends when the session
//!   does.
//!
//! # Layout
//!
//! The protocol cores are sans-IO — they take `now` and never touch a clock or socket:
//! [`sdp`] (RFC 3264/8866), [`session`] (RTP/RTCP, pacing, latching, timeouts), [`relay`]
//! (a bridged call's audio from the other leg), [`srtp`]
//! (SDES `a=crypto` and the call's SRTP contexts, RFC 3711/4568), [`reorder`],
//! [`dtmf`] (RFC 4733, SIP INFO, in-band tone detection, the merged stream), [`playback`] (prompt
//! library and player), [`g711`], [`rtcp`], [`advertise`] (the address put in SDP),
//! [`webrtc`] (a WebRTC call: ICE, DTLS-SRTP and Opus around an ordinary session, and the
//! offering peer tests and the call generator use). [`ports`]
//! binds port pairs; [`driver`] (feature `runtime`, on by default) is the tokio side that owns
//! the sockets.

#![forbid(unsafe_code)]

pub mod advertise;
#[cfg(feature = "runtime")]
pub mod driver;
pub mod dtmf;
pub mod g711;
pub mod playback;
pub mod ports;
pub mod relay;
pub mod reorder;
pub mod rtcp;
pub mod sdp;
pub mod session;
pub mod srtp;
pub mod webrtc;
