//! deflect's SIP side.

#![forbid(unsafe_code)]

pub mod message;
pub mod transport;
