//! deflect's media side: SDP offer/answer, RTP sessions, G.711, DTMF and prompt playback.

#![forbid(unsafe_code)]

pub mod g711;
pub mod dtmf;
pub mod playback;
pub mod reorder;
pub mod rtcp;
pub mod sdp;
