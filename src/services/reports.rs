//! The readiness reports (API.md, "Readiness"): days of cover, stress scenarios and origin
//! concentration. Each reads, in one snapshot, the materials' cached figures, the
//! allocations and the lots on hand grouped by origin; none reads the journal, so their time
//! does not grow with the ledger. Nothing here writes.

use super::ServiceError;
use crate::db::manufacturers::ParticipantRow;
use crate::db::materials::MaterialRow;
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::code::Code;
use crate::domain::material::{StockFigures, Unit};
use crate::domain::policy::{Policy, Severity, Tier};
use crate::domain::readiness::{
    self, Concentration, OriginShare, DAYS_SCALE, DEMAND_EXTRA_SCALE, SHARE_SCALE,
};
use crate::domain::status::ManufacturerStatus;
use crate::domain::stress::{self, Flow, Participant, Scenario, FACTOR_SCALE};
use crate::domain::time;
use crate::domain::validation::FieldError;
use crate::domain::values::{Figure, Quantity};
use serde::Serialize;
use std::collections::BTreeMap;

fn stock_of(m: &MaterialRow) -> StockFigures {
    StockFigures {
        on_hand: m.on_hand,
        held: m.held,
        strategic_floor: m.strategic_floor,
    }
}

/// Allocations grouped by material.
fn participants_by_material(
    conn: &mut DbConnection,
) -> Result<BTreeMap<Code, Vec<ParticipantRow>>, ServiceError> {
    let mut by: BTreeMap<Code, Vec<ParticipantRow>> = BTreeMap::new();
    for p in db::manufacturers::participants(conn)? {
        by.entry(p.material_code.clone()).or_default().push(p);
    }
    Ok(by)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoverRow {
    pub material: Code,
    pub unit: Unit,
    pub on_hand: Quantity,
    pub available: Quantity,
    pub releasable: Quantity,
    pub strategic_floor: Quantity,
    /// Σ monthly_consumption ÷ 30 over active manufacturers, to the material's scale + 3
    /// decimals (half-even).
    pub daily_demand: Quantity,
    /// releasable ÷ daily_demand, rounded down to 1 decimal; null without demand.
    pub days_of_cover: Option<Figure>,
    /// available ÷ daily_demand, rounded down to 1 decimal; null without demand.
    pub days_to_zero: Option<Figure>,
    /// days_of_cover >= target_days; null without demand.
    pub meets_target: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"target_days": 60, "materials": [{"material": "GA", "unit": "kg",
    "on_hand": "1000", "available": "900", "releasable": "600", "strategic_floor": "300",
    "daily_demand": "10", "days_of_cover": "60", "days_to_zero": "90", "meets_target": true}]}))]
pub struct CoverReport {
    /// policy.target_days_of_cover
    pub target_days: u32,
    pub materials: Vec<CoverRow>,
}

pub async fn cover(db: &Db, policy: Policy) -> Result<CoverReport, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let participants = participants_by_material(conn)?;
            let materials = db::materials::all(conn)?
                .into_iter()
                .map(|m| {
                    let monthly: i128 = participants
                        .get(&m.code)
                        .into_iter()
                        .flatten()
                        .filter(|p| p.status == ManufacturerStatus::Active)
                        .map(|p| i128::from(p.monthly_consumption))
                        .sum();
                    cover_row(m, monthly, policy.target_days_of_cover)
                })
                .collect();
            Ok(CoverReport {
                target_days: policy.target_days_of_cover,
                materials,
            })
        })
    })
    .await
}

fn cover_row(m: MaterialRow, monthly: i128, target_days: u32) -> CoverRow {
    let scale = m.scale.get();
    let stock = stock_of(&m);
    let c = readiness::cover(stock, monthly, target_days);
    let q = |minor: i64| Quantity::new(minor, scale);
    let days = |tenths: Option<i128>| tenths.map(|t| Figure::new(t, DAYS_SCALE));
    CoverRow {
        unit: m.unit,
        on_hand: q(stock.on_hand),
        available: q(stock.available()),
        releasable: q(stock.releasable()),
        strategic_floor: q(stock.strategic_floor),
        daily_demand: Quantity::wide(c.daily_demand, scale + DEMAND_EXTRA_SCALE),
        days_of_cover: days(c.days_of_cover),
        days_to_zero: days(c.days_to_zero),
        meets_target: c.meets_target,
        material: m.code,
    }
}

/// Demand, service and shortfall of a scenario.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlowView {
    pub demand: Quantity,
    pub served: Quantity,
    pub shortfall: Quantity,
}

