//! /v1/loan-facilities and /v1/tranches

use super::auth::{Admin, Auth, Operator, Staff};
use super::body::Body;
use super::command::Command;
use super::error::{ApiError, Problem};
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::{date, ListQuery};
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::domain::loan::{Movement, NewLoanFacility, NewTranche};
use crate::domain::time;
use crate::services::loans::{
    AccrualView, DisbursementView, LoanFacilityView, LoanStatementView, RepaymentView, TrancheView,
};
use crate::services::{self, Page};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lender": "Export-Import Bank of the United States", "kind": "direct_loan", "commitment_usd": "10000000000.00", "annual_rate": "0.0475", "day_count": "ACT/360", "availability_end": "2028-12-31", "maturity_date": "2041-02-01"}))]
pub struct LoanFacilityInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Export-Import Bank of the United States"
    )]
    pub lender: String,
    #[schema(value_type = formats::LoanKind)]
    pub kind: String,
    /// USD, at most 2 decimals, above zero.
    #[schema(value_type = formats::Decimal)]
    pub commitment_usd: String,
    /// A yearly fraction from 0 to 1, at most 9 decimals: `0.0475` is 4.75 %.
    #[schema(value_type = formats::Decimal)]
    pub annual_rate: String,
    #[schema(value_type = formats::DayCount)]
    pub day_count: String,
    /// The last value date a disbursement may have (YYYY-MM-DD), not after maturity_date.
    #[schema(value_type = formats::IsoDate)]
    pub availability_end: String,
    #[schema(value_type = formats::IsoDate)]
    pub maturity_date: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_usd": "2500000000", "available_from": "2026-03-01", "purpose": "Rare-earth oxide purchases, first year"}))]
pub struct TrancheInput {
    /// USD, at most 2 decimals, above zero.
    #[schema(value_type = formats::Decimal)]
    pub amount_usd: String,
    /// The first value date a disbursement may have (YYYY-MM-DD), not after the facility's
    /// availability_end.
    #[schema(value_type = formats::IsoDate)]
    pub available_from: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "Rare-earth oxide purchases, first year"
    )]
    pub purpose: String,
}

/// Money moving on a value date.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_usd": "125000000", "value_date": "2026-03-02"}))]
pub struct MovementInput {
    /// USD, at most 2 decimals, above zero.
    #[schema(value_type = formats::Decimal)]
    pub amount_usd: String,
    /// Takes effect at 00:00. Not before the facility's accrued_through.
    #[schema(value_type = formats::IsoDate)]
    pub value_date: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"through": "2026-04-01"}))]
pub struct AccrualInput {
    /// Post the interest for the days before this date (YYYY-MM-DD).
    #[schema(value_type = formats::IsoDate)]
    pub through: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// Default today (UTC). Past and future dates are both answered.
    #[param(value_type = Option<formats::IsoDate>)]
    pub as_of: Option<String>,
}

/// Define a loan facility (admin).
#[utoipa::path(post, operation_id = "create_loan_facility", path = "/v1/loan-facilities", tag = "loans",
    request_body = LoanFacilityInput,
    responses((status = 201, description = "created", body = LoanFacilityView), WriteErrors))]
pub async fn create(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    body: Body<LoanFacilityInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let f = NewLoanFacility::parse(
        &b.lender,
        &b.kind,
        &b.commitment_usd,
        &b.annual_rate,
        &b.day_count,
        &b.availability_end,
        &b.maturity_date,
    )
    .map_err(ApiError::validation)?;
    let reply = services::loans::create_facility(&state.db, cmd.ctx(&body.bytes), f).await?;
    Ok(written(reply))
}

