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
//! | attachments | [`Inbox::attachment`] (a stored file for an agent who may see it), [`Inbox::download_due_attachments`] (the worker's step), [`Inbox::open_with_attachments`], [`Inbox::upload_file`] (an agent's file to send), [`Inbox::linked_attachment`] (a sent file for the provider holding its signed link), [`Inbox::web_visitor_file`], [`Inbox::web_attachment`] (the widget's files) |
//! | agents | [`Inbox::create_agent`], [`Inbox::check_agent_change`], [`Inbox::verify_password`], [`Inbox::set_password`], [`Inbox::set_memberships`], [`Inbox::set_role`], [`Inbox::set_disabled`], [`Inbox::set_presence`], [`Inbox::agent`], [`Inbox::agents`], [`Inbox::colleagues`], [`Inbox::agent_loads`], [`Inbox::viewer`] |
//! | contacts and labels | [`Inbox::contact`] (the contact card beside a conversation), [`Inbox::add_label`], [`Inbox::remove_label`], [`Inbox::labels`] |
//! | conversations | [`Inbox::list_conversations`], [`Inbox::conversation`], [`Inbox::messages`] (and their `_unchecked` forms for the widget and tests), [`Inbox::accept_offer`], [`Inbox::reject_offer`], [`Inbox::claim`], [`Inbox::transfer_to_agent`], [`Inbox::transfer_to_queue`] (and their `_with_note` forms: a note for the next agent, stored with the transfer), [`Inbox::close`] |
//! | messages | [`Inbox::send_text`] (24 h window), [`Inbox::send_interactive`] (reply buttons, lists, link buttons: [`Interactive`]), [`Inbox::send_file`] (an uploaded file), [`Inbox::send_recontact`], [`Inbox::add_note`] |
//! | events | [`Inbox::subscribe`] (resume from an event id), [`Inbox::events_after`], [`Inbox::conversation_events`], [`Inbox::typing`] (never logged) |
//! | web channel | [`Inbox::start_web_conversation`], [`Inbox::web_visitor_message`], [`Inbox::web_visitor_reply`], [`Inbox::web_rating`], [`Inbox::web_transcript`], [`Inbox::web_conversation`], [`Inbox::create_handoff`], [`Inbox::is_open`] |
//! | sandbox | [`Inbox::sandbox_outgoing`], [`Inbox::sandbox_reply`] |
//! | API hand-offs | [`Inbox::start_handoff`] (a conversation waiting for the customer's first WhatsApp message) |
//! | sessions and tokens | [`Inbox::create_session`], [`Inbox::session`], [`Inbox::end_session`], [`Inbox::create_api_token`], [`Inbox::api_tokens`], [`Inbox::revoke_api_token`], [`Inbox::api_token_agent`] |
//! | templates | [`Inbox::templates`] (the cached list an agent may send), [`Inbox::template_refreshes`], [`Inbox::refresh_templates`], [`Inbox::send_template`] |
//! | canned answers | [`Inbox::canned_answers`], [`Inbox::create_canned_answer`], [`Inbox::update_canned_answer`], [`Inbox::delete_canned_answer`], [`Inbox::render_canned_answer`] |
//! | managed lists | [`Inbox::whitelist`], [`Inbox::add_whitelist_entry`], [`Inbox::delete_whitelist_entry`], [`Inbox::faq_entries`], [`Inbox::add_faq_entry`], [`Inbox::update_faq_entry`], [`Inbox::delete_faq_entry`] (configured entries listed too, read-only) |
//! | supervision | [`Inbox::board`], [`Inbox::csat_report`], [`Inbox::queue_report`], [`Inbox::agent_report`], [`Inbox::deflection_report`], [`Inbox::volume_report`], [`Inbox::outbox_depth`], [`Inbox::hook_depth`], [`Inbox::inbound_stats`] |
//! | settings | [`Inbox::setting_scopes`], [`Inbox::setting_scope`], [`Inbox::put_setting_overrides`], [`Inbox::delete_setting_overrides`]: admins' overrides of the automations, widget sites' texts and queues, over the configuration file's |
//! | outgoing webhooks | [`hooks`]: deliveries written with each event, sent by [`Inbox::send_due_hooks`]; endpoints added by admins beside the configured ones: [`Inbox::webhooks`], [`Inbox::add_webhook`], [`Inbox::update_webhook`], [`Inbox::delete_webhook`] |
//! | workers | [`Inbox::run`] (outbox, timers and webhooks until shutdown), or step by step: [`Inbox::send_due`], [`Inbox::fire_due_timers`], [`Inbox::next_timer_due`] |
//! | life and settings | [`Inbox::open`], [`Inbox::open_for_command`], [`Inbox::shutdown`], [`Inbox::store`], [`Inbox::settings`], [`Inbox::file_settings`], [`Inbox::now`], [`Inbox::account`], [`Inbox::default_account`], [`Inbox::queue_config`], [`Inbox::queue_names`], [`Inbox::default_queue`], [`Inbox::rules`] |
//!
//! Access control takes a [`Viewer`] (from [`Inbox::viewer`]): supervisors and admins see
//! everything; agents the conversations of their queues and WhatsApp accounts, and those
//! offered to or held by them. A conversation the viewer may not see is "not found".
//!
//! # The layers (a map for contributors)
//!
//! From the bottom up; a module uses its own layer and the ones below, never one above
//! (`scripts/check-modules chat` enforces it from the `// layer` lines below, and the test
//! suite runs it):
//!
//! | layer | modules | owns |
//! |---|---|---|
//! | model | [`model`], [`clock`], [`routing`], [`provider`], [`bot`], [`faq`], [`blobs`] | the nouns (conversation, message, agent, [`EventKind`], [`TimerKind`], errors, codes); time as an input ([`Clock`], [`ManualClock`] in tests); routing's pure decisions; the providers' wire formats and clients (Meta, Twilio, sandbox); the bots' (the Rasa REST channel); which FAQ entry a message asks ([`Faq`], BM25 per language and account) and whether it asks for a person ([`faq::wants_person`]); attachments' bytes ([`BlobStore`]: a directory or an S3 bucket, content-addressed, their types read from the bytes). No database. |
//! | store | [`store`] | the connection (SQLite or PostgreSQL through sqlx), the write transaction `Tx`, and the event log's hand-over: a transaction collects the events appended to it and gives each to the registered sinks (`store::EventSink`). It knows no webhook, bus or service. |
//! | repositories | `repo/` | one file per aggregate (conversations, messages, agents, contacts, hand-off codes, assignments, queues, timers, outbox, early statuses, deflections, sessions and tokens, canned answers, events, webhook deliveries, web visitors, limit uses, whitelist and FAQ entries and webhook endpoints with their lists' revisions): the SQL of that aggregate and its row decoding. The one exception is the inbound service's SQL (`inbound`, whose group commit stores runs of messages a few statements at a time), which stays beside the code that groups them. |
//! | lifecycle | `context`, `lifecycle/` | `Ctx`, what every service works with (store, settings, clock, the workers' wake-ups); the steps several services share, inside the caller's transaction and never committing: opening a conversation, the routing driver (queue, offer, decline, return, fallback, close), outgoing messages, delivery statuses, the web-to-WhatsApp hand-off, and `transition::Action` — the lock, check, change, commit skeleton of every agent action. |
//! | services | `conversations` (agent actions), `contacts` (the contact card, labels), [`agents`], [`access`] (sessions, tokens), [`attachments`] (customers' files: the download worker and serving them), [`board`], [`reports`] (the supervisors' reports over a period), [`canned`], `lists` (the whitelist and FAQ entries admins add), `webhooks` (the webhook endpoints admins add), [`deflection`], [`limits`], [`inbound`], [`webchat`], [`sandbox`], `templates` (each account's message templates, listed from its provider and cached), `receipts` (read receipts and the typing indicator on WhatsApp), [`whatsapp_calls`] (WhatsApp calls' signalling: the `calls` webhook to the IVR, call actions out), [`timers`], [`outbox`], [`hooks`], [`events`] | one job each; a service never imports another (the layer is `apart`): what two services share moves down into lifecycle or a repository. |
//! | inbox | `inbox`, [`testing`] | [`Inbox`]: opens the services on a store, registers the event sinks (webhook deliveries, the live feed), runs the workers, and is the one `impl` whose methods delegate to the services. |
//!
//! Where to add:
//!
//! - **a provider**: a client in `provider/` (its wire format, verification and send) and a
//!   case in `provider::Client`; nothing above changes.
//! - **an automation**: a [`TimerKind`] (model) with its wire name, armed by a lifecycle step
//!   or a service (`lifecycle::arm`), and its effect in [`timers`] when it fires (a
//!   transaction of its own, exactly once).
//! - **an event**: an [`EventKind`] variant with its wire name (the names are a contract of the
//!   events table, the webhooks, the live feeds and the widget: never rename one), logged with
//!   `repo::events::log` or `lifecycle::conversation_event` inside the change's transaction;
//!   [`hooks::hook_type`] decides whether endpoints can subscribe to it, and the widget's
//!   [`webchat::visitor_event`] whether visitors see it.
//! - **an operation**: a function in its service, taking `&Ctx`, and a delegating method on
//!   [`Inbox`] (and a row in the table above).
//!
//! Time comes from a [`Clock`], so tests run timers and windows on a [`ManualClock`].

