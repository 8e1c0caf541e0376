//! The audit trail: refusals recorded after their transaction rolled back, and reading it.

use super::write::audit_row;
use super::{fetch_limit, Page, PageRequest, ServiceError, WriteCtx};
use crate::db::audit::{AuditFilter, AuditRow};
use crate::db::{self, tx, Db};
use crate::domain::actor::Role;
use crate::domain::time;
use crate::domain::values::{Id, Timestamp};
use serde::Serialize;

/// Records that the write `ctx` describes was refused with `outcome` (an error code). Runs
/// in a transaction of its own: the refused one changed nothing.
pub async fn record_refusal(
    db: &Db,
    ctx: WriteCtx,
    target: Option<String>,
    outcome: &'static str,
) -> Result<(), ServiceError> {
    db.run(move |conn| {
        let row = audit_row(&ctx, target.clone(), outcome, time::now());
        tx::write(conn, |conn| {
            db::audit::insert(conn, row.clone()).map_err(ServiceError::from)
        })
    })
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventView {
    pub id: Id,
    pub at: Timestamp,
    pub actor_sub: String,
    pub actor_role: Role,
    pub action: String,
    pub target: Option<String>,
    /// `ok`, or the error code that refused the write.
    pub outcome: String,
    pub request_id: String,
}

impl From<AuditRow> for AuditEventView {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id.into(),
            at: Timestamp(r.at),
            actor_sub: r.actor_sub,
            actor_role: r.actor_role,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            request_id: r.request_id,
        }
    }
}

pub async fn list(
    db: &Db,
    actor: Option<String>,
    action: Option<String>,
    page: PageRequest,
) -> Result<Page<AuditEventView>, ServiceError> {
    db.run(move |conn| {
        let filter = AuditFilter {
            actor,
            action,
            after: page.after.clone(),
        };
        let rows = db::audit::page(conn, &filter, fetch_limit(&page))?;
        Ok(Page::from_rows(
            rows,
            page.limit,
            |r| r.id.clone(),
            AuditEventView::from,
        ))
    })
    .await
}
