//! Obligations to replenish released stock: returns received as new lots, settlement,
//! rescheduling, and `overdue` derived from today's date.

use super::events::Event;
use super::inventory::LotView;
use super::{
    fetch_limit, scope_to_caller, visible, write, Effect, Page, PageRequest, Reply, ServiceError,
    WriteCtx,
};
use crate::db::lots::LotRow;
use crate::db::obligations::{ObligationFilter, ObligationRow, ReplenishmentRow, RescheduleRow};
use crate::db::{self, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::code::Code;
use crate::domain::country::parse_country;
use crate::domain::drawdown::{base_share, deferral_premium};
use crate::domain::error_code::ErrorCode;
use crate::domain::event::EventType;
use crate::domain::formats;
use crate::domain::lot::{grade, positive_quantity, received_at};
use crate::domain::policy::Policy;
use crate::domain::status::ObligationStatus;
use crate::domain::time;
use crate::domain::validation::{text, Problems};
use crate::domain::values::{Id, IsoDate, Quantity, Timestamp};
use crate::ledger::{self, accounts, Effective, NewEntry, Posting};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ObligationView {
    pub id: Id,
    pub drawdown_id: Id,
    pub manufacturer_id: Id,
    pub material: Code,
    /// The quantity released.
    pub base_quantity: Quantity,
    /// What must come back: base × (1 + premium), rounded up to the material's scale.
    pub quantity_due: Quantity,
    pub quantity_returned: Quantity,
    pub due_date: IsoDate,
    pub status: ObligationStatus,
    /// Today (UTC) is after the due date and it is not settled.
    pub overdue: bool,
    pub created_at: Timestamp,
    pub settled_at: Option<Timestamp>,
}

pub(crate) fn view(o: ObligationRow, scale: u32, today: NaiveDate) -> ObligationView {
    let q = |v: i64| Quantity::new(v, scale);
    ObligationView {
        overdue: o.status == ObligationStatus::Open && today > o.due_date,
        base_quantity: q(o.base_quantity),
        quantity_due: q(o.quantity_due),
        quantity_returned: q(o.quantity_returned),
        due_date: IsoDate(o.due_date),
        created_at: Timestamp(o.created_at),
        settled_at: o.settled_at.map(Timestamp),
        id: o.id.into(),
        drawdown_id: o.drawdown_id.into(),
        manufacturer_id: o.manufacturer_id.into(),
        material: o.material_code,
        status: o.status,
    }
}

/// An event of obligation `v`, seen by its manufacturer.
pub(crate) fn event(kind: EventType, v: &ObligationView) -> Result<Event, ServiceError> {
    Event::owned(kind, &v.manufacturer_id.0, v)
}

fn find(conn: &mut DbConnection, id: &str) -> Result<ObligationRow, ServiceError> {
    db::obligations::find(conn, id)?.ok_or_else(|| super::not_found("obligation", id))
}

pub async fn get(db: &Db, actor: Actor, id: String) -> Result<ObligationView, ServiceError> {
    db.run(move |conn| {
        let o = visible(
            &actor,
            "obligation",
            &id,
            db::obligations::find(conn, &id)?,
            |o| &o.manufacturer_id,
        )?;
        let s = super::scale_of(conn, &o.material_code)?;
        Ok(view(o, s, time::now().date()))
    })
    .await
}

pub async fn list(
    db: &Db,
    actor: Actor,
    mut filter: ObligationFilter,
    page: PageRequest,
) -> Result<Page<ObligationView>, ServiceError> {
    if !scope_to_caller(&actor, &mut filter.manufacturer) {
        return Ok(Page::empty());
    }
    filter.after = page.after.clone();
    db.run(move |conn| {
        let rows = db::obligations::page(conn, &filter, fetch_limit(&page))?;
        let scales = super::Scales::load(conn)?;
        let today = time::now().date();
        Page::try_from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            |r| {
                let s = scales.of(&r.material_code)?;
                Ok::<_, ServiceError>(view(r, s, today))
            },
        )
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"facility": "NV1", "quantity": "105", "grade": "99.5", "received_at": "2026-06-01T12:00:00Z", "origin_country": "AU"}))]
pub struct Replenishment {
    /// Facility receiving the returned material.
    #[schema(value_type = formats::Code)]
    pub facility: String,
    /// At most what is still due.
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
    /// Purity in percent.
    #[schema(value_type = formats::Decimal)]
    pub grade: String,
    /// RFC 3339; default now.
    #[schema(value_type = Option<formats::TimeInput>)]
    pub received_at: Option<String>,
    /// Origin of the returned material, when known.
    #[schema(value_type = Option<formats::CountryCode>)]
    pub origin_country: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplenishmentView {
    pub id: Id,
    pub quantity: Quantity,
    /// The part of the base quantity this return covered (outstanding fell by it).
    pub base_share: Quantity,
    pub entry_seq: i64,
    pub obligation: ObligationView,
    pub lot: LotView,
}

/// Receives returned material as a new lot and lowers what is due.
pub async fn replenish(
    db: &Db,
    ctx: WriteCtx,
    id: String,
    r: Replenishment,
) -> Result<Reply, ServiceError> {
    let by = ctx.actor.sub.clone();
    write(db, ctx, 201, move |conn| {
        let o = find(conn, &id)?;
        if o.status != ObligationStatus::Open {
            return Err(ServiceError::InvalidState(format!(
                "obligation {id} is settled"
            )));
        }
        let material = super::material_of(conn, &o.material_code)?;
        let s = material.scale.get();
        let facility = db::facilities::find_by_code(conn, &r.facility)?
            .map(|f| f.code)
            .ok_or_else(|| {
                ServiceError::validation("facility", format!("no facility {:?}", r.facility))
            })?;
        let now = time::now();
        let mut p = Problems::default();
        let remaining = o.quantity_due - o.quantity_returned;
        let q = p.check(
            "quantity",
            positive_quantity(&r.quantity, s).and_then(|q| {
                if q > remaining {
                    Err(format!(
                        "is more than the {} still due",
                        Quantity::new(remaining, s)
                    ))
                } else {
                    Ok(q)
                }
            }),
        );
        let grade = p.check("grade", grade(&r.grade));
        let origin = match &r.origin_country {
            Some(c) => p.check("origin_country", parse_country(c)),
            None => Some(String::new()),
        };
        let received_at = p.check("received_at", received_at(r.received_at.as_deref(), now));
        let (q, grade, origin, received_at) = p
            .finish(|| Some((q?, grade?, origin?, received_at?)))
            .map_err(ServiceError::Validation)?;
        if let Some(minimum) = material.minimum_grade()? {
            if grade < minimum {
                return Err(ServiceError::Rule {
                    code: ErrorCode::GradeBelowMinimum,
                    detail: format!(
                        "grade {grade} is below {}'s minimum of {minimum}",
                        material.code
                    ),
                    figures: json!({"grade": grade, "min_grade": minimum}),
                });
            }
        }
        let base_share = base_share(
            q,
            o.quantity_returned,
            o.quantity_due,
            o.base_quantity,
            o.base_returned,
        );
        // Guarded on the figures read above, so a concurrent return or reschedule cannot
        // skew the shares.
        if !db::obligations::record_return(conn, &o, q, base_share, now)? {
            return Err(ServiceError::Transient(
                "obligation changed concurrently".into(),
            ));
        }
        let manufacturer = db::manufacturers::find(conn, &o.manufacturer_id)?;
        let allocation = db::manufacturers::allocation(conn, &o.manufacturer_id, &o.material_code)?;
        // Allocation before material: the order every drawdown path locks them in.
        if !db::manufacturers::shift(conn, &o.manufacturer_id, &o.material_code, 0, -base_share)? {
            return Err(ServiceError::internal(
                "allocation missing for an obligation",
            ));
        }
        super::inventory::add_on_hand(conn, &o.material_code, q, s)?;
        let replenishment_id = db::new_id();
        let posting = |account: String, amount: i64| Posting {
            account,
            asset: o.material_code.to_string(),
            scale: s,
            amount,
        };
        let entry = ledger::append(
            conn,
            NewEntry {
                kind: "replenishment",
                reference: Some(replenishment_id.clone()),
                // The stock it returns is a lot received then.
                effective: Effective::On(IsoDate(received_at.date())),
                postings: vec![
                    posting(accounts::inventory(&facility, &o.material_code), q),
                    posting(
                        accounts::released(&o.manufacturer_id, &o.material_code),
                        -base_share,
                    ),
                    posting(
                        accounts::replenishment_premium(&o.material_code),
                        base_share - q,
                    ),
                ],
            },
        )?;
        let lot = LotRow {
            id: db::new_id(),
            material_code: o.material_code.clone(),
            facility_code: facility,
            quantity_received: q,
            quantity_on_hand: q,
            grade,
            origin_country: origin,
            supplier: manufacturer.map_or_else(|| o.manufacturer_id.clone(), |m| m.name),
            unit_cost_micros: allocation.map_or(0, |a| a.locked_price_micros),
            received_at,
            created_at: now,
            source_lot_id: None,
            tranche_id: None,
            entry_seq: entry.seq,
        };
        db::lots::insert(conn, std::slice::from_ref(&lot))?;
        db::obligations::insert_replenishment(
            conn,
            &ReplenishmentRow {
                id: replenishment_id.clone(),
                obligation_id: id.clone(),
                lot_id: lot.id.clone(),
                quantity: q,
                base_share,
                created_by: by.clone(),
                created_at: now,
            },
        )?;
        let o = view(find(conn, &id)?, s, now.date());
        let mut events = vec![event(EventType::ObligationReplenished, &o)?];
        if o.status == ObligationStatus::Settled {
            events.push(event(EventType::ObligationSettled, &o)?);
        }
        Ok(Effect {
            target: Some(id.clone()),
            body: ReplenishmentView {
                id: replenishment_id.into(),
                quantity: Quantity::new(q, s),
                base_share: Quantity::new(base_share, s),
                entry_seq: entry.seq,
                obligation: o,
                lot: LotView::new(lot, s),
            },
            events,
        })
    })
    .await
}

/// Moves the due date (any valid date; a past one makes the obligation overdue at once).
/// An obligation just moved, with the deferral premium the move added to what is due.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RescheduledView {
    #[serde(flatten)]
    pub obligation: ObligationView,
    /// `policy.deferral_premium_per_year` × the base quantity still due × days moved later ÷ 365,
    /// rounded up to the material's scale; 0 when the date was kept or moved earlier.
    pub deferral_premium_added: Quantity,
}

