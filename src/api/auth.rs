//! The `Auth<P>` extractor: a handler declares which roles may call it, so a handler without
//! a declared permission cannot see an actor at all.

use super::error::ApiError;
use super::AppState;
use crate::domain::actor::{Actor, Role};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use std::marker::PhantomData;

/// A set of roles allowed to do something.
pub trait Permit {
    const ROLES: &'static [Role];

    fn allows(role: Role) -> bool {
        Self::ROLES.contains(&role)
    }
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
    const ROLES: &'static [Role] = &Role::ALL;
}
impl Permit for Staff {
    const ROLES: &'static [Role] = &[Role::Operator, Role::Auditor, Role::Admin];
}
impl Permit for Operator {
    const ROLES: &'static [Role] = &[Role::Operator, Role::Admin];
}
impl Permit for Admin {
    const ROLES: &'static [Role] = &[Role::Admin];
}
impl Permit for Subscriber {
    const ROLES: &'static [Role] = &[Role::Manufacturer, Role::Operator, Role::Admin];
}
impl Permit for Manufacturer {
    const ROLES: &'static [Role] = &[Role::Manufacturer];
}

/// The roles a handler admits, read from the extractors it takes: those of its `Auth<P>` or
/// `Command<P>`, `None` when it takes neither. The route table writes them into the
/// document, so a handler's roles are stated once, in its signature.
pub trait Caller {
    const ROLES: Option<&'static [Role]> = None;
}

impl<P: Permit> Caller for Auth<P> {
    const ROLES: Option<&'static [Role]> = Some(P::ROLES);
}
impl<T> Caller for web::Data<T> {}
impl<T> Caller for web::Path<T> {}
impl<T> Caller for web::Query<T> {}

/// A handler's arguments: the roles of the first extractor that has some.
macro_rules! caller_of_arguments {
    ($($t:ident),*) => {
        impl<$($t: Caller),*> Caller for ($($t,)*) {
            const ROLES: Option<&'static [Role]> = first_roles(&[$($t::ROLES),*]);
        }
    };
}
caller_of_arguments!();
caller_of_arguments!(A);
caller_of_arguments!(A, B);
caller_of_arguments!(A, B, C);
caller_of_arguments!(A, B, C, D);
caller_of_arguments!(A, B, C, D, E);
caller_of_arguments!(A, B, C, D, E, F);

const fn first_roles(list: &[Option<&'static [Role]>]) -> Option<&'static [Role]> {
    let mut i = 0;
    while i < list.len() {
        if list[i].is_some() {
            return list[i];
        }
        i += 1;
    }
    None
}

/// An authenticated actor whose role `P` permits.
pub struct Auth<P> {
    pub actor: Actor,
    _permit: PhantomData<P>,
}

impl<P: Permit> Auth<P> {
    pub(super) async fn extract(req: &HttpRequest) -> Result<Self, ApiError> {
        // A rate-limited request fails here, before the actor is known to the audit of
        // refusals: auditing a flood would write what the limit is there to spare.
        let actor = authenticate(req).await?;
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

/// Asynchronous because a token may name a key the key set fetches first (`KeySet`); a
/// token whose key is held verifies without waiting.
impl<P: Permit> FromRequest for Auth<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::extract(&req).await })
    }
}

/// The verified caller of `req`, counted against its rate limit; a request without a valid
/// token is counted against its peer address (so that a flood of bad tokens is limited too).
async fn authenticate(req: &HttpRequest) -> Result<Actor, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(ApiError::internal)?;
    match verify(req, state).await {
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

async fn verify(req: &HttpRequest, state: &AppState) -> Result<Actor, ApiError> {
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
    state.tokens.verify(token).await.map_err(|reason| {
        tracing::info!(%reason, "token refused");
        refused()
    })
}
