//! Persistence: what citizens sent, what was answered and delivered, feedback, satisfaction,
//! channel tokens, and the staff side (flags, reviews, accounts, curated answers, audit log).
//!
//! Two backends behind one [`Db`] type, chosen by `database.kind`:
//! - **SQLite** (default): one embedded file in WAL mode, for one machine.
//! - **PostgreSQL**: a shared server, so any number of service replicas can run (`pg.rs`).
//!
//! Every typed method (`channel_log.rs`, `staff.rs`, `reports.rs`, and the platform's
//! `directory.rs`, `flows.rs`, `handoffs.rs`, `outbox.rs`, `surveys.rs`, `sme.rs`, `news.rs`,
//! `listening.rs`, `plan.rs`) is written once, in SQL both
//! understand, and runs through [`sql::Conn`] on a blocking thread (`Db::run`, `Db::transaction`).
//!
//! Durability: every write is its own transaction, committed before the caller goes on (a webhook
//! is acknowledged only after its message row is committed), so killing the process at any moment
//! loses nothing that was acknowledged. SQLite's `synchronous = NORMAL` in WAL mode survives a
//! process kill; only an operating-system crash could lose the last commits.
//!
//! Migrations are SQL files compiled in and applied in order: `schema_000N.sql` tracked by SQLite's
//! `PRAGMA user_version`, and `pg/schema_000N.sql` (same numbers, same schema version) tracked by
//! PostgreSQL's `schema_version` table. Either refuses a database newer than the program.

mod channel_log;
mod directory;
mod flows;
mod handoffs;
mod kinds;
mod listening;
mod news;
mod outbox;
mod pg;
mod plan;
mod platform_kinds;
mod reports;
mod sme;
pub(crate) mod sql;
mod staff;
mod surveys;
mod web_history;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use crate::answer::review::{AnswerStatus, Flag, FlagReason};
pub use channel_log::{
    FeedbackOutcome, NewAnswer, NewDelivery, NewMessage, Rating, SatisfactionOutcome, StoredAnswer,
    StoredMessage, TokenPair,
};
pub use kinds::{
    ChannelKind, Decision, DeliveryStatus, MessageKind, MessageStatus, ReviewDelivery, Role,
    StoredCitation,
};
pub use reports::{PeriodCounts, QuestionRow};
pub use sql::Value;
pub use staff::{
    AnswerDetail, CuratedAnswer, Erased, NewReview, QueueFilter, QueueItem, ReviewOutcome,
    ReviewRecord, ReviewToDeliver, StaffAccount, StaffSession,
};
pub use web_history::{WebAnswer, WebExchange};

// The plan's platform around the chatbot (migration 4).
pub use directory::{DirectoryEntry, NewDirectoryEntry};
pub(crate) use flows::stored_ago;
pub use flows::FlowState;
pub use handoffs::{
    Handoff, HandoffFilter, NewHandoff, Speaker, TranscriptLine, MAX_STAFF_REPLY_CHARS,
};
pub use listening::AskedQuestion;
pub use news::NewsItem;
pub use outbox::{NewOutbound, Outbound, WindowFacts, WAIT_FOR_WINDOW};
pub use plan::PlanCounts;
pub use platform_kinds::{
    DirectoryRole, FlowKind, HandoffReason, HandoffStatus, NewsStatus, OutboxKind, OutboxStatus,
    QuestionKind, ResponseStatus, SmeStatus, SurveyStatus,
};
pub(crate) use reports::hours_between;
pub use sme::{NewSmeRequest, SmeRequest};
pub use surveys::{
    IdleConversation, NewQuestion, NewSurvey, QuestionResults, Survey, SurveyAnswerRow,
    SurveyQuestion, SurveyResults, SurveySummary,
};

use crate::config::{DatabaseConfig, DatabaseKind, PathsConfig};
use sql::Conn;

/// SQLite migrations in order: index + 1 is the schema version they bring the database to.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_0001.sql"),
    include_str!("schema_0002.sql"),
    include_str!("schema_0003.sql"),
    include_str!("schema_0004.sql"),
    include_str!("schema_0005.sql"),
];

// Both backends must know the same schema versions.
const _: () = assert!(MIGRATIONS.len() == pg::MIGRATIONS.len());

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("cannot create the database directory {dir}: {source}")]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot connect to the PostgreSQL database {target}: {source}")]
    Connect {
        target: String,
        source: postgres::Error,
    },
    #[error("database connection pool: {0}")]
    Pool(String),
    #[error("database migration to version {version} failed: {message}")]
    Migration { version: usize, message: String },
    #[error("the database has schema version {found}, newer than this program knows ({known})")]
    TooNew { found: usize, known: usize },
    #[error("database query failed: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("database query failed: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("unexpected database value: {0}")]
    Decode(String),
    #[error("raw SQLite access (Db::call) on a {0} database")]
    NotSqlite(&'static str),
    #[error("database task failed: {0}")]
    Task(String),
}

