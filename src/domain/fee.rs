//! Fees manufacturers pay for their allocations: an upfront entry fee and carrying fees.

use super::money::parse_positive_usd;
use super::time::parse_date_until;
use super::validation::{text, FieldError, Problems};
use chrono::NaiveDate;
use std::str::FromStr;

/// At most this many characters of memo.
const MEMO_MAX: usize = 1000;

/// An optional memo: `Some(None)` when absent, `None` when refused (recorded in `p`), as the
/// other fields are.
fn parse_memo(p: &mut Problems, memo: Option<&str>) -> Option<Option<String>> {
    match memo {
        Some(m) => p.check("memo", text(m, MEMO_MAX)).map(Some),
        None => Some(None),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeKind {
    Entry,
    Carrying,
}

impl FeeKind {
    pub const ALL: [FeeKind; 2] = [FeeKind::Entry, FeeKind::Carrying];

    pub fn as_str(self) -> &'static str {
        match self {
            FeeKind::Entry => "entry",
            FeeKind::Carrying => "carrying",
        }
    }
}

super::values::closed_set!(FeeKind, super::formats::FeeKind, "FeeKind");

impl FromStr for FeeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "entry" => Ok(FeeKind::Entry),
            "carrying" => Ok(FeeKind::Carrying),
            _ => Err("must be one of entry, carrying".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFee {
    pub kind: FeeKind,
    pub amount_cents: i64,
    pub memo: Option<String>,
}

impl NewFee {
    pub fn parse(
        kind: &str,
        amount_usd: &str,
        memo: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let kind = p.check("kind", kind.parse::<FeeKind>());
        let amount = p.check("amount_usd", parse_positive_usd(amount_usd));
        let memo = parse_memo(&mut p, memo);
        p.finish(|| {
            Some(NewFee {
                kind: kind?,
                amount_cents: amount?,
                memo: memo?,
            })
        })
    }
}

/// A payment of carrying fees as sent: an amount above zero with at most 2 decimals, received
/// on `value_date` (not after `today`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub amount_cents: i64,
    pub value_date: NaiveDate,
    pub memo: Option<String>,
}

impl NewPayment {
    pub fn parse(
        amount_usd: &str,
        value_date: &str,
        memo_text: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let amount = p.check("amount_usd", parse_positive_usd(amount_usd));
        let value_date = p.check("value_date", parse_date_until(value_date, today, "today"));
        let memo = parse_memo(&mut p, memo_text);
        p.finish(|| {
            Some(NewPayment {
                amount_cents: amount?,
                value_date: value_date?,
                memo: memo?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fees() {
        let f = NewFee::parse("carrying", "1250.5", Some(" Q1 2026 ")).unwrap();
        assert_eq!(f.kind, FeeKind::Carrying);
        assert_eq!(f.amount_cents, 125_050);
        assert_eq!(f.memo.as_deref(), Some("Q1 2026"));
        assert_eq!(NewFee::parse("entry", "1", None).unwrap().memo, None);
        let errs = NewFee::parse("annual", "0", Some("")).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "amount_usd", "memo"]);
    }

    #[test]
    fn parses_payments() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let p = NewPayment::parse("1250.5", "2026-03-01", Some(" Q1 "), today).unwrap();
        assert_eq!(p.amount_cents, 125_050);
        assert_eq!(p.value_date, today);
        assert_eq!(p.memo.as_deref(), Some("Q1"));
        let errs = NewPayment::parse("0.001", "2026-03-02", Some(""), today).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["amount_usd", "value_date", "memo"]);
        assert_eq!(
            errs[1].message, "must not be after today (2026-03-01)",
            "a payment not yet received"
        );
    }
}
