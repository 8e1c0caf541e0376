//! A drawdown submission's guarded writes (release rules 1 and 4–7): the held figures of
//! the allocation, the disruption and the material rise only within their limits, checked
//! by the writes themselves; then, if all three passed, the writes that record it.
//!
//! # Lock order
//!
//! Every transaction that changes a drawdown, its figures or its disruption takes its row
//! locks (PostgreSQL; SQLite serializes writers) in this one order, so that none waits in a
//! cycle; several rows of one table go in key order:
//!
//! 1. the `disruptions` row (end, confirm);
//! 2. `allocations`, by (manufacturer, material): submit's first guarded write; approve,
//!    reject and cancel lock the drawdown's allocation before the drawdown; end locks every
//!    allocation of the disruption's materials (`manufacturers::lock_of_materials`), which
//!    fences out the transitions and submissions of their drawdowns while it runs;
//! 3. `drawdowns`, by id (`drawdowns::lock`, `drawdowns::lock_open_under`; a submission's
//!    own row is new, seen by no one until it commits);
//! 4. `disruption_materials`, by (disruption, material): submit's second guarded write;
//!    approve re-checks `open` by taking this lock (`disruptions::lock_open`) before it
//!    releases, and end closes the rows (`disruptions::close_material`), so an approval
//!    either commits before the end or finds the disruption ended;
//! 5. `materials`, by code: submit's third guarded write; a drawdown's hold (its row, written
//!    only under the drawdown's lock) is closed just before, then lots;
//! 6. everything else, and `ledger_head` last (`ledger::append`).
//!
//! (Replenishments lock their obligation, then the allocation, then the material.)
//!
//! The guarded writes are the statements of `manufacturers::hold`, `disruptions::hold` and
//! `materials::hold`, built from the limits the decision set (`Holding`). On SQLite they run
//! in this order and stop at the first that refuses; then, if all three passed, the writes
//! that record the submission. On PostgreSQL the same statements and the recording writes
//! are sent as one statement, saving round trips on the busiest path: each is a
//! data-modifying `WITH` item (`cached::push_with_items`), a guard runs only if the one
//! before it changed its row (`After`: a refused request changes and locks nothing past the
//! guard that refused), and the main `SELECT` counts the rows each guard changed (reading
//! them in order, so their locks are taken in the order above). Either way, after a refusal the transaction is rolled back, and
//! `Guarded` says which guards had applied their change, so that the refusal can be decided
//! again from the figures without them.

use super::cached::{self, Batch, Statement};
use super::DbConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;

/// What a submission holds and the limits the decision set.
pub struct Holding<'a> {
    pub manufacturer: &'a str,
    pub material: &'a str,
    pub quantity: i64,
    /// Rule 4: the entitlement the decision was made on, and the cap on held + outstanding.
    pub allocation: i64,
    pub allocation_limit: i64,
    /// Rule 1: the governing disruption, still open; rule 5: its cap on held + released
    /// (limited disruptions).
    pub disruption: &'a str,
    pub cap: Option<i64>,
    /// Rules 6 and 7: what must stay available (0, or the strategic floor).
    pub min_available_after: i64,
}

/// Which guarded writes changed their row (and so hold this request's quantity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guarded {
    pub allocation: bool,
    pub disruption: bool,
    pub stock: bool,
}

/// Applies the three guarded writes, then the writes of `then` (a batch that is not empty);
/// `Ok` holds the rows the last of those changed, `Err` which guards passed when one did not.
pub fn hold(
    conn: &mut DbConnection,
    h: &Holding,
    then: Batch<'_>,
) -> QueryResult<Result<usize, Guarded>> {
    if then.is_empty() {
        return Err(diesel::result::Error::QueryBuilderError(
            "hold: nothing to write after the guards".into(),
        ));
    }
    let q = h.quantity;
    let guards: Batch<'_> = vec![
        super::manufacturers::hold(
            h.manufacturer,
            h.material,
            q,
            h.allocation,
            h.allocation_limit,
        ),
        super::disruptions::hold(h.disruption, h.material, q, h.cap),
        super::materials::hold(h.material, q, h.min_available_after),
    ];
    let (guarded, last) = match conn {
        DbConnection::Pg(c) => {
            let batch: Batch<'_> = guards
                .into_iter()
                .enumerate()
                .map(|(i, g)| match i {
                    0 => g,
                    _ => Box::new(After(g, i - 1)) as Box<dyn Statement>,
                })
                .chain(then)
                .collect();
            let (a, d, s, last) = HoldThen(&batch).get_result::<(i64, i64, i64, i64)>(c)?;
            let guarded = Guarded {
                allocation: a > 0,
                disruption: d > 0,
                stock: s > 0,
            };
            (guarded, usize::try_from(last).unwrap_or(0))
        }
        DbConnection::Sqlite(_) => {
            let mut passed = [false; 3];
            for (i, guard) in guards.iter().enumerate() {
                passed[i] = cached::execute(&**guard, conn)? == 1;
                if !passed[i] {
                    break;
                }
            }
            let [allocation, disruption, stock] = passed;
            let guarded = Guarded {
                allocation,
                disruption,
                stock,
            };
            let last = if stock {
                cached::execute_batch(then, conn)?
            } else {
                0
            };
            (guarded, last)
        }
    };
    Ok(
        if guarded.allocation && guarded.disruption && guarded.stock {
            Ok(last)
        } else {
            Err(guarded)
        },
    )
}

/// `<guard> AND EXISTS (SELECT 1 FROM w<n>)`: the guard (an `UPDATE` that ends with its
/// `WHERE`) changes its row only if `WITH` item `n`, the guard before it, changed its own.
struct After<'a>(Box<dyn Statement + 'a>, usize);

impl QueryFragment<Pg> for After<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        QueryFragment::<Pg>::walk_ast(&*self.0, out.reborrow())?;
        out.push_sql(&format!(" AND EXISTS (SELECT 1 FROM w{})", self.1));
        Ok(())
    }
}

/// Never sent to SQLite (its guards run one by one); here only so that `After` is a
/// `Statement` of the batch.
impl QueryFragment<diesel::sqlite::Sqlite> for After<'_> {
    fn walk_ast<'b>(&'b self, _: AstPass<'_, 'b, diesel::sqlite::Sqlite>) -> QueryResult<()> {
        Err(diesel::result::Error::QueryBuilderError(
            "a chained guard is PostgreSQL's".into(),
        ))
    }
}

/// The PostgreSQL statement over the guards and the recording writes, in that order: the
/// rows changed by each of the three guards and by the last write.
struct HoldThen<'a, 'b>(&'a Batch<'b>);

impl QueryId for HoldThen<'_, '_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for HoldThen<'_, '_> {
    type SqlType = (BigInt, BigInt, BigInt, BigInt);
}

impl RunQueryDsl<PgConnection> for HoldThen<'_, '_> {}

impl QueryFragment<Pg> for HoldThen<'_, '_> {
    // The statements bind all their values (`cached`), so the text depends only on the
    // batch's shape: prepared once per connection, keyed by the text.
    fn is_safe_to_cache_prepared(&self, _: &Pg) -> QueryResult<bool> {
        Ok(true)
    }

    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH ");
        cached::push_with_items(self.0, out.reborrow())?;
        out.push_sql(&format!(
            " SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM w1), \
             (SELECT count(*) FROM w2), (SELECT count(*) FROM w{})",
            self.0.len() - 1
        ));
        Ok(())
    }
}
