//! Every route, declared once. An entry names a handler and, for a write, its audit action;
//! the handler's `#[utoipa::path]` gives its path, method and documented operation, and its
//! `Auth<P>`/`Command<P>` gives the roles that may call it. The router, each resource's
//! `Allow` header, the audit action `Command` reads and the document's security requirements
//! are all built from this one table.

use super::auth::Caller;
use super::command::Actions;
use super::error::ApiError;
use super::{
    audit, disruptions, drawdowns, events, facilities, fees, inventory, ledger, loans,
    manufacturers, materials, middleware, obligations, prices, reports, service, transfers,
    webhooks,
};
use crate::domain::actor::Role;
use crate::domain::error_code::ErrorCode;
use actix_web::http::{header, Method};
use actix_web::middleware::from_fn;
use actix_web::{web, FromRequest, Handler, Responder};
use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::security::SecurityRequirement;

/// `handler` or `handler => "audit.action"`, for every route the service serves.
macro_rules! route_table {
    ($($module:ident :: $handler:ident $(=> $action:literal)?),* $(,)?) => {
        /// The documented operations of the table, with the schemas they refer to.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($module::$handler),*))]
        pub struct Operations;

        /// The table's routes, in declaration order.
        pub fn endpoints() -> Vec<Endpoint> {
            pastey::paste! {
                vec![$(Endpoint::new::<$module::[<__path_ $handler>], _, _>(
                    $module::$handler,
                    route_table!(@action $($action)?),
                )),*]
            }
        }
    };
    (@action) => { None };
    (@action $action:literal) => { Some($action) };
}

route_table! {
    service::live,
    service::ready,
    service::metrics,
    service::openapi_json,
    service::docs,
    materials::list,
    materials::create => "material.create",
    materials::get,
    materials::update => "material.update",
    prices::list,
    prices::record => "price.record",
    facilities::list,
    facilities::create => "facility.create",
    facilities::get,
    inventory::list,
    inventory::receive => "lot.receive",
    inventory::get,
    inventory::transfer => "inventory.transfer",
    inventory::adjust => "inventory.adjust",
    ledger::entries,
    ledger::export,
    ledger::verify,
    ledger::balances,
    manufacturers::list,
    manufacturers::create => "manufacturer.create",
    manufacturers::get,
    manufacturers::suspend => "manufacturer.suspend",
    manufacturers::reinstate => "manufacturer.reinstate",
    manufacturers::allocations,
    manufacturers::put_allocation => "allocation.put",
    manufacturers::allocation_history,
    transfers::list,
    transfers::create => "allocation.transfer",
    fees::create => "fee.create",
    fees::accrue => "carrying_fees.accrue",
    fees::pay => "fee_payment.create",
    fees::statement,
    disruptions::list,
    disruptions::propose => "disruption.propose",
    disruptions::get,
    disruptions::confirm => "disruption.confirm",
    disruptions::end => "disruption.end",
    drawdowns::list,
    drawdowns::submit => "drawdown.submit",
    drawdowns::get,
    drawdowns::approve => "drawdown.approve",
    drawdowns::reject => "drawdown.reject",
    drawdowns::cancel => "drawdown.cancel",
    obligations::list,
    obligations::get,
    obligations::replenish => "obligation.replenish",
    obligations::reschedule => "obligation.reschedule",
    loans::list,
    loans::create => "loan_facility.create",
    loans::get,
    loans::create_tranche => "tranche.create",
    loans::accrue => "loan_facility.accrue",
    loans::repay => "repayment.create",
    loans::disburse => "disbursement.create",
    audit::list,
    reports::cover,
    reports::stress,
    reports::concentration,
    reports::valuation,
    reports::net_return,
    events::list,
    webhooks::list,
    webhooks::register => "webhook_endpoint.create",
    webhooks::get,
    webhooks::disable => "webhook_endpoint.disable",
    webhooks::enable => "webhook_endpoint.enable",
    webhooks::rotate_secret => "webhook_endpoint.rotate_secret",
    webhooks::deliveries,
}

/// One operation of the service.
pub struct Endpoint {
    /// As actix and OpenAPI both write it: `/v1/drawdowns/{id}`.
    pub path: String,
    pub method: Method,
    /// The roles the handler's `Auth<P>` or `Command<P>` admits; `None`: no authentication.
    pub roles: Option<&'static [Role]>,
    /// What a write is audited as.
    pub action: Option<&'static str>,
    route: actix_web::Route,
}

impl Endpoint {
    fn new<P, F, Args>(handler: F, action: Option<&'static str>) -> Self
    where
        P: utoipa::Path,
        F: Handler<Args>,
        Args: FromRequest + Caller + 'static,
        F::Output: Responder + 'static,
    {
        let methods = P::methods();
        let [method] = methods.as_slice() else {
            panic!("{}: one method per handler", P::path());
        };
        let method = match method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Delete => Method::DELETE,
            HttpMethod::Patch => Method::PATCH,
            _ => panic!("{}: a method actix has no route for", P::path()),
        };
        Self {
            path: P::path(),
            route: web::method(method.clone()).to(handler),
            method,
            roles: Args::ROLES,
            action,
        }
    }
}

/// Registers the table: one resource per path, with the methods declared for it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources: Vec<(String, Vec<Endpoint>)> = Vec::new();
    for e in endpoints() {
        match resources.iter_mut().find(|(path, _)| *path == e.path) {
            Some((_, list)) => list.push(e),
            None => resources.push((e.path.clone(), vec![e])),
        }
    }
    for (path, mut list) in resources {
        list.sort_by_key(|e| method_order(&e.method));
        let allow = list
            .iter()
            .map(|e| e.method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let actions = Actions(
            list.iter()
                .filter_map(|e| Some((e.method.clone(), e.action?)))
                .collect(),
        );
        let mut resource = web::resource(path)
            .app_data(actions)
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move {
                    Err::<actix_web::HttpResponse, _>(
                        ApiError::new(
                            ErrorCode::MethodNotAllowed,
                            format!("this resource allows {allow}"),
                        )
                        .with_header(header::ALLOW, allow),
                    )
                }
            }));
        for e in list {
            resource = resource.route(e.route);
        }
        // The timeout applies after routing, because it keeps a handle on the request that
        // routing must not see shared.
        cfg.service(resource.wrap(from_fn(middleware::deadline)));
    }
}

/// `Allow` lists a resource's methods in this order.
fn method_order(m: &Method) -> usize {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]
    .iter()
    .position(|o| o == m)
    .unwrap_or(usize::MAX)
}

/// Writes each operation's security requirement from the roles of its handler: the bearer
/// scheme with the role names, or none for the service endpoints.
pub fn document_security(doc: &mut utoipa::openapi::OpenApi) {
    for e in endpoints() {
        let Some(roles) = e.roles else { continue };
        let op = doc
            .paths
            .paths
            .get_mut(&e.path)
            .and_then(|item| operation(item, &e.method));
        if let Some(op) = op {
            let names = roles.iter().map(|r| r.as_str());
            op.security = Some(vec![SecurityRequirement::new("bearer", names)]);
        }
    }
}

fn operation<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        _ => None,
    }
}
