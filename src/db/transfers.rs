//! Queries of `allocation_transfers`: entitlement moved between manufacturers.

use super::schema::allocation_transfers;
use super::DbConnection;
use crate::domain::code::Code;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocation_transfers)]
pub struct TransferRow {
    pub id: String,
    pub from_manufacturer_id: String,
    pub to_manufacturer_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    pub quantity: i64,
    pub price_cents: i64,
    pub locked_price_micros: i64,
    pub recipient_price_micros: i64,
    pub actor: String,
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &TransferRow) -> QueryResult<()> {
    diesel::insert_into(allocation_transfers::table)
        .values(row.clone())
        .execute(conn)
        .map(drop)
}

/// Transfers, newest first, after the cursor `before` (a transfer id); only those to or from
/// `manufacturer` when given.
pub fn page(
    conn: &mut DbConnection,
    manufacturer: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<TransferRow>> {
    let mut q = allocation_transfers::table
        .select(TransferRow::as_select())
        .order(allocation_transfers::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = manufacturer {
        q = q.filter(
            allocation_transfers::from_manufacturer_id
                .eq(m.to_owned())
                .or(allocation_transfers::to_manufacturer_id.eq(m.to_owned())),
        );
    }
    if let Some(before) = before {
        q = q.filter(allocation_transfers::id.lt(before.to_owned()));
    }
    q.load(conn)
}
