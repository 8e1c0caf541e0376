//! The `Auth<P>` extractor: a handler declares which roles may call it, so a handler without
//! a declared permission cannot see an actor at all.

use super::error::ApiError;
use super::AppState;
use crate::domain::actor::{Actor, Role};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// A set of roles allowed to do something.
pub trait Permit {
    fn allows(role: Role) -> bool;
}

/// Every authenticated role (reads of reference data).
pub struct AnyRole;
/// Operators, auditors and admins: reads of everyone's objects, the ledger and the audit trail.
pub struct Staff;
/// Operators and admins: operational writes.
pub struct Operator;
/// Admins: reference data and money structure.
pub struct Admin;
/// Manufacturers acting for their own organisation.
pub struct Manufacturer;
/// Who may register and manage webhook endpoints: manufacturers (their own), operators and
/// admins.
pub struct Subscriber;

impl Permit for AnyRole {
    fn allows(_: Role) -> bool {
        true
    }
}
impl Permit for Staff {
    fn allows(role: Role) -> bool {
        role != Role::Manufacturer
    }
}
impl Permit for Operator {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Operator | Role::Admin)
    }
}
impl Permit for Admin {
    fn allows(role: Role) -> bool {
        role == Role::Admin
    }
}
impl Permit for Subscriber {
    fn allows(role: Role) -> bool {
        role != Role::Auditor
    }
}
impl Permit for Manufacturer {
    fn allows(role: Role) -> bool {
        role == Role::Manufacturer
    }
}

/// An authenticated actor whose role `P` permits.
pub struct Auth<P> {
    pub actor: Actor,
    _permit: PhantomData<P>,
}

impl<P: Permit> Auth<P> {
    pub(super) fn extract(req: &HttpRequest) -> Result<Self, ApiError> {
        // A rate-limited request fails here, before the actor is known to the audit of
        // refusals: auditing a flood would write what the limit is there to spare.
        let actor = authenticate(req)?;
        // Known actor, even if refused below: the refusal is audited under its name.
        req.extensions_mut().insert(actor.clone());
        if !P::allows(actor.role) {
            return Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                actor.role
            )));
        }
        Ok(Self {
            actor,
            _permit: PhantomData,
        })
    }
}

impl<P: Permit> FromRequest for Auth<P> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::extract(req))
    }
}

/// The verified caller of `req`, counted against its rate limit; a request without a valid
/// token is counted against its peer address (so that a flood of bad tokens is limited too).
fn authenticate(req: &HttpRequest) -> Result<Actor, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(ApiError::internal)?;
    match verify(req, state) {
        Ok(actor) => {
            state.rate_limit.check(&actor.scope())?;
            Ok(actor)
        }
        Err(refused) => {
            let peer = req.peer_addr().map(|a| a.ip().to_string());
            state
                .rate_limit
                .check(peer.as_deref().unwrap_or("unknown"))?;
            Err(refused)
        }
    }
}

fn verify(req: &HttpRequest, state: &AppState) -> Result<Actor, ApiError> {
    let refused = || ApiError::unauthenticated("a valid bearer token is required");
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(refused)?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(refused)?;
    state.tokens.verify(token).map_err(|reason| {
        tracing::info!(%reason, "token refused");
        refused()
    })
}
