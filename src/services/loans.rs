//! Loan facilities: tranches of their commitment, disbursements, interest accruals and
//! repayments, each movement a journal entry in USD.
//!
//! Every movement of a facility first takes the facility's row lock (a version bump), so what
//! it reads afterwards is committed and stays so until it commits. No movement may be dated
//! before the date interest has been accrued through: interest once posted never needs
//! restating, and each accrual posts the cumulative interest, rounded, minus what was posted.
//! A write appends one journal entry (a repayment carries the interest it posts), so the hash
//! chain's lock stays the last one its transaction takes.

use super::{fetch_limit, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx};
use crate::db::loans::{
    AccrualRow, AllocationRow, DisbursementRow, LoanFacilityRow, RepaymentRow, TrancheRow,
};
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::daycount::DayCount;
use crate::domain::decimal::to_decimal;
use crate::domain::error_code::ErrorCode;
use crate::domain::interest::{self, PrincipalChange, Terms};
use crate::domain::loan::LoanKind;
use crate::domain::loan::{split_repayment, Movement, NewLoanFacility, NewTranche, RATE_SCALE};
use crate::domain::time::{self, format_date};
use crate::domain::values::{Id, IsoDate, Rate, Timestamp, Usd};
use crate::ledger::{self, accounts, Effective, NewEntry, Posting};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// A loan facility as defined, with what has been tranched and posted so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoanFacilityView {
    pub id: Id,
    #[schema(example = "Export-Import Bank of the United States")]
    pub lender: String,
    pub kind: LoanKind,
    pub commitment_usd: Usd,
    /// A yearly fraction: `0.0475` is 4.75 %.
    pub annual_rate: Rate,
    pub day_count: DayCount,
    /// The last value date a disbursement may have (YYYY-MM-DD).
    pub availability_end: IsoDate,
    pub maturity_date: IsoDate,
    /// The sum of the tranches' amounts.
    pub tranched_usd: Usd,
    /// Interest has been posted for the days before this date; no disbursement or repayment
    /// may be dated earlier. Null before the first accrual.
    pub accrued_through: Option<IsoDate>,
    /// Interest posted to the ledger so far.
    pub interest_posted_usd: Usd,
    pub created_at: Timestamp,
}

impl From<LoanFacilityRow> for LoanFacilityView {
    fn from(r: LoanFacilityRow) -> Self {
        Self {
            id: r.id.into(),
            lender: r.lender,
            kind: r.kind,
            commitment_usd: Usd(r.commitment_cents),
            annual_rate: Rate(r.annual_rate_nanos),
            day_count: r.day_count,
            availability_end: IsoDate(r.availability_end),
            maturity_date: IsoDate(r.maturity_date),
            tranched_usd: Usd(r.tranched_cents),
            accrued_through: r.accrued_through.map(IsoDate),
            interest_posted_usd: Usd(r.interest_posted_cents),
            created_at: Timestamp(r.created_at),
        }
    }
}

/// A tranche with its figures: as of the statement's date in a statement, zero when created.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrancheView {
    pub id: Id,
    pub facility_id: Id,
    pub amount_usd: Usd,
    /// The first value date a disbursement may have (YYYY-MM-DD).
    pub available_from: IsoDate,
    pub purpose: String,
    pub drawn_usd: Usd,
    /// amount - drawn
    pub undrawn_usd: Usd,
    /// drawn - principal repaid
    pub principal_outstanding_usd: Usd,
    pub created_at: Timestamp,
}

/// A tranche and the money moved on it up to some date.
struct TrancheFigures {
    row: TrancheRow,
    drawn: i64,
    repaid: i64,
}

impl TrancheFigures {
    fn outstanding(&self) -> i64 {
        self.drawn - self.repaid
    }
}

impl From<TrancheFigures> for TrancheView {
    fn from(t: TrancheFigures) -> Self {
        let outstanding = t.outstanding();
        let r = t.row;
        Self {
            id: r.id.into(),
            facility_id: r.facility_id.into(),
            amount_usd: Usd(r.amount_cents),
            available_from: IsoDate(r.available_from),
            purpose: r.purpose,
            drawn_usd: Usd(t.drawn),
            undrawn_usd: Usd(r.amount_cents - t.drawn),
            principal_outstanding_usd: Usd(outstanding),
            created_at: Timestamp(r.created_at),
        }
    }
}

