//! Storage: one diesel code path over PostgreSQL and SQLite. Backend differences stay in
//! this module as small `match` arms.

pub mod audit;
pub mod backup;
pub mod cached;
pub mod disruptions;
pub mod drawdowns;
pub mod facilities;
pub mod fees;
pub mod holding;
pub mod holds;
pub mod idempotency;
pub mod ledger;
pub mod loans;
pub mod lots;
pub mod manufacturers;
pub mod materials;
pub mod migrations;
pub mod movements;
pub mod obligations;
pub mod pool;
pub mod schema;
pub mod situation;
pub mod tx;

pub use cached::cached;
pub use pool::{Backend, Db, DbError, DbUrl};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Inserts several rows in one statement. MultiConnection cannot express a batch insert,
/// so this picks the backend's own connection.
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConnection::Sqlite(c) => {
                diesel::insert_into($table).values($rows).execute(c)
            }
        }
    };
}
pub(crate) use insert_batch;

/// `SUM(column)` as a BIGINT, 0 over no rows: diesel types a sum of BIGINT as NUMERIC,
/// which SQLite lacks, so the sum is cast back.
pub(crate) fn sum(column: &str) -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// A new v7 UUID as the text the tables store.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
