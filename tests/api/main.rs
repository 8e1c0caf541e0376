//! The integration suite: the real server over HTTP, on SQLite by default and on PostgreSQL
//! when STOCKPILE_TEST_DATABASE_URL is set.

mod audit;
mod auth;
mod errors;
mod helpers;
mod idempotency;
mod loans;
mod reference_data;
mod service;
