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

/// The answer stored under a key, once any request that holds the key in a transaction still
/// open has ended: a probe inserts the key (PostgreSQL makes it wait for such a request, and
/// SQLite for the write lock), then reads the stored answer if the key was taken. The probe
/// is rolled back (`tx::probe`).
pub fn settled(
    conn: &mut DbConnection,
    caller: &str,
    key: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<Option<IdempotencyRow>> {
    let probe = IdempotencyRow {
        caller: caller.to_owned(),
        idem_key: key.to_owned(),
        fingerprint: String::new(),
        status_code: 0,
        response_body: String::new(),
        created_at: now,
    };
    super::tx::probe(conn, |conn| {
        let inserted = super::cached(
            diesel::insert_into(idempotency_keys::table)
                .values(&probe)
                .on_conflict_do_nothing(),
        )
        .execute(conn)?;
        if inserted == 1 {
            Ok(None)
        } else {
            find(conn, caller, key)
        }
    })
}

/// Forgets keys stored before `cutoff`; returns how many.
pub fn purge_before(conn: &mut DbConnection, cutoff: chrono::NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
