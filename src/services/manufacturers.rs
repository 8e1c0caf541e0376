//! Manufacturers and their allocations (entitlements with a locked price).

use super::{
    fetch_limit, visible, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx,
};
use crate::db::manufacturers::{AllocationRow, HistoryRow, ManufacturerRow, Put};
use crate::db::{self, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::code::Code;
use crate::domain::decimal::non_negative;
use crate::domain::error_code::ErrorCode;
use crate::domain::lot::UNIT_PRICE_SCALE;
use crate::domain::policy::{Policy, Tier};
use crate::domain::status::ManufacturerStatus;
use crate::domain::time;
use crate::domain::validation::{text, Problems};
use crate::domain::values::{Id, IsoDate, Quantity, Timestamp, UnitPrice};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ManufacturerView {
    pub id: Id,
    pub name: String,
    pub priority_tier: Tier,
    pub status: ManufacturerStatus,
    pub created_at: Timestamp,
}

impl From<ManufacturerRow> for ManufacturerView {
    fn from(r: ManufacturerRow) -> Self {
        Self {
            id: r.id.into(),
            name: r.name,
            priority_tier: r.priority_tier,
            status: r.status,
            created_at: Timestamp(r.created_at),
        }
    }
}

pub async fn create(
    db: &Db,
    ctx: WriteCtx,
    name: String,
    tier: String,
) -> Result<Reply, ServiceError> {
    let mut p = Problems::default();
    let name = p.check("name", text(&name, 200));
    let tier = p.check("priority_tier", tier.parse::<Tier>());
    let (name, tier) = p
        .finish(|| Some((name?, tier?)))
        .map_err(ServiceError::Validation)?;
    write(db, ctx, 201, move |conn| {
        let row = ManufacturerRow {
            id: db::new_id(),
            name: name.clone(),
            priority_tier: tier,
            status: ManufacturerStatus::Active,
            created_at: time::now(),
        };
        db::manufacturers::insert(conn, &row)
            .map_err(ServiceError::from)
            .map_err(ServiceError::unique_as_conflict(format!(
                "a manufacturer named {name:?} already exists"
            )))?;
        Ok(Effect {
            target: Some(row.id.clone()),
            body: ManufacturerView::from(row),
            events: Vec::new(),
        })
    })
    .await
}

pub(crate) fn find(conn: &mut DbConnection, id: &str) -> Result<ManufacturerRow, ServiceError> {
    db::manufacturers::find(conn, id)?.ok_or_else(|| super::not_found("manufacturer", id))
}

/// Manufacturer `id` as `actor` may see it (a manufacturer sees only itself).
pub(crate) fn find_visible(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
) -> Result<ManufacturerRow, ServiceError> {
    visible(
        actor,
        "manufacturer",
        id,
        db::manufacturers::find(conn, id)?,
        |m| &m.id,
    )
}

pub async fn get(db: &Db, actor: Actor, id: String) -> Result<ManufacturerView, ServiceError> {
    db.run(move |conn| Ok(find_visible(conn, &actor, &id)?.into()))
        .await
}

pub async fn list(db: &Db, page: PageRequest) -> Result<Page<ManufacturerView>, ServiceError> {
    db.run(move |conn| {
        let rows = db::manufacturers::page(conn, page.after.as_deref(), fetch_limit(&page))?;
        Ok(Page::from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            ManufacturerView::from,
        ))
    })
    .await
}

