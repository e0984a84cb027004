//! A conversation's satisfaction survey: when it went out, the score and comment it brought
//! back, the survey a customer's reply may answer, and the report of the scores.

use crate::clock::Millis;
use crate::model::{CsatByAgent, CsatByQueue, CsatReport, CsatSummary, StoreError, average};
use crate::store::{Store, Tx, opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a conversation's survey stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Survey {
    /// The conversation.
    pub(crate) id: i64,
    /// Whether it is closed.
    pub(crate) closed: bool,
    /// When the survey went out (none: it did not).
    pub(crate) sent_at: Option<Millis>,
    /// The score, once given.
    pub(crate) score: Option<i64>,
    /// When it was given.
    pub(crate) rated_at: Option<Millis>,
    /// The comment, once given.
    pub(crate) comment: Option<String>,
    /// The widget site whose conversation it is, if any.
    pub(crate) site: Option<String>,
    /// The IVR flow whose deflected call opened it, if any.
    pub(crate) flow: Option<String>,
}

const SURVEY_COLUMNS: &str =
    "id, status, csat_sent_at, csat_score, csat_at, csat_comment, site, flow";

fn survey(r: &AnyRow) -> Survey {
    Survey {
        id: r.get("id"),
        closed: r.get::<String, _>("status") == "closed",
        sent_at: opt_i64(r, "csat_sent_at"),
        score: opt_i64(r, "csat_score"),
        rated_at: opt_i64(r, "csat_at"),
        comment: opt_str(r, "csat_comment"),
        site: opt_str(r, "site"),
        flow: opt_str(r, "flow"),
    }
}

/// The survey of the conversation with `reference`, when it is the conversation of contact
/// identity `identity` on `account`.
pub(crate) async fn by_reference(
    tx: &mut Tx,
    reference: &str,
    identity: i64,
    account: &str,
) -> Result<Option<Survey>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {SURVEY_COLUMNS} FROM conversations WHERE reference = $1 AND identity_id = $2 \
         AND account = $3"
    ))
    .bind(reference)
    .bind(identity)
    .bind(account)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(survey))
}

/// The survey of conversation `id`.
pub(crate) async fn by_id(tx: &mut Tx, id: i64) -> Result<Option<Survey>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {SURVEY_COLUMNS} FROM conversations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(survey))
}

/// The survey of identity `identity`'s conversation on `account` that closed last.
pub(crate) async fn latest_closed(
    tx: &mut Tx,
    identity: i64,
    account: &str,
) -> Result<Option<Survey>, StoreError> {
    let row = sqlx::query(sql!(
        "SELECT {SURVEY_COLUMNS} FROM conversations WHERE identity_id = $1 AND account = $2 \
         AND status = 'closed' ORDER BY closed_at DESC, id DESC LIMIT 1"
    ))
    .bind(identity)
    .bind(account)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.as_ref().map(survey))
}

/// Conversation `id`'s survey went out at `now`.
pub(crate) async fn set_sent(tx: &mut Tx, id: i64, now: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET csat_sent_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Conversation `id` was rated `score` at `now`.
pub(crate) async fn rate(tx: &mut Tx, id: i64, score: u8, now: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET csat_score = $1, csat_at = $2 WHERE id = $3")
        .bind(i64::from(score))
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The customer's comment on conversation `id`'s rating.
pub(crate) async fn set_comment(tx: &mut Tx, id: i64, comment: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE conversations SET csat_comment = $1 WHERE id = $2")
        .bind(comment)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The scores given in `[from, to)` (ms; open ends when absent), per agent who handled the
/// conversation, per queue and overall.
pub(crate) async fn report(
    store: &Store,
    from: Option<Millis>,
    to: Option<Millis>,
) -> Result<CsatReport, StoreError> {
    let rated = "c.csat_score IS NOT NULL AND c.csat_at >= $1 AND c.csat_at < $2";
    let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
    let agents = sqlx::query(sql!(
        "SELECT a.id, a.display_name, COUNT(*) AS n, CAST(SUM(c.csat_score) AS BIGINT) AS total \
         FROM conversations c JOIN agents a ON a.id = c.agent_id WHERE {rated} \
         GROUP BY a.id, a.display_name ORDER BY n DESC, a.id"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    let queues = sqlx::query(sql!(
        "SELECT c.queue, COUNT(*) AS n, CAST(SUM(c.csat_score) AS BIGINT) AS total \
         FROM conversations c WHERE {rated} GROUP BY c.queue ORDER BY n DESC, c.queue"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(store.pool())
    .await?;
    let by_agent: Vec<CsatByAgent> = agents
        .iter()
        .map(|r| {
            let (n, total): (i64, i64) = (r.get("n"), r.get("total"));
            CsatByAgent {
                agent_id: r.get("id"),
                display_name: r.get("display_name"),
                count: n,
                average: average(total, n),
            }
        })
        .collect();
    let by_queue: Vec<CsatByQueue> = queues
        .iter()
        .map(|r| {
            let (n, total): (i64, i64) = (r.get("n"), r.get("total"));
            CsatByQueue {
                queue: r.get("queue"),
                count: n,
                average: average(total, n),
            }
        })
        .collect();
    // Every rated conversation has a queue: the queues add up to the whole.
    let count: i64 = by_queue.iter().map(|q| q.count).sum();
    let total: i64 = queues.iter().map(|r| r.get::<i64, _>("total")).sum();
    Ok(CsatReport {
        by_agent,
        by_queue,
        overall: CsatSummary {
            count,
            average: (count > 0).then(|| average(total, count)),
        },
    })
}
