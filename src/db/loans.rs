//! Queries of the loan tables: facilities, tranches, disbursements, repayments, accruals.

use super::schema::{
    disbursements, interest_accruals, loan_facilities, repayment_allocations, repayments, tranches,
};
use super::{sum, DbConnection};
use crate::domain::daycount::DayCount;
use crate::domain::interest::PrincipalChange;
use crate::domain::loan::LoanKind;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = loan_facilities)]
pub struct LoanFacilityRow {
    pub id: String,
    pub lender: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub kind: LoanKind,
    pub commitment_cents: i64,
    pub annual_rate_nanos: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub day_count: DayCount,
    pub availability_end: NaiveDate,
    pub maturity_date: NaiveDate,
    pub tranched_cents: i64,
    pub accrued_through: Option<NaiveDate>,
    pub interest_posted_cents: i64,
    pub interest_paid_cents: i64,
    pub version: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tranches)]
pub struct TrancheRow {
    pub id: String,
    pub facility_id: String,
    pub amount_cents: i64,
    pub available_from: NaiveDate,
    pub purpose: String,
    pub drawn_cents: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = disbursements)]
pub struct DisbursementRow {
    pub id: String,
    pub tranche_id: String,
    pub facility_id: String,
    pub amount_cents: i64,
    pub value_date: NaiveDate,
    pub reference: Option<String>,
    pub entry_seq: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = repayments)]
pub struct RepaymentRow {
    pub id: String,
    pub facility_id: String,
    pub amount_cents: i64,
    pub value_date: NaiveDate,
    pub interest_cents: i64,
    pub principal_cents: i64,
    pub entry_seq: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = repayment_allocations)]
pub struct AllocationRow {
    pub repayment_id: String,
    pub tranche_id: String,
    pub principal_cents: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = interest_accruals)]
pub struct AccrualRow {
    pub id: String,
    pub facility_id: String,
    pub accrued_through: NaiveDate,
    pub interest_cents: i64,
    pub cumulative_cents: i64,
    pub entry_seq: Option<i64>,
    pub created_at: NaiveDateTime,
}

