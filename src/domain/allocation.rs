//! Entitlements moving between manufacturers (API.md, "Entitlements over time").

use super::decimal::{div_half_even, non_negative, positive};
use super::money::USD_SCALE;
use super::validation::{FieldError, Problems};
use super::values::Id;
use num_bigint::BigUint;

/// A transfer as sent, its figures parsed at the material's scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    pub quantity: i64,
    /// What the recipient pays the sender, in cents (zero for a gift).
    pub price_cents: i64,
}

impl NewTransfer {
    /// `quantity` > 0 at the material's `scale`; `price_usd` >= 0 with at most 2 decimals; the
    /// two manufacturers different.
    pub fn parse(
        from: &str,
        to: &str,
        quantity: &str,
        price_usd: &str,
        scale: u32,
    ) -> Result<Self, Vec<FieldError>> {
        let mut p = Problems::default();
        for (field, id) in [("from_manufacturer_id", from), ("to_manufacturer_id", to)] {
            p.check(
                field,
                if Id::is_valid(id) {
                    Ok(())
                } else {
                    Err("must be a manufacturer id (a UUID)")
                },
            );
        }
        let distinct = p.check(
            "to_manufacturer_id",
            if from == to {
                Err("must differ from from_manufacturer_id")
            } else {
                Ok(())
            },
        );
        let quantity = p.check("quantity", positive(quantity, scale));
        let price_cents = p.check("price_usd", non_negative(price_usd, USD_SCALE));
        p.finish(|| {
            distinct?;
            Some(Self {
                quantity: quantity?,
                price_cents: price_cents?,
            })
        })
    }
}

/// The locked price of `held` at `held_price` joined by `added` at `added_price` (micro-dollars
/// per unit): the quantity-weighted average, exact and rounded half-even to the micro-dollar.
/// Quantities are minor units of one material, so the scale cancels out. All figures are zero
/// or more; with nothing held or added the price is `added_price`.
pub fn weighted_price(held: i64, held_price: i64, added: i64, added_price: i64) -> i64 {
    let big = |v: i64| BigUint::from(u64::try_from(v).unwrap_or(0));
    let total = big(held) + big(added);
    if total == BigUint::ZERO {
        return added_price;
    }
    let value = big(held) * big(held_price) + big(added) * big(added_price);
    // A weighted average lies between its two prices, so it fits as they do.
    i64::try_from(div_half_even(&value, &total)).unwrap_or(held_price.max(added_price))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const A: &str = "0192f5e0-0000-7000-8000-000000000001";
    const B: &str = "0192f5e0-0000-7000-8000-000000000002";

    #[test]
    fn weighted_price_by_hand() {
        // 300 at 10.000000 and 100 at 14.000000: (3000 + 1400) / 400 = 11.000000.
        assert_eq!(weighted_price(300, 10_000_000, 100, 14_000_000), 11_000_000);
        // 2 at 0.000001 and 1 at 0.000002: 4 / 3 micro-dollars, 1.33 → 1.
        assert_eq!(weighted_price(2, 1, 1, 2), 1);
        // 1 at 0.000001 and 1 at 0.000002: 1.5 → 2 (half to even).
        assert_eq!(weighted_price(1, 1, 1, 2), 2);
        // 1 at 0.000002 and 1 at 0.000003: 2.5 → 2 (half to even).
        assert_eq!(weighted_price(1, 2, 1, 3), 2);
        // A recipient with no entitlement takes the sender's price.
        assert_eq!(weighted_price(0, 0, 500, 7_250_000), 7_250_000);
        // The largest figures do not overflow.
        assert_eq!(
            weighted_price(i64::MAX, i64::MAX, i64::MAX, i64::MAX),
            i64::MAX
        );
    }

    #[test]
    fn a_transfer_parses_or_names_its_fields() {
        assert_eq!(
            NewTransfer::parse(A, B, "12.5", "1000.25", 3),
            Ok(NewTransfer {
                quantity: 12_500,
                price_cents: 100_025
            })
        );
        let e = NewTransfer::parse(A, A, "0", "1.001", 3).unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["to_manufacturer_id", "quantity", "price_usd"]);
        let e = NewTransfer::parse("acme", B, "1", "-1", 3).unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["from_manufacturer_id", "price_usd"]);
    }

    proptest! {
        /// The average lies between the two prices and moves toward the larger quantity.
        #[test]
        fn weighted_price_lies_between(held in 0i64..1 << 40, hp in 0i64..1 << 40,
                                       added in 1i64..1 << 40, ap in 0i64..1 << 40) {
            let w = weighted_price(held, hp, added, ap);
            prop_assert!(hp.min(ap) <= w && w <= hp.max(ap));
            // Exact to half a micro-dollar: |w·total − value| ≤ total / 2.
            let total = i128::from(held) + i128::from(added);
            let value = i128::from(held) * i128::from(hp) + i128::from(added) * i128::from(ap);
            prop_assert!((i128::from(w) * total - value).abs() * 2 <= total);
        }
    }
}
