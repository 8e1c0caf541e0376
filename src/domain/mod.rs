//! Pure types and rules: no diesel, no actix, no IO.

pub mod actor;
pub mod claims;
pub mod code;
pub mod country;
pub mod daycount;
pub mod decimal;
pub mod drawdown;
pub mod error_code;
pub mod event;
pub mod facility;
pub mod fee;
pub mod formats;
pub mod interest;
pub mod loan;
pub mod lot;
pub mod material;
pub mod money;
pub mod policy;
pub mod price;
pub mod readiness;
pub mod status;
pub mod stress;
pub mod time;
pub mod validation;
pub mod values;
pub mod webhook;
