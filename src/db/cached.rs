//! Writes prepared once per connection.
//!
//! Diesel keeps a prepared statement per connection only for queries it can prove always
//! have the same SQL: never an `UPDATE` (an optional changeset field may drop a column from
//! `SET`), nor an `INSERT` of one row (a `None` may become `DEFAULT`). Those are parsed and
//! planned again on every execution, by PostgreSQL and by SQLite alike. `cached` vouches for
//! a statement that binds every value: it is rendered and its values bound as usual, then
//! run as a query diesel may cache. The cache is keyed by the SQL text (and bind types), so a
//! statement whose text varies, such as an insert of a row with `None` fields, takes one
//! entry per text, never a wrong one; a statement with values written into its text
//! (`sql(...)` with formatted values) must not go through here.

use super::DbConnection;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{CollectedQuery, MoveableBindCollector, QueryBuilder, QueryFragment};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// A write that binds all of its values; see the module.
pub struct Cached<Q>(Q);

pub fn cached<Q>(statement: Q) -> Cached<Q> {
    Cached(statement)
}

impl<Q> Cached<Q>
where
    Q: QueryFragment<Pg> + QueryFragment<Sqlite>,
{
    /// Runs the statement on the connection's backend; returns how many rows it changed.
    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Pg(c) => {
                let query = collected(&self.0, &Pg, c)?;
                ExecuteDsl::execute(query, c)
            }
            DbConnection::Sqlite(c) => {
                let query = collected(&self.0, &Sqlite, &mut ())?;
                ExecuteDsl::execute(query, c)
            }
        }
    }
}

/// The statement's SQL and bound values, marked safe to cache.
fn collected<'a, DB, Q>(
    statement: &'a Q,
    backend: &'a DB,
    lookup: &mut DB::MetadataLookup,
) -> QueryResult<CollectedQuery<<DB::BindCollector<'a> as MoveableBindCollector<DB>>::BindData>>
where
    DB: Backend,
    DB::QueryBuilder: Default,
    DB::BindCollector<'a>: MoveableBindCollector<DB> + Default,
    Q: QueryFragment<DB>,
{
    let mut sql = DB::QueryBuilder::default();
    statement.to_sql(&mut sql, backend)?;
    let mut binds = DB::BindCollector::default();
    statement.collect_binds(&mut binds, lookup, backend)?;
    Ok(CollectedQuery::new(sql.finish(), true, binds.moveable()))
}
