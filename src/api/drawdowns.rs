//! /v1/drawdowns

use super::auth::{AnyRole, Auth, Manufacturer, Operator};
use super::body::{Body, NoFields};
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query;
use super::reply::written;
use super::AppState;
use crate::db::drawdowns::DrawdownFilter;
use crate::domain::drawdown::Status;
use crate::domain::formats;
use crate::services::drawdowns::{self as svc, DrawdownView, Submission};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// Request a drawdown (manufacturer). The release rules are checked in order and the
/// quantity is held at once; the first rule that fails is returned with its figures.
#[utoipa::path(post, path = "/v1/drawdowns", tag = "drawdowns", request_body = Submission,
    responses((status = 201, description = "pending approval", body = DrawdownView, links(
            ("get" = (operation_id = "get_drawdown", parameters(("id" = "$response.body#/id")))),
            ("approve" = (operation_id = "approve", parameters(("id" = "$response.body#/id")))),
            ("reject" = (operation_id = "reject", parameters(("id" = "$response.body#/id")))),
            ("cancel" = (operation_id = "cancel", parameters(("id" = "$response.body#/id")))))),
        WriteErrors))]
pub async fn submit(
    state: web::Data<AppState>,
    cmd: Command<Manufacturer>,
    body: Body<Submission>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::submit(&state.db, state.policy.clone(), ctx, body.value).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": "200"}))]
pub struct ApproveInput {
    /// Lower the quantity; the rest of the hold is released.
    #[schema(value_type = Option<formats::Decimal>)]
    pub quantity: Option<String>,
}

/// Approve a drawdown (operator). The last required approval releases the stock from the
/// oldest lots and creates the replenishment obligation in the same transaction.
#[utoipa::path(post, path = "/v1/drawdowns/{id}/approve", tag = "drawdowns", request_body = Option<ApproveInput>,
    params(("id" = formats::Id, Path, description = "drawdown id")),
    responses((status = 200, body = DrawdownView, links(
            ("obligation" = (operation_id = "get_obligation",
                parameters(("id" = "$response.body#/obligation_id")),
                description = "The replenishment obligation, once released")))),
        WriteErrors))]
pub async fn approve(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<ApproveInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::approve(&state.db, ctx, id.into_inner().0, body.value.quantity).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Commercial stock is available from another supplier."}))]
pub struct RejectInput {
    #[schema(min_length = 1, max_length = 4000)]
    pub reason: String,
}

/// Reject a drawdown (operator); its hold is released.
#[utoipa::path(post, path = "/v1/drawdowns/{id}/reject", tag = "drawdowns", request_body = RejectInput,
    params(("id" = formats::Id, Path, description = "drawdown id")),
    responses((status = 200, body = DrawdownView), WriteErrors))]
pub async fn reject(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<RejectInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::reject(&state.db, ctx, id.into_inner().0, body.value.reason).await?,
    ))
}

/// Cancel one's own drawdown (manufacturer); its hold is released.
#[utoipa::path(post, path = "/v1/drawdowns/{id}/cancel", tag = "drawdowns",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "drawdown id")),
    responses((status = 200, body = DrawdownView), WriteErrors))]
pub async fn cancel(
    state: web::Data<AppState>,
    cmd: Command<Manufacturer>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::cancel(&state.db, ctx, id.into_inner().0).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DrawdownQuery {
    #[param(value_type = Option<formats::DrawdownStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<formats::Code>)]
    pub material: Option<String>,
    #[param(value_type = Option<formats::Id>)]
    pub manufacturer_id: Option<String>,
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// List drawdowns (manufacturers see only their own).
#[utoipa::path(get, operation_id = "list_drawdowns", path = "/v1/drawdowns", tag = "drawdowns", params(DrawdownQuery),
    responses((status = 200, body = Page<DrawdownView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    q: web::Query<DrawdownQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let status = query::one_of::<Status>("status", q.status)?;
    let page = query::page(q.limit, q.after)?;
    let filter = DrawdownFilter {
        manufacturer: query::id("manufacturer_id", q.manufacturer_id)?,
        material: query::code("material", q.material)?,
        status,
        after: None,
    };
    Ok(HttpResponse::Ok().json(svc::list(&state.db, auth.actor, filter, page).await?))
}

/// One drawdown with its approvals (and picks once released).
#[utoipa::path(get, operation_id = "get_drawdown", path = "/v1/drawdowns/{id}", tag = "drawdowns",
    params(("id" = formats::Id, Path, description = "drawdown id")),
    responses((status = 200, body = DrawdownView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::get(&state.db, auth.actor, id.into_inner().0).await?))
}
