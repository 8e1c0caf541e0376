//! Release-policy values (API.md, release rules), read from `[policy]` in config.

use super::decimal::parse_fixed;
use super::error_code::ErrorCode;
use super::loan::parse_rate;
use super::values::Rate;
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
    /// Added to an obligation moved later: this share of the base quantity still due per year moved.
    pub deferral_premium_per_year: Decimal,
    /// The days of cover each material should reach (the cover report's `meets_target`).
    pub target_days_of_cover: u32,
    /// A material whose leading origin holds at least this share of it is flagged.
    pub concentration_alert_share: Decimal,
    /// The yearly share of an allocation's locked value charged as carrying fees.
    pub carrying_fee_rate: Rate,
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
    pub deferral_premium_per_year: &'a str,
    pub target_days_of_cover: u32,
    pub concentration_alert_share: &'a str,
    pub carrying_fee_rate: &'a str,
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
        let deferral = Decimal::from_str_exact(t.deferral_premium_per_year)
            .ok()
            .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE && d.scale() <= 6)
            .ok_or(
                "policy.deferral_premium_per_year: must be a decimal in [0, 1] with at most 6 \
                 decimals",
            )?;
        let carrying = parse_rate(t.carrying_fee_rate)
            .map_err(|e| format!("policy.carrying_fee_rate: {e}"))?;
        let threshold = parse_fixed(t.dual_approval_threshold_usd, 2)
            .ok()
            .filter(|c| *c >= 0)
            .ok_or("policy.dual_approval_threshold_usd: must be a non-negative USD amount")?;
        if t.replenish_term_days == 0 {
            return Err("policy.replenish_term_days: must be at least 1".into());
        }
        if t.target_days_of_cover == 0 || t.target_days_of_cover > MAX_STRESS_DAYS {
            return Err(format!(
                "policy.target_days_of_cover: must be from 1 to {MAX_STRESS_DAYS}"
            ));
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
            deferral_premium_per_year: deferral,
            target_days_of_cover: t.target_days_of_cover,
            concentration_alert_share: share(
                "concentration_alert_share",
                t.concentration_alert_share,
            )?,
            carrying_fee_rate: Rate(carrying),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The API.md defaults, for tests.
    pub(crate) fn defaults() -> PolicyText<'static> {
        PolicyText {
            share_limited: "0.5",
            share_severe: "1.0",
            share_critical: "1.0",
            limited_cap_share: "0.30",
            floor_waiver: true,
            dual_approval_threshold_usd: "25000000.00",
            replenish_premium: "0.05",
            replenish_term_days: 365,
            deferral_premium_per_year: "0.05",
            target_days_of_cover: 60,
            concentration_alert_share: "0.5",
            carrying_fee_rate: "0.02",
        }
    }

    #[test]
    fn parses_the_api_defaults() {
        let p = Policy::parse(&defaults()).unwrap();
        assert_eq!(p.share_limited, Decimal::new(5, 1));
        assert_eq!(p.dual_approval_threshold_cents, 2_500_000_000);
        assert_eq!(p.replenish_premium, Decimal::new(5, 2));
        assert_eq!(p.target_days_of_cover, 60);
        assert_eq!(p.concentration_alert_share, Decimal::new(5, 1));
        assert_eq!(p.carrying_fee_rate, Rate(20_000_000));
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
        let mut t = defaults();
        t.target_days_of_cover = 0;
        assert!(Policy::parse(&t).is_err());
        let mut t = defaults();
        t.concentration_alert_share = "0";
        assert!(Policy::parse(&t).is_err());
        for bad in ["1.01", "-0.01", "0.0000000001", "2%"] {
            let mut t = defaults();
            t.carrying_fee_rate = bad;
            assert!(Policy::parse(&t).is_err(), "{bad}");
        }
        let mut t = defaults();
        t.carrying_fee_rate = "0";
        assert_eq!(Policy::parse(&t).unwrap().carrying_fee_rate, Rate(0));
    }
}

/// Severity of a declared disruption, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Limited,
    Severe,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Limited, Severity::Severe, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Limited => "limited",
            Severity::Severe => "severe",
            Severity::Critical => "critical",
        }
    }
}

super::values::closed_set!(Severity, super::formats::Severity, "Severity");

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "limited" => Ok(Severity::Limited),
            "severe" => Ok(Severity::Severe),
            "critical" => Ok(Severity::Critical),
            _ => Err("must be one of limited, severe, critical".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Defense,
    Critical,
    Commercial,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Defense, Tier::Critical, Tier::Commercial];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Defense => "defense",
            Tier::Critical => "critical",
            Tier::Commercial => "commercial",
        }
    }
}

