//! Inventory: lots received, transfers between facilities, signed adjustments. Each writes
//! its journal entry in the same transaction as the stock change.

use super::{fetch_limit, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx};
use crate::db::lots::{LotFilter, LotRow};
use crate::db::materials::MaterialRow;
use crate::db::movements::{AdjustmentRow, TransferRow};
use crate::db::{self, Db, DbConnection};
use crate::domain::code::Code;
use crate::domain::decimal::parse_fixed;
use crate::domain::formats;
use crate::domain::lot::Grade;
use crate::domain::lot::{cost_cents, positive_quantity, LotText, NewLot};
use crate::domain::time;
use crate::domain::validation::text;
use crate::domain::values::{Id, IsoDate, Quantity, Timestamp, UnitPrice};
use crate::ledger::lots::{take_oldest, Pick};
use crate::ledger::{self, accounts, Effective, NewEntry, Posting};
use serde::{Deserialize, Serialize};

/// A material named in a request body: unknown is a validation failure (422), not a 404.
fn material_in_body(conn: &mut DbConnection, code: &str) -> Result<MaterialRow, ServiceError> {
    db::materials::find_by_code(conn, code)?
        .ok_or_else(|| ServiceError::validation("material", format!("no material {code:?}")))
}

fn facility_in_body(
    conn: &mut DbConnection,
    field: &str,
    code: &str,
) -> Result<Code, ServiceError> {
    db::facilities::find_by_code(conn, code)?
        .map(|f| f.code)
        .ok_or_else(|| ServiceError::validation(field, format!("no facility {code:?}")))
}

fn stock_posting(account: String, m: &MaterialRow, amount: i64) -> Posting {
    Posting {
        account,
        asset: m.code.to_string(),
        scale: m.scale.get(),
        amount,
    }
}

