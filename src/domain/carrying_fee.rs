//! Carrying fees (API.md, "Carrying fees, receivables and statements"): a yearly share of each
//! allocation's locked value (quantity × locked price), accrued ACT/365F day by day on the
//! terms in force that day, with the arithmetic of loan interest (`interest::accrued`).
//!
//! An accrual run moves the fees on to its `through` date: it covers the days before it not
//! covered by the run before, at the rate in force when it ran. The fee of an allocation is
//! cumulative over every run, rounded once; a run posts what it adds to what was posted.

use super::daycount::DayCount;
use super::decimal::div_half_even;
use super::interest::{self, Change, Period};
use super::lot::UNIT_PRICE_SCALE;
use super::money::USD_SCALE;
use chrono::NaiveDate;
use num_bigint::BigUint;
use rust_decimal::Decimal;

/// Fees accrue day by day over a 365-day year.
pub const DAY_COUNT: DayCount = DayCount::Act365F;

/// An allocation's terms from 00:00 of `effective` on: one change of its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub effective: NaiveDate,
    /// Minor units of the material (`10^-scale`).
    pub quantity: i64,
    /// Micro-dollars per unit.
    pub price_micros: i64,
}

/// One accrual run: the days before `through` that the run before did not cover, at `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub through: NaiveDate,
    /// `0.02` = 2 % of the locked value a year.
    pub rate: Decimal,
}

/// The carrying fee of an allocation whose history is `levels` (in the order they were made)
/// for the days before the last of `runs` (oldest first), in cents rounded half-even; `scale`
/// is the material's. `None` when the figure does not fit in an `i64`.
pub fn cumulative_cents(levels: &[Level], runs: &[Run], scale: u32) -> Option<i64> {
    let mut from = None;
    let periods: Vec<Period> = runs
        .iter()
        .map(|r| {
            let period = Period {
                from,
                to: r.through,
                annual_rate: r.rate,
            };
            from = Some(r.through);
            period
        })
        .collect();
    // The locked value is in units of 10^-(scale + 6) USD; the fee in cents.
    let unit_exp = scale + UNIT_PRICE_SCALE - USD_SCALE;
    interest::accrued(DAY_COUNT, &changes(levels), &periods, unit_exp)
}

/// The changes of locked value (in units of `10^-(scale + 6)` USD) the levels amount to:
/// from each effective date on, the value of the last level made with that date or an
/// earlier one.
fn changes(levels: &[Level]) -> Vec<Change> {
    let mut ordered = levels.to_vec();
    // Stable: the levels of one date stay in the order they were made.
    ordered.sort_by_key(|l| l.effective);
    let mut before = 0i128;
    ordered
        .into_iter()
        .map(|l| {
            let value = i128::from(l.quantity) * i128::from(l.price_micros);
            let change = Change {
                date: l.effective,
                amount: value - before,
            };
            before = value;
            change
        })
        .collect()
}

/// The terms in force at the end of `date`: the last level made of those effective on or
/// before it.
pub fn in_force(levels: &[Level], date: NaiveDate) -> Option<Level> {
    // `max_by_key` returns the last of equal keys: the latest made.
    levels
        .iter()
        .filter(|l| l.effective <= date)
        .max_by_key(|l| l.effective)
        .copied()
}

