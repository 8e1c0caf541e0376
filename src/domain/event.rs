//! The events of the outbox and the feed (API.md, "Notifications"): their types, and which
//! types an endpoint subscribes to.

use super::formats;
use super::values::closed_enum;
use std::collections::BTreeSet;

closed_enum! {
    /// What happened, `<object>.<change>`.
    pub enum EventType: formats::EventType, "EventType" {
        DisruptionProposed = "disruption.proposed",
        DisruptionActivated = "disruption.activated",
        DisruptionEnded = "disruption.ended",
        DrawdownSubmitted = "drawdown.submitted",
        DrawdownPartiallyApproved = "drawdown.partially_approved",
        DrawdownReleased = "drawdown.released",
        DrawdownRejected = "drawdown.rejected",
        DrawdownCancelled = "drawdown.cancelled",
        DrawdownExpired = "drawdown.expired",
        ObligationCreated = "obligation.created",
        ObligationReplenished = "obligation.replenished",
        ObligationSettled = "obligation.settled",
        ObligationRescheduled = "obligation.rescheduled",
        ObligationOverdue = "obligation.overdue",
        AllocationTransferred = "allocation.transferred",
    }
}

/// Which manufacturers see an event (staff see every one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// A drawdown's or an obligation's manufacturer.
    Manufacturer(String),
    /// Those with an allocation of one of these materials (disruptions).
    Holders(Vec<String>),
}

/// Every type, as a subscription names it.
pub const ALL_TYPES: &str = "*";

/// The event types an endpoint receives: all of them (`["*"]`), or those listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    All,
    Only(BTreeSet<EventType>),
}

impl Subscription {
    /// From the request's `events`: `["*"]` alone, or one or more types, none repeated.
    pub fn parse(events: &[String]) -> Result<Self, String> {
        if events.iter().any(|e| e == ALL_TYPES) {
            return if events.len() == 1 {
                Ok(Subscription::All)
            } else {
                Err(format!("{ALL_TYPES:?} must be alone"))
            };
        }
        if events.is_empty() {
            return Err("must name at least one event type, or \"*\"".into());
        }
        let mut types = BTreeSet::new();
        for e in events {
            let t = e.parse::<EventType>().map_err(|m| format!("{e:?}: {m}"))?;
            if !types.insert(t) {
                return Err(format!("{e:?} is repeated"));
            }
        }
        Ok(Subscription::Only(types))
    }

    /// The wire and stored form: `["*"]` or the types in their declared order.
    pub fn names(&self) -> Vec<String> {
        match self {
            Subscription::All => vec![ALL_TYPES.to_owned()],
            Subscription::Only(types) => types.iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }
}

impl PartialOrd for EventType {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EventType {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let at = |t: &EventType| EventType::ALL.iter().position(|v| v == t);
        at(self).cmp(&at(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn subscriptions_parse_all_or_distinct_types() {
        assert_eq!(Subscription::parse(&names(&["*"])), Ok(Subscription::All));
        let s = Subscription::parse(&names(&["obligation.overdue", "drawdown.released"])).unwrap();
        assert_eq!(
            s.names(),
            names(&["drawdown.released", "obligation.overdue"])
        );
        assert!(Subscription::parse(&[]).is_err());
        assert!(Subscription::parse(&names(&["*", "drawdown.released"])).is_err());
        assert!(Subscription::parse(&names(&["drawdown.released", "drawdown.released"])).is_err());
        assert!(Subscription::parse(&names(&["drawdown.approved"]))
            .unwrap_err()
            .contains("must be one of"));
    }
}
