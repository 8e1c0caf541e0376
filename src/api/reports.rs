//! /v1/reports: readiness reports (staff), as JSON or `?format=csv`.

use super::auth::{Auth, Staff};
use super::body::Body;
use super::csv;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::AppState;
use crate::domain::formats;
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
