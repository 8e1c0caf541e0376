//! Who is acting: the verified claims of a bearer token, reduced to what decisions need.

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

    /// The one role a caller holding all of `roles` acts in. An identity provider lists every
    /// role a user was given (Keycloak also lists a composite role's parts): among the staff
    /// roles each does all the one below it may (admin, operator, auditor), so the most
    /// capable is taken; a manufacturer acts for one organisation, so a manufacturer holding
    /// any other role is ambiguous and refused, as is an empty list.
    pub fn most_capable(roles: &[Role]) -> Result<Role, &'static str> {
        if roles.contains(&Role::Manufacturer) {
            return if roles.iter().all(|r| *r == Role::Manufacturer) {
                Ok(Role::Manufacturer)
            } else {
                Err("a manufacturer role together with a staff role is ambiguous")
            };
        }
        [Role::Admin, Role::Operator, Role::Auditor]
            .into_iter()
            .find(|r| roles.contains(r))
            .ok_or("no role")
    }

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

super::values::closed_set!(Role, super::formats::Role, "Role");

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

    #[test]
    fn the_most_capable_staff_role_is_taken_and_mixed_manufacturers_are_refused() {
        use Role::*;
        assert_eq!(Role::most_capable(&[Auditor, Admin, Operator]), Ok(Admin));
        assert_eq!(Role::most_capable(&[Auditor, Operator]), Ok(Operator));
        assert_eq!(Role::most_capable(&[Auditor]), Ok(Auditor));
        assert_eq!(
            Role::most_capable(&[Manufacturer, Manufacturer]),
            Ok(Manufacturer)
        );
        assert!(Role::most_capable(&[Manufacturer, Auditor]).is_err());
        assert!(Role::most_capable(&[Admin, Manufacturer]).is_err());
        assert!(Role::most_capable(&[]).is_err());
    }
}
