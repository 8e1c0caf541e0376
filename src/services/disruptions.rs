//! Disruptions: proposed by one person, confirmed by another, ended; ending one expires the
//! drawdowns still open under it.

use super::drawdowns::expire_under;
use super::events::Event;
use super::{fetch_limit, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx};
use crate::db::disruptions::{CoveredRow, DisruptionRow};
use crate::db::{self, Db, DbConnection};
use crate::domain::code::Code;
use crate::domain::event::EventType;
use crate::domain::formats;
use crate::domain::policy::Severity;
use crate::domain::status::DisruptionStatus;
use crate::domain::time;
use crate::domain::validation::{text, Problems};
use crate::domain::values::{Id, Quantity, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoveredMaterial {
    pub code: Code,
    /// On-hand stock when the disruption became active (null until then).
    pub on_hand_at_activation: Option<Quantity>,
    /// Released and held under this disruption.
    pub released: Quantity,
    pub held: Quantity,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisruptionView {
    pub id: Id,
    pub title: String,
    pub severity: Severity,
    pub reason: String,
    pub status: DisruptionStatus,
    pub proposed_by: String,
    pub confirmed_by: Option<String>,
    pub ended_by: Option<String>,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub materials: Vec<CoveredMaterial>,
}

fn view(conn: &mut DbConnection, d: DisruptionRow) -> Result<DisruptionView, ServiceError> {
    views(conn, vec![d])?
        .pop()
        .ok_or_else(|| ServiceError::internal("a disruption without a view"))
}

/// Views of many disruptions with their materials, in two queries whatever their number.
fn views(
    conn: &mut DbConnection,
    rows: Vec<DisruptionRow>,
) -> Result<Vec<DisruptionView>, ServiceError> {
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let scales = super::Scales::load(conn)?;
    let mut covered: std::collections::HashMap<String, Vec<CoveredMaterial>> =
        std::collections::HashMap::new();
    for c in db::disruptions::covered_by(conn, &ids)? {
        let s = scales.of(&c.material_code)?;
        covered
            .entry(c.disruption_id)
            .or_default()
            .push(CoveredMaterial {
                on_hand_at_activation: c.on_hand_at_activation.map(|q| Quantity::new(q, s)),
                released: Quantity::new(c.released, s),
                held: Quantity::new(c.held, s),
                code: c.material_code,
            });
    }
    let ts = |t: Option<chrono::NaiveDateTime>| t.map(Timestamp);
    Ok(rows
        .into_iter()
        .map(|d| DisruptionView {
            materials: covered.remove(&d.id).unwrap_or_default(),
            id: d.id.into(),
            title: d.title,
            severity: d.severity,
            reason: d.reason,
            status: d.status,
            proposed_by: d.proposed_by,
            confirmed_by: d.confirmed_by,
            ended_by: d.ended_by,
            created_at: Timestamp(d.created_at),
            activated_at: ts(d.activated_at),
            ended_at: ts(d.ended_at),
        })
        .collect())
}

/// The answer of a disruption's command, reporting `kind`: its view, seen by manufacturers
/// with an allocation of one of its materials.
fn effect(
    id: &str,
    kind: EventType,
    view: DisruptionView,
) -> Result<Effect<DisruptionView>, ServiceError> {
    let materials = view.materials.iter().map(|m| m.code.to_string()).collect();
    Ok(Effect {
        target: Some(id.to_owned()),
        events: vec![Event::of_materials(kind, materials, &view)?],
        body: view,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Export controls on heavy rare earths", "materials": ["DY_OXIDE", "TB_OXIDE"], "severity": "severe", "reason": "Export licences suspended for 90 days."}))]
pub struct Proposal {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Export controls on heavy rare earths"
    )]
    pub title: String,
    /// Material codes covered.
    #[schema(value_type = Vec<formats::Code>, min_items = 1)]
    pub materials: Vec<String>,
    #[schema(value_type = formats::Severity)]
    pub severity: String,
    #[schema(min_length = 1, max_length = 4000)]
    pub reason: String,
}

pub async fn propose(db: &Db, ctx: WriteCtx, p: Proposal) -> Result<Reply, ServiceError> {
    let mut problems = Problems::default();
    let title = problems.check("title", text(&p.title, 200));
    let reason = problems.check("reason", text(&p.reason, 4000));
    let severity = problems.check("severity", p.severity.parse::<Severity>());
    let codes: BTreeSet<String> = p.materials.iter().cloned().collect();
    let materials = problems.check(
        "materials",
        if codes.is_empty() {
            Err("must name at least one material")
        } else if codes.len() != p.materials.len() {
            Err("must not repeat a material")
        } else {
            Ok(codes)
        },
    );
    let (title, reason, severity, materials) = problems
        .finish(|| Some((title?, reason?, severity?, materials?)))
        .map_err(ServiceError::Validation)?;
    let by = ctx.actor.sub.clone();
    write(db, ctx, 201, move |conn| {
        let mut codes = Vec::with_capacity(materials.len());
        for code in &materials {
            match db::materials::find_by_code(conn, code)? {
                Some(m) => codes.push(m.code),
                None => {
                    return Err(ServiceError::validation(
                        "materials",
                        format!("no material {code:?}"),
                    ))
                }
            }
        }
        let row = DisruptionRow {
            id: db::new_id(),
            title: title.clone(),
            severity,
            reason: reason.clone(),
            status: DisruptionStatus::Proposed,
            proposed_by: by.clone(),
            confirmed_by: None,
            ended_by: None,
            created_at: time::now(),
            activated_at: None,
            ended_at: None,
        };
        let covered: Vec<CoveredRow> = codes
            .into_iter()
            .map(|material_code| CoveredRow {
                disruption_id: row.id.clone(),
                material_code,
                open: false,
                on_hand_at_activation: None,
                released: 0,
                held: 0,
            })
            .collect();
        db::disruptions::insert(conn, &row, &covered)?;
        let id = row.id.clone();
        effect(&id, EventType::DisruptionProposed, view(conn, row)?)
    })
    .await
}

fn find(conn: &mut DbConnection, id: &str) -> Result<DisruptionRow, ServiceError> {
    db::disruptions::find(conn, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no disruption {id}")))
}

/// Activates a proposed disruption; the proposer may not confirm their own proposal.
pub async fn confirm(db: &Db, ctx: WriteCtx, id: String) -> Result<Reply, ServiceError> {
    let by = ctx.actor.sub.clone();
    write(db, ctx, 200, move |conn| {
        let d = find(conn, &id)?;
        if d.status != DisruptionStatus::Proposed {
            return Err(ServiceError::InvalidState(format!(
                "disruption {id} is {}, not proposed",
                d.status
            )));
        }
        if d.proposed_by == by {
            return Err(ServiceError::Rule {
                code: crate::domain::error_code::ErrorCode::SelfConfirmationForbidden,
                detail: "a disruption must be confirmed by someone other than its proposer".into(),
                figures: json!({"proposed_by": d.proposed_by, "confirmed_by": by}),
            });
        }
        let now = time::now();
        if !db::disruptions::transition(
            conn,
            &id,
            &[DisruptionStatus::Proposed],
            DisruptionStatus::Active,
            &by,
            now,
        )? {
            return Err(ServiceError::InvalidState(format!(
                "disruption {id} is no longer proposed"
            )));
        }
        // The base of the limited cap: stock on hand at this moment.
        for c in db::disruptions::covered(conn, &id)? {
            let m = db::materials::find_by_code(conn, &c.material_code)?
                .ok_or_else(|| ServiceError::internal("covered material vanished"))?;
            db::disruptions::open_material(conn, &id, &m.code, m.on_hand)?;
        }
        let d = find(conn, &id)?;
        effect(&id, EventType::DisruptionActivated, view(conn, d)?)
    })
    .await
}

/// Ends a proposed or active disruption and expires the drawdowns still open under it.
///
/// Locks in the order of `db::holding`: the disruption's row, every allocation of its
/// materials (so that no drawdown of them is submitted, approved, rejected or cancelled
/// meanwhile: each of those takes its allocation first), the drawdowns still open under it,
/// then its materials' rows, closed to new holds. A submission or approval that got its
/// allocation first commits before this goes on, and is seen: expired, or released before
/// `ended_at`; one that comes after finds the disruption ended.
pub async fn end(db: &Db, ctx: WriteCtx, id: String) -> Result<Reply, ServiceError> {
    let by = ctx.actor.sub.clone();
    write(db, ctx, 200, move |conn| {
        find(conn, &id)?;
        if !db::disruptions::transition(
            conn,
            &id,
            &[DisruptionStatus::Proposed, DisruptionStatus::Active],
            DisruptionStatus::Ended,
            &by,
            time::now(),
        )? {
            return Err(ServiceError::InvalidState(format!(
                "disruption {id} has already ended"
            )));
        }
        let materials: Vec<String> = db::disruptions::covered(conn, &id)?
            .into_iter()
            .map(|c| c.material_code.into())
            .collect();
        let fenced: BTreeSet<(String, String)> =
            db::manufacturers::lock_of_materials(conn, &materials)?
                .into_iter()
                .collect();
        let open = db::drawdowns::lock_open_under(conn, &id)?;
        // An allocation created after the fence was taken, and a drawdown submitted on it
        // since: its locks would come out of order. Run the whole again.
        if open
            .iter()
            .any(|d| !fenced.contains(&(d.manufacturer_id.clone(), d.material_code.to_string())))
        {
            return Err(ServiceError::Transient(
                "a drawdown on a new allocation while ending".into(),
            ));
        }
        let expired = expire_under(conn, &id, &materials, open)?;
        // Closing the materials waited for every submission that held under them: if one
        // slipped past the fence (as above), it is visible now. Run the whole again.
        if !db::drawdowns::open_under(conn, &id)?.is_empty() {
            return Err(ServiceError::Transient(
                "a drawdown submitted while ending".into(),
            ));
        }
        // Every release that got in first has committed: it ended after them.
        db::disruptions::set_ended_at(conn, &id, time::now())?;
        let d = find(conn, &id)?;
        let mut done = effect(&id, EventType::DisruptionEnded, view(conn, d)?)?;
        done.events.extend(expired);
        Ok(done)
    })
    .await
}

pub async fn get(db: &Db, id: String) -> Result<DisruptionView, ServiceError> {
    db.run(move |conn| {
        let d = find(conn, &id)?;
        view(conn, d)
    })
    .await
}

pub async fn list(
    db: &Db,
    status: Option<DisruptionStatus>,
    page: PageRequest,
) -> Result<Page<DisruptionView>, ServiceError> {
    db.run(move |conn| {
        let rows = db::disruptions::page(conn, status, page.after.as_deref(), fetch_limit(&page))?;
        Ok(Page::from_rows(
            views(conn, rows)?,
            page.limit,
            |d| d.id.0.clone(),
            |d| d,
        ))
    })
    .await
}
