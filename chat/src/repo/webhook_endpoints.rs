//! The SQL of the outgoing webhook endpoints added through the API (`webhook_endpoints`):
//! each row is a `[[http.webhooks]]` entry (its events a JSON array) and whether it is
//! enabled.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Tx;
use deflect_config::{Secret, WebhookConfig};
use sqlx::Row;
use std::time::Duration;

const COLUMNS: &str = "id, name, url, signing_secret, events, max_attempts, timeout_ms, enabled, created_at, updated_at";

/// An endpoint as stored.
#[derive(Clone, Debug)]
pub(crate) struct StoredEndpoint {
    pub(crate) id: i64,
    /// Its fields, as the configuration's are.
    pub(crate) endpoint: WebhookConfig,
    pub(crate) enabled: bool,
    pub(crate) created_at: Millis,
    pub(crate) updated_at: Millis,
}

fn stored(r: &sqlx::any::AnyRow) -> StoredEndpoint {
    let events: String = r.get("events");
    StoredEndpoint {
        id: r.get("id"),
        endpoint: WebhookConfig {
            name: r.get("name"),
            // Checked before it was stored.
            url: url::Url::parse(&r.get::<String, _>("url")).ok(),
            signing_secret: Some(Secret::new(r.get::<String, _>("signing_secret"))),
            events: serde_json::from_str(&events).unwrap_or_default(),
            max_attempts: u32::try_from(r.get::<i64, _>("max_attempts")).unwrap_or(1),
            timeout: Duration::from_millis(
                u64::try_from(r.get::<i64, _>("timeout_ms")).unwrap_or(0),
            ),
        },
        enabled: r.get::<i64, _>("enabled") != 0,
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

fn events_json(e: &WebhookConfig) -> String {
    serde_json::Value::from(e.events.clone()).to_string()
}

fn timeout_ms(e: &WebhookConfig) -> i64 {
    i64::try_from(e.timeout.as_millis()).unwrap_or(i64::MAX)
}

fn secret(e: &WebhookConfig) -> &str {
    e.signing_secret.as_ref().map_or("", Secret::expose)
}

/// Every endpoint, oldest first.
pub(crate) async fn all<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<StoredEndpoint>, StoreError> {
    let rows = sqlx::query(sql!("SELECT {COLUMNS} FROM webhook_endpoints ORDER BY id"))
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(stored).collect())
}

/// The enabled endpoints, oldest first.
pub(crate) async fn enabled(
    conn: &mut sqlx::AnyConnection,
) -> Result<Vec<WebhookConfig>, StoreError> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE enabled = 1 ORDER BY id"
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| stored(r).endpoint).collect())
}

/// Endpoint `id`, if there is one (locked for the transaction's change on PostgreSQL).
pub(crate) async fn get(tx: &mut Tx, id: i64) -> Result<Option<StoredEndpoint>, StoreError> {
    let lock = tx.for_update();
    let row = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(stored))
}

/// The id of the endpoint named `name`, if there is one.
pub(crate) async fn id_of(tx: &mut Tx, name: &str) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT id FROM webhook_endpoints WHERE name = $1")
        .bind(name)
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// How many endpoints there are.
pub(crate) async fn count(tx: &mut Tx) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM webhook_endpoints")
        .fetch_one(tx.conn())
        .await?;
    Ok(row.get(0))
}

/// Stores endpoint `e` at `now`; returns its id. A name taken already is a unique violation.
pub(crate) async fn insert(
    tx: &mut Tx,
    e: &WebhookConfig,
    enabled: bool,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO webhook_endpoints (name, url, signing_secret, events, max_attempts, \
         timeout_ms, enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(&e.name)
    .bind(e.url.as_ref().map(url::Url::as_str).unwrap_or_default())
    .bind(secret(e))
    .bind(events_json(e))
    .bind(i64::from(e.max_attempts))
    .bind(timeout_ms(e))
    .bind(i64::from(enabled))
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Replaces endpoint `id` with `e` at `now`. A name taken already is a unique violation.
pub(crate) async fn update(
    tx: &mut Tx,
    id: i64,
    e: &WebhookConfig,
    enabled: bool,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET name = $1, url = $2, signing_secret = $3, events = $4, \
         max_attempts = $5, timeout_ms = $6, enabled = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(&e.name)
    .bind(e.url.as_ref().map(url::Url::as_str).unwrap_or_default())
    .bind(secret(e))
    .bind(events_json(e))
    .bind(i64::from(e.max_attempts))
    .bind(timeout_ms(e))
    .bind(i64::from(enabled))
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes endpoint `id`; returns what it was, `None` when there is none.
pub(crate) async fn delete(tx: &mut Tx, id: i64) -> Result<Option<StoredEndpoint>, StoreError> {
    let row = sqlx::query(sql!(
        "DELETE FROM webhook_endpoints WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(stored))
}
