//! The write transaction every state change goes through: on SQLite begun and ended by hand
//! under the process's writer lock, on PostgreSQL sqlx's own; it appends events to the log and
//! hands them to the store's [`EventSink`]s.

use super::sink::Sinks;
use super::sql::{Column, json_rows};
use crate::model::{Event, EventKind, StoreError};
use deflect_config::DatabaseKind;
use sqlx::{Any, AnyPool, Row};

/// An event to append with [`Tx::append`] or [`Tx::append_all`]: its conversation (none for
/// an agent's), and its position among that conversation's events, which the caller took
/// when advancing the conversation's `event_seq`.
pub(crate) struct NewEvent {
    pub(crate) conversation_id: Option<i64>,
    pub(crate) seq: i64,
    pub(crate) kind: EventKind,
    pub(crate) data: serde_json::Value,
    pub(crate) at: i64,
}

/// The connection of a write transaction.
pub(super) enum TxConn {
    /// sqlx's transaction: a COMMIT that fails leaves nothing open on a PostgreSQL server,
    /// and the ROLLBACK sqlx then sends is harmless.
    Postgres(sqlx::Transaction<'static, Any>),
    /// SQLite: see [`SqliteTx`].
    Sqlite(SqliteTx),
}

/// A SQLite write transaction on a pooled connection, begun and ended by hand.
///
/// sqlx's own transaction loses count when SQLite ends a transaction by itself — a COMMIT
/// failing on a full disk rolls it back: the ROLLBACK sqlx sends then fails ("no
/// transaction is active"), and the connection goes back to the pool still "in a
/// transaction", refusing every later BEGIN, so that no write succeeds again. Here a
/// transaction that is not committed is rolled back on a task of its own (holding the
/// process's write lock until then), and a connection whose COMMIT or ROLLBACK failed is
/// closed rather than returned to the pool.
pub(super) struct SqliteTx {
    conn: Option<sqlx::pool::PoolConnection<Any>>,
    /// The process's one-writer lock, released when the transaction has ended.
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl SqliteTx {
    pub(super) async fn begin(
        pool: &AnyPool,
        guard: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<Self, StoreError> {
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(Self {
            conn: Some(conn),
            guard: Some(guard),
        })
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn
            .as_mut()
            .expect("the connection is taken only by commit, which consumes the transaction")
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        let mut conn = self.conn.take().expect("a transaction is committed once");
        if let Err(e) = sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
            // Rolled back by SQLite, or still open: either way, not for another writer.
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let guard = self.guard.take();
        // Not committed: roll back before the next writer may begin.
        tokio::spawn(async move {
            if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() {
                conn.close_on_drop();
            }
            drop(conn);
            drop(guard);
        });
    }
}

/// A write transaction that collects the events it appends; they reach the store's sinks as
/// they are appended (inside the transaction), just before it commits, and once it has.
pub(crate) struct Tx {
    tx: TxConn,
    kind: DatabaseKind,
    events: Vec<Event>,
    sinks: Sinks,
    node: Option<i64>,
}

impl Tx {
    pub(super) fn new(tx: TxConn, kind: DatabaseKind, sinks: Sinks, node: Option<i64>) -> Self {
        Self {
            tx,
            kind,
            events: Vec::new(),
            sinks,
            node,
        }
    }

    /// The node this process registered as (see `crate::nodes`): what leases taken in this
    /// transaction record as their holder.
    pub(crate) fn node(&self) -> Option<i64> {
        self.node
    }

    /// The connection, for queries.
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.tx {
            TxConn::Postgres(tx) => tx,
            TxConn::Sqlite(tx) => tx.conn(),
        }
    }

    pub(crate) fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, where the transaction already holds
    /// the write lock.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.kind {
            DatabaseKind::Sqlite => "",
            DatabaseKind::Postgres => " FOR UPDATE",
        }
    }

    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL (`FOR UPDATE OF <of> SKIP LOCKED` with a
    /// table alias): rows another transaction holds are passed over, so workers in several
    /// processes never take the same row. Nothing on SQLite, where the transaction already
    /// holds the write lock.
    pub(crate) fn skip_locked(&self, of: Option<&str>) -> String {
        match (self.kind, of) {
            (DatabaseKind::Sqlite, _) => String::new(),
            (DatabaseKind::Postgres, None) => " FOR UPDATE SKIP LOCKED".into(),
            (DatabaseKind::Postgres, Some(of)) => format!(" FOR UPDATE OF {of} SKIP LOCKED"),
        }
    }

    /// Appends an event to the log; returns its id.
    pub(crate) async fn append(&mut self, new: NewEvent) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query(
            "INSERT INTO events (conversation_id, seq, kind, data, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.conversation_id)
        .bind(new.seq)
        .bind(new.kind.as_str())
        .bind(new.data.to_string())
        .bind(new.at)
        .fetch_one(self.conn())
        .await?
        .get(0);
        self.appended(id, new).await?;
        Ok(id)
    }

    /// Appends several conversations' events with one statement.
    pub(crate) async fn append_all(&mut self, new: Vec<NewEvent>) -> Result<(), StoreError> {
        if new.is_empty() {
            return Ok(());
        }
        let rows = json_rows(
            self.kind,
            1,
            &[
                ("conversation_id", Column::BigInt),
                ("seq", Column::BigInt),
                ("kind", Column::Text),
                ("data", Column::Text),
                ("at", Column::BigInt),
            ],
        );
        let sql = sql!(
            "WITH v AS ({rows}) INSERT INTO events (conversation_id, seq, kind, data, at) \
             SELECT v.conversation_id, v.seq, v.kind, v.data, v.at FROM v WHERE true ORDER BY v.ord \
             RETURNING id, conversation_id, seq"
        );
        let values: Vec<serde_json::Value> = new
            .iter()
            .map(|e| {
                serde_json::json!([
                    e.conversation_id,
                    e.seq,
                    e.kind.as_str(),
                    e.data.to_string(),
                    e.at
                ])
            })
            .collect();
        let q = sqlx::query(sql).bind(serde_json::Value::from(values).to_string());
        let ids: std::collections::HashMap<(Option<i64>, i64), i64> = q
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|r| {
                let conversation = super::opt_i64(r, "conversation_id");
                ((conversation, r.get("seq")), r.get("id"))
            })
            .collect();
        for e in new {
            let id = *ids.get(&(e.conversation_id, e.seq)).ok_or_else(|| {
                sqlx::Error::Protocol("an inserted event was not returned".into())
            })?;
            self.appended(id, e).await?;
        }
        Ok(())
    }

