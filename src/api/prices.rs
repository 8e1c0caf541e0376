//! /v1/materials/{code}/prices: market price marks.

use super::auth::{AnyRole, Auth, Operator};
use super::body::Body;
use super::command::Command;
use super::error::{ApiError, Problem};
use super::openapi::{ReadErrors, WriteErrors};
use super::path;
use super::query::{date, page};
use super::reply::written;
use super::AppState;
use crate::domain::formats;
use crate::domain::price::NewMark;
use crate::domain::time;
use crate::services::prices::{self as svc, MarkRange, PriceView};
use crate::services::Page;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price_usd": "395.5", "as_of": "2026-03-02", "source": "Fastmarkets assessment"}))]
pub struct PriceInput {
    /// USD per unit of the material, > 0, at most 6 decimals.
    #[schema(value_type = formats::Decimal)]
    pub price_usd: String,
    /// Not after today (UTC).
    #[schema(value_type = formats::IsoDate)]
    pub as_of: String,
    #[schema(min_length = 1, max_length = 200, example = "Fastmarkets assessment")]
    pub source: String,
}

/// Record a market price mark (operator, admin). One per material and date: a second is
/// 409 `conflict`.
#[utoipa::path(post, operation_id = "record_price", path = "/v1/materials/{code}/prices", tag = "reference data",
    request_body = PriceInput,
    params(("code" = formats::Code, Path, description = "material code")),
    responses((status = 201, description = "recorded", body = PriceView), WriteErrors))]
pub async fn record(
    state: web::Data<AppState>,
    cmd: Command<Operator>,
    code: web::Path<path::Code>,
    body: Body<PriceInput>,
) -> Result<HttpResponse, ApiError> {
    let ctx = cmd.ctx(&body.bytes);
    let b = &body.value;
    let mark = NewMark::parse(&b.price_usd, &b.as_of, &b.source, time::today())
        .map_err(ApiError::validation)?;
    Ok(written(
        svc::record(&state.db, ctx, code.into_inner().0, mark).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PriceQuery {
    /// Marks with `as_of` on or after this date.
    #[param(value_type = Option<formats::IsoDate>)]
    pub from: Option<String>,
    /// Marks with `as_of` on or before this date.
    #[param(value_type = Option<formats::IsoDate>)]
    pub to: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
}

/// A material's market price marks, newest first. A bad `from` or `to`: 422.
#[utoipa::path(get, operation_id = "list_prices", path = "/v1/materials/{code}/prices", tag = "reference data",
    params(("code" = formats::Code, Path, description = "material code"), PriceQuery),
    responses((status = 200, body = Page<PriceView>),
        (status = 422, description = "validation_failed: from or to is not a date", body = Problem,
            content_type = "application/problem+json"),
        ReadErrors))]
pub async fn list(
    state: web::Data<AppState>,
    _auth: Auth<AnyRole>,
    code: web::Path<path::Code>,
    q: web::Query<PriceQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = page(q.limit, q.after)?;
    // The cursor is the date of the previous page's last mark.
    let before = page
        .after
        .as_deref()
        .map(|a| {
            time::parse_date(a).map_err(|_| {
                ApiError::malformed("after must be the `next` cursor of a previous page")
            })
        })
        .transpose()?;
    let range = MarkRange {
        from: q.from.as_deref().map(|t| date("from", t)).transpose()?,
        to: q.to.as_deref().map(|t| date("to", t)).transpose()?,
        before,
        limit: page.limit,
    };
    Ok(HttpResponse::Ok().json(svc::list(&state.db, code.into_inner().0, range).await?))
}
