//! The SQL of outgoing webhook deliveries: one row per logged event and endpoint that takes
//! it, worked by the webhook worker.

use crate::model::{Event, StoreError};

/// Writes the delivery of event `e` (of webhook type `kind`, sent as `body`) to `endpoint`,
/// inside the event's transaction.
pub(crate) async fn insert(
    conn: &mut sqlx::AnyConnection,
    endpoint: &str,
    e: &Event,
    kind: &str,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO hook_deliveries (endpoint, event_id, conversation_id, kind, body, state, due_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
    )
    .bind(endpoint)
    .bind(e.id)
    .bind(e.conversation_id.unwrap_or(0))
    .bind(kind)
    .bind(body)
    .bind(e.at)
    .execute(conn)
    .await?;
    Ok(())
}
