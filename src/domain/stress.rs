//! The stress scenario of API.md ("Readiness"): what a disruption of a given severity lasting
//! a number of days would do to each material, simulated day by day from today's figures
//! under the release rules' limits, which come from `domain::policy` itself.

use super::decimal::non_negative;
use super::material::StockFigures;
use super::policy::{headroom, Policy, Severity, Tier, MAX_STRESS_DAYS};
use super::validation::{FieldError, Problems};

/// `demand_factor` is given with at most this many decimals (micro-units).
pub const FACTOR_SCALE: u32 = 6;
/// The largest `demand_factor`, in micro-units (100).
pub const MAX_FACTOR_MICROS: i64 = 100_000_000;

/// What the scenario asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    pub severity: Severity,
    /// 1..=`MAX_STRESS_DAYS`.
    pub days: u32,
    /// Multiplies each manufacturer's normal use, in units of 10^-`FACTOR_SCALE`
    /// (0..=`MAX_FACTOR_MICROS`).
    pub demand_factor_micros: i64,
}

impl Scenario {
    /// Checks the bounds of the contract; the message names the field.
    pub fn new(
        severity: Severity,
        days: u32,
        demand_factor_micros: i64,
    ) -> Result<Self, (&'static str, String)> {
        if !(1..=MAX_STRESS_DAYS).contains(&days) {
            return Err(("days", format!("must be from 1 to {MAX_STRESS_DAYS}")));
        }
        if !(0..=MAX_FACTOR_MICROS).contains(&demand_factor_micros) {
            return Err(("demand_factor", "must be from 0 to 100".into()));
        }
        Ok(Self {
            severity,
            days,
            demand_factor_micros,
        })
    }

    /// The scenario a request describes: `severity` one of the three, `days` 1–3650,
    /// `demand_factor` a decimal 0–100 with at most 6 decimals (default 1).
    pub fn parse(
        severity: &str,
        days: i64,
        demand_factor: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        let severity = p.check("severity", severity.parse::<Severity>());
        let days = p.check(
            "days",
            u32::try_from(days)
                .ok()
                .filter(|d| (1..=MAX_STRESS_DAYS).contains(d))
                .ok_or(format!("must be from 1 to {MAX_STRESS_DAYS}")),
        );
        let factor = p.check(
            "demand_factor",
            non_negative(demand_factor.unwrap_or("1"), FACTOR_SCALE).and_then(|f| {
                if f > MAX_FACTOR_MICROS {
                    Err("must be from 0 to 100".into())
                } else {
                    Ok(f)
                }
            }),
        );
        p.finish(|| Scenario::new(severity?, days?, factor?).ok())
    }
}

/// One manufacturer's allocation of the material, as it stands today (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Participant {
    pub tier: Tier,
    /// Suspended manufacturers ask for nothing.
    pub active: bool,
    pub allocation: i64,
    pub outstanding: i64,
    pub held: i64,
    pub monthly_consumption: i64,
}

/// Demand, service and shortfall over the scenario. Sums over days and manufacturers may
/// pass what a stored figure holds, hence i128.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flow {
    pub demand: i128,
    pub served: i128,
}

impl Flow {
    pub fn shortfall(&self) -> i128 {
        self.demand - self.served
    }

    fn add(&mut self, other: Flow) {
        self.demand += other.demand;
        self.served += other.served;
    }

    fn times(self, n: u32) -> Flow {
        Flow {
            demand: self.demand * i128::from(n),
            served: self.served * i128::from(n),
        }
    }
}

/// What the scenario does to one material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub total: Flow,
    /// Defense, critical, commercial (the order of `Tier::ALL`).
    pub by_tier: [Flow; 3],
    pub days_fully_served: u32,
    /// The first day (1-based) with a shortfall.
    pub exhausted_on_day: Option<u32>,
    pub available_after: i64,
    pub releasable_after: i64,
}

/// One manufacturer during the scenario.
struct Asker {
    tier: usize,
    /// Its demand each day.
    daily: i128,
    /// What rule 4 still leaves it.
    room: i64,
    /// What it was given on the last day simulated.
    given: i128,
}

