//! Market prices: marks per material and date (API.md, "Market prices and valuation"), and
//! the market price a material's views show.

use super::{fetch_limit, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx};
use crate::db::prices::PriceRow;
use crate::db::{self, Db, DbConnection};
use crate::domain::code::Code;
use crate::domain::price::NewMark;
use crate::domain::time;
use crate::domain::values::{IsoDate, Timestamp, UnitPrice};
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceView {
    pub material: Code,
    /// USD per unit of the material.
    pub price_usd: UnitPrice,
    pub as_of: IsoDate,
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
}

impl From<PriceRow> for PriceView {
    fn from(r: PriceRow) -> Self {
        Self {
            material: r.material_code,
            price_usd: UnitPrice(r.price_micros),
            as_of: IsoDate(r.as_of),
            source: r.source,
            recorded_by: r.recorded_by,
            recorded_at: Timestamp(r.recorded_at),
        }
    }
}

pub async fn record(
    db: &Db,
    ctx: WriteCtx,
    material: String,
    mark: NewMark,
) -> Result<Reply, ServiceError> {
    write(db, ctx.clone(), 201, move |conn| {
        let m = db::materials::find_by_code(conn, &material)?
            .ok_or_else(|| ServiceError::NotFound(format!("no material {material}")))?;
        let row = PriceRow {
            material_code: m.code.clone(),
            as_of: mark.as_of,
            price_micros: mark.price_micros,
            source: mark.source.clone(),
            recorded_by: ctx.actor.sub.clone(),
            recorded_at: time::now(),
        };
        db::prices::insert(conn, &row)
            .map_err(ServiceError::from)
            .map_err(ServiceError::unique_as_conflict(format!(
                "{} already has a mark for {}",
                m.code,
                time::format_date(&mark.as_of)
            )))?;
        Ok(Effect {
            target: Some(format!("{}/{}", m.code, time::format_date(&mark.as_of))),
            body: PriceView::from(row),
            events: Vec::new(),
        })
    })
    .await
}

/// The range and page of a list of marks: `as_of` in `[from, to]` and before `before` (the
/// previous page's `next`).
pub struct MarkRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub before: Option<NaiveDate>,
    pub limit: usize,
}

/// Marks of a material in `range`, newest first; the cursor is a date.
pub async fn list(
    db: &Db,
    material: String,
    range: MarkRange,
) -> Result<Page<PriceView>, ServiceError> {
    db.run(move |conn| {
        let m = db::materials::find_by_code(conn, &material)?
            .ok_or_else(|| ServiceError::NotFound(format!("no material {material}")))?;
        let page = PageRequest {
            limit: range.limit,
            after: None,
        };
        let rows = db::prices::page(
            conn,
            &m.code,
            range.from,
            range.to,
            range.before,
            fetch_limit(&page),
        )?;
        Ok(Page::from_rows(
            rows,
            page.limit,
            |r| time::format_date(&r.as_of),
            PriceView::from,
        ))
    })
    .await
}

/// A material's market price today (its latest mark on or before today) and that mark's
/// date, for its views.
pub(crate) fn market_price(
    conn: &mut DbConnection,
    material: &str,
) -> Result<Option<(UnitPrice, IsoDate)>, ServiceError> {
    Ok(db::prices::latest(conn, material, time::today())?
        .map(|p| (UnitPrice(p.price_micros), IsoDate(p.as_of))))
}
