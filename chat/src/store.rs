//! The database: a connection pool for SQLite or PostgreSQL, the schema migrations, and the
//! write transaction every state change goes through.
//!
//! Both databases are reached through sqlx's `Any` driver, so every query is written once.
//! The schema keeps to what both share: integer ids, `BIGINT` milliseconds since the Unix
//! epoch for times, `0`/`1` integers for flags, text for the rest, and `$1`-style
//! placeholders (SQLite accepts them too). The two migration folders
//! (`migrations/sqlite`, `migrations/postgres`) carry the same tables and differ only in how
//! an identity column is declared.
//!
//! Write transactions ([`Store::write`]):
//! - SQLite has one writer at a time. Transactions start with `BEGIN IMMEDIATE` (no
//!   read-then-upgrade deadlocks) and, within the process, queue on an async mutex rather
//!   than spin in SQLite's busy handler; events are published to in-process subscribers
//!   after the commit, still under that mutex, so they come out in commit order. The
//!   write-ahead log is checkpointed by a background task, never inside a commit.
//! - PostgreSQL runs them concurrently; rows that decide something (a queue while routing, a
//!   conversation while changing it) are locked with `FOR UPDATE`, and events are sent with
//!   `pg_notify` inside the transaction, so every process receives them at commit, in commit
//!   order (see [`crate::events`]).

use crate::events::EventBus;
use crate::hooks::HookTarget;
pub use crate::model::StoreError;
use crate::model::{Event, EventKind};
use deflect_config::{DatabaseKind, DatabaseUrl};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A pool of connections to the conversation database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    kind: DatabaseKind,
    url: DatabaseUrl,
    /// SQLite: one writer at a time within the process.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    pub(crate) bus: EventBus,
    /// Outgoing webhook endpoints: each logged event they take gets a delivery row.
    hooks: Arc<std::sync::RwLock<Arc<Vec<HookTarget>>>>,
    hooks_wake: Arc<tokio::sync::Notify>,
    /// SQLite: the background checkpoints, stopped with the last clone of the store.
    _checkpoints: Option<Arc<AbortOnDrop>>,
}

/// SQLite: how often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// SQLite: from how many pages of log (4 KiB each) a checkpoint also waits for the writer,
/// so that the log starts over.
const RESTART_PAGES: i64 = 4_096;

/// SQLite: checkpoints the write-ahead log in the background, on a connection of its own.
///
/// SQLite's automatic checkpoint (turned off on every connection) runs inside the commit
/// that crosses 1000 pages of log, and with `synchronous = NORMAL` that commit then waits
/// for the database file's fsync, stalling every write queued behind it. Here a passive
/// checkpoint copies the log while the writer keeps appending. A log only starts over once
/// a checkpoint has caught up with it, which under steady writes a passive one never does:
/// so when the log has grown past [`RESTART_PAGES`], one more checkpoint runs holding the
/// write lock — it copies only what came since the previous one — and the next write
/// starts the log over (`journal_size_limit` then trims the file).
async fn checkpoints(pool: AnyPool, write_lock: Arc<tokio::sync::Mutex<()>>) {
    async fn passive(pool: &AnyPool) -> Result<i64, sqlx::Error> {
        // (busy, pages in the log, pages checkpointed)
        let r = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await?;
        r.try_get::<i64, _>(1)
    }
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        let caught_up = match passive(&pool).await {
            Ok(pages) if pages >= RESTART_PAGES => {
                let _writer = write_lock.lock().await;
                passive(&pool).await.map(|_| ())
            }
            other => other.map(|_| ()),
        };
        if let Err(e) = caught_up {
            if pool.is_closed() {
                return;
            }
            tracing::debug!(cause = %e, "WAL checkpoint failed; trying again");
        }
    }
}

