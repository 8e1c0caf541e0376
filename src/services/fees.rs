//! Fees manufacturers pay: entry fees and carrying fees, each a journal entry in USD.

use super::{write, Effect, Reply, ServiceError, WriteCtx};
use crate::db::fees::FeeRow;
use crate::db::{self, Db};
use crate::domain::fee::NewFee;
use crate::domain::formats;
use crate::domain::time;
use crate::domain::values::{Id, Timestamp, Usd};
use crate::ledger::{self, accounts, Effective, NewEntry, Posting};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeeView {
    pub id: Id,
    pub manufacturer_id: Id,
    #[schema(value_type = formats::FeeKind)]
    pub kind: String,
    pub amount_usd: Usd,
    pub memo: Option<String>,
    pub created_at: Timestamp,
}

impl From<FeeRow> for FeeView {
    fn from(r: FeeRow) -> Self {
        Self {
            id: r.id.into(),
            manufacturer_id: r.manufacturer_id.into(),
            kind: r.kind,
            amount_usd: Usd(r.amount_cents),
            memo: r.memo,
            created_at: Timestamp(r.created_at),
        }
    }
}

/// Records a fee paid by a manufacturer into the reserve's cash.
pub async fn charge(
    db: &Db,
    ctx: WriteCtx,
    manufacturer_id: String,
    fee: NewFee,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        super::manufacturers::find(conn, &manufacturer_id)?;
        let id = db::new_id();
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "fee",
                reference: Some(id.clone()),
                effective: Effective::Recorded,
                postings: vec![
                    Posting::usd(accounts::CASH_RESERVE, fee.amount_cents),
                    Posting::usd(accounts::fee_income(fee.kind.as_str()), -fee.amount_cents),
                ],
            },
        )?;
        let row = FeeRow {
            id,
            manufacturer_id: manufacturer_id.clone(),
            kind: fee.kind.as_str().to_owned(),
            amount_cents: fee.amount_cents,
            memo: fee.memo.clone(),
            entry_seq: entry.seq,
            created_at: time::now(),
        };
        db::fees::insert(conn, &row)?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: FeeView::from(row),
            events: Vec::new(),
        })
    })
    .await
}