/// A manufacturer's demand for a day: its normal use for 30 days ÷ 30 × the factor,
/// rounded down to the material's minor unit.
pub fn daily_demand(monthly_consumption: i64, demand_factor_micros: i64) -> i128 {
    let per_month = i128::from(monthly_consumption) * i128::from(demand_factor_micros);
    per_month.div_euclid(30 * 10i128.pow(FACTOR_SCALE))
}

/// Runs the scenario over one material. A day that gives every manufacturer all it asks
/// or nothing, and cuts no tier while stock is left to share, repeats until some room runs
/// out, so those days are counted at once: time is O(participants²) at worst, not
/// O(days × participants).
pub fn simulate(
    policy: &Policy,
    scenario: &Scenario,
    stock: StockFigures,
    participants: &[Participant],
) -> Outcome {
    run(policy, scenario, stock, participants, true)
}

/// `simulate`, counting repeated days at once or (`skip` false, for tests) one by one.
fn run(
    policy: &Policy,
    scenario: &Scenario,
    stock: StockFigures,
    participants: &[Participant],
    skip: bool,
) -> Outcome {
    let s = scenario.severity;
    let mut askers: Vec<Asker> = participants
        .iter()
        .filter(|p| p.active && p.allocation > 0)
        .map(|p| Asker {
            tier: tier_index(p.tier),
            daily: daily_demand(p.monthly_consumption, scenario.demand_factor_micros),
            room: headroom(
                policy.allocation_limit(s, p.allocation),
                &[p.outstanding, p.held],
            ),
            given: 0,
        })
        .collect();
    let mut available = stock.available();
    // Rule 5 for a limited disruption: 0.30 × today's on hand, less what the scenario served.
    let mut cap_room = policy.disruption_cap(s, stock.on_hand);
    let mut out = Outcome {
        total: Flow::default(),
        by_tier: [Flow::default(); 3],
        days_fully_served: scenario.days,
        exhausted_on_day: None,
        available_after: available,
        releasable_after: 0,
    };
    let mut day = 1;
    while day <= scenario.days {
        let mut today = [Flow::default(); 3];
        let mut cut = false;
        // A tier cut while stock was left to share: tomorrow will differ.
        let mut shared = false;
        // Σ served up to and including each tier, for the stock needed to repeat the day.
        let mut needs: Vec<i128> = Vec::new();
        for (t, tier) in Tier::ALL.into_iter().enumerate() {
            let members = askers.iter_mut().filter(|a| a.tier == t);
            if cut {
                today[t].demand = members
                    .map(|a| {
                        a.given = 0;
                        a.daily
                    })
                    .sum();
                continue;
            }
            let min_after = policy.min_available_after(s, tier, stock.strategic_floor);
            let stock_room = headroom(available, &[min_after]);
            let pool = cap_room.map_or(stock_room, |c| c.min(stock_room));
            let (flow, short) = serve_tier(members.collect(), pool);
            // `served` is at most `pool`, within both rooms.
            let served = i64::try_from(flow.served).unwrap_or(i64::MAX);
            available -= served;
            cap_room = cap_room.map(|c| c - served);
            today[t] = flow;
            cut = short;
            shared |= short && pool > 0;
            if flow.served > 0 {
                let before: i128 = today[..t].iter().map(|f| f.served).sum();
                needs.push(i128::from(min_after) + before + flow.served);
            }
        }
        let short_today = today.iter().any(|f| f.served < f.demand);
        if short_today && out.exhausted_on_day.is_none() {
            out.exhausted_on_day = Some(day);
            out.days_fully_served = day - 1;
        }
        let left = scenario.days - day;
        let again = if skip && !shared {
            same_days_ahead(&askers, &needs, available, cap_room).min(left)
        } else {
            0
        };
        if again > 0 {
            let k = i128::from(again);
            for a in askers.iter_mut() {
                // Within the room, by `same_days_ahead`.
                a.room -= i64::try_from(a.given * k).unwrap_or(a.room);
            }
            let served: i128 = today.iter().map(|f| f.served).sum::<i128>() * k;
            let served = i64::try_from(served).unwrap_or(available);
            available -= served;
            cap_room = cap_room.map(|c| c - served);
        }
        for (t, flow) in today.into_iter().enumerate() {
            out.by_tier[t].add(flow.times(again + 1));
        }
        day += again + 1;
    }
    for flow in out.by_tier {
        out.total.add(flow);
    }
    out.available_after = available;
    out.releasable_after = StockFigures {
        on_hand: available,
        held: 0,
        strategic_floor: stock.strategic_floor,
    }
    .releasable();
    out
}

