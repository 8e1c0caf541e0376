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
//!
//! `then` sends two writes in one round trip on PostgreSQL, as one data-modifying `WITH`
//! statement. Both run to completion in the same snapshot, so neither may depend on seeing
//! the other's rows except through a foreign key (checked at the end of the statement).
//! SQLite has no data-modifying `WITH`: there they run one after the other.

use super::DbConnection;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{
    AstPass, CollectedQuery, MoveableBindCollector, QueryBuilder, QueryFragment,
};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// A write that binds all of its values; see the module.
pub struct Cached<Q>(Q);

/// A statement either backend can run.
pub trait Statement: QueryFragment<Pg> + QueryFragment<Sqlite> {}
impl<Q: QueryFragment<Pg> + QueryFragment<Sqlite>> Statement for Q {}

pub fn cached<Q>(statement: Q) -> Cached<Q> {
    Cached(statement)
}

/// Two writes sent together; see the module.
pub struct Then<A, B>(A, B);

impl<Q: Statement> Cached<Q> {
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

    /// This statement, then `next`, in one round trip on PostgreSQL.
    pub fn then<N>(self, next: Cached<N>) -> Then<Q, N> {
        Then(self.0, next.0)
    }
}

impl<A: Statement, B: Statement> Then<A, B> {
    /// Runs both; returns how many rows the second changed (the first either succeeds or
    /// fails the whole statement).
    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        match conn {
            DbConnection::Pg(c) => {
                let query = collected(&With(&self.0, &self.1), &Pg, c)?;
                ExecuteDsl::execute(query, c)
            }
            DbConnection::Sqlite(_) => {
                Cached(self.0).execute(conn)?;
                Cached(self.1).execute(conn)
            }
        }
    }
}

/// `WITH first AS (<a>) <b>`: PostgreSQL runs a data-modifying `WITH` whether or not the
/// main statement reads it.
struct With<'a, A, B>(&'a A, &'a B);

impl<A, B> QueryFragment<Pg> for With<'_, A, B>
where
    A: QueryFragment<Pg>,
    B: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH first AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        self.1.walk_ast(out.reborrow())
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
