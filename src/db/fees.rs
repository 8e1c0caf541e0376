//! Queries of the `fees` table.

use super::schema::fees;
use super::DbConnection;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fees)]
pub struct FeeRow {
    pub id: String,
    pub manufacturer_id: String,
    pub kind: String,
    pub amount_cents: i64,
    pub memo: Option<String>,
    pub entry_seq: i64,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &FeeRow) -> QueryResult<()> {
    diesel::insert_into(fees::table)
        .values(row)
        .execute(conn)
        .map(drop)
}
