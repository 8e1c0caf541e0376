//! Field-level validation failures, collected so that one response names every bad field.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Accumulates field errors while a request body is parsed into domain types.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    /// Keeps the value when it parsed, records the error under `field` when it did not.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }

    /// `Ok(value)` when nothing was recorded; the value is only built in that case.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            // Every checked field produced a value, so `build` cannot see a None.
            build().ok_or_else(|| vec![FieldError::new("body", "invalid value")])
        } else {
            Err(self.0)
        }
    }
}

/// A required, non-blank text of at most `max` characters as sent (the limit the OpenAPI
/// document declares as `maxLength`), kept trimmed.
pub fn text(value: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_trims_and_bounds() {
        assert_eq!(text("  Mine ", 10).unwrap(), "Mine");
        assert!(text("   ", 10).is_err());
        assert!(text("abcdef", 5).is_err());
        assert!(
            text(" abcde", 5).is_err(),
            "counted as sent, before trimming"
        );
        assert!(text("a\u{0}b", 5).is_err());
    }

    #[test]
    fn problems_collect_every_field() {
        let mut p = Problems::default();
        let a = p.check("a", "x".parse::<i32>());
        let b = p.check("b", "7".parse::<i32>());
        assert_eq!(b, Some(7));
        let err = p.finish(|| Some((a?, b?))).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "a");
    }
}