impl FlowView {
    fn new(f: Flow, scale: u32) -> Self {
        Self {
            demand: Quantity::wide(f.demand, scale),
            served: Quantity::wide(f.served, scale),
            shortfall: Quantity::wide(f.shortfall(), scale),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierFlows {
    pub defense: FlowView,
    pub critical: FlowView,
    pub commercial: FlowView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StressRow {
    pub material: Code,
    pub demand: Quantity,
    pub served: Quantity,
    pub shortfall: Quantity,
    pub by_tier: TierFlows,
    /// The days before the first with a shortfall (`days` when none).
    pub days_fully_served: u32,
    /// The first day (1-based) with a shortfall, or null.
    pub exhausted_on_day: Option<u32>,
    pub available_after: Quantity,
    pub releasable_after: Quantity,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"severity": "limited", "days": 90, "demand_factor": "1",
    "materials": [{"material": "GA", "demand": "900", "served": "300", "shortfall": "600",
    "by_tier": {"defense": {"demand": "900", "served": "300", "shortfall": "600"},
        "critical": {"demand": "0", "served": "0", "shortfall": "0"},
        "commercial": {"demand": "0", "served": "0", "shortfall": "0"}},
    "days_fully_served": 30, "exhausted_on_day": 31, "available_after": "700",
    "releasable_after": "400"}]}))]
pub struct StressReport {
    pub severity: Severity,
    pub days: u32,
    pub demand_factor: Figure,
    pub materials: Vec<StressRow>,
}

/// What a stress request sends: the scenario's text and the materials (all when absent).
#[derive(Debug, Clone)]
pub struct StressRequest {
    pub severity: String,
    pub days: i64,
    pub demand_factor: Option<String>,
    pub materials: Option<Vec<String>>,
}

pub async fn stress(
    db: &Db,
    policy: Policy,
    req: StressRequest,
) -> Result<StressReport, ServiceError> {
    let scenario = Scenario::parse(&req.severity, req.days, req.demand_factor.as_deref())
        .map_err(ServiceError::Validation)?;
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let mut participants = participants_by_material(conn)?;
            let materials = chosen(db::materials::all(conn)?, req.materials.as_deref())?;
            let rows = materials
                .into_iter()
                .map(|m| {
                    let ps: Vec<Participant> = participants
                        .remove(&m.code)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|p| Participant {
                            tier: p.priority_tier,
                            active: p.status == ManufacturerStatus::Active,
                            allocation: p.quantity,
                            outstanding: p.outstanding,
                            held: p.held,
                            monthly_consumption: p.monthly_consumption,
                        })
                        .collect();
                    stress_row(&policy, &scenario, m, &ps)
                })
                .collect();
            Ok(StressReport {
                severity: scenario.severity,
                days: scenario.days,
                demand_factor: Figure::new(i128::from(scenario.demand_factor_micros), FACTOR_SCALE),
                materials: rows,
            })
        })
    })
    .await
}

/// The materials a scenario covers: those named (each must exist), else all, by code.
fn chosen(
    all: Vec<MaterialRow>,
    named: Option<&[String]>,
) -> Result<Vec<MaterialRow>, ServiceError> {
    let Some(named) = named else {
        return Ok(all);
    };
    let unknown: Vec<FieldError> = named
        .iter()
        .filter(|c| !all.iter().any(|m| m.code.as_str() == c.as_str()))
        .map(|c| FieldError::new("materials", format!("no material {c:?}")))
        .collect();
    if !unknown.is_empty() {
        return Err(ServiceError::Validation(unknown));
    }
    Ok(all
        .into_iter()
        .filter(|m| named.iter().any(|c| c.as_str() == m.code.as_str()))
        .collect())
}