/// A task aborted when this is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Store {
    /// Connects to the database named by `url`. A SQLite file is created when missing, in
    /// WAL mode. The schema is not touched: see [`Store::migrate`].
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let kind = url.kind();
        let options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5));
        let pool = match kind {
            DatabaseKind::Sqlite => {
                let mut u = url.expose().to_string();
                if !u.contains('?') {
                    u.push_str("?mode=rwc");
                }
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::raw_sql(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                                 PRAGMA wal_autocheckpoint = 0; \
                                 PRAGMA journal_size_limit = 67108864;",
                            )
                            .execute(conn)
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&u)
                    .await?
            }
            DatabaseKind::Postgres => options.connect(url.expose()).await?,
        };
        let write_lock: Arc<tokio::sync::Mutex<()>> = Arc::default();
        let checkpoints = (kind == DatabaseKind::Sqlite).then(|| {
            let task = checkpoints(pool.clone(), write_lock.clone());
            Arc::new(AbortOnDrop(tokio::spawn(task)))
        });

        Ok(Self {
            pool,
            kind,
            url: url.clone(),
            write_lock,
            bus: EventBus::new(),
            hooks: Arc::default(),
            hooks_wake: Arc::default(),
            _checkpoints: checkpoints,
        })
    }

    /// Brings the schema up to date. Safe to run from several processes at once (the
    /// migrator takes a lock) and again on an up-to-date database.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.kind {
            DatabaseKind::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            DatabaseKind::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Versions of the migrations applied, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
    }

    /// Which database this store runs on.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The database URL (its password redacted when displayed).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits for connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn set_hook_targets(&self, targets: Vec<HookTarget>) {
        *self
            .hooks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(targets);
    }

    pub(crate) fn hooks_wake(&self) -> Arc<tokio::sync::Notify> {
        self.hooks_wake.clone()
    }

    /// Publishes an event that is not logged (id 0, e.g. typing) to every subscriber: in
    /// this process (SQLite) or through NOTIFY to every process (PostgreSQL).
    pub(crate) async fn publish_ephemeral(&self, e: Event) -> Result<(), StoreError> {
        match self.kind {
            DatabaseKind::Sqlite => self.bus.publish(Arc::new(e)),
            DatabaseKind::Postgres => {
                notify(&self.pool, crate::events::notify_payloads([&e])).await?;
            }
        }
        Ok(())
    }

    /// Starts a write transaction (see the module documentation).
    pub(crate) async fn write(&self) -> Result<Tx, StoreError> {
        let tx = match self.kind {
            DatabaseKind::Sqlite => {
                let guard = self.write_lock.clone().lock_owned().await;
                TxConn::Sqlite(SqliteTx::begin(&self.pool, guard).await?)
            }
            DatabaseKind::Postgres => TxConn::Postgres(self.pool.begin().await?),
        };
        let hooks = self
            .hooks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok(Tx {
            tx,
            kind: self.kind,
            events: Vec::new(),
            bus: self.bus.clone(),
            hooks,
            hooks_wake: self.hooks_wake.clone(),
            hooks_written: false,
        })
    }
}

/// An event to append with [`Tx::events`].
pub(crate) struct NewEvent {
    pub(crate) conversation_id: i64,
    pub(crate) seq: i64,
    pub(crate) kind: EventKind,
    pub(crate) data: serde_json::Value,
    pub(crate) at: i64,
}

/// The type of a [`json_rows`] column.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Column {
    Text,
    BigInt,
}

/// A query (for a `WITH v AS (…)`) whose rows come from one bound value: a JSON array of
/// arrays, bound at `$param` as text, one inner array per row with its values in the order
/// of `columns`. Besides `columns` the rows have `ord`, their position, to keep their order.
///
/// A statement written this way has the same text however many rows it carries, so it is
/// prepared once per connection and its plan reused (PostgreSQL plans a statement with a
/// `VALUES` list of bound values again for each length; SQLite limits bound values to
/// 32,766). The values are still bound, never spliced into the text. PostgreSQL reads the
/// array as `jsonb`, parsed once: taking each column from a `json` row would parse it again.
pub(crate) fn json_rows(kind: DatabaseKind, param: usize, columns: &[(&str, Column)]) -> String {
    let mut out = String::from("SELECT ");
    for (i, (name, column)) in columns.iter().enumerate() {
        let value = match (kind, column) {
            (DatabaseKind::Sqlite, _) => format!("json_extract(r.value, '$[{i}]')"),
            (DatabaseKind::Postgres, Column::Text) => format!("r.value ->> {i}"),
            (DatabaseKind::Postgres, Column::BigInt) => format!("(r.value ->> {i})::bigint"),
        };
        out.push_str(&format!("{value} AS {name}, "));
    }
    match kind {
        DatabaseKind::Sqlite => out.push_str(&format!("r.key AS ord FROM json_each(${param}) r")),
        DatabaseKind::Postgres => out.push_str(&format!(
            "r.ord FROM jsonb_array_elements(${param}::jsonb) WITH ORDINALITY AS r(value, ord)"
        )),
    }
    out
}

