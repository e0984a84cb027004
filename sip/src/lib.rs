//! deflect's SIP side: the user agent server that answers calls from trunks.

#![forbid(unsafe_code)]

pub mod transport;
