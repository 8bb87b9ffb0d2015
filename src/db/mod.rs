//! Persistence: an embedded SQLite database (WAL) holding what citizens sent, what was answered,
//! what was delivered, feedback, satisfaction and channel tokens.
//!
//! Durability: every write is its own transaction, committed before the caller goes on (a webhook
//! is acknowledged only after its message row is committed), so killing the process at any moment
//! loses nothing that was acknowledged. `synchronous = NORMAL` in WAL mode survives a process
//! kill; only an operating-system crash could lose the last commits.
//!
//! Migrations are SQL files compiled in and applied in order, tracked by `PRAGMA user_version`.

mod channel_log;
mod staff;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use channel_log::{
    FeedbackOutcome, Flag, NewAnswer, NewDelivery, NewMessage, Rating, StoredAnswer, StoredMessage,
    TokenPair, FLAG_REASONS,
};
pub use staff::{
    AnswerDetail, CuratedAnswer, NewReview, QueueFilter, QueueItem, ReviewOutcome, ReviewRecord,
    StaffAccount, StaffSession,
};

/// Migrations in order: index + 1 is the schema version they bring the database to.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_0001.sql"),
    include_str!("schema_0002.sql"),
];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
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
    #[error("database migration to version {version} failed: {source}")]
    Migration {
        version: usize,
        source: rusqlite::Error,
    },
    #[error("the database has schema version {found}, newer than this program knows ({known})")]
    TooNew { found: usize, known: usize },
    #[error("database query failed: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
}

/// A handle to the database. Cheap to clone. One connection behind a mutex: SQLite serialises
/// writers anyway, and every statement here takes well under a millisecond.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
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
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_error)?;
        migrate(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<R, rusqlite::Error> + Send + 'static,
        R: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a transaction half-applied (SQLite rolls
            // back an unfinished one), so a poisoned lock is safe to reuse.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
        .map_err(DbError::from)
    }

    /// Runs `f` with the connection on the current thread (CLI commands, tests).
    pub fn call_blocking<F, R>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<R, rusqlite::Error>,
    {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn).map_err(DbError::from)
    }
}

/// The schema version this program writes.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let found: usize =
        conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
            .map_err(|source| DbError::Migration { version: 0, source })? as usize;
    if found > MIGRATIONS.len() {
        return Err(DbError::TooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found) {
        let version = index + 1;
        let apply = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version as i64)?;
            tx.commit()
        };
        apply(conn).map_err(|source| DbError::Migration { version, source })?;
        tracing::info!(version, "database migrated");
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
