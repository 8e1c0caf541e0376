//! US dollar totals: decimal strings with at most 2 decimals, stored as `i64` cents.

use super::decimal::{format_fixed, parse_fixed};

/// Decimal places of a USD total (cents).
pub const USD_SCALE: u32 = 2;

/// A total above zero, e.g. `"1250.5"` -> 125 050 cents.
pub fn parse_positive_usd(text: &str) -> Result<i64, String> {
    match parse_fixed(text, USD_SCALE) {
        Ok(cents) if cents > 0 => Ok(cents),
        Ok(_) => Err("must be above zero".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Cents as a normalized decimal string (`"12.5"`, `"0"`).
pub fn format_usd(cents: i64) -> String {
    format_fixed(cents, USD_SCALE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_positive_cents() {
        assert_eq!(parse_positive_usd("1250.5"), Ok(125_050));
        assert_eq!(parse_positive_usd("0.01"), Ok(1));
        assert!(parse_positive_usd("0").is_err());
        assert!(parse_positive_usd("-1").is_err());
        assert!(parse_positive_usd("1.001").is_err());
        assert!(parse_positive_usd("1e3").is_err());
        assert_eq!(format_usd(125_050), "1250.5");
        assert_eq!(format_usd(0), "0");
    }
}