pub fn insert_facility(conn: &mut DbConnection, row: &LoanFacilityRow) -> QueryResult<()> {
    // Typed columns serialize from an owned row.
    diesel::insert_into(loan_facilities::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

pub fn find_facility(conn: &mut DbConnection, id: &str) -> QueryResult<Option<LoanFacilityRow>> {
    loan_facilities::table
        .find(id)
        .select(LoanFacilityRow::as_select())
        .first(conn)
        .optional()
}

/// One page in id (creation) order, starting after `after`.
pub fn page_facilities(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<LoanFacilityRow>> {
    let mut q = loan_facilities::table
        .select(LoanFacilityRow::as_select())
        .order(loan_facilities::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(loan_facilities::id.gt(after.to_owned()));
    }
    q.load(conn)
}

/// Takes the facility's row lock by bumping its version; returns whether it exists.
pub fn lock_facility(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::update(loan_facilities::table.find(id))
        .set(loan_facilities::version.eq(loan_facilities::version + 1))
        .execute(conn)
        .map(|n| n == 1)
}

/// Takes the facility's row lock for a movement dated `value_date`, only while that date is
/// not before the date interest has been accrued through. Returns whether it did.
pub fn lock_facility_for_value_date(
    conn: &mut DbConnection,
    id: &str,
    value_date: NaiveDate,
) -> QueryResult<bool> {
    diesel::update(
        loan_facilities::table.find(id).filter(
            loan_facilities::accrued_through
                .is_null()
                .or(loan_facilities::accrued_through.le(value_date)),
        ),
    )
    .set(loan_facilities::version.eq(loan_facilities::version + 1))
    .execute(conn)
    .map(|n| n == 1)
}

/// Adds a tranche's amount to the facility's tranched total while that stays within the
/// commitment. Returns whether it did. (Compared as `tranched <= commitment - amount`: with
/// `0 <= commitment` and `0 < amount` neither side can leave a BIGINT.)
pub fn add_tranched(conn: &mut DbConnection, id: &str, amount: i64) -> QueryResult<bool> {
    diesel::update(
        loan_facilities::table
            .find(id)
            .filter(loan_facilities::tranched_cents.le(loan_facilities::commitment_cents - amount)),
    )
    .set(loan_facilities::tranched_cents.eq(loan_facilities::tranched_cents + amount))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records that interest has been posted through `through`, `cumulative` in all.
pub fn set_accrued(
    conn: &mut DbConnection,
    id: &str,
    through: NaiveDate,
    cumulative: i64,
) -> QueryResult<()> {
    diesel::update(loan_facilities::table.find(id))
        .set((
            loan_facilities::accrued_through.eq(through),
            loan_facilities::interest_posted_cents.eq(cumulative),
        ))
        .execute(conn)
        .map(drop)
}

/// Adds to the interest paid (a CHECK keeps it within the interest posted).
pub fn add_interest_paid(conn: &mut DbConnection, id: &str, cents: i64) -> QueryResult<()> {
    diesel::update(loan_facilities::table.find(id))
        .set(loan_facilities::interest_paid_cents.eq(loan_facilities::interest_paid_cents + cents))
        .execute(conn)
        .map(drop)
}

pub fn insert_tranche(conn: &mut DbConnection, row: &TrancheRow) -> QueryResult<()> {
    diesel::insert_into(tranches::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find_tranche(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TrancheRow>> {
    tranches::table
        .find(id)
        .select(TrancheRow::as_select())
        .first(conn)
        .optional()
}

/// A facility's tranches, oldest first: by available_from, then creation order.
pub fn tranches_oldest_first(
    conn: &mut DbConnection,
    facility_id: &str,
) -> QueryResult<Vec<TrancheRow>> {
    tranches::table
        .filter(tranches::facility_id.eq(facility_id))
        .select(TrancheRow::as_select())
        .order((tranches::available_from.asc(), tranches::id.asc()))
        .load(conn)
}

/// Draws `amount` from a tranche while its drawn total stays within its amount (compared as
/// `drawn <= amount - draw`, which cannot leave a BIGINT). Returns whether it did.
pub fn draw(conn: &mut DbConnection, tranche_id: &str, amount: i64) -> QueryResult<bool> {
    diesel::update(
        tranches::table
            .find(tranche_id)
            .filter(tranches::drawn_cents.le(tranches::amount_cents - amount)),
    )
    .set(tranches::drawn_cents.eq(tranches::drawn_cents + amount))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn insert_disbursement(conn: &mut DbConnection, row: &DisbursementRow) -> QueryResult<()> {
    diesel::insert_into(disbursements::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn insert_repayment(
    conn: &mut DbConnection,
    row: &RepaymentRow,
    allocations: &[AllocationRow],
) -> QueryResult<()> {
    diesel::insert_into(repayments::table)
        .values(row)
        .execute(conn)?;
    if !allocations.is_empty() {
        super::on_backend!(conn, |c| diesel::insert_into(repayment_allocations::table)
            .values(allocations)
            .execute(c))?;
    }
    Ok(())
}

pub fn insert_accrual(conn: &mut DbConnection, row: &AccrualRow) -> QueryResult<()> {
    diesel::insert_into(interest_accruals::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The facility's principal changes dated before `before`, one per date and kind:
/// disbursements add, repaid principal subtracts.
pub fn principal_changes(
    conn: &mut DbConnection,
    facility_id: &str,
    before: NaiveDate,
) -> QueryResult<Vec<PrincipalChange>> {
    let drawn: Vec<(NaiveDate, i64)> = disbursements::table
        .filter(disbursements::facility_id.eq(facility_id))
        .filter(disbursements::value_date.lt(before))
        .group_by(disbursements::value_date)
        .select((disbursements::value_date, sum("amount_cents")))
        .load(conn)?;
    let repaid: Vec<(NaiveDate, i64)> = repayments::table
        .filter(repayments::facility_id.eq(facility_id))
        .filter(repayments::value_date.lt(before))
        .group_by(repayments::value_date)
        .select((repayments::value_date, sum("principal_cents")))
        .load(conn)?;
    let change = |sign: i64| {
        move |(date, cents): (NaiveDate, i64)| PrincipalChange {
            date,
            cents: sign * cents,
        }
    };
    Ok(drawn
        .into_iter()
        .map(change(1))
        .chain(repaid.into_iter().map(change(-1)))
        .collect())
}

/// Per tranche of the facility: disbursed with a value date on or before `as_of`.
pub fn drawn_by_tranche(
    conn: &mut DbConnection,
    facility_id: &str,
    as_of: NaiveDate,
) -> QueryResult<Vec<(String, i64)>> {
    disbursements::table
        .filter(disbursements::facility_id.eq(facility_id))
        .filter(disbursements::value_date.le(as_of))
        .group_by(disbursements::tranche_id)
        .select((disbursements::tranche_id, sum("amount_cents")))
        .load(conn)
}

/// Per tranche of the facility: principal repaid with a value date on or before `as_of`.
pub fn repaid_by_tranche(
    conn: &mut DbConnection,
    facility_id: &str,
    as_of: NaiveDate,
) -> QueryResult<Vec<(String, i64)>> {
    repayment_allocations::table
        .inner_join(repayments::table)
        .filter(repayments::facility_id.eq(facility_id))
        .filter(repayments::value_date.le(as_of))
        .group_by(repayment_allocations::tranche_id)
        .select((
            repayment_allocations::tranche_id,
            sum("repayment_allocations.principal_cents"),
        ))
        .load(conn)
}

/// Interest the facility's repayments dated on or before `as_of` paid.
pub fn interest_paid_as_of(
    conn: &mut DbConnection,
    facility_id: &str,
    as_of: NaiveDate,
) -> QueryResult<i64> {
    repayments::table
        .filter(repayments::facility_id.eq(facility_id))
        .filter(repayments::value_date.le(as_of))
        .select(sum("interest_cents"))
        .first(conn)
}