fn stress_row(
    policy: &Policy,
    scenario: &Scenario,
    m: MaterialRow,
    participants: &[Participant],
) -> StressRow {
    let scale = m.scale.get();
    let o = stress::simulate(policy, scenario, stock_of(&m), participants);
    let tier = |t: Tier| FlowView::new(o.tier(t), scale);
    let total = FlowView::new(o.total, scale);
    StressRow {
        material: m.code,
        demand: total.demand,
        served: total.served,
        shortfall: total.shortfall,
        by_tier: TierFlows {
            defense: tier(Tier::Defense),
            critical: tier(Tier::Critical),
            commercial: tier(Tier::Commercial),
        },
        days_fully_served: o.days_fully_served,
        exhausted_on_day: o.exhausted_on_day,
        available_after: Quantity::new(o.available_after, scale),
        releasable_after: Quantity::new(o.releasable_after, scale),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OriginQuantity {
    /// ISO 3166-1 alpha-2, or "unknown".
    pub country: String,
    pub quantity: Quantity,
    /// Of the material's on hand, 4 decimals half-even.
    pub share: Figure,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConcentrationRow {
    pub material: Code,
    pub on_hand: Quantity,
    /// Largest first.
    pub by_origin: Vec<OriginQuantity>,
    pub leading_country: Option<String>,
    pub leading_share: Option<Figure>,
    /// round(Σ (share × 100)²) over exact shares, 0–10,000; null with nothing on hand.
    #[schema(minimum = 0, maximum = 10000)]
    pub hhi: Option<i64>,
    /// leading_share >= policy.concentration_alert_share
    pub alert: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OriginValue {
    pub country: String,
    /// Market value of the stock from this origin, USD (each material's quantity × its
    /// market price, half-even to cents).
    pub value_usd: Figure,
    pub share: Figure,
}

/// Concentration by market value across the materials with a market price today.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverallConcentration {
    pub by_origin: Vec<OriginValue>,
    pub leading_country: Option<String>,
    pub leading_share: Option<Figure>,
    #[schema(minimum = 0, maximum = 10000)]
    pub hhi: Option<i64>,
    pub alert: bool,
    /// Materials with stock on hand and no market price, left out of `overall`.
    pub unpriced: Vec<Code>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"materials": [{"material": "GA", "on_hand": "1000",
    "by_origin": [{"country": "CN", "quantity": "700", "share": "0.7"},
        {"country": "AU", "quantity": "300", "share": "0.3"}],
    "leading_country": "CN", "leading_share": "0.7", "hhi": 5800, "alert": true}],
    "overall": {"by_origin": [{"country": "CN", "value_usd": "700000", "share": "0.7"},
        {"country": "AU", "value_usd": "300000", "share": "0.3"}],
    "leading_country": "CN", "leading_share": "0.7", "hhi": 5800, "alert": true,
    "unpriced": []}}))]
pub struct ConcentrationReport {
    pub materials: Vec<ConcentrationRow>,
    pub overall: OverallConcentration,
}

fn share(s: i128) -> Figure {
    Figure::new(s, SHARE_SCALE)
}

pub async fn concentration(db: &Db, policy: Policy) -> Result<ConcentrationReport, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let alert = policy.concentration_alert_share;
            let today = time::today();
            let mut by_material: BTreeMap<String, Vec<(String, i128)>> = BTreeMap::new();
            for (material, country, quantity) in db::lots::on_hand_by_origin(conn)? {
                by_material
                    .entry(material)
                    .or_default()
                    .push((country, i128::from(quantity)));
            }
            let mut rows = Vec::new();
            let mut values: Vec<(String, i128)> = Vec::new();
            let mut unpriced = Vec::new();
            for m in db::materials::all(conn)? {
                let scale = m.scale.get();
                let parts = by_material.remove(m.code.as_str()).unwrap_or_default();
                if m.on_hand > 0 {
                    match db::prices::latest(conn, &m.code, today)? {
                        Some(p) => values.extend(parts.iter().map(|(c, q)| {
                            (c.clone(), readiness::value_cents(*q, scale, p.price_micros))
                        })),
                        None => unpriced.push(m.code.clone()),
                    }
                }
                let c = readiness::concentration(parts, alert);
                rows.push(ConcentrationRow {
                    on_hand: Quantity::new(m.on_hand, scale),
                    by_origin: c
                        .by_origin
                        .iter()
                        .map(|o| OriginQuantity {
                            country: o.country.clone(),
                            quantity: Quantity::wide(o.amount, scale),
                            share: share(o.share),
                        })
                        .collect(),
                    leading_country: c.leading_country,
                    leading_share: c.leading_share.map(share),
                    hhi: c.hhi.and_then(|h| i64::try_from(h).ok()),
                    alert: c.alert,
                    material: m.code,
                });
            }
            let c: Concentration = readiness::concentration(values, alert);
            Ok(ConcentrationReport {
                materials: rows,
                overall: OverallConcentration {
                    by_origin: c
                        .by_origin
                        .iter()
                        .map(|o: &OriginShare| OriginValue {
                            country: o.country.clone(),
                            value_usd: Figure::new(o.amount, 2),
                            share: share(o.share),
                        })
                        .collect(),
                    leading_country: c.leading_country,
                    leading_share: c.leading_share.map(share),
                    hhi: c.hhi.and_then(|h| i64::try_from(h).ok()),
                    alert: c.alert,
                    unpriced,
                },
            })
        })
    })
    .await
}
