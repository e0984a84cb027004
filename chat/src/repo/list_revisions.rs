//! The SQL of the managed lists' revisions: one counter per list (`whitelist`, `faq`,
//! `webhooks`, and the overridden `settings`), raised in the transaction of every change to
//! the list, so that a process holding the list in memory learns from one row whether it is
//! still current.

use crate::model::StoreError;
use sqlx::Row;

/// The whitelist entries' counter.
pub(crate) const WHITELIST: &str = "whitelist";

/// The FAQ entries' counter.
pub(crate) const FAQ: &str = "faq";

/// The settings admins override (`setting_overrides`).
pub(crate) const SETTINGS: &str = "settings";

/// The outgoing webhook endpoints' counter.
pub(crate) const WEBHOOKS: &str = "webhooks";

/// List `list`'s revision.
pub(crate) async fn get<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    list: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT revision FROM list_revisions WHERE list = $1")
        .bind(list)
        .fetch_optional(conn)
        .await?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// Raises list `list`'s revision (in the transaction that changes the list).
pub(crate) async fn raise<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    list: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE list_revisions SET revision = revision + 1 WHERE list = $1")
        .bind(list)
        .execute(conn)
        .await?;
    Ok(())
}
