//! Records of transfers and adjustments (their stock effect is in lots and the journal).

use super::schema::{adjustments, transfers};
use super::DbConnection;
use crate::domain::code::Code;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = transfers)]
pub struct TransferRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub from_facility: Code,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub to_facility: Code,
    pub quantity: i64,
    pub entry_seq: i64,
    pub created_by: String,
    pub created_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = adjustments)]
pub struct AdjustmentRow {
    pub id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub facility_code: Code,
    pub quantity: i64,
    pub reason: String,
    pub entry_seq: i64,
    pub created_by: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert_transfer(conn: &mut DbConnection, row: &TransferRow) -> QueryResult<()> {
    diesel::insert_into(transfers::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

pub fn insert_adjustment(conn: &mut DbConnection, row: &AdjustmentRow) -> QueryResult<()> {
    diesel::insert_into(adjustments::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}
