//! /v1/manufacturers/{id}/fees, /v1/fees/accruals, /v1/manufacturers/{id}/payments and
//! /v1/manufacturers/{id}/statement

use super::auth::{Admin, AnyRole, Auth, Operator};
use super::body::Body;
use super::command::Command;
use super::error::{ApiError, Problem};
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::date;
use super::reply::written;
use super::AppState;
use crate::domain::fee::{NewFee, NewPayment};
use crate::domain::formats;
use crate::domain::time;
use crate::domain::validation::FieldError;
use crate::services;
use crate::services::fees::{FeeAccrualView, FeeView, PaymentView, StatementView};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "entry", "amount_usd": "250000", "memo": "Entry fee, 2026 allocation"}))]
pub struct FeeInput {
    #[schema(value_type = formats::FeeKind)]
    pub kind: String,
    /// USD, at most 2 decimals, above zero.
    #[schema(value_type = formats::Decimal)]
    pub amount_usd: String,
    /// Up to 1000 characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Entry fee, 2026 allocation"
    )]
    pub memo: Option<String>,
}

/// Record a fee a manufacturer paid (admin). The manufacturer id must be a UUID (404
/// otherwise).
#[utoipa::path(post, operation_id = "create_fee", path = "/v1/manufacturers/{id}/fees", tag = "loans",
    request_body = FeeInput,
    params(("id" = formats::Id, Path, description = "manufacturer id")),
    responses((status = 201, description = "created", body = FeeView), WriteErrors))]
pub async fn create(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    id: web::Path<path::Id>,
    body: Body<FeeInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let fee =
        NewFee::parse(&b.kind, &b.amount_usd, b.memo.as_deref()).map_err(ApiError::validation)?;
    let reply =
        services::fees::charge(&state.db, cmd.ctx(&body.bytes), id.into_inner().0, fee).await?;
    Ok(written(reply))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"through": "2026-04-01"}))]
pub struct FeeAccrualInput {
    /// Accrue the carrying fees of the days before this date (YYYY-MM-DD), at most tomorrow
    /// (UTC).
    #[schema(value_type = formats::IsoDate)]
    pub through: String,
}

/// Accrue carrying fees (operator, admin): for every allocation, the fee of its locked value
/// (quantity × locked price) at `policy.carrying_fee_rate` a year, ACT/365F day by day on the
/// terms in force that day, for the days before `through` not yet accrued. The cumulative
/// fee of each allocation is rounded half-even to cents and what it adds to what was posted
/// is posted: one journal entry per manufacturer with a non-zero amount,
/// `receivable:fees:<id>` against `income:fees:carrying`, effective the day before
/// `through`. Through a date already reached: posts 0.
#[utoipa::path(post, operation_id = "accrue_carrying_fees", path = "/v1/fees/accruals", tag = "fees",
    request_body = FeeAccrualInput,
    responses((status = 200, description = "posted", body = FeeAccrualView,
        example = json!({"through": "2026-04-01", "fees_accrued_usd": "20547.95",
            "manufacturers": [{"manufacturer_id": "0192f5e0-0000-7000-8000-000000000001",
                               "fees_accrued_usd": "20547.95"}]})),
        WriteErrors))]
pub async fn accrue(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<FeeAccrualInput>,
) -> Result<HttpResponse, ApiError> {
    let tomorrow = time::today().succ_opt().unwrap_or_else(time::today);
    let through = time::parse_date_until(&body.value.through, tomorrow, "tomorrow")
        .map_err(|m| ApiError::validation(vec![FieldError::new("through", m)]))?;
    let rate = state.policy.carrying_fee_rate;
    let reply = services::fees::accrue(&state.db, cmd.ctx(&body.bytes), rate, through).await?;
    Ok(written(reply))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_usd": "20547.95", "value_date": "2026-04-03", "memo": "Carrying fees, Q1 2026"}))]
pub struct PaymentInput {
    /// USD, at most 2 decimals, above zero, at most the balance due.
    #[schema(value_type = formats::Decimal)]
    pub amount_usd: String,
    /// The day the money was received (YYYY-MM-DD), not after today (UTC).
    #[schema(value_type = formats::IsoDate)]
    pub value_date: String,
    #[schema(min_length = 1, max_length = 1000, example = "Carrying fees, Q1 2026")]
    pub memo: Option<String>,
}

/// Record a payment of carrying fees (operator, admin): `cash:reserve` against the
/// manufacturer's `receivable:fees:<id>`, effective on `value_date`. More than the balance
/// due: 422 `payment_exceeds_due` with the figures (checked by the write itself, so
/// concurrent payments cannot pay more than is due).
#[utoipa::path(post, operation_id = "record_fee_payment", path = "/v1/manufacturers/{id}/payments", tag = "fees",
    request_body = PaymentInput,
    params(("id" = formats::Id, Path, description = "manufacturer id")),
    responses((status = 201, description = "recorded", body = PaymentView), WriteErrors))]
pub async fn pay(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<PaymentInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let payment = NewPayment::parse(
        &b.amount_usd,
        &b.value_date,
        b.memo.as_deref(),
        time::today(),
    )
    .map_err(ApiError::validation)?;
    let reply =
        services::fees::pay(&state.db, cmd.ctx(&body.bytes), id.into_inner().0, payment).await?;
    Ok(written(reply))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeeStatementQuery {
    /// The figures at the end of this day, on the effective basis; default today (UTC).
    #[param(value_type = Option<formats::IsoDate>)]
    pub as_of: Option<String>,
}

/// A manufacturer's carrying fees at the end of a day (its manufacturer; staff), on the
/// effective basis: what the accruals effective by then accrued, what was paid with value
/// dates by then, the balance due, and per allocation its terms in force and its fees.
#[utoipa::path(get, operation_id = "get_fee_statement", path = "/v1/manufacturers/{id}/statement", tag = "fees",
    params(("id" = formats::Id, Path, description = "manufacturer id"), FeeStatementQuery),
    responses((status = 200, body = StatementView,
        example = json!({"manufacturer_id": "0192f5e0-0000-7000-8000-000000000001",
            "as_of": "2026-03-31", "fees_accrued_through": "2026-04-01",
            "fees_accrued_usd": "26.71", "fees_paid_usd": "20", "balance_due_usd": "6.71",
            "allocations": [{"material": "NDPR_OXIDE", "quantity": "1500",
                "locked_price_usd": "12.5", "locked_value_usd": "18750",
                "carrying_fees_accrued_usd": "26.71"}]})),
        (status = 422, description = "validation_failed: as_of is not a date", body = Problem,
            content_type = "application/problem+json"),
        ReadErrors))]
pub async fn statement(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
    query: web::Query<FeeStatementQuery>,
) -> Result<HttpResponse, ApiError> {
    let as_of = match &query.as_of {
        Some(text) => date("as_of", text)?,
        None => time::today(),
    };
    let view = services::fees::statement(&state.db, auth.actor, id.into_inner().0, as_of).await?;
    Ok(HttpResponse::Ok().json(view))
}
