//! Online backup of an SQLite database: `VACUUM INTO` writes a consistent copy from one read
//! snapshot while the service keeps serving. PostgreSQL is backed up with its own tools.

use super::{Backend, Db, DbConnection, DbError};
use diesel::connection::SimpleConnection;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "stockpile backup copies SQLite databases; back up PostgreSQL with pg_dump \
         (e.g. pg_dump --format=custom --file=stockpile.dump <database url>)"
    )]
    Postgres,
    #[error("{0} exists; name a new file for the backup")]
    Exists(String),
    #[error(transparent)]
    Unavailable(#[from] DbError),
    #[error("backup failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Writes a consistent copy of the SQLite database behind `db` to `output`, a new file.
pub fn sqlite_copy(db: &Db, output: &Path) -> Result<(), BackupError> {
    if db.backend() == Backend::Postgres {
        return Err(BackupError::Postgres);
    }
    if output.exists() {
        return Err(BackupError::Exists(output.display().to_string()));
    }
    let mut conn = db.get()?;
    match &mut **conn {
        DbConnection::Sqlite(c) => {
            let path = output.to_string_lossy().replace('\'', "''");
            c.batch_execute(&format!("VACUUM INTO '{path}'"))?;
            Ok(())
        }
        DbConnection::Pg(_) => Err(BackupError::Postgres),
    }
}
