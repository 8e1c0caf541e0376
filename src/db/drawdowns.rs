//! Queries of `drawdowns`, their approvals and the lots a release drew.

use super::cached::{Cached, Statement};
use super::schema::{drawdown_approvals, drawdowns, release_picks};
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::drawdown::Status;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = drawdowns)]
pub struct DrawdownRow {
    pub id: String,
    pub manufacturer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub disruption_id: String,
    pub quantity_requested: i64,
    pub quantity: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: Status,
    pub required_approvals: i32,
    pub hold_id: String,
    pub justification: String,
    pub needed_by: Option<chrono::NaiveDate>,
    pub policy: String,
    pub reject_reason: Option<String>,
    pub obligation_id: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub closed_at: Option<chrono::NaiveDateTime>,
    pub version: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = drawdown_approvals)]
pub struct ApprovalRow {
    pub drawdown_id: String,
    pub operator: String,
    pub quantity: i64,
    pub at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = release_picks)]
pub struct PickRow {
    pub drawdown_id: String,
    pub idx: i32,
    pub lot_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub facility: Code,
    pub quantity: i64,
}

/// The insert of a new drawdown, to run in a `Batch` after the insert of its hold.
pub fn record(row: DrawdownRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(drawdowns::table).values(row))
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DrawdownRow>> {
    drawdowns::table
        .find(id)
        .select(DrawdownRow::as_select())
        .first(conn)
        .optional()
}

/// Takes the drawdown's row lock (bumping its version) so that its transitions serialize.
/// Returns whether a row was locked.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let bump = drawdowns::version.eq(drawdowns::version + 1);
    let n = super::cached(diesel::update(drawdowns::table.find(id)).set(bump)).execute(conn)?;
    Ok(n == 1)
}

/// Writes the changed fields of a drawdown (status, quantity, closing details).
pub fn update(conn: &mut DbConnection, row: &DrawdownRow) -> QueryResult<()> {
    super::cached(diesel::update(drawdowns::table.find(&row.id)).set((
        drawdowns::status.eq(row.status.as_str()),
        drawdowns::quantity.eq(row.quantity),
        drawdowns::reject_reason.eq(&row.reject_reason),
        drawdowns::obligation_id.eq(&row.obligation_id),
        drawdowns::closed_at.eq(row.closed_at),
    )))
    .execute(conn)
    .map(drop)
}

/// The approvals of the given drawdowns, by drawdown then time (one query for a page).
pub fn approvals(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ApprovalRow>> {
    drawdown_approvals::table
        .filter(drawdown_approvals::drawdown_id.eq_any(ids))
        .select(ApprovalRow::as_select())
        .order((
            drawdown_approvals::drawdown_id.asc(),
            drawdown_approvals::at.asc(),
        ))
        .load(conn)
}

pub fn insert_approval(conn: &mut DbConnection, row: &ApprovalRow) -> QueryResult<()> {
    super::cached(diesel::insert_into(drawdown_approvals::table).values(row))
        .execute(conn)
        .map(drop)
}

/// The lots the given drawdowns' releases drew, by drawdown then order of picking.
pub fn picks(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<PickRow>> {
    release_picks::table
        .filter(release_picks::drawdown_id.eq_any(ids))
        .select(PickRow::as_select())
        .order((release_picks::drawdown_id.asc(), release_picks::idx.asc()))
        .load(conn)
}

pub fn insert_picks(conn: &mut DbConnection, rows: &[PickRow]) -> QueryResult<()> {
    super::on_backend!(conn, |c| diesel::insert_into(release_picks::table)
        .values(rows.to_vec())
        .execute(c))
    .map(drop)
}

/// Ids of the open drawdowns submitted under a disruption.
pub fn open_under(conn: &mut DbConnection, disruption: &str) -> QueryResult<Vec<String>> {
    drawdowns::table
        .filter(drawdowns::disruption_id.eq(disruption))
        .filter(drawdowns::status.eq_any(crate::domain::drawdown::Status::OPEN))
        .select(drawdowns::id)
        .order(drawdowns::id.asc())
        .load(conn)
}

/// The open drawdowns submitted under a disruption, their row locks taken in id order
/// (PostgreSQL; SQLite's writers are serialized anyway).
pub fn lock_open_under(conn: &mut DbConnection, disruption: &str) -> QueryResult<Vec<DrawdownRow>> {
    // A macro, not a value: `as_select` takes the backend from the one connection it runs on.
    macro_rules! open {
        () => {
            drawdowns::table
                .filter(drawdowns::disruption_id.eq(disruption))
                .filter(drawdowns::status.eq_any(crate::domain::drawdown::Status::OPEN))
                .select(DrawdownRow::as_select())
                .order(drawdowns::id.asc())
        };
    }
    match conn {
        DbConnection::Pg(c) => open!().for_update().load(c),
        DbConnection::Sqlite(c) => open!().load(c),
    }
}

#[derive(Debug, Default)]
pub struct DrawdownFilter {
    pub manufacturer: Option<String>,
    pub material: Option<String>,
    pub status: Option<Status>,
    pub after: Option<String>,
}

pub fn page(
    conn: &mut DbConnection,
    f: &DrawdownFilter,
    limit: i64,
) -> QueryResult<Vec<DrawdownRow>> {
    let mut q = drawdowns::table
        .select(DrawdownRow::as_select())
        .order(drawdowns::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = &f.manufacturer {
        q = q.filter(drawdowns::manufacturer_id.eq(m.clone()));
    }
    if let Some(m) = &f.material {
        q = q.filter(drawdowns::material_code.eq(m.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(drawdowns::status.eq(s.as_str()));
    }
    if let Some(after) = &f.after {
        q = q.filter(drawdowns::id.gt(after.clone()));
    }
    q.load(conn)
}
