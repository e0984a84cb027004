//! The inbox's errors: [`ChatError`] for callers, each with a stable code, and the store's
//! [`StoreError`] inside it.

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The attachment store (a directory or a bucket) failed.
    #[error("{0}")]
    Attachments(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// True for a conflict between concurrent transactions that a retry resolves: a
    /// PostgreSQL deadlock (40P01) or serialization failure (40001), or SQLite busy.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(e)) => {
                matches!(
                    e.code().as_deref(),
                    Some("40P01" | "40001" | "5" | "517" | "261")
                )
            }
            _ => false,
        }
    }

    /// True when the error is a unique-constraint violation (a duplicate insert).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Errors of inbox operations, each with a stable [`ChatError::code`] for API clients.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// No such thing, or the viewer may not see it.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The viewer may see it but not do this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The request is malformed.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The state changed: the offer lapsed, the conversation is closed, ….
    #[error("{0}")]
    Conflict(String),
    /// Free text outside WhatsApp's 24 h customer-service window.
    #[error(
        "the customer's last message is more than 24 hours old, so WhatsApp accepts only an \
         approved template; send the recontact template `{recontact_template}` instead"
    )]
    OutsideWindow {
        /// The account's recontact template.
        recontact_template: String,
    },
    /// An agent is chatting with the visitor: the conversation stays in the widget (no
    /// WhatsApp hand-off while it is assigned).
    #[error("an agent is chatting with you here; the chat continues in this window")]
    AgentChatting,
    /// WhatsApp reported that the number cannot receive messages.
    #[error("the customer's number cannot receive WhatsApp messages")]
    Unreachable,
    /// Closing this queue's conversations needs a disposition.
    #[error("a disposition is required; choose one of: {}", choices.join(", "))]
    DispositionRequired {
        /// The queue's dispositions.
        choices: Vec<String>,
    },
    /// Wrong username or password (deliberately not saying which).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChatError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl ChatError {
    /// The error a fault injection point returns (`failpoints` test builds only): a database
    /// error, as a real failure at that step would be.
    pub fn injected(point: &str) -> Self {
        Self::Store(StoreError::Database(sqlx::Error::Protocol(format!(
            "fault injected at {point}"
        ))))
    }

    /// A conflict between concurrent transactions: trying again will do.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_transient())
    }

    /// A stable machine-readable code: `not_found`, `forbidden`, `invalid`, `conflict`,
    /// `outside_window`, `agent_chatting`, `unreachable`, `disposition_required`,
    /// `invalid_credentials`, `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) => "conflict",
            Self::OutsideWindow { .. } => "outside_window",
            Self::AgentChatting => "agent_chatting",
            Self::Unreachable => "unreachable",
            Self::DispositionRequired { .. } => "disposition_required",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Store(_) => "internal",
        }
    }
}
