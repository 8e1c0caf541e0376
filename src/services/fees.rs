//! Fees manufacturers pay: fees paid at once (entry or carrying), and carrying fees accrued
//! on their allocations into a receivable they pay off; each a journal entry in USD.

use super::{write, Effect, Reply, ServiceError, WriteCtx};
use crate::db::fees::{AccrualRow, FeeRow, PaymentRow, RunRow};
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::carrying_fee::{self, Level, Run};
use crate::domain::code::Code;
use crate::domain::decimal::to_decimal;
use crate::domain::error_code::ErrorCode;
use crate::domain::fee::{FeeKind, NewFee, NewPayment};
use crate::domain::loan::RATE_SCALE;
use crate::domain::time;
use crate::domain::values::{Id, IsoDate, Quantity, Rate, Timestamp, UnitPrice, Usd};
use crate::ledger::{self, accounts, Effective, LedgerError, NewEntry, Posting};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeeView {
    pub id: Id,
    pub manufacturer_id: Id,
    pub kind: FeeKind,
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
            kind: fee.kind,
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

/// What an accrual posted for one manufacturer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ManufacturerAccrualView {
    pub manufacturer_id: Id,
    /// Posted to `receivable:fees:<manufacturer_id>` against `income:fees:carrying`.
    pub fees_accrued_usd: Usd,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeeAccrualView {
    /// The date carrying fees are now accrued through (the days before it): the later of the
    /// one asked for and the one reached before.
    pub through: IsoDate,
    /// What this accrual posted, over every manufacturer.
    pub fees_accrued_usd: Usd,
    /// The manufacturers it posted a non-zero amount for, by id.
    pub manufacturers: Vec<ManufacturerAccrualView>,
}

/// Moves carrying fees on to `through`: for every allocation, its cumulative fee to
/// `through` (each run's days at the rate in force when it ran, this run's at `rate`),
/// rounded, less what was posted; one journal entry per manufacturer with a non-zero amount,
/// effective the day before `through`. Through a date already reached: posts 0.
pub async fn accrue(
    db: &Db,
    ctx: WriteCtx,
    rate: Rate,
    through: NaiveDate,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 200, move |conn| {
        let reached = db::fees::lock_accrual_state(conn)?;
        let target = Some(IsoDate(through).to_string());
        if let Some(reached) = reached.filter(|r| *r >= through) {
            return Ok(Effect {
                target,
                body: FeeAccrualView {
                    through: IsoDate(reached),
                    fees_accrued_usd: Usd(0),
                    manufacturers: Vec::new(),
                },
                events: Vec::new(),
            });
        }
        let last_day = through.pred_opt().ok_or_else(too_far)?;
        let mut runs = runs(conn, None)?;
        runs.push(Run {
            through,
            rate: to_decimal(rate.0, RATE_SCALE),
        });
        let posted: HashMap<(String, String), i64> = db::fees::posted(conn)?
            .into_iter()
            .map(|(m, code, cents)| ((m, code), cents))
            .collect();
        let mut scales = Scales::default();
        let mut by_manufacturer: BTreeMap<String, i64> = BTreeMap::new();
        for ((manufacturer, material), levels) in allocations(conn, None)? {
            let scale = scales.of(conn, &material)?;
            let cumulative =
                carrying_fee::cumulative_cents(&levels, &runs, scale).ok_or_else(too_far)?;
            let key = (manufacturer, String::from(material));
            let before = posted.get(&key).copied().unwrap_or(0);
            if cumulative == before {
                continue;
            }
            db::fees::set_posted(conn, &key.0, &key.1, cumulative)?;
            let sum = by_manufacturer.entry(key.0).or_default();
            *sum = sum.checked_add(cumulative - before).ok_or_else(too_far)?;
        }
        let total = by_manufacturer
            .values()
            .try_fold(0i64, |t, v| t.checked_add(*v))
            .ok_or_else(too_far)?;
        db::fees::insert_run(
            conn,
            &RunRow {
                through,
                rate_nanos: rate.0,
                fees_cents: total,
                created_at: time::now(),
            },
        )?;
        db::fees::set_accrued_through(conn, through)?;
        let mut rows: Vec<AccrualRow> = by_manufacturer
            .into_iter()
            .map(|(manufacturer_id, amount_cents)| AccrualRow {
                id: db::new_id(),
                through,
                manufacturer_id,
                amount_cents,
                entry_seq: 0,
            })
            .collect();
        let entries = rows
            .iter()
            .map(|a| NewEntry {
                kind: "carrying_fee",
                reference: Some(a.id.clone()),
                effective: Effective::On(IsoDate(last_day)),
                postings: vec![
                    Posting::usd(
                        accounts::fees_receivable(&a.manufacturer_id),
                        a.amount_cents,
                    ),
                    Posting::usd(
                        accounts::fee_income(FeeKind::Carrying.as_str()),
                        -a.amount_cents,
                    ),
                ],
            })
            .collect();
        let appended = ledger::append_all(conn, entries).map_err(|e| match e {
            LedgerError::TooLarge { .. } => too_far(),
            other => other.into(),
        })?;
        for (row, entry) in rows.iter_mut().zip(&appended) {
            row.entry_seq = entry.seq;
        }
        db::fees::insert_accruals(conn, &rows)?;
        Ok(Effect {
            target,
            body: FeeAccrualView {
                through: IsoDate(through),
                fees_accrued_usd: Usd(total),
                manufacturers: rows
                    .into_iter()
                    .map(|a| ManufacturerAccrualView {
                        manufacturer_id: a.manufacturer_id.into(),
                        fees_accrued_usd: Usd(a.amount_cents),
                    })
                    .collect(),
            },
            events: Vec::new(),
        })
    })
    .await
}

