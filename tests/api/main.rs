//! The integration suite: the real server over HTTP, on SQLite by default and on PostgreSQL
//! when STOCKPILE_TEST_DATABASE_URL is set.

mod audit;
mod auth;
mod backup;
mod carrying_fees;
mod cli;
mod concurrency;
pub mod drawdowns;
mod errors;
pub mod faults;
mod helpers;
mod idempotency;
mod inventory;
mod key_sets;
mod ledger;
mod limits;
mod loans;
mod notifications;
mod openapi;
mod properties;
mod readiness;
mod reference_data;
mod replica;
mod roles;
mod service;
mod totals;
mod transfers;
mod valuation;