/// A facility as of a date: every movement with a value date on or before it, and the
/// interest to it (the days before it), posted or not.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoanStatementView {
    #[serde(flatten)]
    pub facility: LoanFacilityView,
    pub as_of: IsoDate,
    pub drawn_usd: Usd,
    /// commitment - drawn
    pub undrawn_usd: Usd,
    pub principal_outstanding_usd: Usd,
    /// Interest to `as_of` less the interest repayments dated on or before it paid.
    pub interest_accrued_unpaid_usd: Usd,
    /// Oldest first: by available_from, then creation order (the order repayments follow).
    pub tranches: Vec<TrancheView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisbursementView {
    pub id: Id,
    pub tranche_id: Id,
    pub facility_id: Id,
    pub amount_usd: Usd,
    /// Interest runs from 00:00 of this date.
    pub value_date: IsoDate,
    /// What the money paid for (a lot), when recorded with it.
    pub reference: Option<Id>,
    pub created_at: Timestamp,
}

impl From<DisbursementRow> for DisbursementView {
    fn from(r: DisbursementRow) -> Self {
        Self {
            id: r.id.into(),
            tranche_id: r.tranche_id.into(),
            facility_id: r.facility_id.into(),
            amount_usd: Usd(r.amount_cents),
            value_date: IsoDate(r.value_date),
            reference: r.reference.map(Id),
            created_at: Timestamp(r.created_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccrualView {
    /// What this accrual posted: the interest to `accrued_through` not posted before.
    pub interest_posted_usd: Usd,
    /// The date interest is now posted through (the later of the one asked for and the one
    /// reached before).
    pub accrued_through: IsoDate,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RepaymentView {
    pub id: Id,
    pub facility_id: Id,
    pub amount_usd: Usd,
    pub value_date: IsoDate,
    /// The part that paid interest (paid first).
    pub interest_usd: Usd,
    /// The part that repaid principal, oldest tranche first.
    pub principal_usd: Usd,
    pub tranches: Vec<PrincipalRepaidView>,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrincipalRepaidView {
    pub tranche_id: Id,
    pub principal_usd: Usd,
}

pub async fn create_facility(
    db: &Db,
    ctx: WriteCtx,
    f: NewLoanFacility,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        let row = LoanFacilityRow {
            id: db::new_id(),
            lender: f.lender.clone(),
            kind: f.kind,
            commitment_cents: f.commitment_cents,
            annual_rate_nanos: f.annual_rate,
            day_count: f.day_count,
            availability_end: f.availability_end,
            maturity_date: f.maturity_date,
            tranched_cents: 0,
            accrued_through: None,
            interest_posted_cents: 0,
            interest_paid_cents: 0,
            version: 0,
            created_at: time::now(),
        };
        db::loans::insert_facility(conn, &row)?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: LoanFacilityView::from(row),
            events: Vec::new(),
        })
    })
    .await
}

/// Adds a tranche while the tranches stay within the commitment (`commitment_exceeded`).
pub async fn create_tranche(
    db: &Db,
    ctx: WriteCtx,
    facility_id: String,
    t: NewTranche,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        let facility = find_facility(conn, &facility_id)?;
        if t.available_from > facility.availability_end {
            return Err(ServiceError::validation(
                "available_from",
                format!(
                    "must not be after the facility's availability_end, {}",
                    IsoDate(facility.availability_end)
                ),
            ));
        }
        if !db::loans::add_tranched(conn, &facility_id, t.amount_cents)? {
            let f = find_facility(conn, &facility_id)?;
            let left = f.commitment_cents - f.tranched_cents;
            return Err(ServiceError::Rule {
                code: ErrorCode::CommitmentExceeded,
                detail: format!(
                    "a tranche of {} would take the tranches over the commitment: {} of it \
                     is left",
                    Usd(t.amount_cents),
                    Usd(left)
                ),
                figures: json!({
                    "requested_usd": Usd(t.amount_cents),
                    "commitment_usd": Usd(f.commitment_cents),
                    "tranched_usd": Usd(f.tranched_cents),
                    "untranched_usd": Usd(left),
                }),
            });
        }
        let row = TrancheRow {
            id: db::new_id(),
            facility_id: facility_id.clone(),
            amount_cents: t.amount_cents,
            available_from: t.available_from,
            purpose: t.purpose.clone(),
            drawn_cents: 0,
            created_at: time::now(),
        };
        db::loans::insert_tranche(conn, &row)?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: TrancheView::from(TrancheFigures {
                row,
                drawn: 0,
                repaid: 0,
            }),
            events: Vec::new(),
        })
    })
    .await
}

