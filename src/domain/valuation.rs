//! The reserve's economics (API.md part 2, "Market prices and valuation", "Net return"): pure
//! arithmetic over balances on the effective basis, market prices and what is owed on the
//! loans. Amounts are exact integers: quantities in a material's minor units, prices in
//! micro-dollars a unit, values in cents (i128, so that no product or sum can wrap).

use super::readiness;
use num_bigint::{BigInt, Sign};

/// Decimals of the coverage ratio (rounded half-even).
pub const RATIO_SCALE: u32 = 4;

/// The value in cents of `quantity` minor units (of any sign) of a material of `scale` at
/// `price_micros` a unit, rounded half-even (a negative quantity is valued as minus the value
/// of its magnitude).
pub fn value_cents(quantity: i128, scale: u32, price_micros: i64) -> i128 {
    let magnitude = readiness::value_cents(quantity.abs(), scale, price_micros);
    if quantity < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// One material's holdings at the end of a date, and its market price then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub scale: u32,
    /// The sum of its `inventory:*:<X>` balances.
    pub on_hand: i128,
    /// The sum of its `released:*:<X>` balances.
    pub released_outstanding: i128,
    /// Micro-dollars a unit; `None`: no mark on or before the date.
    pub price_micros: Option<i64>,
}

/// A holding's values in cents; `None` for both when it has no price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldingValue {
    pub inventory_cents: Option<i128>,
    pub receivable_cents: Option<i128>,
}

impl Holding {
    pub fn value(&self) -> HoldingValue {
        let at = |q| self.price_micros.map(|p| value_cents(q, self.scale, p));
        HoldingValue {
            inventory_cents: at(self.on_hand),
            receivable_cents: at(self.released_outstanding),
        }
    }
}

/// The valuation's totals: the sums of the priced rows' values, the amount owed and the
/// coverage ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    pub inventory_cents: i128,
    pub receivable_cents: i128,
    pub owed_cents: i128,
    /// (inventory + receivable) ÷ owed in units of 10^-RATIO_SCALE; `None` when nothing is owed.
    pub coverage: Option<i128>,
}

/// Totals of `rows` against `owed_cents` (principal plus interest accrued unpaid).
pub fn valuation(rows: &[HoldingValue], owed_cents: i128) -> Valuation {
    let inventory_cents = rows.iter().filter_map(|r| r.inventory_cents).sum();
    let receivable_cents = rows.iter().filter_map(|r| r.receivable_cents).sum();
    Valuation {
        inventory_cents,
        receivable_cents,
        owed_cents,
        coverage: ratio(inventory_cents + receivable_cents, owed_cents),
    }
}

/// `round_half_even(value / owed)` with RATIO_SCALE decimals, exactly; `None` when `owed`
/// is not above zero (nothing is owed).
pub fn ratio(value: i128, owed: i128) -> Option<i128> {
    if owed <= 0 {
        return None;
    }
    let n = BigInt::from(value) * BigInt::from(10u32.pow(RATIO_SCALE));
    let d = BigInt::from(owed);
    // Floor division, then the remainder (0 <= r < d) decides the rounding.
    let (mut q, r) = (n.clone() / &d, n % &d);
    let (mut q, r) = if r.sign() == Sign::Minus {
        q -= 1;
        (q, r + &d)
    } else {
        (std::mem::take(&mut q), r)
    };
    let twice: BigInt = r * 2;
    if twice > d || (twice == d && q.bit(0)) {
        q += 1;
    }
    // The quotient of two i128 figures times 10^4 can pass i128 only when owed is a few
    // cents against an astronomically large value; it is shown as the largest figure then.
    Some(i128::try_from(q).unwrap_or(if value < 0 { i128::MIN } else { i128::MAX }))
}

/// Net return over a period: what fees and premiums brought in against the interest expense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetReturn {
    pub fees_cents: i128,
    pub premium_cents: i128,
    pub interest_cents: i128,
    pub net_cents: i128,
}

