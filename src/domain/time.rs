//! Times are naive UTC with microsecond precision (what PostgreSQL stores), rendered as
//! RFC 3339 with exactly six fractional digits. Dates are `YYYY-MM-DD`; "today" is the UTC date.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};

/// Now, truncated to microseconds so that what is stored is what is returned.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

pub fn format_rfc3339(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses an RFC 3339 timestamp with any offset into naive UTC (microseconds kept). The date
/// and time are joined by `T` as RFC 3339's grammar (and JSON Schema's `date-time`) says;
/// chrono alone would also take a space.
pub fn parse_rfc3339(text: &str) -> Result<NaiveDateTime, String> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .filter(|_| text.as_bytes().get(10) != Some(&b' '))
        .map(|t| t.with_timezone(&Utc).naive_utc().trunc_subsecs(6))
        .ok_or_else(|| "must be an RFC 3339 time such as 2026-03-01T12:00:00Z".into())
}

/// A time bound of a query: RFC 3339, or a `YYYY-MM-DD` date meaning 00:00 UTC of it.
pub fn parse_bound(text: &str) -> Result<NaiveDateTime, String> {
    parse_rfc3339(text).or_else(|_| {
        parse_date(text)
            .map(|d| d.and_time(chrono::NaiveTime::MIN))
            .map_err(|_| "must be an RFC 3339 time or a YYYY-MM-DD date".into())
    })
}

/// Today's date in UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Parses exactly `YYYY-MM-DD` (chrono alone would also take `2026-3-1` or `+2026-03-01`).
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    parsed
        .filter(|_| shaped)
        .ok_or_else(|| "must be a date YYYY-MM-DD such as 2026-03-01".into())
}

pub fn format_date(d: &NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_fraction_digits_in_utc() {
        let t = parse_rfc3339("2026-03-01T13:00:00.1234567+01:00").unwrap();
        assert_eq!(format_rfc3339(&t), "2026-03-01T12:00:00.123456Z");
        let t = parse_rfc3339("2026-03-01T12:00:00Z").unwrap();
        assert_eq!(format_rfc3339(&t), "2026-03-01T12:00:00.000000Z");
        assert!(parse_rfc3339("2026-03-01").is_err());
        assert!(parse_rfc3339("2026-03-01 12:00:00Z").is_err());
        assert!(parse_rfc3339("2026-03-01t12:00:00z").is_ok());
        assert_eq!(
            format_rfc3339(&parse_bound("2026-03-01").unwrap()),
            "2026-03-01T00:00:00.000000Z"
        );
        assert!(parse_bound("2026-02-30").is_err());
        assert!(parse_bound("2026-3-1").is_err());
    }

    #[test]
    fn dates_are_strict_iso() {
        let d = parse_date("2024-02-29").unwrap();
        assert_eq!(format_date(&d), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2026-3-01",
            "2026-03-1",
            "+2026-03-01",
            "2026/03/01",
            "20260301",
            "2026-13-01",
            "2026-03-01T00:00:00Z",
            " 2026-03-01",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
    }
}
