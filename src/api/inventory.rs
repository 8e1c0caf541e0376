//! /v1/lots, /v1/inventory/transfers, /v1/inventory/adjustments

use super::auth::{Auth, Operator, Staff};
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query;
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::services::inventory::{
    self, AdjustmentRequest, AdjustmentView, InventoryTransferView, LotRequest, LotView,
    TransferRequest,
};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// Receive a lot of stock into a facility (operator).
#[utoipa::path(post, path = "/v1/lots", tag = "inventory", request_body = LotRequest,
    responses((status = 201, description = "received", body = LotView), WriteErrors))]
pub async fn receive(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<LotRequest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        inventory::receive_lot(&state.db, ctx, body.value).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LotQuery {
    /// Only lots of this material code.
    #[param(value_type = Option<formats::Code>)]
    pub material: Option<String>,
    /// Only lots at this facility code.
    #[param(value_type = Option<formats::Code>)]
    pub facility: Option<String>,
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// List lots, in creation order.
#[utoipa::path(get, operation_id = "list_lots", path = "/v1/lots", tag = "inventory", params(LotQuery),
    responses((status = 200, body = Page<LotView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<LotQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = query::page(q.limit, q.after)?;
    let material = query::code("material", q.material)?;
    let facility = query::code("facility", q.facility)?;
    let lots = inventory::list_lots(&state.db, material, facility, page).await?;
    Ok(HttpResponse::Ok().json(lots))
}

/// One lot.
#[utoipa::path(get, operation_id = "get_lot", path = "/v1/lots/{id}", tag = "inventory",
    params(("id" = formats::Id, Path, description = "lot id")),
    responses((status = 200, body = LotView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(inventory::get_lot(&state.db, id.into_inner().0).await?))
}

/// Move stock between facilities, oldest lots first (operator).
#[utoipa::path(post, path = "/v1/inventory/transfers", tag = "inventory", request_body = TransferRequest,
    responses((status = 201, description = "moved", body = InventoryTransferView), WriteErrors))]
pub async fn transfer(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<TransferRequest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        inventory::transfer(&state.db, ctx, body.value).await?,
    ))
}

/// Correct a facility's stock of a material (operator).
#[utoipa::path(post, path = "/v1/inventory/adjustments", tag = "inventory", request_body = AdjustmentRequest,
    responses((status = 201, description = "adjusted", body = AdjustmentView), WriteErrors))]
pub async fn adjust(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<AdjustmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        inventory::adjust(&state.db, ctx, body.value).await?,
    ))
}