super::values::closed_set!(Tier, super::formats::PriorityTier, "PriorityTier");

impl FromStr for Tier {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "defense" => Ok(Tier::Defense),
            "critical" => Ok(Tier::Critical),
            "commercial" => Ok(Tier::Commercial),
            _ => Err("must be one of defense, critical, commercial".into()),
        }
    }
}

impl Policy {
    pub fn share(&self, s: Severity) -> Decimal {
        match s {
            Severity::Limited => self.share_limited,
            Severity::Severe => self.share_severe,
            Severity::Critical => self.share_critical,
        }
    }

    /// Rule 4's limit: how much of `allocation` may be outstanding and held under a
    /// disruption of severity `s`.
    pub fn allocation_limit(&self, s: Severity, allocation: i64) -> i64 {
        floor_share(self.share(s), allocation)
    }

    /// Rule 5's cap: how much may be released and held under a disruption of severity `s`
    /// whose material had `on_hand` at activation; `None` beyond `limited`.
    pub fn disruption_cap(&self, s: Severity, on_hand: i64) -> Option<i64> {
        (s == Severity::Limited).then(|| floor_share(self.limited_cap_share, on_hand))
    }

    /// Rule 7's waiver: whether a manufacturer of `tier` may go below the strategic floor
    /// under a disruption of severity `s`.
    pub fn floor_waived(&self, s: Severity, tier: Tier) -> bool {
        self.floor_waiver && s == Severity::Critical && tier == Tier::Defense
    }

    /// Rules 6 and 7: the least `available` may be left at after a release (the floor, or 0
    /// when waived).
    pub fn min_available_after(&self, s: Severity, tier: Tier, strategic_floor: i64) -> i64 {
        if self.floor_waived(s, tier) {
            0
        } else {
            strategic_floor
        }
    }
}

/// The most a stress scenario may last, in days (API.md); also bounds the cover target.
pub const MAX_STRESS_DAYS: u32 = 3650;

/// What is left of `limit` once `used` (each zero or more) is counted: `limit - Σ used`, or
/// 0 when nothing is. A positive quantity passes a rule's limit exactly when it is greater
/// than this. Sums in i128: quantities near i64::MAX are valid input and must not wrap.
pub fn headroom(limit: i64, used: &[i64]) -> i64 {
    let left = i128::from(limit) - used.iter().map(|u| i128::from(*u)).sum::<i128>();
    // Within [0, limit] when every `used` is non-negative.
    i64::try_from(left.max(0)).unwrap_or(i64::MAX)
}

/// `floor(share × quantity)`: the largest whole number of minor units within the share.
/// Shares are in (0, 1] (`Policy::parse`), so the result lies in [0, quantity] and always
/// fits; the assertion states that invariant rather than capping a figure.
fn floor_share(share: Decimal, quantity: i64) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    assert!(
        share >= Decimal::ZERO && share <= Decimal::ONE,
        "a policy share is in [0, 1]"
    );
    (share * Decimal::from(quantity))
        .floor()
        .to_i64()
        .expect("a share in [0, 1] of an i64 is an i64")
}

