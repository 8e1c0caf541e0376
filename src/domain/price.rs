//! Market price marks (API.md, "Market prices and valuation"): one per material and date.

use super::decimal::positive;
use super::lot::UNIT_PRICE_SCALE;
use super::time::parse_date_until;
use super::validation::{text, FieldError, Problems};
use chrono::NaiveDate;

/// At most this many characters name a mark's source.
pub const SOURCE_MAX: usize = 200;

/// A mark as sent: a price per unit > 0 with at most 6 decimals, a date not after `today`,
/// a source of 1–200 characters.
pub struct NewMark {
    pub price_micros: i64,
    pub as_of: NaiveDate,
    pub source: String,
}

impl NewMark {
    pub fn parse(
        price_usd: &str,
        as_of: &str,
        source: &str,
        today: NaiveDate,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let price = p.check("price_usd", positive(price_usd, UNIT_PRICE_SCALE));
        let as_of = p.check("as_of", parse_date_until(as_of, today, "today"));
        let source = p.check("source", text(source, SOURCE_MAX));
        p.finish(|| {
            Some(NewMark {
                price_micros: price?,
                as_of: as_of?,
                source: source?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    #[test]
    fn parses_a_mark() {
        let m = NewMark::parse("1250.125", "2026-03-01", " Fastmarkets ", today()).unwrap();
        assert_eq!(m.price_micros, 1_250_125_000);
        assert_eq!(m.as_of, today());
        assert_eq!(m.source, "Fastmarkets");
    }

    #[test]
    fn names_every_bad_field() {
        let fields = |price, as_of, source| -> Vec<String> {
            NewMark::parse(price, as_of, source, today())
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields("0", "2026-03-02", ""),
            ["price_usd", "as_of", "source"]
        );
        assert_eq!(fields("1.0000001", "2026-03-01", "x"), ["price_usd"]);
        assert_eq!(fields("-1", "2026-3-1", "x"), ["price_usd", "as_of"]);
        assert!(fields("1", "2026-03-01", &"x".repeat(201)) == ["source"]);
    }
}
