//! Fees manufacturers pay for their allocations: an upfront entry fee and carrying fees.

use super::money::parse_positive_usd;
use super::validation::{text, FieldError, Problems};
use std::str::FromStr;

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
        // Like the other fields, `None` when refused; an absent memo is a valid `Some(None)`.
        let memo = match memo {
            Some(m) => p.check("memo", text(m, 1000)).map(Some),
            None => Some(None),
        };
        p.finish(|| {
            Some(NewFee {
                kind: kind?,
                amount_cents: amount?,
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
}
