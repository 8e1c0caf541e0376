//! `Command<P>`: everything a write needs besides its body: the permitted actor, the audit
//! action of the route, the request id and the `Idempotency-Key`.

use super::auth::{Auth, Caller, Permit};
use super::error::{current_request_id, ApiError};
use crate::domain::actor::{Actor, Role};
use crate::services::{IdempotencyRequest, WriteCtx};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};
use std::marker::PhantomData;

/// The audit actions of a resource's write methods, attached to the resource when routes
/// are registered, read by `Command` and by the middleware that audits refusals.
#[derive(Debug, Clone)]
pub struct Actions(pub Vec<(Method, &'static str)>);

impl Actions {
    pub fn for_method(&self, method: &Method) -> Option<&'static str> {
        self.0.iter().find(|(m, _)| m == method).map(|(_, a)| *a)
    }
}

/// The audit action of the route `req` was routed to, if it is a write.
pub fn route_action(req: &HttpRequest) -> Option<&'static str> {
    req.app_data::<Actions>()?.for_method(req.method())
}

pub struct Command<P> {
    pub actor: Actor,
    action: &'static str,
    idempotency_key: Option<String>,
    method: Method,
    path: String,
    _permit: PhantomData<P>,
}

impl<P: Permit> Command<P> {
    async fn extract(req: &HttpRequest) -> Result<Self, ApiError> {
        let auth = Auth::<P>::extract(req).await?;
        let action = route_action(req).ok_or_else(|| {
            tracing::error!(
                path = req.path(),
                "write route registered without an audit action"
            );
            ApiError::internal()
        })?;
        let idempotency_key = match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => Some(parse_key(v.as_bytes())?),
        };
        Ok(Self {
            actor: auth.actor,
            action,
            idempotency_key,
            method: req.method().clone(),
            path: req.path().to_owned(),
            _permit: PhantomData,
        })
    }

    /// The write context for a request whose body, in its canonical form (`Body::bytes`),
    /// was `body`.
    pub fn ctx(&self, body: &[u8]) -> WriteCtx {
        WriteCtx {
            actor: self.actor.clone(),
            request_id: current_request_id().unwrap_or_default(),
            action: self.action,
            idempotency: self.idempotency_key.as_ref().map(|key| IdempotencyRequest {
                key: key.clone(),
                fingerprint: fingerprint(&self.method, &self.path, body),
            }),
        }
    }
}

impl<P: Permit> Caller for Command<P> {
    const ROLES: Option<&'static [Role]> = Some(P::ROLES);
}

impl<P: Permit> FromRequest for Command<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::extract(&req).await })
    }
}

/// 1-255 visible ASCII characters (API.md).
fn parse_key(raw: &[u8]) -> Result<String, ApiError> {
    let ok = (1..=255).contains(&raw.len()) && raw.iter().all(|b| (0x21..=0x7e).contains(b));
    if ok {
        Ok(String::from_utf8_lossy(raw).into_owned())
    } else {
        Err(ApiError::malformed(
            "Idempotency-Key must be 1-255 visible ASCII characters",
        ))
    }
}

/// What makes two requests "the same" for a key: method, path and the body's RFC 8785
/// canonical form (so a retry may differ in whitespace or key order, not in any value).
fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii() {
        assert!(parse_key(b"order-42").is_ok());
        assert!(parse_key(&[b'a'; 255]).is_ok());
        assert!(parse_key(&[b'a'; 256]).is_err());
        assert!(parse_key(b"").is_err());
        assert!(parse_key(b"has space").is_err());
        assert!(parse_key("é".as_bytes()).is_err());
    }

    #[test]
    fn fingerprint_covers_method_path_and_body() {
        let a = fingerprint(&Method::POST, "/v1/materials", b"{}");
        assert_eq!(a, fingerprint(&Method::POST, "/v1/materials", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/v1/facilities", b"{}"));
        assert_ne!(a, fingerprint(&Method::PUT, "/v1/materials", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/v1/materials", b"{ }"));
    }
}