/// Adds `quantity` (> 0) of new stock to the material's on-hand figure, refused with a 422
/// on `quantity` when the total would pass what storage holds.
pub(crate) fn add_on_hand(
    conn: &mut DbConnection,
    material: &str,
    quantity: i64,
    scale: u32,
) -> Result<(), ServiceError> {
    if db::materials::change_on_hand(conn, material, quantity)? {
        Ok(())
    } else {
        Err(ServiceError::too_large(
            "quantity",
            format_args!("the on-hand stock of {material}"),
            scale,
        ))
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LotView {
    pub id: Id,
    pub material: Code,
    pub facility: Code,
    pub quantity_received: Quantity,
    pub quantity_on_hand: Quantity,
    /// Purity in percent.
    pub grade: Grade,
    #[schema(pattern = "^([A-Z]{2})?$")]
    pub origin_country: String,
    pub supplier: String,
    pub unit_cost_usd: UnitPrice,
    pub received_at: Timestamp,
    pub created_at: Timestamp,
    /// The lot this one was split from by a transfer.
    pub source_lot_id: Option<Id>,
    pub tranche_id: Option<Id>,
    /// The journal entry that recorded the receipt.
    pub entry_seq: i64,
}

impl LotView {
    pub(crate) fn new(r: LotRow, scale: u32) -> Self {
        Self {
            id: r.id.into(),
            material: r.material_code,
            facility: r.facility_code,
            quantity_received: Quantity::new(r.quantity_received, scale),
            quantity_on_hand: Quantity::new(r.quantity_on_hand, scale),
            grade: r.grade,
            origin_country: r.origin_country,
            supplier: r.supplier,
            unit_cost_usd: UnitPrice(r.unit_cost_micros),
            received_at: Timestamp(r.received_at),
            created_at: Timestamp(r.created_at),
            source_lot_id: r.source_lot_id.map(Id),
            tranche_id: r.tranche_id.map(Id),
            entry_seq: r.entry_seq,
        }
    }
}

/// What the body of `POST /v1/lots` says, before it is checked against the material.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": "1250.5", "grade": "99.5", "origin_country": "AU", "supplier": "Lynas Rare Earths", "unit_cost_usd": "52.5", "received_at": "2026-03-01T12:00:00Z"}))]
pub struct LotRequest {
    #[schema(value_type = formats::Code)]
    pub material: String,
    #[schema(value_type = formats::Code)]
    pub facility: String,
    /// Decimal string in the material's unit, > 0, at most its scale in decimals.
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
    /// Purity in percent, 0 < grade <= 100.
    #[schema(value_type = formats::Decimal)]
    pub grade: String,
    #[schema(value_type = formats::CountryCode)]
    pub origin_country: String,
    #[schema(min_length = 1, max_length = 200, example = "Lynas Rare Earths")]
    pub supplier: String,
    /// USD per unit, at most 6 decimals.
    #[schema(value_type = formats::Decimal)]
    pub unit_cost_usd: String,
    /// RFC 3339; default now; not in the future.
    #[schema(value_type = Option<formats::TimeInput>)]
    pub received_at: Option<String>,
    /// A loan tranche that pays for the lot: quantity × unit_cost_usd (half-even to cents) is
    /// disbursed from it in the same transaction, valued on the date of `received_at`, under
    /// the tranche rules (`tranche_exceeded`, `tranche_not_available`, `facility_not_available`).
    #[schema(value_type = Option<formats::Id>)]
    pub tranche_id: Option<String>,
}

pub async fn receive_lot(db: &Db, ctx: WriteCtx, req: LotRequest) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        let m = material_in_body(conn, &req.material)?;
        let facility = facility_in_body(conn, "facility", &req.facility)?;
        let lot = NewLot::parse(
            &LotText {
                quantity: &req.quantity,
                grade: &req.grade,
                origin_country: &req.origin_country,
                supplier: &req.supplier,
                unit_cost_usd: &req.unit_cost_usd,
                received_at: req.received_at.as_deref(),
            },
            m.scale.get(),
            time::now(),
        )
        .map_err(ServiceError::Validation)?;
        let draw = match &req.tranche_id {
            Some(tranche) => Some(pay_from_tranche(conn, tranche, &lot, m.scale.get())?),
            None => None,
        };
        add_on_hand(conn, &m.code, lot.quantity, m.scale.get())?;
        let id = db::new_id();
        let mut postings = vec![
            stock_posting(accounts::inventory(&facility, &m.code), &m, lot.quantity),
            stock_posting(accounts::supplier(&m.code), &m, -lot.quantity),
        ];
        if let Some(d) = &draw {
            // The supplier is paid from the loan: one entry records the stock and the money.
            postings.push(d.principal_posting());
            postings.push(Posting::usd(accounts::supplier(&m.code), d.amount_cents));
        }
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "lot_received",
                reference: Some(id.clone()),
                effective: Effective::On(IsoDate(lot.received_at.date())),
                postings,
            },
        )?;
        let tranche_id = match draw {
            Some(d) => Some(d.record(conn, Some(id.clone()), entry.seq)?.tranche_id),
            None => None,
        };
        let row = LotRow {
            id,
            material_code: m.code.clone(),
            facility_code: facility,
            quantity_received: lot.quantity,
            quantity_on_hand: lot.quantity,
            grade: lot.grade,
            origin_country: lot.origin_country,
            supplier: lot.supplier,
            unit_cost_micros: lot.unit_cost_micros,
            received_at: lot.received_at,
            created_at: time::now(),
            source_lot_id: None,
            tranche_id,
            entry_seq: entry.seq,
        };
        db::lots::insert(conn, std::slice::from_ref(&row))?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: LotView::new(row, m.scale.get()),
            events: Vec::new(),
        })
    })
    .await
}

/// Draws the lot's cost (quantity × unit cost, half-even to cents) from a tranche, valued
/// on the day the lot was received, under the tranche rules.
fn pay_from_tranche(
    conn: &mut DbConnection,
    tranche: &str,
    lot: &NewLot,
    scale: u32,
) -> Result<super::loans::Draw, ServiceError> {
    let cents = cost_cents(lot.quantity, scale, lot.unit_cost_micros).ok_or_else(|| {
        ServiceError::too_large(
            "unit_cost_usd",
            "the purchase (quantity × unit_cost_usd)",
            accounts::USD_SCALE,
        )
    })?;
    if cents <= 0 {
        return Err(ServiceError::validation(
            "unit_cost_usd",
            "must come to at least a cent when a tranche pays for the lot",
        ));
    }
    super::loans::draw(conn, tranche, cents, lot.received_at.date()).map_err(|e| match e {
        ServiceError::NotFound(_) => {
            ServiceError::validation("tranche_id", format!("no tranche {tranche:?}"))
        }
        other => other,
    })
}

