//! Drawdowns: a manufacturer's request to draw stock during a declared disruption. Submit
//! checks the release rules and holds the quantity; approvals (one or two operators) release
//! it from the oldest lots in the same transaction and create the obligation to replenish.

use super::events::Event;
use super::{
    fetch_limit, scope_to_caller, visible, write, write_closing, Effect, Page, PageRequest, Reply,
    ServiceError, WriteCtx,
};
use crate::db::disruptions::{CoveredRow, DisruptionRow};
use crate::db::drawdowns::{ApprovalRow, DrawdownFilter, DrawdownRow, PickRow};
use crate::db::holding::{Guarded, Holding};
use crate::db::materials::MaterialRow;
use crate::db::obligations::ObligationRow;
use crate::db::situation::Standing;
use crate::db::{self, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::code::Code;
use crate::domain::decimal::format_fixed;
use crate::domain::drawdown::{quantity_due, required_approvals, Status};
use crate::domain::event::EventType;
use crate::domain::formats;
use crate::domain::lot::positive_quantity;
use crate::domain::policy::{
    check_release, AllocationFacts, DisruptionFacts, Facts, ManufacturerFacts, OverdueFacts,
    Policy, Refusal, Severity,
};
use crate::domain::status::{ManufacturerStatus, ObligationStatus};
use crate::domain::time;
use crate::domain::values::{Figure, Id, IsoDate, Quantity, Timestamp, Usd};
use crate::ledger::{self, accounts, holds, Effective, NewEntry};
use serde::{Deserialize, Serialize};
use serde_json::json;

// Stored as JSON in the row's `policy` and read back strictly, each value to the string it
// was written as.
/// The policy values a request was decided under, stored with it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyRecord {
    pub severity: Severity,
    /// Share of the allocation drawable under that severity.
    pub share: Figure,
    /// q + outstanding + held could not exceed this.
    pub allocation_limit: Quantity,
    /// Limited disruptions: the cap on released + held under the disruption.
    pub disruption_cap: Option<Quantity>,
    pub strategic_floor: Quantity,
    pub floor_waived: bool,
    pub dual_approval_threshold_usd: Usd,
    pub replenish_premium: Figure,
    pub replenish_term_days: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApprovalView {
    pub operator: String,
    pub at: Timestamp,
    /// The quantity standing after this approval.
    pub quantity: Quantity,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PickView {
    pub lot_id: Id,
    pub facility: Code,
    pub quantity: Quantity,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DrawdownView {
    pub id: Id,
    pub manufacturer_id: Id,
    pub material: Code,
    /// The quantity standing (approvals may lower it).
    pub quantity: Quantity,
    pub quantity_requested: Quantity,
    pub status: Status,
    pub disruption_id: Id,
    #[schema(minimum = 1, maximum = 2)]
    pub required_approvals: i32,
    pub approvals: Vec<ApprovalView>,
    pub justification: String,
    pub needed_by: Option<IsoDate>,
    pub created_at: Timestamp,
    pub released_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// The lots drawn, oldest first (released drawdowns).
    pub picks: Vec<PickView>,
    pub obligation_id: Option<Id>,
    pub reject_reason: Option<String>,
    pub policy: PolicyRecord,
}

fn material(conn: &mut DbConnection, code: &str) -> Result<MaterialRow, ServiceError> {
    db::materials::find_by_code(conn, code)?
        .ok_or_else(|| ServiceError::internal(format!("material {code} vanished")))
}

fn view(conn: &mut DbConnection, d: DrawdownRow) -> Result<DrawdownView, ServiceError> {
    views(conn, vec![d])?
        .pop()
        .ok_or_else(|| ServiceError::internal("a drawdown without a view"))
}

/// Views of many drawdowns with their approvals and picks, in four queries whatever their
/// number.
fn views(
    conn: &mut DbConnection,
    rows: Vec<DrawdownRow>,
) -> Result<Vec<DrawdownView>, ServiceError> {
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let scales = super::Scales::load(conn)?;
    let mut approvals =
        group_by_drawdown(db::drawdowns::approvals(conn, &ids)?, |a| &a.drawdown_id);
    let mut picks = group_by_drawdown(db::drawdowns::picks(conn, &ids)?, |p| &p.drawdown_id);
    rows.into_iter()
        .map(|d| {
            let scale = scales.of(&d.material_code)?;
            let a = approvals.remove(&d.id).unwrap_or_default();
            let p = picks.remove(&d.id).unwrap_or_default();
            render(d, a, p, scale)
        })
        .collect()
}

/// An event of drawdown `v`, seen by its manufacturer.
fn event(kind: EventType, v: &DrawdownView) -> Result<Event, ServiceError> {
    Event::owned(kind, &v.manufacturer_id.0, v)
}

/// The answer of a drawdown's command, reporting `kind`.
fn effect(kind: EventType, v: DrawdownView) -> Result<Effect<DrawdownView>, ServiceError> {
    Ok(Effect {
        target: Some(v.id.0.clone()),
        events: vec![event(kind, &v)?],
        body: v,
    })
}

fn group_by_drawdown<T>(
    rows: Vec<T>,
    key: impl Fn(&T) -> &String,
) -> std::collections::HashMap<String, Vec<T>> {
    let mut map: std::collections::HashMap<String, Vec<T>> = std::collections::HashMap::new();
    for r in rows {
        map.entry(key(&r).clone()).or_default().push(r);
    }
    map
}

fn render(
    d: DrawdownRow,
    approvals: Vec<ApprovalRow>,
    picks: Vec<PickRow>,
    scale: u32,
) -> Result<DrawdownView, ServiceError> {
    let q = |v: i64| Quantity::new(v, scale);
    let released = d.status == Status::Released;
    // The record written with the request: one that no longer reads is an error to log,
    // never a blank record shown as if it were the policy applied.
    let policy = serde_json::from_str(&d.policy).map_err(|e| {
        ServiceError::internal_because(format!("drawdown {}: stored policy unreadable", d.id), e)
    })?;
    Ok(DrawdownView {
        quantity: q(d.quantity),
        quantity_requested: q(d.quantity_requested),
        approvals: approvals
            .into_iter()
            .map(|a| ApprovalView {
                operator: a.operator,
                at: Timestamp(a.at),
                quantity: q(a.quantity),
            })
            .collect(),
        picks: picks
            .into_iter()
            .map(|p| PickView {
                lot_id: Id(p.lot_id),
                facility: p.facility,
                quantity: q(p.quantity),
            })
            .collect(),
        needed_by: d.needed_by.map(IsoDate),
        created_at: Timestamp(d.created_at),
        released_at: d.closed_at.filter(|_| released).map(Timestamp),
        closed_at: d.closed_at.map(Timestamp),
        policy,
        id: Id(d.id),
        manufacturer_id: Id(d.manufacturer_id),
        material: d.material_code,
        status: d.status,
        disruption_id: Id(d.disruption_id),
        required_approvals: d.required_approvals,
        justification: d.justification,
        obligation_id: d.obligation_id.map(Id),
        reject_reason: d.reject_reason,
    })
}

/// Of the active disruptions covering a material (earliest activated first), the one with
/// the highest severity (the earliest activated among equals).
fn governing(
    covering: Vec<(DisruptionRow, CoveredRow)>,
) -> Option<(DisruptionRow, CoveredRow, Severity)> {
    let mut best: Option<(DisruptionRow, CoveredRow, Severity)> = None;
    for (d, c) in covering {
        let s = d.severity;
        if best.as_ref().is_none_or(|(_, _, b)| s > *b) {
            best = Some((d, c, s));
        }
    }
    best
}

/// Turns a refusal into the rule error of API.md, figures in the material's unit.
fn refusal(r: Refusal, scale: u32) -> ServiceError {
    let q = |v: i64| format_fixed(v, scale);
    let code = r.code();
    let (detail, figures) = match r {
        Refusal::NoActiveDisruption => (
            "no active disruption covers this material".to_owned(),
            json!({}),
        ),
        Refusal::NotEligible { suspended, allocation } => (
            if suspended {
                "the manufacturer is suspended".to_owned()
            } else {
                "the manufacturer has no allocation of this material".to_owned()
            },
            json!({"suspended": suspended, "allocation": q(allocation)}),
        ),
        Refusal::ObligationOverdue { obligation_id, due_date, remaining } => (
            format!("obligation {obligation_id} was due on {due_date} and is not settled"),
            json!({"obligation_id": obligation_id, "due_date": due_date.to_string(), "quantity_remaining": q(remaining)}),
        ),
        Refusal::AllocationExceeded { requested, outstanding, held, allocation, share, limit } => (
            format!(
                "{} requested + {} outstanding + {} held exceeds {} × allocation {} = {}",
                q(requested), q(outstanding), q(held), share.normalize(), q(allocation), q(limit)
            ),
            json!({"requested": q(requested), "outstanding": q(outstanding), "held": q(held),
                   "allocation": q(allocation), "share": share.normalize().to_string(), "limit": q(limit)}),
        ),
        Refusal::DisruptionCapExceeded { requested, released_under, held_under, on_hand_at_activation, cap_share, cap } => (
            format!(
                "{} requested + {} released + {} held under this limited disruption exceeds {} × {} = {}",
                q(requested), q(released_under), q(held_under), cap_share.normalize(), q(on_hand_at_activation), q(cap)
            ),
            json!({"requested": q(requested), "released_under": q(released_under), "held_under": q(held_under),
                   "on_hand_at_activation": q(on_hand_at_activation), "cap_share": cap_share.normalize().to_string(),
                   "limit": q(cap)}),
        ),
        Refusal::InsufficientStock { requested, available } => (
            format!("{} requested, {} available", q(requested), q(available)),
            json!({"requested": q(requested), "available": q(available)}),
        ),
        Refusal::FloorBreach { requested, available, strategic_floor } => (
            format!(
                "{} requested would leave {} available, below the strategic floor {}",
                q(requested), q(available - requested), q(strategic_floor)
            ),
            json!({"requested": q(requested), "available": q(available), "strategic_floor": q(strategic_floor)}),
        ),
    };
    ServiceError::Rule {
        code,
        detail,
        figures,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"material": "DY_OXIDE", "quantity": "250", "justification": "Magnet line stops in 3 weeks: export licences for Dy suspended.", "needed_by": "2026-04-01"}))]
pub struct Submission {
    #[schema(value_type = formats::Code)]
    pub material: String,
    /// Decimal string in the material's unit, > 0.
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
    /// The emergency, its impact, why no other source serves; 1-4000 characters.
    #[schema(min_length = 1, max_length = 4000)]
    pub justification: String,
    #[schema(value_type = Option<formats::IsoDate>)]
    pub needed_by: Option<String>,
}

fn justification(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() || text.chars().count() > 4000 {
        return Err("must be 1-4000 characters".into());
    }
    if t.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(t.to_owned())
}

/// Everything the rules look at, from reads the caller made (so that the decision and the
/// guarded writes use the same figures). `standing` is `None` for an unknown manufacturer.
fn facts(
    requested: i64,
    stock: &MaterialRow,
    governing: Option<&(DisruptionRow, CoveredRow, Severity)>,
    standing: Option<&Standing>,
) -> Facts {
    Facts {
        requested,
        disruption: governing.map(|(_, c, s)| DisruptionFacts {
            severity: *s,
            on_hand_at_activation: c.on_hand_at_activation.unwrap_or(0),
            released_under: c.released,
            held_under: c.held,
        }),
        manufacturer: standing.map(|s| ManufacturerFacts {
            suspended: s.manufacturer.status != ManufacturerStatus::Active,
            tier: s.manufacturer.priority_tier,
        }),
        allocation: standing
            .and_then(|s| s.allocation.as_ref())
            .map(|a| AllocationFacts {
                quantity: a.quantity,
                outstanding: a.outstanding,
                held: a.held,
            }),
        overdue: standing
            .and_then(|s| s.overdue.as_ref())
            .map(|o| OverdueFacts {
                obligation_id: o.id.clone(),
                due_date: o.due_date,
                remaining: o.quantity_due - o.quantity_returned,
            }),
        available: stock.on_hand - stock.held,
        strategic_floor: stock.strategic_floor,
    }
}

pub async fn submit(
    db: &Db,
    policy: Policy,
    ctx: WriteCtx,
    s: Submission,
) -> Result<Reply, ServiceError> {
    let manufacturer = ctx.actor.org.clone().unwrap_or_default();
    let justification = justification(&s.justification)
        .map_err(|e| ServiceError::validation("justification", e))?;
    let needed_by = s
        .needed_by
        .as_deref()
        .map(time::parse_date)
        .transpose()
        .map_err(|e| ServiceError::validation("needed_by", e))?;
    // Whether an attempt lost its guarded writes to an allocation changed in between (a PUT
    // or a transfer): the next one takes the allocation's row lock before reading, so its
    // figures hold to the end and it cannot lose the same way again.
    let mut contended = false;
    write_closing(db, ctx, 201, move |conn, closing| {
        if contended {
            db::manufacturers::lock(conn, &manufacturer, &s.material)?;
        }
        let situation =
            db::situation::situation(conn, &s.material, &manufacturer, time::now().date())?
                .ok_or_else(|| {
                    ServiceError::validation("material", format!("no material {:?}", s.material))
                })?;
        let m = situation.material;
        let scale = m.scale.get();
        let q = positive_quantity(&s.quantity, scale)
            .map_err(|e| ServiceError::validation("quantity", e))?;
        let governing = governing(situation.covering);
        let standing = situation.standing;
        let decision = check_release(
            &policy,
            &facts(q, &m, governing.as_ref(), standing.as_ref()),
        )
        .map_err(|r| refusal(r, scale))?;
        let (Some((d, _, _)), Some(allocation)) =
            (governing.as_ref(), standing.and_then(|s| s.allocation))
        else {
            return Err(ServiceError::internal(
                "rules passed without a disruption or an allocation",
            ));
        };
        let id = db::new_id();
        let holding = Holding {
            manufacturer: &manufacturer,
            material: &m.code,
            quantity: q,
            allocation: allocation.quantity,
            allocation_limit: decision.allocation_limit,
            disruption: &d.id,
            cap: decision.cap,
            min_available_after: decision.min_available_after,
        };
        let hold = holds::new_pending(&m.code, q, Some(id.clone()));
        let record = PolicyRecord {
            severity: decision.severity,
            share: decision.share.normalize().into(),
            allocation_limit: Quantity::new(decision.allocation_limit, scale),
            disruption_cap: decision.cap.map(|c| Quantity::new(c, scale)),
            strategic_floor: Quantity::new(m.strategic_floor, scale),
            floor_waived: decision.floor_waived,
            dual_approval_threshold_usd: Usd(policy.dual_approval_threshold_cents),
            replenish_premium: policy.replenish_premium.normalize().into(),
            replenish_term_days: policy.replenish_term_days,
        };
        let row = DrawdownRow {
            id: id.clone(),
            manufacturer_id: manufacturer.clone(),
            material_code: m.code.clone(),
            disruption_id: d.id.clone(),
            quantity_requested: q,
            quantity: q,
            status: Status::PendingApproval,
            required_approvals: i32::from(required_approvals(
                q,
                scale,
                allocation.locked_price_micros,
                policy.dual_approval_threshold_cents,
            )),
            hold_id: hold.id.clone(),
            justification: justification.clone(),
            needed_by,
            policy: serde_json::to_string(&record)?,
            reject_reason: None,
            obligation_id: None,
            created_at: time::now(),
            closed_at: None,
            version: 0,
        };
        let done = effect(
            EventType::DrawdownSubmitted,
            render(row.clone(), Vec::new(), Vec::new(), scale)?,
        )?;
        // The hold and the drawdown are written, with the audit event and the answer, in
        // the statement of the guarded writes: they are undone if a guard refuses.
        let mut last = vec![
            db::holds::record(hold).boxed(),
            db::drawdowns::record(row).boxed(),
        ];
        let pending = closing.append(done, &mut last)?;
        match db::holding::hold(conn, &holding, last)? {
            Ok(changed) => closing.confirm(changed, pending),
            Err(guarded) => {
                let refusal = match refusal_now(conn, &policy, &holding, guarded, scale) {
                    Ok(refusal) | Err(refusal) => refusal,
                };
                contended = matches!(refusal, ServiceError::Transient(_));
                Err(refusal)
            }
        }
    })
    .await
}

/// Why the guarded writes refused: `check_release` on the figures read again, less this
/// request's quantity where a guard that passed added it (the transaction is about to be
/// rolled back). `Ok` holds the refusal of the rule they break or, if they changed in
/// between so that none is broken now, a transient error (the transaction is run again);
/// `Err`, a failure to read them.
fn refusal_now(
    conn: &mut DbConnection,
    policy: &Policy,
    h: &Holding,
    guarded: Guarded,
    scale: u32,
) -> Result<ServiceError, ServiceError> {
    let q = h.quantity;
    let now = db::situation::situation(conn, h.material, h.manufacturer, time::now().date())?
        .ok_or_else(|| ServiceError::internal(format!("material {} vanished", h.material)))?;
    let governing = governing(now.covering);
    let mut f = facts(q, &now.material, governing.as_ref(), now.standing.as_ref());
    if guarded.allocation {
        if let Some(a) = f.allocation.as_mut() {
            a.held -= q;
        }
    }
    let ours = governing
        .as_ref()
        .is_some_and(|(d, _, _)| d.id == h.disruption);
    if guarded.disruption && ours {
        if let Some(d) = f.disruption.as_mut() {
            d.held_under -= q;
        }
    }
    if guarded.stock {
        f.available += q;
    }
    Ok(check_release(policy, &f).map_or_else(
        |r| refusal(r, scale),
        |_| ServiceError::Transient(format!("figures changed while holding ({guarded:?})")),
    ))
}

fn not_found(id: &str) -> ServiceError {
    super::not_found("drawdown", id)
}

/// Drawdown `id` as `actor` may see it (another manufacturer's is not found).
fn find_visible(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
) -> Result<DrawdownRow, ServiceError> {
    visible(actor, "drawdown", id, db::drawdowns::find(conn, id)?, |d| {
        &d.manufacturer_id
    })
}

/// Takes the locks of a transition of drawdown `d` (read before, unlocked: who and what it
/// concerns never change) in the order of `db::holding`: its allocation, then its own row;
/// reads it again under them.
fn locked(conn: &mut DbConnection, d: &DrawdownRow) -> Result<DrawdownRow, ServiceError> {
    if !db::manufacturers::lock(conn, &d.manufacturer_id, &d.material_code)? {
        return Err(ServiceError::internal(format!(
            "drawdown {} without an allocation",
            d.id
        )));
    }
    if !db::drawdowns::lock(conn, &d.id)? {
        return Err(not_found(&d.id));
    }
    db::drawdowns::find(conn, &d.id)?.ok_or_else(|| not_found(&d.id))
}

/// Refuses to move a drawdown in a final state (to be `action`, e.g. approved).
fn ensure_open(d: &DrawdownRow, action: &str) -> Result<(), ServiceError> {
    if d.status.is_open() {
        Ok(())
    } else {
        Err(ServiceError::InvalidState(format!(
            "drawdown {} is {}: it cannot be {action}",
            d.id, d.status
        )))
    }
}

/// Moves `by` of a drawdown's held quantity: out of held (`released` false), or on to
/// outstanding and released-under-the-disruption (`released` true). Allocation first, then
/// the disruption: the order submissions lock them in.
fn shift_held(
    conn: &mut DbConnection,
    d: &DrawdownRow,
    by: i64,
    released: bool,
) -> Result<(), ServiceError> {
    let moved = if released { by } else { 0 };
    if !db::manufacturers::shift(conn, &d.manufacturer_id, &d.material_code, -by, moved)? {
        return Err(ServiceError::internal(
            "held figures out of step with the drawdown",
        ));
    }
    if !db::disruptions::shift(conn, &d.disruption_id, &d.material_code, -by, moved)? {
        // The row exists (the drawdown names it); only the released total can refuse.
        let m = material(conn, &d.material_code)?;
        return Err(ServiceError::too_large(
            "quantity",
            format_args!("the quantity released under disruption {}", d.disruption_id),
            m.scale.get(),
        ));
    }
    Ok(())
}

/// Closes a locked, open drawdown without releasing it (rejected, cancelled): the held
/// figures fall back and the hold is voided.
pub(crate) fn close_open(
    conn: &mut DbConnection,
    mut d: DrawdownRow,
    status: Status,
    reason: Option<String>,
) -> Result<DrawdownRow, ServiceError> {
    shift_held(conn, &d, d.quantity, false)?;
    holds::void(conn, &d.hold_id)?;
    d.status = status;
    d.reject_reason = reason;
    d.closed_at = Some(time::now());
    db::drawdowns::update(conn, &d)?;
    Ok(d)
}

/// Expires the open drawdowns of an ending disruption `id`, whose locks the caller holds
/// (every allocation of its materials, then these drawdowns): their held figures fall back,
/// each covered material (`materials`, in code order) is closed to new holds, and their holds
/// are voided; returns their `drawdown.expired` events. Rows are written in the order of `db::holding`: allocations, the disruption's
/// materials, then each material's holds and stock, material by material.
pub(crate) fn expire_under(
    conn: &mut DbConnection,
    id: &str,
    materials: &[String],
    mut open: Vec<DrawdownRow>,
) -> Result<Vec<Event>, ServiceError> {
    let out_of_step = || ServiceError::internal("held figures out of step with the drawdown");
    let mut by_allocation = std::collections::BTreeMap::<(&str, &str), i64>::new();
    let mut by_material = std::collections::BTreeMap::<&str, i64>::new();
    for d in &open {
        *by_allocation
            .entry((&d.manufacturer_id, &d.material_code))
            .or_default() += d.quantity;
        *by_material.entry(&d.material_code).or_default() += d.quantity;
    }
    for ((manufacturer, material), q) in by_allocation {
        if !db::manufacturers::shift(conn, manufacturer, material, -q, 0)? {
            return Err(out_of_step());
        }
    }
    for material in materials {
        let held = by_material.get(material.as_str()).copied().unwrap_or(0);
        if !db::disruptions::close_material(conn, id, material, held)? {
            return Err(out_of_step());
        }
    }
    open.sort_by(|a, b| (&a.material_code, &a.id).cmp(&(&b.material_code, &b.id)));
    let now = time::now();
    let mut expired = Vec::with_capacity(open.len());
    for mut d in open {
        holds::void(conn, &d.hold_id)?;
        d.status = Status::Expired;
        d.closed_at = Some(now);
        db::drawdowns::update(conn, &d)?;
        expired.push(d);
    }
    views(conn, expired)?
        .iter()
        .map(|v| event(EventType::DrawdownExpired, v))
        .collect()
}

pub async fn approve(
    db: &Db,
    ctx: WriteCtx,
    id: String,
    quantity: Option<String>,
) -> Result<Reply, ServiceError> {
    let operator = ctx.actor.sub.clone();
    write(db, ctx, 200, move |conn| {
        let d = db::drawdowns::find(conn, &id)?.ok_or_else(|| not_found(&id))?;
        let mut d = locked(conn, &d)?;
        ensure_open(&d, "approved")?;
        let m = material(conn, &d.material_code)?;
        let scale = m.scale.get();
        // The disruption the request was made under must still be active, under the lock
        // that ending it takes: it ends after this commits (and sees the drawdown released
        // or approved), or before (and this refuses).
        if !db::disruptions::lock_open(conn, &d.disruption_id, &d.material_code)? {
            return Err(refusal(Refusal::NoActiveDisruption, scale));
        }
        let approvals = db::drawdowns::approvals(conn, std::slice::from_ref(&id))?;
        if approvals.iter().any(|a| a.operator == operator) {
            return Err(ServiceError::Rule {
                code: crate::domain::error_code::ErrorCode::DuplicateApproval,
                detail: format!("{operator} has already approved this drawdown; a second approval must come from another operator"),
                figures: json!({"operator": operator, "approvals": approvals.len(), "required_approvals": d.required_approvals}),
            });
        }
        if let Some(text) = &quantity {
            let lowered = positive_quantity(text, scale).map_err(|e| ServiceError::validation("quantity", e))?;
            if lowered > d.quantity {
                return Err(ServiceError::validation(
                    "quantity",
                    format!("may only lower the request ({} standing)", format_fixed(d.quantity, scale)),
                ));
            }
            if lowered < d.quantity {
                shift_held(conn, &d, d.quantity - lowered, false)?;
                holds::lower(conn, &d.hold_id, lowered)?;
                d.quantity = lowered;
            }
        }
        db::drawdowns::insert_approval(
            conn,
            &ApprovalRow {
                drawdown_id: id.clone(),
                operator: operator.clone(),
                quantity: d.quantity,
                at: time::now(),
            },
        )?;
        let required = usize::try_from(d.required_approvals).map_err(|e| {
            ServiceError::internal_because(
                format!("drawdown {id}: stored required_approvals {}", d.required_approvals),
                e,
            )
        })?;
        let released = if approvals.len() + 1 >= required {
            Some(release(conn, &mut d)?)
        } else {
            d.status = Status::PartiallyApproved;
            db::drawdowns::update(conn, &d)?;
            None
        };
        let body = view(conn, d)?;
        // The release's journal entry last: the chain's lock is held for little more than
        // the commit.
        match released {
            Some((entry, obligation)) => {
                ledger::append(conn, entry)?;
                let mut done = effect(EventType::DrawdownReleased, body)?;
                let o = super::obligations::view(obligation, scale, time::now().date());
                done.events.push(super::obligations::event(EventType::ObligationCreated, &o)?);
                Ok(done)
            }
            None => effect(EventType::DrawdownPartiallyApproved, body),
        }
    })
    .await
}

/// The final approval: stock leaves the oldest lots to the manufacturer and the obligation
/// to return it with the premium is created. Returns the journal entry recording it, for the
/// caller to append last, and the obligation.
fn release(
    conn: &mut DbConnection,
    d: &mut DrawdownRow,
) -> Result<(NewEntry, ObligationRow), ServiceError> {
    let record: PolicyRecord = serde_json::from_str(&d.policy)?;
    let premium = record
        .replenish_premium
        .decimal()
        .ok_or_else(|| ServiceError::internal("stored premium beyond a decimal's range"))?;
    let q = d.quantity;
    let Some(due) = quantity_due(q, premium) else {
        let m = material(conn, &d.material_code)?;
        return Err(ServiceError::too_large(
            "quantity",
            "the quantity due (with its premium)",
            m.scale.get(),
        ));
    };
    shift_held(conn, d, q, true)?;
    let taken = holds::take(
        conn,
        &d.hold_id,
        q,
        &accounts::released(&d.manufacturer_id, &d.material_code),
    )?;
    let rows: Vec<PickRow> = taken
        .picks
        .iter()
        .enumerate()
        .map(|(i, p)| PickRow {
            drawdown_id: d.id.clone(),
            idx: i32::try_from(i).unwrap_or(i32::MAX),
            lot_id: p.lot.id.clone(),
            facility: p.lot.facility_code.clone(),
            quantity: p.quantity,
        })
        .collect();
    db::drawdowns::insert_picks(conn, &rows)?;
    let now = time::now();
    let obligation = ObligationRow {
        id: db::new_id(),
        drawdown_id: d.id.clone(),
        manufacturer_id: d.manufacturer_id.clone(),
        material_code: d.material_code.clone(),
        base_quantity: q,
        quantity_due: due,
        quantity_returned: 0,
        base_returned: 0,
        due_date: now.date() + chrono::Days::new(u64::from(record.replenish_term_days)),
        status: ObligationStatus::Open,
        created_at: now,
        settled_at: None,
    };
    db::obligations::insert(conn, &obligation)?;
    d.status = Status::Released;
    d.obligation_id = Some(obligation.id.clone());
    d.closed_at = Some(now);
    db::drawdowns::update(conn, d)?;
    let entry = NewEntry {
        kind: "release",
        reference: Some(d.id.clone()),
        effective: Effective::Recorded,
        postings: taken.postings,
    };
    Ok((entry, obligation))
}

pub async fn reject(
    db: &Db,
    ctx: WriteCtx,
    id: String,
    reason: String,
) -> Result<Reply, ServiceError> {
    let reason = crate::domain::validation::text(&reason, 4000)
        .map_err(|e| ServiceError::validation("reason", e))?;
    write(db, ctx, 200, move |conn| {
        let d = db::drawdowns::find(conn, &id)?.ok_or_else(|| not_found(&id))?;
        let d = locked(conn, &d)?;
        ensure_open(&d, Status::Rejected.as_str())?;
        let d = close_open(conn, d, Status::Rejected, Some(reason.clone()))?;
        effect(EventType::DrawdownRejected, view(conn, d)?)
    })
    .await
}

pub async fn cancel(db: &Db, ctx: WriteCtx, id: String) -> Result<Reply, ServiceError> {
    let actor = ctx.actor.clone();
    write(db, ctx, 200, move |conn| {
        let d = find_visible(conn, &actor, &id)?;
        let d = locked(conn, &d)?;
        ensure_open(&d, Status::Cancelled.as_str())?;
        let d = close_open(conn, d, Status::Cancelled, None)?;
        effect(EventType::DrawdownCancelled, view(conn, d)?)
    })
    .await
}

pub async fn get(db: &Db, actor: Actor, id: String) -> Result<DrawdownView, ServiceError> {
    db.run(move |conn| {
        let d = find_visible(conn, &actor, &id)?;
        view(conn, d)
    })
    .await
}

pub async fn list(
    db: &Db,
    actor: Actor,
    mut filter: DrawdownFilter,
    page: PageRequest,
) -> Result<Page<DrawdownView>, ServiceError> {
    if !scope_to_caller(&actor, &mut filter.manufacturer) {
        return Ok(Page::empty());
    }
    filter.after = page.after.clone();
    db.run(move |conn| {
        let rows = db::drawdowns::page(conn, &filter, fetch_limit(&page))?;
        Ok(Page::from_rows(
            views(conn, rows)?,
            page.limit,
            |d| d.id.0.clone(),
            |d| d,
        ))
    })
    .await
}
