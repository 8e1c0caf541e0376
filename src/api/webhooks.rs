//! /v1/webhook-endpoints

use super::auth::{AnyRole, Auth, Subscriber};
use super::body::{Body, NoFields};
use super::command::Command;
use super::error::ApiError;
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::ListQuery;
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::domain::webhook::EndpointStatus;
use crate::services::webhooks::{
    self as svc, DeliveryView, EndpointView, EndpointWithSecret, Registration,
};
use crate::services::Page;
use actix_web::{web, HttpResponse};

/// Register a webhook endpoint (a manufacturer for itself, operators, admins). The answer
/// carries the signing secret, shown only here and by rotate-secret. A manufacturer's
/// endpoint receives only the events that manufacturer may see.
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "notifications", request_body = Registration,
    responses((status = 201, body = EndpointWithSecret), WriteErrors))]
pub async fn register(
    state: web::Data<AppState>,
    cmd: Command<Subscriber>,
    body: Body<Registration>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::register(&state.db, &state.webhooks, ctx, body.value).await?,
    ))
}

/// List webhook endpoints (manufacturers see their own; staff all).
#[utoipa::path(get, operation_id = "list_webhook_endpoints", path = "/v1/webhook-endpoints", tag = "notifications", params(ListQuery),
    responses((status = 200, body = Page<EndpointView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = q.into_inner().page()?;
    Ok(HttpResponse::Ok().json(svc::list(&state.db, auth.actor, page).await?))
}

/// One webhook endpoint.
#[utoipa::path(get, operation_id = "get_webhook_endpoint", path = "/v1/webhook-endpoints/{id}", tag = "notifications",
    params(("id" = formats::Id, Path, description = "endpoint id")),
    responses((status = 200, body = EndpointView), ReadErrors))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::get(&state.db, auth.actor, id.into_inner().0).await?))
}

/// Stop deliveries to an endpoint (its pending deliveries wait until it is enabled again).
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/disable", tag = "notifications",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "endpoint id")),
    responses((status = 200, body = EndpointView), WriteErrors))]
pub async fn disable(
    state: web::Data<AppState>,
    cmd: Command<Subscriber>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    set_status(state, cmd, id, body, EndpointStatus::Disabled).await
}

/// Resume deliveries to an endpoint.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/enable", tag = "notifications",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "endpoint id")),
    responses((status = 200, body = EndpointView), WriteErrors))]
pub async fn enable(
    state: web::Data<AppState>,
    cmd: Command<Subscriber>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    set_status(state, cmd, id, body, EndpointStatus::Enabled).await
}

async fn set_status(
    state: web::Data<AppState>,
    cmd: Command<Subscriber>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
    to: EndpointStatus,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::set_status(&state.db, ctx, id.into_inner().0, to).await?,
    ))
}

/// Replace the signing secret. For 24 h deliveries carry a signature by the old secret too
/// (two entries in `webhook-signature`), so receivers can switch over.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/rotate-secret", tag = "notifications",
    request_body = Option<NoFields>,
    params(("id" = formats::Id, Path, description = "endpoint id")),
    responses((status = 200, body = EndpointWithSecret), WriteErrors))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    cmd: Command<Subscriber>,
    id: web::Path<path::Id>,
    body: Body<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    Ok(written(
        svc::rotate_secret(
            &state.db,
            &state.webhooks.secret_keys,
            ctx,
            id.into_inner().0,
        )
        .await?,
    ))
}

/// An endpoint's deliveries, in event order (the cursor is an event id).
#[utoipa::path(get, operation_id = "list_webhook_deliveries", path = "/v1/webhook-endpoints/{id}/deliveries", tag = "notifications",
    params(("id" = formats::Id, Path, description = "endpoint id"), ListQuery),
    responses((status = 200, body = Page<DeliveryView>), ReadErrors))]
pub async fn deliveries(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    id: web::Path<path::Id>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = q.into_inner().page()?;
    Ok(HttpResponse::Ok()
        .json(svc::deliveries(&state.db, auth.actor, id.into_inner().0, page).await?))
}