pub async fn get_lot(db: &Db, id: String) -> Result<LotView, ServiceError> {
    db.run(move |conn| {
        let lot = db::lots::find(conn, &id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no lot {id}")))?;
        let m = db::materials::find_by_code(conn, &lot.material_code)?
            .ok_or_else(|| ServiceError::internal("lot without material"))?;
        Ok(LotView::new(lot, m.scale.get()))
    })
    .await
}

pub async fn list_lots(
    db: &Db,
    material: Option<String>,
    facility: Option<String>,
    page: PageRequest,
) -> Result<Page<LotView>, ServiceError> {
    db.run(move |conn| {
        let filter = LotFilter {
            material,
            facility,
            after: page.after.clone(),
        };
        let rows = db::lots::page(conn, &filter, fetch_limit(&page))?;
        let scales = super::Scales::load(conn)?;
        Page::try_from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            |r| {
                let s = scales.of(&r.material_code)?;
                Ok(LotView::new(r, s))
            },
        )
    })
    .await
}

/// Stock taken from a lot (negative) or added to one (positive) by a movement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LotChange {
    pub lot_id: Id,
    pub facility: Code,
    pub quantity: Quantity,
    /// For transfers: the lot created at the destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_lot_id: Option<Id>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InventoryTransferView {
    pub id: Id,
    pub material: Code,
    pub from_facility: Code,
    pub to_facility: Code,
    pub quantity: Quantity,
    /// The source lots drawn, oldest first, and the lots they became.
    pub picks: Vec<LotChange>,
    pub entry_seq: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"material": "NDPR_OXIDE", "from_facility": "NV1", "to_facility": "TX2", "quantity": "100"}))]
pub struct TransferRequest {
    #[schema(value_type = formats::Code)]
    pub material: String,
    #[schema(value_type = formats::Code)]
    pub from_facility: String,
    #[schema(value_type = formats::Code)]
    pub to_facility: String,
    /// Decimal string > 0.
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
}

pub async fn transfer(db: &Db, ctx: WriteCtx, req: TransferRequest) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.sub.clone();
    write(db, ctx, 201, move |conn| {
        let m = material_in_body(conn, &req.material)?;
        let from = facility_in_body(conn, "from_facility", &req.from_facility)?;
        let to = facility_in_body(conn, "to_facility", &req.to_facility)?;
        if from == to {
            return Err(ServiceError::validation(
                "to_facility",
                "must differ from from_facility",
            ));
        }
        let scale = m.scale.get();
        let quantity = positive_quantity(&req.quantity, scale)
            .map_err(|e| ServiceError::validation("quantity", e))?;
        db::materials::lock(conn, &m.code)?;
        let picks = take_oldest(conn, &m.code, Some(&from), quantity, scale)?;
        let id = db::new_id();
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "transfer",
                reference: Some(id.clone()),
                effective: Effective::Recorded,
                postings: vec![
                    stock_posting(accounts::inventory(&from, &m.code), &m, -quantity),
                    stock_posting(accounts::inventory(&to, &m.code), &m, quantity),
                ],
            },
        )?;
        let now = time::now();
        // Each source lot's share moves as a new lot at the destination, keeping its
        // provenance (grade, origin, supplier, cost, receipt time).
        let moved: Vec<LotRow> = picks
            .iter()
            .map(|p| LotRow {
                id: db::new_id(),
                facility_code: to.clone(),
                quantity_received: p.quantity,
                quantity_on_hand: p.quantity,
                created_at: now,
                source_lot_id: Some(p.lot.id.clone()),
                entry_seq: entry.seq,
                ..p.lot.clone()
            })
            .collect();
        db::lots::insert(conn, &moved)?;
        db::movements::insert_transfer(
            conn,
            &TransferRow {
                id: id.clone(),
                material_code: m.code.clone(),
                from_facility: from.clone(),
                to_facility: to.clone(),
                quantity,
                entry_seq: entry.seq,
                created_by: actor.clone(),
                created_at: now,
            },
        )?;
        let changes = picks
            .iter()
            .zip(&moved)
            .map(|(p, new)| LotChange {
                lot_id: p.lot.id.clone().into(),
                facility: from.clone(),
                quantity: Quantity::new(p.quantity, scale),
                new_lot_id: Some(new.id.clone().into()),
            })
            .collect();
        Ok(Effect {
            target: Some(id.clone()),
            body: InventoryTransferView {
                id: id.into(),
                material: m.code.clone(),
                from_facility: from,
                to_facility: to,
                quantity: Quantity::new(quantity, scale),
                picks: changes,
                entry_seq: entry.seq,
                created_at: Timestamp(now),
            },
            events: Vec::new(),
        })
    })
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdjustmentView {
    pub id: Id,
    pub material: Code,
    pub facility: Code,
    /// Signed: negative takes stock out (losses), positive adds (count corrections).
    pub quantity: Quantity,
    pub reason: String,
    /// Lots changed: oldest first for a decrease, the newest lot for an increase.
    pub lots: Vec<LotChange>,
    pub entry_seq: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"material": "NDPR_OXIDE", "facility": "NV1", "quantity": "-2.5", "reason": "Spillage during repacking"}))]
