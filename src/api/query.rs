//! Query-string parameters of lists: `limit` (1-1000, default 100) and `after`.

use super::error::ApiError;
use crate::services::PageRequest;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Checks a requested page size and cursor.
pub fn page(limit: Option<usize>, after: Option<String>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::malformed(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    Ok(PageRequest { limit, after })
}

/// `?limit=&after=` of lists with no other filter.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1-1000 (default 100).
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

impl ListQuery {
    pub fn page(self) -> Result<PageRequest, ApiError> {
        page(self.limit, self.after)
    }
}
