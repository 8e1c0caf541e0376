//! /v1/obligations

use super::auth::{AnyRole, Auth, Operator};
use super::body::Body;
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query;
use super::reply::written;
use super::AppState;
use crate::db::obligations::ObligationFilter;
use crate::domain::formats;
use crate::domain::status::ObligationStatus;
use crate::services::obligations::{
    self as svc, ObligationView, Replenishment, ReplenishmentView, RescheduledView,
};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObligationQuery {
    #[param(value_type = Option<formats::Id>)]
    pub manufacturer_id: Option<String>,
    #[param(value_type = Option<formats::ObligationStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// List obligations (manufacturers see only their own).
#[utoipa::path(get, operation_id = "list_obligations", path = "/v1/obligations", tag = "obligations", params(ObligationQuery),
    responses((status = 200, body = Page<ObligationView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    q: web::Query<ObligationQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let status = query::one_of::<ObligationStatus>("status", q.status)?;
    let page = query::page(q.limit, q.after)?;
    let filter = ObligationFilter {
        manufacturer: query::id("manufacturer_id", q.manufacturer_id)?,
        status,
        after: None,
    };
    Ok(HttpResponse::Ok().json(svc::list(&state.db, auth.actor, filter, page).await?))
}

/// One obligation.
#[utoipa::path(get, operation_id = "get_obligation", path = "/v1/obligations/{id}", tag = "obligations",
    params(("id" = formats::Id, Path, description = "obligation id")),
    responses((status = 200, body = ObligationView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::get(&state.db, auth.actor, id.into_inner().0).await?))
}

/// Receive returned material against an obligation as a new lot (operator).
#[utoipa::path(post, path = "/v1/obligations/{id}/replenishments", tag = "obligations", request_body = Replenishment,
    params(("id" = formats::Id, Path, description = "obligation id")),
    responses((status = 201, body = ReplenishmentView), WriteErrors))]
pub async fn replenish(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<Replenishment>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::replenish(&state.db, ctx, id.into_inner().0, body.value).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"due_date": "2027-09-01", "reason": "Refinery outage; return agreed for September."}))]
pub struct RescheduleInput {
    /// A past date makes the obligation overdue at once.
    #[schema(value_type = formats::IsoDate)]
    pub due_date: String,
    #[schema(min_length = 1, max_length = 4000)]
    pub reason: String,
}

/// Move an obligation's due date (operator).
#[utoipa::path(post, path = "/v1/obligations/{id}/reschedule", tag = "obligations", request_body = RescheduleInput,
    params(("id" = formats::Id, Path, description = "obligation id")),
    responses((status = 200, body = RescheduledView), WriteErrors))]
pub async fn reschedule(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<RescheduleInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = body.value;
    Ok(written(
        svc::reschedule(
            &state.db,
            &state.policy,
            ctx,
            id.into_inner().0,
            b.due_date,
            b.reason,
        )
        .await?,
    ))
}
