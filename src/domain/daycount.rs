//! Day-count conventions: how many days of interest lie between two dates, and the basis
//! (days in a year) they are divided by.

use chrono::{Datelike, NaiveDate};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayCount {
    /// Actual days over a 360-day year.
    Act360,
    /// Actual days over a fixed 365-day year, leap years included.
    Act365F,
    /// 30/360 ISDA bond basis: every month has 30 days, over a 360-day year.
    Thirty360,
}

impl DayCount {
    pub const ALL: [DayCount; 3] = [DayCount::Act360, DayCount::Act365F, DayCount::Thirty360];

    pub fn as_str(self) -> &'static str {
        match self {
            DayCount::Act360 => "ACT/360",
            DayCount::Act365F => "ACT/365F",
            DayCount::Thirty360 => "30/360",
        }
    }

    /// Days in the year the day count divides by.
    pub fn basis(self) -> i64 {
        match self {
            DayCount::Act360 | DayCount::Thirty360 => 360,
            DayCount::Act365F => 365,
        }
    }

    /// Days of interest from `d1` (included) to `d2` (excluded); negative when `d2 < d1`.
    pub fn days(self, d1: NaiveDate, d2: NaiveDate) -> i64 {
        match self {
            DayCount::Act360 | DayCount::Act365F => (d2 - d1).num_days(),
            DayCount::Thirty360 => {
                // ISDA bond basis: D1 = 31 becomes 30; D2 = 31 becomes 30 when D1 (so
                // adjusted) is 30. February's last day is not adjusted.
                let day1 = d1.day().min(30);
                let day2 = if d2.day() == 31 && day1 == 30 {
                    30
                } else {
                    d2.day()
                };
                360 * i64::from(d2.year() - d1.year())
                    + 30 * (i64::from(d2.month()) - i64::from(d1.month()))
                    + (i64::from(day2) - i64::from(day1))
            }
        }
    }
}

super::values::closed_set!(DayCount, super::formats::DayCount, "DayCount");

impl FromStr for DayCount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        DayCount::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| "must be one of ACT/360, ACT/365F, 30/360".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn days(dc: DayCount, from: &str, to: &str) -> i64 {
        dc.days(d(from), d(to))
    }

    #[test]
    fn actual_days_count_the_calendar() {
        for dc in [DayCount::Act360, DayCount::Act365F] {
            // February of a leap year has 29 days, of other years 28.
            assert_eq!(days(dc, "2024-02-01", "2024-03-01"), 29);
            assert_eq!(days(dc, "2023-02-01", "2023-03-01"), 28);
            assert_eq!(days(dc, "2024-01-01", "2025-01-01"), 366);
            assert_eq!(days(dc, "2025-01-01", "2026-01-01"), 365);
            assert_eq!(days(dc, "2024-01-31", "2024-02-01"), 1);
            assert_eq!(days(dc, "2024-03-01", "2024-03-01"), 0);
        }
        assert_eq!(DayCount::Act360.basis(), 360);
        assert_eq!(DayCount::Act365F.basis(), 365);
    }

    #[test]
    fn thirty_360_bond_basis() {
        let t = DayCount::Thirty360;
        assert_eq!(t.basis(), 360);
        // A whole year is 360 days, leap or not.
        assert_eq!(days(t, "2024-01-01", "2025-01-01"), 360);
        assert_eq!(days(t, "2024-01-15", "2024-02-15"), 30);
        // D1 = 31 becomes 30: 30 + (29 - 30).
        assert_eq!(days(t, "2024-01-31", "2024-02-29"), 29);
        // D2 = 31 stays when D1 < 30: 30 + (31 - 29).
        assert_eq!(days(t, "2024-02-29", "2024-03-31"), 32);
        // D2 = 31 becomes 30 when D1 is 30 or 31.
        assert_eq!(days(t, "2024-03-30", "2024-03-31"), 0);
        assert_eq!(days(t, "2024-01-31", "2024-03-31"), 60);
        assert_eq!(days(t, "2024-01-30", "2024-07-31"), 180);
        // February's end is not adjusted: 30 + (1 - 28) in 2023, + (1 - 29) in 2024.
        assert_eq!(days(t, "2023-02-28", "2023-03-01"), 3);
        assert_eq!(days(t, "2024-02-29", "2024-03-01"), 2);
        assert_eq!(days(t, "2023-02-28", "2023-03-31"), 33);
        // Across a year end: 360 - 330 + (30 - 30), and 360 - 330 + (1 - 30).
        assert_eq!(days(t, "2024-12-31", "2025-01-31"), 30);
        assert_eq!(days(t, "2024-12-30", "2025-01-01"), 1);
        assert_eq!(days(t, "2024-12-15", "2025-01-15"), 30);
    }

    #[test]
    fn names_round_trip() {
        for dc in [DayCount::Act360, DayCount::Act365F, DayCount::Thirty360] {
            assert_eq!(dc.as_str().parse::<DayCount>(), Ok(dc));
        }
        for bad in ["act/360", "ACT/365", "30E/360", ""] {
            assert!(bad.parse::<DayCount>().is_err(), "{bad}");
        }
    }
}
