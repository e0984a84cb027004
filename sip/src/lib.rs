//! deflect's SIP side.

#![forbid(unsafe_code)]

pub mod auth;
pub mod endpoint;
pub mod message;
pub mod runtime;
pub mod transaction;
pub mod transport;
