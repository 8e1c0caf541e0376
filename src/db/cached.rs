//! Writes prepared once per connection, and sent together.
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
//! `Batch` sends several writes in one round trip on PostgreSQL, as one statement whose
//! `WITH` holds all but the last. They run to completion in the same snapshot, so none may
//! depend on seeing another's rows except through a foreign key (checked at the end of the
//! statement). SQLite has no data-modifying `WITH`: there they run one after the other.

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

impl<Q: Statement> Cached<Q> {
    /// Runs the statement on the connection's backend; returns how many rows it changed.
    pub fn execute(self, conn: &mut DbConnection) -> QueryResult<usize> {
        execute(&self.0, conn)
    }
}

impl<'a, Q: Statement + 'a> Cached<Q> {
    /// For a `Batch`.
    pub fn boxed(self) -> Box<dyn Statement + 'a> {
        Box::new(self.0)
    }
}

/// Writes to send together, in order; see the module.
pub type Batch<'a> = Vec<Box<dyn Statement + 'a>>;

/// Runs the writes of `batch`; returns how many rows the last one changed (each of the
/// others either succeeds or fails the whole batch).
pub fn execute_batch(batch: Batch<'_>, conn: &mut DbConnection) -> QueryResult<usize> {
    match conn {
        DbConnection::Pg(c) => {
            let query = collected(&With(&batch), &Pg, c)?;
            ExecuteDsl::execute(query, c)
        }
        DbConnection::Sqlite(_) => {
            let mut changed = 0;
            for statement in &batch {
                changed = execute(&**statement, conn)?;
            }
            Ok(changed)
        }
    }
}

/// Runs one statement on the connection's backend; returns how many rows it changed.
pub fn execute<Q: Statement + ?Sized>(
    statement: &Q,
    conn: &mut DbConnection,
) -> QueryResult<usize> {
    match conn {
        DbConnection::Pg(c) => {
            let query = collected(statement, &Pg, c)?;
            ExecuteDsl::execute(query, c)
        }
        DbConnection::Sqlite(c) => {
            let query = collected(statement, &Sqlite, &mut ())?;
            ExecuteDsl::execute(query, c)
        }
    }
}

/// `WITH w0 AS (<first>), w1 AS (<second>) … <last>`.
struct With<'a, 'b>(&'a Batch<'b>);

impl QueryFragment<Pg> for With<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some((last, first)) = self.0.split_last() else {
            return Err(diesel::result::Error::QueryBuilderError(
                "an empty batch".into(),
            ));
        };
        if !first.is_empty() {
            out.push_sql("WITH ");
            push_with_items(first, out.reborrow())?;
            out.push_sql(" ");
        }
        QueryFragment::<Pg>::walk_ast(&**last, out.reborrow())
    }
}

/// `w0 AS (<first> RETURNING 1), w1 AS (…)`: the statements as data-modifying `WITH` items,
/// which PostgreSQL runs whether or not the main statement reads them; `wN` has a row for
/// each row statement N changed.
pub fn push_with_items<'b>(
    statements: &'b [Box<dyn Statement + '_>],
    mut out: AstPass<'_, 'b, Pg>,
) -> QueryResult<()> {
    for (i, statement) in statements.iter().enumerate() {
        out.push_sql(&format!("{}w{i} AS (", if i == 0 { "" } else { ", " }));
        QueryFragment::<Pg>::walk_ast(&**statement, out.reborrow())?;
        // A `Statement` is an INSERT, UPDATE or DELETE without a RETURNING clause.
        out.push_sql(" RETURNING 1)");
    }
    Ok(())
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
    Q: QueryFragment<DB> + ?Sized,
{
    let mut sql = DB::QueryBuilder::default();
    statement.to_sql(&mut sql, backend)?;
    let mut binds = DB::BindCollector::default();
    statement.collect_binds(&mut binds, lookup, backend)?;
    Ok(CollectedQuery::new(sql.finish(), true, binds.moveable()))
}