/// Ids as rows for a statement: the `WITH v AS (…)` query over the JSON array bound at
/// `$param` (see [`json_rows`]; bind [`ids_value`]) and the condition "`column` is one of
/// them" for its `WHERE`. PostgreSQL finds them through the primary key (`= ANY(ARRAY(…))`):
/// joined to rows whose number it cannot estimate, the planner would scan the whole table.
pub(crate) fn ids_in(kind: DatabaseKind, param: usize, column: &str) -> (String, String) {
    let rows = json_rows(kind, param, &[("id", Column::BigInt)]);
    let condition = match kind {
        DatabaseKind::Sqlite => format!("{column} IN (SELECT id FROM v)"),
        DatabaseKind::Postgres => format!("{column} = ANY(ARRAY(SELECT id FROM v))"),
    };
    (format!("WITH v AS ({rows})"), condition)
}

/// The value to bind for [`ids_in`].
pub(crate) fn ids_value(ids: &[i64]) -> String {
    serde_json::Value::from(
        ids.iter()
            .map(|id| serde_json::json!([id]))
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// Leases claimed rows of a work table (`outbox`, `hook_deliveries`) to this process: state
/// `sending` until `until`, one more attempt. One statement for all of them.
pub(crate) async fn lease(
    tx: &mut Tx,
    table: &'static str,
    ids: &[i64],
    until: i64,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (with, wanted) = ids_in(tx.kind(), 2, "id");
    sqlx::query(sql!(
        "{with} UPDATE {table} SET state = 'sending', lease_until = $1, attempts = attempts + 1 \
         WHERE {wanted}"
    ))
    .bind(until)
    .bind(ids_value(ids))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The connection of a write transaction.
enum TxConn {
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
struct SqliteTx {
    conn: Option<sqlx::pool::PoolConnection<Any>>,
    /// The process's one-writer lock, released when the transaction has ended.
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl SqliteTx {
    async fn begin(
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

/// A write transaction that collects the events it appends; they reach subscribers only if
/// it commits.
pub(crate) struct Tx {
    tx: TxConn,
    kind: DatabaseKind,
    events: Vec<Event>,
    bus: EventBus,
    hooks: Arc<Vec<HookTarget>>,
    hooks_wake: Arc<tokio::sync::Notify>,
    hooks_written: bool,
}

impl Tx {
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

    /// Appends an event to the log. For a conversation's event the conversation's sequence
    /// number is advanced (which on PostgreSQL also locks its row until commit).
    pub(crate) async fn event(
        &mut self,
        conversation_id: Option<i64>,
        kind: EventKind,
        data: serde_json::Value,
        at: i64,
    ) -> Result<i64, StoreError> {
        let seq = match conversation_id {
            Some(c) => sqlx::query(
                "UPDATE conversations SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
            )
            .bind(c)
            .fetch_one(self.conn())
            .await?
            .get::<i64, _>(0),
            None => 0,
        };
        self.event_with_seq(conversation_id, seq, kind, data, at)
            .await
    }

    /// As [`Tx::event`], for a caller that advanced the conversation's `event_seq` itself
    /// (in an update it had to make anyway) and got `seq` back.
    pub(crate) async fn event_with_seq(
        &mut self,
        conversation_id: Option<i64>,
        seq: i64,
        kind: EventKind,
        data: serde_json::Value,
        at: i64,
    ) -> Result<i64, StoreError> {
        let text = data.to_string();
        let id: i64 = sqlx::query(
            "INSERT INTO events (conversation_id, seq, kind, data, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(conversation_id)
        .bind(seq)
        .bind(kind.as_str())
        .bind(&text)
        .bind(at)
        .fetch_one(self.conn())
        .await?
        .get(0);
        let event = Event {
            id,
            conversation_id,
            seq,
            kind,
            data,
            at,
        };
        let hooks = self.hooks.clone();
        if !hooks.is_empty() && crate::hooks::enqueue(self.conn(), &hooks, &event).await? {
            self.hooks_written = true;
        }
        self.events.push(event);
        Ok(id)
    }

    /// Appends several conversations' events with one statement; each carries the sequence
    /// number its caller took when advancing its conversation's `event_seq`.
    pub(crate) async fn events(&mut self, new: Vec<NewEvent>) -> Result<(), StoreError> {
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
        let ids: std::collections::HashMap<(i64, i64), i64> = q
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|r| ((r.get("conversation_id"), r.get("seq")), r.get("id")))
            .collect();
        for e in new {
            let id = *ids.get(&(e.conversation_id, e.seq)).ok_or_else(|| {
                sqlx::Error::Protocol("an inserted event was not returned".into())
            })?;
            let event = Event {
                id,
                conversation_id: Some(e.conversation_id),
                seq: e.seq,
                kind: e.kind,
                data: e.data,
                at: e.at,
            };
            let hooks = self.hooks.clone();
            if !hooks.is_empty() && crate::hooks::enqueue(self.conn(), &hooks, &event).await? {
                self.hooks_written = true;
            }
            self.events.push(event);
        }
        Ok(())
    }

    /// Commits; on SQLite then publishes the events in-process; on PostgreSQL they are sent
    /// with NOTIFY (one per transaction unless they exceed its payload limit) just before the
    /// commit, which delivers them.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        let Tx {
            tx,
            events,
            bus,
            hooks_wake,
            hooks_written,
            ..
        } = self;
        match tx {
            TxConn::Postgres(mut tx) => {
                notify(&mut *tx, crate::events::notify_payloads(&events)).await?;
                tx.commit().await?;
            }
            TxConn::Sqlite(mut tx) => {
                // Published while the write lock is held, so in commit order.
                let guard = tx.guard.take();
                tx.commit().await?;
                for e in events.iter().cloned() {
                    bus.publish(Arc::new(e));
                }
                drop(guard);
            }
        }
        if hooks_written {
            hooks_wake.notify_one();
        }
        Ok(())
    }
}

/// Sends `payloads` on the events channel, in order, with one statement (PostgreSQL
/// evaluates a volatile function of the select list after the `ORDER BY`; and like
/// [`json_rows`], the statement's text does not depend on how many there are).
async fn notify<'c>(
    conn: impl sqlx::Executor<'c, Database = Any>,
    payloads: Vec<String>,
) -> Result<(), StoreError> {
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_notify($1, r.value) FROM json_array_elements_text($2::json) \
         WITH ORDINALITY AS r(value, ord) ORDER BY r.ord",
    )
    .bind(crate::events::PG_CHANNEL)
    .bind(serde_json::Value::from(payloads).to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads an optional text column.
pub(crate) fn opt_str(row: &AnyRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col).ok().flatten()
}

/// Reads an optional integer column.
pub(crate) fn opt_i64(row: &AnyRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_file_is_created_migrated_and_answers() {
        let dir = tempfile::tempdir().unwrap();
        let url: DatabaseUrl = format!("sqlite://{}/x.db", dir.path().display())
            .parse()
            .unwrap();
        let store = Store::connect(&url, 2).await.unwrap();
        store.ping().await.unwrap();
        assert_eq!(store.kind(), DatabaseKind::Sqlite);
        assert!(dir.path().join("x.db").exists());
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(
            store.applied_migrations().await.unwrap(),
            vec![1, 2, 3, 4, 5, 6]
        );
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
        store.close().await;
    }
}
