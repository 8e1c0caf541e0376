//! Storage: one diesel code path over PostgreSQL and SQLite. Backend differences stay in
//! this module as small `match` arms.

pub mod audit;
pub mod backup;
pub mod cached;
pub mod disruptions;
pub mod drawdowns;
pub mod events;
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
pub mod prices;
pub mod replication;
pub mod schema;
pub mod situation;
pub mod transfers;
pub mod tx;
pub mod webhooks;

pub use cached::cached;
pub use pool::{Backend, Db, DbError, DbUrl};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection, for what MultiConnection
/// cannot express (an insert of several rows) or does slowly: through `DbConnection` diesel
/// renders a query's SQL again to find its prepared statement, where on the backend's own
/// connection a query of a fixed shape (no `into_boxed`, no `sql(...)`) is found by its type.
/// The body is compiled once per backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// `SUM(column)` as a BIGINT, 0 over no rows: diesel types a sum of BIGINT as NUMERIC,
/// which SQLite lacks, so the sum is cast back.
pub(crate) fn sum(column: &str) -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// The values `v` a stored running total may have for `v + delta` to land in
/// `[min_after, i64::MAX]`, or `None` when none can. Guarded writes filter on
/// `total BETWEEN lo AND hi` instead of computing `total + delta` in a condition: near the
/// limit PostgreSQL raises on the sum and SQLite turns it into a float, so a total that
/// would pass the BIGINT range is refused by the write itself, like any other guard.
pub fn room_for(delta: i64, min_after: i64) -> Option<(i64, i64)> {
    let lo = (i128::from(min_after) - i128::from(delta)).max(i128::from(i64::MIN));
    let hi = (i128::from(i64::MAX) - i128::from(delta)).min(i128::from(i64::MAX));
    // Both bounds are clamped into the i64 range whenever lo <= hi, so the casts are exact.
    (lo <= hi).then_some((lo as i64, hi as i64))
}

/// A new v7 UUID as the text the tables store.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::room_for;

    #[test]
    fn room_for_keeps_totals_in_range() {
        assert_eq!(room_for(1, i64::MIN), Some((i64::MIN, i64::MAX - 1)));
        assert_eq!(room_for(-1, i64::MIN), Some((i64::MIN + 1, i64::MAX)));
        assert_eq!(room_for(-5, 0), Some((5, i64::MAX)));
        assert_eq!(room_for(5, 0), Some((-5, i64::MAX - 5)));
        assert_eq!(room_for(i64::MAX, 0), Some((-i64::MAX, 0)));
        assert_eq!(room_for(i64::MIN, 0), None);
        assert_eq!(room_for(0, i64::MIN), Some((i64::MIN, i64::MAX)));
    }
}
