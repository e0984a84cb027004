//! deflect's inbox core: every conversation — a deflected call, a WhatsApp message, a web
//! chat — who serves it and when, and the WhatsApp traffic that carries it. It never loses or
//! duplicates a message: every change is committed before it is acknowledged or sent.
//!
//! The [`Inbox`] is the one entry point. Its operations, grouped:
//!
//! | area | operations |
//! |---|---|
//! | deflections | [`Inbox::deflect`] |
//! | webhooks | [`Inbox::receive`] (with [`provider::meta`] / [`provider::twilio`] to verify and parse) |
//! | agents | [`Inbox::create_agent`], [`Inbox::verify_password`], [`Inbox::set_password`], [`Inbox::set_memberships`], [`Inbox::set_disabled`], [`Inbox::set_presence`], [`Inbox::agent`], [`Inbox::agents`], [`Inbox::viewer`] |
//! | conversations | [`Inbox::list_conversations`], [`Inbox::conversation`], [`Inbox::messages`], [`Inbox::accept_offer`], [`Inbox::reject_offer`], [`Inbox::claim`], [`Inbox::transfer_to_agent`], [`Inbox::transfer_to_queue`], [`Inbox::close`] |
//! | messages | [`Inbox::send_text`] (24 h window), [`Inbox::send_recontact`], [`Inbox::add_note`] |
//! | events | [`Inbox::subscribe`] (resume from an event id), [`Inbox::events_after`] |
//! | web channel | [`Inbox::start_web_conversation`], [`Inbox::web_visitor_message`], [`Inbox::web_transcript`], [`Inbox::create_handoff`] |
//! | sandbox | [`Inbox::sandbox_outgoing`], [`Inbox::sandbox_reply`] |
//! | API hand-offs | [`Inbox::start_handoff`] (a conversation waiting for the customer's first WhatsApp message) |
//! | sessions and tokens | [`Inbox::create_session`], [`Inbox::session`], [`Inbox::end_session`], [`Inbox::create_api_token`], [`Inbox::api_tokens`], [`Inbox::revoke_api_token`], [`Inbox::api_token_agent`] |
//! | canned answers | [`Inbox::canned_answers`], [`Inbox::create_canned_answer`], [`Inbox::update_canned_answer`], [`Inbox::delete_canned_answer`], [`Inbox::render_canned_answer`] |
//! | supervision | [`Inbox::board`] |
//! | outgoing webhooks | [`hooks`]: deliveries written with each event, sent by [`Inbox::send_due_hooks`] |
//! | workers | [`Inbox::run`] (outbox, timers and webhooks until shutdown), or step by step: [`Inbox::send_due`], [`Inbox::fire_due_timers`] |
//!
//! Access control takes a [`Viewer`] (from [`Inbox::viewer`]): supervisors and admins see
//! everything; agents the conversations of their queues and WhatsApp accounts, and those
//! offered to or held by them. A conversation the viewer may not see is "not found".
//!
//! Layers: [`store`] (SQLite or PostgreSQL through sqlx), [`routing`] (pure decisions),
//! [`timers`], [`outbox`], [`events`], [`provider`] (Meta, Twilio, sandbox). Time comes from
//! a [`Clock`], so tests run timers and windows on a [`ManualClock`].

#![forbid(unsafe_code)]

// The layers, lowest first (scripts/check-modules enforces them): a module uses its own
// layer and the layers below, never one above; services stay apart from each other.
// layer model: clock model routing provider
// layer store: store
// layer repositories: repo
// layer lifecycle: context lifecycle
// layer services apart: access agents board canned conversations deflection events hooks inbound limits outbox sandbox timers webchat
// layer inbox: inbox testing

/// A query text assembled from this crate's constant fragments and numbered placeholders;
/// values are always bound, never spliced in.
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

/// A fault injection point, compiled in only with the `failpoints` feature (the fault tests'
/// builds; the `fail` crate): `FAILPOINTS="<name>=return(abort)"` aborts the process there,
/// any other `return` makes the step fail with `$err`. Without the feature it is nothing.
macro_rules! fault {
    ($name:literal, $err:expr) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name, |arg: Option<String>| {
            if arg.as_deref() == Some("abort") {
                tracing::error!(point = $name, "fault injected: aborting");
                std::process::abort();
            }
            $err
        });
    };
}

pub mod access;
pub mod agents;
pub mod board;
pub mod canned;
pub mod clock;
mod context;
mod conversations;
pub mod deflection;
pub mod events;
pub mod hooks;
pub mod inbound;
mod inbox;
mod lifecycle;
pub mod limits;
pub mod model;
pub mod outbox;
pub mod provider;
mod repo;
pub mod routing;
pub mod sandbox;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timers;
pub mod webchat;

pub use access::{NewSession, Session};
pub use agents::NewAgent;
pub use board::{AgentLoad, Board, QueueLoad};
pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use context::InboxSettings;
pub use deflection::{Deflected, DeflectionRequest};
pub use events::Subscription;
pub use hooks::HookPass;
pub use inbound::{InboundStats, Received};
pub use inbox::Inbox;
pub use limits::{LimitCheck, LimitOutcome};
pub use model::{
    Agent, ApiToken, CallContext, Channel, ChatError, Colleague, Colleagues, Conversation,
    ConversationDetail, ConversationFilter, DeliveryStatus, Direction, EscalationReason, Event,
    EventKind, Handoff, InputMethod, MAX_TEXT, Message, Origin, Role, Status, StoreError,
    TimerKind, Viewer, WINDOW_MS,
};
pub use model::{CannedAnswer, NewCannedAnswer};
pub use outbox::OutboxPass;
pub use routing::Presence;
pub use sandbox::SandboxReply;
pub use store::Store;
pub use webchat::{NewHandoff, NewWebConversation, VisitorEvent, VisitorEventKind};
