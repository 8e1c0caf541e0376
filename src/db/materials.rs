//! Queries of the `materials` table.

use super::schema::materials;
use super::DbConnection;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = materials)]
pub struct MaterialRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub unit: String,
    pub scale: i32,
    pub strategic_floor: i64,
    pub on_hand: i64,
    pub held: i64,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &MaterialRow) -> QueryResult<()> {
    diesel::insert_into(materials::table)
        .values(row)
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
