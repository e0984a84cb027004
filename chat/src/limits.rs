//! Abuse limits on deflections: how many deflections one caller, and one callback number,
//! may have in a sliding hour — counted in the database, so the limits hold across every
//! gateway process sharing it.
//!
//! [`crate::Inbox::check_deflection_limits`] records a deflection for both of its keys (the
//! calling number and the callback number) in one transaction, or for neither when either
//! is at its limit, and is idempotent on the call id: asking again for a call already
//! recorded answers [`LimitOutcome::Allowed`] without counting it twice.
//!
//! Concurrency: SQLite transactions here take the write lock at `BEGIN IMMEDIATE`, so checks
//! run one at a time. On PostgreSQL each key is locked with a transaction-scoped advisory
//! lock (`pg_advisory_xact_lock`, taken in a fixed order so two checks never deadlock)
//! before it is counted: two processes checking the same caller at once are serialised,
//! and the second sees the first's record. Records older than the window are deleted as the
//! keys are checked, so the table holds at most an hour of deflections.

use crate::clock::Millis;
use crate::context::Ctx;
use crate::model::ChatError;
use crate::repo;

/// The window the limits count in.
pub const WINDOW_MS: Millis = 3_600_000;

/// One deflection to count against the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitCheck {
    /// The call; a repeated check for it is not counted again.
    pub call_id: String,
    /// The calling number (or a shared key for withheld callers).
    pub caller: String,
    /// The callback number (E.164).
    pub callback_number: String,
    /// Deflections allowed per caller in the window (0: no limit).
    pub per_caller: u32,
    /// Deflections allowed per callback number in the window (0: no limit).
    pub per_callback_number: u32,
    /// When (ms since the epoch).
    pub at: Millis,
}

/// The answer to a [`LimitCheck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitOutcome {
    /// Recorded: the deflection may go ahead.
    Allowed,
    /// The caller is at its limit; nothing recorded.
    CallerLimited,
    /// The callback number is at its limit; nothing recorded.
    CallbackNumberLimited,
}

/// Records a deflection against its caller's and its callback number's hourly limits,
/// or refuses it (see the module docs).
pub(crate) async fn check_deflection_limits(
    ctx: &Ctx,
    check: &LimitCheck,
) -> Result<LimitOutcome, ChatError> {
    let caller_key = format!("caller:{}", check.caller);
    let number_key = format!("number:{}", check.callback_number);
    let since = check.at - WINDOW_MS;
    let mut tx = ctx.store().write().await?;
    repo::locks::lock(&mut tx, &[&caller_key, &number_key]).await?;
    let mut count =
        async |key: &str| repo::limit_uses::count(&mut tx, key, &check.call_id, since).await;
    let (callers, caller_seen) = count(&caller_key).await?;
    let (numbers, number_seen) = count(&number_key).await?;
    let under = |n: i64, limit: u32| limit == 0 || n < i64::from(limit);
    let outcome = if caller_seen && number_seen {
        LimitOutcome::Allowed
    } else if !under(callers, check.per_caller) {
        LimitOutcome::CallerLimited
    } else if !under(numbers, check.per_callback_number) {
        LimitOutcome::CallbackNumberLimited
    } else {
        for key in [&caller_key, &number_key] {
            repo::limit_uses::record(&mut tx, key, &check.call_id, check.at).await?;
        }
        LimitOutcome::Allowed
    };
    tx.commit().await?;
    Ok(outcome)
}
