//! /v1/manufacturers/{id}/fees

use super::auth::Admin;
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::WriteErrors;
use super::path;
use super::reply::written;
use super::AppState;
use crate::domain::fee::NewFee;
use crate::domain::formats;
use crate::services::{self, fees::FeeView};
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
