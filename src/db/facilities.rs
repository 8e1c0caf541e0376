//! Queries of the `facilities` table.

use super::schema::facilities;
use super::DbConnection;
use crate::domain::code::Code;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = facilities)]
pub struct FacilityRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub code: Code,
    pub name: String,
    pub country: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &FacilityRow) -> QueryResult<()> {
    // Typed columns serialize from an owned row.
    diesel::insert_into(facilities::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<FacilityRow>> {
    facilities::table
        .filter(facilities::code.eq(code))
        .select(FacilityRow::as_select())
        .first(conn)
        .optional()
}

/// One page in code order, starting after `after`.
pub fn page(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<FacilityRow>> {
    let mut q = facilities::table
        .select(FacilityRow::as_select())
        .order(facilities::code.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(facilities::code.gt(after.to_owned()));
    }
    q.load(conn)
}
