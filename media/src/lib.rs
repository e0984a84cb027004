//! deflect's media side: SDP offer/answer, RTP sessions, G.711, DTMF and prompt playback.

#![forbid(unsafe_code)]

#[cfg(feature = "runtime")]
pub mod driver;
pub mod dtmf;
pub mod g711;
pub mod playback;
pub mod ports;
pub mod reorder;
pub mod rtcp;
pub mod sdp;
pub mod session;
