//! The SQL of the outbox: one row per outgoing WhatsApp message, from `pending` to `sent` (or
//! `dead`); see [`crate::outbox`] for its states.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::{Store, Tx, opt_str};
use sqlx::Row;
use std::collections::HashMap;

/// Queues message `message` for `recipient` on `account`, due now.
pub(crate) async fn insert(
    tx: &mut Tx,
    message: i64,
    account: &str,
    recipient: &str,
    request: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (message_id, account, recipient, request, state, due_at, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
    )
    .bind(message)
    .bind(account)
    .bind(recipient)
    .bind(request)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Holds message `message`'s send back until `until` (it is still pending).
pub(crate) async fn hold_until(tx: &mut Tx, message: i64, until: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET due_at = $1 WHERE message_id = $2 AND state = 'pending'")
        .bind(until)
        .bind(message)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Makes message `message`'s held send due `now`; whether it was held.
pub(crate) async fn release(tx: &mut Tx, message: i64, now: Millis) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET due_at = $1 WHERE message_id = $2 AND state = 'pending' AND due_at > $1",
    )
    .bind(now)
    .bind(message)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// An outbox row as recording its acceptance reads it.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub(crate) state: String,
    pub(crate) message: i64,
    pub(crate) account: String,
    pub(crate) external_id: Option<String>,
}

/// Row `id` (of `account`, when given), locked on PostgreSQL.
pub(crate) async fn locked(
    tx: &mut Tx,
    id: i64,
    account: Option<&str>,
) -> Result<Option<Held>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT state, message_id, account, external_id FROM outbox \
         WHERE id = $1 AND ($2 IS NULL OR account = $2){}",
        tx.for_update()
    ))
    .bind(id)
    .bind(account)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Held {
        state: r.get("state"),
        message: r.get("message_id"),
        account: r.get("account"),
        external_id: opt_str(&r, "external_id"),
    }))
}

/// Row `id` was accepted as `external_id` (a status callback said so): it waits to be
/// recorded.
pub(crate) async fn set_accepted(
    tx: &mut Tx,
    id: i64,
    external_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'accepted', external_id = $1, lease_until = NULL WHERE id = $2",
    )
    .bind(external_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Gives row `id` the provider's id.
pub(crate) async fn set_external_id(
    tx: &mut Tx,
    id: i64,
    external_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET external_id = $1 WHERE id = $2")
        .bind(external_id)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Row `id` is done: its message is recorded as sent.
pub(crate) async fn set_sent(tx: &mut Tx, id: i64, now: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL \
         WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Rows `sending` whose lease ended by `by` (all of them, for `None`): (id, account).
pub(crate) async fn sending_ended(
    tx: &mut Tx,
    by: Option<Millis>,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, account FROM outbox WHERE state = 'sending' AND ($1 IS NULL OR lease_until < $1)",
    )
    .bind(by)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("id"), r.get("account")))
        .collect())
}

