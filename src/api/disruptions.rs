//! /v1/disruptions

use super::auth::{Auth, Operator, Staff};
use super::body::{Body, NoFields};
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query;
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::domain::status::DisruptionStatus;
use crate::services::disruptions::{self as svc, DisruptionView, Proposal};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// Propose a disruption (operator); another operator confirms it.
#[utoipa::path(post, path = "/v1/disruptions", tag = "disruptions", request_body = Proposal,
    responses((status = 201, description = "proposed", body = DisruptionView, links(
            ("confirm" = (operation_id = "confirm", parameters(("id" = "$response.body#/id")))),
            ("end" = (operation_id = "end", parameters(("id" = "$response.body#/id")))))),
        WriteErrors))]
pub async fn propose(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    body: Body<Proposal>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(svc::propose(&state.db, ctx, body.value).await?))
}

/// Confirm a proposed disruption: it becomes active (operator, not the proposer:
/// `self_confirmation_forbidden`). Records each material's on-hand stock at activation.
#[utoipa::path(post, path = "/v1/disruptions/{id}/confirm", tag = "disruptions",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "disruption id")),
    responses((status = 200, body = DisruptionView), WriteErrors))]
pub async fn confirm(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::confirm(&state.db, ctx, id.into_inner().0).await?,
    ))
}

/// End a disruption (operator): open drawdowns under it expire and their holds are released.
#[utoipa::path(post, path = "/v1/disruptions/{id}/end", tag = "disruptions",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "disruption id")),
    responses((status = 200, body = DisruptionView), WriteErrors))]
pub async fn end(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(svc::end(&state.db, ctx, id.into_inner().0).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DisruptionQuery {
    #[param(value_type = Option<formats::DisruptionStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// List disruptions.
#[utoipa::path(get, operation_id = "list_disruptions", path = "/v1/disruptions", tag = "disruptions", params(DisruptionQuery),
    responses((status = 200, body = Page<DisruptionView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<DisruptionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let status = query::one_of::<DisruptionStatus>("status", q.status)?;
    let page = query::page(q.limit, q.after)?;
    Ok(HttpResponse::Ok().json(svc::list(&state.db, status, page).await?))
}

/// One disruption.
#[utoipa::path(get, operation_id = "get_disruption", path = "/v1/disruptions/{id}", tag = "disruptions",
    params(("id" = formats::Id, Path, description = "disruption id")),
    responses((status = 200, body = DisruptionView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::get(&state.db, id.into_inner().0).await?))
}
