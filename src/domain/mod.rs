//! Pure types and rules: no diesel, no actix, no IO.

pub mod actor;
pub mod code;
pub mod country;
pub mod decimal;
pub mod drawdown;
pub mod facility;
pub mod lot;
pub mod material;
pub mod policy;
pub mod time;
pub mod validation;
