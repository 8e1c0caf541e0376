//! Query-string parameters of lists: `limit` (1-1000, default 100), `after`, and the
//! filters that name objects.

use super::error::ApiError;
use crate::domain::code::Code;
use crate::domain::formats;
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
    // A cursor this service issued is an id or a code (`formats::Cursor`); anything else
    // could only match nothing, and some bytes (NUL) no database accepts in a parameter.
    if let Some(a) = &after {
        let issued = (1..=64).contains(&a.len())
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !issued {
            return Err(ApiError::malformed(
                "after must be the `next` cursor of a previous page",
            ));
        }
    }
    Ok(PageRequest { limit, after })
}

/// A free-text filter (e.g. an actor's `sub`): at most 255 characters, no control characters.
pub fn text(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            crate::domain::validation::text(&v, 255)
                .map_err(|e| ApiError::malformed(format!("{name} {e}")))
        })
        .transpose()
}

/// A filter naming a material, facility or asset by code. A malformed code could only
/// match nothing: it is refused as an unknown parameter value (400), as documented.
pub fn code(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            Code::parse(&v)
                .map(Code::into_string)
                .map_err(|e| ApiError::malformed(format!("{name} {e}")))
        })
        .transpose()
}

/// A date parameter (`YYYY-MM-DD`): anything else is 422 `validation_failed` naming it.
pub fn date(field: &str, text: &str) -> Result<chrono::NaiveDate, ApiError> {
    crate::domain::time::parse_date(text).map_err(|e| {
        ApiError::validation(vec![crate::domain::validation::FieldError::new(field, e)])
    })
}

/// A filter naming an object by id: a UUID in its hyphenated form (400 otherwise).
pub fn id(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            if crate::domain::values::Id::is_valid(&v) {
                Ok(v)
            } else {
                Err(ApiError::malformed(format!("{name} must be a UUID")))
            }
        })
        .transpose()
}

/// `?limit=&after=` of lists with no other filter.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    #[param(value_type = Option<formats::Cursor>)]
    pub after: Option<String>,
}

impl ListQuery {
    pub fn page(self) -> Result<PageRequest, ApiError> {
        page(self.limit, self.after)
    }
}

/// An optional query value of a closed set (a status filter), parsed once: anything else is
/// 400 naming the parameter.
pub fn one_of<T: std::str::FromStr<Err = String>>(
    name: &str,
    value: Option<String>,
) -> Result<Option<T>, ApiError> {
    value
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| ApiError::malformed(format!("{name}: {e}")))
}
