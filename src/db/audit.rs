//! Queries of the `audit_events` table (append-only).

use super::cached::{Cached, Statement};
use super::schema::audit_events;
use super::DbConnection;
use crate::domain::actor::Role;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: String,
    pub at: chrono::NaiveDateTime,
    pub actor_sub: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub actor_role: Role,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub request_id: String,
}

pub fn insert(conn: &mut DbConnection, row: AuditRow) -> QueryResult<()> {
    record(row).execute(conn).map(drop)
}

/// The insert of `row`, to run alone or in a `Batch`.
pub fn record(row: AuditRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(audit_events::table).values(row))
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub after: Option<String>,
}

/// One page in time (id) order.
pub fn page(conn: &mut DbConnection, f: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditRow>> {
    let mut q = audit_events::table
        .select(AuditRow::as_select())
        .order(audit_events::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(actor) = &f.actor {
        q = q.filter(audit_events::actor_sub.eq(actor.clone()));
    }
    if let Some(action) = &f.action {
        q = q.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(audit_events::id.gt(after.clone()));
    }
    q.load(conn)
}
