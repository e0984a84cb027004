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
//! Write transactions (`Store::write`, `Tx`):
//! - SQLite has one writer at a time. Transactions start with `BEGIN IMMEDIATE` (no
//!   read-then-upgrade deadlocks) and, within the process, queue on an async mutex rather
//!   than spin in SQLite's busy handler; a transaction's events reach the sinks after the
//!   commit, still under that mutex, so they come out in commit order. The write-ahead log is
//!   checkpointed by a background task, never inside a commit.
//! - PostgreSQL runs them concurrently; rows that decide something (a queue while routing, a
//!   conversation while changing it) are locked with `FOR UPDATE`; sinks see a transaction's
//!   events inside it, just before its commit (NOTIFY is sent there, so every process
//!   receives them at commit, in commit order: see [`crate::events`]).
//!
//! A transaction collects the events it appends to the log and hands them to the registered
//! `EventSink`s (`Store::set_sinks`): the store knows nothing of webhooks, buses or
//! notifications.

mod sink;
mod sql;
mod tx;

pub use crate::model::StoreError;
pub(crate) use sink::{EventSink, SinkFuture, Sinks};
pub(crate) use sql::{Column, ids_in, ids_value, json_rows, lease, opt_i64, opt_str};
pub(crate) use tx::{NewEvent, Tx};

use deflect_config::{DatabaseKind, DatabaseUrl};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;
use tx::{SqliteTx, TxConn};

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
    /// The consumers of the events transactions append.
    sinks: Arc<std::sync::RwLock<Sinks>>,
    /// The node (row of `nodes`) this process registered as, 0 before it did: the holder
    /// its transactions write on the rows they lease.
    node: Arc<std::sync::atomic::AtomicI64>,
    /// SQLite: the background checkpoints, stopped with the last clone of the store.
    _checkpoints: Option<Arc<AbortOnDrop>>,
}

/// The first migration of the rolling-upgrade rule: from this one on, each adds tables,
/// indexes and columns that may be NULL or have a default, and drops, renames or changes
/// nothing, so that the version before runs on the migrated database (a test checks every
/// migration's text).
pub const FIRST_ADDITIVE_MIGRATION: i64 = 29;

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
            sinks: Arc::new(std::sync::RwLock::new(Arc::new([]))),
            node: Arc::default(),
            _checkpoints: checkpoints,
        })
    }

    /// Brings the schema up to date. Safe to run from several processes at once (the
    /// migrator takes a lock) and again on an up-to-date database.
    ///
    /// A database that a newer deflect has migrated further — a rolling upgrade: the new
    /// version's `deflect migrate` ran while nodes of this one still run, or restart — is
    /// used as it is once it has every migration of this version: from
    /// [`FIRST_ADDITIVE_MIGRATION`] on, a migration only adds what the version before does
    /// not need to know about.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.kind {
            DatabaseKind::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        // A new database has no table of migrations yet: nothing applied.
        let applied = self.applied_migrations().await.unwrap_or_default();
        let newer: Vec<i64> = (applied.iter().copied())
            .filter(|v| !migrator.version_exists(*v))
            .collect();
        let complete = migrator.iter().all(|m| applied.contains(&m.version));
        if !newer.is_empty() && complete {
            tracing::warn!(
                newer = ?newer,
                "the database has migrations of a newer deflect (a rolling upgrade?): this \
                 version runs on it as it is"
            );
            return Ok(());
        }
        // Otherwise the migrator applies what is missing, or refuses a database that has
        // another version's migrations but lacks some of this one's.
        migrator.run(&self.pool).await?;
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

    /// Registers the consumers of the events transactions append, replacing any registered
    /// before; transactions begun from now on hand their events to them, in this order.
    pub(crate) fn set_sinks(&self, sinks: Vec<Arc<dyn EventSink>>) {
        *self
            .sinks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = sinks.into();
    }

    /// Records that this process is node `id`: the leases its transactions take from now on
    /// name it, so that another node can take them over if it is lost.
    pub(crate) fn set_node(&self, id: i64) {
        self.node.store(id, std::sync::atomic::Ordering::Relaxed);
    }

    /// The node this process registered as, if it did.
    pub(crate) fn node(&self) -> Option<i64> {
        Some(self.node.load(std::sync::atomic::Ordering::Relaxed)).filter(|id| *id != 0)
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
        let sinks = self
            .sinks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok(Tx::new(tx, self.kind, sinks, self.node()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether SQL statement `s` would break the version before on the migrated database:
    /// it drops, renames or changes what exists, or adds a column that version's inserts
    /// would leave without a value.
    fn breaks_previous_version(s: &str) -> bool {
        let s = s.to_uppercase();
        ["DROP ", "RENAME ", "ALTER COLUMN", "TRUNCATE "]
            .iter()
            .any(|refused| s.contains(refused))
            || (s.contains("ADD COLUMN") && s.contains("NOT NULL") && !s.contains("DEFAULT"))
    }

    /// From [`FIRST_ADDITIVE_MIGRATION`] on, no migration breaks the version before.
    #[test]
    fn migrations_keep_the_previous_version_working() {
        let additive = (SQLITE_MIGRATIONS.iter().chain(POSTGRES_MIGRATIONS.iter()))
            .filter(|m| m.version >= FIRST_ADDITIVE_MIGRATION);
        let mut read = 0;
        for m in additive {
            read += 1;
            let code: String = (m.sql.as_str().lines())
                .map(|l| l.split("--").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ");
            for statement in code.split(';') {
                let s = statement.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(!breaks_previous_version(&s), "migration {}: {s}", m.version);
            }
        }
        assert!(read >= 2, "the rule's migrations were read");
    }

    #[test]
    fn what_would_break_the_previous_version_is_recognised() {
        assert!(breaks_previous_version(
            "ALTER TABLE nodes ADD COLUMN zone TEXT NOT NULL"
        ));
        assert!(breaks_previous_version(
            "alter table nodes drop column calls"
        ));
        assert!(breaks_previous_version(
            "ALTER TABLE nodes RENAME COLUMN calls TO load"
        ));
        assert!(!breaks_previous_version(
            "ALTER TABLE nodes ADD COLUMN zone TEXT NOT NULL DEFAULT ''"
        ));
        assert!(!breaks_previous_version(
            "ALTER TABLE outbox ADD COLUMN leased_by BIGINT"
        ));
        assert!(!breaks_previous_version(
            "CREATE TABLE nodes (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"
        ));
    }

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
            (1..=29).collect::<Vec<_>>()
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
