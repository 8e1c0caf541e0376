//! Loan facilities, their tranches, and how a repayment is applied.

use super::daycount::DayCount;
use super::decimal::parse_fixed;
use super::money::parse_positive_usd;
use super::time::parse_date;
use super::validation::{text, FieldError, Problems};
use chrono::NaiveDate;
use std::str::FromStr;

/// Decimal places of an annual rate: rates are stored as `i64` units of 10^-9.
pub const RATE_SCALE: u32 = 9;
/// A rate of 1, i.e. 100 % a year, the highest accepted.
const MAX_RATE: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanKind {
    DirectLoan,
    PrivateCapital,
}

impl LoanKind {
    pub const ALL: [LoanKind; 2] = [LoanKind::DirectLoan, LoanKind::PrivateCapital];

    pub fn as_str(self) -> &'static str {
        match self {
            LoanKind::DirectLoan => "direct_loan",
            LoanKind::PrivateCapital => "private_capital",
        }
    }
}

super::values::closed_set!(LoanKind, super::formats::LoanKind, "LoanKind");

impl FromStr for LoanKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "direct_loan" => Ok(LoanKind::DirectLoan),
            "private_capital" => Ok(LoanKind::PrivateCapital),
            _ => Err("must be one of direct_loan, private_capital".into()),
        }
    }
}

/// An annual rate from 0 to 1 with at most 9 decimals, in units of 10^-9.
pub fn parse_rate(text: &str) -> Result<i64, String> {
    let rate = parse_fixed(text, RATE_SCALE).map_err(|e| e.to_string())?;
    if (0..=MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err("must be from 0 to 1 (a yearly fraction: 0.0475 is 4.75 %)".into())
    }
}

/// A loan facility as the admin defines it; money in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLoanFacility {
    pub lender: String,
    pub kind: LoanKind,
    pub commitment_cents: i64,
    /// In units of 10^-9 (`RATE_SCALE`).
    pub annual_rate: i64,
    pub day_count: DayCount,
    /// The last value date a disbursement may have.
    pub availability_end: NaiveDate,
    pub maturity_date: NaiveDate,
}

impl NewLoanFacility {
    pub fn parse(
        lender: &str,
        kind: &str,
        commitment_usd: &str,
        annual_rate: &str,
        day_count: &str,
        availability_end: &str,
        maturity_date: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let lender = p.check("lender", text(lender, 200));
        let kind = p.check("kind", kind.parse::<LoanKind>());
        let commitment = p.check("commitment_usd", parse_positive_usd(commitment_usd));
        let rate = p.check("annual_rate", parse_rate(annual_rate));
        let day_count = p.check("day_count", day_count.parse::<DayCount>());
        let maturity = parse_date(maturity_date);
        let availability_end = p.check(
            "availability_end",
            parse_date(availability_end).and_then(|end| match &maturity {
                Ok(m) if end > *m => Err("must not be after maturity_date".to_owned()),
                _ => Ok(end),
            }),
        );
        let maturity_date = p.check("maturity_date", maturity);
        p.finish(|| {
            Some(NewLoanFacility {
                lender: lender?,
                kind: kind?,
                commitment_cents: commitment?,
                annual_rate: rate?,
                day_count: day_count?,
                availability_end: availability_end?,
                maturity_date: maturity_date?,
            })
        })
    }
}

/// A tranche: a part of a facility's commitment that may be drawn from `available_from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTranche {
    pub amount_cents: i64,
    pub available_from: NaiveDate,
    pub purpose: String,
}

impl NewTranche {
    pub fn parse(
        amount_usd: &str,
        available_from: &str,
        purpose: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let amount = p.check("amount_usd", parse_positive_usd(amount_usd));
        let available_from = p.check("available_from", parse_date(available_from));
        let purpose = p.check("purpose", text(purpose, 500));
        p.finish(|| {
            Some(NewTranche {
                amount_cents: amount?,
                available_from: available_from?,
                purpose: purpose?,
            })
        })
    }
}

/// Money moving on a value date: a disbursement or a repayment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub amount_cents: i64,
    pub value_date: NaiveDate,
}

