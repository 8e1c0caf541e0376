//! Queries of the outbox: `events` and the materials of disruption events.

use super::cached::{Cached, Statement};
use super::schema::{allocations, event_materials, events, feed_head};
use super::DbConnection;
use crate::domain::event::EventType;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub event_type: EventType,
    pub created_at: chrono::NaiveDateTime,
    pub manufacturer_id: Option<String>,
    pub data: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_materials)]
pub struct EventMaterialRow {
    pub event_id: String,
    pub material_code: String,
}

/// The insert of `row`, for a `Batch`.
pub fn record(row: EventRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(events::table).values(row))
}

/// The insert of one material of an event, for a `Batch`.
pub fn record_material(row: EventMaterialRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(event_materials::table).values(row))
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<EventRow>> {
    events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Default)]
pub struct EventFilter {
    /// Only what this manufacturer may see: its own events, and those of materials it has an
    /// allocation of.
    pub visible_to: Option<String>,
    pub event_type: Option<EventType>,
    /// The feed position after which the page starts.
    pub after: Option<i64>,
}

/// Whether a committed event waits for its feed position.
pub fn unsequenced(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        events::table.filter(events::position.is_null()),
    ))
    .get_result(conn)
}

/// Numbers the committed events that have no feed position yet, in id order, after the
/// highest position given, in a write transaction: one sequencer at a time (it takes the
/// `feed_head` row's lock first), so an event that commits late is numbered after every
/// position already given out. Returns how many.
pub fn sequence(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::update(feed_head::table)
        .set(feed_head::sequenced_at.eq(diesel::dsl::now))
        .execute(conn)?;
    diesel::sql_query(
        "UPDATE events SET position = (SELECT COALESCE(MAX(position), 0) FROM events) + s.rn \
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn \
               FROM events WHERE position IS NULL) AS s \
         WHERE events.id = s.id",
    )
    .execute(conn)
}

/// The feed position of event `id` as `visible_to` may see it (`None`: no such event, not
/// numbered yet, or not theirs).
pub fn position_of(
    conn: &mut DbConnection,
    id: &str,
    visible_to: Option<&str>,
) -> QueryResult<Option<i64>> {
    let mut q = events::table.find(id).select(events::position).into_boxed();
    if let Some(m) = visible_to {
        q = q.filter(seen_by(m));
    }
    q.first::<Option<i64>>(conn).optional().map(Option::flatten)
}

/// The events manufacturer `m` may see: its own, and those of materials it has an allocation
/// of.
fn seen_by(
    m: &str,
) -> Box<
    dyn BoxableExpression<
        events::table,
        <DbConnection as Connection>::Backend,
        SqlType = Nullable<Bool>,
    >,
> {
    let held = allocations::table
        .filter(allocations::manufacturer_id.eq(m.to_owned()))
        .select(allocations::material_code);
    let of_held = event_materials::table
        .filter(event_materials::material_code.eq_any(held))
        .select(event_materials::event_id);
    Box::new(
        events::manufacturer_id
            .eq(m.to_owned())
            .or(events::id.eq_any(of_held)),
    )
}

/// One page of the sequenced events, in feed order, with their positions.
pub fn page(
    conn: &mut DbConnection,
    f: &EventFilter,
    limit: i64,
) -> QueryResult<Vec<(i64, EventRow)>> {
    let mut q = events::table
        .filter(events::position.is_not_null())
        .select((events::position.assume_not_null(), EventRow::as_select()))
        .order(events::position.asc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = &f.visible_to {
        q = q.filter(seen_by(m));
    }
    if let Some(t) = f.event_type {
        q = q.filter(events::event_type.eq(t.as_str()));
    }
    if let Some(after) = f.after {
        q = q.filter(events::position.gt(after));
    }
    q.load(conn)
}
