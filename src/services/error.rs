//! The error of the service layer: what was refused and why, or what failed.

use crate::db::tx::{is_transient, Retry};
use crate::db::DbError;
use crate::domain::validation::FieldError;
use crate::ledger::LedgerError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// A release or money rule refused the request; `figures` are what decided it.
    #[error("{detail}")]
    Rule {
        code: &'static str,
        detail: String,
        figures: serde_json::Value,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Another request stored the same idempotency key while this one ran: run again and
    /// replay its answer.
    #[error("idempotency key stored concurrently")]
    KeyRace,
    /// A serialization failure, deadlock or locked database: the transaction may be re-run.
    #[error("transient database failure: {0}")]
    Transient(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The API.md error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::InvalidState(_) => "invalid_state",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Rule { code, .. } => code,
            Self::Unavailable(_) => "not_ready",
            Self::KeyRace | Self::Transient(_) | Self::Internal(_) => "internal",
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// Turns a unique violation into a 409 that says, in the caller's terms, what clashed.
    pub fn unique_as_conflict(
        detail: impl Into<String>,
    ) -> impl FnOnce(ServiceError) -> ServiceError {
        move |e| match e {
            ServiceError::Conflict(_) => ServiceError::Conflict(detail.into()),
            other => other,
        }
    }
}

impl From<DieselError> for ServiceError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Self::NotFound("no such object".into()),
            // The constraint's name is internal; callers that know what clashed say so with
            // `unique_as_conflict`.
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("an object with the same unique value exists".into())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_owned()),
            other if is_transient(&other) => Self::Transient(other.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(m) => Self::Unavailable(m),
            DbError::Query(q) => q.into(),
            DbError::Task(m) => Self::Internal(m),
        }
    }
}

impl From<LedgerError> for ServiceError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => e.into(),
            LedgerError::Race => Self::Transient(e.to_string()),
            // The other refusals are rules a service checks before it posts: reaching the
            // ledger with them is a bug.
            other => Self::Internal(format!("ledger: {other}")),
        }
    }
}

impl From<serde_json::Error> for ServiceError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("serializing a response: {e}"))
    }
}

impl Retry for ServiceError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::KeyRace | Self::Transient(_))
    }
}
