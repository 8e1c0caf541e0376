//! Queries of the `holds` table.

use super::cached::{Cached, Statement};
use super::schema::holds;
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::status::HoldStatus;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holds)]
pub struct HoldRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub quantity: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: HoldStatus,
    pub reference: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub closed_at: Option<chrono::NaiveDateTime>,
    pub posted_quantity: Option<i64>,
}

/// The insert of `row`, to run alone or in a `Batch`.
pub fn record(row: HoldRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(holds::table).values(row))
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<HoldRow>> {
    holds::table
        .find(id)
        .select(HoldRow::as_select())
        .first(conn)
        .optional()
}

/// Closes a pending hold as `status`; returns whether it was still pending.
pub fn close(
    conn: &mut DbConnection,
    id: &str,
    status: HoldStatus,
    posted: Option<i64>,
    at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    super::cached(
        diesel::update(
            holds::table
                .find(id)
                .filter(holds::status.eq(HoldStatus::Pending.as_str())),
        )
        .set((
            holds::status.eq(status.as_str()),
            holds::posted_quantity.eq(posted),
            holds::closed_at.eq(Some(at)),
        )),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// The pending holds: (material, quantity). Few: one per open drawdown.
pub fn pending(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    holds::table
        .filter(holds::status.eq(HoldStatus::Pending.as_str()))
        .select((holds::material_code, holds::quantity))
        .load(conn)
}

/// Sum of pending holds of a material (for checks and tests; figures use the cache).
pub fn pending_total(conn: &mut DbConnection, material: &str) -> QueryResult<i64> {
    let rows: Vec<i64> = holds::table
        .filter(holds::material_code.eq(material))
        .filter(holds::status.eq(HoldStatus::Pending.as_str()))
        .select(holds::quantity)
        .load(conn)?;
    Ok(rows.iter().sum())
}

/// Lowers a pending hold to `quantity`; returns whether it was pending and larger.
pub fn lower(conn: &mut DbConnection, id: &str, quantity: i64) -> QueryResult<bool> {
    diesel::update(
        holds::table
            .find(id)
            .filter(holds::status.eq(HoldStatus::Pending.as_str()))
            .filter(holds::quantity.gt(quantity)),
    )
    .set(holds::quantity.eq(quantity))
    .execute(conn)
    .map(|n| n == 1)
}
