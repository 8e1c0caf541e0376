//! /v1/allocation-transfers: entitlement moved between manufacturers.

use super::auth::{Admin, AnyRole, Auth};
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::query;
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::services::transfers::{self as svc, TransferTerms, TransferView};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "from_manufacturer_id": "0192f5e0-0000-7000-8000-000000000001",
    "to_manufacturer_id": "0192f5e0-0000-7000-8000-000000000002",
    "material": "GA", "quantity": "250", "price_usd": "40000"}))]
pub struct TransferInput {
    #[schema(value_type = formats::Id)]
    pub from_manufacturer_id: String,
    #[schema(value_type = formats::Id)]
    pub to_manufacturer_id: String,
    #[schema(value_type = formats::Code)]
    pub material: String,
    /// Entitlement moved, in the material's unit (> 0); the sender keeps at least its
    /// outstanding + held.
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
    /// What the recipient pays the sender, USD (>= 0, at most 2 decimals), recorded with the
    /// transfer; it does not enter the reserve's cash.
    #[schema(value_type = formats::Decimal)]
    pub price_usd: String,
}

/// Move entitlement from one manufacturer to another (admin). The recipient's locked price
/// becomes the quantity-weighted average of its entitlement and the transferred one at the
/// sender's locked price.
#[utoipa::path(post, operation_id = "transfer_allocation", path = "/v1/allocation-transfers", tag = "manufacturers",
    request_body = TransferInput,
    responses((status = 201, body = TransferView), WriteErrors))]
pub async fn create(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    body: Body<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = body.value;
    let terms = TransferTerms {
        from: b.from_manufacturer_id,
        to: b.to_manufacturer_id,
        material: b.material,
        quantity: b.quantity,
        price_usd: b.price_usd,
    };
    Ok(written(svc::transfer(&state.db, ctx, terms).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    /// Only transfers to or from this manufacturer.
    #[param(value_type = Option<formats::Id>)]
    pub manufacturer_id: Option<String>,
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// List transfers, newest first (manufacturers see only their own).
#[utoipa::path(get, operation_id = "list_allocation_transfers", path = "/v1/allocation-transfers", tag = "manufacturers",
    params(TransferQuery),
    responses((status = 200, body = Page<TransferView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    q: web::Query<TransferQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let manufacturer = query::id("manufacturer_id", q.manufacturer_id)?;
    let page = query::page(q.limit, q.after)?;
    Ok(HttpResponse::Ok().json(svc::list(&state.db, auth.actor, manufacturer, page).await?))
}
