//! Queries of the outbox: `events` and the materials of disruption events.

use super::cached::{Cached, Statement};
use super::schema::{allocations, event_materials, events};
use super::DbConnection;
use crate::domain::event::EventType;
use diesel::prelude::*;

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

/// The manufacturers with an allocation of any of `materials`.
pub fn holders(conn: &mut DbConnection, materials: &[String]) -> QueryResult<Vec<String>> {
    allocations::table
        .filter(allocations::material_code.eq_any(materials))
        .select(allocations::manufacturer_id)
        .distinct()
        .load(conn)
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
    pub after: Option<String>,
}

/// One page, oldest first.
pub fn page(conn: &mut DbConnection, f: &EventFilter, limit: i64) -> QueryResult<Vec<EventRow>> {
    let mut q = events::table
        .select(EventRow::as_select())
        .order(events::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = &f.visible_to {
        let held = allocations::table
            .filter(allocations::manufacturer_id.eq(m.clone()))
            .select(allocations::material_code);
        let of_held = event_materials::table
            .filter(event_materials::material_code.eq_any(held))
            .select(event_materials::event_id);
        q = q.filter(
            events::manufacturer_id
                .eq(m.clone())
                .or(events::id.eq_any(of_held)),
        );
    }
    if let Some(t) = f.event_type {
        q = q.filter(events::event_type.eq(t.as_str()));
    }
    if let Some(after) = &f.after {
        q = q.filter(events::id.gt(after.clone()));
    }
    q.load(conn)
}
