//! Cross-cutting request handling: request ids, tracing spans, metrics, and the audit of
//! refused writes.

use super::command::route_action;
use super::error::{ApiError, REQUEST_ID};
use super::AppState;
use crate::domain::actor::Actor;
use crate::domain::error_code::ErrorCode;
use crate::services::{self, WriteCtx};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Gives every request an id (the caller's `x-request-id` when it is a sane token, else a
/// new UUIDv7), a span that every log line of the request carries, the id on the response,
/// and a metrics sample.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = req.method().to_string();
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let started = Instant::now();
    let mut res = REQUEST_ID
        .scope(id.clone(), next.call(req).instrument(span.clone()))
        .await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let elapsed = started.elapsed();
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed.as_secs_f64() * 1e3, "served"));
    if let Some(state) = state {
        state
            .metrics
            .observe(&method, &route, status, elapsed.as_secs_f64());
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    Ok(res)
}

/// Answers 503 `timeout` when a request takes longer than `limits.request_timeout_secs`.
/// Work already handed to a blocking thread finishes there (its transaction commits or rolls
/// back as a whole), so a write that timed out may still have happened: its Idempotency-Key
/// tells the client which on a resend. A streamed response is bounded until its head.
pub async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.request_timeout);
    let Some(limit) = limit else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let request = req.request().clone();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(res) => Ok(res?.map_into_left_body()),
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
            let problem = ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the request took longer than {} s; a write may still have been applied: \
                     resend it with the same Idempotency-Key to get its answer",
                    limit.as_secs()
                ),
            )
            .with_header(header::RETRY_AFTER, "1");
            Ok(ServiceResponse::new(request, problem.error_response()).map_into_right_body())
        }
    }
}

/// Records an audit event for every write that was refused (4xx) once the caller's token
/// was verified: the refused transaction rolled back, so the event is written on its own.
pub async fn audit_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let is_write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let res = next.call(req).await?;
    if !is_write || !res.status().is_client_error() {
        return Ok(res);
    }
    let request = res.request();
    let actor = request.extensions().get::<Actor>().cloned();
    let (Some(actor), Some(action)) = (actor, route_action(request)) else {
        return Ok(res);
    };
    let outcome = res
        .response()
        .extensions()
        .get::<ErrorCode>()
        .map_or("refused", |c| c.as_str());
    let target = request
        .match_info()
        .iter()
        .next()
        .map(|(_, v)| v.to_owned());
    if let Some(state) = request.app_data::<web::Data<AppState>>().cloned() {
        let ctx = WriteCtx {
            actor,
            request_id: super::error::current_request_id().unwrap_or_default(),
            action,
            idempotency: None,
        };
        if let Err(e) = services::audit::record_refusal(&state.db, ctx, target, outcome).await {
            tracing::error!(error = %e, "could not record a refused write in the audit trail");
        }
    }
    Ok(res)
}
