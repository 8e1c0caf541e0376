//! Queries of `obligations`, their replenishments and reschedules.

use super::schema::{obligation_reschedules, obligations, replenishments};
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::status::ObligationStatus;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = obligations)]
pub struct ObligationRow {
    pub id: String,
    pub drawdown_id: String,
    pub manufacturer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub base_quantity: i64,
    pub quantity_due: i64,
    pub quantity_returned: i64,
    pub base_returned: i64,
    pub due_date: chrono::NaiveDate,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: ObligationStatus,
    pub created_at: chrono::NaiveDateTime,
    pub settled_at: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = replenishments)]
pub struct ReplenishmentRow {
    pub id: String,
    pub obligation_id: String,
    pub lot_id: String,
    pub quantity: i64,
    pub base_share: i64,
    pub created_by: String,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = obligation_reschedules)]
pub struct RescheduleRow {
    pub id: String,
    pub obligation_id: String,
    pub old_due_date: chrono::NaiveDate,
    pub new_due_date: chrono::NaiveDate,
    pub reason: String,
    pub created_by: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &ObligationRow) -> QueryResult<()> {
    super::cached(diesel::insert_into(obligations::table).values(row.clone()))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ObligationRow>> {
    obligations::table
        .find(id)
        .select(ObligationRow::as_select())
        .first(conn)
        .optional()
}

/// Records `quantity` returned (base share `base`) if the obligation is still open with what
/// was due and returned when `o` was read (the share was computed from those), and no more
/// than due comes back; settles the obligation when it reaches what is due. Returns whether
/// it applied.
pub fn record_return(
    conn: &mut DbConnection,
    o: &ObligationRow,
    quantity: i64,
    base: i64,
    at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let id = &o.id;
    let n = diesel::update(
        obligations::table
            .find(id)
            .filter(obligations::status.eq(ObligationStatus::Open.as_str()))
            .filter(obligations::quantity_due.eq(o.quantity_due))
            .filter(obligations::quantity_returned.eq(o.quantity_returned))
            .filter(obligations::quantity_returned.le(obligations::quantity_due - quantity)),
    )
    .set((
        obligations::quantity_returned.eq(obligations::quantity_returned + quantity),
        obligations::base_returned.eq(obligations::base_returned + base),
    ))
    .execute(conn)?;
    if n == 1 {
        diesel::update(
            obligations::table
                .find(id)
                .filter(obligations::quantity_returned.eq(obligations::quantity_due)),
        )
        .set((
            obligations::status.eq(ObligationStatus::Settled.as_str()),
            obligations::settled_at.eq(at),
        ))
        .execute(conn)?;
    }
    Ok(n == 1)
}

pub fn insert_replenishment(conn: &mut DbConnection, row: &ReplenishmentRow) -> QueryResult<()> {
    diesel::insert_into(replenishments::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Moves an open obligation's due date and adds `premium` to what is due (while the total
/// fits a BIGINT), recording the move; false when it is no longer open or no longer as `o`
/// read it.
pub fn reschedule(
    conn: &mut DbConnection,
    o: &ObligationRow,
    row: &RescheduleRow,
    premium: i64,
) -> QueryResult<bool> {
    // The premium was computed from the date and figures `o` holds: the move applies only
    // while they are still those (two operators moving it at once add one premium).
    let n = diesel::update(
        obligations::table
            .find(&o.id)
            .filter(obligations::status.eq(ObligationStatus::Open.as_str()))
            .filter(obligations::due_date.eq(o.due_date))
            .filter(obligations::quantity_due.eq(o.quantity_due))
            .filter(obligations::quantity_returned.eq(o.quantity_returned))
            .filter(obligations::quantity_due.le(i64::MAX - premium)),
    )
    .set((
        obligations::due_date.eq(row.new_due_date),
        obligations::quantity_due.eq(obligations::quantity_due + premium),
    ))
    .execute(conn)?;
    if n == 1 {
        diesel::insert_into(obligation_reschedules::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(n == 1)
}

#[derive(Debug, Default)]
pub struct ObligationFilter {
    pub manufacturer: Option<String>,
    pub status: Option<ObligationStatus>,
    pub after: Option<String>,
}

pub fn page(
    conn: &mut DbConnection,
    f: &ObligationFilter,
    limit: i64,
) -> QueryResult<Vec<ObligationRow>> {
    let mut q = obligations::table
        .select(ObligationRow::as_select())
        .order(obligations::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = &f.manufacturer {
        q = q.filter(obligations::manufacturer_id.eq(m.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(obligations::status.eq(s.as_str()));
    }
    if let Some(after) = &f.after {
        q = q.filter(obligations::id.gt(after.clone()));
    }
    q.load(conn)
}

/// Open obligations past their due date on `today` whose passing is not yet announced, oldest
/// due first.
pub fn unannounced_overdue(
    conn: &mut DbConnection,
    today: chrono::NaiveDate,
    limit: i64,
) -> QueryResult<Vec<ObligationRow>> {
    obligations::table
        .filter(obligations::status.eq(ObligationStatus::Open.as_str()))
        .filter(obligations::due_date.lt(today))
        .filter(
            obligations::overdue_announced_for
                .is_null()
                .or(obligations::overdue_announced_for.ne(obligations::due_date.nullable())),
        )
        .order((obligations::due_date.asc(), obligations::id.asc()))
        .limit(limit)
        .select(ObligationRow::as_select())
        .load(conn)
}

/// Marks that obligation `id`, still open and due on `due`, has been announced overdue, unless
/// it already was: returns whether this call marked it (so that only one of several sweeps
/// announces it).
pub fn announce_overdue(
    conn: &mut DbConnection,
    id: &str,
    due: chrono::NaiveDate,
) -> QueryResult<bool> {
    diesel::update(
        obligations::table
            .find(id)
            .filter(obligations::status.eq(ObligationStatus::Open.as_str()))
            .filter(obligations::due_date.eq(due))
            .filter(
                obligations::overdue_announced_for
                    .is_null()
                    .or(obligations::overdue_announced_for.ne(due)),
            ),
    )
    .set(obligations::overdue_announced_for.eq(due))
    .execute(conn)
    .map(|n| n == 1)
}

/// The premium a replenishment posted (`replenishment_premium:<X>`, negative: returned on top
/// of the base), with its entry's dates.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct PremiumPosting {
    #[diesel(deserialize_as = String)]
    pub material: Code,
    pub amount: i64,
    pub effective_date: Option<chrono::NaiveDate>,
    pub recorded_at: chrono::NaiveDateTime,
}

/// The premiums of the replenishments effective in `[from, to)` (entries from before
/// effective dates count on the date of their `recorded_at`).
/// Read from the replenishments, their entries (by reference) and those entries' premium
/// postings: the work grows with the replenishments, not with the journal.
pub fn premiums_effective(
    conn: &mut DbConnection,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> QueryResult<Vec<PremiumPosting>> {
    use super::schema::{journal_entries as e, postings as p};
    let midnight = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN);
    let dated = e::effective_date
        .ge(from)
        .and(e::effective_date.lt(to))
        .assume_not_null();
    let undated = e::effective_date
        .is_null()
        .and(e::recorded_at.ge(midnight(from)))
        .and(e::recorded_at.lt(midnight(to)));
    replenishments::table
        .inner_join(e::table.on(e::reference.eq(replenishments::id.nullable())))
        .inner_join(p::table.on(p::entry_seq.eq(e::seq)))
        .filter(p::account.like("replenishment\\_premium:%").escape('\\'))
        .filter(dated.or(undated))
        .select((p::asset, p::amount, e::effective_date, e::recorded_at))
        .order(e::seq.asc())
        .load(conn)
}
