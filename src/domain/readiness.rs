//! Days of cover and origin concentration (API.md, "Readiness"): pure arithmetic over a
//! material's cached figures, its allocations' consumption and its lots on hand by origin.

use super::decimal::div_half_even;
use super::lot::UNIT_PRICE_SCALE;
use super::material::StockFigures;
use super::money::USD_SCALE;
use num_bigint::BigUint;
use rust_decimal::Decimal;

/// Decimals of `days_of_cover` and `days_to_zero` (rounded down).
pub const DAYS_SCALE: u32 = 1;
/// `daily_demand` is shown with the material's scale plus this many decimals.
pub const DEMAND_EXTRA_SCALE: u32 = 3;
/// Decimals of a share (rounded half-even).
pub const SHARE_SCALE: u32 = 4;

fn big(v: i128) -> BigUint {
    // Every figure here is zero or more; a negative one would be a bug upstream.
    BigUint::from(u128::try_from(v).unwrap_or(0))
}

fn small(v: &BigUint) -> i128 {
    // Results are bounded by their inputs (a share is at most 10^4, a day count at most
    // 30 × 10 × a stored figure), so they fit.
    i128::try_from(v).unwrap_or(i128::MAX)
}

/// One material's days of cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cover {
    /// Σ monthly consumption ÷ 30, in units of 10^-(scale + 3), half-even.
    pub daily_demand: i128,
    /// releasable ÷ daily demand, in tenths of a day, rounded down; `None` without demand.
    pub days_of_cover: Option<i128>,
    /// available ÷ daily demand, likewise.
    pub days_to_zero: Option<i128>,
    pub meets_target: Option<bool>,
}

/// Cover of `stock` against `monthly` (the active manufacturers' summed monthly consumption,
/// minor units), judged against `target_days`.
pub fn cover(stock: StockFigures, monthly: i128, target_days: u32) -> Cover {
    let daily_demand = small(&div_half_even(
        &(big(monthly) * 10u32.pow(DEMAND_EXTRA_SCALE)),
        &BigUint::from(30u32),
    ));
    // x ÷ (monthly ÷ 30) in tenths = floor(x × 30 × 10 / monthly).
    let days =
        |x: i64| (monthly > 0).then(|| small(&(big(i128::from(x.max(0))) * 300u32 / big(monthly))));
    let days_of_cover = days(stock.releasable());
    Cover {
        daily_demand,
        days_of_cover,
        days_to_zero: days(stock.available()),
        meets_target: days_of_cover.map(|d| d >= i128::from(target_days) * 10),
    }
}

/// One origin's part of a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginShare {
    pub country: String,
    pub amount: i128,
    /// amount ÷ total in units of 10^-4, half-even.
    pub share: i128,
}

/// How concentrated a whole is by origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concentration {
    /// Largest first, then by country.
    pub by_origin: Vec<OriginShare>,
    pub leading_country: Option<String>,
    pub leading_share: Option<i128>,
    /// round(Σ (share × 100)²) over exact shares, 0–10,000; `None` for an empty whole.
    pub hhi: Option<i128>,
    /// `leading_share >= alert_share`.
    pub alert: bool,
}

/// The name lots without an origin are counted under.
pub const UNKNOWN_ORIGIN: &str = "unknown";

/// The market value in cents of `quantity` minor units of a material of `scale` at
/// `price_micros` a unit, half-even.
pub fn value_cents(quantity: i128, scale: u32, price_micros: i64) -> i128 {
    let exact = big(quantity) * big(i128::from(price_micros));
    let unit = BigUint::from(10u32).pow(scale + UNIT_PRICE_SCALE - USD_SCALE);
    small(&div_half_even(&exact, &unit))
}