/// A handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    backend: Arc<Backend>,
}

enum Backend {
    /// One connection behind a mutex: SQLite serialises writers anyway, and every statement here
    /// takes well under a millisecond.
    Sqlite {
        conn: Mutex<Connection>,
        path: PathBuf,
    },
    /// Boxed: the pool is much larger than the SQLite variant.
    Postgres(Box<pg::Pool>),
}

impl Db {
    /// Opens the database `config` names: the SQLite file, or a pool on the PostgreSQL server
    /// (connecting and migrating on a blocking thread).
    pub async fn connect(config: &DatabaseConfig, paths: &PathsConfig) -> Result<Db, DbError> {
        match config.kind {
            DatabaseKind::Sqlite => {
                let path = config.path(paths);
                tokio::task::spawn_blocking(move || Db::open(&path))
                    .await
                    .map_err(|e| DbError::Task(e.to_string()))?
            }
            DatabaseKind::Postgres => {
                let (url, size) = (config.url.clone(), config.pool_size);
                tokio::task::spawn_blocking(move || Db::open_postgres(&url, size))
                    .await
                    .map_err(|e| DbError::Task(e.to_string()))?
            }
        }
    }

    /// Opens (creating if needed) and migrates the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                dir: dir.to_owned(),
                source,
            })?;
        }
        let open_error = |source| DbError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_error)?;
        // First, so that even switching to WAL waits for another process opening the file.
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT).map_err(open_error)?;
        switch_to_wal(&conn).map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        migrate(&mut conn)?;
        Ok(Db {
            backend: Arc::new(Backend::Sqlite {
                conn: Mutex::new(conn),
                path: path.to_owned(),
            }),
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host:port/db`)
    /// with up to `pool_size` connections, and migrates it. Blocks: call it from a blocking
    /// thread or before the async runtime starts ([`Db::connect`] does that).
    pub fn open_postgres(url: &str, pool_size: usize) -> Result<Db, DbError> {
        let pool = pg::Pool::connect(url, pool_size)?;
        tracing::info!(
            database = pool.target(),
            pool_size,
            "PostgreSQL database ready"
        );
        Ok(Db {
            backend: Arc::new(Backend::Postgres(Box::new(pool))),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match *self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The SQLite file; `None` for PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        match &*self.backend {
            Backend::Sqlite { path, .. } => Some(path),
            Backend::Postgres(_) => None,
        }
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<usize, DbError> {
        let backend = Arc::clone(&self.backend);
        blocking(move || match &*backend {
            Backend::Sqlite { conn, .. } => {
                let version: i64 =
                    lock(conn).pragma_query_value(None, "user_version", |r| r.get(0))?;
                Ok(version as usize)
            }
            Backend::Postgres(pool) => Ok(pg::version(&mut *pool.get()?)?),
        })
        .await
    }

    /// Runs `f` on a blocking thread with a connection of either backend (each statement is its
    /// own transaction). How the typed methods reach the database.
    pub(crate) async fn run<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Conn<'_>) -> Result<R, DbError> + Send + 'static,
        R: Send + 'static,
    {
        let db = self.clone();
        blocking(move || db.run_blocking(f)).await
    }

    /// Like [`Db::run`], with every statement of `f` in one transaction, committed when `f`
    /// returns `Ok` and rolled back when it returns an error.
    pub(crate) async fn transaction<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Conn<'_>) -> Result<R, DbError> + Send + 'static,
        R: Send + 'static,
    {
        let backend = Arc::clone(&self.backend);
        blocking(move || match &*backend {
            Backend::Sqlite { conn, .. } => {
                let mut conn = lock(conn);
                let tx = conn.transaction()?;
                let out = f(&mut Conn::Sqlite(&tx))?;
                tx.commit()?;
                Ok(out)
            }
            Backend::Postgres(pool) => {
                let mut client = pool.get()?;
                let mut tx = client.transaction()?;
                let out = f(&mut Conn::Postgres(&mut tx))?;
                tx.commit()?;
                Ok(out)
            }
        })
        .await
    }

    /// [`Db::run`] on the current thread, which must not be an async worker thread (the
    /// conversation history is read this way, from the assistant's blocking thread).
    pub(crate) fn run_blocking<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Conn<'_>) -> Result<R, DbError>,
    {
        match &*self.backend {
            Backend::Sqlite { conn, .. } => f(&mut Conn::Sqlite(&lock(conn))),
            Backend::Postgres(pool) => f(&mut Conn::Postgres(&mut *pool.get()?)),
        }
    }

    /// The first column of the first row of `sql` as an integer (`count(*)`, an id, a flag). For
    /// tests and checks that must run on both backends: write SQL both understand, with `?N`
    /// placeholders. Production code uses the typed methods.
    pub async fn scalar_i64(&self, sql: &str, params: Vec<Value>) -> Result<i64, DbError> {
        let sql = sql.to_owned();
        self.run(move |c| c.query_one(&sql, &params)?.get(0)).await
    }

    /// Runs one statement of SQL both backends understand; the number of rows it changed. For
    /// tests (to age a row, say); production code uses the typed methods.
    pub async fn execute_sql(&self, sql: &str, params: Vec<Value>) -> Result<usize, DbError> {
        let sql = sql.to_owned();
        self.run(move |c| c.execute(&sql, &params)).await
    }

    /// Runs `f` with the SQLite connection on a blocking thread: raw SQL for tests' assertions
    /// and SQLite-only maintenance. Fails with [`DbError::NotSqlite`] on PostgreSQL; production
    /// code uses the typed methods.
    pub async fn call<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<R, rusqlite::Error> + Send + 'static,
        R: Send + 'static,
    {
        let db = self.clone();
        blocking(move || db.call_blocking(f)).await
    }

    /// [`Db::call`] on the current thread (CLI commands, tests).
    pub fn call_blocking<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<R, rusqlite::Error>,
    {
        match &*self.backend {
            Backend::Sqlite { conn, .. } => f(&mut lock(conn)).map_err(DbError::from),
            Backend::Postgres(_) => Err(DbError::NotSqlite("postgres")),
        }
    }
}

/// Runs `f` on tokio's blocking pool: both database clients block.
async fn blocking<F, R>(f: F) -> Result<R, DbError>
where
    F: FnOnce() -> Result<R, DbError> + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let _call = crate::metrics::DbCall::start();
        f()
    })
    .await
    .map_err(|e| DbError::Task(e.to_string()))?
}

/// A panic while holding the lock cannot leave a transaction half-applied (SQLite rolls back an
/// unfinished one), so a poisoned lock is safe to reuse.
fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The schema version this program writes.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// How long an SQLite connection waits for another one's lock.
const SQLITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Puts the file in WAL mode. Switching a new file needs an exclusive lock, and when several
/// connections open it at once (replicas starting together, a `hoiluat` command beside `serve`)
/// SQLite can answer "database is locked" at once rather than through the busy handler, to
/// avoid a deadlock between them (measured: 16 of 200 runs of four concurrent opens of a new
/// file). So the switch is retried, for as long as the busy timeout, after a short pause.
fn switch_to_wal(conn: &Connection) -> Result<(), rusqlite::Error> {
    let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// Applies the missing migrations in one transaction. `BEGIN IMMEDIATE` takes the write lock
/// before the version is read, so two processes opening the same file at once migrate once (the
/// second waits, then finds nothing to do), as PostgreSQL's advisory lock does.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let failed = |version| {
        move |source: rusqlite::Error| DbError::Migration {
            version,
            message: source.to_string(),
        }
    };
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(failed(0))?;
    let found: usize = tx
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(failed(0))? as usize;
    if found > MIGRATIONS.len() {
        return Err(DbError::TooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found) {
        let version = index + 1;
        tx.execute_batch(sql).map_err(failed(version))?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(failed(version))?;
    }
    tx.commit().map_err(failed(found))?;
    if found < MIGRATIONS.len() {
        tracing::info!(from = found, to = MIGRATIONS.len(), "database migrated");
    }
    Ok(())
}

/// Current time as stored: RFC 3339 UTC with milliseconds.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hoiluat.sqlite3");
        let db = Db::open(&path).unwrap();
        let version: i64 = db
            .call_blocking(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
            .unwrap();
        assert_eq!(version as usize, schema_version());
        drop(db);
        // Reopening applies nothing and keeps the version.
        let db = Db::open(&path).unwrap();
        let tables: i64 = db
            .call_blocking(|c| {
                c.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(tables, 1);
    }

    #[tokio::test]
    async fn a_bad_url_or_an_unreachable_server_is_a_clear_error() {
        let paths = PathsConfig::default();
        let config = |url: &str| DatabaseConfig {
            kind: DatabaseKind::Postgres,
            url: url.into(),
            ..DatabaseConfig::default()
        };
        let bad_url = Db::connect(&config("postgres://h:notaport/db"), &paths).await;
        assert!(matches!(bad_url, Err(DbError::Config(_))));
        // Port 1 on the loopback: refused at once.
        let error = Db::connect(
            &config("postgres://hoiluat:secret@127.0.0.1:1/hoiluat"),
            &paths,
        )
        .await
        .err()
        .expect("no server there");
        let message = error.to_string();
        assert!(matches!(error, DbError::Connect { .. }), "{message}");
        assert!(message.contains("127.0.0.1:1/hoiluat"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn the_database_password_is_not_logged() {
        let config = DatabaseConfig {
            kind: DatabaseKind::Postgres,
            url: "postgres://hoiluat:s3cret@10.0.0.5:5432/hoiluat".into(),
            ..DatabaseConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://<redacted>@10.0.0.5:5432/hoiluat"),
            "{shown}"
        );
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        assert!(matches!(
            Db::open(&path),
            Err(DbError::TooNew { found: 99, .. })
        ));
    }
}
