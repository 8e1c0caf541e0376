//! Storage: one diesel code path over PostgreSQL and SQLite. Backend differences stay in
//! this module as small `match` arms.

pub mod audit;
pub mod facilities;
pub mod idempotency;
pub mod materials;
pub mod migrations;
pub mod pool;
pub mod schema;
pub mod tx;

pub use pool::{Backend, Db, DbError, DbUrl};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// A new v7 UUID as the text the tables store.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
