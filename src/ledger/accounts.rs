//! Account names. One scheme, documented here and in the README:
//!
//! | account | asset | holds |
//! |---|---|---|
//! | `inventory:<FACILITY>:<MATERIAL>` | material | stock on hand at a facility (never negative) |
//! | `supplier:<MATERIAL>` | material | counterpart of receipts (negative: what suppliers delivered) |
//! | `supplier:<MATERIAL>` | USD | what suppliers were paid from loan tranches for lots |
//! | `adjustment:<MATERIAL>` | material | counterpart of count corrections and losses |
//! | `released:<MANUFACTURER>:<MATERIAL>` | material | stock released to a manufacturer, less what it returned |
//! | `replenishment_premium:<MATERIAL>` | material | counterpart of the premium returned on top of releases |
//! | `cash:reserve` | USD | the reserve's cash: loan disbursements and fees in, repayments out |
//! | `loan:<FACILITY_ID>:principal` | USD | principal owed on a loan facility (negative: owed) |
//! | `loan:<FACILITY_ID>:interest` | USD | interest posted and not yet paid (negative: owed) |
//! | `expense:interest:<FACILITY_ID>` | USD | interest expense of a loan facility |
//! | `income:fees:<KIND>` | USD | fees manufacturers paid or were charged, `entry` or `carrying` (negative: earned) |
//! | `receivable:fees:<MANUFACTURER>` | USD | carrying fees accrued and not yet paid (never negative) |

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

pub const CASH_RESERVE: &str = "cash:reserve";

pub fn loan_principal(facility_id: &str) -> String {
    format!("loan:{facility_id}:principal")
}

pub fn loan_interest(facility_id: &str) -> String {
    format!("loan:{facility_id}:interest")
}

pub fn interest_expense(facility_id: &str) -> String {
    format!("expense:interest:{facility_id}")
}

pub fn fee_income(kind: &str) -> String {
    format!("income:fees:{kind}")
}

pub fn fees_receivable(manufacturer_id: &str) -> String {
    format!("receivable:fees:{manufacturer_id}")
}

/// Stock physically on hand at a facility: `inventory:<FACILITY>:<MATERIAL>`.
pub fn is_inventory(account: &str) -> bool {
    account.starts_with("inventory:")
}

/// Accounts whose balance may never go below zero: stock physically on hand, and what a
/// manufacturer owes (a payment may not take it below zero).
pub fn must_stay_non_negative(account: &str) -> bool {
    is_inventory(account) || account.starts_with("receivable:")
}

/// The asset of US dollars (cents in storage).
pub const USD: &str = "USD";
pub const USD_SCALE: u32 = crate::domain::money::USD_SCALE;

/// Premium returned on top of the base quantity when a drawdown is replenished.
pub fn replenishment_premium(material: &str) -> String {
    format!("replenishment_premium:{material}")
}
