//! Service endpoints (no auth): health, metrics, the OpenAPI document and its rendering.

use super::error::ApiError;
use super::AppState;
use crate::services;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// The process is running.
#[utoipa::path(get, path = "/health/live", tag = "service",
    responses((status = 200, description = "{\"status\":\"ok\"}")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and migrations are applied. With `database.replica_url` set, the
/// answer also names the replica's state (`streaming`, `not_standby` or `down`); a replica
/// that is down does not make the service not ready, since its reads go to the primary.
#[utoipa::path(get, path = "/health/ready", tag = "service",
    responses((status = 200, description = "{\"status\":\"ready\"}, with a replica {\"status\":\"ready\",\"replica\":\"streaming\"}"),
              (status = 503, description = "not_ready", body = super::error::Problem, content_type = "application/problem+json")))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    services::health::ready(&state.db).await?;
    Ok(
        HttpResponse::Ok().json(match state.reads.replica_state().await {
            Some(replica) => json!({"status": "ready", "replica": replica}),
            None => json!({"status": "ready"}),
        }),
    )
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(state.metrics.render(state.db.state()))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(state.openapi_json.clone())
}

/// This document as a reference page that works offline.
#[utoipa::path(get, path = "/docs", tag = "service",
    responses((status = 200, description = "HTML", content_type = "text/html")))]
pub async fn docs(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(state.docs_html.clone())
}
