//! The one write-transaction helper every write goes through.
//!
//! SQLite: `BEGIN IMMEDIATE`, so that a transaction that will write takes the write lock
//! up front (a deferred one can fail with SQLITE_BUSY when it upgrades). PostgreSQL: READ
//! COMMITTED with invariants in conditional updates. Both retry, a bounded number of times,
//! on the transient failures `Retry::is_retryable` names (serialization failure, deadlock,
//! a locked SQLite file, a lost idempotency-key race). Reads that must agree with each
//! other run in `read`, over one snapshot.

use super::DbConnection;
use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use std::time::Duration;

const MAX_ATTEMPTS: u32 = 6;

/// Errors that say whether running the whole transaction again may succeed.
pub trait Retry {
    fn is_retryable(&self) -> bool;
}

/// Whether a database error is transient: the same transaction may succeed if re-run.
pub fn is_transient(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("deadlock detected") || m.contains("database is locked")
        }
        _ => false,
    }
}

/// Runs `f` in a write transaction, committing on `Ok` and rolling back on `Err`; re-runs it
/// on a retryable error.
pub fn write<T, E, F>(conn: &mut DbConnection, mut f: F) -> Result<T, E>
where
    E: From<diesel::result::Error> + Retry,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match in_transaction(conn, "BEGIN", "BEGIN IMMEDIATE", &mut f) {
            Err(e) if attempt < MAX_ATTEMPTS && e.is_retryable() => {
                tracing::debug!(attempt, "retrying write transaction");
                std::thread::sleep(backoff(attempt));
            }
            other => return other,
        }
    }
}

/// Runs `f` in a read-only transaction over one snapshot, so that its queries agree with
/// each other. PostgreSQL: REPEATABLE READ; SQLite: a deferred transaction, whose first read
/// fixes the snapshot (WAL).
pub fn read<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
{
    in_transaction(
        conn,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "BEGIN",
        f,
    )
}

/// Begins with the backend's statement, then commits on `Ok` and rolls back on `Err`.
fn in_transaction<T, E, F>(
    conn: &mut DbConnection,
    pg_begin: &str,
    sqlite_begin: &str,
    f: F,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
{
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, sqlite_begin)?,
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, pg_begin)?,
    }
    type Tm = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            Tm::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// 2, 4, 8 ... ms plus up to as much again of jitter, so that racing retries spread out.
fn backoff(attempt: u32) -> Duration {
    let base = 1u64 << attempt.min(8);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    ) % base.max(1);
    Duration::from_millis(base + jitter)
}
