//! Queries of the `idempotency_keys` table.

use super::cached::{Cached, Statement};
use super::schema::idempotency_keys;
use super::DbConnection;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    /// Role, organisation and subject of the caller (see `Actor::scope`).
    pub caller: String,
    pub idem_key: String,
    pub fingerprint: String,
    pub status_code: i32,
    pub response_body: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn find(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
) -> QueryResult<Option<IdempotencyRow>> {
    idempotency_keys::table
        .find((caller, key))
        .select(IdempotencyRow::as_select())
        .first(conn)
        .optional()
}

/// Stores the answer of a write under its key, as the write's last statement. A key already
/// stored, or held by a request whose transaction is still open (PostgreSQL waits for it to
/// end), fails the write with a unique violation: that request came first, and its answer is
/// the one to replay (`services::write`).
pub fn store(row: IdempotencyRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(idempotency_keys::table).values(row))
}

/// Forgets keys stored before `cutoff`; returns how many.
pub fn purge_before(conn: &mut DbConnection, cutoff: chrono::NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
