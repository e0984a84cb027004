//! Repositories: one module per aggregate, the only place its SQL lives. Each is free
//! functions over a write transaction ([`crate::store::Tx`]) or the pool, returning the
//! model's types; none decides anything or logs an event.

pub(crate) mod agents;
pub(crate) mod conversations;
pub(crate) mod events;
pub(crate) mod hook_deliveries;
pub(crate) mod messages;