fn too_far() -> ServiceError {
    ServiceError::validation(
        "through",
        "is too far ahead: the carrying fees would not fit in storage",
    )
}

/// The accrual runs through `last` (all with `None`), oldest first, as the arithmetic takes
/// them.
fn runs(conn: &mut DbConnection, last: Option<NaiveDate>) -> Result<Vec<Run>, ServiceError> {
    Ok(db::fees::runs(conn, last)?
        .into_iter()
        .map(|r| Run {
            through: r.through,
            rate: to_decimal(r.rate_nanos, RATE_SCALE),
        })
        .collect())
}

/// Every allocation's history (of `manufacturer`'s only, when given) as the fees read it:
/// by (manufacturer, material), the changes in the order they were made.
fn allocations(
    conn: &mut DbConnection,
    manufacturer: Option<&str>,
) -> Result<BTreeMap<(String, Code), Vec<Level>>, ServiceError> {
    let mut by_allocation: BTreeMap<(String, Code), Vec<Level>> = BTreeMap::new();
    for r in db::fees::levels(conn, manufacturer)? {
        by_allocation
            .entry((r.manufacturer_id, r.material_code))
            .or_default()
            .push(Level {
                effective: r.effective_date,
                quantity: r.quantity,
                price_micros: r.locked_price_micros,
            });
    }
    Ok(by_allocation)
}

/// Materials' scales, each read once.
#[derive(Default)]
struct Scales(HashMap<String, u32>);

impl Scales {
    fn of(&mut self, conn: &mut DbConnection, code: &str) -> Result<u32, ServiceError> {
        if let Some(scale) = self.0.get(code) {
            return Ok(*scale);
        }
        let scale = super::scale_of(conn, code)?;
        self.0.insert(code.to_owned(), scale);
        Ok(scale)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub id: Id,
    pub manufacturer_id: Id,
    pub amount_usd: Usd,
    /// The day the money was received: the journal entry's effective date.
    pub value_date: IsoDate,
    pub memo: Option<String>,
    pub created_at: Timestamp,
}

/// Records a payment of carrying fees: `cash:reserve` up, the manufacturer's receivable
/// down. The receivable's own guarded update refuses to take it below zero, so concurrent
/// payments cannot pay more than is due (`payment_exceeds_due`).
pub async fn pay(
    db: &Db,
    ctx: WriteCtx,
    manufacturer_id: String,
    payment: NewPayment,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        super::manufacturers::find(conn, &manufacturer_id)?;
        let id = db::new_id();
        let receivable = accounts::fees_receivable(&manufacturer_id);
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "fee_payment",
                reference: Some(id.clone()),
                effective: Effective::On(IsoDate(payment.value_date)),
                postings: vec![
                    Posting::usd(accounts::CASH_RESERVE, payment.amount_cents),
                    Posting::usd(receivable.clone(), -payment.amount_cents),
                ],
            },
        )
        .map_err(|e| match e {
            LedgerError::Overdrawn {
                account, balance, ..
            } if account == receivable => exceeds_due(payment.amount_cents, balance),
            other => other.into(),
        })?;
        let row = PaymentRow {
            id,
            manufacturer_id: manufacturer_id.clone(),
            amount_cents: payment.amount_cents,
            value_date: payment.value_date,
            memo: payment.memo.clone(),
            entry_seq: entry.seq,
            created_at: time::now(),
        };
        db::fees::insert_payment(conn, &row)?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: PaymentView {
                id: row.id.into(),
                manufacturer_id: row.manufacturer_id.into(),
                amount_usd: Usd(row.amount_cents),
                value_date: IsoDate(row.value_date),
                memo: row.memo,
                created_at: Timestamp(row.created_at),
            },
            events: Vec::new(),
        })
    })
    .await
}

