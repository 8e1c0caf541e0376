pub mod api;
pub mod config;
pub mod db;
pub mod domain;
pub mod services;
pub mod startup;
pub mod telemetry;
