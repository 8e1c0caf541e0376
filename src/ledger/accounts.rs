//! Account names. One scheme, documented here and in the README:
//!
//! | account | asset | holds |
//! |---|---|---|
//! | `inventory:<FACILITY>:<MATERIAL>` | material | stock on hand at a facility (never negative) |
//! | `supplier:<MATERIAL>` | material | counterpart of receipts (negative: what suppliers delivered) |
//! | `adjustment:<MATERIAL>` | material | counterpart of count corrections and losses |
//! | `released:<MANUFACTURER>:<MATERIAL>` | material | stock released to a manufacturer, less what it returned |
//! | `replenishment_premium:<MATERIAL>` | material | counterpart of the premium returned on top of releases |

pub fn inventory(facility: &str, material: &str) -> String {
    format!("inventory:{facility}:{material}")
}

pub fn supplier(material: &str) -> String {
    format!("supplier:{material}")
}

pub fn adjustment(material: &str) -> String {
    format!("adjustment:{material}")
}

pub fn released(manufacturer_id: &str, material: &str) -> String {
    format!("released:{manufacturer_id}:{material}")
}

/// Accounts whose balance may never go below zero: stock physically on hand.
pub fn must_stay_non_negative(account: &str) -> bool {
    account.starts_with("inventory:")
}

/// The asset of US dollars (cents in storage).
pub const USD: &str = "USD";
pub const USD_SCALE: u32 = 2;

/// Premium returned on top of the base quantity when a drawdown is replenished.
pub fn replenishment_premium(material: &str) -> String {
    format!("replenishment_premium:{material}")
}
