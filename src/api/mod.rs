//! The HTTP edge: thin handlers (parse, authorize, call a service, map to JSON).

pub mod audit;
pub mod auth;
pub mod body;
pub mod command;
pub mod console;
pub mod csv;
pub mod disruptions;
pub mod docs;
pub mod drawdowns;
pub mod error;
pub mod events;
pub mod facilities;
pub mod fees;
pub mod inventory;
pub mod key_set;
pub mod ledger;
pub mod loans;
pub mod manufacturers;
pub mod materials;
pub mod metrics;
pub mod middleware;
pub mod obligations;
pub mod openapi;
pub mod path;
pub mod prices;
pub mod query;
pub mod rate_limit;
pub mod reply;
pub mod reports;
pub mod routes;
pub mod service;
pub mod token;
pub mod transfers;
pub mod webhooks;

use crate::config::{LimitsSettings, WebhookSettings};
use crate::db::Db;
use crate::domain::policy::Policy;
use crate::services::reads::Reads;
use actix_web::web;
use error::ApiError;

/// What every handler shares.
pub struct AppState {
    pub db: Db,
    /// Where the reads a replica may serve go (`database.replica_url`).
    pub reads: crate::services::reads::Reads,
    pub tokens: token::TokenVerifier,
    pub policy: Policy,
    /// The URL rules of webhook endpoints.
    pub webhooks: WebhookSettings,
    /// Shared with the webhook worker.
    pub metrics: std::sync::Arc<metrics::Metrics>,
    pub rate_limit: rate_limit::RateLimit,
    /// How long a request may take; `None`: no limit.
    pub request_timeout: Option<std::time::Duration>,
    pub openapi_json: String,
    pub docs_html: String,
}

impl AppState {
    /// `replica`: a streaming replica of `db` and how long a read waits for it to catch up.
    pub fn new(
        db: Db,
        replica: Option<(Db, std::time::Duration)>,
        tokens: token::TokenVerifier,
        policy: Policy,
        limits: &LimitsSettings,
        webhooks: WebhookSettings,
    ) -> Self {
        let doc = openapi::document();
        let metrics = std::sync::Arc::new(metrics::Metrics::new());
        let reads = match replica {
            Some((replica, max_wait)) => {
                Reads::with_replica(db.clone(), replica, max_wait, metrics.clone())
            }
            None => Reads::primary_only(db.clone(), metrics.clone()),
        };
        Self {
            db,
            reads,
            tokens,
            policy,
            webhooks,
            metrics,
            rate_limit: rate_limit::RateLimit::new(
                limits.rate_limit_per_second,
                limits.rate_limit_burst,
            ),
            request_timeout: (limits.request_timeout_secs > 0)
                .then(|| std::time::Duration::from_secs(limits.request_timeout_secs)),
            openapi_json: doc.to_string(),
            docs_html: docs::render(&doc),
        }
    }
}

/// Problem+json for query strings that do not parse (400) and path segments that do not
/// (404: no such object).
pub fn extractor_configs(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::malformed(format!("query string: {e}")).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|_, _| ApiError::not_found("no such object").into()),
    );
}

pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found("no such resource"))
}
