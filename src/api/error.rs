//! problem+json (RFC 9457): the one error type of the HTTP edge. Internal detail is logged,
//! never returned.

use crate::domain::error_code::ErrorCode;
use crate::domain::validation::FieldError;
use crate::services::ServiceError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

tokio::task_local! {
    /// The id of the request being served; set by the request-context middleware.
    pub static REQUEST_ID: String;
}

/// The current request's id, when called while serving one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub rule: Option<serde_json::Value>,
    /// Headers the status calls for (`Allow` on 405, `Retry-After` on 429 and 503); boxed to
    /// keep the error, which every handler returns, small.
    pub headers: Box<[(header::HeaderName, String)]>,
}

/// The problem document, as OpenAPI describes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[schema(example = "urn:stockpile:problem:validation_failed")]
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[schema(example = "validation_failed")]
    pub code: String,
    pub request_id: Option<String>,
    /// For `validation_failed`: every field that was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
    /// For rule refusals: the rule's figures (e.g. requested, limit, available).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub rule: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

impl ApiError {
    /// An error answering with the code's own status.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            detail: detail.into(),
            errors: Vec::new(),
            rule: None,
            headers: Box::default(),
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        let mut headers = self.headers.into_vec();
        headers.push((name, value.into()));
        self.headers = headers.into_boxed_slice();
        self
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationFailed, detail)
        }
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "the service failed to complete the request; it has been logged",
        )
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            type_: format!("urn:stockpile:problem:{}", self.code),
            title: self.code.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
            request_id: current_request_id(),
            errors: (!self.errors.is_empty()).then(|| {
                self.errors
                    .iter()
                    .map(|e| ProblemField {
                        field: e.field.clone(),
                        message: e.message.clone(),
                    })
                    .collect()
            }),
            rule: self.rule.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = serde_json::to_string(&self.to_problem()).unwrap_or_default();
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.as_str()));
        }
        let mut res = res.body(body);
        // Left for the middleware that audits refused writes.
        res.extensions_mut().insert(self.code);
        res
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let code = e.code();
        match e {
            ServiceError::Validation(errors) => Self::validation(errors),
            ServiceError::NotFound(d) => Self::not_found(d),
            ServiceError::Conflict(d) => Self::new(code, d),
            ServiceError::InvalidState(d) => Self::new(code, d),
            ServiceError::IdempotencyKeyReused => Self::new(code, e.to_string()),
            ServiceError::Rule {
                detail, figures, ..
            } => Self {
                rule: Some(figures),
                ..Self::new(code, detail)
            },
            ServiceError::Unavailable(m) => {
                tracing::warn!(reason = %m, "database unavailable");
                Self::new(code, "the database is unavailable; retry later")
            }
            ServiceError::Transient(_) | ServiceError::Internal { .. } => {
                tracing::error!(error = %e.chain(), "request failed");
                Self::internal()
            }
        }
    }
}