#![forbid(unsafe_code)]

// The layers, lowest first (see the crate documentation; scripts/check-modules enforces
// them): a module uses its own layer and the layers below, never one above; services stay
// apart from each other.
// layer model: blobs bot clock faq model routing provider
// layer store: store
// layer repositories: repo
// layer lifecycle: context lifecycle
// layer services apart: access agents attachments board bots calls canned components contacts conversations deflection events hooks inbound limits lists nodes outbox receipts reports sandbox settings templates timers webchat webhooks whatsapp_calls
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
pub mod attachments;
pub mod blobs;
pub mod board;
pub mod bot;
mod bots;
mod calls;
pub mod canned;
pub mod clock;
mod components;
mod contacts;
mod context;
mod conversations;
pub mod deflection;
pub mod events;
pub mod faq;
pub mod hooks;
pub mod inbound;
mod inbox;
mod lifecycle;
pub mod limits;
mod lists;
pub mod model;
pub mod nodes;
pub mod outbox;
pub mod provider;
mod receipts;
mod repo;
pub mod reports;
pub mod routing;
pub mod sandbox;
mod settings;
pub mod store;
mod templates;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timers;
pub mod webchat;
mod webhooks;
pub mod whatsapp_calls;

pub use access::{NewSession, Session};
pub use agents::NewAgent;
pub use attachments::AttachmentFile;
pub use blobs::{BlobError, BlobStore, StoredBlob};
pub use board::{AgentLoad, Board, QueueLoad};
pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use context::InboxSettings;
pub use deflection::{Deflected, Deflection};
pub use events::Subscription;
pub use faq::{Faq, FaqMatch};
pub use hooks::HookPass;
pub use inbound::{InboundStats, Received};
pub use inbox::Inbox;
pub use limits::{LimitCheck, LimitOutcome};
pub use model::normalize_label;
pub use model::{ATTACHMENT_PATH, Attachment, AttachmentState};
pub use model::{
    Agent, ApiToken, BOT_ENDED, CallContext, Channel, ChatError, Colleague, Colleagues,
    ContactCall, ContactCard, ContactConversation, ContactIdentity, ContactProfile, Conversation,
    ConversationDetail, ConversationFilter, DeliveryStatus, Direction, ErrorMeaning,
    EscalationReason, Event, EventKind, Handoff, INACTIVE, InputMethod, Interactive, LabelCount,
    MAX_LABEL_CHARS, MAX_TEXT, Message, NOT_WHITELISTED, OUTSIDE_HOURS, Origin, PathStep, Role,
    Sender, Status, StoreError, TimerKind, Viewer, WINDOW_MS,
};
pub use model::{
    ButtonValue, HeaderMedia, HeaderValue, Parameters, Template, TemplateButton, TemplateHeader,
    TemplateRefresh, TemplateValues,
};
pub use model::{CallFilter, CallOutcome, CallRecord, RecordedCall};
pub use model::{CannedAnswer, NewCannedAnswer};
pub use model::{ConversationSummary, PREVIEW_CHARS, Preferences, Preview, ViewCount, ViewCounts};
pub use model::{
    CsatByAgent, CsatByQueue, CsatReport, CsatSummary, csat_in_payload, csat_payload, score_in_text,
};
pub use model::{
    DeflectionReport, DeflectionRow, Histogram, Period, Report, ReportRow, Volume, WAIT_BANDS,
    bucket_of, bucket_sql, wait_bands,
};
pub use model::{
    FaqListEntry, ListSource, MAX_FAQ_ENTRIES, MAX_WHITELIST_ENTRIES, NewFaqEntry,
    NewWhitelistEntry, WhitelistEntry,
};
pub use model::{
    MAX_WEBHOOK_ENDPOINTS, NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointChange,
};
pub use model::{RelayAgent, RelayCommand, RelayState};
pub use nodes::{Beat, NewNode, Node, NodeLoad};
pub use outbox::OutboxPass;
pub use routing::Presence;
pub use sandbox::SandboxReply;
pub use store::Store;
pub use webchat::{ContinueOffer, NewHandoff, NewWebConversation, VisitorEvent, VisitorEventKind};
