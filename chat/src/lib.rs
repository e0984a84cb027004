//! deflect's inbox core: every conversation — a deflected call, a WhatsApp message, a web
//! chat — and the store it lives in.
//!
//! The store runs on SQLite (the embedded default: one file in the data directory, WAL
//! journal) or PostgreSQL (several gateway processes sharing one database). Both are reached
//! through sqlx, chosen by the URL scheme.

#![forbid(unsafe_code)]

pub mod store;

pub use store::{Store, StoreError};
