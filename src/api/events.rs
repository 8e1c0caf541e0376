//! /v1/events: the event feed, for systems that poll.

use super::auth::{AnyRole, Auth};
use super::error::ApiError;
use super::openapi::ReadErrors;
use super::query;
use super::AppState;
use crate::domain::event::EventType;
use crate::domain::formats;
use crate::services::events::{self as svc, EventView};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    #[param(value_type = Option<formats::EventType>)]
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// The id of the last event seen (or the `next` cursor): the page starts after it, in the
    /// order events committed. An event that commits late comes after every cursor given out
    /// before it, so a poller carrying on from its last event never misses one.
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The events the caller may see, oldest first: a manufacturer those of its own drawdowns and
/// obligations and those of disruptions of materials it has an allocation of; staff all.
/// Each is `{id, type, created_at, data}`, `data` the object as its GET returned it then, the
/// body a webhook delivers.
#[utoipa::path(get, operation_id = "list_events", path = "/v1/events", tag = "notifications", params(EventQuery),
    responses((status = 200, body = Page<EventView>), ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth<AnyRole>,
    q: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let event_type = query::one_of::<EventType>("type", q.event_type)?;
    let page = query::page(q.limit, q.after)?;
    Ok(HttpResponse::Ok().json(svc::list(&state.db, auth.actor, event_type, page).await?))
}
