//! Queries of the fees: `fees` (paid at once), and the carrying fees' accruals, per
//! allocation figures and payments.

use super::schema::{
    allocation_fees, allocation_history, fee_accrual_runs, fee_accrual_state, fee_accruals,
    fee_payments, fees,
};
use super::{sum, DbConnection};
use crate::domain::code::Code;
use crate::domain::fee::FeeKind;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fees)]
pub struct FeeRow {
    pub id: String,
    pub manufacturer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: FeeKind,
    pub amount_cents: i64,
    pub memo: Option<String>,
    pub entry_seq: i64,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &FeeRow) -> QueryResult<()> {
    diesel::insert_into(fees::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

/// The date carrying fees are accrued through, taking the lock an accrual holds to its
/// commit (an update of the state row).
pub fn lock_accrual_state(conn: &mut DbConnection) -> QueryResult<Option<NaiveDate>> {
    diesel::update(fee_accrual_state::table.find(1))
        .set(fee_accrual_state::id.eq(1))
        .execute(conn)?;
    fee_accrual_state::table
        .find(1)
        .select(fee_accrual_state::accrued_through)
        .first(conn)
}

/// The date carrying fees are accrued through, for an allocation change: on PostgreSQL the
/// state row is read sharing its lock, so the change waits for an accrual under way to
/// commit (and then reads the date it reached), and an accrual waits for the change.
pub fn accrued_through_for_change(conn: &mut DbConnection) -> QueryResult<Option<NaiveDate>> {
    let q = fee_accrual_state::table
        .find(1)
        .select(fee_accrual_state::accrued_through);
    match conn {
        DbConnection::Pg(c) => q.for_share().first(c),
        DbConnection::Sqlite(c) => q.first(c),
    }
}

pub fn set_accrued_through(conn: &mut DbConnection, through: NaiveDate) -> QueryResult<()> {
    diesel::update(fee_accrual_state::table.find(1))
        .set(fee_accrual_state::accrued_through.eq(through))
        .execute(conn)
        .map(drop)
}

/// An accrual that moved the fees on.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fee_accrual_runs)]
pub struct RunRow {
    pub through: NaiveDate,
    pub rate_nanos: i64,
    pub fees_cents: i64,
    pub created_at: NaiveDateTime,
}

/// The runs through `last` at the latest (all of them with `None`), oldest first.
pub fn runs(conn: &mut DbConnection, last: Option<NaiveDate>) -> QueryResult<Vec<RunRow>> {
    let mut q = fee_accrual_runs::table
        .select(RunRow::as_select())
        .order(fee_accrual_runs::through.asc())
        .into_boxed();
    if let Some(last) = last {
        q = q.filter(fee_accrual_runs::through.le(last));
    }
    q.load(conn)
}

pub fn insert_run(conn: &mut DbConnection, row: &RunRow) -> QueryResult<()> {
    diesel::insert_into(fee_accrual_runs::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

/// What a run posted for one manufacturer, and the journal entry that posted it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fee_accruals)]
pub struct AccrualRow {
    pub id: String,
    pub through: NaiveDate,
    pub manufacturer_id: String,
    pub amount_cents: i64,
    pub entry_seq: i64,
}

pub fn insert_accruals(conn: &mut DbConnection, rows: &[AccrualRow]) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(fee_accruals::table)
            .values(row.clone())
            .execute(conn)?;
    }
    Ok(())
}

/// The carrying fees the runs through `last` posted for `manufacturer`.
pub fn fees_accrued(
    conn: &mut DbConnection,
    manufacturer: &str,
    last: NaiveDate,
) -> QueryResult<i64> {
    fee_accruals::table
        .filter(fee_accruals::manufacturer_id.eq(manufacturer))
        .filter(fee_accruals::through.le(last))
        .select(sum("amount_cents"))
        .first(conn)
}

/// One change of an allocation, as the fees read it.
#[derive(Debug, Clone, Queryable)]
pub struct LevelRow {
    pub manufacturer_id: String,
    #[diesel(deserialize_as = String)]
    pub material_code: Code,
    pub effective_date: NaiveDate,
    pub quantity: i64,
    pub locked_price_micros: i64,
}

/// The allocations' changes (of `manufacturer`'s only, when given), by allocation and in the
/// order they were made.
pub fn levels(conn: &mut DbConnection, manufacturer: Option<&str>) -> QueryResult<Vec<LevelRow>> {
    let mut q = allocation_history::table
        .select((
            allocation_history::manufacturer_id,
            allocation_history::material_code,
            allocation_history::effective_date,
            allocation_history::quantity,
            allocation_history::locked_price_micros,
        ))
        .order((
            allocation_history::manufacturer_id.asc(),
            allocation_history::material_code.asc(),
            allocation_history::id.asc(),
        ))
        .into_boxed();
    if let Some(m) = manufacturer {
        q = q.filter(allocation_history::manufacturer_id.eq(m.to_owned()));
    }
    q.load(conn)
}

/// Per allocation, (manufacturer, material, carrying fees posted so far).
pub fn posted(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, i64)>> {
    allocation_fees::table
        .select((
            allocation_fees::manufacturer_id,
            allocation_fees::material_code,
            allocation_fees::posted_cents,
        ))
        .load(conn)
}

/// Sets what has been posted for an allocation (under the accrual's lock: no race).
pub fn set_posted(
    conn: &mut DbConnection,
    manufacturer: &str,
    material: &str,
    cents: i64,
) -> QueryResult<()> {
    let changed = diesel::update(allocation_fees::table.find((manufacturer, material)))
        .set(allocation_fees::posted_cents.eq(cents))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(allocation_fees::table)
            .values((
                allocation_fees::manufacturer_id.eq(manufacturer),
                allocation_fees::material_code.eq(material),
                allocation_fees::posted_cents.eq(cents),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A payment of carrying fees.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fee_payments)]
pub struct PaymentRow {
    pub id: String,
    pub manufacturer_id: String,
    pub amount_cents: i64,
    pub value_date: NaiveDate,
    pub memo: Option<String>,
    pub entry_seq: i64,
    pub created_at: NaiveDateTime,
}

pub fn insert_payment(conn: &mut DbConnection, row: &PaymentRow) -> QueryResult<()> {
    diesel::insert_into(fee_payments::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

/// What `manufacturer` paid with value dates on or before `as_of`.
pub fn paid_as_of(
    conn: &mut DbConnection,
    manufacturer: &str,
    as_of: NaiveDate,
) -> QueryResult<i64> {
    fee_payments::table
        .filter(fee_payments::manufacturer_id.eq(manufacturer))
        .filter(fee_payments::value_date.le(as_of))
        .select(sum("amount_cents"))
        .first(conn)
}
