//! The one write-transaction helper every write goes through.
//!
//! SQLite: `BEGIN IMMEDIATE`, so that a transaction that will write takes the write lock
//! up front (a deferred one can fail with SQLITE_BUSY when it upgrades). PostgreSQL: READ
//! COMMITTED with invariants in conditional updates. Both retry, a bounded number of times,
//! on the transient failures `Retry::is_retryable` names (serialization failure, deadlock,
//! a locked SQLite file, figures that changed under a guarded write).

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
        match once(conn, Begin::Write, &mut f) {
            Err(e) if attempt < MAX_ATTEMPTS && e.is_retryable() => {
                tracing::debug!(attempt, "retrying write transaction");
                std::thread::sleep(backoff(attempt));
            }
            other => return other,
        }
    }
}

/// Runs `f` in a read-only transaction that sees one consistent snapshot of the database
/// (PostgreSQL REPEATABLE READ; SQLite in WAL mode keeps a reader's snapshot for the whole
/// transaction). For exports and verification while writes go on.
pub fn snapshot<T, E, F>(conn: &mut DbConnection, mut f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    once(conn, Begin::Snapshot, &mut f)
}

/// Runs `f` in a write transaction that is rolled back whatever `f` returns: to learn what a
/// write would meet, waiting as it would for the rows and keys others hold, without writing.
pub fn probe<T, E, F>(conn: &mut DbConnection, mut f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    once(conn, Begin::Probe, &mut f)
}

#[derive(Clone, Copy, PartialEq)]
enum Begin {
    Write,
    Snapshot,
    /// A write transaction that is never committed.
    Probe,
}

fn once<T, E, F>(conn: &mut DbConnection, begin: Begin, f: &mut F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnMut(&mut DbConnection) -> Result<T, E>,
{
    let sql = match (&*conn, begin) {
        (DbConnection::Sqlite(_), Begin::Write | Begin::Probe) => "BEGIN IMMEDIATE",
        (DbConnection::Sqlite(_), Begin::Snapshot) => "BEGIN",
        (DbConnection::Pg(_), Begin::Write | Begin::Probe) => "BEGIN",
        (DbConnection::Pg(_), Begin::Snapshot) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, sql)?,
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, sql)?,
    }
    type Tm = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) if begin != Begin::Probe => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        outcome => {
            // On a connection lost mid-transaction the rollback fails too (the server has
            // rolled back; the pool discards the broken connection): report what `f` did.
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            outcome
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
