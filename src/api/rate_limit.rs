//! The per-client rate limit of `/v1` (`[limits]` in config; off when the rate is 0).
//!
//! A client is the verified caller of a request (role, org, sub), so that many manufacturers
//! behind one address do not share a budget and one runaway script does not starve the
//! others; a request without a valid token is counted against its peer address instead. The
//! budget is a GCRA token bucket (`governor`), kept in this process's memory.

use super::error::ApiError;
use crate::domain::error_code::ErrorCode;
use actix_web::http::header;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many checks pass between two sweeps of the clients that have been idle long enough
/// to have a full bucket again (they need no state).
const SWEEP_EVERY: u32 = 10_000;

pub struct RateLimit {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU32,
}

impl RateLimit {
    /// `per_second` sustained requests per client with bursts of up to `burst` (at least 1);
    /// `per_second = 0` turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            limiter,
            checks: AtomicU32::new(0),
        }
    }

    /// Counts one request of `client`: 429 `rate_limited`, with the seconds to wait in
    /// `Retry-After`, when its budget is spent.
    pub fn check(&self, client: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter.check_key(&client.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::new(
                ErrorCode::RateLimited,
                format!("too many requests from this client; retry in {secs} s"),
            )
            .with_header(header::RETRY_AFTER, secs.max(1).to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_when_the_rate_is_zero() {
        let limit = RateLimit::new(0, 0);
        assert!((0..10_000).all(|_| limit.check("a").is_ok()));
    }

    #[test]
    fn a_client_gets_its_burst_then_429_with_retry_after() {
        let limit = RateLimit::new(1, 3);
        assert!((0..3).all(|_| limit.check("a").is_ok()));
        let refused = limit.check("a").unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.code.as_str(), "rate_limited");
        assert_eq!(*refused.headers, [(header::RETRY_AFTER, "1".to_owned())]);
        // Budgets are per client.
        assert!(limit.check("b").is_ok());
    }
}
