//! Who is acting: the verified claims of a bearer token, reduced to what decisions need.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Manufacturer,
    Operator,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Manufacturer,
        Role::Operator,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manufacturer => "manufacturer",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub sub: String,
    pub role: Role,
    /// The manufacturer a `manufacturer` token acts for; `None` for every other role.
    pub org: Option<String>,
}

impl Actor {
    /// Who a caller is for per-caller state such as idempotency keys: a subject of one
    /// identity provider may act for several organisations or roles.
    pub fn scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.role,
            self.org.as_deref().unwrap_or(""),
            self.sub
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_is_refused() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
    }
}
