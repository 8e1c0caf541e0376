//! /v1/reports: readiness reports and the reserve's economics (staff), as JSON or
//! `?format=csv`.

use super::auth::{Auth, Staff};
use super::body::Body;
use super::csv;
use super::error::{ApiError, Problem};
use super::openapi::{ReadErrors, WriteErrors};
use super::query;
use super::AppState;
use crate::domain::formats;
use crate::domain::time;
use crate::domain::validation::FieldError;
use crate::services::economics::{self, NetReturnReport, ValuationReport};
use crate::services::reports::{
    self as svc, ConcentrationReport, CoverReport, StressReport, StressRequest,
};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    #[param(value_type = Option<formats::ReportFormat>)]
    pub format: Option<String>,
}

/// A report as JSON, or its rows (`rows`) as CSV.
fn answer<T: Serialize, R: Serialize>(
    q: &ReportQuery,
    name: &str,
    report: &T,
    rows: &[R],
) -> Result<HttpResponse, ApiError> {
    match q.format.as_deref() {
        None | Some("json") => Ok(HttpResponse::Ok().json(report)),
        Some("csv") => Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"stockpile-{name}.csv\""),
            ))
            .body(csv::render(rows))),
        Some(_) => Err(ApiError::malformed("format must be json or csv")),
    }
}

/// Days of cover of every material: its releasable and available stock against the active
/// manufacturers' declared daily use (Σ monthly_consumption ÷ 30), judged against
/// `policy.target_days_of_cover`. From the cached figures, not the journal.
#[utoipa::path(get, path = "/v1/reports/cover", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "the report; CSV: one row per material", body = CoverReport,
        content((CoverReport = "application/json"), (String = "text/csv"))), ReadErrors))]
pub async fn cover(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let r = svc::cover(&state.reads.db().await, state.policy.clone()).await?;
    answer(&q, "cover", &r, &r.materials)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"severity": "limited", "days": 90, "materials": ["GA"], "demand_factor": "1.5"}))]
pub struct StressInput {
    #[schema(value_type = formats::Severity)]
    pub severity: String,
    /// 1 to 3650.
    #[schema(minimum = 1, maximum = 3650)]
    pub days: i64,
    /// Codes of the materials to simulate; all when absent.
    #[schema(value_type = Option<Vec<formats::Code>>)]
    pub materials: Option<Vec<String>>,
    /// Multiplies every manufacturer's normal use: 0 to 100, at most 6 decimals (default "1").
    #[schema(value_type = Option<formats::Decimal>)]
    pub demand_factor: Option<String>,
}

/// What a disruption of `severity` lasting `days` would do, simulated day by day from
/// today's figures without touching them (reads only, not audited). Each day every active
/// manufacturer with an allocation above zero asks for monthly_consumption ÷ 30 ×
/// demand_factor (rounded down to the material's scale), and is served at most that and
/// what rule 4 leaves it; tiers are served in order (defense, critical, commercial) from
/// what rule 5 (limited: 0.30 × today's on hand) and rule 7 (the floor, waived for defense
/// under critical) leave. A tier that cannot be given all it can be served shares what is
/// left in proportion to what each member could be served, and the tiers after it get
/// nothing that day. Quantities are exact in the material's minor units.
#[utoipa::path(post, path = "/v1/reports/stress", tag = "reports", params(ReportQuery),
    request_body = StressInput,
    responses((status = 200, description = "the scenario's outcome; CSV: one row per material", body = StressReport,
        content((StressReport = "application/json"), (String = "text/csv"))), WriteErrors))]
pub async fn stress(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<ReportQuery>,
    body: Body<StressInput>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let r = svc::stress(
        &state.reads.db().await,
        state.policy.clone(),
        StressRequest {
            severity: b.severity,
            days: b.days,
            demand_factor: b.demand_factor,
            materials: b.materials,
        },
    )
    .await?;
    answer(&q, "stress", &r, &r.materials)
}

