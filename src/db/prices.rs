//! Queries of `material_prices`: market price marks per material and date.

use super::schema::material_prices;
use super::DbConnection;
use crate::domain::code::Code;
use chrono::NaiveDate;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = material_prices)]
pub struct PriceRow {
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub as_of: NaiveDate,
    /// USD per unit of the material, in micro-dollars.
    pub price_micros: i64,
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: chrono::NaiveDateTime,
}

/// A second mark for the same material and date fails as a unique violation.
pub fn insert(conn: &mut DbConnection, row: &PriceRow) -> QueryResult<()> {
    diesel::insert_into(material_prices::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

/// The material's market price at `date`: its latest mark on or before it (primary key).
pub fn latest(
    conn: &mut DbConnection,
    material: &str,
    date: NaiveDate,
) -> QueryResult<Option<PriceRow>> {
    material_prices::table
        .filter(material_prices::material_code.eq(material))
        .filter(material_prices::as_of.le(date))
        .order(material_prices::as_of.desc())
        .select(PriceRow::as_select())
        .first(conn)
        .optional()
}

/// Marks of `material` with `as_of` in `[from, to]` (either open) and before `before` (the
/// cursor), newest first; at most `limit`.
pub fn page(
    conn: &mut DbConnection,
    material: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    before: Option<NaiveDate>,
    limit: i64,
) -> QueryResult<Vec<PriceRow>> {
    let mut q = material_prices::table
        .filter(material_prices::material_code.eq(material.to_owned()))
        .order(material_prices::as_of.desc())
        .select(PriceRow::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(material_prices::as_of.ge(from));
    }
    if let Some(to) = to {
        q = q.filter(material_prices::as_of.le(to));
    }
    if let Some(before) = before {
        q = q.filter(material_prices::as_of.lt(before));
    }
    q.load(conn)
}