/// `net = fees + premium value − interest expense`; `premiums` are the priced premiums'
/// values (unpriced ones are not counted).
pub fn net_return(fees_cents: i128, premiums: &[i128], interest_cents: i128) -> NetReturn {
    let premium_cents = premiums.iter().sum();
    NetReturn {
        fees_cents,
        premium_cents,
        interest_cents,
        net_cents: fees_cents + premium_cents - interest_cents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_round_half_even_to_cents_with_either_sign() {
        // 12.345 kg (scale 3) at 2.5 $/kg = 30.8625 $ -> 30.86
        assert_eq!(value_cents(12_345, 3, 2_500_000), 3086);
        // 0.5 cent exactly: to even.
        assert_eq!(value_cents(1, 2, 500_000), 0); // 0.01 × 0.5 = 0.005
        assert_eq!(value_cents(3, 2, 500_000), 2); // 0.015 -> 0.02
        assert_eq!(value_cents(-3, 2, 500_000), -2);
        assert_eq!(value_cents(0, 3, 1), 0);
    }

    #[test]
    fn an_unpriced_material_has_no_values_and_is_not_in_the_totals() {
        let priced = Holding {
            scale: 3,
            on_hand: 1_000_000,
            released_outstanding: 250_000,
            price_micros: Some(75_000_000),
        };
        let unpriced = Holding {
            price_micros: None,
            ..priced
        };
        assert_eq!(
            priced.value(),
            HoldingValue {
                inventory_cents: Some(7_500_000),
                receivable_cents: Some(1_875_000)
            }
        );
        assert_eq!(
            unpriced.value(),
            HoldingValue {
                inventory_cents: None,
                receivable_cents: None
            }
        );
        let v = valuation(&[priced.value(), unpriced.value()], 6_000_000);
        assert_eq!(
            (v.inventory_cents, v.receivable_cents),
            (7_500_000, 1_875_000)
        );
        // 93,750 / 60,000 = 1.5625
        assert_eq!(v.coverage, Some(15_625));
    }

    #[test]
    fn the_ratio_rounds_half_even_and_is_none_when_nothing_is_owed() {
        assert_eq!(ratio(1, 3), Some(3_333));
        assert_eq!(ratio(2, 3), Some(6_667));
        // 0.00005 exactly -> 0.0000; 0.00015 -> 0.0002
        assert_eq!(ratio(1, 20_000), Some(0));
        assert_eq!(ratio(3, 20_000), Some(2));
        assert_eq!(ratio(-3, 20_000), Some(-2));
        assert_eq!(ratio(-1, 3), Some(-3_333));
        assert_eq!(ratio(5, 0), None);
        assert_eq!(ratio(0, 7), Some(0));
    }

    #[test]
    fn net_return_is_fees_plus_premiums_less_interest() {
        let n = net_return(10_000, &[2_500, 1_250], 20_000);
        assert_eq!(n.premium_cents, 3_750);
        assert_eq!(n.net_cents, -6_250);
    }

    fn holding() -> impl Strategy<Value = Holding> {
        (
            0..7u32,
            -10_000_000_000i128..10_000_000_000_000,
            -1_000_000_000i128..1_000_000_000_000,
            prop::option::of(1..1_000_000_000_000i64),
        )
            .prop_map(|(scale, on_hand, released, price)| Holding {
                scale,
                on_hand,
                released_outstanding: released,
                price_micros: price,
            })
    }

    proptest! {
        #[test]
        fn valuation_totals_equal_the_sum_of_their_rows(
            holdings in prop::collection::vec(holding(), 0..12),
            owed in 0..1_000_000_000_000i128,
        ) {
            let rows: Vec<HoldingValue> = holdings.iter().map(Holding::value).collect();
            let v = valuation(&rows, owed);
            let inventory: i128 = rows.iter().map(|r| r.inventory_cents.unwrap_or(0)).sum();
            let receivable: i128 = rows.iter().map(|r| r.receivable_cents.unwrap_or(0)).sum();
            prop_assert_eq!(v.inventory_cents, inventory);
            prop_assert_eq!(v.receivable_cents, receivable);
            // Every value is its row's exact product, rounded to the nearest cent.
            for (h, r) in holdings.iter().zip(&rows) {
                prop_assert_eq!(r.inventory_cents.is_some(), h.price_micros.is_some());
                if let (Some(p), Some(c)) = (h.price_micros, r.inventory_cents) {
                    let exact = BigInt::from(h.on_hand) * p;
                    let unit = BigInt::from(10u64.pow(h.scale + 4));
                    let diff: BigInt = (BigInt::from(c) * &unit - exact) * 2;
                    prop_assert!(diff.magnitude() <= unit.magnitude());
                }
            }
            // The ratio is within half a unit of its last decimal of the exact quotient.
            match v.coverage {
                None => prop_assert_eq!(owed, 0),
                Some(c) => {
                    let err: BigInt = (BigInt::from(c) * owed
                        - BigInt::from(inventory + receivable) * 10_000) * 2;
                    prop_assert!(err.magnitude() <= BigInt::from(owed).magnitude());
                }
            }
        }
    }
}
