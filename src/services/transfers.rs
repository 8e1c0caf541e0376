//! Entitlement moved between manufacturers (API.md, "Entitlements over time"): both
//! allocations change in one transaction, each guarded as a PUT is, and both sides are told.

use super::events::Event;
use super::manufacturers::{change_effective_date, find, set_allocation};
use super::{fetch_limit, scope_to_caller, write, Effect, Page, PageRequest, Reply};
use super::{ServiceError, WriteCtx};
use crate::db::manufacturers::AllocationRow;
use crate::db::transfers::TransferRow;
use crate::db::{self, Db};
use crate::domain::actor::Actor;
use crate::domain::allocation::{weighted_price, NewTransfer};
use crate::domain::code::Code;
use crate::domain::event::EventType;
use crate::domain::status::ManufacturerStatus;
use crate::domain::time;
use crate::domain::values::{Id, Quantity, Timestamp, UnitPrice, Usd};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransferView {
    pub id: Id,
    pub from_manufacturer_id: Id,
    pub to_manufacturer_id: Id,
    pub material: Code,
    pub quantity: Quantity,
    /// What the recipient pays the sender (not the reserve's cash).
    pub price_usd: Usd,
    /// The sender's locked price, which the transferred entitlement carries.
    pub locked_price_usd: UnitPrice,
    /// The recipient's locked price after the transfer: the quantity-weighted average of its
    /// entitlement before and the transferred one, half-even to the micro-dollar.
    pub recipient_locked_price_usd: UnitPrice,
    /// Who made the transfer (the token's `sub`).
    pub actor: String,
    pub created_at: Timestamp,
}

impl TransferView {
    fn new(r: TransferRow, scale: u32) -> Self {
        Self {
            id: r.id.into(),
            from_manufacturer_id: r.from_manufacturer_id.into(),
            to_manufacturer_id: r.to_manufacturer_id.into(),
            material: r.material_code,
            quantity: Quantity::new(r.quantity, scale),
            price_usd: Usd(r.price_cents),
            locked_price_usd: UnitPrice(r.locked_price_micros),
            recipient_locked_price_usd: UnitPrice(r.recipient_price_micros),
            actor: r.actor,
            created_at: Timestamp(r.created_at),
        }
    }
}

/// A transfer as sent, as text.
#[derive(Debug, Clone)]
pub struct TransferTerms {
    pub from: String,
    pub to: String,
    pub material: String,
    pub quantity: String,
    pub price_usd: String,
}

/// Moves `quantity` of entitlement from one manufacturer's allocation to another's. The
/// allocation rows are locked in manufacturer-id order, so two opposite transfers wait for
/// each other instead of deadlocking; both manufacturers are then held active to the commit.
pub async fn transfer(db: &Db, ctx: WriteCtx, terms: TransferTerms) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.sub.clone();
    write(db, ctx, 201, move |conn| {
        Code::parse(&terms.material).map_err(|m| ServiceError::validation("material", m))?;
        let material = db::materials::find_by_code(conn, &terms.material)?
            .ok_or_else(|| super::not_found("material", &terms.material))?;
        let scale = material.scale.get();
        let t = NewTransfer::parse(
            &terms.from,
            &terms.to,
            &terms.quantity,
            &terms.price_usd,
            scale,
        )
        .map_err(ServiceError::Validation)?;
        find(conn, &terms.from)?;
        find(conn, &terms.to)?;
        let now = time::now();
        let effective = change_effective_date(conn, now.date())?;
        let mut order = [&terms.from, &terms.to];
        order.sort();
        for m in order {
            db::manufacturers::lock(conn, m, &material.code)?;
        }
        for m in order {
            let active = ManufacturerStatus::Active;
            if !db::manufacturers::set_status(conn, m, active, active)? {
                return Err(ServiceError::InvalidState(format!(
                    "manufacturer {m} is suspended: both sides of a transfer must be active"
                )));
            }
        }
        let sender =
            db::manufacturers::allocation(conn, &terms.from, &material.code)?.ok_or_else(|| {
                super::not_found("allocation", &format!("{}/{}", terms.from, material.code))
            })?;
        let recipient = db::manufacturers::allocation(conn, &terms.to, &material.code)?;

        let given = AllocationRow {
            quantity: sender.quantity - t.quantity,
            updated_at: now,
            ..sender.clone()
        };
        set_allocation(conn, &given, &actor, scale, effective)?;

        let before = recipient.unwrap_or_else(|| AllocationRow {
            manufacturer_id: terms.to.clone(),
            material_code: material.code.clone(),
            quantity: 0,
            locked_price_micros: 0,
            outstanding: 0,
            held: 0,
            updated_at: now,
            monthly_consumption: 0,
        });
        let quantity = before.quantity.checked_add(t.quantity).ok_or_else(|| {
            ServiceError::too_large("quantity", "the recipient's entitlement", scale)
        })?;
        let price = weighted_price(
            before.quantity,
            before.locked_price_micros,
            t.quantity,
            sender.locked_price_micros,
        );
        let taken = AllocationRow {
            quantity,
            locked_price_micros: price,
            updated_at: now,
            ..before
        };
        set_allocation(conn, &taken, &actor, scale, effective)?;

        let row = TransferRow {
            id: db::new_id(),
            from_manufacturer_id: terms.from.clone(),
            to_manufacturer_id: terms.to.clone(),
            material_code: material.code.clone(),
            quantity: t.quantity,
            price_cents: t.price_cents,
            locked_price_micros: sender.locked_price_micros,
            recipient_price_micros: price,
            actor: actor.clone(),
            created_at: now,
        };
        db::transfers::insert(conn, &row)?;
        let view = TransferView::new(row, scale);
        let kind = EventType::AllocationTransferred;
        Ok(Effect {
            target: Some(view.id.to_string()),
            events: vec![
                Event::owned(kind, &terms.from, &view)?,
                Event::owned(kind, &terms.to, &view)?,
            ],
            body: view,
        })
    })
    .await
}

/// Transfers newest first, those to or from `manufacturer` when given (a manufacturer sees
/// only its own).
pub async fn list(
    db: &Db,
    actor: Actor,
    mut manufacturer: Option<String>,
    page: PageRequest,
) -> Result<Page<TransferView>, ServiceError> {
    if !scope_to_caller(&actor, &mut manufacturer) {
        return Ok(Page::empty());
    }
    db.run(move |conn| {
        let rows = db::transfers::page(
            conn,
            manufacturer.as_deref(),
            page.after.as_deref(),
            fetch_limit(&page),
        )?;
        let scales = super::Scales::load(conn)?;
        Page::try_from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            |r| {
                let s = scales.of(&r.material_code)?;
                Ok::<_, ServiceError>(TransferView::new(r, s))
            },
        )
    })
    .await
}
