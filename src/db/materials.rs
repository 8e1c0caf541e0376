//! Queries of the `materials` table.

use super::cached::Statement;
use super::schema::materials;
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::lot::Grade;
use crate::domain::material::{Scale, Unit};
use crate::domain::values::Undecodable;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = materials)]
pub struct MaterialRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub code: Code,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub unit: Unit,
    #[diesel(deserialize_as = i32, serialize_as = i32)]
    pub scale: Scale,
    pub strategic_floor: i64,
    pub on_hand: i64,
    pub held: i64,
    pub created_at: chrono::NaiveDateTime,
    pub version: i64,
    /// Replenishments below this grade (percent, as `domain::lot::grade` writes it) are refused.
    pub min_grade: Option<String>,
}

impl MaterialRow {
    /// `min_grade` decoded: a stored value that is not a grade fails the read.
    pub fn minimum_grade(&self) -> Result<Option<Grade>, Undecodable> {
        self.min_grade.clone().map(Grade::try_from).transpose()
    }
}

pub fn insert(conn: &mut DbConnection, row: &MaterialRow) -> QueryResult<()> {
    // Typed columns serialize from an owned row.
    diesel::insert_into(materials::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<MaterialRow>> {
    materials::table
        .filter(materials::code.eq(code))
        .select(MaterialRow::as_select())
        .first(conn)
        .optional()
}

/// Every material in code order (reference data: a few dozen rows).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<MaterialRow>> {
    materials::table
        .select(MaterialRow::as_select())
        .order(materials::code.asc())
        .load(conn)
}

/// One page in code order, starting after `after`.
pub fn page(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<MaterialRow>> {
    let mut q = materials::table
        .select(MaterialRow::as_select())
        .order(materials::code.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(materials::code.gt(after.to_owned()));
    }
    q.load(conn)
}

/// Adds `delta` to on-hand stock and bumps the version. A decrease only happens while it
/// leaves `available` (on_hand - held) at or above zero, an increase while on hand stays
/// within what a BIGINT holds. Returns whether the row changed.
pub fn change_on_hand(conn: &mut DbConnection, code: &str, delta: i64) -> QueryResult<bool> {
    let target = materials::table.filter(materials::code.eq(code));
    let change = (
        materials::on_hand.eq(materials::on_hand + delta),
        materials::version.eq(materials::version + 1),
    );
    // on_hand - held lies in [0, on_hand], so neither condition can overflow.
    let n = if delta < 0 {
        super::cached(
            diesel::update(target.filter((materials::on_hand - materials::held + delta).ge(0)))
                .set(change),
        )
        .execute(conn)?
    } else {
        let guarded = target.filter(materials::on_hand.le(i64::MAX - delta));
        super::cached(diesel::update(guarded).set(change)).execute(conn)?
    };
    Ok(n == 1)
}

/// Sets (or, with `None`, removes) the material's minimum grade; false when there is no such
/// material.
pub fn set_min_grade(conn: &mut DbConnection, code: &str, min: Option<&str>) -> QueryResult<bool> {
    diesel::update(materials::table.filter(materials::code.eq(code)))
        .set(materials::min_grade.eq(min))
        .execute(conn)
        .map(|n| n == 1)
}

/// Bumps the version only: takes the material's row lock before stock moves between lots.
pub fn lock(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::update(materials::table.filter(materials::code.eq(code)))
        .set(materials::version.eq(materials::version + 1))
        .execute(conn)
        .map(|n| n == 1)
}

/// Reserves `quantity` while `available - quantity` stays at or above `min_available_after`.
pub fn hold(code: &str, quantity: i64, min_available_after: i64) -> Box<dyn Statement + '_> {
    super::cached(
        diesel::update(
            materials::table
                .filter(materials::code.eq(code))
                .filter((materials::on_hand - materials::held - quantity).ge(min_available_after)),
        )
        .set((
            materials::held.eq(materials::held + quantity),
            materials::version.eq(materials::version + 1),
        )),
    )
    .boxed()
}

/// Releases `quantity` of held stock (a voided or posted hold).
pub fn unhold(conn: &mut DbConnection, code: &str, quantity: i64) -> QueryResult<bool> {
    super::cached(
        diesel::update(
            materials::table
                .filter(materials::code.eq(code))
                .filter(materials::held.ge(quantity)),
        )
        .set((
            materials::held.eq(materials::held - quantity),
            materials::version.eq(materials::version + 1),
        )),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// The scale of every material, by code (materials are few; lists format many rows).
pub fn scales(conn: &mut DbConnection) -> QueryResult<std::collections::HashMap<String, u32>> {
    let rows: Vec<(String, i32)> = materials::table
        .select((materials::code, materials::scale))
        .load(conn)?;
    rows.into_iter()
        .map(|(c, s)| match Scale::try_from(s) {
            Ok(s) => Ok((c, s.get())),
            Err(e) => Err(diesel::result::Error::DeserializationError(Box::new(e))),
        })
        .collect()
}
