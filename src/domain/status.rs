//! The states of the reserve's objects other than drawdowns (`drawdown::Status`): each a
//! closed set, decoded from its row and written to the wire by its enum.

use super::formats;
use super::values::closed_enum;

closed_enum! {
    /// A disruption is proposed, confirmed by another operator (active), then ended.
    pub enum DisruptionStatus: formats::DisruptionStatus, "DisruptionStatus" {
        Proposed = "proposed",
        Active = "active",
        Ended = "ended",
    }
}

closed_enum! {
    /// An obligation to replenish is open until everything due has come back.
    pub enum ObligationStatus: formats::ObligationStatus, "ObligationStatus" {
        Open = "open",
        Settled = "settled",
    }
}

closed_enum! {
    /// A suspended manufacturer may not draw down.
    pub enum ManufacturerStatus: formats::ManufacturerStatus, "ManufacturerStatus" {
        Active = "active",
        Suspended = "suspended",
    }
}

closed_enum! {
    /// A reservation of stock: pending, then posted (taken) or voided (given back).
    pub enum HoldStatus: formats::HoldStatus, "HoldStatus" {
        Pending = "pending",
        Posted = "posted",
        Voided = "voided",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_refuse_other_values() {
        for s in DisruptionStatus::ALL {
            assert_eq!(s.as_str().parse::<DisruptionStatus>(), Ok(s));
            assert_eq!(DisruptionStatus::try_from(s.to_string()), Ok(s));
        }
        assert_eq!(
            "closed".parse::<ObligationStatus>(),
            Err("must be one of open, settled".to_owned())
        );
        let stored = ManufacturerStatus::try_from("retired".to_owned()).unwrap_err();
        assert_eq!(stored.value, "retired");
        assert_eq!(serde_json::to_value(HoldStatus::Voided).unwrap(), "voided");
    }
}
