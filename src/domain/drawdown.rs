//! The drawdown state machine and the arithmetic of approvals and replenishment.

use rust_decimal::Decimal;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    PendingApproval,
    PartiallyApproved,
    Released,
    Rejected,
    Cancelled,
    Expired,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::PendingApproval,
        Status::PartiallyApproved,
        Status::Released,
        Status::Rejected,
        Status::Cancelled,
        Status::Expired,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::PendingApproval => "pending_approval",
            Status::PartiallyApproved => "partially_approved",
            Status::Released => "released",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
        }
    }

    /// Open requests hold stock and may still be approved, rejected, cancelled or expired;
    /// every other state is final.
    pub fn is_open(self) -> bool {
        matches!(self, Status::PendingApproval | Status::PartiallyApproved)
    }

    /// The open states as stored, for queries.
    pub const OPEN: [&'static str; 2] = [
        Status::PendingApproval.as_str(),
        Status::PartiallyApproved.as_str(),
    ];
}

super::values::closed_set!(Status, super::formats::DrawdownStatus, "DrawdownStatus");

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown drawdown status {s:?}"))
    }
}

/// Two approvals when the value `quantity × locked price` reaches the threshold.
/// `quantity` is in 10^-scale units, the price in micro-USD per unit, the threshold in cents.
pub fn required_approvals(
    quantity: i64,
    scale: u32,
    price_micros: i64,
    threshold_cents: i64,
) -> u8 {
    // value_cents = quantity / 10^scale × price_micros / 10^6 × 100; compared exactly. A
    // product beyond i128 is certainly above any threshold.
    let value = i128::from(quantity)
        .checked_mul(i128::from(price_micros))
        .and_then(|v| v.checked_mul(100));
    let threshold = i128::from(threshold_cents) * 10i128.pow(scale + 6);
    match value {
        Some(v) if v < threshold => 1,
        _ => 2,
    }
}

/// What must come back: `approved × (1 + premium)`, rounded up to the material's scale
/// (a whole number of minor units); `None` when that cannot be stored.
pub fn quantity_due(approved: i64, premium: Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    Decimal::from(approved)
        .checked_mul(Decimal::ONE.checked_add(premium)?)?
        .ceil()
        .to_i64()
}

/// The premium for moving a due date `days` later (10 CFR 626.8(b) in spirit): `rate` a
/// year × `still_due` (the base quantity not yet returned) × `days` ÷ 365, rounded up to the material's scale (a whole number of
/// minor units), exactly; nothing for a date kept or moved earlier; `None` when it cannot be
/// stored.
pub fn deferral_premium(still_due: i64, rate: Decimal, days: i64) -> Option<i64> {
    if days <= 0 || still_due <= 0 {
        return Some(0);
    }
    let numerator = i128::from(still_due)
        .checked_mul(rate.mantissa())?
        .checked_mul(i128::from(days))?;
    let denominator = 365 * 10i128.checked_pow(rate.scale())?;
    let premium = numerator / denominator + i128::from(numerator % denominator != 0);
    i64::try_from(premium).ok()
}

/// The base part of returning `q` more, once `returned` of `due` and `base_returned` of
/// `base` have come back: what is left of the base in proportion to what is left of what is
/// due (rounded down), and all of it with the return that settles. Never negative: a due
/// quantity raised by a deferral premium only makes later returns count for less base.
pub fn base_share(q: i64, returned: i64, due: i64, base: i64, base_returned: i64) -> i64 {
    let left_base = (base - base_returned).max(0);
    let left_due = due - returned;
    if q >= left_due {
        return left_base;
    }
    i64::try_from(i128::from(left_base) * i128::from(q) / i128::from(left_due)).unwrap_or(left_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferral_costs_its_premium_rounded_up() {
        let five_percent = Decimal::new(5, 2);
        // 1000 kg (scale 3) moved 73 days later at 5 % a year: 10 kg.
        assert_eq!(deferral_premium(1_000_000, five_percent, 73), Some(10_000));
        // 1 minor unit for a day: a fraction, rounded up to one.
        assert_eq!(deferral_premium(1, five_percent, 1), Some(1));
        // 365 × 20 = 7300 minor units for a year at 5 %: exactly 365, not 366.
        assert_eq!(deferral_premium(7_300, five_percent, 365), Some(365));
        assert_eq!(deferral_premium(1_000_000, five_percent, 0), Some(0));
        assert_eq!(deferral_premium(1_000_000, five_percent, -30), Some(0));
        assert_eq!(deferral_premium(0, five_percent, 30), Some(0));
        assert_eq!(deferral_premium(1_000_000, Decimal::ZERO, 30), Some(0));
        // Beyond storage: refused, never capped.
        assert_eq!(deferral_premium(i64::MAX, Decimal::ONE, 3_000_000), None);
    }

    #[test]
    fn states() {
        assert!(Status::PendingApproval.is_open());
        assert!(Status::PartiallyApproved.is_open());
        for s in [
            Status::Released,
            Status::Rejected,
            Status::Cancelled,
            Status::Expired,
        ] {
            assert!(!s.is_open());
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn dual_approval_at_the_threshold() {
        // 500 kg (scale 3) at 50,000.00 USD/kg = 25,000,000.00 USD: exactly the threshold.
        let threshold = 2_500_000_000;
        assert_eq!(required_approvals(500_000, 3, 50_000_000_000, threshold), 2);
        assert_eq!(required_approvals(499_999, 3, 50_000_000_000, threshold), 1);
        assert_eq!(required_approvals(1, 0, 0, threshold), 1);
        assert_eq!(required_approvals(i64::MAX, 6, i64::MAX, threshold), 2);
    }

    #[test]
    fn premium_rounds_up_to_the_scale() {
        let p = Decimal::new(5, 2);
        assert_eq!(quantity_due(100_000, p), Some(105_000));
        assert_eq!(quantity_due(1, p), Some(2), "1.05 units round up to 2");
        assert_eq!(quantity_due(20, p), Some(21));
        assert_eq!(quantity_due(7, Decimal::ZERO), Some(7));
        // 9×10^18 × 1.05 is beyond an i64: refused, never capped.
        assert_eq!(quantity_due(9_000_000_000_000_000_000, p), None);
    }

    #[test]
    fn a_return_covers_its_share_of_the_base_left() {
        // 100 base, 105 due: 52 back covers 49 of the base, the rest covers the other 51.
        assert_eq!(base_share(52, 0, 105, 100, 0), 49);
        assert_eq!(base_share(53, 52, 105, 100, 49), 51);
        assert_eq!(base_share(105, 0, 105, 100, 0), 100);
        assert_eq!(base_share(0, 0, 105, 100, 0), 0);
        // Half returned (525 of 1050 covers 500), then a deferral raises what is due to
        // 1077: 1 more covers 500 × 1 / 552 = 0, never a negative share.
        assert_eq!(base_share(525, 0, 1050, 1000, 0), 500);
        assert_eq!(base_share(1, 525, 1077, 1000, 500), 0);
        assert_eq!(base_share(552, 525, 1077, 1000, 500), 500);
    }
}
