//! `Body<T>`: a JSON request body, checked as API.md says: over 1 MiB 413, a non-empty body
//! that is not JSON 415, broken JSON or wrong types 400, a missing required field 422.
//! The raw bytes are kept for the idempotency fingerprint.

use super::error::ApiError;
use crate::domain::validation::FieldError;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body of commands that take no fields (confirm, end, cancel, suspend ...): empty, or
/// an empty JSON object.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

pub struct Body<T> {
    pub value: T,
    pub bytes: Bytes,
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(is_json_media_type);
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(too_large());
            }
            let mut buf = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::malformed(format!("reading the body: {e}")))?;
                if buf.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            let bytes = buf.freeze();
            if !bytes.is_empty() && is_json != Some(true) {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the body must be application/json",
                ));
            }
            let value = parse(&bytes)?;
            Ok(Body { value, bytes })
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the body is larger than 1 MiB",
    )
}

fn is_json_media_type(v: &str) -> bool {
    let essence = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// An empty body reads as `{}`, so that commands with no required field accept it.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let value: serde_json::Value = serde_json::from_slice(text)
        .map_err(|e| ApiError::malformed(format!("the body is not valid JSON: {e}")))?;
    // serde would also read a struct from an array; every body of this API is an object.
    if !value.is_object() {
        return Err(ApiError::malformed("the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        if let Some(field) = missing_field(&message) {
            let full = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            return ApiError::validation(vec![FieldError::new(full, "is required")]);
        }
        let message = plain(&message);
        if path == "." {
            ApiError::malformed(message)
        } else {
            ApiError::malformed(format!("{path}: {message}"))
        }
    })
}

/// The field serde names in "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// serde's messages name Rust types ("expected struct MaterialInput"); callers see JSON terms.
fn plain(message: &str) -> String {
    match message.find("expected struct ") {
        Some(i) => format!("{}expected a JSON object", &message[..i]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        code: String,
        scale: Option<i64>,
    }

    #[test]
    fn classifies_body_errors() {
        let e = parse::<Input>(b"{\"code\": 5}").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "malformed_request"));
        assert!(e.detail.starts_with("code: invalid type"), "{}", e.detail);
        let e = parse::<Input>(b"{}").unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (422, "validation_failed"));
        assert_eq!(e.errors[0].field, "code");
        let e = parse::<Input>(b"[1]").unwrap_err();
        assert_eq!(e.detail, "the body must be a JSON object");
        let e = parse::<Input>(b"{\"code\": {\"a\": 1}}").unwrap_err();
        assert_eq!(e.detail, "code: invalid type: map, expected a string");
        let e = parse::<Input>(b"{\"code\": \"A\", \"extra\": 1}").unwrap_err();
        assert_eq!(e.code, "malformed_request");
        assert!(parse::<Input>(b"{\"code\"").is_err());
        assert!(parse::<Input>(b"{\"code\": \"A\"}").is_ok());
    }

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/merge-patch+json"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/x-www-form-urlencoded"));
    }
}
