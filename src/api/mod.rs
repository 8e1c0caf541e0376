//! The HTTP edge: thin handlers (parse, authorize, call a service, map to JSON).

pub mod audit;
pub mod auth;
pub mod body;
pub mod command;
pub mod csv;
pub mod disruptions;
pub mod docs;
pub mod drawdowns;
pub mod error;
pub mod facilities;
pub mod fees;
pub mod inventory;
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
pub mod service;
pub mod token;

use crate::config::LimitsSettings;
use crate::db::Db;
use crate::domain::error_code::ErrorCode;
use crate::domain::policy::Policy;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, Resource};
use command::Actions;
use error::ApiError;

/// What every handler shares.
pub struct AppState {
    pub db: Db,
    pub tokens: token::TokenVerifier,
    pub policy: Policy,
    pub metrics: metrics::Metrics,
    pub rate_limit: rate_limit::RateLimit,
    /// How long a request may take; `None`: no limit.
    pub request_timeout: Option<std::time::Duration>,
    pub openapi_json: String,
    pub docs_html: String,
}

impl AppState {
    pub fn new(
        db: Db,
        tokens: token::TokenVerifier,
        policy: Policy,
        limits: &LimitsSettings,
    ) -> Self {
        let doc = openapi::document();
        Self {
            db,
            tokens,
            policy,
            metrics: metrics::Metrics::new(),
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

/// A resource whose other methods answer 405 problem+json with the `Allow` header (RFC 9110)
/// naming the methods it has, and whose requests are bounded by the request timeout (applied
/// here, after routing, because the timeout keeps a handle on the request that routing must
/// not see shared).
fn resource(
    path: &str,
    allow: &'static str,
) -> Resource<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path)
        .default_service(web::to(move || async move {
            Err::<actix_web::HttpResponse, _>(
                ApiError::new(
                    ErrorCode::MethodNotAllowed,
                    format!("this resource allows {allow}"),
                )
                .with_header(header::ALLOW, allow),
            )
        }))
        .wrap(from_fn(middleware::deadline))
}

/// Every route, with the audit action of each write.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health/live", "GET").route(web::get().to(service::live)))
        .service(resource("/health/ready", "GET").route(web::get().to(service::ready)))
        .service(resource("/metrics", "GET").route(web::get().to(service::metrics)))
        .service(resource("/openapi.json", "GET").route(web::get().to(service::openapi_json)))
        .service(resource("/docs", "GET").route(web::get().to(service::docs)))
        .service(
            web::scope("/v1")
                .service(
                    resource("/materials", "GET, POST")
                        .app_data(Actions(&[("POST", "material.create")]))
                        .route(web::get().to(materials::list))
                        .route(web::post().to(materials::create)),
                )
                .service(resource("/materials/{code}", "GET").route(web::get().to(materials::get)))
                .service(
                    resource("/materials/{code}/prices", "GET, POST")
                        .app_data(Actions(&[("POST", "price.record")]))
                        .route(web::get().to(prices::list))
                        .route(web::post().to(prices::record)),
                )
                .service(
                    resource("/facilities", "GET, POST")
                        .app_data(Actions(&[("POST", "facility.create")]))
                        .route(web::get().to(facilities::list))
                        .route(web::post().to(facilities::create)),
                )
                .service(
                    resource("/facilities/{code}", "GET").route(web::get().to(facilities::get)),
                )
                .service(
                    resource("/lots", "GET, POST")
                        .app_data(Actions(&[("POST", "lot.receive")]))
                        .route(web::get().to(inventory::list))
                        .route(web::post().to(inventory::receive)),
                )
                .service(resource("/lots/{id}", "GET").route(web::get().to(inventory::get)))
                .service(
                    resource("/inventory/transfers", "POST")
                        .app_data(Actions(&[("POST", "inventory.transfer")]))
                        .route(web::post().to(inventory::transfer)),
                )
                .service(
                    resource("/inventory/adjustments", "POST")
                        .app_data(Actions(&[("POST", "inventory.adjust")]))
                        .route(web::post().to(inventory::adjust)),
                )
                .service(resource("/reports/cover", "GET").route(web::get().to(reports::cover)))
                .service(resource("/reports/stress", "POST").route(web::post().to(reports::stress)))
                .service(
                    resource("/reports/concentration", "GET")
                        .route(web::get().to(reports::concentration)),
                )
                .service(resource("/ledger/entries", "GET").route(web::get().to(ledger::entries)))
                .service(resource("/ledger/export", "GET").route(web::get().to(ledger::export)))
                .service(resource("/ledger/verify", "GET").route(web::get().to(ledger::verify)))
                .service(resource("/ledger/balances", "GET").route(web::get().to(ledger::balances)))
                .service(
                    resource("/manufacturers", "GET, POST")
                        .app_data(Actions(&[("POST", "manufacturer.create")]))
                        .route(web::get().to(manufacturers::list))
                        .route(web::post().to(manufacturers::create)),
                )
                .service(
                    resource("/manufacturers/{id}", "GET").route(web::get().to(manufacturers::get)),
                )
                .service(
                    resource("/manufacturers/{id}/suspend", "POST")
                        .app_data(Actions(&[("POST", "manufacturer.suspend")]))
                        .route(web::post().to(manufacturers::suspend)),
                )
                .service(
                    resource("/manufacturers/{id}/reinstate", "POST")
                        .app_data(Actions(&[("POST", "manufacturer.reinstate")]))
                        .route(web::post().to(manufacturers::reinstate)),
                )
                .service(
                    resource("/manufacturers/{id}/allocations", "GET")
                        .route(web::get().to(manufacturers::allocations)),
                )
                .service(
                    resource("/manufacturers/{id}/allocations/{material_code}", "PUT")
                        .app_data(Actions(&[("PUT", "allocation.put")]))
                        .route(web::put().to(manufacturers::put_allocation)),
                )
                .service(
                    resource("/disruptions", "GET, POST")
                        .app_data(Actions(&[("POST", "disruption.propose")]))
                        .route(web::get().to(disruptions::list))
                        .route(web::post().to(disruptions::propose)),
                )
                .service(
                    resource("/disruptions/{id}", "GET").route(web::get().to(disruptions::get)),
                )
                .service(
                    resource("/disruptions/{id}/confirm", "POST")
                        .app_data(Actions(&[("POST", "disruption.confirm")]))
                        .route(web::post().to(disruptions::confirm)),
                )
                .service(
                    resource("/disruptions/{id}/end", "POST")
                        .app_data(Actions(&[("POST", "disruption.end")]))
                        .route(web::post().to(disruptions::end)),
                )
                .service(
                    resource("/drawdowns", "GET, POST")
                        .app_data(Actions(&[("POST", "drawdown.submit")]))
                        .route(web::get().to(drawdowns::list))
                        .route(web::post().to(drawdowns::submit)),
                )
                .service(resource("/drawdowns/{id}", "GET").route(web::get().to(drawdowns::get)))
                .service(
                    resource("/drawdowns/{id}/approve", "POST")
                        .app_data(Actions(&[("POST", "drawdown.approve")]))
                        .route(web::post().to(drawdowns::approve)),
                )
                .service(
                    resource("/drawdowns/{id}/reject", "POST")
                        .app_data(Actions(&[("POST", "drawdown.reject")]))
                        .route(web::post().to(drawdowns::reject)),
                )
                .service(
                    resource("/drawdowns/{id}/cancel", "POST")
                        .app_data(Actions(&[("POST", "drawdown.cancel")]))
                        .route(web::post().to(drawdowns::cancel)),
                )
                .service(resource("/obligations", "GET").route(web::get().to(obligations::list)))
                .service(
                    resource("/obligations/{id}", "GET").route(web::get().to(obligations::get)),
                )
                .service(
                    resource("/obligations/{id}/replenishments", "POST")
                        .app_data(Actions(&[("POST", "obligation.replenish")]))
                        .route(web::post().to(obligations::replenish)),
                )
                .service(
                    resource("/obligations/{id}/reschedule", "POST")
                        .app_data(Actions(&[("POST", "obligation.reschedule")]))
                        .route(web::post().to(obligations::reschedule)),
                )
                .service(
                    resource("/loan-facilities", "GET, POST")
                        .app_data(Actions(&[("POST", "loan_facility.create")]))
                        .route(web::get().to(loans::list))
                        .route(web::post().to(loans::create)),
                )
                .service(resource("/loan-facilities/{id}", "GET").route(web::get().to(loans::get)))
                .service(
                    resource("/loan-facilities/{id}/tranches", "POST")
                        .app_data(Actions(&[("POST", "tranche.create")]))
                        .route(web::post().to(loans::create_tranche)),
                )
                .service(
                    resource("/loan-facilities/{id}/accruals", "POST")
                        .app_data(Actions(&[("POST", "loan_facility.accrue")]))
                        .route(web::post().to(loans::accrue)),
                )
                .service(
                    resource("/loan-facilities/{id}/repayments", "POST")
                        .app_data(Actions(&[("POST", "repayment.create")]))
                        .route(web::post().to(loans::repay)),
                )
                .service(
                    resource("/tranches/{id}/disbursements", "POST")
                        .app_data(Actions(&[("POST", "disbursement.create")]))
                        .route(web::post().to(loans::disburse)),
                )
                .service(
                    resource("/manufacturers/{id}/fees", "POST")
                        .app_data(Actions(&[("POST", "fee.create")]))
                        .route(web::post().to(fees::create)),
                )
                .service(resource("/audit-events", "GET").route(web::get().to(audit::list))),
        );
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
