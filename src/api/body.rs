//! `Body<T>`: a JSON request body, checked as API.md says: over 1 MiB 413, a non-empty body
//! that is not JSON 415, broken JSON, a duplicate key, an empty body sent as JSON or wrong
//! types 400, a missing required field 422. The body's canonical form (RFC 8785) is kept for
//! the idempotency fingerprint.

use super::error::ApiError;
use crate::domain::error_code::ErrorCode;
use crate::domain::validation::FieldError;
use crate::ledger::chain::canonical_value;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::{DeserializeOwned, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body of commands that take no fields (confirm, end, cancel, suspend ...): empty, or
/// an empty JSON object.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

pub struct Body<T> {
    pub value: T,
    /// What the idempotency fingerprint covers: the RFC 8785 canonical form of the parsed
    /// body (an empty body counts as `{}`), so that whitespace and key order do not matter.
    pub bytes: Bytes,
}

impl<T> super::auth::Caller for Body<T> {}

/// For an optional field that may also be `null` (`Option<Option<T>>` with
/// `#[serde(default, deserialize_with = "present")]`): left out is `None`, `null` is
/// `Some(None)`, a value is `Some(Some(v))`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
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
            if !buf.is_empty() && is_json != Some(true) {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "the body must be application/json",
                ));
            }
            // Only a body sent without a content type may be empty (commands with no
            // required field); one declared JSON must be JSON.
            if buf.is_empty() && is_json == Some(true) {
                return Err(ApiError::malformed(
                    "the body is empty but declared application/json; send {} or no Content-Type",
                ));
            }
            let (value, canonical) = parse(&buf)?;
            Ok(Body {
                value,
                bytes: Bytes::from(canonical),
            })
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "the body is larger than 1 MiB")
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

/// A JSON value read with every object's keys unique, at any depth: serde_json alone keeps
/// the last of duplicate keys, so `{"quantity":"1","quantity":"500"}` would read as 500.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                // Named in the problem's detail: a long key is cut short.
                let shown: String = key.chars().take(64).collect();
                let cut = if shown.len() < key.len() { "..." } else { "" };
                return Err(A::Error::custom(format_args!(
                    "a duplicate key {shown:?}{cut}"
                )));
            }
            let UniqueKeys(v) = map.next_value()?;
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

/// The body's value and its RFC 8785 canonical form. An empty body reads as `{}`, so that
/// commands with no required field accept it.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, String), ApiError> {
    let text: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let UniqueKeys(value) = serde_json::from_slice(text).map_err(|e| {
        ApiError::malformed(if e.is_data() {
            format!("the body has {e}")
        } else {
            format!("the body is not valid JSON: {e}")
        })
    })?;
    // serde would also read a struct from an array; every body of this API is an object.
    if !value.is_object() {
        return Err(ApiError::malformed("the body must be a JSON object"));
    }
    let canonical = canonical_value(&value);
    let value = serde_path_to_error::deserialize(value).map_err(|e| {
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
    })?;
    Ok((value, canonical))
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
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (400, "malformed_request")
        );
        assert!(e.detail.starts_with("code: invalid type"), "{}", e.detail);
        let e = parse::<Input>(b"{}").unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (422, "validation_failed")
        );
        assert_eq!(e.errors[0].field, "code");
        let e = parse::<Input>(b"[1]").unwrap_err();
        assert_eq!(e.detail, "the body must be a JSON object");
        let e = parse::<Input>(b"{\"code\": {\"a\": 1}}").unwrap_err();
        assert_eq!(e.detail, "code: invalid type: map, expected a string");
        let e = parse::<Input>(b"{\"code\": \"A\", \"extra\": 1}").unwrap_err();
        assert_eq!(e.code.as_str(), "malformed_request");
        assert!(parse::<Input>(b"{\"code\"").is_err());
        assert!(parse::<Input>(b"{\"code\": \"A\"}").is_ok());
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Loose {
            code: String,
            extra: Option<serde_json::Value>,
        }
        for body in [
            &b"{\"code\": \"A\", \"code\": \"B\"}"[..],
            b"{\"code\": \"A\", \"extra\": {\"a\": 1, \"a\": 2}}",
            b"{\"code\": \"A\", \"extra\": [{\"a\": 1, \"b\": 2, \"a\": 1}]}",
            b"{\"code\": \"A\", \"c\\u006fde\": \"A\"}",
        ] {
            let e = parse::<Loose>(body).unwrap_err();
            assert_eq!(
                e.code.as_str(),
                "malformed_request",
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(e.detail.contains("duplicate key"), "{}", e.detail);
        }
        let (_, canonical) =
            parse::<Loose>(b"{\"extra\": {\"b\": [1, 2.50, 1e2], \"a\": null}, \"code\": \"A\"}")
                .unwrap();
        assert_eq!(
            canonical,
            r#"{"code":"A","extra":{"a":null,"b":[1,2.5,100]}}"#
        );
        let long = "k".repeat(100);
        let e = parse::<Loose>(format!("{{\"{long}\": 1, \"{long}\": 1}}").as_bytes()).unwrap_err();
        assert!(
            e.detail.contains(&format!("\"{}\"...", &long[..64])),
            "{}",
            e.detail
        );
        let (_, empty) = parse::<NoFields>(b"").unwrap();
        assert_eq!(empty, "{}");
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
