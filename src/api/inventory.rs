//! /v1/lots, /v1/inventory/transfers, /v1/inventory/adjustments

use super::auth::{Auth, Operator, Staff};
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::query;
use super::reply::written;
use super::AppState;
use crate::services::inventory::{
    self, AdjustmentRequest, AdjustmentView, LotRequest, LotView, TransferRequest, TransferView,
};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotInput {
    #[schema(example = "NDPR_OXIDE")]
    pub material: String,
    #[schema(example = "NV1")]
    pub facility: String,
    /// Decimal string in the material's unit, > 0, at most its scale in decimals.
    #[schema(example = "1250.5")]
    pub quantity: String,
    /// Purity in percent, 0 < grade <= 100.
    #[schema(example = "99.5")]
    pub grade: String,
    /// ISO 3166-1 alpha-2
    #[schema(example = "AU")]
    pub origin_country: String,
    #[schema(example = "Lynas Rare Earths")]
    pub supplier: String,
    /// USD per unit, at most 6 decimals.
    #[schema(example = "52.5")]
    pub unit_cost_usd: String,
    /// RFC 3339; default now; not in the future.
    pub received_at: Option<String>,
    /// A loan tranche that pays for the lot: quantity × unit_cost_usd (half-even to cents) is
    /// disbursed from it in the same transaction, valued on the date of `received_at`, under
    /// the tranche rules (`tranche_exceeded`, `tranche_not_available`, `facility_not_available`).
    pub tranche_id: Option<String>,
}

/// Receive a lot of stock into a facility (operator).
#[utoipa::path(post, path = "/v1/lots", tag = "inventory", request_body = LotInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters")),
    responses((status = 201, description = "received", body = LotView), WriteErrors),
    security(("bearer" = ["operator", "admin"])))]
pub async fn receive(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<LotInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = body.value;
    let req = LotRequest {
        material: b.material,
        facility: b.facility,
        quantity: b.quantity,
        grade: b.grade,
        origin_country: b.origin_country,
        supplier: b.supplier,
        unit_cost_usd: b.unit_cost_usd,
        received_at: b.received_at,
        tranche_id: b.tranche_id,
    };
    Ok(written(inventory::receive_lot(&state.db, ctx, req).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LotQuery {
    /// Only lots of this material code.
    pub material: Option<String>,
    /// Only lots at this facility code.
    pub facility: Option<String>,
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    pub limit: Option<usize>,
}

/// List lots, in creation order.
#[utoipa::path(get, path = "/v1/lots", tag = "inventory", params(LotQuery),
    responses((status = 200, body = Page<LotView>), ReadErrors),
    security(("bearer" = ["operator", "auditor", "admin"])))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<LotQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = query::page(q.limit, q.after)?;
    let lots = inventory::list_lots(&state.db, q.material, q.facility, page).await?;
    Ok(HttpResponse::Ok().json(lots))
}

/// One lot.
#[utoipa::path(get, path = "/v1/lots/{id}", tag = "inventory",
    params(("id" = String, Path, description = "lot id")),
    responses((status = 200, body = LotView), ReadErrors),
    security(("bearer" = ["operator", "auditor", "admin"])))]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(inventory::get_lot(&state.db, id.into_inner()).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    pub material: String,
    pub from_facility: String,
    pub to_facility: String,
    /// Decimal string > 0.
    pub quantity: String,
}

/// Move stock between facilities, oldest lots first (operator).
#[utoipa::path(post, path = "/v1/inventory/transfers", tag = "inventory", request_body = TransferInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters")),
    responses((status = 201, description = "moved", body = TransferView), WriteErrors),
    security(("bearer" = ["operator", "admin"])))]
pub async fn transfer(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = body.value;
    let req = TransferRequest {
        material: b.material,
        from_facility: b.from_facility,
        to_facility: b.to_facility,
        quantity: b.quantity,
    };
    Ok(written(inventory::transfer(&state.db, ctx, req).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    pub material: String,
    pub facility: String,
    /// Signed decimal string, not zero: negative for losses, positive for count corrections.
    #[schema(example = "-2.5")]
    pub quantity: String,
    pub reason: String,
}

/// Correct a facility's stock of a material (operator).
#[utoipa::path(post, path = "/v1/inventory/adjustments", tag = "inventory", request_body = AdjustmentInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters")),
    responses((status = 201, description = "adjusted", body = AdjustmentView), WriteErrors),
    security(("bearer" = ["operator", "admin"])))]
pub async fn adjust(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<AdjustmentInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = body.value;
    let req = AdjustmentRequest {
        material: b.material,
        facility: b.facility,
        quantity: b.quantity,
        reason: b.reason,
    };
    Ok(written(inventory::adjust(&state.db, ctx, req).await?))
}
