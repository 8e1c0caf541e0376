//! Facilities: where lots are stored.

use super::{fetch_limit, write, Effect, Page, PageRequest, Reply, ServiceError, WriteCtx};
use crate::db::facilities::FacilityRow;
use crate::db::{self, Db};
use crate::domain::code::Code;
use crate::domain::facility::NewFacility;
use crate::domain::formats;
use crate::domain::time;
use crate::domain::values::{Id, Timestamp};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacilityView {
    pub id: Id,
    pub code: Code,
    pub name: String,
    #[schema(value_type = formats::CountryCode)]
    pub country: String,
    pub created_at: Timestamp,
}

impl From<FacilityRow> for FacilityView {
    fn from(r: FacilityRow) -> Self {
        Self {
            id: r.id.into(),
            code: r.code,
            name: r.name,
            country: r.country,
            created_at: Timestamp(r.created_at),
        }
    }
}

pub async fn create(db: &Db, ctx: WriteCtx, f: NewFacility) -> Result<Reply, ServiceError> {
    write(db, ctx, 201, move |conn| {
        let row = FacilityRow {
            id: db::new_id(),
            code: f.code.clone(),
            name: f.name.clone(),
            country: f.country.clone(),
            created_at: time::now(),
        };
        db::facilities::insert(conn, &row)
            .map_err(ServiceError::from)
            .map_err(ServiceError::unique_as_conflict(format!(
                "a facility with code {} already exists",
                f.code
            )))?;
        Ok(Effect {
            target: Some(row.code.to_string()),
            body: FacilityView::from(row),
            events: Vec::new(),
        })
    })
    .await
}

pub async fn get(db: &Db, code: String) -> Result<FacilityView, ServiceError> {
    db.run(move |conn| {
        db::facilities::find_by_code(conn, &code)?
            .map(FacilityView::from)
            .ok_or_else(|| ServiceError::NotFound(format!("no facility {code}")))
    })
    .await
}

pub async fn list(db: &Db, page: PageRequest) -> Result<Page<FacilityView>, ServiceError> {
    db.run(move |conn| {
        let rows = db::facilities::page(conn, page.after.as_deref(), fetch_limit(&page))?;
        Ok(Page::from_rows(
            rows,
            page.limit,
            |r| r.code.to_string(),
            FacilityView::from,
        ))
    })
    .await
}