pub async fn disburse(
    db: &Db,
    ctx: WriteCtx,
    tranche_id: String,
    m: Movement,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        let draw = draw(conn, &tranche_id, m.amount_cents, m.value_date)?;
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "loan_disbursement",
                reference: Some(draw.id.clone()),
                effective: Effective::On(IsoDate(m.value_date)),
                postings: vec![
                    Posting::usd(accounts::CASH_RESERVE, draw.amount_cents),
                    draw.principal_posting(),
                ],
            },
        )?;
        let row = draw.record(conn, None, entry.seq)?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: DisbursementView::from(row),
            events: Vec::new(),
        })
    })
    .await
}

/// A disbursement decided and guarded but not yet in the journal: its principal posting
/// goes into the caller's entry (a lot bought with it records stock and money in one), then
/// `record` keeps it.
pub struct Draw {
    pub id: String,
    tranche_id: String,
    facility_id: String,
    pub amount_cents: i64,
    value_date: NaiveDate,
}

impl Draw {
    /// What the facility now owes.
    pub fn principal_posting(&self) -> Posting {
        Posting::usd(
            accounts::loan_principal(&self.facility_id),
            -self.amount_cents,
        )
    }

    /// Stores the disbursement, recorded by the journal entry `entry_seq`.
    pub fn record(
        self,
        conn: &mut DbConnection,
        reference: Option<String>,
        entry_seq: i64,
    ) -> Result<DisbursementRow, ServiceError> {
        let row = DisbursementRow {
            id: self.id,
            tranche_id: self.tranche_id,
            facility_id: self.facility_id,
            amount_cents: self.amount_cents,
            value_date: self.value_date,
            reference,
            entry_seq,
            created_at: time::now(),
        };
        db::loans::insert_disbursement(conn, &row)?;
        Ok(row)
    }
}