/// How many more days would serve exactly as the last one did (each manufacturer its whole
/// demand or nothing, no tier cut while stock was left): as long as each served
/// manufacturer's room, the stock above each served tier's minimum (`needs`: that minimum
/// plus what it and the tiers before it take a day) and the cap cover another such day.
/// Manufacturers given nothing stay at nothing: their room or their tier's pool is spent.
fn same_days_ahead(askers: &[Asker], needs: &[i128], available: i64, cap_room: Option<i64>) -> u32 {
    if askers.iter().any(|a| a.given != 0 && a.given != a.daily) {
        return 0;
    }
    let per_day: i128 = askers.iter().map(|a| a.given).sum();
    // How many more days a figure `have` covers a need of `need`, falling by `step` a day.
    let days = |have: i128, need: i128, step: i128| -> i128 {
        if have < need {
            0
        } else if step == 0 {
            i128::MAX
        } else {
            (have - need) / step + 1
        }
    };
    let mut ahead = i128::MAX;
    for a in askers.iter().filter(|a| a.given > 0) {
        ahead = ahead.min(days(i128::from(a.room), a.given, a.given));
    }
    for need in needs {
        ahead = ahead.min(days(i128::from(available), *need, per_day));
    }
    if let Some(cap) = cap_room {
        ahead = ahead.min(days(i128::from(cap), per_day, per_day));
    }
    u32::try_from(ahead).unwrap_or(u32::MAX)
}

fn tier_index(tier: Tier) -> usize {
    Tier::ALL.iter().position(|t| *t == tier).unwrap_or(0)
}

impl Outcome {
    /// The demand and service of one tier.
    pub fn tier(&self, tier: Tier) -> Flow {
        self.by_tier[tier_index(tier)]
    }
}