/// What the release rules look at, in minor units of the material.
#[derive(Debug, Clone)]
pub struct Facts {
    pub requested: i64,
    /// The active disruption covering the material with the highest severity.
    pub disruption: Option<DisruptionFacts>,
    /// None when the token's organisation names no manufacturer.
    pub manufacturer: Option<ManufacturerFacts>,
    pub allocation: Option<AllocationFacts>,
    /// The manufacturer's earliest overdue obligation, if any.
    pub overdue: Option<OverdueFacts>,
    pub available: i64,
    pub strategic_floor: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct DisruptionFacts {
    pub severity: Severity,
    pub on_hand_at_activation: i64,
    pub released_under: i64,
    pub held_under: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct ManufacturerFacts {
    pub suspended: bool,
    pub tier: Tier,
}

#[derive(Debug, Clone, Copy)]
pub struct AllocationFacts {
    pub quantity: i64,
    pub outstanding: i64,
    pub held: i64,
}

#[derive(Debug, Clone)]
pub struct OverdueFacts {
    pub obligation_id: String,
    pub due_date: chrono::NaiveDate,
    pub remaining: i64,
}

/// The rule that refused a request and the figures that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoActiveDisruption,
    NotEligible {
        suspended: bool,
        allocation: i64,
    },
    ObligationOverdue {
        obligation_id: String,
        due_date: chrono::NaiveDate,
        remaining: i64,
    },
    AllocationExceeded {
        requested: i64,
        outstanding: i64,
        held: i64,
        allocation: i64,
        share: Decimal,
        limit: i64,
    },
    DisruptionCapExceeded {
        requested: i64,
        released_under: i64,
        held_under: i64,
        on_hand_at_activation: i64,
        cap_share: Decimal,
        cap: i64,
    },
    InsufficientStock {
        requested: i64,
        available: i64,
    },
    FloorBreach {
        requested: i64,
        available: i64,
        strategic_floor: i64,
    },
}

impl Refusal {
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::NoActiveDisruption => ErrorCode::NoActiveDisruption,
            Refusal::NotEligible { .. } => ErrorCode::NotEligible,
            Refusal::ObligationOverdue { .. } => ErrorCode::ObligationOverdue,
            Refusal::AllocationExceeded { .. } => ErrorCode::AllocationExceeded,
            Refusal::DisruptionCapExceeded { .. } => ErrorCode::DisruptionCapExceeded,
            Refusal::InsufficientStock { .. } => ErrorCode::InsufficientStock,
            Refusal::FloorBreach { .. } => ErrorCode::FloorBreach,
        }
    }
}

/// What an accepted request was decided under: the limits its holds must respect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub severity: Severity,
    pub share: Decimal,
    /// q + outstanding + held may not exceed this.
    pub allocation_limit: i64,
    /// Limited disruptions: q + released + held under the disruption may not exceed this.
    pub cap: Option<i64>,
    /// `available` after the hold may not fall below this (the floor, or 0 when waived).
    pub min_available_after: i64,
    pub floor_waived: bool,
}

