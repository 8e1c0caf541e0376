//! /v1/manufacturers and their allocations.

use super::auth::{Admin, AnyRole, Auth, Staff};
use super::body::{Body, NoFields};
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::ListQuery;
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::services::manufacturers::{
    self as svc, AllocationChangeView, AllocationTerms, AllocationView, ManufacturerView,
};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Magnetics", "priority_tier": "defense"}))]
pub struct ManufacturerInput {
    #[schema(min_length = 1, max_length = 200, example = "Acme Magnetics")]
    pub name: String,
    #[schema(value_type = formats::PriorityTier)]
    pub priority_tier: String,
}

/// Register a manufacturer (admin).
#[utoipa::path(post, operation_id = "create_manufacturer", path = "/v1/manufacturers", tag = "manufacturers", request_body = ManufacturerInput,
    responses((status = 201, description = "created", body = ManufacturerView, links(
            ("put_allocation" = (operation_id = "put_allocation", parameters(("id" = "$response.body#/id")))))),
        WriteErrors))]
pub async fn create(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    body: Body<ManufacturerInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = body.value;
    Ok(written(
        svc::create(&state.db, ctx, b.name, b.priority_tier).await?,
    ))
}

/// List manufacturers.
#[utoipa::path(get, operation_id = "list_manufacturers", path = "/v1/manufacturers", tag = "manufacturers", params(ListQuery),
    responses((status = 200, body = Page<ManufacturerView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::list(&state.db, q.into_inner().page()?).await?))
}

/// One manufacturer (a manufacturer sees only itself).
#[utoipa::path(get, operation_id = "get_manufacturer", path = "/v1/manufacturers/{id}", tag = "manufacturers",
    params(("id" = formats::Id, Path, description = "manufacturer id")),
    responses((status = 200, body = ManufacturerView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::get(&state.db, auth.actor, id.into_inner().0).await?))
}

/// Suspend a manufacturer: it may not submit drawdowns (admin).
#[utoipa::path(post, path = "/v1/manufacturers/{id}/suspend", tag = "manufacturers",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "manufacturer id")),
    responses((status = 200, body = ManufacturerView), WriteErrors))]
pub async fn suspend(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::set_status(&state.db, ctx, id.into_inner().0, true).await?,
    ))
}

/// Reinstate a suspended manufacturer (admin).
#[utoipa::path(post, path = "/v1/manufacturers/{id}/reinstate", tag = "manufacturers",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "manufacturer id")),
    responses((status = 200, body = ManufacturerView), WriteErrors))]
pub async fn reinstate(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::set_status(&state.db, ctx, id.into_inner().0, false).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": "5000", "locked_price_usd": "52.5", "monthly_consumption": "400"}))]
pub struct AllocationInput {
    /// The entitlement, in the material's unit (>= 0).
    #[schema(value_type = formats::Decimal)]
    pub quantity: String,
    /// USD per unit, at most 6 decimals.
    #[schema(value_type = formats::Decimal)]
    pub locked_price_usd: String,
    /// Declared normal use per 30 days, in the material's unit (>= 0; default "0").
    #[schema(value_type = Option<formats::Decimal>)]
    pub monthly_consumption: Option<String>,
}

/// Set a manufacturer's entitlement to a material and its locked price (admin).
#[utoipa::path(put, path = "/v1/manufacturers/{id}/allocations/{material_code}", tag = "manufacturers",
    request_body = AllocationInput,
    params(("id" = formats::Id, Path, description = "manufacturer id"), ("material_code" = formats::Code, Path, description = "material code")),
    responses((status = 200, body = AllocationView), WriteErrors))]
pub async fn put_allocation(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    path: web::Path<(path::Id, path::Code)>,
    body: Body<AllocationInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let (path::Id(id), path::Code(material)) = path.into_inner();
    let b = body.value;
    let reply = svc::put_allocation(
        &state.db,
        state.policy.clone(),
        ctx,
        id,
        material,
        AllocationTerms {
            quantity: b.quantity,
            locked_price_usd: b.locked_price_usd,
            monthly_consumption: b.monthly_consumption,
        },
    )
    .await?;
    Ok(written(reply))
}

/// A manufacturer's allocations with what is outstanding, held and drawable now.
#[utoipa::path(get, path = "/v1/manufacturers/{id}/allocations", tag = "manufacturers",
    params(("id" = formats::Id, Path, description = "manufacturer id")),
    responses((status = 200, body = Page<AllocationView>), ReadErrors))]
pub async fn allocations(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    let items = svc::allocations(
        &state.db,
        state.policy.clone(),
        auth.actor,
        id.into_inner().0,
    )
    .await?;
    Ok(HttpResponse::Ok().json(Page { items, next: None }))
}

/// The changes of a manufacturer's allocation of a material, newest first (its manufacturer;
/// staff).
#[utoipa::path(get, path = "/v1/manufacturers/{id}/allocations/{material_code}/history", tag = "manufacturers",
    params(("id" = formats::Id, Path, description = "manufacturer id"), ("material_code" = formats::Code, Path, description = "material code"), ListQuery),
    responses((status = 200, body = Page<AllocationChangeView>), ReadErrors))]
pub async fn allocation_history(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    path: web::Path<(path::Id, path::Code)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (path::Id(id), path::Code(material)) = path.into_inner();
    let page = svc::history(
        &state.db,
        auth.actor,
        id,
        material,
        query.into_inner().page()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
