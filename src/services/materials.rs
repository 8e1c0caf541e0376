//! Materials: reference data with live stock figures.

use super::prices::market_price;
use super::{fetch_limit, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx};
use crate::db::materials::MaterialRow;
use crate::db::{self, Db};
use crate::domain::code::Code;
use crate::domain::lot::Grade;
use crate::domain::material::Unit;
use crate::domain::material::{NewMaterial, StockFigures};
use crate::domain::time;
use crate::domain::values::{Id, IsoDate, Quantity, Timestamp, UnitPrice};
use serde::Serialize;

/// A material with its live figures, quantities as decimal strings in its unit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MaterialView {
    pub id: Id,
    pub code: Code,
    pub name: String,
    pub unit: Unit,
    /// Decimal places quantities of this material may carry (0-6).
    #[schema(minimum = 0, maximum = 6)]
    pub scale: u32,
    pub strategic_floor: Quantity,
    pub on_hand: Quantity,
    pub held: Quantity,
    /// on_hand - held
    pub available: Quantity,
    /// max(0, available - strategic_floor)
    pub releasable: Quantity,
    /// USD per unit: the latest market price mark on or before today; null if none.
    pub market_price_usd: Option<UnitPrice>,
    /// The date of that mark.
    pub market_price_as_of: Option<IsoDate>,
    pub created_at: Timestamp,
    /// Purity in percent below which replenishments are refused; `null`: none.
    pub min_grade: Option<Grade>,
}

impl MaterialView {
    /// The view of `r` with its market price today.
    fn new(r: MaterialRow, price: Option<(UnitPrice, IsoDate)>) -> Result<Self, ServiceError> {
        let scale = r.scale.get();
        let f = StockFigures {
            on_hand: r.on_hand,
            held: r.held,
            strategic_floor: r.strategic_floor,
        };
        let q = |minor: i64| Quantity::new(minor, scale);
        Ok(Self {
            min_grade: r.minimum_grade()?,
            id: r.id.into(),
            code: r.code,
            name: r.name,
            unit: r.unit,
            scale: r.scale.get(),
            strategic_floor: q(f.strategic_floor),
            on_hand: q(f.on_hand),
            held: q(f.held),
            available: q(f.available()),
            releasable: q(f.releasable()),
            market_price_usd: price.map(|p| p.0),
            market_price_as_of: price.map(|p| p.1),
            created_at: Timestamp(r.created_at),
        })
    }
}

pub async fn create(db: &Db, ctx: WriteCtx, m: NewMaterial) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        let row = MaterialRow {
            id: db::new_id(),
            code: m.code.clone(),
            name: m.name.clone(),
            unit: m.unit,
            scale: m.scale,
            strategic_floor: m.strategic_floor,
            on_hand: 0,
            held: 0,
            created_at: time::now(),
            version: 0,
            min_grade: m.min_grade.map(String::from),
        };
        db::materials::insert(conn, &row)
            .map_err(ServiceError::from)
            .map_err(ServiceError::unique_as_conflict(format!(
                "a material with code {} or name {:?} already exists",
                m.code, m.name
            )))?;
        Ok(Effect {
            target: Some(row.code.to_string()),
            // A new material has no marks yet.
            body: MaterialView::new(row, None)?,
            events: Vec::new(),
        })
    })
    .await
}

/// Sets or removes (`Some(None)`) the minimum grade; `None` leaves it as it is.
pub async fn update(
    db: &Db,
    ctx: WriteCtx,
    code: String,
    min_grade: Option<Option<Grade>>,
) -> Result<Reply, ServiceError> {
    write(db, ctx, 200, move |conn| {
        let found = match &min_grade {
            Some(min) => {
                db::materials::set_min_grade(conn, &code, min.map(String::from).as_deref())?
            }
            None => db::materials::find_by_code(conn, &code)?.is_some(),
        };
        if !found {
            return Err(ServiceError::NotFound(format!("no material {code}")));
        }
        let row = super::material_of(conn, &code)?;
        let price = market_price(conn, &code)?;
        Ok(Effect {
            target: Some(code.clone()),
            body: MaterialView::new(row, price)?,
            events: Vec::new(),
        })
    })
    .await
}

pub async fn get(db: &Db, code: String) -> Result<MaterialView, ServiceError> {
    db.run(move |conn| {
        let row = db::materials::find_by_code(conn, &code)?
            .ok_or_else(|| ServiceError::NotFound(format!("no material {code}")))?;
        let price = market_price(conn, &row.code)?;
        MaterialView::new(row, price)
    })
    .await
}

pub async fn list(db: &Db, page: PageRequest) -> Result<Page<MaterialView>, ServiceError> {
    db.run(move |conn| {
        let rows = db::materials::page(conn, page.after.as_deref(), fetch_limit(&page))?
            .into_iter()
            .map(|r| Ok((market_price(conn, &r.code)?, r)))
            .collect::<Result<Vec<_>, ServiceError>>()?;
        Page::try_from_rows(
            rows,
            page.limit,
            |(_, r)| r.code.to_string(),
            |(price, r)| MaterialView::new(r, price),
        )
    })
    .await
}