/// Draws `amount_cents` from a tranche with value date `value_date`, inside the caller's
/// write transaction, under the tranche rules: `tranche_not_available` before the
/// tranche's available_from, `facility_not_available` after the facility's
/// availability_end, `tranche_exceeded` beyond its undrawn amount.
pub fn draw(
    conn: &mut DbConnection,
    tranche_id: &str,
    amount_cents: i64,
    value_date: NaiveDate,
) -> Result<Draw, ServiceError> {
    if amount_cents <= 0 {
        return Err(ServiceError::validation("amount_usd", "must be above zero"));
    }
    let tranche = db::loans::find_tranche(conn, tranche_id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no tranche {tranche_id}")))?;
    let facility = find_facility(conn, &tranche.facility_id)?;
    if value_date < tranche.available_from {
        return Err(ServiceError::Rule {
            code: ErrorCode::TrancheNotAvailable,
            detail: format!(
                "the tranche may be drawn from {}, not on {}",
                IsoDate(tranche.available_from),
                IsoDate(value_date)
            ),
            figures: json!({
                "value_date": IsoDate(value_date),
                "available_from": IsoDate(tranche.available_from),
            }),
        });
    }
    if value_date > facility.availability_end {
        return Err(ServiceError::Rule {
            code: ErrorCode::FacilityNotAvailable,
            detail: format!(
                "the facility could be drawn until {}, not on {}",
                IsoDate(facility.availability_end),
                IsoDate(value_date)
            ),
            figures: json!({
                "value_date": IsoDate(value_date),
                "availability_end": IsoDate(facility.availability_end),
            }),
        });
    }
    lock_for_movement(conn, &facility.id, value_date)?;
    if !db::loans::draw(conn, tranche_id, amount_cents)? {
        let t = db::loans::find_tranche(conn, tranche_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no tranche {tranche_id}")))?;
        let undrawn = t.amount_cents - t.drawn_cents;
        return Err(ServiceError::Rule {
            code: ErrorCode::TrancheExceeded,
            detail: format!(
                "{} requested, {} of the tranche is undrawn",
                Usd(amount_cents),
                Usd(undrawn)
            ),
            figures: json!({
                "requested_usd": Usd(amount_cents),
                "tranche_usd": Usd(t.amount_cents),
                "drawn_usd": Usd(t.drawn_cents),
                "undrawn_usd": Usd(undrawn),
            }),
        });
    }
    Ok(Draw {
        id: db::new_id(),
        tranche_id: tranche_id.to_owned(),
        facility_id: facility.id,
        amount_cents,
        value_date,
    })
}

/// Posts the interest to `through` not posted yet. Through a date already reached: posts 0.
pub async fn accrue(
    db: &Db,
    ctx: WriteCtx,
    facility_id: String,
    through: NaiveDate,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 200, move |conn| {
        if !db::loans::lock_facility(conn, &facility_id)? {
            return Err(no_facility(&facility_id));
        }
        let mut facility = find_facility(conn, &facility_id)?;
        let mut posted = 0;
        if let Some(mut accrual) = accrue_interest(conn, &mut facility, through, "through")? {
            posted = accrual.interest_cents;
            if posted != 0 {
                let entry = ledger::append(
                    conn,
                    NewEntry {
                        kind: "loan_interest",
                        reference: Some(accrual.id.clone()),
                        // The interest covers the days before `through`.
                        effective: Effective::On(IsoDate(through.pred_opt().unwrap_or(through))),
                        postings: interest_postings(&facility_id, posted),
                    },
                )?;
                accrual.entry_seq = Some(entry.seq);
            }
            db::loans::insert_accrual(conn, &accrual)?;
        }
        // Reached now, or before: `through` or later.
        let accrued_through = facility.accrued_through.unwrap_or(through);
        Ok(Effect {
            target: Some(facility_id.clone()),
            body: AccrualView {
                interest_posted_usd: Usd(posted),
                accrued_through: IsoDate(accrued_through),
            },
            events: Vec::new(),
        })
    })
    .await
}

/// Pays the interest to the value date not yet paid (posting it first), then principal, the
/// oldest tranche first; more than is owed: `repayment_exceeds_outstanding`. The interest
/// posted and the repayment are one journal entry.
pub async fn repay(
    db: &Db,
    ctx: WriteCtx,
    facility_id: String,
    m: Movement,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        lock_for_movement(conn, &facility_id, m.value_date)?;
        let mut facility = find_facility(conn, &facility_id)?;
        let accrual = accrue_interest(conn, &mut facility, m.value_date, "value_date")?;
        let interest_due = facility.interest_posted_cents - facility.interest_paid_cents;
        let tranches = tranche_figures(conn, &facility_id, m.value_date)?;
        let owed: Vec<i64> = tranches.iter().map(TrancheFigures::outstanding).collect();
        let principal_outstanding: i64 = owed.iter().sum();
        let split = split_repayment(m.amount_cents, interest_due, &owed).ok_or_else(|| {
            let total = interest_due + principal_outstanding;
            ServiceError::Rule {
                code: ErrorCode::RepaymentExceedsOutstanding,
                detail: format!(
                    "{} offered, {} is owed on {}",
                    Usd(m.amount_cents),
                    Usd(total),
                    IsoDate(m.value_date)
                ),
                figures: json!({
                    "requested_usd": Usd(m.amount_cents),
                    "interest_due_usd": Usd(interest_due),
                    "principal_outstanding_usd": Usd(principal_outstanding),
                    "outstanding_usd": Usd(total),
                }),
            }
        })?;
        let principal = m.amount_cents - split.interest;
        db::loans::add_interest_paid(conn, &facility_id, split.interest)?;
        let id = db::new_id();
        let mut postings = vec![
            Posting::usd(accounts::loan_interest(&facility_id), split.interest),
            Posting::usd(accounts::loan_principal(&facility_id), principal),
            Posting::usd(accounts::CASH_RESERVE, -m.amount_cents),
        ];
        if let Some(a) = &accrual {
            postings.extend(interest_postings(&facility_id, a.interest_cents));
        }
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "loan_repayment",
                reference: Some(id.clone()),
                effective: Effective::On(IsoDate(m.value_date)),
                postings,
            },
        )?;
        if let Some(mut a) = accrual {
            a.entry_seq = (a.interest_cents != 0).then_some(entry.seq);
            db::loans::insert_accrual(conn, &a)?;
        }
        let allocations: Vec<AllocationRow> = tranches
            .iter()
            .zip(&split.principal)
            .filter(|(_, cents)| **cents > 0)
            .map(|(t, cents)| AllocationRow {
                repayment_id: id.clone(),
                tranche_id: t.row.id.clone(),
                principal_cents: *cents,
            })
            .collect();
        let row = RepaymentRow {
            id: id.clone(),
            facility_id: facility_id.clone(),
            amount_cents: m.amount_cents,
            value_date: m.value_date,
            interest_cents: split.interest,
            principal_cents: principal,
            entry_seq: entry.seq,
            created_at: time::now(),
        };
        db::loans::insert_repayment(conn, &row, &allocations)?;
        Ok(Effect {
            target: Some(id),
            body: RepaymentView {
                id: row.id.into(),
                facility_id: row.facility_id.into(),
                amount_usd: Usd(row.amount_cents),
                value_date: IsoDate(row.value_date),
                interest_usd: Usd(row.interest_cents),
                principal_usd: Usd(row.principal_cents),
                tranches: allocations
                    .into_iter()
                    .map(|a| PrincipalRepaidView {
                        tranche_id: a.tranche_id.into(),
                        principal_usd: Usd(a.principal_cents),
                    })
                    .collect(),
                created_at: Timestamp(row.created_at),
            },
            events: Vec::new(),
        })
    })
    .await
}

