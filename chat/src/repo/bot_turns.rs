//! The SQL of bot turns: customers' messages waiting to be passed to their conversation's
//! bot, taken in order, one at a time per conversation, under a lease.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::{Store, Tx};
use sqlx::Row;

/// A turn taken by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Turn {
    pub(crate) id: i64,
    pub(crate) conversation: i64,
    pub(crate) message: i64,
    /// Attempts so far, this one included: the turn is finished only by the attempt that
    /// holds it.
    pub(crate) attempts: i64,
}

/// Queues message `message` of conversation `conversation` for its bot.
pub(crate) async fn insert(
    tx: &mut Tx,
    conversation: i64,
    message: i64,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO bot_turns (conversation_id, message_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(conversation)
    .bind(message)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Takes the oldest turn that is first in its conversation and not leased at `now`, leasing
/// it until `lease_until`.
pub(crate) async fn take(
    tx: &mut Tx,
    now: Millis,
    lease_until: Millis,
) -> Result<Option<Turn>, StoreError> {
    let skip = tx.skip_locked(Some("t"));
    let row = sqlx::query(sql!(
        "SELECT t.id, t.conversation_id, t.message_id, t.attempts FROM bot_turns t \
         WHERE (t.lease_until IS NULL OR t.lease_until < $1) AND NOT EXISTS \
         (SELECT 1 FROM bot_turns e WHERE e.conversation_id = t.conversation_id AND e.id < t.id) \
         ORDER BY t.id LIMIT 1{skip}"
    ))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let turn = Turn {
        id: row.get("id"),
        conversation: row.get("conversation_id"),
        message: row.get("message_id"),
        attempts: row.get::<i64, _>("attempts") + 1,
    };
    sqlx::query(
        "UPDATE bot_turns SET attempts = $1, lease_until = $2, leased_by = $3 WHERE id = $4",
    )
    .bind(turn.attempts)
    .bind(lease_until)
    .bind(tx.node())
    .bind(turn.id)
    .execute(tx.conn())
    .await?;
    Ok(Some(turn))
}

/// Removes `turn` if the attempt that took it still holds it; returns whether it did.
pub(crate) async fn finish(tx: &mut Tx, turn: &Turn) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM bot_turns WHERE id = $1 AND attempts = $2")
        .bind(turn.id)
        .bind(turn.attempts)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Drops conversation `conversation`'s waiting turns (it left its bot).
pub(crate) async fn cancel_all(tx: &mut Tx, conversation: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM bot_turns WHERE conversation_id = $1")
        .bind(conversation)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// When the next turn can be taken: now if one is free, else when the lease of a turn
/// another worker holds ends. Only the first turn of each conversation counts — the ones
/// behind it wait for it, not for a time.
pub(crate) async fn next_due(store: &Store) -> Result<Option<Millis>, StoreError> {
    let row = sqlx::query(
        "SELECT MIN(COALESCE(t.lease_until, 0)) AS due FROM bot_turns t WHERE NOT EXISTS \
         (SELECT 1 FROM bot_turns e WHERE e.conversation_id = t.conversation_id AND e.id < t.id)",
    )
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get::<Option<i64>, _>("due").ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use deflect_config::DatabaseUrl;

    /// Two turns of one conversation while a worker holds the first: nothing is due before
    /// its lease ends (the second waits for the first), so an idle worker sleeps rather than
    /// polling the database in a loop.
    #[tokio::test]
    async fn turns_behind_a_leased_one_are_not_due_before_its_lease_ends() {
        let dir = tempfile::tempdir().unwrap();
        let url: DatabaseUrl = format!("sqlite://{}/t.db", dir.path().display())
            .parse()
            .unwrap();
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        for q in [
            "INSERT INTO contacts (id, name, phone, created_at) VALUES (1, 'Ann', '+31612345678', 0)",
            "INSERT INTO conversations (id, reference, contact_id, channel, origin, account, status, queue, \
             last_activity_at, created_at) VALUES (1, 'K7Q2MX', 1, 'whatsapp', 'whatsapp', 'main', 'bot', 'support', 0, 0)",
            "INSERT INTO messages (id, conversation_id, direction, kind, body, channel, status, created_at) \
             VALUES (1, 1, 'in', 'text', 'hi', 'whatsapp', 'received', 0)",
            "INSERT INTO messages (id, conversation_id, direction, kind, body, channel, status, created_at) \
             VALUES (2, 1, 'in', 'text', 'hello?', 'whatsapp', 'received', 0)",
        ] {
            sqlx::query(q).execute(store.pool()).await.unwrap();
        }
        let mut tx = store.write().await.unwrap();
        insert(&mut tx, 1, 1, 0).await.unwrap();
        insert(&mut tx, 1, 2, 0).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            next_due(&store).await.unwrap(),
            Some(0),
            "the first is free"
        );

        let mut tx = store.write().await.unwrap();
        let first = take(&mut tx, 100, 10_100).await.unwrap().unwrap();
        assert_eq!((first.message, first.attempts), (1, 1));
        assert_eq!(
            take(&mut tx, 100, 10_100).await.unwrap(),
            None,
            "the second waits"
        );
        tx.commit().await.unwrap();
        assert_eq!(next_due(&store).await.unwrap(), Some(10_100));

        let mut tx = store.write().await.unwrap();
        assert!(finish(&mut tx, &first).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(next_due(&store).await.unwrap(), Some(0), "now the second");
        store.close().await;
    }
}
