//! The inbox's nouns as callers see them — conversations, messages, agents, events, timers —
//! and its errors. Plain data and the rules that need nothing else: this layer knows no
//! database, no transaction and no worker.

mod agent;
mod attachment;
mod call;
mod canned;
mod codes;
mod contact;
mod conversation;
mod csat;
mod deflection;
mod error;
mod event;
mod interactive;
mod lists;
mod message;
mod relay;
mod report;
mod settings;
mod summary;
mod template;
mod timer;
mod webhook;

pub use agent::{Agent, ApiToken, Colleague, Colleagues, Preferences, Role, Viewer};
pub(crate) use attachment::new_token;
pub use attachment::{ATTACHMENT_PATH, Attachment, AttachmentState, UPLOAD_TTL};
pub(crate) use call::ASK_FOR_CALLS;
pub use call::{CallFilter, CallOutcome, CallRecord, CallTarget, RecordedCall};
pub use canned::{CannedAnswer, NewCannedAnswer, PLACEHOLDERS};
pub use codes::{CODE_LEN, Handoff, handoff_text, payload_for, reference_in_payload};
pub(crate) use codes::{candidate_codes, hash_token, random_token};
pub use contact::{
    ContactCall, ContactCard, ContactConversation, ContactIdentity, ContactProfile, LabelCount,
    MAX_LABEL_CHARS, normalize_label,
};
pub use conversation::{
    Channel, Conversation, ConversationDetail, ConversationFilter, EscalationReason, InputMethod,
    Origin, Status, WINDOW_MS,
};
pub(crate) use csat::average;
pub use csat::{
    CsatByAgent, CsatByQueue, CsatReport, CsatSummary, csat_in_payload, csat_payload, score_in_text,
};
pub use deflection::{CallContext, Deflected, Deflection, PathStep};
pub use error::{ChatError, StoreError};
pub use event::{Event, EventKind};
pub use interactive::{Button, Interactive, Row, Section};
pub use lists::{
    FaqListEntry, ListSource, MAX_FAQ_ENTRIES, MAX_WHITELIST_ENTRIES, NewFaqEntry,
    NewWhitelistEntry, WhitelistEntry,
};
pub use message::{DeliveryStatus, Direction, ErrorMeaning, MAX_TEXT, Message, Sender};
pub use relay::{
    MAX_RELAY_AGENT_NAME, MAX_RELAY_AGENTS, RELAY_HELP, Relay, RelayAgent, RelayChannel,
    RelayCommand, RelayState, choose_channel, map_link, offer_answer, offer_payloads,
};
pub use report::{
    BANDS, BUCKETS, Band, DeflectionReport, DeflectionRow, Histogram, MAX_PERIOD_MS, Period,
    Report, ReportCounts, ReportKey, ReportRow, Volume, WAIT_BANDS, bucket_bounds, bucket_of,
    bucket_sql, volume_slice, wait_bands,
};
pub use settings::ScopeSettings;
pub use summary::{ConversationSummary, PREVIEW_CHARS, Preview, ViewCount, ViewCounts};
pub use template::{
    APPROVED, ButtonValue, Filled, FilledHeader, HeaderMedia, HeaderValue, MAX_PARAMETER,
    Parameters, Template, TemplateButton, TemplateHeader, TemplateRefresh, TemplateValues,
    placeholders, render,
};
pub use timer::{BOT_ENDED, INACTIVE, NOT_WHITELISTED, OUTSIDE_HOURS, TimerKind};
pub use webhook::{
    MAX_WEBHOOK_ENDPOINTS, NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointChange,
};