fn exceeds_due(requested: i64, due: i64) -> ServiceError {
    ServiceError::Rule {
        code: ErrorCode::PaymentExceedsDue,
        detail: format!(
            "a payment of {} is more than the {} of carrying fees due",
            Usd(requested),
            Usd(due)
        ),
        figures: json!({"requested_usd": Usd(requested), "balance_due_usd": Usd(due)}),
    }
}

/// One allocation in a statement: its terms in force at the end of `as_of` and its carrying
/// fees accrued to then.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementAllocationView {
    pub material: Code,
    pub quantity: Quantity,
    pub locked_price_usd: UnitPrice,
    /// quantity × locked_price_usd, rounded half-even to cents.
    pub locked_value_usd: Usd,
    /// Its carrying fees posted by the accruals effective on or before `as_of`.
    pub carrying_fees_accrued_usd: Usd,
}

/// A manufacturer's carrying fees at the end of a day, on the effective basis.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatementView {
    pub manufacturer_id: Id,
    pub as_of: IsoDate,
    /// The accruals effective on or before `as_of` (each the day before its `through`) had
    /// accrued fees for the days before this date; null when none had.
    pub fees_accrued_through: Option<IsoDate>,
    pub fees_accrued_usd: Usd,
    /// Payments with value dates on or before `as_of`.
    pub fees_paid_usd: Usd,
    /// fees_accrued_usd - fees_paid_usd: `receivable:fees:<manufacturer_id>` on the effective
    /// basis.
    pub balance_due_usd: Usd,
    /// By material: those with terms in force on `as_of` or fees accrued.
    pub allocations: Vec<StatementAllocationView>,
}

/// Manufacturer `id`'s statement as `actor` may see it (a manufacturer sees only its own),
/// read from one snapshot.
pub async fn statement(
    db: &Db,
    actor: Actor,
    manufacturer_id: String,
    as_of: NaiveDate,
) -> Result<StatementView, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let m = super::manufacturers::find_visible(conn, &actor, &manufacturer_id)?;
            // Accruals effective on or before as_of: those through the day after it.
            let last_through = as_of.succ_opt().unwrap_or(as_of);
            let runs = runs(conn, Some(last_through))?;
            let accrued = db::fees::fees_accrued(conn, &m.id, last_through)?;
            let paid = db::fees::paid_as_of(conn, &m.id, as_of)?;
            let mut scales = Scales::default();
            let mut rows = Vec::new();
            for ((_, material), levels) in allocations(conn, Some(&m.id))? {
                let scale = scales.of(conn, &material)?;
                let fees = carrying_fee::cumulative_cents(&levels, &runs, scale)
                    .ok_or_else(|| ServiceError::internal("carrying fees posted overflow"))?;
                let terms = carrying_fee::in_force(&levels, as_of);
                if terms.is_none() && fees == 0 {
                    continue;
                }
                let (quantity, price) = terms.map_or((0, 0), |t| (t.quantity, t.price_micros));
                let value =
                    carrying_fee::locked_value_cents(quantity, price, scale).ok_or_else(|| {
                        ServiceError::internal("a locked value beyond the stored range")
                    })?;
                rows.push(StatementAllocationView {
                    material,
                    quantity: Quantity::new(quantity, scale),
                    locked_price_usd: UnitPrice(price),
                    locked_value_usd: Usd(value),
                    carrying_fees_accrued_usd: Usd(fees),
                });
            }
            Ok(StatementView {
                manufacturer_id: m.id.into(),
                as_of: IsoDate(as_of),
                fees_accrued_through: runs.last().map(|r| IsoDate(r.through)),
                fees_accrued_usd: Usd(accrued),
                fees_paid_usd: Usd(paid),
                balance_due_usd: Usd(accrued - paid),
                allocations: rows,
            })
        })
    })
    .await
}
