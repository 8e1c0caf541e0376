//! /v1/audit-events

use super::auth::{Auth, Staff};
use super::error::ApiError;
use super::openapi::ReadErrors;
use super::query;
use super::AppState;
use crate::domain::formats;
use crate::services::{self, audit::AuditEventView, Page};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events of this actor (`sub`).
    #[param(min_length = 1, max_length = 255)]
    pub actor: Option<String>,
    /// Only events of this action, e.g. `material.create`.
    #[param(min_length = 1, max_length = 255)]
    pub action: Option<String>,
    /// The `next` cursor of the previous page.
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Every accepted or refused write, oldest first.
#[utoipa::path(get, operation_id = "list_audit_events", path = "/v1/audit-events", tag = "ledger and audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEventView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = query::page(q.limit, q.after)?;
    let actor = query::text("actor", q.actor)?;
    let action = query::text("action", q.action)?;
    let events = services::audit::list(&state.reads.db().await, actor, action, page).await?;
    Ok(HttpResponse::Ok().json(events))
}
