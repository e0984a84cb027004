//! The SQL of nodes: the processes working on this database, their heartbeats, and the
//! take-over of the leases a lost one held.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::{Store, Tx};
use sqlx::Row;

/// A node as `nodes` lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Node {
    pub id: i64,
    /// Host name and process id.
    pub name: String,
    pub version: String,
    /// Where its HTTP server listens.
    pub http: String,
    /// Where its SIP listeners are (`transport:address`, comma-separated).
    pub sip: String,
    /// `running`, `draining` (stopping: finishing its calls, taking no new ones), `stopped`
    /// or `lost` (silent for too long: another node took its work over).
    pub state: String,
    pub started_at: Millis,
    /// Its last heartbeat.
    pub seen_at: Millis,
    /// Calls in progress at its last heartbeat.
    pub calls: i64,
}

/// What a node says about itself when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNode {
    pub name: String,
    pub version: String,
    pub http: String,
    pub sip: String,
}

/// The tables whose rows are leased to a node, the column their lease ends in, and which
/// of their rows are still being worked on.
const LEASED: [(&str, &str, &str); 4] = [
    ("outbox", "lease_until", "true"),
    ("hook_deliveries", "lease_until", "true"),
    ("bot_turns", "lease_until", "true"),
    ("attachments", "next_attempt_at", "state = 'pending'"),
];

/// Registers node `node`, running since `now`; returns its id.
pub(crate) async fn insert(tx: &mut Tx, node: &NewNode, now: Millis) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO nodes (name, version, http, sip, state, started_at, seen_at) \
         VALUES ($1, $2, $3, $4, 'running', $5, $5) RETURNING id",
    )
    .bind(&node.name)
    .bind(&node.version)
    .bind(&node.http)
    .bind(&node.sip)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Node `id` is alive at `now`, in `state` with `calls` in progress. Returns the state it
/// had (`lost` when others had given it up), `None` when it has no row.
pub(crate) async fn beat(
    tx: &mut Tx,
    id: i64,
    state: &str,
    calls: i64,
    now: Millis,
) -> Result<Option<String>, StoreError> {
    let was = sqlx::query(sql!(
        "SELECT state FROM nodes WHERE id = $1{}",
        tx.for_update()
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get::<String, _>(0));
    sqlx::query("UPDATE nodes SET state = $1, calls = $2, seen_at = $3 WHERE id = $4")
        .bind(state)
        .bind(calls)
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(was)
}

/// Marks `lost` the running or draining nodes not seen since `silent_since` (not `except`,
/// the caller); returns their ids.
pub(crate) async fn mark_lost(
    tx: &mut Tx,
    silent_since: Millis,
    except: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "UPDATE nodes SET state = 'lost' \
         WHERE state IN ('running', 'draining') AND seen_at < $1 AND id <> $2 RETURNING id",
    )
    .bind(silent_since)
    .bind(except)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

/// How many nodes are running or draining and were seen since `since`.
pub(crate) async fn count_live(tx: &mut Tx, since: Millis) -> Result<u32, StoreError> {
    let n: i64 = sqlx::query(
        "SELECT count(*) FROM nodes WHERE state IN ('running', 'draining') AND seen_at >= $1",
    )
    .bind(since)
    .fetch_one(tx.conn())
    .await?
    .get(0);
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Ends every lease node `id` holds, so that they are over at `now`; returns how many rows
/// it held.
pub(crate) async fn end_leases(tx: &mut Tx, id: i64, now: Millis) -> Result<u64, StoreError> {
    let mut ended = 0;
    for (table, until, working) in LEASED {
        ended += sqlx::query(sql!(
            "UPDATE {table} SET {until} = $1, leased_by = NULL \
             WHERE leased_by = $2 AND {until} >= $3 AND {working}"
        ))
        .bind(now - 1)
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
    }
    Ok(ended)
}

/// Every node, the most recently started first.
pub(crate) async fn list(store: &Store) -> Result<Vec<Node>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, version, http, sip, state, started_at, seen_at, calls FROM nodes \
         ORDER BY started_at DESC, id DESC",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| Node {
            id: r.get("id"),
            name: r.get("name"),
            version: r.get("version"),
            http: r.get("http"),
            sip: r.get("sip"),
            state: r.get("state"),
            started_at: r.get("started_at"),
            seen_at: r.get("seen_at"),
            calls: r.get("calls"),
        })
        .collect())
}
