//! /v1/facilities

use super::auth::{Admin, AnyRole, Auth};
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::ListQuery;
use super::reply::written;
use super::AppState;
use crate::domain::facility::NewFacility;
use crate::domain::formats;
use crate::services::{self, facilities::FacilityView, Page};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "NV1", "name": "Nevada bonded depot", "country": "US"}))]
pub struct FacilityInput {
    /// Unique.
    #[schema(value_type = formats::Code)]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, example = "Nevada bonded depot")]
    pub name: String,
    #[schema(value_type = formats::CountryCode)]
    pub country: String,
}

/// Define a facility (admin).
#[utoipa::path(post, operation_id = "create_facility", path = "/v1/facilities", tag = "reference data",
    request_body = FacilityInput,
    responses((status = 201, description = "created", body = FacilityView), WriteErrors))]
pub async fn create(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    body: Body<FacilityInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let f = NewFacility::parse(&b.code, &b.name, &b.country).map_err(ApiError::validation)?;
    let reply = services::facilities::create(&state.db, cmd.ctx(&body.bytes), f).await?;
    Ok(written(reply))
}

/// List facilities in code order.
#[utoipa::path(get, operation_id = "list_facilities", path = "/v1/facilities", tag = "reference data", params(ListQuery),
    responses((status = 200, body = Page<FacilityView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<AnyRole>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = services::facilities::list(&state.db, query.into_inner().page()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One facility.
#[utoipa::path(get, operation_id = "get_facility", path = "/v1/facilities/{code}", tag = "reference data",
    params(("code" = formats::Code, Path, description = "facility code")),
    responses((status = 200, body = FacilityView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Auth<AnyRole>,
    code: web::Path<path::Code>,
) -> Result<HttpResponse, ApiError> {
    let f = services::facilities::get(&state.db, code.into_inner().0).await?;
    Ok(HttpResponse::Ok().json(f))
}
