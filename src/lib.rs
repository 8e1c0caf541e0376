pub mod api;
pub mod config;
pub mod db;
pub mod domain;
pub mod ledger;
pub mod services;
pub mod startup;
pub mod telemetry;