/// Serves one tier's day from `pool`: each member at most its demand and its rule-4 room.
/// When the pool cannot give every member that, it is shared in proportion to what each
/// could be served (rounded down, the units left one each in order) and the tier is cut
/// (`true`: the tiers after it get nothing that day).
fn serve_tier(mut members: Vec<&mut Asker>, pool: i64) -> (Flow, bool) {
    let wants: Vec<i128> = members
        .iter()
        .map(|a| a.daily.min(i128::from(a.room)))
        .collect();
    let demand: i128 = members.iter().map(|a| a.daily).sum();
    let want: i128 = wants.iter().sum();
    let pool = i128::from(pool.max(0));
    let short = want > pool;
    let gives: Vec<i128> = if short {
        // Each want is at most an i64 (its room), as is the pool: the product fits an i128.
        let mut gives: Vec<i128> = wants.iter().map(|w| pool * w / want).collect();
        let mut left = pool - gives.iter().sum::<i128>();
        for (g, w) in gives.iter_mut().zip(&wants) {
            if left == 0 {
                break;
            }
            if *g < *w {
                *g += 1;
                left -= 1;
            }
        }
        gives
    } else {
        wants
    };
    for (a, g) in members.iter_mut().zip(&gives) {
        // A give is at most the member's room, an i64.
        a.room -= i64::try_from(*g).unwrap_or(a.room);
        a.given = *g;
    }
    let served = gives.iter().sum();
    (Flow { demand, served }, short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::parse(&crate::domain::policy::tests::defaults()).unwrap()
    }

    fn one(tier: Tier, allocation: i64, monthly: i64) -> Participant {
        Participant {
            tier,
            active: true,
            allocation,
            outstanding: 0,
            held: 0,
            monthly_consumption: monthly,
        }
    }

    fn stock(on_hand: i64, strategic_floor: i64) -> StockFigures {
        StockFigures {
            on_hand,
            held: 0,
            strategic_floor,
        }
    }

    fn run(sev: Severity, days: u32, factor: i64, st: StockFigures, p: &[Participant]) -> Outcome {
        let sc = Scenario::new(sev, days, factor * 1_000_000).unwrap();
        simulate(&policy(), &sc, st, p)
    }

    fn flow(demand: i128, served: i128) -> Flow {
        Flow { demand, served }
    }

    /// Defense asks 10 a day, commercial 20 a day (monthly 300 and 600), 590 above the floor:
    /// 19 days of 30, then on day 20 defense in full and commercial 10 of its 20, then
    /// nothing.
    #[test]
    fn a_tier_served_in_full_while_the_next_is_cut() {
        let p = [
            one(Tier::Defense, 100_000, 300),
            one(Tier::Commercial, 100_000, 600),
        ];
        let o = run(Severity::Severe, 25, 1, stock(990, 400), &p);
        assert_eq!(o.exhausted_on_day, Some(20));
        assert_eq!(o.days_fully_served, 19);
        assert_eq!(o.by_tier[0], flow(250, 200), "defense: 20 days of 10");
        assert_eq!(o.by_tier[2], flow(500, 390), "commercial: 19 × 20 + 10");
        assert_eq!(o.total, flow(750, 590));
        assert_eq!(o.available_after, 400);
        assert_eq!(o.releasable_after, 0);
        // One day only, with 20 above the floor: defense's 10 in full, commercial 10 of 20.
        let o = run(Severity::Severe, 1, 1, stock(420, 400), &p);
        assert_eq!(o.by_tier[0], flow(10, 10));
        assert_eq!(o.by_tier[2], flow(20, 10));
        assert_eq!(o.exhausted_on_day, Some(1));
        assert_eq!(o.days_fully_served, 0);
    }

    #[test]
    fn a_limited_disruption_stopped_by_its_cap() {
        // Cap 0.30 × 1000 = 300; 100 a day (monthly 3000) with ample allocation and stock.
        let p = [one(Tier::Critical, 1_000_000, 3_000)];
        let o = run(Severity::Limited, 5, 1, stock(1_000, 0), &p);
        assert_eq!(o.total, flow(500, 300));
        assert_eq!(o.exhausted_on_day, Some(4));
        assert_eq!(o.days_fully_served, 3);
        assert_eq!(o.available_after, 700);
        assert_eq!(o.releasable_after, 700);
        // Severe has no cap: all five days served.
        let o = run(Severity::Severe, 5, 1, stock(1_000, 0), &p);
        assert_eq!(o.total, flow(500, 500));
        assert_eq!(o.exhausted_on_day, None);
    }

    #[test]
    fn a_critical_disruption_where_only_defense_goes_below_the_floor() {
        // 500 on hand, floor 400: 100 above it. Defense 30 a day, critical 30 a day.
        let p = [
            one(Tier::Defense, 1_000_000, 900),
            one(Tier::Critical, 1_000_000, 900),
        ];
        let o = run(Severity::Critical, 10, 1, stock(500, 400), &p);
        // Day 1: 60 (440 left); day 2: defense 30 (410), critical 10 (400), cut.
        // Days 3–10: defense 30 a day from the floor's stock, critical nothing.
        assert_eq!(o.by_tier[0], flow(300, 300), "defense never short");
        assert_eq!(o.by_tier[1], flow(300, 40));
        assert_eq!(o.exhausted_on_day, Some(2));
        assert_eq!(o.available_after, 500 - 340);
        assert!(o.available_after < 400, "below the floor, by defense alone");
        // The same under severe: nobody goes below the floor.
        let o = run(Severity::Severe, 10, 1, stock(500, 400), &p);
        assert_eq!(o.available_after, 400);
        assert_eq!(o.by_tier[0], flow(300, 60));
        assert_eq!(o.by_tier[1], flow(300, 40));
    }

    #[test]
    fn a_manufacturer_capped_by_its_allocation_share() {
        // Limited: share 0.5 of 101 = 50, less 20 outstanding and 5 held: 25 left.
        let mut p = one(Tier::Commercial, 101, 300);
        p.outstanding = 20;
        p.held = 5;
        let o = run(Severity::Limited, 5, 1, stock(1_000_000, 0), &[p]);
        // 10 a day: days 1, 2 in full, day 3 gets 5, then nothing.
        assert_eq!(o.total, flow(50, 25));
        assert_eq!(o.exhausted_on_day, Some(3));
        assert_eq!(o.days_fully_served, 2);
    }

    #[test]
    fn demand_factor_zero_and_three() {
        let p = [one(Tier::Defense, 1_000_000, 301)];
        // Factor 0: no demand, nothing served, nothing short.
        let o = run(Severity::Severe, 3650, 0, stock(1_000, 0), &p);
        assert_eq!(o.total, flow(0, 0));
        assert_eq!(o.exhausted_on_day, None);
        assert_eq!(o.days_fully_served, 3650);
        assert_eq!(o.available_after, 1_000);
        // Factor 3: floor(301 × 3 / 30) = 30 a day; 1000 lasts 33 days and 10.
        let o = run(Severity::Severe, 40, 3, stock(1_000, 0), &p);
        assert_eq!(o.total, flow(1_200, 1_000));
        assert_eq!(o.exhausted_on_day, Some(34));
        assert_eq!(o.days_fully_served, 33);
        assert_eq!(o.available_after, 0);
    }

    #[test]
    fn daily_demand_rounds_down_to_the_minor_unit() {
        assert_eq!(daily_demand(29, 1_000_000), 0);
        assert_eq!(daily_demand(301, 1_500_000), 15, "301 × 1.5 / 30 = 15.05");
        assert_eq!(
            daily_demand(i64::MAX, MAX_FACTOR_MICROS),
            i128::from(i64::MAX) * 100 / 30,
            "wider than a stored figure, not wrapped"
        );
    }

    #[test]
    fn a_short_tier_shares_in_proportion() {
        // 10 above the floor, two commercial manufacturers asking 10 and 30 a day.
        let p = [
            one(Tier::Commercial, 1_000_000, 300),
            one(Tier::Commercial, 1_000_000, 900),
        ];
        let o = run(Severity::Severe, 1, 1, stock(10, 0), &p);
        assert_eq!(o.total, flow(40, 10));
        assert_eq!(o.available_after, 0);
    }

    #[test]
    fn suspended_and_unallocated_manufacturers_ask_nothing() {
        let mut suspended = one(Tier::Defense, 1_000, 300);
        suspended.active = false;
        let o = run(
            Severity::Severe,
            3,
            1,
            stock(100, 0),
            &[suspended, one(Tier::Defense, 0, 300)],
        );
        assert_eq!(o.total, flow(0, 0));
    }

    #[test]
    fn bounds_are_checked() {
        assert_eq!(Scenario::new(Severity::Severe, 0, 0).unwrap_err().0, "days");
        assert_eq!(
            Scenario::new(Severity::Severe, 3651, 0).unwrap_err().0,
            "days"
        );
        assert_eq!(
            Scenario::new(Severity::Severe, 1, MAX_FACTOR_MICROS + 1)
                .unwrap_err()
                .0,
            "demand_factor"
        );
        assert!(Scenario::new(Severity::Severe, 3650, MAX_FACTOR_MICROS).is_ok());
        let fields = |r: Result<Scenario, Vec<FieldError>>| -> Vec<String> {
            r.unwrap_err().into_iter().map(|e| e.field).collect()
        };
        assert_eq!(
            fields(Scenario::parse("dire", -1, Some("100.5"))),
            ["severity", "days", "demand_factor"]
        );
        assert_eq!(
            fields(Scenario::parse("severe", 10, Some("0.0000001"))),
            ["demand_factor"]
        );
        let sc = Scenario::parse("limited", 3650, None).unwrap();
        assert_eq!(sc.demand_factor_micros, 1_000_000);
        assert_eq!(
            Scenario::parse("critical", 1, Some("2.5"))
                .unwrap()
                .demand_factor_micros,
            2_500_000
        );
    }

    #[test]
    fn the_benchmark_reserve_runs_in_bounded_time() {
        // 300 manufacturers over 3650 days, each exhausting its own share on a different day
        // (the worst case for counting repeated days at once), stock that never runs out.
        let p: Vec<Participant> = (0..300)
            .map(|i| one(Tier::ALL[i % 3], 1_000 + 37 * i as i64, 3_000))
            .collect();
        let started = std::time::Instant::now();
        let o = run(Severity::Severe, 3650, 1, stock(i64::MAX / 2, 0), &p);
        let elapsed = started.elapsed();
        assert_eq!(o.total.demand, 300 * 100 * 3650);
        let shares: i64 = p.iter().map(|p| p.allocation).sum();
        assert_eq!(
            o.total.served,
            i128::from(shares),
            "each served its whole share"
        );
        assert_eq!(
            o.exhausted_on_day,
            Some(11),
            "the first share (1000) lasts 10 days"
        );
        assert!(
            elapsed < std::time::Duration::from_millis(500),
            "{elapsed:?}"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn severity() -> impl Strategy<Value = Severity> {
        prop_oneof![
            Just(Severity::Limited),
            Just(Severity::Severe),
            Just(Severity::Critical)
        ]
    }

    fn participant() -> impl Strategy<Value = Participant> {
        (
            0..3usize,
            any::<bool>(),
            0..5_000i64,
            0..500i64,
            0..500i64,
            0..3_000i64,
        )
            .prop_map(
                |(t, active, allocation, outstanding, held, monthly)| Participant {
                    tier: Tier::ALL[t],
                    active,
                    allocation,
                    outstanding,
                    held,
                    monthly_consumption: monthly,
                },
            )
    }

    proptest! {
        #[test]
        fn the_scenario_keeps_every_rule(
            sev in severity(),
            waiver in any::<bool>(),
            days in 1..200u32,
            factor in 0..=5_000_000i64,
            on_hand in 0..20_000i64,
            held in 0..2_000i64,
            floor in 0..10_000i64,
            participants in prop::collection::vec(participant(), 0..8),
        ) {
            let policy = Policy {
                share_limited: Decimal::new(5, 1),
                share_severe: Decimal::ONE,
                share_critical: Decimal::ONE,
                limited_cap_share: Decimal::new(30, 2),
                floor_waiver: waiver,
                dual_approval_threshold_cents: 0,
                replenish_premium: Decimal::ZERO,
                replenish_term_days: 1,
                target_days_of_cover: 60,
                concentration_alert_share: Decimal::ONE,
                deferral_premium_per_year: Decimal::ZERO,
                carrying_fee_rate: crate::domain::values::Rate(0),
            };
            let stock = StockFigures { on_hand, held: held.min(on_hand), strategic_floor: floor };
            let sc = Scenario::new(sev, days, factor).unwrap();
            let o = simulate(&policy, &sc, stock, &participants);
            prop_assert_eq!(&o, &run(&policy, &sc, stock, &participants, false), "counting repeated days at once changes nothing");
            let mut sum = Flow::default();
            for f in o.by_tier {
                prop_assert!(f.served >= 0 && f.served <= f.demand);
                prop_assert_eq!(f.served + f.shortfall(), f.demand);
                sum.add(f);
            }
            prop_assert_eq!(sum, o.total);
            prop_assert!(o.total.served <= o.total.demand);
            prop_assert!(o.available_after >= 0);
            prop_assert_eq!(i128::from(o.available_after), i128::from(stock.available()) - o.total.served);
            let waived = policy.floor_waived(sev, Tier::Defense)
                && participants.iter().any(|p| p.tier == Tier::Defense && p.active && p.allocation > 0);
            if !waived && o.total.served > 0 {
                prop_assert!(o.available_after >= floor);
            }
            if let Some(cap) = policy.disruption_cap(sev, on_hand) {
                prop_assert!(o.total.served <= i128::from(cap));
            }
            for p in participants.iter().filter(|p| p.active && p.allocation > 0) {
                let each = daily_demand(p.monthly_consumption, factor) * i128::from(days);
                prop_assert!(each <= o.total.demand);
            }
            match o.exhausted_on_day {
                Some(d) => prop_assert_eq!(o.days_fully_served, d - 1),
                None => {
                    prop_assert_eq!(o.days_fully_served, days);
                    prop_assert_eq!(o.total.served, o.total.demand);
                }
            }
        }
    }
}