impl Movement {
    pub fn parse(amount_usd: &str, value_date: &str) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let amount = p.check("amount_usd", parse_positive_usd(amount_usd));
        let value_date = p.check("value_date", parse_date(value_date));
        p.finish(|| {
            Some(Movement {
                amount_cents: amount?,
                value_date: value_date?,
            })
        })
    }
}

/// How a repayment is applied: to the interest due first, then to principal, in the order
/// of `outstanding` (oldest tranche first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepaymentSplit {
    pub interest: i64,
    /// Principal repaid per tranche, in the order of `outstanding`.
    pub principal: Vec<i64>,
}

/// Splits `amount`; `None` when it is more than `interest_due` plus all `outstanding`.
pub fn split_repayment(
    amount: i64,
    interest_due: i64,
    outstanding: &[i64],
) -> Option<RepaymentSplit> {
    let interest = amount.min(interest_due);
    let mut left = amount - interest;
    let principal: Vec<i64> = outstanding
        .iter()
        .map(|&owed| {
            let take = owed.min(left);
            left -= take;
            take
        })
        .collect();
    (left == 0).then_some(RepaymentSplit {
        interest,
        principal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facility(end: &str, maturity: &str) -> Result<NewLoanFacility, Vec<FieldError>> {
        NewLoanFacility::parse(
            "Export-Import Bank",
            "direct_loan",
            "10000000000.00",
            "0.0475",
            "ACT/360",
            end,
            maturity,
        )
    }

    #[test]
    fn parses_a_facility() {
        let f = facility("2027-12-31", "2036-12-31").unwrap();
        assert_eq!(f.commitment_cents, 1_000_000_000_000);
        assert_eq!(f.annual_rate, 47_500_000);
        assert_eq!(f.day_count, DayCount::Act360);
        // Availability may end on the maturity date, not after it.
        assert!(facility("2036-12-31", "2036-12-31").is_ok());
        let errs = facility("2037-01-01", "2036-12-31").unwrap_err();
        assert_eq!(errs[0].field, "availability_end");
    }

    #[test]
    fn names_every_bad_facility_field() {
        let errs =
            NewLoanFacility::parse("", "loan", "0", "1.5", "ACT/365", "2027-02-30", "tomorrow")
                .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lender",
                "kind",
                "commitment_usd",
                "annual_rate",
                "day_count",
                "availability_end",
                "maturity_date"
            ]
        );
    }

    #[test]
    fn rates_are_fractions_from_0_to_1() {
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate("1"), Ok(1_000_000_000));
        assert_eq!(parse_rate("0.053125"), Ok(53_125_000));
        assert_eq!(parse_rate("0.000000001"), Ok(1));
        assert!(parse_rate("0.0000000001").is_err());
        assert!(parse_rate("1.000000001").is_err());
        assert!(parse_rate("-0.01").is_err());
        assert!(parse_rate("4.75%").is_err());
    }

    #[test]
    fn tranches_and_movements_validate_each_field() {
        let t = NewTranche::parse("2500000.5", "2026-03-01", " NdPr purchases ").unwrap();
        assert_eq!(t.amount_cents, 250_000_050);
        assert_eq!(t.purpose, "NdPr purchases");
        assert_eq!(
            NewTranche::parse("-1", "2026-3-1", "").unwrap_err().len(),
            3
        );
        let m = Movement::parse("0.01", "2026-03-01").unwrap();
        assert_eq!(m.amount_cents, 1);
        let errs = Movement::parse("1.001", "2026-02-29").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["amount_usd", "value_date"]);
    }

    #[test]
    fn repayments_pay_interest_then_the_oldest_tranche() {
        let split = split_repayment(1_000, 150, &[500, 400, 300]).unwrap();
        assert_eq!(split.interest, 150);
        assert_eq!(split.principal, [500, 350, 0]);
        let interest_only = split_repayment(100, 150, &[500]).unwrap();
        assert_eq!(
            (interest_only.interest, interest_only.principal),
            (100, vec![0])
        );
        // Exactly what is owed, and one cent more.
        assert!(split_repayment(1_350, 150, &[500, 400, 300]).is_some());
        assert_eq!(split_repayment(1_351, 150, &[500, 400, 300]), None);
        assert_eq!(split_repayment(1, 0, &[]), None);
    }
}
