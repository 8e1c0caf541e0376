//! The error of the service layer: what was refused and why, or what failed.

use crate::db::tx::{is_transient, Retry};
use crate::db::DbError;
use crate::domain::decimal::format_fixed;
use crate::domain::error_code::ErrorCode;
use crate::domain::validation::FieldError;
use crate::domain::values::Undecodable;
use crate::ledger::LedgerError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;

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
        code: ErrorCode,
        detail: String,
        figures: serde_json::Value,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A serialization failure, deadlock or locked database: the transaction may be re-run.
    #[error("transient database failure: {0}")]
    Transient(String),
    /// A bug, or storage changed outside the service: the caller gets a bare 500, the log gets
    /// `context` and the whole chain of `source`.
    #[error("internal error: {context}")]
    Internal {
        context: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ServiceError {
    /// The API.md error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::InvalidState(_) => ErrorCode::InvalidState,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::Rule { code, .. } => *code,
            Self::Unavailable(_) => ErrorCode::NotReady,
            Self::Transient(_) | Self::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// An internal error with nothing underneath it: an invariant the code relies on failed.
    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An internal error caused by `source`, which the log line shows with its own causes.
    pub fn internal_because(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    /// This error and its causes, outermost first, as one line for the log.
    pub fn chain(&self) -> String {
        let mut line = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            line.push_str(": ");
            line.push_str(&e.to_string());
            cause = e.source();
        }
        line
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A figure that storage cannot hold: `what` (a running total, or an amount derived from
    /// the request) would pass the largest value of its kind, `i64::MAX` minor units. The
    /// write is refused and changes nothing; a figure is never capped or wrapped.
    pub fn too_large(field: &str, what: impl std::fmt::Display, scale: u32) -> Self {
        Self::validation(
            field,
            format!(
                "would take {what} beyond {}, the largest figure stored",
                format_fixed(i64::MAX, scale)
            ),
        )
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
            // A connection lost inside a transaction leaves its transaction manager broken.
            DieselError::BrokenTransactionManager | DieselError::RollbackErrorOnCommit { .. } => {
                Self::Unavailable(format!("connection lost: {e}"))
            }
            other if is_transient(&other) => Self::Transient(other.to_string()),
            other => Self::internal_because("a database statement failed", other),
        }
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(m) => Self::Unavailable(m),
            DbError::Query(q) => q.into(),
            e @ DbError::Task(_) => Self::internal_because("a database task failed", e),
        }
    }
}

impl From<serde_json::Error> for ServiceError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal_because("serializing a response", e)
    }
}

impl From<Undecodable> for ServiceError {
    fn from(e: Undecodable) -> Self {
        Self::internal_because("reading a stored value", e)
    }
}

impl Retry for ServiceError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

impl From<LedgerError> for ServiceError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Short {
                material,
                facility,
                requested,
                available,
                scale,
            } => {
                let (requested, available) = (
                    format_fixed(requested, scale),
                    format_fixed(available, scale),
                );
                let place = facility
                    .as_ref()
                    .map_or(String::new(), |f| format!(" at {f}"));
                Self::Rule {
                    code: ErrorCode::InsufficientStock,
                    detail: format!(
                        "{requested} of {material} requested, {available} available{place}"
                    ),
                    figures: json!({"material": material, "facility": facility,
                                    "requested": requested, "available": available}),
                }
            }
            LedgerError::Overdrawn {
                account,
                asset,
                balance,
                wanted,
                scale,
            } => {
                let (wanted, balance) = (format_fixed(wanted, scale), format_fixed(balance, scale));
                Self::Rule {
                    code: ErrorCode::InsufficientStock,
                    detail: format!("{account} holds {balance} {asset}, {wanted} requested"),
                    figures: json!({"account": account, "asset": asset,
                                    "requested": wanted, "available": balance}),
                }
            }
            LedgerError::HoldNotPending(id) => {
                Self::InvalidState(format!("hold {id} is no longer pending"))
            }
            // Material amounts come from a request's quantity, USD ones from its amount.
            LedgerError::TooLarge {
                account,
                asset,
                scale,
            } => {
                let field = if asset == crate::ledger::accounts::USD {
                    "amount_usd"
                } else {
                    "quantity"
                };
                Self::too_large(
                    field,
                    format_args!("the balance of {account} in {asset}"),
                    scale,
                )
            }
            LedgerError::UnknownMaterial(code) => Self::NotFound(format!("no material {code}")),
            LedgerError::Race => Self::Transient("concurrent stock change".into()),
            LedgerError::Db(e) => e.into(),
            e @ (LedgerError::Empty | LedgerError::Overflow | LedgerError::Unbalanced { .. }) => {
                Self::internal_because("the ledger refused an entry", e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_causes_for_the_log() {
        let cause = DbError::Query(DieselError::QueryBuilderError("no such column".into()));
        let e = ServiceError::internal_because("reading drawdown 7", cause);
        assert_eq!(e.code(), ErrorCode::Internal);
        assert_eq!(
            e.chain(),
            "internal error: reading drawdown 7: no such column"
        );
        let bare = ServiceError::internal("a drawdown without a view");
        assert_eq!(bare.chain(), "internal error: a drawdown without a view");
    }

    #[test]
    fn an_unexpected_database_error_is_internal_with_its_message_as_cause() {
        let e: ServiceError = DieselError::QueryBuilderError("bad bind".into()).into();
        assert!(matches!(
            e,
            ServiceError::Internal {
                source: Some(_),
                ..
            }
        ));
        assert_eq!(
            e.chain(),
            "internal error: a database statement failed: bad bind"
        );
    }
}