/// Row `id`'s worker stopped before the provider answered: `unconfirmed`, due at `due_at`.
pub(crate) async fn set_orphaned(tx: &mut Tx, id: i64, due_at: Millis) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'unconfirmed', due_at = $1, lease_until = NULL, \
         last_error = 'the worker stopped before the provider answered' WHERE id = $2",
    )
    .bind(due_at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A row due for the worker: to send, or (`accepted`) to record.
pub(crate) struct Due {
    pub(crate) id: i64,
    pub(crate) message_id: i64,
    pub(crate) account: String,
    pub(crate) recipient: String,
    /// The provider request, as stored.
    pub(crate) request: String,
    /// This attempt's number (1 for the first).
    pub(crate) attempts: i64,
    pub(crate) state: String,
}

/// Up to `limit` rows due at `now` and not leased (skipping those another process holds, on
/// PostgreSQL), oldest first.
pub(crate) async fn due(tx: &mut Tx, now: Millis, limit: i64) -> Result<Vec<Due>, StoreError> {
    let skip = tx.skip_locked(None);
    let rows = sqlx::query(sql!(
        "SELECT id, message_id, account, recipient, request, attempts, state FROM outbox \
         WHERE state IN ('pending', 'unconfirmed', 'accepted') AND due_at <= $1 \
           AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY due_at, id LIMIT $2{skip}"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Due {
            id: r.get("id"),
            message_id: r.get("message_id"),
            account: r.get("account"),
            recipient: r.get("recipient"),
            request: r.get("request"),
            attempts: r.get::<i64, _>("attempts") + 1,
            state: r.get("state"),
        })
        .collect())
}

/// Row `id` is dead (never sent), failing with `error`.
pub(crate) async fn set_dead(tx: &mut Tx, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET state = 'dead', last_error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Reserves rows `ids` until `until`.
pub(crate) async fn lease_records(
    tx: &mut Tx,
    ids: &[i64],
    until: Millis,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (with, wanted) = crate::store::ids_in(tx.kind(), 3, "id");
    sqlx::query(sql!(
        "{with} UPDATE outbox SET lease_until = $1, leased_by = $2 WHERE {wanted}"
    ))
    .bind(until)
    .bind(tx.node())
    .bind(crate::store::ids_value(ids))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Row `id` was accepted by the provider (as `external_id`, if it named one): `accepted`,
/// leased until `lease_until` for its record. `false` when the row had moved on (a status
/// callback recorded it first).
pub(crate) async fn hold(
    tx: &mut Tx,
    id: i64,
    external_id: Option<&str>,
    now: Millis,
    lease_until: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'accepted', external_id = $1, due_at = $2, lease_until = $3, \
         leased_by = $4, last_error = NULL \
         WHERE id = $5 AND state IN ('pending', 'sending', 'unconfirmed')",
    )
    .bind(external_id)
    .bind(now)
    .bind(lease_until)
    .bind(tx.node())
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Recording accepted row `id` failed with `error`: one more attempt counted, the lease
/// released. Returns the attempts so far (0 when the row is no longer `accepted`).
pub(crate) async fn record_failed(tx: &mut Tx, id: i64, error: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, lease_until = NULL, last_error = $1 \
         WHERE id = $2 AND state = 'accepted' RETURNING attempts",
    )
    .bind(error)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .map_or(0, |r| r.get(0)))
}

/// Accepted row `id`'s record is tried again at `due_at`.
pub(crate) async fn set_record_due(tx: &mut Tx, id: i64, due_at: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET due_at = $1 WHERE id = $2 AND state = 'accepted'")
        .bind(due_at)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A send of row `id` did not go through (`error`) and is due again at `due_at`, as
/// `unconfirmed` (it got no answer: it may have been accepted) or `pending` (refused for
/// now).
pub(crate) async fn set_unsent(
    tx: &mut Tx,
    id: i64,
    unconfirmed: bool,
    due_at: Millis,
    error: &str,
) -> Result<(), StoreError> {
    let state = if unconfirmed {
        "unconfirmed"
    } else {
        "pending"
    };
    sqlx::query(
        "UPDATE outbox SET state = $1, due_at = $2, lease_until = NULL, last_error = $3 \
         WHERE id = $4 AND state = 'sending'",
    )
    .bind(state)
    .bind(due_at)
    .bind(error)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A send of row `id` was refused for good (`error`): `dead`. `false` when the row was not
/// `sending` any more.
pub(crate) async fn set_refused(tx: &mut Tx, id: i64, error: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = $1 \
         WHERE id = $2 AND state = 'sending'",
    )
    .bind(error)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Rows by state.
pub(crate) async fn depth(store: &Store) -> Result<HashMap<String, i64>, StoreError> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>("state"), r.get::<i64, _>("n")))
        .collect())
}

/// When the next row is due: to send, to record, or to be released from its lease.
pub(crate) async fn next_due(store: &Store) -> Result<Option<Millis>, StoreError> {
    let row = sqlx::query(
        "SELECT MIN(CASE WHEN state = 'sending' THEN lease_until \
                         WHEN lease_until IS NOT NULL AND lease_until > due_at THEN lease_until \
                         ELSE due_at END) FROM outbox \
         WHERE state IN ('pending', 'sending', 'unconfirmed', 'accepted')",
    )
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get::<Option<i64>, _>(0).ok().flatten())
}
