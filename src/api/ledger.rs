//! /v1/ledger: entries, export, verify, balances (operators, auditors, admins).

use super::auth::{Auth, Staff};
use super::error::{ApiError, Problem};
use super::openapi::ReadErrors;
use super::query;
use super::AppState;
use crate::domain::formats;
use crate::domain::time::parse_bound;
use crate::ledger::export::Format;
use crate::ledger::read::Range;
use crate::ledger::verify::VerifyReport;
use crate::services::ledger::{self as svc, Balances, BalancesAt, EntryPage};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// Entries with a seq above this one (default 0: from the start).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// Journal entries in seq order.
#[utoipa::path(get, path = "/v1/ledger/entries", tag = "ledger and audit", params(EntriesQuery),
    responses((status = 200, body = EntryPage), ReadErrors))]
pub async fn entries(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<EntriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query::page(q.limit, None)?;
    let after = q.after_seq.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::malformed("after_seq must not be negative"));
    }
    Ok(HttpResponse::Ok().json(svc::entries(&state.reads.db().await, after, page).await?))
}

fn time_bound(name: &str, value: Option<&str>) -> Result<Option<NaiveDateTime>, ApiError> {
    value
        .map(|v| parse_bound(v).map_err(|e| ApiError::malformed(format!("{name} {e}"))))
        .transpose()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Default `jsonl`.
    #[param(value_type = Option<formats::ExportFormat>)]
    pub format: Option<String>,
    /// Entries recorded at or after this time (RFC 3339 or YYYY-MM-DD).
    #[param(value_type = Option<formats::TimeBound>)]
    pub from: Option<String>,
    /// Entries recorded before this time (RFC 3339 or YYYY-MM-DD).
    #[param(value_type = Option<formats::TimeBound>)]
    pub to: Option<String>,
}

/// Stream every entry recorded in [from, to) in seq order from one consistent snapshot.
/// `jsonl`: one entry per line (the shape of /v1/ledger/entries items); `csv`: one row per
/// posting with header `seq,entry_id,recorded_at,effective_date,kind,reference,account,asset,amount,hash,prev_hash`.
#[utoipa::path(get, path = "/v1/ledger/export", tag = "ledger and audit", params(ExportQuery),
    responses((status = 200, description = "the export, streamed",
        content(("application/x-ndjson"), ("text/csv"))), ReadErrors))]
pub async fn export(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("jsonl")
        .parse()
        .map_err(ApiError::malformed)?;
    let range = Range {
        after_seq: 0,
        from: time_bound("from", q.from.as_deref())?,
        to: time_bound("to", q.to.as_deref())?,
    };
    let rx = svc::export(&state.reads.db().await, format, range).await?;
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        let item = chunk
            .map(Bytes::from)
            .map_err(actix_web::error::ErrorInternalServerError);
        Some((item, rx))
    });
    let ext = if format == Format::Csv {
        "csv"
    } else {
        "jsonl"
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, format.content_type()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"stockpile-ledger.{ext}\""),
        ))
        .streaming(body))
}

/// Recompute every hash and link and the zero sums, reporting the first bad seq; then check
/// every cached balance against the sum of its postings, and each material's on hand and
/// held against its inventory balances, its lots and its pending holds (a mismatch is
/// `ok: false` with a `reason` naming the account or material, and no `first_bad_seq`).
#[utoipa::path(get, path = "/v1/ledger/verify", tag = "ledger and audit",
    responses((status = 200, body = VerifyReport), ReadErrors))]
pub async fn verify(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::verify(&state.db).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BalancesQuery {
    /// `recorded` (default): entries by the time they were recorded; `effective`: by the
    /// date they take effect.
    #[param(value_type = Option<formats::Basis>)]
    pub basis: Option<String>,
    /// Recorded basis: balances as of this time (RFC 3339 or YYYY-MM-DD), entries recorded
    /// at or before it (default: now). Effective basis: a date (YYYY-MM-DD, default today),
    /// entries with `effective_date` on or before it (entries from before effective dates:
    /// the date of `recorded_at`).
    #[param(value_type = Option<String>)]
    pub as_of: Option<String>,
    /// Only accounts starting with this text, e.g. `inventory:NV1:`.
    pub account_prefix: Option<String>,
    /// Only this asset (`USD` or a material code).
    #[param(value_type = Option<formats::Code>)]
    pub asset: Option<String>,
}

/// Balances per (account, asset), now or as of a time (recorded basis), or at the end of a
/// date on the effective basis (read from the balances stored per effective day, not
/// summed from the journal).
#[utoipa::path(get, path = "/v1/ledger/balances", tag = "ledger and audit", params(BalancesQuery),
    responses((status = 200, body = Balances),
        (status = 422, description = "validation_failed: with basis=effective, as_of is not a date", body = Problem,
            content_type = "application/problem+json"),
        ReadErrors))]
pub async fn balances(
    state: web::Data<AppState>,
    _auth: Auth<Staff>,
    q: web::Query<BalancesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let at = match q.basis.as_deref() {
        None | Some("recorded") => match time_bound("as_of", q.as_of.as_deref())? {
            Some(t) => BalancesAt::Recorded(t),
            None => BalancesAt::Now,
        },
        Some("effective") => BalancesAt::Effective(match q.as_of.as_deref() {
            Some(d) => query::date("as_of", d)?,
            None => crate::domain::time::today(),
        }),
        Some(_) => return Err(ApiError::malformed("basis must be recorded or effective")),
    };
    let asset = query::code("asset", q.asset)?;
    let b = svc::balances(&state.reads.db().await, at, q.account_prefix, asset).await?;
    Ok(HttpResponse::Ok().json(b))
}
