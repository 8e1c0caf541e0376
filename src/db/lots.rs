//! Queries of the `lots` table.

use super::schema::lots;
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::lot::Grade;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lots)]
pub struct LotRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub facility_code: Code,
    pub quantity_received: i64,
    pub quantity_on_hand: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub grade: Grade,
    pub origin_country: String,
    pub supplier: String,
    pub unit_cost_micros: i64,
    pub received_at: chrono::NaiveDateTime,
    pub created_at: chrono::NaiveDateTime,
    pub source_lot_id: Option<String>,
    pub tranche_id: Option<String>,
    pub entry_seq: i64,
}

/// Stock on hand per material and origin, from the lots that hold any (index
/// `lots_by_origin`), by material then origin.
pub fn on_hand_by_origin(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, i64)>> {
    lots::table
        .filter(lots::quantity_on_hand.gt(0))
        .group_by((lots::material_code, lots::origin_country))
        .select((
            lots::material_code,
            lots::origin_country,
            super::sum("quantity_on_hand"),
        ))
        .order((lots::material_code.asc(), lots::origin_country.asc()))
        .load(conn)
}

pub fn insert(conn: &mut DbConnection, rows: &[LotRow]) -> QueryResult<()> {
    super::on_backend!(conn, |c| diesel::insert_into(lots::table)
        .values(rows.to_vec())
        .execute(c))
    .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<LotRow>> {
    lots::table
        .find(id)
        .select(LotRow::as_select())
        .first(conn)
        .optional()
}

/// Lots of `material` with stock, oldest first (received_at, then creation order), at one
/// facility or anywhere; at most `limit`.
pub fn with_stock_oldest_first(
    conn: &mut DbConnection,
    material: &str,
    facility: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<LotRow>> {
    let mut q = lots::table
        .filter(lots::material_code.eq(material.to_owned()))
        .filter(lots::quantity_on_hand.gt(0))
        .select(LotRow::as_select())
        .order((
            lots::received_at.asc(),
            lots::created_at.asc(),
            lots::id.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(f) = facility {
        q = q.filter(lots::facility_code.eq(f.to_owned()));
    }
    q.load(conn)
}

/// The most recently received lot of `material` at `facility`, stock or not.
pub fn newest(
    conn: &mut DbConnection,
    material: &str,
    facility: &str,
) -> QueryResult<Option<LotRow>> {
    lots::table
        .filter(lots::material_code.eq(material))
        .filter(lots::facility_code.eq(facility))
        .select(LotRow::as_select())
        .order((
            lots::received_at.desc(),
            lots::created_at.desc(),
            lots::id.desc(),
        ))
        .first(conn)
        .optional()
}

/// Changes a lot's stock by `delta`, never below zero nor beyond what a BIGINT holds.
/// Returns whether it changed.
pub fn change_stock(conn: &mut DbConnection, id: &str, delta: i64) -> QueryResult<bool> {
    let Some((lo, hi)) = super::room_for(delta, 0) else {
        return Ok(false);
    };
    super::cached(
        diesel::update(
            lots::table
                .find(id)
                .filter(lots::quantity_on_hand.between(lo, hi)),
        )
        .set(lots::quantity_on_hand.eq(lots::quantity_on_hand + delta)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Lots holding stock after id `after`, in id order: (id, material, quantity on hand).
pub fn stock_page(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<(String, String, i64)>> {
    lots::table
        .filter(lots::id.gt(after))
        .filter(lots::quantity_on_hand.gt(0))
        .select((lots::id, lots::material_code, lots::quantity_on_hand))
        .order(lots::id.asc())
        .limit(limit)
        .load(conn)
}

#[derive(Debug, Default)]
pub struct LotFilter {
    pub material: Option<String>,
    pub facility: Option<String>,
    pub after: Option<String>,
}

/// One page in id (creation) order.
pub fn page(conn: &mut DbConnection, f: &LotFilter, limit: i64) -> QueryResult<Vec<LotRow>> {
    let mut q = lots::table
        .select(LotRow::as_select())
        .order(lots::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = &f.material {
        q = q.filter(lots::material_code.eq(m.clone()));
    }
    if let Some(fac) = &f.facility {
        q = q.filter(lots::facility_code.eq(fac.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(lots::id.gt(after.clone()));
    }
    q.load(conn)
}