pub async fn reschedule(
    db: &Db,
    policy: &Policy,
    ctx: WriteCtx,
    id: String,
    due_date: String,
    reason: String,
) -> Result<Reply, ServiceError> {
    let rate = policy.deferral_premium_per_year;
    let mut p = Problems::default();
    let date = p.check("due_date", time::parse_date(&due_date));
    let reason = p.check("reason", text(&reason, 4000));
    let (date, reason) = p
        .finish(|| Some((date?, reason?)))
        .map_err(ServiceError::Validation)?;
    let by = ctx.actor.sub.clone();
    write(db, ctx, 200, move |conn| {
        let o = find(conn, &id)?;
        if o.status != ObligationStatus::Open {
            return Err(ServiceError::InvalidState(format!(
                "obligation {id} is settled"
            )));
        }
        let s = super::scale_of(conn, &o.material_code)?;
        let days = (date - o.due_date).num_days();
        let premium = deferral_premium(o.base_quantity - o.base_returned, rate, days)
            .filter(|p| o.quantity_due.checked_add(*p).is_some())
            .ok_or_else(|| {
                ServiceError::too_large(
                    "due_date",
                    "the quantity due (with its deferral premium)",
                    s,
                )
            })?;
        let moved = db::obligations::reschedule(
            conn,
            &o,
            &RescheduleRow {
                id: db::new_id(),
                obligation_id: id.clone(),
                old_due_date: o.due_date,
                new_due_date: date,
                reason: reason.clone(),
                created_by: by.clone(),
                created_at: time::now(),
            },
            premium,
        )?;
        if !moved {
            // Settled meanwhile, or moved or repaid by someone else: decide again.
            return Err(if find(conn, &id)?.status == ObligationStatus::Open {
                ServiceError::Transient("obligation changed concurrently".into())
            } else {
                ServiceError::InvalidState(format!("obligation {id} is settled"))
            });
        }
        let o = view(find(conn, &id)?, s, time::now().date());
        Ok(Effect {
            target: Some(id.clone()),
            events: vec![event(EventType::ObligationRescheduled, &o)?],
            body: RescheduledView {
                obligation: o,
                deferral_premium_added: Quantity::new(premium, s),
            },
        })
    })
    .await
}