pub struct AdjustmentRequest {
    #[schema(value_type = formats::Code)]
    pub material: String,
    #[schema(value_type = formats::Code)]
    pub facility: String,
    /// Signed decimal string, not zero: negative for losses, positive for count corrections.
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

pub async fn adjust(db: &Db, ctx: WriteCtx, req: AdjustmentRequest) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.sub.clone();
    write(db, ctx, 201, move |conn| {
        let m = material_in_body(conn, &req.material)?;
        let facility = facility_in_body(conn, "facility", &req.facility)?;
        let scale = m.scale.get();
        let reason = text(&req.reason, 1000).map_err(|e| ServiceError::validation("reason", e))?;
        let quantity = parse_fixed(&req.quantity, scale)
            .map_err(|e| e.to_string())
            .and_then(|q| {
                if q == 0 {
                    Err("must not be zero".to_owned())
                } else {
                    Ok(q)
                }
            })
            .map_err(|e| ServiceError::validation("quantity", e))?;
        let changes = if quantity < 0 {
            // Never below zero available: stock held for drawdowns stays untouchable.
            if !db::materials::change_on_hand(conn, &m.code, quantity)? {
                return Err(ServiceError::from(ledger::LedgerError::Short {
                    material: m.code.to_string(),
                    facility: None,
                    requested: -quantity,
                    available: m.on_hand - m.held,
                    scale,
                }));
            }
            let picks = take_oldest(conn, &m.code, Some(&facility), -quantity, scale)?;
            picks
                .iter()
                .map(|p: &Pick| (p.lot.id.clone(), -p.quantity))
                .collect::<Vec<_>>()
        } else {
            add_on_hand(conn, &m.code, quantity, scale)?;
            let newest = db::lots::newest(conn, &m.code, &facility)?.ok_or_else(|| {
                ServiceError::validation(
                    "facility",
                    format!(
                        "{facility} has no lot of {} to correct; receive new stock as a lot",
                        m.code
                    ),
                )
            })?;
            if !db::lots::change_stock(conn, &newest.id, quantity)? {
                return Err(ServiceError::Transient("lot changed concurrently".into()));
            }
            vec![(newest.id, quantity)]
        };
        let id = db::new_id();
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "adjustment",
                reference: Some(id.clone()),
                effective: Effective::Recorded,
                postings: vec![
                    stock_posting(accounts::inventory(&facility, &m.code), &m, quantity),
                    stock_posting(accounts::adjustment(&m.code), &m, -quantity),
                ],
            },
        )?;
        let now = time::now();
        db::movements::insert_adjustment(
            conn,
            &AdjustmentRow {
                id: id.clone(),
                material_code: m.code.clone(),
                facility_code: facility.clone(),
                quantity,
                reason: reason.clone(),
                entry_seq: entry.seq,
                created_by: actor.clone(),
                created_at: now,
            },
        )?;
        let lots = changes
            .into_iter()
            .map(|(lot_id, q)| LotChange {
                lot_id: lot_id.into(),
                facility: facility.clone(),
                quantity: Quantity::new(q, scale),
                new_lot_id: None,
            })
            .collect();
        Ok(Effect {
            target: Some(id.clone()),
            body: AdjustmentView {
                id: id.into(),
                material: m.code.clone(),
                facility,
                quantity: Quantity::new(quantity, scale),
                reason,
                lots,
                entry_seq: entry.seq,
                created_at: Timestamp(now),
            },
            events: Vec::new(),
        })
    })
    .await
}
