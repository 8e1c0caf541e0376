//! Embedded per-backend migrations, run at start or by `stockpile migrate`.

use super::DbConnection;
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Arbitrary key of the advisory lock that serializes migrations of several processes
/// starting at once on one PostgreSQL.
const MIGRATION_LOCK: i64 = 0x5354_4f43_4b50;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations; returns the versions applied.
pub fn run(conn: &mut DbConnection) -> Result<Vec<String>, BoxError> {
    let applied = match conn {
        DbConnection::Pg(c) => {
            // Waiting for another process's migrations, and migrating, may take longer than
            // the sessions' statement timeout; RESET restores it for the pooled connection.
            c.batch_execute(&format!(
                "SET statement_timeout = 0; SELECT pg_advisory_lock({MIGRATION_LOCK})"
            ))?;
            let r = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect());
            c.batch_execute(&format!(
                "SELECT pg_advisory_unlock({MIGRATION_LOCK}); RESET statement_timeout"
            ))?;
            r?
        }
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE)?
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    Ok(applied)
}

/// Whether the schema is up to date (for readiness).
pub fn is_current(conn: &mut DbConnection) -> Result<bool, BoxError> {
    let pending = match conn {
        DbConnection::Pg(c) => c.has_pending_migration(POSTGRES)?,
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE)?,
    };
    Ok(!pending)
}