/// List loan facilities in creation order.
#[utoipa::path(get, operation_id = "list_loan_facilities", path = "/v1/loan-facilities", tag = "loans", params(ListQuery),
    responses((status = 200, body = Page<LoanFacilityView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = services::loans::list(&state.db, query.into_inner().page()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A facility's statement as of a date: every movement with a value date on or before it,
/// and the interest to it (the days before it), posted or not. A bad `as_of`: 422.
#[utoipa::path(get, operation_id = "get_loan_facility", path = "/v1/loan-facilities/{id}", tag = "loans",
    params(("id" = formats::Id, Path, description = "loan facility id"), StatementQuery),
    responses((status = 200, body = LoanStatementView),
        (status = 422, description = "validation_failed: as_of is not a date", body = Problem,
            content_type = "application/problem+json"),
        ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    id: web::Path<path::Id>,
    query: web::Query<StatementQuery>,
) -> Result<HttpResponse, ApiError> {
    let as_of = match &query.as_of {
        Some(text) => date("as_of", text)?,
        None => time::today(),
    };
    let statement = services::loans::statement(&state.db, id.into_inner().0, as_of).await?;
    Ok(HttpResponse::Ok().json(statement))
}

/// Add a tranche to a facility (admin). The tranches may not add up to more than the
/// commitment: `commitment_exceeded`.
#[utoipa::path(post, path = "/v1/loan-facilities/{id}/tranches", tag = "loans",
    request_body = TrancheInput,
    params(("id" = formats::Id, Path, description = "loan facility id")),
    responses((status = 201, description = "created", body = TrancheView), WriteErrors))]
pub async fn create_tranche(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    id: web::Path<path::Id>,
    body: Body<TrancheInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let t = NewTranche::parse(&b.amount_usd, &b.available_from, &b.purpose)
        .map_err(ApiError::validation)?;
    let reply =
        services::loans::create_tranche(&state.db, cmd.ctx(&body.bytes), id.into_inner().0, t)
            .await?;
    Ok(written(reply))
}

/// Record a disbursement from a tranche (operator, admin). Refused with
/// `tranche_not_available` before the tranche's available_from, `facility_not_available`
/// after the facility's availability_end, `tranche_exceeded` beyond the tranche's undrawn
/// amount; a value date before the facility's accrued_through: `validation_failed`.
#[utoipa::path(post, path = "/v1/tranches/{id}/disbursements", tag = "loans",
    request_body = MovementInput,
    params(("id" = formats::Id, Path, description = "tranche id")),
    responses((status = 201, description = "created", body = DisbursementView), WriteErrors))]
pub async fn disburse(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<MovementInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let m = Movement::parse(&b.amount_usd, &b.value_date).map_err(ApiError::validation)?;
    let reply =
        services::loans::disburse(&state.db, cmd.ctx(&body.bytes), id.into_inner().0, m).await?;
    Ok(written(reply))
}

/// Post the facility's interest to a date (operator, admin): the cumulative interest,
/// rounded half-even to cents, less what was posted before. Through a date already reached:
/// posts 0.
#[utoipa::path(post, path = "/v1/loan-facilities/{id}/accruals", tag = "loans",
    request_body = AccrualInput,
    params(("id" = formats::Id, Path, description = "loan facility id")),
    responses((status = 200, description = "posted", body = AccrualView), WriteErrors))]
pub async fn accrue(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<AccrualInput>,
) -> Result<HttpResponse, ApiError> {
    let through = date("through", &body.value.through)?;
    let reply =
        services::loans::accrue(&state.db, cmd.ctx(&body.bytes), id.into_inner().0, through)
            .await?;
    Ok(written(reply))
}

/// Record a repayment (operator, admin): it pays the interest to the value date not yet paid
/// (posting it first), then principal, the oldest tranche (by available_from, then creation)
/// first. More than is owed: `repayment_exceeds_outstanding`; a value date before the
/// facility's accrued_through: `validation_failed`.
#[utoipa::path(post, path = "/v1/loan-facilities/{id}/repayments", tag = "loans",
    request_body = MovementInput,
    params(("id" = formats::Id, Path, description = "loan facility id")),
    responses((status = 201, description = "created", body = RepaymentView), WriteErrors))]
pub async fn repay(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<MovementInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let m = Movement::parse(&b.amount_usd, &b.value_date).map_err(ApiError::validation)?;
    let reply =
        services::loans::repay(&state.db, cmd.ctx(&body.bytes), id.into_inner().0, m).await?;
    Ok(written(reply))
}
