//! Queries of `manufacturers` and their `allocations`.

use super::cached::Statement;
use super::schema::{allocation_history, allocations, manufacturers};
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::policy::Tier;
use crate::domain::status::ManufacturerStatus;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = manufacturers)]
pub struct ManufacturerRow {
    pub id: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub priority_tier: Tier,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ManufacturerStatus,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocations)]
pub struct AllocationRow {
    pub manufacturer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub quantity: i64,
    pub locked_price_micros: i64,
    pub outstanding: i64,
    pub held: i64,
    pub updated_at: chrono::NaiveDateTime,
    /// Declared normal use per 30 days, in minor units of the material.
    pub monthly_consumption: i64,
}

/// An allocation with what the readiness reports need of its manufacturer.
#[derive(Debug, Clone, Queryable)]
pub struct ParticipantRow {
    #[diesel(deserialize_as = String)]
    pub material_code: Code,
    #[diesel(deserialize_as = String)]
    pub priority_tier: Tier,
    #[diesel(deserialize_as = String)]
    pub status: ManufacturerStatus,
    pub quantity: i64,
    pub outstanding: i64,
    pub held: i64,
    pub monthly_consumption: i64,
}

/// Every allocation with its manufacturer's tier and status, by material then manufacturer
/// (one read of the allocations, whose rows are bounded by manufacturers × materials).
pub fn participants(conn: &mut DbConnection) -> QueryResult<Vec<ParticipantRow>> {
    allocations::table
        .inner_join(manufacturers::table.on(manufacturers::id.eq(allocations::manufacturer_id)))
        .select((
            allocations::material_code,
            manufacturers::priority_tier,
            manufacturers::status,
            allocations::quantity,
            allocations::outstanding,
            allocations::held,
            allocations::monthly_consumption,
        ))
        .order((
            allocations::material_code.asc(),
            allocations::manufacturer_id.asc(),
        ))
        .load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &ManufacturerRow) -> QueryResult<()> {
    diesel::insert_into(manufacturers::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ManufacturerRow>> {
    manufacturers::table
        .find(id)
        .select(ManufacturerRow::as_select())
        .first(conn)
        .optional()
}

/// Moves a manufacturer from `from` to `to` status; returns whether it was in `from`.
pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    from: ManufacturerStatus,
    to: ManufacturerStatus,
) -> QueryResult<bool> {
    diesel::update(
        manufacturers::table
            .find(id)
            .filter(manufacturers::status.eq(from.as_str())),
    )
    .set(manufacturers::status.eq(to.as_str()))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn page(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ManufacturerRow>> {
    let mut q = manufacturers::table
        .select(ManufacturerRow::as_select())
        .order(manufacturers::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(manufacturers::id.gt(after.to_owned()));
    }
    q.load(conn)
}

pub fn allocation(
    conn: &mut DbConnection,
    manufacturer: &str,
    material: &str,
) -> QueryResult<Option<AllocationRow>> {
    allocations::table
        .find((manufacturer, material))
        .select(AllocationRow::as_select())
        .first(conn)
        .optional()
}

pub fn allocations_of(
    conn: &mut DbConnection,
    manufacturer: &str,
) -> QueryResult<Vec<AllocationRow>> {
    allocations::table
        .filter(allocations::manufacturer_id.eq(manufacturer))
        .select(AllocationRow::as_select())
        .order(allocations::material_code.asc())
        .load(conn)
}

/// Sets the entitlement, locked price and consumption, creating the allocation if needed.
/// What became of a PUT of an allocation.
#[derive(Debug, PartialEq, Eq)]
pub enum Put {
    Written,
    /// The new quantity is below what is committed (outstanding + held): nothing changed.
    BelowCommitted,
}

/// Sets the allocation's terms (creating it on the first PUT) and records the change in its
/// history. The quantity may not fall below `outstanding + held`: the update's own condition
/// enforces it, so it holds while drawdowns race from other processes (held + outstanding
/// never pass the quantity, so their sum stays within a BIGINT).
pub fn put_allocation(
    conn: &mut DbConnection,
    row: &AllocationRow,
    change: &HistoryRow,
) -> QueryResult<Put> {
    let key = (&row.manufacturer_id, row.material_code.as_str());
    let changed = diesel::update(
        allocations::table
            .find(key)
            .filter((allocations::outstanding + allocations::held).le(row.quantity)),
    )
    .set((
        allocations::quantity.eq(row.quantity),
        allocations::locked_price_micros.eq(row.locked_price_micros),
        allocations::monthly_consumption.eq(row.monthly_consumption),
        allocations::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if changed == 0 {
        if allocation(conn, key.0, key.1)?.is_some() {
            return Ok(Put::BelowCommitted);
        }
        // Two first PUTs racing: the loser's insert fails as a unique violation, which the
        // caller treats as transient (the retry updates instead).
        diesel::insert_into(allocations::table)
            .values(row.clone())
            .execute(conn)?;
    }
    diesel::insert_into(allocation_history::table)
        .values(change.clone())
        .execute(conn)?;
    Ok(Put::Written)
}

/// One change of an allocation, as it was made.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocation_history)]
pub struct HistoryRow {
    pub id: String,
    pub manufacturer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub at: chrono::NaiveDateTime,
    pub actor: String,
    pub quantity: i64,
    pub locked_price_micros: i64,
    pub monthly_consumption: i64,
    pub effective_date: chrono::NaiveDate,
}

/// An allocation's changes, newest first, after the cursor `before` (a history id).
pub fn history(
    conn: &mut DbConnection,
    manufacturer: &str,
    material: &str,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<HistoryRow>> {
    let mut q = allocation_history::table
        .filter(allocation_history::manufacturer_id.eq(manufacturer))
        .filter(allocation_history::material_code.eq(material))
        .select(HistoryRow::as_select())
        .order(allocation_history::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(allocation_history::id.lt(before.to_owned()));
    }
    q.load(conn)
}

/// Takes the allocation's row lock, the first of a drawdown's transitions (`db::holding`);
/// returns whether it exists.
pub fn lock(conn: &mut DbConnection, manufacturer: &str, material: &str) -> QueryResult<bool> {
    super::cached(
        diesel::update(allocations::table.find((manufacturer, material)))
            .set(allocations::held.eq(allocations::held)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Takes the row locks of every allocation of the given materials, in key order (PostgreSQL;
/// SQLite's writers are serialized anyway), and returns their keys: ending a disruption
/// holds them so that no drawdown of these materials is submitted or moves meanwhile.
pub fn lock_of_materials(
    conn: &mut DbConnection,
    materials: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let keys = allocations::table
        .filter(allocations::material_code.eq_any(materials))
        .select((allocations::manufacturer_id, allocations::material_code))
        .order((
            allocations::manufacturer_id.asc(),
            allocations::material_code.asc(),
        ));
    match conn {
        DbConnection::Pg(c) => keys.for_update().load(c),
        DbConnection::Sqlite(c) => keys.load(c),
    }
}

/// Adds `q` to the allocation's held quantity while `held + outstanding + q <= limit` and
/// the entitlement is still `quantity` (rule 4, enforced by the write itself). The sum is
/// compared as `held + outstanding <= limit - q`: both sides stay within a BIGINT, since
/// held + outstanding never passes an allocation's limit and `0 <= limit`, `0 < q`.
pub fn hold<'a>(
    manufacturer: &'a str,
    material: &'a str,
    q: i64,
    quantity: i64,
    limit: i64,
) -> Box<dyn Statement + 'a> {
    super::cached(
        diesel::update(
            allocations::table
                .find((manufacturer, material))
                .filter(allocations::quantity.eq(quantity))
                .filter((allocations::held + allocations::outstanding).le(limit - q)),
        )
        .set(allocations::held.eq(allocations::held + q)),
    )
    .boxed()
}

/// Changes held and outstanding by the given amounts (releases, voids, replenishments).
pub fn shift(
    conn: &mut DbConnection,
    manufacturer: &str,
    material: &str,
    held: i64,
    outstanding: i64,
) -> QueryResult<bool> {
    super::cached(
        diesel::update(allocations::table.find((manufacturer, material))).set((
            allocations::held.eq(allocations::held + held),
            allocations::outstanding.eq(allocations::outstanding + outstanding),
        )),
    )
    .execute(conn)
    .map(|n| n == 1)
}