/// Suspends (`active` → `suspended`) or reinstates (`suspended` → `active`).
pub async fn set_status(
    db: &Db,
    ctx: WriteCtx,
    id: String,
    suspend: bool,
) -> Result<Reply, ServiceError> {
    let (from, to) = if suspend {
        (ManufacturerStatus::Active, ManufacturerStatus::Suspended)
    } else {
        (ManufacturerStatus::Suspended, ManufacturerStatus::Active)
    };
    write(db, ctx, 200, move |conn| {
        let m = find(conn, &id)?;
        if !db::manufacturers::set_status(conn, &id, from, to)? {
            return Err(ServiceError::InvalidState(format!(
                "manufacturer {id} is {}, not {from}",
                m.status
            )));
        }
        Ok(Effect {
            target: Some(id.clone()),
            body: ManufacturerView::from(find(conn, &id)?),
            events: Vec::new(),
        })
    })
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllocationView {
    pub manufacturer_id: Id,
    pub material: Code,
    /// The entitlement, in the material's unit.
    pub quantity: Quantity,
    /// USD per unit locked in.
    pub locked_price_usd: UnitPrice,
    /// Released and not yet replenished (base quantity).
    pub outstanding: Quantity,
    /// Held by pending drawdowns.
    pub held: Quantity,
    /// What a new drawdown may ask for now under the release rules' share of the entitlement
    /// (0 without an active disruption covering the material, or while suspended); stock
    /// and floor limits apply on top.
    pub drawable_now: Quantity,
    /// The manufacturer's declared normal use per 30 days, in the material's unit.
    pub monthly_consumption: Quantity,
    pub updated_at: Timestamp,
}

/// The share of the entitlement left under the highest-severity active disruption.
fn drawable_now(
    conn: &mut DbConnection,
    policy: &Policy,
    m: &ManufacturerRow,
    a: &AllocationRow,
) -> Result<i64, ServiceError> {
    if m.status != ManufacturerStatus::Active {
        return Ok(0);
    }
    let severity = db::disruptions::active_covering(conn, &a.material_code)?
        .into_iter()
        .map(|(d, _)| d.severity)
        .max();
    Ok(severity.map_or(0, |s| {
        (policy.allocation_limit(s, a.quantity) - a.outstanding - a.held).max(0)
    }))
}

fn allocation_view(
    conn: &mut DbConnection,
    policy: &Policy,
    m: &ManufacturerRow,
    a: AllocationRow,
) -> Result<AllocationView, ServiceError> {
    let scale = super::scale_of(conn, &a.material_code)?;
    let drawable = drawable_now(conn, policy, m, &a)?;
    Ok(AllocationView {
        manufacturer_id: a.manufacturer_id.into(),
        material: a.material_code,
        quantity: Quantity::new(a.quantity, scale),
        locked_price_usd: UnitPrice(a.locked_price_micros),
        outstanding: Quantity::new(a.outstanding, scale),
        held: Quantity::new(a.held, scale),
        drawable_now: Quantity::new(drawable, scale),
        monthly_consumption: Quantity::new(a.monthly_consumption, scale),
        updated_at: Timestamp(a.updated_at),
    })
}

/// What a PUT of an allocation sends, as text.
#[derive(Debug, Clone)]
pub struct AllocationTerms {
    pub quantity: String,
    pub locked_price_usd: String,
    /// Absent: "0".
    pub monthly_consumption: Option<String>,
}

pub async fn put_allocation(
    db: &Db,
    policy: Policy,
    ctx: WriteCtx,
    manufacturer: String,
    material: String,
    terms: AllocationTerms,
) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.sub.clone();
    write(db, ctx, 200, move |conn| {
        let m = find(conn, &manufacturer)?;
        let mat = db::materials::find_by_code(conn, &material)?
            .ok_or_else(|| ServiceError::NotFound(format!("no material {material}")))?;
        let mut p = Problems::default();
        let scale = mat.scale.get();
        let q = p.check("quantity", non_negative(&terms.quantity, scale));
        let price = p.check(
            "locked_price_usd",
            non_negative(&terms.locked_price_usd, UNIT_PRICE_SCALE),
        );
        let monthly = p.check(
            "monthly_consumption",
            non_negative(terms.monthly_consumption.as_deref().unwrap_or("0"), scale),
        );
        let (q, price, monthly) = p
            .finish(|| Some((q?, price?, monthly?)))
            .map_err(ServiceError::Validation)?;
        let row = AllocationRow {
            manufacturer_id: m.id.clone(),
            material_code: mat.code.clone(),
            quantity: q,
            locked_price_micros: price,
            outstanding: 0,
            held: 0,
            updated_at: time::now(),
            monthly_consumption: monthly,
        };
        let effective = change_effective_date(conn, row.updated_at.date())?;
        set_allocation(conn, &row, &actor, scale, effective)?;
        let row = db::manufacturers::allocation(conn, &m.id, &mat.code)?
            .ok_or_else(|| ServiceError::internal("allocation vanished"))?;
        Ok(Effect {
            target: Some(format!("{}/{}", m.id, mat.code)),
            body: allocation_view(conn, &policy, &m, row)?,
            events: Vec::new(),
        })
    })
    .await
}

/// The day from which an allocation change made now counts for carrying fees: today, or the
/// date fees are accrued through when that is later, so fees accrued stay accrued. Read before
/// the allocation rows are locked; on PostgreSQL the accrual state stays share-locked to the
/// commit, so an accrual under way is waited for and none starts before the change commits.
pub(crate) fn change_effective_date(
    conn: &mut DbConnection,
    today: NaiveDate,
) -> Result<NaiveDate, ServiceError> {
    Ok(db::fees::accrued_through_for_change(conn)?.map_or(today, |reached| reached.max(today)))
}

