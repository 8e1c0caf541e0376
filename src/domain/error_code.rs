//! Every error code of API.md, with the status and title it answers with: the one place a
//! code is written, so that a refusal cannot carry a code with a typo or the wrong status.

/// Declares `ErrorCode` from one table: variant, code, status, title.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $title:expr;)+) => {
        /// An error code: the `code` of a problem document and the last part of its `type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            pub const ALL: [ErrorCode; [$($code),+].len()] = [$(ErrorCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The HTTP status it answers with.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// The problem's title: the same for every occurrence of the code (RFC 9457).
            pub fn title(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $title,)+
                }
            }
        }
    };
}

const RULE: &str = "Refused by a rule";

error_codes! {
    MalformedRequest = "malformed_request", 400, "Malformed request";
    Unauthenticated = "unauthenticated", 401, "Unauthenticated";
    Forbidden = "forbidden", 403, "Forbidden";
    NotFound = "not_found", 404, "Not found";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed";
    Conflict = "conflict", 409, "Conflict";
    InvalidState = "invalid_state", 409, "Invalid state";
    IdempotencyKeyReused = "idempotency_key_reused", 409, "Idempotency key reused";
    PayloadTooLarge = "payload_too_large", 413, "Payload too large";
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported media type";
    ValidationFailed = "validation_failed", 422, "Validation failed";
    RateLimited = "rate_limited", 429, "Too many requests";
    Internal = "internal", 500, "Internal error";
    NotReady = "not_ready", 503, "Not ready";
    Timeout = "timeout", 503, "Timeout";
    // Rules: the release rules, then the loan and money rules.
    NoActiveDisruption = "no_active_disruption", 422, RULE;
    NotEligible = "not_eligible", 422, RULE;
    ObligationOverdue = "obligation_overdue", 422, RULE;
    AllocationExceeded = "allocation_exceeded", 422, RULE;
    DisruptionCapExceeded = "disruption_cap_exceeded", 422, RULE;
    InsufficientStock = "insufficient_stock", 422, RULE;
    FloorBreach = "floor_breach", 422, RULE;
    SelfConfirmationForbidden = "self_confirmation_forbidden", 422, RULE;
    DuplicateApproval = "duplicate_approval", 422, RULE;
    CommitmentExceeded = "commitment_exceeded", 422, RULE;
    TrancheExceeded = "tranche_exceeded", 422, RULE;
    TrancheNotAvailable = "tranche_not_available", 422, RULE;
    FacilityNotAvailable = "facility_not_available", 422, RULE;
    RepaymentExceedsOutstanding = "repayment_exceeds_outstanding", 422, RULE;
    GradeBelowMinimum = "grade_below_minimum", 422, RULE;
    AllocationBelowCommitted = "allocation_below_committed", 422, RULE;
    PaymentExceedsDue = "payment_exceeds_due", 422, RULE;
}

impl ErrorCode {
    /// Whether a release or money rule refused the request (422 with the rule's figures).
    pub fn is_rule(self) -> bool {
        self.title() == RULE
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode::*;
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
