//! Where a PostgreSQL server stands in its WAL: the primary's write position, and how far a
//! streaming replica has replayed it. PostgreSQL only (a replica is refused with SQLite).

use super::DbConnection;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::{QueryResult, RunQueryDsl};

fn postgres_only() -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError("WAL positions exist on PostgreSQL only".into())
}

/// The primary's current WAL write position, as PostgreSQL writes an LSN (`16/B374D848`):
/// every transaction committed before the call ends at or before it.
pub fn current_wal_lsn(conn: &mut DbConnection) -> QueryResult<String> {
    let DbConnection::Pg(c) = conn else {
        return Err(postgres_only());
    };
    diesel::select(diesel::dsl::sql::<Text>("pg_current_wal_lsn()::text")).get_result(c)
}

/// A server's standing against a primary's WAL position.
#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
pub struct Replay {
    /// The server is a standby (in recovery); a promoted one, or a primary, is not.
    #[diesel(sql_type = Bool)]
    pub standby: bool,
    /// It has replayed the position: its reads see everything committed before it.
    #[diesel(sql_type = Bool)]
    pub caught_up: bool,
    /// Bytes of WAL it has still to replay to reach the position (0 once there).
    #[diesel(sql_type = BigInt)]
    pub behind_bytes: i64,
}

/// How far the server behind `conn` has replayed the primary's position `lsn`.
pub fn replay(conn: &mut DbConnection, lsn: &str) -> QueryResult<Replay> {
    let DbConnection::Pg(c) = conn else {
        return Err(postgres_only());
    };
    diesel::sql_query(
        "SELECT pg_is_in_recovery() AS standby, \
                COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS caught_up, \
                GREATEST(COALESCE(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0), 0)::bigint \
                  AS behind_bytes",
    )
    .bind::<Text, _>(lsn)
    .get_result(c)
}

/// Whether the server behind `conn` is a standby.
pub fn is_standby(conn: &mut DbConnection) -> QueryResult<bool> {
    let DbConnection::Pg(c) = conn else {
        return Err(postgres_only());
    };
    diesel::select(diesel::dsl::sql::<Bool>("pg_is_in_recovery()")).get_result(c)
}
