//! Use cases: one function per command, one transaction each. The only place that decides.

pub mod audit;
pub mod delivery;
pub mod disruptions;
pub mod drawdowns;
pub mod economics;
pub mod error;
pub mod events;
pub mod facilities;
pub mod fees;
pub mod health;
pub mod inventory;
pub mod ledger;
pub mod loans;
pub mod manufacturers;
pub mod materials;
pub mod obligations;
pub mod overdue;
pub mod prices;
pub mod reads;
pub mod reports;
pub mod transfers;
pub mod webhooks;
mod write;

pub use error::ServiceError;
pub use write::{
    purge_expired_keys, write, write_closing, Closed, Closing, Effect, IdempotencyRequest, Reply,
    WriteCtx,
};

use serde::Serialize;

/// A page of a list: `next` is the cursor of the following page, `None` on the last one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Which page of a list to read.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            next: None,
        }
    }

    /// Builds a page from up to `limit + 1` rows read in order: the extra row, if present,
    /// only says that a next page exists.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: usize,
        cursor: impl Fn(&R) -> String,
        view: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(&cursor) } else { None };
        Page {
            items: rows.into_iter().map(view).collect(),
            next,
        }
    }

    /// `from_rows` with a view that may fail (a stored value that does not decode).
    pub fn try_from_rows<R, E>(
        mut rows: Vec<R>,
        limit: usize,
        cursor: impl Fn(&R) -> String,
        view: impl Fn(R) -> Result<T, E>,
    ) -> Result<Self, E> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(&cursor) } else { None };
        Ok(Page {
            items: rows.into_iter().map(view).collect::<Result<_, E>>()?,
            next,
        })
    }
}

/// The answer for an object that does not exist, and for one the caller may not see: one
/// answer for both, so that existence is not disclosed (API.md).
pub(crate) fn not_found(kind: &str, id: &str) -> ServiceError {
    ServiceError::NotFound(format!("no {kind} {id}"))
}

/// The scale of material `code`, which a row that refers to it (an allocation, an
/// obligation) needs to show its quantities.
pub(crate) fn scale_of(
    conn: &mut crate::db::DbConnection,
    code: &str,
) -> Result<u32, ServiceError> {
    Ok(material_of(conn, code)?.scale.get())
}

/// The ledger's scales of every asset, read once for a list of rows that name materials: a
/// row naming one that is not there is an internal error (as in `material_of`), never scale 0.
pub(crate) struct Scales(crate::ledger::read::Scales);

impl Scales {
    pub fn load(conn: &mut crate::db::DbConnection) -> Result<Self, ServiceError> {
        Ok(Self(crate::ledger::read::Scales::load(conn)?))
    }

    pub fn of(&self, code: &str) -> Result<u32, ServiceError> {
        self.0
            .of(code)
            .ok_or_else(|| ServiceError::internal(format!("material {code} vanished")))
    }
}

/// Material `code`, which a row refers to: a material that is not there is an internal error.
pub(crate) fn material_of(
    conn: &mut crate::db::DbConnection,
    code: &str,
) -> Result<crate::db::materials::MaterialRow, ServiceError> {
    crate::db::materials::find_by_code(conn, code)?
        .ok_or_else(|| ServiceError::internal(format!("material {code} vanished")))
}

/// A tenant-scoped lookup as `actor` may see it: the row `id` read (`None` when it does not
/// exist) if it is visible to the actor (staff see every manufacturer's objects,
/// manufacturers only their own, `owner`), else exactly the answer for an id that does not
/// exist.
pub(crate) fn visible<T>(
    actor: &crate::domain::actor::Actor,
    kind: &str,
    id: &str,
    row: Option<T>,
    owner: impl FnOnce(&T) -> &str,
) -> Result<T, ServiceError> {
    let hidden = |row: &T| match (actor.role, actor.org.as_deref()) {
        (crate::domain::actor::Role::Manufacturer, org) => org != Some(owner(row)),
        _ => false,
    };
    match row {
        Some(row) if !hidden(&row) => Ok(row),
        _ => Err(not_found(kind, id)),
    }
}

/// Narrows a list's manufacturer filter to the caller's own organisation when the caller is
/// a manufacturer. Returns false when the filter names another manufacturer: the list is
/// then empty (existence is not disclosed).
pub(crate) fn scope_to_caller(
    actor: &crate::domain::actor::Actor,
    manufacturer: &mut Option<String>,
) -> bool {
    let Some(org) = &actor.org else { return true };
    if manufacturer.as_ref().is_some_and(|m| m != org) {
        return false;
    }
    *manufacturer = Some(org.clone());
    true
}

/// How many rows to read for a page (one more than shown, to know whether more follow).
pub(crate) fn fetch_limit(page: &PageRequest) -> i64 {
    i64::try_from(page.limit).unwrap_or(i64::MAX - 1) + 1
}