pub async fn list(db: &Db, page: PageRequest) -> Result<Page<LoanFacilityView>, ServiceError> {
    db.run(move |conn| {
        let rows = db::loans::page_facilities(conn, page.after.as_deref(), fetch_limit(&page))?;
        Ok(Page::from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            LoanFacilityView::from,
        ))
    })
    .await
}

/// The facility as of `as_of`, read from one snapshot.
pub async fn statement(
    db: &Db,
    facility_id: String,
    as_of: NaiveDate,
) -> Result<LoanStatementView, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let facility = find_facility(conn, &facility_id)?;
            let owed = owed_as_of(conn, &facility, as_of)?;
            let drawn: i64 = owed.tranches.iter().map(|t| t.drawn).sum();
            Ok(LoanStatementView {
                as_of: IsoDate(as_of),
                drawn_usd: Usd(drawn),
                undrawn_usd: Usd(facility.commitment_cents - drawn),
                principal_outstanding_usd: Usd(owed.principal_outstanding()),
                interest_accrued_unpaid_usd: Usd(owed.interest_unpaid),
                tranches: owed.tranches.into_iter().map(TrancheView::from).collect(),
                facility: LoanFacilityView::from(facility),
            })
        })
    })
    .await
}

/// What a facility owes as of a date, as its statement shows it: its tranches' figures with
/// value dates on or before `as_of`, and the interest to `as_of` (posted or not) less the
/// interest paid by then.
pub(crate) struct Owed {
    tranches: Vec<TrancheFigures>,
    pub interest_unpaid: i64,
}

impl Owed {
    pub fn principal_outstanding(&self) -> i64 {
        self.tranches.iter().map(TrancheFigures::outstanding).sum()
    }
}

/// The statement's figures of `facility` as of `as_of` (the valuation report reads the same).
pub(crate) fn owed_as_of(
    conn: &mut DbConnection,
    facility: &LoanFacilityRow,
    as_of: NaiveDate,
) -> Result<Owed, ServiceError> {
    let tranches = tranche_figures(conn, &facility.id, as_of)?;
    let changes = db::loans::principal_changes(conn, &facility.id, as_of)?;
    let interest = interest_to(facility, &changes, as_of, "as_of")?;
    let interest_paid = db::loans::interest_paid_as_of(conn, &facility.id, as_of)?;
    Ok(Owed {
        tranches,
        interest_unpaid: interest - interest_paid,
    })
}