/// `quantity × price`, in cents rounded half-even (quantity in minor units of `10^-scale`,
/// price in micro-dollars). Both are zero or more. `None` when it does not fit in an `i64`.
pub fn locked_value_cents(quantity: i64, price_micros: i64, scale: u32) -> Option<i64> {
    let big = |v: i64| BigUint::from(u64::try_from(v).unwrap_or(0));
    let divisor = BigUint::from(10u32).pow(scale + UNIT_PRICE_SCALE - USD_SCALE);
    i64::try_from(div_half_even(
        &(big(quantity) * big(price_micros)),
        &divisor,
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn rate(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn level(effective: &str, quantity: i64, price_micros: i64) -> Level {
        Level {
            effective: d(effective),
            quantity,
            price_micros,
        }
    }

    fn run(through: &str, r: &str) -> Run {
        Run {
            through: d(through),
            rate: rate(r),
        }
    }

    /// 1,000 kg (scale 3) at 12.5 USD/kg from 2026-01-01: 12,500 USD locked.
    fn thousand_kg() -> Level {
        level("2026-01-01", 1_000_000, 12_500_000)
    }

    #[test]
    fn a_month_of_one_allocation_by_hand() {
        // 12,500 × 0.02 × 31 / 365 = 21.2328... USD -> 21.23.
        let runs = [run("2026-02-01", "0.02")];
        assert_eq!(cumulative_cents(&[thousand_kg()], &runs, 3), Some(2_123));
    }

    #[test]
    fn an_allocation_changed_mid_period_by_hand() {
        // 1,500 kg from 2026-01-16: 15 days × 12,500 + 16 days × 18,750 = 487,500 USD-days;
        // × 0.02 / 365 = 26.7123... -> 26.71.
        let levels = [thousand_kg(), level("2026-01-16", 1_500_000, 12_500_000)];
        let runs = [run("2026-02-01", "0.02")];
        assert_eq!(cumulative_cents(&levels, &runs, 3), Some(2_671));
        // Accrued through 2026-01-16 first (the days before it): 15 × 12,500 × 0.02 / 365 =
        // 10.2739... -> 10.27; then to 2026-02-01 the cumulative 26.71: 16.44 more.
        let first = [run("2026-01-16", "0.02")];
        assert_eq!(cumulative_cents(&levels, &first, 3), Some(1_027));
        let both = [run("2026-01-16", "0.02"), run("2026-02-01", "0.02")];
        assert_eq!(cumulative_cents(&levels, &both, 3), Some(2_671));
    }

    #[test]
    fn the_last_change_of_a_date_wins() {
        // Two changes effective on one date (made while fees were accrued ahead): the
        // later counts, as if the earlier had never been.
        let levels = [
            thousand_kg(),
            level("2026-01-16", 5_000_000, 12_500_000),
            level("2026-01-16", 1_500_000, 12_500_000),
        ];
        assert_eq!(
            cumulative_cents(&levels, &[run("2026-02-01", "0.02")], 3),
            Some(2_671)
        );
        assert_eq!(
            in_force(&levels, d("2026-01-16")),
            Some(level("2026-01-16", 1_500_000, 12_500_000))
        );
        assert_eq!(in_force(&levels, d("2026-01-15")), Some(thousand_kg()));
        assert_eq!(in_force(&levels, d("2025-12-31")), None);
    }

    #[test]
    fn each_run_keeps_its_rate() {
        // January at 2 %, then February at 4 %: 12,500 × (0.02 × 31 + 0.04 × 28) / 365 =
        // 59.5890... -> 59.59. The rate of a later run does not restate January.
        let runs = [run("2026-02-01", "0.02"), run("2026-03-01", "0.04")];
        assert_eq!(cumulative_cents(&[thousand_kg()], &runs, 3), Some(5_959));
    }

    #[test]
    fn rounds_half_even_to_cents() {
        // One unit (scale 0) at 0.25 and 0.75 USD for the 365 days of 2025 at 2 %: 0.5 and
        // 1.5 cents.
        let runs = [run("2026-01-01", "0.02")];
        for (price, cents) in [(250_000, 0), (750_000, 2)] {
            let levels = [level("2025-01-01", 1, price)];
            assert_eq!(cumulative_cents(&levels, &runs, 0), Some(cents), "{price}");
        }
    }

    #[test]
    fn nothing_before_the_allocation_or_after_it_ends() {
        let runs = [run("2026-01-01", "0.02")];
        assert_eq!(cumulative_cents(&[thousand_kg()], &runs, 3), Some(0));
        assert_eq!(
            cumulative_cents(&[], &[run("2026-02-01", "0.02")], 3),
            Some(0)
        );
        assert_eq!(cumulative_cents(&[thousand_kg()], &[], 3), Some(0));
        // Brought to zero on 2026-01-11: ten days, 12,500 × 0.02 × 10 / 365 = 6.849 -> 6.85.
        let levels = [thousand_kg(), level("2026-01-11", 0, 12_500_000)];
        let runs = [run("2026-12-01", "0.02")];
        assert_eq!(cumulative_cents(&levels, &runs, 3), Some(685));
    }

    #[test]
    fn the_largest_figures_do_not_overflow() {
        let huge = [level("2026-01-01", i64::MAX, i64::MAX)];
        assert_eq!(cumulative_cents(&huge, &[run("2026-01-02", "1")], 6), None);
        assert_eq!(
            cumulative_cents(&huge, &[run("2026-01-02", "0.000000001")], 6),
            Some(23_307_011_432_940_991)
        );
        assert_eq!(locked_value_cents(i64::MAX, i64::MAX, 0), None);
    }

    #[test]
    fn locked_values_round_half_even() {
        // 1,000 kg at 12.5: 12,500.00.
        assert_eq!(
            locked_value_cents(1_000_000, 12_500_000, 3),
            Some(1_250_000)
        );
        // 0.005 and 0.015 USD: 0 and 2 cents.
        assert_eq!(locked_value_cents(1, 5_000, 0), Some(0));
        assert_eq!(locked_value_cents(3, 5_000, 0), Some(2));
        assert_eq!(locked_value_cents(0, 5_000, 6), Some(0));
    }

    /// Levels made in order: each effective on or after the one before.
    fn levels_strategy() -> impl Strategy<Value = Vec<Level>> {
        proptest::collection::vec((0i64..60, 0i64..1 << 40, 0i64..1 << 30), 1..6).prop_map(
            |steps| {
                let mut day = d("2026-01-01");
                steps
                    .into_iter()
                    .map(|(gap, quantity, price_micros)| {
                        day += chrono::Duration::days(gap);
                        Level {
                            effective: day,
                            quantity,
                            price_micros,
                        }
                    })
                    .collect()
            },
        )
    }

    proptest! {
        /// Accruing in any split of a period posts the same total as accruing once, and
        /// no accrual posts a negative amount.
        #[test]
        fn any_split_posts_what_one_accrual_posts(
            levels in levels_strategy(),
            cuts in proptest::collection::btree_set(1i64..400, 0..12),
            scale in 0u32..=6,
        ) {
            let end = d("2026-01-01") + chrono::Duration::days(400);
            let rate = Decimal::new(2, 2);
            let once = cumulative_cents(&levels, &[Run { through: end, rate }], scale).unwrap();
            let mut runs = Vec::new();
            let mut posted = 0;
            for through in cuts
                .into_iter()
                .map(|c| d("2026-01-01") + chrono::Duration::days(c))
                .chain([end])
            {
                runs.push(Run { through, rate });
                let cumulative = cumulative_cents(&levels, &runs, scale).unwrap();
                prop_assert!(cumulative >= posted);
                posted = cumulative;
            }
            prop_assert_eq!(posted, once);
        }

        /// A change made after an accrual takes effect from the date reached: what was
        /// accrued stays accrued.
        #[test]
        fn a_later_change_never_rewrites_accrued_fees(
            levels in levels_strategy(),
            reached in 1i64..200,
            later in 0i64..100,
            quantity in 0i64..1 << 40,
        ) {
            let through = d("2026-01-01") + chrono::Duration::days(reached);
            let runs = [Run { through, rate: Decimal::new(2, 2) }];
            let before = cumulative_cents(&levels, &runs, 3).unwrap();
            let last = levels.last().unwrap().effective.max(through);
            let mut changed = levels.clone();
            changed.push(Level {
                effective: last + chrono::Duration::days(later),
                quantity,
                price_micros: 1_000_000,
            });
            prop_assert_eq!(cumulative_cents(&changed, &runs, 3).unwrap(), before);
        }
    }
}
