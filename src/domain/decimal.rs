//! Exact decimal strings <-> integer minor units.
//!
//! Quantities and money travel as decimal strings and are stored as `i64` counts of
//! `10^-scale` units. Parsing is strict (API.md): `^-?[0-9]+(\.[0-9]+)?$`, at most `scale`
//! decimal places as written, and the value must fit in an `i64` of minor units.

use num_bigint::BigUint;
use rust_decimal::Decimal;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecimalError {
    Syntax,
    TooManyDecimals { max: u32 },
    OutOfRange,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str("must be a decimal string such as \"12.5\""),
            Self::TooManyDecimals { max } => write!(f, "may carry at most {max} decimal places"),
            Self::OutOfRange => f.write_str("is too large to be stored exactly"),
        }
    }
}

/// `round_half_even(n / d)` of non-negative integers, exactly; `d` is not zero.
pub fn div_half_even(n: &BigUint, d: &BigUint) -> BigUint {
    let q = n / d;
    let twice_r = (n % d) * 2u32;
    if twice_r > *d || (twice_r == *d && q.bit(0)) {
        q + 1u32
    } else {
        q
    }
}

/// Parses `text` into minor units of `10^-scale`.
pub fn parse_fixed(text: &str, scale: u32) -> Result<i64, DecimalError> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(DecimalError::Syntax);
    }
    let frac = frac_part.unwrap_or("");
    if frac.len() > scale as usize {
        return Err(DecimalError::TooManyDecimals { max: scale });
    }
    let mut minor: i64 = 0;
    let padded = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(scale as usize);
    for b in int_part.bytes().chain(padded) {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(b - b'0')))
            .ok_or(DecimalError::OutOfRange)?;
    }
    Ok(if negative { -minor } else { minor })
}

/// Parses `text` into minor units of `10^-scale` that are more than zero.
pub fn positive(text: &str, scale: u32) -> Result<i64, String> {
    match parse_fixed(text, scale) {
        Ok(v) if v > 0 => Ok(v),
        Ok(_) => Err("must be greater than zero".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses `text` into minor units of `10^-scale` that are zero or more.
pub fn non_negative(text: &str, scale: u32) -> Result<i64, String> {
    match parse_fixed(text, scale) {
        Ok(v) if v >= 0 => Ok(v),
        Ok(_) => Err("must not be negative".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Formats minor units as a normalized decimal string: no exponent, no `+`, no trailing
/// fractional zeros or trailing point (`"12.5"`, `"-3"`, `"0"`).
pub fn format_fixed(minor: i64, scale: u32) -> String {
    format_wide(i128::from(minor), scale)
}

/// `format_fixed` for the wider figures reports derive (sums over days and manufacturers).
pub fn format_wide(minor: i128, scale: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{digits:0>width$}", width = scale + 1)
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let frac = frac.trim_end_matches('0');
    let sign = if minor < 0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// The exact value of `minor` units of `10^-scale`.
pub fn to_decimal(minor: i64, scale: u32) -> Decimal {
    Decimal::new(minor, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_fixed("1250.5", 3), Ok(1_250_500));
        assert_eq!(parse_fixed("-3", 2), Ok(-300));
        assert_eq!(parse_fixed("0", 0), Ok(0));
        assert_eq!(parse_fixed("007.10", 2), Ok(710));
        assert_eq!(parse_fixed("10000000000.00", 2), Ok(1_000_000_000_000));
    }

    #[test]
    fn refuses_what_api_md_forbids() {
        for bad in [
            "", "-", ".5", "5.", "+5", " 5", "5 ", "1e3", "NaN", "inf", "1,5", "--1", "1.2.3", "٣",
        ] {
            assert_eq!(parse_fixed(bad, 6), Err(DecimalError::Syntax), "{bad:?}");
        }
        assert_eq!(
            parse_fixed("1.2345", 3),
            Err(DecimalError::TooManyDecimals { max: 3 })
        );
        assert_eq!(
            parse_fixed("1.0", 0),
            Err(DecimalError::TooManyDecimals { max: 0 })
        );
        assert_eq!(
            parse_fixed("9223372036854775808", 0),
            Err(DecimalError::OutOfRange)
        );
        assert_eq!(parse_fixed("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(
            parse_fixed("99999999999999999999999999999999999999", 0),
            Err(DecimalError::OutOfRange)
        );
    }

    #[test]
    fn formats_normalized() {
        assert_eq!(format_fixed(12_500, 3), "12.5");
        assert_eq!(format_fixed(-300, 2), "-3");
        assert_eq!(format_fixed(0, 6), "0");
        assert_eq!(format_fixed(1, 6), "0.000001");
        assert_eq!(format_fixed(i64::MAX, 0), "9223372036854775807");
        assert_eq!(format_fixed(1_000_000_000_000, 2), "10000000000");
        assert_eq!(format_fixed(i64::MIN, 3), "-9223372036854775.808");
        assert_eq!(format_fixed(-5, 2), "-0.05");
        assert_eq!(format_wide(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(format_wide(123_000, 3), "123");
    }

    #[test]
    fn non_negative_refuses_below_zero() {
        assert_eq!(non_negative("0", 2), Ok(0));
        assert_eq!(non_negative("1.5", 2), Ok(150));
        assert_eq!(non_negative("-0.01", 2), Err("must not be negative".into()));
        assert!(non_negative("1.234", 2).is_err());
    }

    #[test]
    fn round_trips() {
        for (text, scale) in [("0.001", 3), ("-42.25", 2), ("123456.123456", 6)] {
            assert_eq!(format_fixed(parse_fixed(text, scale).unwrap(), scale), text);
        }
    }
}
