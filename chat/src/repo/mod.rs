//! Repositories: one module per aggregate, the only place its SQL lives (except the inbound
//! service's, `crate::inbound`, whose group commit stores runs of messages a few statements
//! at a time). Each is free functions over a
//! write transaction ([`crate::store::Tx`]) or the store's pool, taking and returning the
//! model's types; none decides anything.

pub(crate) mod agents;
pub(crate) mod assignments;
pub(crate) mod attachments;
pub(crate) mod bot_turns;
pub(crate) mod calls;
pub(crate) mod canned;
pub(crate) mod contacts;
pub(crate) mod conversations;
pub(crate) mod deflections;
pub(crate) mod early_statuses;
pub(crate) mod events;
pub(crate) mod faq_entries;
pub(crate) mod gateway_keys;
pub(crate) mod handoff_codes;
pub(crate) mod hook_deliveries;
pub(crate) mod labels;
pub(crate) mod limit_uses;
pub(crate) mod list_revisions;
pub(crate) mod locks;
pub(crate) mod messages;
pub(crate) mod nodes;
pub(crate) mod outbox;
pub(crate) mod provider_media;
pub(crate) mod queues;
pub(crate) mod reads;
pub(crate) mod relays;
pub(crate) mod reports;
pub(crate) mod sessions;
pub(crate) mod setting_overrides;
pub(crate) mod templates;
pub(crate) mod timers;
pub(crate) mod uploads;
pub(crate) mod visitors;
pub(crate) mod webhook_endpoints;
pub(crate) mod whitelist;