fn no_facility(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("no loan facility {id}"))
}

fn find_facility(conn: &mut DbConnection, id: &str) -> Result<LoanFacilityRow, ServiceError> {
    db::loans::find_facility(conn, id)?.ok_or_else(|| no_facility(id))
}

/// Takes the facility's lock for a movement dated `value_date`; a date before the one
/// interest has been accrued through is refused, an unknown facility is not found.
fn lock_for_movement(
    conn: &mut DbConnection,
    facility_id: &str,
    value_date: NaiveDate,
) -> Result<(), ServiceError> {
    if db::loans::lock_facility_for_value_date(conn, facility_id, value_date)? {
        return Ok(());
    }
    let accrued_through = find_facility(conn, facility_id)?.accrued_through;
    Err(ServiceError::validation(
        "value_date",
        format!(
            "must not be before {}, the date the facility's interest has been accrued through",
            accrued_through
                .as_ref()
                .map(format_date)
                .unwrap_or_default()
        ),
    ))
}

/// Moves the facility's interest on to `through`, when that is past the date already
/// reached: the facility row (`facility`, read after taking its lock) is updated, and the
/// accrual is returned for the caller to insert once the journal entry carrying its postings
/// (`interest_postings`) is appended, so that a transaction appends one entry. `field` names
/// the date in errors.
fn accrue_interest(
    conn: &mut DbConnection,
    facility: &mut LoanFacilityRow,
    through: NaiveDate,
    field: &str,
) -> Result<Option<AccrualRow>, ServiceError> {
    if facility
        .accrued_through
        .is_some_and(|reached| reached >= through)
    {
        return Ok(None);
    }
    let changes = db::loans::principal_changes(conn, &facility.id, through)?;
    let cumulative = interest_to(facility, &changes, through, field)?;
    let accrual = AccrualRow {
        id: db::new_id(),
        facility_id: facility.id.clone(),
        accrued_through: through,
        interest_cents: cumulative - facility.interest_posted_cents,
        cumulative_cents: cumulative,
        entry_seq: None,
        created_at: time::now(),
    };
    db::loans::set_accrued(conn, &facility.id, through, cumulative)?;
    facility.accrued_through = Some(through);
    facility.interest_posted_cents = cumulative;
    Ok(Some(accrual))
}

/// Interest of a facility recognized: an expense, owed to the lender.
fn interest_postings(facility_id: &str, cents: i64) -> Vec<Posting> {
    vec![
        Posting::usd(accounts::interest_expense(facility_id), cents),
        Posting::usd(accounts::loan_interest(facility_id), -cents),
    ]
}

/// The facility's interest to `to` in cents, rounded half-even.
fn interest_to(
    facility: &LoanFacilityRow,
    changes: &[PrincipalChange],
    to: NaiveDate,
    field: &str,
) -> Result<i64, ServiceError> {
    let terms = Terms {
        annual_rate: to_decimal(facility.annual_rate_nanos, RATE_SCALE),
        day_count: facility.day_count,
    };
    interest::cumulative_cents(&terms, changes, to).ok_or_else(|| {
        ServiceError::validation(
            field,
            "is too far ahead: the interest would not fit in storage",
        )
    })
}

/// The facility's tranches, oldest first, with what was drawn and repaid on them with value
/// dates on or before `as_of`.
fn tranche_figures(
    conn: &mut DbConnection,
    facility_id: &str,
    as_of: NaiveDate,
) -> Result<Vec<TrancheFigures>, ServiceError> {
    let drawn: HashMap<String, i64> = db::loans::drawn_by_tranche(conn, facility_id, as_of)?
        .into_iter()
        .collect();
    let repaid: HashMap<String, i64> = db::loans::repaid_by_tranche(conn, facility_id, as_of)?
        .into_iter()
        .collect();
    let figures = db::loans::tranches_oldest_first(conn, facility_id)?
        .into_iter()
        .map(|row| TrancheFigures {
            drawn: drawn.get(&row.id).copied().unwrap_or(0),
            repaid: repaid.get(&row.id).copied().unwrap_or(0),
            row,
        })
        .collect();
    Ok(figures)
}
