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

/// Claims a key for the transaction in progress (status 0, no body yet); returns false when
/// another request stored it. On PostgreSQL a request that holds the key in a transaction
/// still open makes this wait for that transaction to end: its answer is then stored (false),
/// or it was rolled back and this claims the key. That is what serializes same-key requests.
pub fn claim(conn: &mut DbConnection, row: &IdempotencyRow) -> QueryResult<bool> {
    super::cached(
        diesel::insert_into(idempotency_keys::table)
            .values(row)
            .on_conflict_do_nothing(),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Stores the answer of the request that claimed the key: changes one row if the claim
/// is there.
pub fn complete(caller: String, key: String, status: i32, body: String) -> Cached<impl Statement> {
    super::cached(
        diesel::update(idempotency_keys::table.find((caller, key))).set((
            idempotency_keys::status_code.eq(status),
            idempotency_keys::response_body.eq(body),
        )),
    )
}

/// Forgets keys stored before `cutoff`; returns how many.
pub fn purge_before(conn: &mut DbConnection, cutoff: chrono::NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
