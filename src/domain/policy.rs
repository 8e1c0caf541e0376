//! Release-policy values (API.md, release rules), read from `[policy]` in config.

use super::decimal::parse_fixed;
use rust_decimal::Decimal;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Share of an allocation drawable under a `limited` / `severe` / `critical` disruption.
    pub share_limited: Decimal,
    pub share_severe: Decimal,
    pub share_critical: Decimal,
    /// Cap of a limited disruption, as a share of on-hand stock at activation.
    pub limited_cap_share: Decimal,
    /// Whether a defense-tier manufacturer may go below the floor in a critical disruption.
    pub floor_waiver: bool,
    /// Two approvals from this value (USD cents) up.
    pub dual_approval_threshold_cents: i64,
    /// Extra share to return on replenishment.
    pub replenish_premium: Decimal,
    pub replenish_term_days: u32,
}

/// The raw text form of the policy values, as configuration holds them.
#[derive(Debug, Clone)]
pub struct PolicyText<'a> {
    pub share_limited: &'a str,
    pub share_severe: &'a str,
    pub share_critical: &'a str,
    pub limited_cap_share: &'a str,
    pub floor_waiver: bool,
    pub dual_approval_threshold_usd: &'a str,
    pub replenish_premium: &'a str,
    pub replenish_term_days: u32,
}

impl Policy {
    pub fn parse(t: &PolicyText<'_>) -> Result<Self, String> {
        let share = |name: &str, v: &str| -> Result<Decimal, String> {
            let d =
                Decimal::from_str_exact(v).map_err(|_| format!("policy.{name}: not a decimal"))?;
            if d <= Decimal::ZERO || d > Decimal::ONE {
                return Err(format!("policy.{name}: must be in (0, 1]"));
            }
            Ok(d)
        };
        let premium = Decimal::from_str(t.replenish_premium)
            .ok()
            .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE)
            .ok_or("policy.replenish_premium: must be a decimal in [0, 1]")?;
        let threshold = parse_fixed(t.dual_approval_threshold_usd, 2)
            .ok()
            .filter(|c| *c >= 0)
            .ok_or("policy.dual_approval_threshold_usd: must be a non-negative USD amount")?;
        if t.replenish_term_days == 0 {
            return Err("policy.replenish_term_days: must be at least 1".into());
        }
        Ok(Policy {
            share_limited: share("share_limited", t.share_limited)?,
            share_severe: share("share_severe", t.share_severe)?,
            share_critical: share("share_critical", t.share_critical)?,
            limited_cap_share: share("limited_cap_share", t.limited_cap_share)?,
            floor_waiver: t.floor_waiver,
            dual_approval_threshold_cents: threshold,
            replenish_premium: premium,
            replenish_term_days: t.replenish_term_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> PolicyText<'static> {
        PolicyText {
            share_limited: "0.5",
            share_severe: "1.0",
            share_critical: "1.0",
            limited_cap_share: "0.30",
            floor_waiver: true,
            dual_approval_threshold_usd: "25000000.00",
            replenish_premium: "0.05",
            replenish_term_days: 365,
        }
    }

    #[test]
    fn parses_the_api_defaults() {
        let p = Policy::parse(&defaults()).unwrap();
        assert_eq!(p.share_limited, Decimal::new(5, 1));
        assert_eq!(p.dual_approval_threshold_cents, 2_500_000_000);
        assert_eq!(p.replenish_premium, Decimal::new(5, 2));
    }

    #[test]
    fn refuses_out_of_range_values() {
        let mut t = defaults();
        t.share_limited = "1.5";
        assert!(Policy::parse(&t).is_err());
        let mut t = defaults();
        t.dual_approval_threshold_usd = "1.001";
        assert!(Policy::parse(&t).is_err());
        let mut t = defaults();
        t.replenish_term_days = 0;
        assert!(Policy::parse(&t).is_err());
    }
}
