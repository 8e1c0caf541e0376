//! /v1/materials

use super::auth::{Admin, AnyRole, Auth};
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::ListQuery;
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::domain::lot::grade;
use crate::domain::material::NewMaterial;
use crate::domain::validation::FieldError;
use crate::services::{self, materials::MaterialView, Page};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "NDPR_OXIDE", "name": "Neodymium-praseodymium oxide", "unit": "kg", "scale": 3, "strategic_floor": "1000"}))]
pub struct MaterialInput {
    /// Unique.
    #[schema(value_type = formats::Code)]
    pub code: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Neodymium-praseodymium oxide"
    )]
    pub name: String,
    #[schema(value_type = formats::Unit)]
    pub unit: String,
    /// Decimal places quantities may carry, 0-6.
    #[schema(minimum = 0, maximum = 6, example = 3)]
    pub scale: i64,
    /// Decimal string in the material's unit, at most `scale` decimals.
    #[schema(value_type = formats::Decimal)]
    pub strategic_floor: String,
    /// Purity in percent (0 < grade <= 100) below which replenishments are refused
    /// (`grade_below_minimum`); none when left out.
    #[schema(value_type = Option<formats::Decimal>)]
    pub min_grade: Option<String>,
}

/// What an admin may change of a material later.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"min_grade": "99.99"}))]
pub struct MaterialChange {
    /// The new minimum grade in percent, or `null` to remove it; left out: unchanged.
    #[serde(default, deserialize_with = "super::body::present")]
    #[schema(value_type = Option<formats::Decimal>)]
    pub min_grade: Option<Option<String>>,
}

/// Define a material (admin).
#[utoipa::path(post, operation_id = "create_material", path = "/v1/materials", tag = "reference data",
    request_body = MaterialInput,
    responses((status = 201, description = "created", body = MaterialView), WriteErrors))]
pub async fn create(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    body: Body<MaterialInput>,
) -> Result<HttpResponse, ApiError> {
    let b = &body.value;
    let m = NewMaterial::parse(
        &b.code,
        &b.name,
        &b.unit,
        b.scale,
        &b.strategic_floor,
        b.min_grade.as_deref(),
    )
    .map_err(ApiError::validation)?;
    let reply = services::materials::create(&state.db, cmd.ctx(&body.bytes), m).await?;
    Ok(written(reply))
}

/// List materials with their live stock figures, in code order.
#[utoipa::path(get, operation_id = "list_materials", path = "/v1/materials", tag = "reference data", params(ListQuery),
    responses((status = 200, body = Page<MaterialView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<AnyRole>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = services::materials::list(&state.db, query.into_inner().page()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One material with its live stock figures.
#[utoipa::path(get, operation_id = "get_material", path = "/v1/materials/{code}", tag = "reference data",
    params(("code" = formats::Code, Path, description = "material code")),
    responses((status = 200, body = MaterialView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Auth<AnyRole>,
    code: web::Path<path::Code>,
) -> Result<HttpResponse, ApiError> {
    let m = services::materials::get(&state.db, code.into_inner().0).await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Change a material (admin): its minimum grade.
#[utoipa::path(patch, operation_id = "update_material", path = "/v1/materials/{code}", tag = "reference data",
    params(("code" = formats::Code, Path, description = "material code")),
    request_body = MaterialChange,
    responses((status = 200, description = "changed", body = MaterialView), WriteErrors))]
pub async fn update(
    state: web::Data<AppState>,
    cmd: Command<Admin>,
    code: web::Path<path::Code>,
    body: Body<MaterialChange>,
) -> Result<HttpResponse, ApiError> {
    let min_grade = match &body.value.min_grade {
        Some(Some(g)) => {
            Some(Some(grade(g).map_err(|e| {
                ApiError::validation(vec![FieldError::new("min_grade", e)])
            })?))
        }
        Some(None) => Some(None),
        None => None,
    };
    let reply = services::materials::update(
        &state.db,
        cmd.ctx(&body.bytes),
        code.into_inner().0,
        min_grade,
    )
    .await?;
    Ok(written(reply))
}
