//! A drawdown submission's guarded writes (release rules 1 and 4–7): the held figures of
//! the allocation, the disruption and the material rise only within their limits, checked
//! by the writes themselves.
//!
//! They run in this order, the lock order of every drawdown path, and stop at the first
//! that refuses: the earlier ones are then applied (the transaction is about to be rolled
//! back) and the refusing one's figures are untouched by this request. On PostgreSQL the
//! three are one statement, each a data-modifying `WITH` that runs only if the previous one
//! changed its row (`EXISTS`), saving two round trips on the busiest path; SQLite has no
//! data-modifying `WITH` and runs the same conditions as three statements
//! (`manufacturers::hold`, `disruptions::hold`, `materials::hold`). The rule boundary tests
//! run on both backends.

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

/// Applies the three guarded writes in order; `Err` names the first that refused.
pub fn hold(conn: &mut DbConnection, h: &Holding) -> QueryResult<Result<(), Refused>> {
    let changed = match conn {
        DbConnection::Pg(c) => HoldAll(h).get_result::<(i64, i64, i64)>(c)?,
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
            (allocation.into(), disruption.into(), stock.into())
        }
    };
    Ok(match changed {
        (0, _, _) => Err(Refused::Allocation),
        (_, 0, _) => Err(Refused::Disruption),
        (_, _, 0) => Err(Refused::Stock),
        _ => Ok(()),
    })
}

/// The PostgreSQL statement: rows changed by each write.
struct HoldAll<'a>(&'a Holding<'a>);

impl QueryId for HoldAll<'_> {
    type QueryId = ();
    // Prepared once per connection all the same: its SQL text never varies.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for HoldAll<'_> {
    type SqlType = (BigInt, BigInt, BigInt);
}

impl RunQueryDsl<PgConnection> for HoldAll<'_> {}

impl QueryFragment<Pg> for HoldAll<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let h = self.0;
        let q = &h.quantity;
        out.push_sql("WITH allocation AS (UPDATE allocations SET held = held + ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" WHERE manufacturer_id = ");
        out.push_bind_param::<Text, _>(&h.manufacturer)?;
        out.push_sql(" AND material_code = ");
        out.push_bind_param::<Text, _>(&h.material)?;
        out.push_sql(" AND quantity = ");
        out.push_bind_param::<BigInt, _>(&h.allocation)?;
        out.push_sql(" AND held + outstanding + ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" <= ");
        out.push_bind_param::<BigInt, _>(&h.allocation_limit)?;
        out.push_sql(
            " RETURNING 1), disruption AS (UPDATE disruption_materials SET held = held + ",
        );
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" WHERE disruption_id = ");
        out.push_bind_param::<Text, _>(&h.disruption)?;
        out.push_sql(" AND material_code = ");
        out.push_bind_param::<Text, _>(&h.material)?;
        out.push_sql(" AND open AND (");
        out.push_bind_param::<Nullable<BigInt>, _>(&h.cap)?;
        out.push_sql("::BIGINT IS NULL OR held + released + ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" <= ");
        out.push_bind_param::<Nullable<BigInt>, _>(&h.cap)?;
        out.push_sql(") AND EXISTS (SELECT 1 FROM allocation) RETURNING 1), ");
        out.push_sql("stock AS (UPDATE materials SET held = held + ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(", version = version + 1 WHERE code = ");
        out.push_bind_param::<Text, _>(&h.material)?;
        out.push_sql(" AND on_hand - held - ");
        out.push_bind_param::<BigInt, _>(q)?;
        out.push_sql(" >= ");
        out.push_bind_param::<BigInt, _>(&h.min_available_after)?;
        out.push_sql(
            " AND EXISTS (SELECT 1 FROM disruption) RETURNING 1) \
             SELECT (SELECT count(*) FROM allocation), (SELECT count(*) FROM disruption), \
             (SELECT count(*) FROM stock)",
        );
        Ok(())
    }
}
