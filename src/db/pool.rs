//! Connection URLs, the r2d2 pool, per-connection setup, and running blocking queries off
//! the async workers.

use super::DbConnection;
use diesel::connection::{Connection, SimpleConnection};
use diesel::r2d2::R2D2Connection;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A database URL whose scheme has been checked: never let a typo become a new SQLite file.
#[derive(Debug, Clone)]
pub enum DbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains('?') || path == ":memory:" {
                return Err("sqlite:// needs a file path (no :memory:, no query string)".into());
            }
            Ok(DbUrl::Sqlite(PathBuf::from(path)))
        } else {
            Err("database.url must start with sqlite://, postgres:// or postgresql://".into())
        }
    }

    /// Adds libpq's `connect_timeout` (seconds) and a session `statement_timeout`
    /// (milliseconds, through `options`) to a PostgreSQL URL, each unless the URL already sets
    /// it or the value is 0. SQLite URLs are returned as they are.
    pub fn with_session_limits(self, connect_timeout_secs: u64, statement_timeout_ms: u64) -> Self {
        let DbUrl::Postgres(mut url) = self else {
            return self;
        };
        let query = url.split_once('?').map_or("", |(_, q)| q).to_owned();
        let has = |key: &str| query.split('&').any(|p| p.split('=').next() == Some(key));
        let mut params = Vec::new();
        if connect_timeout_secs > 0 && !has("connect_timeout") {
            params.push(format!("connect_timeout={connect_timeout_secs}"));
        }
        if statement_timeout_ms > 0 && !has("options") {
            params.push(format!(
                "options=-c%20statement_timeout%3D{statement_timeout_ms}"
            ));
        }
        for p in params {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&p);
        }
        DbUrl::Postgres(url)
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Postgres(_) => Backend::Postgres,
            DbUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection of the URL's backend, set up for use.
    pub fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self {
            DbUrl::Postgres(url) => diesel::PgConnection::establish(url).map(DbConnection::Pg),
            DbUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout first so that the rest waits for a locked database; a system
                // SQLite does not turn foreign keys on by itself.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("database task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// A connection back in the pool for less than this is handed out again without the
/// `SELECT 1` check: under load that check is one more round trip in every request, and a
/// connection that broke in the meantime fails its request's first statement (503) and is
/// then dropped (`has_broken`). A connection idle for longer is checked, so that connections
/// lost while the service was quiet (a database restart) are replaced without failing a
/// request. (HikariCP skips its check on the same condition, with the same default.)
const CHECK_AFTER_IDLE: Duration = Duration::from_millis(500);

/// A pooled connection and when it was last returned to the pool.
pub struct Pooled {
    conn: DbConnection,
    returned: Instant,
}

impl Deref for Pooled {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// r2d2 manager that opens connections of the backend the URL names.
#[derive(Debug)]
pub struct Manager(DbUrl);

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let conn = self
            .0
            .connect()
            .map_err(diesel::r2d2::Error::ConnectionError)?;
        Ok(Pooled {
            conn,
            returned: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        if conn.returned.elapsed() < CHECK_AFTER_IDLE {
            return Ok(());
        }
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    /// Called as each connection is returned.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.returned = Instant::now();
        conn.conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The handle every layer above uses: a pool plus the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// Rung after each accepted write commits (`services::write`): what wakes this process's
    /// webhook worker, so that a write's deliveries do not wait for its next poll.
    written: Arc<Notify>,
}

impl Db {
    /// Builds the pool without connecting, so that the service starts (and reports
    /// not-ready) while the database is away.
    pub fn open(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        Self::open_url(
            DbUrl::parse(url).map_err(anyhow::Error::msg)?,
            max_connections,
            acquire_timeout,
        )
    }

    /// `open` for a URL already parsed (and given its session limits).
    pub fn open_url(
        url: DbUrl,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        if let DbUrl::Sqlite(path) = &url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            // WAL is a property of the database file: set it once, before the pool opens.
            let mut conn = url.connect()?;
            conn.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        let backend = url.backend();
        let pool = r2d2::Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(0))
            .connection_timeout(acquire_timeout)
            .test_on_check_out(true)
            .build_unchecked(Manager(url));
        Ok(Db {
            pool,
            backend,
            written: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The bell rung after each accepted write through this handle commits.
    pub fn written(&self) -> &Arc<Notify> {
        &self.written
    }

    /// A connection for synchronous callers (CLI commands, migrations at start).
    pub fn get(&self) -> Result<PooledConnection, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, inside the caller's
    /// tracing span.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let mut conn = db.get()?;
                f(&mut conn)
            })
        });
        match task.await {
            Ok(r) => r,
            // A panic in a query closure is a bug: answer 500, keep the worker alive.
            Err(e) => Err(DbError::Task(e).into()),
        }
    }

    /// Pool figures for /metrics.
    pub fn state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_the_backend_and_typos_are_refused() {
        assert_eq!(
            DbUrl::parse("sqlite://data/x.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DbUrl::parse("postgres://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert_eq!(
            DbUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        for bad in [
            "sqlite:data.db",
            "postgress://x",
            "data/x.db",
            "sqlite://",
            "sqlite://:memory:",
        ] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn limited(url: &str, connect: u64, statement: u64) -> String {
        match DbUrl::parse(url)
            .unwrap()
            .with_session_limits(connect, statement)
        {
            DbUrl::Postgres(u) => u,
            DbUrl::Sqlite(p) => p.display().to_string(),
        }
    }

    #[test]
    fn session_limits_are_added_to_postgres_urls_unless_set() {
        assert_eq!(
            limited("postgres://u@h/db", 5, 30000),
            "postgres://u@h/db?connect_timeout=5&options=-c%20statement_timeout%3D30000"
        );
        assert_eq!(
            limited("postgres://u@h/db?sslmode=disable&connect_timeout=2", 5, 0),
            "postgres://u@h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            limited("postgres://u@h/db?options=-c%20search_path%3Dx", 0, 100),
            "postgres://u@h/db?options=-c%20search_path%3Dx"
        );
        assert_eq!(limited("sqlite://data/x.db", 5, 100), "data/x.db");
        // libpq's multi-host URLs (failover: the server that accepts writes) pass as they are.
        assert_eq!(
            limited(
                "postgres://u@db1:5432,db2:5432/db?target_session_attrs=read-write",
                5,
                0
            ),
            "postgres://u@db1:5432,db2:5432/db?target_session_attrs=read-write&connect_timeout=5"
        );
    }
}