/// The release rules of API.md, checked in their order; the first that fails refuses. The
/// requested quantity is positive (`lot::positive_quantity`).
pub fn check_release(p: &Policy, f: &Facts) -> Result<Decision, Refusal> {
    let d = f.disruption.ok_or(Refusal::NoActiveDisruption)?;
    let allocation = f.allocation.filter(|a| a.quantity > 0);
    let (m, a) = match (f.manufacturer, allocation) {
        (Some(m), Some(a)) if !m.suspended => (m, a),
        (m, a) => {
            return Err(Refusal::NotEligible {
                suspended: m.is_some_and(|m| m.suspended),
                allocation: a.map_or(0, |a| a.quantity),
            })
        }
    };
    if let Some(o) = &f.overdue {
        return Err(Refusal::ObligationOverdue {
            obligation_id: o.obligation_id.clone(),
            due_date: o.due_date,
            remaining: o.remaining,
        });
    }
    let q = f.requested;
    let share = p.share(d.severity);
    let allocation_limit = p.allocation_limit(d.severity, a.quantity);
    if q > headroom(allocation_limit, &[a.outstanding, a.held]) {
        return Err(Refusal::AllocationExceeded {
            requested: q,
            outstanding: a.outstanding,
            held: a.held,
            allocation: a.quantity,
            share,
            limit: allocation_limit,
        });
    }
    let cap = p.disruption_cap(d.severity, d.on_hand_at_activation);
    if let Some(cap) = cap {
        if q > headroom(cap, &[d.released_under, d.held_under]) {
            return Err(Refusal::DisruptionCapExceeded {
                requested: q,
                released_under: d.released_under,
                held_under: d.held_under,
                on_hand_at_activation: d.on_hand_at_activation,
                cap_share: p.limited_cap_share,
                cap,
            });
        }
    }
    if q > f.available {
        return Err(Refusal::InsufficientStock {
            requested: q,
            available: f.available,
        });
    }
    let floor_waived = p.floor_waived(d.severity, m.tier);
    let min_available_after = p.min_available_after(d.severity, m.tier, f.strategic_floor);
    if q > headroom(f.available, &[min_available_after]) {
        return Err(Refusal::FloorBreach {
            requested: q,
            available: f.available,
            strategic_floor: f.strategic_floor,
        });
    }
    Ok(Decision {
        severity: d.severity,
        share,
        allocation_limit,
        cap,
        min_available_after,
        floor_waived,
    })
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn policy() -> Policy {
        Policy::parse(&super::tests::defaults()).unwrap()
    }

    /// A request that passes every rule by a margin; tests move one figure to a boundary.
    fn facts() -> Facts {
        Facts {
            requested: 100,
            disruption: Some(DisruptionFacts {
                severity: Severity::Limited,
                on_hand_at_activation: 10_000,
                released_under: 0,
                held_under: 0,
            }),
            manufacturer: Some(ManufacturerFacts {
                suspended: false,
                tier: Tier::Commercial,
            }),
            allocation: Some(AllocationFacts {
                quantity: 1_000,
                outstanding: 0,
                held: 0,
            }),
            overdue: None,
            available: 10_000,
            strategic_floor: 1_000,
        }
    }

    fn code(f: &Facts) -> Result<Decision, &'static str> {
        check_release(&policy(), f).map_err(|r| r.code().as_str())
    }

    #[test]
    fn passes_when_every_rule_holds() {
        let d = code(&facts()).unwrap();
        assert_eq!(d.allocation_limit, 500);
        assert_eq!(d.cap, Some(3_000));
        assert_eq!(d.min_available_after, 1_000);
    }

    #[test]
    fn rule_1_no_active_disruption() {
        let mut f = facts();
        f.disruption = None;
        f.manufacturer = None;
        assert_eq!(code(&f), Err("no_active_disruption"), "checked first");
    }

    #[test]
    fn rule_2_not_eligible() {
        for tweak in [
            |f: &mut Facts| f.manufacturer = None,
            |f: &mut Facts| f.manufacturer.as_mut().unwrap().suspended = true,
            |f: &mut Facts| f.allocation = None,
            |f: &mut Facts| f.allocation.as_mut().unwrap().quantity = 0,
        ] {
            let mut f = facts();
            tweak(&mut f);
            f.overdue = Some(OverdueFacts {
                obligation_id: "o".into(),
                due_date: chrono::NaiveDate::MIN,
                remaining: 1,
            });
            assert_eq!(code(&f), Err("not_eligible"));
        }
    }

    #[test]
    fn rule_3_obligation_overdue() {
        let mut f = facts();
        f.overdue = Some(OverdueFacts {
            obligation_id: "o".into(),
            due_date: chrono::NaiveDate::MIN,
            remaining: 1,
        });
        f.requested = 1_000_000;
        assert_eq!(
            code(&f),
            Err("obligation_overdue"),
            "before the quantity rules"
        );
    }

    #[test]
    fn rule_4_allocation_at_its_boundary() {
        let mut f = facts();
        f.allocation = Some(AllocationFacts {
            quantity: 1_001,
            outstanding: 200,
            held: 100,
        });
        // floor(0.5 × 1001) = 500: 200 + 100 + 200 fits, one more does not.
        f.requested = 200;
        assert!(code(&f).is_ok());
        f.requested = 201;
        assert_eq!(code(&f), Err("allocation_exceeded"));
        let Err(Refusal::AllocationExceeded { limit, .. }) = check_release(&policy(), &f) else {
            panic!()
        };
        assert_eq!(limit, 500);
        // Severe: the whole allocation.
        f.disruption.as_mut().unwrap().severity = Severity::Severe;
        f.requested = 701;
        assert!(code(&f).is_ok());
        f.requested = 702;
        assert_eq!(code(&f), Err("allocation_exceeded"));
    }

    #[test]
    fn rule_5_limited_cap_at_its_boundary() {
        let mut f = facts();
        f.allocation.as_mut().unwrap().quantity = 100_000;
        let d = f.disruption.as_mut().unwrap();
        d.on_hand_at_activation = 1_001; // cap floor(300.3) = 300
        d.released_under = 100;
        d.held_under = 50;
        f.requested = 150;
        assert!(code(&f).is_ok());
        f.requested = 151;
        assert_eq!(code(&f), Err("disruption_cap_exceeded"));
        f.disruption.as_mut().unwrap().severity = Severity::Severe;
        assert!(code(&f).is_ok(), "no cap beyond limited");
    }

    #[test]
    fn huge_quantities_refuse_instead_of_wrapping() {
        let mut f = facts();
        f.requested = i64::MAX;
        f.allocation.as_mut().unwrap().outstanding = 1;
        assert_eq!(code(&f), Err("allocation_exceeded"));
    }

    #[test]
    fn rules_6_and_7_stock_and_floor() {
        let mut f = facts();
        f.allocation.as_mut().unwrap().quantity = 1_000_000;
        f.disruption.as_mut().unwrap().severity = Severity::Severe;
        f.available = 1_500;
        f.strategic_floor = 1_000;
        f.requested = 500;
        assert!(code(&f).is_ok());
        f.requested = 501;
        assert_eq!(code(&f), Err("floor_breach"));
        f.requested = 1_501;
        assert_eq!(code(&f), Err("insufficient_stock"), "stock before floor");
    }

    #[test]
    fn the_floor_is_waived_only_for_defense_in_a_critical_disruption() {
        let mut f = facts();
        f.allocation.as_mut().unwrap().quantity = 1_000_000;
        f.available = 1_500;
        f.requested = 1_500;
        f.disruption.as_mut().unwrap().severity = Severity::Critical;
        assert_eq!(code(&f), Err("floor_breach"), "commercial");
        f.manufacturer.as_mut().unwrap().tier = Tier::Defense;
        let d = code(&f).unwrap();
        assert!(d.floor_waived);
        assert_eq!(d.min_available_after, 0);
        f.disruption.as_mut().unwrap().severity = Severity::Severe;
        assert_eq!(code(&f), Err("floor_breach"), "severe is not enough");
        let mut p = policy();
        p.floor_waiver = false;
        f.disruption.as_mut().unwrap().severity = Severity::Critical;
        assert_eq!(
            check_release(&p, &f).map_err(|r| r.code().as_str()),
            Err("floor_breach"),
            "waiver off"
        );
    }
}

