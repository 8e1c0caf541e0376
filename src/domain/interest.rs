//! Simple interest on an amount that changes over time: a loan's principal (API.md, Loans),
//! an allocation's locked value (carrying fees).
//!
//! Time is split into intervals `[d1, d2)` of constant amount; the interest is the sum over
//! them of `amount × annual_rate × days(d1, d2) / basis`, exact in integers and rounded once,
//! half-even. The figure is cumulative from the first change, so what a ledger posts is always
//! "cumulative, rounded, minus what was posted before": repeated accruals never drift.

use super::daycount::DayCount;
use super::decimal::div_half_even;
use chrono::NaiveDate;
use num_bigint::{BigInt, BigUint};
use rust_decimal::Decimal;
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

/// A change of the amount interest runs on, in the amount's minor units, from 00:00 of `date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub date: NaiveDate,
    pub amount: i128,
}

/// The days before `to` from `from` (`None`: from the first change), accrued at one yearly
/// rate. Periods of one accrual do not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
    /// `0.02` = 2 % a year.
    pub annual_rate: Decimal,
}

/// Interest to `to` (the days before it) in cents, rounded half-even; changes on or after
/// `to` do not count. `None` when the figure does not fit in an `i64`.
pub fn cumulative_cents(terms: &Terms, changes: &[PrincipalChange], to: NaiveDate) -> Option<i64> {
    let changes: Vec<Change> = changes
        .iter()
        .map(|c| Change {
            date: c.date,
            amount: i128::from(c.cents),
        })
        .collect();
    let period = Period {
        from: None,
        to,
        annual_rate: terms.annual_rate,
    };
    accrued(terms.day_count, &changes, &[period], 0)
}

/// The interest over `periods` (each at its own rate) on the amount `changes` add up to, in
/// units of `10^unit_exp` of the amount's minor units (0: the same unit), rounded half-even
/// once. `None` when the figure does not fit in an `i64`.
pub fn accrued(
    day_count: DayCount,
    changes: &[Change],
    periods: &[Period],
    unit_exp: u32,
) -> Option<i64> {
    // Net the changes of each date: a date whose changes cancel out does not end an
    // interval (this matters for 30/360, whose day counts are not additive across a 31st).
    let mut by_date: BTreeMap<NaiveDate, i128> = BTreeMap::new();
    for c in changes {
        let net = by_date.entry(c.date).or_default();
        *net = net.checked_add(c.amount)?;
    }
    by_date.retain(|_, amount| *amount != 0);
    // Σ rate × amount × days, exact: each rate is mantissa / 10^scale, brought to the
    // largest scale; one division at the end.
    let scale = periods
        .iter()
        .map(|p| p.annual_rate.scale())
        .max()
        .unwrap_or(0);
    let mut numerator = BigInt::ZERO;
    for p in periods {
        let rate = BigInt::from(p.annual_rate.mantissa())
            * BigInt::from(10u32).pow(scale - p.annual_rate.scale());
        numerator += rate * amount_days(day_count, &by_date, p.from, p.to)?;
    }
    let denominator = BigUint::from(u64::try_from(day_count.basis()).ok()?)
        * BigUint::from(10u32).pow(scale + unit_exp);
    let (sign, magnitude) = numerator.into_parts();
    let rounded = BigInt::from_biguint(sign, div_half_even(&magnitude, &denominator));
    i64::try_from(rounded).ok()
}

/// Σ amount × days over the intervals of constant amount between `from` and `to`: the
/// amount in force on a day is the sum of the (netted) changes dated on or before it.
fn amount_days(
    day_count: DayCount,
    by_date: &BTreeMap<NaiveDate, i128>,
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> Option<BigInt> {
    let mut amount: i128 = 0;
    let mut total = BigInt::ZERO;
    let mut dates = by_date.iter().peekable();
    while let Some((&start, &change)) = dates.next() {
        if start >= to {
            break;
        }
        amount = amount.checked_add(change)?;
        let end = dates.peek().map_or(to, |(&next, _)| next.min(to));
        let start = from.map_or(start, |f| start.max(f));
        if start < end {
            total += BigInt::from(amount) * day_count.days(start, end);
        }
    }
    Some(total)
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
    fn periods_at_their_own_rates() {
        let t = terms("0.05", DayCount::Act365F);
        let changes: Vec<Change> = three_intervals()
            .iter()
            .map(|c| Change {
                date: c.date,
                amount: i128::from(c.cents),
            })
            .collect();
        let period = |from: Option<&str>, to: &str, rate: &str| Period {
            from: from.map(d),
            to: d(to),
            annual_rate: Decimal::from_str(rate).unwrap(),
        };
        // One period at one rate is the loan's figure; split at any date, the same.
        let whole = [period(None, "2024-04-01", "0.05")];
        let split = [
            period(None, "2024-02-25", "0.05"),
            period(Some("2024-02-25"), "2024-04-01", "0.050"),
        ];
        for periods in [&whole[..], &split[..]] {
            assert_eq!(
                accrued(t.day_count, &changes, periods, 0),
                cumulative_cents(&t, &three_intervals(), d("2024-04-01"))
            );
        }
        // From 2024-03-10 at 10 %: 1.2e8 × 22 × 0.05 / 365 more, 361,643.84 -> 1,606,849.
        let dearer = [
            period(None, "2024-03-10", "0.05"),
            period(Some("2024-03-10"), "2024-04-01", "0.1"),
        ];
        assert_eq!(accrued(t.day_count, &changes, &dearer, 0), Some(1_606_849));
        // In units of 100 cents: 12,452.05479 -> 12,452.
        assert_eq!(accrued(t.day_count, &changes, &whole, 2), Some(12_452));
        assert_eq!(accrued(t.day_count, &changes, &[], 0), Some(0));
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