    /// Hands the event just logged as `id` to the sinks, and keeps it for the commit.
    async fn appended(&mut self, id: i64, new: NewEvent) -> Result<(), StoreError> {
        let event = Event {
            id,
            conversation_id: new.conversation_id,
            seq: new.seq,
            kind: new.kind,
            data: new.data,
            at: new.at,
        };
        let sinks = self.sinks.clone();
        for sink in sinks.iter() {
            sink.appended(self.conn(), &event).await?;
        }
        self.events.push(event);
        Ok(())
    }

    /// Commits. The sinks see the transaction's events just before the commit, inside it
    /// (PostgreSQL's NOTIFY, delivered by the commit), and after it — on SQLite while the
    /// write lock is still held, so in commit order.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        let Tx {
            tx, events, sinks, ..
        } = self;
        match tx {
            TxConn::Postgres(mut tx) => {
                for sink in sinks.iter() {
                    sink.committing(&mut tx, &events).await?;
                }
                tx.commit().await?;
                for sink in sinks.iter() {
                    sink.committed(&events);
                }
            }
            TxConn::Sqlite(mut tx) => {
                for sink in sinks.iter() {
                    sink.committing(tx.conn(), &events).await?;
                }
                let guard = tx.guard.take();
                tx.commit().await?;
                for sink in sinks.iter() {
                    sink.committed(&events);
                }
                drop(guard);
            }
        }
        Ok(())
    }
}