#[cfg(test)]
mod rule_properties {
    use super::*;
    use proptest::prelude::*;

    fn severity() -> impl Strategy<Value = Severity> {
        prop_oneof![
            Just(Severity::Limited),
            Just(Severity::Severe),
            Just(Severity::Critical)
        ]
    }

    fn tier() -> impl Strategy<Value = Tier> {
        prop_oneof![
            Just(Tier::Defense),
            Just(Tier::Critical),
            Just(Tier::Commercial)
        ]
    }

    fn share() -> impl Strategy<Value = Decimal> {
        (1..=100i64).prop_map(|p| Decimal::new(p, 2))
    }

    proptest! {
        /// Requests accepted one after another (each adding to what is held) never take a
        /// manufacturer past its share, a limited disruption past its cap, or the stock
        /// below the floor unless the waiver applies.
        #[test]
        fn accepted_requests_never_break_an_invariant(
            shares in (share(), share(), share(), share()),
            waiver in any::<bool>(),
            sev in severity(),
            on_hand in 0..5_000i64,
            floor in 0..3_000i64,
            manufacturers in prop::collection::vec((tier(), 0..2_000i64), 1..6),
            requests in prop::collection::vec((0..6usize, 1..800i64), 1..40),
        ) {
            let policy = Policy {
                share_limited: shares.0,
                share_severe: shares.1,
                share_critical: shares.2,
                limited_cap_share: shares.3,
                floor_waiver: waiver,
                dual_approval_threshold_cents: 0,
                replenish_premium: Decimal::ZERO,
                replenish_term_days: 1,
                deferral_premium_per_year: Decimal::ZERO,
                carrying_fee_rate: crate::domain::values::Rate(0),
                target_days_of_cover: 60,
                concentration_alert_share: Decimal::ONE,
            };
            let mut held = vec![0i64; manufacturers.len()];
            let mut held_total = 0i64;
            for (who, q) in requests {
                let who = who % manufacturers.len();
                let (tier, allocation) = manufacturers[who];
                let facts = Facts {
                    requested: q,
                    disruption: Some(DisruptionFacts {
                        severity: sev,
                        on_hand_at_activation: on_hand,
                        released_under: 0,
                        held_under: held_total,
                    }),
                    manufacturer: Some(ManufacturerFacts { suspended: false, tier }),
                    allocation: Some(AllocationFacts { quantity: allocation, outstanding: 0, held: held[who] }),
                    overdue: None,
                    available: on_hand - held_total,
                    strategic_floor: floor,
                };
                if let Ok(d) = check_release(&policy, &facts) {
                    held[who] += q;
                    held_total += q;
                    let waived = waiver && sev == Severity::Critical && tier == Tier::Defense;
                    prop_assert_eq!(d.floor_waived, waived);
                    prop_assert!(held_total <= on_hand);
                    prop_assert!(waived || on_hand - held_total >= floor);
                    let limit = policy.share(sev) * Decimal::from(allocation);
                    prop_assert!(Decimal::from(held[who]) <= limit);
                    if sev == Severity::Limited {
                        prop_assert!(Decimal::from(held_total) <= policy.limited_cap_share * Decimal::from(on_hand));
                    }
                }
            }
        }
    }
}
