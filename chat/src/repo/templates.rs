//! The SQL of the cached message templates (`templates`) and of each account's last listing
//! (`template_refreshes`).

use crate::clock::Millis;
use crate::model::{StoreError, Template, TemplateRefresh};
use crate::store::{Tx, opt_i64, opt_str};
use sqlx::Row;

/// Replaces account `account`'s templates with `templates` and records the listing's success.
pub(crate) async fn replace(
    tx: &mut Tx,
    account: &str,
    templates: &[Template],
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM templates WHERE account = $1")
        .bind(account)
        .execute(tx.conn())
        .await?;
    for t in templates {
        let definition = serde_json::to_string(t).expect("a template serializes");
        // A listing naming one template twice keeps the last.
        sqlx::query(
            "INSERT INTO templates (account, name, language, status, category, definition, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (account, name, language) DO UPDATE SET status = excluded.status, \
             category = excluded.category, definition = excluded.definition",
        )
        .bind(account)
        .bind(&t.name)
        .bind(&t.language)
        .bind(&t.status)
        .bind(t.category.as_deref())
        .bind(definition)
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query(
        "INSERT INTO template_refreshes (account, attempted_at, succeeded_at, error) \
         VALUES ($1, $2, $2, NULL) \
         ON CONFLICT (account) DO UPDATE SET attempted_at = $2, succeeded_at = $2, error = NULL",
    )
    .bind(account)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Records that listing account `account`'s templates failed with `error`; its templates
/// stay as they were.
pub(crate) async fn failed(
    tx: &mut Tx,
    account: &str,
    error: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO template_refreshes (account, attempted_at, succeeded_at, error) \
         VALUES ($1, $2, NULL, $3) \
         ON CONFLICT (account) DO UPDATE SET attempted_at = $2, error = $3",
    )
    .bind(account)
    .bind(now)
    .bind(error)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The templates of `accounts`, by account, name and language.
pub(crate) async fn of_accounts<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    accounts: &[String],
) -> Result<Vec<Template>, StoreError> {
    let rows = sqlx::query("SELECT definition FROM templates ORDER BY account, name, language")
        .fetch_all(conn)
        .await?;
    Ok(rows
        .iter()
        .filter_map(definition)
        .filter(|t| accounts.contains(&t.account))
        .collect())
}

/// Template `name` in `language` of account `account`.
pub(crate) async fn get<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    account: &str,
    name: &str,
    language: &str,
) -> Result<Option<Template>, StoreError> {
    let row = sqlx::query(
        "SELECT definition FROM templates WHERE account = $1 AND name = $2 AND language = $3",
    )
    .bind(account)
    .bind(name)
    .bind(language)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().and_then(definition))
}

/// The last listing of each account that has had one, by account.
pub(crate) async fn refreshes<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<TemplateRefresh>, StoreError> {
    let rows = sqlx::query(
        "SELECT account, attempted_at, succeeded_at, error FROM template_refreshes ORDER BY account",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| TemplateRefresh {
            account: r.get("account"),
            attempted_at: r.get("attempted_at"),
            succeeded_at: opt_i64(r, "succeeded_at"),
            error: opt_str(r, "error"),
        })
        .collect())
}

/// A stored template; one this version cannot read is left out (and logged).
fn definition(r: &sqlx::any::AnyRow) -> Option<Template> {
    let text: String = r.get("definition");
    serde_json::from_str(&text)
        .inspect_err(|e| tracing::warn!(cause = %e, "a cached template cannot be read"))
        .ok()
}
