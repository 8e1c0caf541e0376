//! Every error code of API.md, with the status and title it answers with: the one place a
//! code is written, so that a refusal cannot carry a code with a typo or the wrong status.

/// An error code: the `code` of a problem document and the last part of its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    MalformedRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    InvalidState,
    IdempotencyKeyReused,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    Internal,
    NotReady,
    Timeout,
    // Rules (422): the release rules, then the loan and money rules.
    NoActiveDisruption,
    NotEligible,
    ObligationOverdue,
    AllocationExceeded,
    DisruptionCapExceeded,
    InsufficientStock,
    FloorBreach,
    SelfConfirmationForbidden,
    DuplicateApproval,
    CommitmentExceeded,
    TrancheExceeded,
    TrancheNotAvailable,
    FacilityNotAvailable,
    RepaymentExceedsOutstanding,
}

use ErrorCode::*;

impl ErrorCode {
    pub const ALL: [ErrorCode; 29] = [
        MalformedRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        InvalidState,
        IdempotencyKeyReused,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        RateLimited,
        Internal,
        NotReady,
        Timeout,
        NoActiveDisruption,
        NotEligible,
        ObligationOverdue,
        AllocationExceeded,
        DisruptionCapExceeded,
        InsufficientStock,
        FloorBreach,
        SelfConfirmationForbidden,
        DuplicateApproval,
        CommitmentExceeded,
        TrancheExceeded,
        TrancheNotAvailable,
        FacilityNotAvailable,
        RepaymentExceedsOutstanding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MalformedRequest => "malformed_request",
            Unauthenticated => "unauthenticated",
            Forbidden => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Conflict => "conflict",
            InvalidState => "invalid_state",
            IdempotencyKeyReused => "idempotency_key_reused",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            ValidationFailed => "validation_failed",
            RateLimited => "rate_limited",
            Internal => "internal",
            NotReady => "not_ready",
            Timeout => "timeout",
            NoActiveDisruption => "no_active_disruption",
            NotEligible => "not_eligible",
            ObligationOverdue => "obligation_overdue",
            AllocationExceeded => "allocation_exceeded",
            DisruptionCapExceeded => "disruption_cap_exceeded",
            InsufficientStock => "insufficient_stock",
            FloorBreach => "floor_breach",
            SelfConfirmationForbidden => "self_confirmation_forbidden",
            DuplicateApproval => "duplicate_approval",
            CommitmentExceeded => "commitment_exceeded",
            TrancheExceeded => "tranche_exceeded",
            TrancheNotAvailable => "tranche_not_available",
            FacilityNotAvailable => "facility_not_available",
            RepaymentExceedsOutstanding => "repayment_exceeds_outstanding",
        }
    }

    /// The HTTP status it answers with.
    pub fn status(self) -> u16 {
        match self {
            MalformedRequest => 400,
            Unauthenticated => 401,
            Forbidden => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Conflict | InvalidState | IdempotencyKeyReused => 409,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            RateLimited => 429,
            Internal => 500,
            NotReady | Timeout => 503,
            ValidationFailed => 422,
            NoActiveDisruption
            | NotEligible
            | ObligationOverdue
            | AllocationExceeded
            | DisruptionCapExceeded
            | InsufficientStock
            | FloorBreach
            | SelfConfirmationForbidden
            | DuplicateApproval
            | CommitmentExceeded
            | TrancheExceeded
            | TrancheNotAvailable
            | FacilityNotAvailable
            | RepaymentExceedsOutstanding => 422,
        }
    }

    /// The problem's title: the same for every occurrence of the code (RFC 9457).
    pub fn title(self) -> &'static str {
        match self {
            MalformedRequest => "Malformed request",
            Unauthenticated => "Unauthenticated",
            Forbidden => "Forbidden",
            NotFound => "Not found",
            MethodNotAllowed => "Method not allowed",
            Conflict => "Conflict",
            InvalidState => "Invalid state",
            IdempotencyKeyReused => "Idempotency key reused",
            PayloadTooLarge => "Payload too large",
            UnsupportedMediaType => "Unsupported media type",
            ValidationFailed => "Validation failed",
            RateLimited => "Too many requests",
            Internal => "Internal error",
            NotReady => "Not ready",
            Timeout => "Timeout",
            NoActiveDisruption
            | NotEligible
            | ObligationOverdue
            | AllocationExceeded
            | DisruptionCapExceeded
            | InsufficientStock
            | FloorBreach
            | SelfConfirmationForbidden
            | DuplicateApproval
            | CommitmentExceeded
            | TrancheExceeded
            | TrancheNotAvailable
            | FacilityNotAvailable
            | RepaymentExceedsOutstanding => "Refused by a rule",
        }
    }

    /// Whether a release or money rule refused the request (422 with the rule's figures).
    pub fn is_rule(self) -> bool {
        self.status() == 422 && self != ValidationFailed
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_distinct_snake_case_with_their_statuses() {
        let names: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for c in ErrorCode::ALL {
            assert!(c
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            if c.is_rule() {
                assert_eq!(c.status(), 422, "{c}");
            }
        }
        assert_eq!(ValidationFailed.status(), 422);
        assert!(!ValidationFailed.is_rule());
        assert_eq!((NotReady.status(), Timeout.status()), (503, 503));
        assert_eq!(IdempotencyKeyReused.status(), 409);
        assert!(FloorBreach.is_rule() && CommitmentExceeded.is_rule());
    }
}
