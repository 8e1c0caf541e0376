//! Turning service answers into HTTP responses.

use crate::services::Reply;
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

/// Header set on a response replayed for a repeated `Idempotency-Key`.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// A write's answer, fresh or replayed: the same status and bytes either way.
pub fn written(reply: Reply) -> HttpResponse {
    let mut res = HttpResponse::build(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK));
    res.insert_header((header::CONTENT_TYPE, "application/json"));
    if reply.replayed {
        res.insert_header((REPLAYED_HEADER, "true"));
    }
    res.body(reply.body)
}