/// Concentration of `parts` (origin, amount ≥ 0; an origin may appear more than once and an
/// empty one counts as `unknown`), flagged when the leading share reaches `alert_share`.
pub fn concentration(parts: Vec<(String, i128)>, alert_share: Decimal) -> Concentration {
    let mut merged: std::collections::BTreeMap<String, i128> = Default::default();
    for (country, amount) in parts.into_iter().filter(|(_, a)| *a > 0) {
        let country = if country.trim().is_empty() {
            UNKNOWN_ORIGIN.to_owned()
        } else {
            country
        };
        *merged.entry(country).or_default() += amount;
    }
    let total: i128 = merged.values().sum();
    if total == 0 {
        return Concentration {
            by_origin: Vec::new(),
            leading_country: None,
            leading_share: None,
            hhi: None,
            alert: false,
        };
    }
    let scale = BigUint::from(10u32.pow(SHARE_SCALE));
    let mut by_origin: Vec<OriginShare> = merged
        .into_iter()
        .map(|(country, amount)| OriginShare {
            share: small(&div_half_even(&(big(amount) * &scale), &big(total))),
            country,
            amount,
        })
        .collect();
    by_origin.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.country.cmp(&b.country)));
    let squares: BigUint = by_origin.iter().map(|o| big(o.amount).pow(2)).sum();
    let hhi = small(&div_half_even(&(squares * &scale), &big(total).pow(2)));
    let leading = by_origin.first().map(|o| (o.country.clone(), o.share));
    Concentration {
        alert: leading.as_ref().is_some_and(|(_, s)| {
            i64::try_from(*s).is_ok_and(|s| Decimal::new(s, SHARE_SCALE) >= alert_share)
        }),
        leading_country: leading.as_ref().map(|(c, _)| c.clone()),
        leading_share: leading.map(|(_, s)| s),
        hhi: Some(hhi),
        by_origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(on_hand: i64, held: i64, strategic_floor: i64) -> StockFigures {
        StockFigures {
            on_hand,
            held,
            strategic_floor,
        }
    }

    #[test]
    fn cover_by_hand() {
        // Scale 3: 1000 kg on hand, 100 held, floor 300: releasable 600 kg, available 900 kg.
        // Monthly 200 kg + 100 kg = 300 kg: 10 kg a day; 60 and 90 days.
        let c = cover(stock(1_000_000, 100_000, 300_000), 300_000, 60);
        assert_eq!(c.daily_demand, 10_000_000, "10 kg at scale 3 + 3");
        assert_eq!(c.days_of_cover, Some(600));
        assert_eq!(c.days_to_zero, Some(900));
        assert_eq!(c.meets_target, Some(true));
        // 7 kg a month: 0.233333… kg a day, 600 ÷ 0.2333… = 2571.428… days.
        let c = cover(stock(1_000_000, 100_000, 300_000), 7_000, 3000);
        assert_eq!(c.daily_demand, 233_333);
        assert_eq!(c.days_of_cover, Some(25_714), "rounded down");
        assert_eq!(c.meets_target, Some(false));
    }

    #[test]
    fn cover_without_demand_is_null() {
        let c = cover(stock(10, 0, 0), 0, 60);
        assert_eq!(c.daily_demand, 0);
        assert_eq!(c.days_of_cover, None);
        assert_eq!(c.days_to_zero, None);
        assert_eq!(c.meets_target, None);
    }

    #[test]
    fn daily_demand_rounds_half_even() {
        // 1 minor unit a month at scale 0 + 3: 1000 / 30 = 33.33… → 33; 2: 66.66… → 67.
        assert_eq!(cover(stock(0, 0, 0), 1, 1).daily_demand, 33);
        assert_eq!(cover(stock(0, 0, 0), 2, 1).daily_demand, 67);
        assert_eq!(
            div_half_even(&BigUint::from(5u32), &BigUint::from(2u32)),
            BigUint::from(2u32)
        );
        assert_eq!(
            div_half_even(&BigUint::from(7u32), &BigUint::from(2u32)),
            BigUint::from(4u32)
        );
    }

    fn half() -> Decimal {
        Decimal::new(5, 1)
    }

    #[test]
    fn values_round_half_even_to_cents() {
        // 1.5 kg (scale 3) at 0.003 USD: 0.0045 → 0.00; at 0.007: 0.0105 → 0.01.
        assert_eq!(value_cents(1_500, 3, 3_000), 0);
        assert_eq!(value_cents(1_500, 3, 7_000), 1);
        // 2 t at 52.125: 104.25 USD.
        assert_eq!(value_cents(2, 0, 52_125_000), 10_425);
        // (2^63 - 1)² ends in …1249: rounds down.
        assert_eq!(
            value_cents(i128::from(i64::MAX), 0, i64::MAX),
            i128::from(i64::MAX).pow(2) / 10_000,
            "wider than a stored figure, not wrapped"
        );
    }

    #[test]
    fn concentration_by_hand() {
        // 70 from CN (two lots), 20 from AU, 10 without an origin.
        let c = concentration(
            vec![
                ("CN".into(), 50),
                ("AU".into(), 20),
                ("".into(), 10),
                ("CN".into(), 20),
            ],
            half(),
        );
        let rows: Vec<_> = c
            .by_origin
            .iter()
            .map(|o| (o.country.as_str(), o.amount, o.share))
            .collect();
        assert_eq!(
            rows,
            [("CN", 70, 7_000), ("AU", 20, 2_000), ("unknown", 10, 1_000)]
        );
        assert_eq!(c.leading_country.as_deref(), Some("CN"));
        assert_eq!(c.leading_share, Some(7_000));
        // 70² + 20² + 10² = 5400.
        assert_eq!(c.hhi, Some(5_400));
        assert!(c.alert);
    }

    #[test]
    fn hhi_uses_exact_shares() {
        // Thirds: shares 0.3333 each (sum 0.9999), but the HHI of exact thirds is 3333.33…
        let c = concentration(
            vec![("AU".into(), 1), ("CA".into(), 1), ("US".into(), 1)],
            half(),
        );
        assert_eq!(c.by_origin[0].share, 3_333);
        assert_eq!(c.hhi, Some(3_333));
        assert!(!c.alert);
        // 1 and 199 of 200: 0.5² + 99.5² = 9900.5, half-even to 9900.
        let c = concentration(
            vec![("AU".into(), 1), ("CN".into(), 199)],
            Decimal::new(995, 3),
        );
        assert_eq!(c.hhi, Some(9_900));
        assert_eq!(c.leading_share, Some(9_950));
        assert!(c.alert, "at the threshold");
        // Quantities near i64::MAX square without overflow.
        let c = concentration(
            vec![
                ("AU".into(), i128::from(i64::MAX)),
                ("CN".into(), i128::from(i64::MAX)),
            ],
            half(),
        );
        assert_eq!(c.hhi, Some(5_000));
    }

    #[test]
    fn an_empty_whole_has_no_leader() {
        let c = concentration(vec![("AU".into(), 0)], half());
        assert!(c.by_origin.is_empty());
        assert_eq!(c.leading_country, None);
        assert_eq!(c.hhi, None);
        assert!(!c.alert);
    }
}
