//! The PostgreSQL backend: a small pool of synchronous clients and the schema migrations.
//!
//! Why the synchronous `postgres` client: every `Db` call already runs on a blocking thread (that
//! is how SQLite is used), so the same code path serves both backends. A `postgres::Client` must
//! never be used, created or dropped on an async worker thread (it runs its own small runtime);
//! `Db` guarantees that, and the pool drops its idle clients on a plain thread.
//!
//! Migrations are the files `pg/schema_000N.sql`, numbered like SQLite's `schema_000N.sql` and
//! bringing the database to the same schema version. They are applied in one transaction under an
//! advisory lock, so several replicas starting at once migrate once; the applied versions are
//! rows of `schema_version`. A database newer than this program is refused, as for SQLite.
//!
//! No TLS: the URL should name a database on 127.0.0.1 or a private network (docs/deploy.md).

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use super::DbError;

/// PostgreSQL's versions of the SQLite migrations, in the same order.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("pg/schema_0001.sql"),
    include_str!("pg/schema_0002.sql"),
    include_str!("pg/schema_0003.sql"),
    include_str!("pg/schema_0004.sql"),
    include_str!("pg/schema_0005.sql"),
];

/// The advisory lock key replicas take while migrating (any constant; this one spells "hoiluat").
const MIGRATION_LOCK: i64 = 0x68_6f69_6c75_6174;

/// How long a caller waits for a free connection before the call fails.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// Up to `size` open clients, created on demand and reused.
pub(super) struct Pool {
    config: postgres::Config,
    size: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
    /// `host:port/dbname`: names the database in errors and logs without the password.
    target: String,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Client>,
    /// Clients in existence: idle, lent out, or being connected.
    open: usize,
}

impl Pool {
    /// Parses `url`, connects once and migrates the database.
    pub(super) fn connect(url: &str, size: usize) -> Result<Pool, DbError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| DbError::Config(format!("database.url: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("hoiluat");
        let pool = Pool {
            target: target(&config),
            config,
            size: size.max(1),
            state: Mutex::new(PoolState::default()),
            returned: Condvar::new(),
        };
        let mut client = pool.get()?;
        migrate(&mut client, &pool.target)?;
        drop(client);
        Ok(pool)
    }

    pub(super) fn target(&self) -> &str {
        &self.target
    }

    /// A client for one call, given back to the pool when dropped.
    pub(super) fn get(&self) -> Result<Pooled<'_>, DbError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut state = self.lock();
        loop {
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    // The server ended it (restart, idle timeout): open another instead.
                    state.open -= 1;
                    continue;
                }
                crate::metrics::db_pool(state.open, state.idle.len(), self.size);
                return Ok(Pooled {
                    pool: self,
                    client: Some(client),
                });
            }
            if state.open < self.size {
                state.open += 1;
                crate::metrics::db_pool(state.open, state.idle.len(), self.size);
                drop(state);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        client: Some(client),
                    }),
                    Err(source) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(DbError::Connect {
                            target: self.target.clone(),
                            source,
                        })
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(DbError::Pool(format!(
                    "all {} connections to {} stayed busy for {} s",
                    self.size,
                    self.target,
                    POOL_WAIT.as_secs()
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // The state is two plain fields, consistent after every statement: safe to reuse.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn give_back(&self, client: Client) {
        let mut state = self.lock();
        if client.is_closed() {
            state.open -= 1;
            crate::metrics::db_pool(state.open, state.idle.len(), self.size);
            drop(state);
            close_elsewhere(vec![client]);
        } else {
            state.idle.push(client);
            crate::metrics::db_pool(state.open, state.idle.len(), self.size);
        }
        self.returned.notify_one();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        close_elsewhere(idle);
    }
}

/// Closes clients on a plain thread: the last `Db` may be dropped on an async worker thread,
/// where closing a client (which blocks on its own runtime) would panic.
fn close_elsewhere(clients: Vec<Client>) {
    if !clients.is_empty() {
        std::thread::spawn(move || drop(clients));
    }
}

/// A client lent by the pool.
pub(super) struct Pooled<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.pool.give_back(client);
        }
    }
}

fn target(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().unwrap_or("");
    format!("{host}:{port}/{dbname}")
}

/// The schema version of the database (0 when empty).
pub(super) fn version(client: &mut impl postgres::GenericClient) -> Result<usize, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: i64 = client
        .query_one("SELECT COALESCE(max(version), 0) FROM schema_version", &[])?
        .get(0);
    Ok(usize::try_from(version).unwrap_or(usize::MAX))
}

fn migrate(client: &mut Client, target: &str) -> Result<(), DbError> {
    let failed = |version| {
        move |source: postgres::Error| DbError::Migration {
            version,
            message: source.to_string(),
        }
    };
    let mut tx = client.transaction().map_err(failed(0))?;
    // Other replicas starting now wait here until this one has committed, then find nothing to do.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(failed(0))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(failed(0))?;
    let found = version(&mut tx).map_err(failed(0))?;
    if found > MIGRATIONS.len() {
        return Err(DbError::TooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found) {
        let version = index + 1;
        tx.batch_execute(sql).map_err(failed(version))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[&(version as i64), &super::now_text()],
        )
        .map_err(failed(version))?;
    }
    tx.commit().map_err(failed(found))?;
    if found < MIGRATIONS.len() {
        tracing::info!(
            from = found,
            to = MIGRATIONS.len(),
            database = target,
            "database migrated"
        );
    }
    Ok(())
}
