//! A receipt of stock into a facility, checked against its material's scale.

use super::country::parse_country;
use super::decimal::{format_fixed, non_negative, parse_fixed, positive};
use super::formats;
use super::time::parse_rfc3339;
use super::validation::{text, FieldError, Problems};
use super::values::{wire_string, Undecodable};
use chrono::NaiveDateTime;

/// Per-unit prices carry at most 6 decimals (API.md).
pub const UNIT_PRICE_SCALE: u32 = 6;
/// Grades (purity in percent) are kept with up to 4 decimals: 99.9999 %.
const GRADE_SCALE: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLot {
    pub quantity: i64,
    pub grade: Grade,
    pub origin_country: String,
    pub supplier: String,
    pub unit_cost_micros: i64,
    pub received_at: NaiveDateTime,
}

/// A quantity of a material: positive, at most `scale` decimals.
pub fn positive_quantity(text: &str, scale: u32) -> Result<i64, String> {
    positive(text, scale)
}

/// Purity in percent, 0 < grade <= 100, in units of 10^-4 (stored as its decimal string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grade(i64);

wire_string!(Grade, formats::Decimal, "Decimal", |g, f| f
    .write_str(&format_fixed(g.0, GRADE_SCALE)));

/// Purity in percent: 0 < grade <= 100.
pub fn grade(text: &str) -> Result<Grade, String> {
    let g = parse_fixed(text, GRADE_SCALE).map_err(|e| e.to_string())?;
    if g <= 0 || g > 100 * 10i64.pow(GRADE_SCALE) {
        return Err("must be a percentage above 0 and at most 100".into());
    }
    Ok(Grade(g))
}

/// A stored grade reads back only as `grade` wrote it.
impl TryFrom<String> for Grade {
    type Error = Undecodable;

    fn try_from(value: String) -> Result<Self, Undecodable> {
        match grade(&value) {
            Ok(g) if g.to_string() == value => Ok(g),
            _ => Err(Undecodable {
                what: "grade",
                value,
            }),
        }
    }
}

impl From<Grade> for String {
    fn from(g: Grade) -> String {
        g.to_string()
    }
}

/// When stock arrived: RFC 3339, default `now`, never in the future (a minute of clock skew
/// allowed), since receipt time orders lots for picking.
pub fn received_at(text: Option<&str>, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let Some(text) = text else { return Ok(now) };
    let at = parse_rfc3339(text)?;
    if at > now + chrono::Duration::minutes(1) {
        return Err("must not be in the future".to_owned());
    }
    Ok(at)
}

/// What a lot costs: quantity × unit cost, rounded half-even to cents (API.md); `None` when
/// that many cents cannot be stored.
pub fn cost_cents(quantity: i64, scale: u32, unit_cost_micros: i64) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    let cost = rust_decimal::Decimal::new(quantity, scale).checked_mul(
        rust_decimal::Decimal::new(unit_cost_micros, UNIT_PRICE_SCALE),
    )?;
    cost.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven)
        .checked_mul(rust_decimal::Decimal::ONE_HUNDRED)?
        .to_i64()
}

pub struct LotText<'a> {
    pub quantity: &'a str,
    pub grade: &'a str,
    pub origin_country: &'a str,
    pub supplier: &'a str,
    pub unit_cost_usd: &'a str,
    pub received_at: Option<&'a str>,
}

impl NewLot {
    /// Parses a receipt of a material with `scale`; `now` bounds `received_at` (a receipt
    /// cannot be dated in the future).
    pub fn parse(t: &LotText<'_>, scale: u32, now: NaiveDateTime) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let quantity = p.check("quantity", positive_quantity(t.quantity, scale));
        let grade = p.check("grade", grade(t.grade));
        let origin = p.check("origin_country", parse_country(t.origin_country));
        let supplier = p.check("supplier", text(t.supplier, 200));
        let cost = p.check(
            "unit_cost_usd",
            non_negative(t.unit_cost_usd, UNIT_PRICE_SCALE),
        );
        let received_at = p.check("received_at", received_at(t.received_at, now));
        p.finish(|| {
            Some(NewLot {
                quantity: quantity?,
                grade: grade?,
                origin_country: origin?,
                supplier: supplier?,
                unit_cost_micros: cost?,
                received_at: received_at?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
    }

    fn text<'a>(quantity: &'a str, grade: &'a str) -> LotText<'a> {
        LotText {
            quantity,
            grade,
            origin_country: "AU",
            supplier: "Lynas",
            unit_cost_usd: "52.125",
            received_at: Some("2026-05-01T08:00:00Z"),
        }
    }

    #[test]
    fn a_grade_meets_a_minimum_at_or_above_it() {
        let g = |t: &str| grade(t).unwrap();
        assert!(g("99.999") >= g("99.99"));
        assert!(g("99.99") >= g("99.99"));
        assert!(g("99.9") < g("99.99"));
        assert!(g("100") >= g("99.9999"));
    }

    #[test]
    fn a_stored_grade_reads_back_only_as_written() {
        assert_eq!(
            Grade::try_from("99.5".to_owned()).map(String::from),
            Ok("99.5".into())
        );
        for bad in ["99.50", "high", "0", "100.5"] {
            assert!(Grade::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_a_receipt() {
        let lot = NewLot::parse(&text("1250.5", "99.50"), 3, now()).unwrap();
        assert_eq!(lot.quantity, 1_250_500);
        assert_eq!(lot.grade.to_string(), "99.5");
        assert_eq!(lot.unit_cost_micros, 52_125_000);
    }

    #[test]
    fn cost_rounds_half_even_to_cents() {
        // 1250.5 kg × 52.125 $/kg = 65,182.3125 $ → 65,182.31
        assert_eq!(cost_cents(1_250_500, 3, 52_125_000), Some(6_518_231));
        // 0.005 $ → 0.00 (even), 0.015 $ → 0.02 (even)
        assert_eq!(cost_cents(1, 0, 5_000), Some(0));
        assert_eq!(cost_cents(3, 0, 5_000), Some(2));
        assert_eq!(cost_cents(100, 0, 1), Some(0));
        assert_eq!(cost_cents(7, 0, 1_000_000), Some(700));
    }

    #[test]
    fn cost_beyond_storage_is_none_never_capped() {
        // 10^15 kg at $1,000,000/kg is $10^21, beyond what cents in an i64 hold.
        assert_eq!(
            cost_cents(1_000_000_000_000_000, 0, 1_000_000_000_000),
            None
        );
        // The largest inputs overflow the decimal product itself.
        assert_eq!(cost_cents(i64::MAX, 0, i64::MAX), None);
        assert_eq!(
            cost_cents(92_233_720_368_547, 0, 1_000_000),
            Some(9_223_372_036_854_700)
        );
    }

    #[test]
    fn refuses_bad_figures() {
        for (q, g, field) in [
            ("0", "99", "quantity"),
            ("-1", "99", "quantity"),
            ("1.2345", "99", "quantity"),
            ("1", "0", "grade"),
            ("1", "100.01", "grade"),
            ("1", "abc", "grade"),
        ] {
            let errs = NewLot::parse(&text(q, g), 3, now()).unwrap_err();
            assert_eq!(errs[0].field, field, "{q} {g}");
        }
        assert!(NewLot::parse(&text("1", "100"), 3, now()).is_ok());
        let mut future = text("1", "99");
        future.received_at = Some("2026-07-01T00:00:00Z");
        assert_eq!(
            NewLot::parse(&future, 3, now()).unwrap_err()[0].field,
            "received_at"
        );
    }
}
