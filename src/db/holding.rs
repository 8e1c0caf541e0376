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
//! The guarded writes run in this order and stop at the first that refuses: the earlier ones are then applied (the transaction is about to be rolled
//! back) and the refusing one's figures are untouched by this request. On PostgreSQL the
//! whole is one statement, saving round trips on the busiest path: each guard is a
//! data-modifying `WITH` that runs only if the previous one changed its row (`EXISTS`), and
//! the recording writes follow as `WITH` items of their own (`cached::push_with_items`).
//! Those run whatever the guards did, as PostgreSQL runs every data-modifying `WITH`; after a
//! refusal the transaction is rolled back, so they are undone with the guards. SQLite has no
//! data-modifying `WITH` and runs the same conditions as three statements
//! (`manufacturers::hold`, `disruptions::hold`, `materials::hold`), then the recording writes
//! only if all three passed. The rule boundary tests run on both backends.

use super::cached::{self, Batch};
use super::DbConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text};

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

/// The guarded write that refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Allocation,
    Disruption,
    Stock,
}

/// Applies the three guarded writes in order, then the writes of `then` (a batch that is
/// not empty); `Ok` holds the rows the last of those changed, `Err` names the first guarded
/// write that refused.
pub fn hold(
    conn: &mut DbConnection,
    h: &Holding,
    then: Batch<'_>,
) -> QueryResult<Result<usize, Refused>> {
    if then.is_empty() {
        return Err(diesel::result::Error::QueryBuilderError(
            "hold: nothing to write after the guards".into(),
        ));
    }
    // Whether each guarded write changed its row, and the rows the last of `then` changed.
    let (allocation, disruption, stock, last) = match conn {
        DbConnection::Pg(c) => {
            let statement = HoldThen {
                h,
                then: &then,
                allocation_room: h.allocation_limit - h.quantity,
                disruption_room: h.cap.unwrap_or(i64::MAX) - h.quantity,
            };
            let (a, d, s, last) = statement.get_result::<(i64, i64, i64, i64)>(c)?;
            (a > 0, d > 0, s > 0, usize::try_from(last).unwrap_or(0))
        }
        DbConnection::Sqlite(_) => {
            let allocation = super::manufacturers::hold(
                conn,
                h.manufacturer,
                h.material,
                h.quantity,
                h.allocation,
                h.allocation_limit,
            )?;
            let disruption = allocation
                && super::disruptions::hold(conn, h.disruption, h.material, h.quantity, h.cap)?;
            let stock = disruption
                && super::materials::hold(conn, h.material, h.quantity, h.min_available_after)?;
            let last = if stock {
                cached::execute_batch(then, conn)?
            } else {
                0
            };
            (allocation, disruption, stock, last)
        }
    };
    Ok(if !allocation {
        Err(Refused::Allocation)
    } else if !disruption {
        Err(Refused::Disruption)
    } else if !stock {
        Err(Refused::Stock)
    } else {
        Ok(last)
    })
}

/// The PostgreSQL statement: rows changed by each guarded write and by the last of `then`.
/// Sums are compared against the room left for `q` (`limit - q`, `cap - q`), never computed
/// with `q` in SQL: held + outstanding and held + released never pass their limits, so no
/// side of a comparison leaves a BIGINT (without a cap, the room is that of `held` alone).
struct HoldThen<'a> {
    h: &'a Holding<'a>,
    then: &'a Batch<'a>,
    allocation_room: i64,
    disruption_room: i64,
}

impl QueryId for HoldThen<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for HoldThen<'_> {
    type SqlType = (BigInt, BigInt, BigInt, BigInt);
}

impl RunQueryDsl<PgConnection> for HoldThen<'_> {}

impl QueryFragment<Pg> for HoldThen<'_> {
    // Its own SQL text never varies, and the batch's statements bind all their values
    // (`cached`): prepared once per connection, keyed by the text.
    fn is_safe_to_cache_prepared(&self, _: &Pg) -> QueryResult<bool> {
        Ok(true)
    }

    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (h, then) = (self.h, self.then);
        let q = &h.quantity;
        out.push_sql("WITH allocation AS (UPDATE allocations SET held = held + ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" WHERE manufacturer_id = ");
        out.push_bind_param::<Text, _>(&h.manufacturer)?;
        out.push_sql(" AND material_code = ");
        out.push_bind_param::<Text, _>(&h.material)?;
        out.push_sql(" AND quantity = ");
        out.push_bind_param::<BigInt, _>(&h.allocation)?;
        out.push_sql(" AND held + outstanding <= ");
        out.push_bind_param::<BigInt, _>(&self.allocation_room)?;
        out.push_sql(
            " RETURNING 1), disruption AS (UPDATE disruption_materials SET held = held + ",
        );
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" WHERE disruption_id = ");
        out.push_bind_param::<Text, _>(&h.disruption)?;
        out.push_sql(" AND material_code = ");
        out.push_bind_param::<Text, _>(&h.material)?;
        out.push_sql(" AND open AND held + CASE WHEN ");
        out.push_bind_param::<Nullable<BigInt>, _>(&h.cap)?;
        out.push_sql("::BIGINT IS NULL THEN 0 ELSE released END <= ");
        out.push_bind_param::<BigInt, _>(&self.disruption_room)?;
        out.push_sql(" AND EXISTS (SELECT 1 FROM allocation) RETURNING 1), ");
        out.push_sql("stock AS (UPDATE materials SET held = held + ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(", version = version + 1 WHERE code = ");
        out.push_bind_param::<Text, _>(&h.material)?;
        out.push_sql(" AND on_hand - held - ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" >= ");
        out.push_bind_param::<BigInt, _>(&h.min_available_after)?;
        out.push_sql(" AND EXISTS (SELECT 1 FROM disruption) RETURNING 1), ");
        cached::push_with_items(then, out.reborrow())?;
        out.push_sql(&format!(
            " SELECT (SELECT count(*) FROM allocation), (SELECT count(*) FROM disruption), \
             (SELECT count(*) FROM stock), (SELECT count(*) FROM w{})",
            then.len().saturating_sub(1)
        ));
        Ok(())
    }
}
