//! Simple interest on a principal that changes over time (API.md, Loans).
//!
//! Time is split into intervals `[d1, d2)` of constant principal; the interest is the sum over
//! them of `principal × annual_rate × days(d1, d2) / basis`. The figure is cumulative from
//! the first disbursement, so what a ledger posts is always "cumulative, rounded, minus what
//! was posted before": repeated accruals never drift.

use super::daycount::DayCount;
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;

/// A change of principal in cents (positive: disbursed, negative: repaid) that takes effect at
/// 00:00 of `date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrincipalChange {
    pub date: NaiveDate,
    pub cents: i64,
}

/// What a loan's interest depends on besides its principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// `0.0475` = 4.75 % a year.
    pub annual_rate: Decimal,
    pub day_count: DayCount,
}

/// Interest to `to` (the days before it) in cents, rounded half-even; changes on or after
/// `to` do not count. `None` when the figure does not fit in an `i64`.
pub fn cumulative_cents(terms: &Terms, changes: &[PrincipalChange], to: NaiveDate) -> Option<i64> {
    // Net the changes of each date: a date whose changes cancel out does not end an
    // interval (this matters for 30/360, whose day counts are not additive across a 31st).
    let mut by_date: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.date < to) {
        *by_date.entry(c.date).or_default() += c.cents;
    }
    let mut boundaries: Vec<(NaiveDate, i128)> = by_date
        .into_iter()
        .filter(|(_, cents)| *cents != 0)
        .map(|(date, cents)| (date, i128::from(cents)))
        .collect();
    boundaries.push((to, 0));
    // Σ principal × days over the intervals, exact in integers; one division at the end.
    let mut principal: i128 = 0;
    let mut weighted: i128 = 0;
    for pair in boundaries.windows(2) {
        let ((start, change), (end, _)) = (pair[0], pair[1]);
        principal += change;
        weighted += principal * i128::from(terms.day_count.days(start, end));
    }
    Decimal::try_from_i128_with_scale(weighted, 0)
        .ok()?
        .checked_mul(terms.annual_rate)?
        .checked_div(Decimal::from(terms.day_count.basis()))?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn terms(rate: &str, day_count: DayCount) -> Terms {
        Terms {
            annual_rate: Decimal::from_str(rate).unwrap(),
            day_count,
        }
    }

    fn change(date: &str, cents: i64) -> PrincipalChange {
        PrincipalChange {
            date: d(date),
            cents,
        }
    }

    /// 1,000,000.00 drawn on 2024-01-15, 500,000.00 more on 2024-02-20 (across Feb 29),
    /// 300,000.00 repaid on 2024-03-10; interest to 2024-04-01 at 5 %.
    fn three_intervals() -> Vec<PrincipalChange> {
        vec![
            change("2024-02-20", 50_000_000),
            change("2024-01-15", 100_000_000),
            change("2024-03-10", -30_000_000),
        ]
    }

    #[test]
    fn act_360_over_intervals_of_constant_principal() {
        // Actual days 36, 19, 22:
        // 1e8 × 36 + 1.5e8 × 19 + 1.2e8 × 22 = 9.09e9 cent-days; × 0.05 / 360 = 1,262,500.
        let t = terms("0.05", DayCount::Act360);
        assert_eq!(
            cumulative_cents(&t, &three_intervals(), d("2024-04-01")),
            Some(1_262_500)
        );
    }

    #[test]
    fn act_365f_over_intervals_of_constant_principal() {
        // 9.09e9 × 0.05 / 365 = 1,245,205.479... -> 1,245,205.
        let t = terms("0.05", DayCount::Act365F);
        assert_eq!(
            cumulative_cents(&t, &three_intervals(), d("2024-04-01")),
            Some(1_245_205)
        );
    }

    #[test]
    fn thirty_360_over_intervals_of_constant_principal() {
        // 30/360 days 35 (30 + 20 - 15), 20 (30 + 10 - 20), 21 (30 + 1 - 10):
        // 1e8 × 35 + 1.5e8 × 20 + 1.2e8 × 21 = 9.02e9; × 0.05 / 360 = 1,252,777.78 -> 1,252,778.
        let t = terms("0.05", DayCount::Thirty360);
        assert_eq!(
            cumulative_cents(&t, &three_intervals(), d("2024-04-01")),
            Some(1_252_778)
        );
    }

    #[test]
    fn a_leap_year_under_act_365f() {
        // 366 days of 2024 on 1,000,000.00 at 4.75 %: 1e8 × 0.0475 × 366 / 365
        // = 4,763,013.698... -> 4,763,014.
        let t = terms("0.0475", DayCount::Act365F);
        let drawn = [change("2024-01-01", 100_000_000)];
        assert_eq!(
            cumulative_cents(&t, &drawn, d("2025-01-01")),
            Some(4_763_014)
        );
        // February 2024 alone: 29 days, 1e8 × 0.0475 × 29 / 365 = 377,397.26 -> 377,397.
        let feb = [change("2024-02-01", 100_000_000)];
        assert_eq!(cumulative_cents(&t, &feb, d("2024-03-01")), Some(377_397));
    }

    #[test]
    fn month_ends_under_30_360() {
        let t = terms("0.06", DayCount::Thirty360);
        // 2024-01-31 to 2024-03-31 is 60 days: 1e8 × 0.06 × 60 / 360 = 1,000,000.
        let drawn = [change("2024-01-31", 100_000_000)];
        assert_eq!(
            cumulative_cents(&t, &drawn, d("2024-03-31")),
            Some(1_000_000)
        );
        // To Feb 29 is 29 days (D1 31 -> 30): 1e8 × 0.06 × 29 / 360 = 483,333.33 -> 483,333.
        assert_eq!(cumulative_cents(&t, &drawn, d("2024-02-29")), Some(483_333));
    }

    #[test]
    fn changes_that_cancel_on_a_date_do_not_split_an_interval() {
        // 30/360 from Jan 15 to Feb 15 is 30 days; split at Jan 31 it would be 16 + 15.
        let t = terms("0.036", DayCount::Thirty360);
        let changes = [
            change("2024-01-15", 100_000_000),
            change("2024-01-31", 5_000_000),
            change("2024-01-31", -5_000_000),
        ];
        // 1e8 × 0.036 × 30 / 360 = 300,000.
        assert_eq!(
            cumulative_cents(&t, &changes, d("2024-02-15")),
            Some(300_000)
        );
    }

    #[test]
    fn interest_covers_the_days_before_the_date() {
        let t = terms("0.05", DayCount::Act360);
        let drawn = [change("2024-01-15", 100_000_000)];
        // Nothing to the disbursement's own date, nor for a change dated on or after `to`.
        assert_eq!(cumulative_cents(&t, &drawn, d("2024-01-15")), Some(0));
        assert_eq!(cumulative_cents(&t, &drawn, d("2024-01-01")), Some(0));
        assert_eq!(cumulative_cents(&t, &[], d("2024-01-01")), Some(0));
        // One day: 1e8 × 0.05 / 360 = 13,888.89 -> 13,889.
        assert_eq!(cumulative_cents(&t, &drawn, d("2024-01-16")), Some(13_889));
        let later = [drawn[0], change("2024-01-16", 100_000_000)];
        assert_eq!(cumulative_cents(&t, &later, d("2024-01-16")), Some(13_889));
    }

    #[test]
    fn a_repaid_loan_stops_accruing() {
        let t = terms("0.05", DayCount::Act360);
        let changes = [
            change("2024-01-01", 36_000_000),
            change("2024-01-11", -36_000_000),
        ];
        // 3.6e7 × 10 days × 0.05 / 360 = 50,000, and no more after the repayment.
        assert_eq!(
            cumulative_cents(&t, &changes, d("2024-01-11")),
            Some(50_000)
        );
        assert_eq!(
            cumulative_cents(&t, &changes, d("2024-12-31")),
            Some(50_000)
        );
    }

    #[test]
    fn rounds_half_to_even_cents() {
        let t = terms("0.1", DayCount::Act360);
        // One day on 18.00, 54.00 and 90.00 at 10 %: 0.5, 1.5 and 2.5 cents.
        for (principal, cents) in [(1_800, 0), (5_400, 2), (9_000, 2)] {
            let drawn = [change("2024-01-01", principal)];
            assert_eq!(
                cumulative_cents(&t, &drawn, d("2024-01-02")),
                Some(cents),
                "{principal}"
            );
        }
    }

    #[test]
    fn cumulative_interest_never_decreases() {
        // So what each accrual posts (cumulative minus posted) is never negative, month ends
        // and February under 30/360 included.
        let changes = three_intervals();
        for day_count in [DayCount::Act360, DayCount::Act365F, DayCount::Thirty360] {
            let t = terms("0.0475", day_count);
            let mut before = 0;
            let mut day = d("2024-01-01");
            while day < d("2024-06-01") {
                day = day.succ_opt().unwrap();
                let now = cumulative_cents(&t, &changes, day).unwrap();
                assert!(now >= before, "{day_count} {day}");
                before = now;
            }
        }
    }
}
