//! The SQL of conversations' labels (`conversation_labels`): adding, removing, reading them,
//! and counting them over the conversations a viewer may see.

use crate::clock::Millis;
use crate::model::{LabelCount, StoreError, Viewer};
use crate::routing::AgentId;
use crate::store::{Store, Tx};
use sqlx::Row;
use std::collections::HashMap;

/// Puts `label` on conversation `conversation`; false when it was there already.
pub(crate) async fn add(
    tx: &mut Tx,
    conversation: i64,
    label: &str,
    by: Option<AgentId>,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO conversation_labels (conversation_id, label, added_by, added_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (conversation_id, label) DO NOTHING",
    )
    .bind(conversation)
    .bind(label)
    .bind(by)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes `label` off conversation `conversation`; false when it was not there.
pub(crate) async fn remove(
    tx: &mut Tx,
    conversation: i64,
    label: &str,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = $1 AND label = $2")
            .bind(conversation)
            .bind(label)
            .execute(tx.conn())
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Conversation `conversation`'s labels, sorted.
pub(crate) async fn of_conversation(
    store: &Store,
    conversation: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY label",
    )
    .bind(conversation)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The labels of each of `conversations` (sorted; a conversation without any is absent).
pub(crate) async fn of_conversations(
    store: &Store,
    conversations: &[i64],
) -> Result<HashMap<i64, Vec<String>>, StoreError> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if conversations.is_empty() {
        return Ok(out);
    }
    let list: Vec<String> = (1..=conversations.len()).map(|i| format!("${i}")).collect();
    let mut q = sqlx::query(sql!(
        "SELECT conversation_id, label FROM conversation_labels \
         WHERE conversation_id IN ({}) ORDER BY conversation_id, label",
        list.join(", ")
    ));
    for id in conversations {
        q = q.bind(*id);
    }
    for r in q.fetch_all(store.pool()).await? {
        out.entry(r.get(0)).or_default().push(r.get(1));
    }
    Ok(out)
}

/// Every label on a conversation `viewer` may see, with how many such conversations carry
/// it, by label.
pub(crate) async fn counts(store: &Store, viewer: &Viewer) -> Result<Vec<LabelCount>, StoreError> {
    let mut wh = String::new();
    if !viewer.role.sees_everything() {
        // The list's access rule (`repo::conversations::list`): held by them, or in one of
        // their queues on an account they work.
        let queues: Vec<String> = (0..viewer.queues.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let queue_ok = if queues.is_empty() {
            "0 = 1".to_string()
        } else {
            format!("c.queue IN ({})", queues.join(", "))
        };
        let account_ok = crate::repo::agents::agent_works_account_sql("$1", "c.account");
        wh = format!(" WHERE (c.agent_id = $1 OR ({queue_ok} AND {account_ok}))");
    }
    let mut q = sqlx::query(sql!(
        "SELECT l.label, COUNT(*) FROM conversation_labels l \
         JOIN conversations c ON c.id = l.conversation_id{wh} GROUP BY l.label ORDER BY l.label"
    ));
    if !viewer.role.sees_everything() {
        q = q.bind(viewer.agent_id);
        for queue in &viewer.queues {
            q = q.bind(queue.clone());
        }
    }
    let rows = q.fetch_all(store.pool()).await?;
    Ok(rows
        .iter()
        .map(|r| LabelCount {
            label: r.get(0),
            count: r.get(1),
        })
        .collect())
}
