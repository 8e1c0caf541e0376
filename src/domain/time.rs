//! Times are naive UTC with microsecond precision (what PostgreSQL stores), rendered as
//! RFC 3339 with exactly six fractional digits. Dates are `YYYY-MM-DD`; "today" is the UTC date.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SubsecRound, Timelike, Utc};

/// The years a date or time may fall in (UTC): 1900 to 9999.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

const NOT_A_TIME: &str = "must be an RFC 3339 time such as 2026-03-01T12:00:00Z";
const NOT_A_DATE: &str = "must be a date YYYY-MM-DD such as 2026-03-01";

/// Now, truncated to microseconds so that what is stored is what is returned.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

pub fn format_rfc3339(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses an RFC 3339 timestamp with any offset into naive UTC (microseconds kept). The date
/// and time are joined by `T` as RFC 3339's grammar (and JSON Schema's `date-time`) says;
/// chrono alone would also take a space. A leap second (second 60), which chrono accepts and
/// PostgreSQL would store as the next second, is refused, and so is a time whose UTC year is
/// outside 1900-9999.
pub fn parse_rfc3339(text: &str) -> Result<NaiveDateTime, String> {
    let t = DateTime::parse_from_rfc3339(text)
        .ok()
        .filter(|_| text.as_bytes().get(10) != Some(&b' '))
        .ok_or(NOT_A_TIME)?;
    // chrono writes a leap second as a nanosecond count of one second or more.
    if t.nanosecond() >= 1_000_000_000 {
        return Err("must not be a leap second (second 60)".into());
    }
    let t = t.with_timezone(&Utc).naive_utc().trunc_subsecs(6);
    if !YEARS.contains(&t.year()) {
        return Err("must be a time in the years 1900 to 9999 (UTC)".into());
    }
    Ok(t)
}

/// A time bound of a query: RFC 3339, or a `YYYY-MM-DD` date meaning 00:00 UTC of it.
pub fn parse_bound(text: &str) -> Result<NaiveDateTime, String> {
    parse_rfc3339(text).or_else(|time| match parse_date(text) {
        Ok(d) => Ok(d.and_time(chrono::NaiveTime::MIN)),
        // Neither shape: say both; one of them but out of range: say why.
        Err(date) if time == NOT_A_TIME && date == NOT_A_DATE => {
            Err("must be an RFC 3339 time or a YYYY-MM-DD date".into())
        }
        Err(date) if time == NOT_A_TIME => Err(date),
        Err(_) => Err(time),
    })
}

/// Today's date in UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Parses exactly `YYYY-MM-DD` (chrono alone would also take `2026-3-1` or `+2026-03-01`),
/// a date of the years 1900 to 9999. Every date input goes through here.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let date = parsed.filter(|_| shaped).ok_or(NOT_A_DATE)?;
    if !YEARS.contains(&date.year()) {
        return Err("must be a date in the years 1900 to 9999".into());
    }
    Ok(date)
}

/// `parse_date` of a date not after `last`, which `name` names in the refusal ("today").
pub fn parse_date_until(text: &str, last: NaiveDate, name: &str) -> Result<NaiveDate, String> {
    let date = parse_date(text)?;
    if date > last {
        return Err(format!("must not be after {name} ({})", format_date(&last)));
    }
    Ok(date)
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
            "0000-01-01",
            "1899-12-31",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
        assert!(parse_date("1900-01-01").is_ok());
        assert!(parse_date("9999-12-31").is_ok());
    }

    #[test]
    fn leap_seconds_and_years_out_of_range_are_refused() {
        for bad in [
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2017-01-01T00:59:60+01:00",
            "2026-03-01T12:00:60Z",
            "0000-01-01T00:00:00Z",
            "1899-12-31T23:59:59Z",
            "1900-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
            assert!(parse_bound(bad).is_err(), "{bad:?}");
        }
        assert!(parse_rfc3339("2016-12-31T23:59:60.5Z")
            .unwrap_err()
            .contains("leap second"));
        assert!(parse_rfc3339("1900-01-01T00:00:00Z").is_ok());
        assert!(parse_rfc3339("9999-12-31T23:59:59.999999Z").is_ok());
        assert!(parse_bound("0000-01-01").is_err());
    }
}