/// Where each material's stock on hand comes from: quantity and share per origin country
/// (lots without one count as `unknown`), the leading origin, the HHI over exact shares and
/// an alert at `policy.concentration_alert_share`; `overall` weighs the materials with a
/// market price today by market value. The CSV has the materials' rows.
#[utoipa::path(get, path = "/v1/reports/concentration", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "the report; CSV: one row per material", body = ConcentrationReport,
        content((ConcentrationReport = "application/json"), (String = "text/csv"))), ReadErrors))]
pub async fn concentration(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let r = svc::concentration(&state.reads.db().await, state.policy.clone()).await?;
    answer(&q, "concentration", &r, &r.materials)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ValuationQuery {
    /// The date (YYYY-MM-DD, default today): figures at its end on the effective basis.
    #[param(value_type = Option<formats::IsoDate>)]
    pub as_of: Option<String>,
    #[param(value_type = Option<formats::ReportFormat>)]
    pub format: Option<String>,
}

/// The stock's market value against what is owed on the loans, at the end of `as_of` on the
/// effective basis: per material, on hand (its `inventory:*` balances) and released
/// outstanding (its `released:*` balances) at its latest market price on or before the date,
/// each value half-even to cents (null, and listed in `unpriced`, without a price); the loans'
/// principal and interest accrued unpaid as their statements show them; the coverage ratio
/// (inventory + receivable value) ÷ owed, 4 decimals half-even, null when nothing is owed.
/// Read from the balances stored per effective day, not the journal. The CSV has the
/// materials' rows.
#[utoipa::path(get, path = "/v1/reports/valuation", tag = "reports", params(ValuationQuery),
    responses((status = 200, description = "the valuation; CSV: one row per material", body = ValuationReport,
        content((ValuationReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "validation_failed: as_of is not a date", body = Problem,
            content_type = "application/problem+json"),
        ReadErrors))]
pub async fn valuation(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<ValuationQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let as_of = match q.as_of.as_deref() {
        Some(d) => query::date("as_of", d)?,
        None => time::today(),
    };
    let r = economics::valuation(&state.reads.db().await, as_of).await?;
    answer(
        &ReportQuery { format: q.format },
        "valuation",
        &r,
        &r.materials,
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NetReturnQuery {
    /// First day of the period (YYYY-MM-DD; default: the first day anything is effective).
    #[param(value_type = Option<formats::IsoDate>)]
    pub from: Option<String>,
    /// The day after the period (YYYY-MM-DD; default tomorrow); not before `from`.
    #[param(value_type = Option<formats::IsoDate>)]
    pub to: Option<String>,
    #[param(value_type = Option<formats::ReportFormat>)]
    pub format: Option<String>,
}

/// What the reserve earned over `[from, to)` on the effective basis: fees income (postings to
/// `income:fees:*`, by kind), the premium returned on replenishments (postings to
/// `replenishment_premium:<X>`, each replenishment's valued at the market price of its
/// effective date, half-even to cents; premiums without a price are listed in `unpriced` and
/// not counted) and the interest expense (postings to `expense:interest:*`), each as a
/// positive amount; `net_usd` = fees + premium value − interest. The CSV has the premium rows.
#[utoipa::path(get, path = "/v1/reports/net-return", tag = "reports", params(NetReturnQuery),
    responses((status = 200, description = "the net return; CSV: one row per material with premium returned", body = NetReturnReport,
        content((NetReturnReport = "application/json"), (String = "text/csv"))),
        (status = 422, description = "validation_failed: from or to is not a date, or to is before from", body = Problem,
            content_type = "application/problem+json"),
        ReadErrors))]
pub async fn net_return(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<NetReturnQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let from = q
        .from
        .as_deref()
        .map(|d| query::date("from", d))
        .transpose()?;
    let to = match q.to.as_deref() {
        Some(d) => query::date("to", d)?,
        None => time::today().succ_opt().unwrap_or(time::today()),
    };
    if from.is_some_and(|f| f > to) {
        return Err(ApiError::validation(vec![FieldError::new(
            "to",
            "must not be before from",
        )]));
    }
    let r = economics::net_return(&state.reads.db().await, from, to).await?;
    answer(
        &ReportQuery { format: q.format },
        "net-return",
        &r,
        &r.premium_returned,
    )
}