/// Sets an allocation's terms to `row`'s (creating it with `row`'s figures if it has none) and
/// keeps the change in its history, made by `actor` at `row.updated_at` and counting for
/// carrying fees from `effective` (`change_effective_date`); refused with
/// `allocation_below_committed` when the quantity would fall below what is committed.
pub(crate) fn set_allocation(
    conn: &mut DbConnection,
    row: &AllocationRow,
    actor: &str,
    scale: u32,
    effective: NaiveDate,
) -> Result<(), ServiceError> {
    let change = HistoryRow {
        id: db::new_id(),
        manufacturer_id: row.manufacturer_id.clone(),
        material_code: row.material_code.clone(),
        at: row.updated_at,
        actor: actor.to_owned(),
        quantity: row.quantity,
        locked_price_micros: row.locked_price_micros,
        monthly_consumption: row.monthly_consumption,
        effective_date: effective,
    };
    if put_allocation_row(conn, row, &change)? == Put::BelowCommitted {
        return Err(below_committed(conn, row, scale));
    }
    Ok(())
}

/// The refusal of a quantity below what is committed, with the figures read now; if they no
/// longer refuse it (a release or return in between), the transaction is run again.
fn below_committed(conn: &mut DbConnection, wanted: &AllocationRow, scale: u32) -> ServiceError {
    let now =
        match db::manufacturers::allocation(conn, &wanted.manufacturer_id, &wanted.material_code) {
            Ok(Some(now)) => now,
            Ok(None) => return ServiceError::Transient("allocation removed concurrently".into()),
            Err(e) => return e.into(),
        };
    let committed = i128::from(now.outstanding) + i128::from(now.held);
    if i128::from(wanted.quantity) >= committed {
        return ServiceError::Transient("allocation figures changed concurrently".into());
    }
    let q = |v: i64| Quantity::new(v, scale);
    ServiceError::Rule {
        code: ErrorCode::AllocationBelowCommitted,
        detail: format!(
            "the entitlement would be {}, below the {} outstanding + {} held",
            q(wanted.quantity),
            q(now.outstanding),
            q(now.held)
        ),
        figures: json!({"quantity": q(wanted.quantity), "outstanding": q(now.outstanding),
                        "held": q(now.held)}),
    }
}

/// Writes the allocation and its history row; a unique violation means a concurrent first
/// PUT of the same allocation won, so the transaction is run again (and updates).
fn put_allocation_row(
    conn: &mut DbConnection,
    row: &AllocationRow,
    change: &HistoryRow,
) -> Result<Put, ServiceError> {
    db::manufacturers::put_allocation(conn, row, change).map_err(|e| match ServiceError::from(e) {
        ServiceError::Conflict(_) => {
            ServiceError::Transient("allocation created concurrently".into())
        }
        other => other,
    })
}

pub async fn allocations(
    db: &Db,
    policy: Policy,
    actor: Actor,
    manufacturer: String,
) -> Result<Vec<AllocationView>, ServiceError> {
    db.run(move |conn| {
        let m = find_visible(conn, &actor, &manufacturer)?;
        db::manufacturers::allocations_of(conn, &m.id)?
            .into_iter()
            .map(|a| allocation_view(conn, &policy, &m, a))
            .collect()
    })
    .await
}

/// One change of an allocation (API.md, "Entitlements over time").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AllocationChangeView {
    pub at: Timestamp,
    /// Who made the change (the token's `sub`).
    pub actor: String,
    pub quantity: Quantity,
    pub locked_price_usd: UnitPrice,
    pub monthly_consumption: Quantity,
    /// The day from which the change counts for carrying fees: the day it was made, or the
    /// date fees were accrued through then when that is later.
    pub effective_date: IsoDate,
}

/// The changes of manufacturer `manufacturer`'s allocation of `material`, newest first, as
/// `actor` may see them.
pub async fn history(
    db: &Db,
    actor: Actor,
    manufacturer: String,
    material: String,
    page: PageRequest,
) -> Result<Page<AllocationChangeView>, ServiceError> {
    db.run(move |conn| {
        let m = find_visible(conn, &actor, &manufacturer)?;
        if db::manufacturers::allocation(conn, &m.id, &material)?.is_none() {
            return Err(super::not_found(
                "allocation",
                &format!("{}/{material}", m.id),
            ));
        }
        let scale = super::scale_of(conn, &material)?;
        let rows = db::manufacturers::history(
            conn,
            &m.id,
            &material,
            page.after.as_deref(),
            fetch_limit(&page),
        )?;
        let q = |v: i64| Quantity::new(v, scale);
        Ok(Page::from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            |r| AllocationChangeView {
                at: Timestamp(r.at),
                actor: r.actor,
                quantity: q(r.quantity),
                locked_price_usd: UnitPrice(r.locked_price_micros),
                monthly_consumption: q(r.monthly_consumption),
                effective_date: IsoDate(r.effective_date),
            },
        ))
    })
    .await
}
