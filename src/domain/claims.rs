//! The actor of a verified token's claims: `sub`, the role (from the claim `auth.role_claim`
//! names) and, for a manufacturer, `org`.

use super::actor::{Actor, Role};
use serde_json::Value;

/// Where the role is among the claims: a top-level claim of that exact name (`role`,
/// Entra's `roles`, Auth0's namespaced `https://stockpile.example/roles`), or else a dotted
/// path into nested objects (Keycloak's `realm_access.roles` or
/// `resource_access.<client>.roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleClaim(String);

impl RoleClaim {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty()
            || text.split('.').any(str::is_empty)
            || text.contains(char::is_whitespace)
        {
            return Err(format!(
                "auth.role_claim {text:?}: a claim name or a dotted path such as \
                 realm_access.roles (no spaces, no empty part)"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    fn find<'a>(&self, claims: &'a Value) -> Option<&'a Value> {
        claims.get(&self.0).or_else(|| {
            self.0
                .split('.')
                .try_fold(claims, |value, part| value.get(part))
        })
    }

    /// The caller's role: the claim is one role name, or a list of names among which those
    /// that are not the service's roles are ignored (an identity provider's own roles) and
    /// the most capable of the rest is taken (`Role::most_capable`).
    pub fn role(&self, claims: &Value) -> Result<Role, String> {
        let name = &self.0;
        match self.find(claims) {
            None => Err(format!("role claim `{name}` missing")),
            Some(Value::String(role)) => role
                .parse()
                .map_err(|_| format!("role claim `{name}`: unknown role")),
            Some(Value::Array(items)) => {
                let roles: Vec<Role> = items
                    .iter()
                    .filter_map(|v| v.as_str()?.parse().ok())
                    .collect();
                Role::most_capable(&roles).map_err(|why| format!("role claim `{name}`: {why}"))
            }
            Some(_) => Err(format!(
                "role claim `{name}` is neither a string nor a list of strings"
            )),
        }
    }
}

impl Default for RoleClaim {
    fn default() -> Self {
        Self("role".to_owned())
    }
}

/// The actor `claims` speak for, or why they are refused (for logs only).
pub fn actor_from_claims(claims: &Value, role_claim: &RoleClaim) -> Result<Actor, String> {
    // `sub` and `org` are stored (audit events, idempotency scopes) and queried: at most
    // 255 characters, none of them control characters (a NUL no database accepts).
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| (1..=255).contains(&s.chars().count()) && !s.chars().any(char::is_control))
    };
    let sub = text("sub")
        .ok_or("sub must be a string of 1-255 characters, none of them control characters")?;
    let role = role_claim.role(claims)?;
    let org = match role {
        Role::Manufacturer => Some(
            text("org")
                .ok_or("a manufacturer token needs org")?
                .to_owned(),
        ),
        _ => None,
    };
    Ok(Actor {
        sub: sub.to_owned(),
        role,
        org,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actor(claims: Value) -> Result<Actor, String> {
        actor_from_claims(&claims, &RoleClaim::default())
    }

    #[test]
    fn claims_rules() {
        let ok = actor(json!({"sub": "u1", "role": "manufacturer", "org": "m1"})).unwrap();
        assert_eq!(ok.org.as_deref(), Some("m1"));
        let op = actor(json!({"sub": "u1", "role": "operator", "org": "m1"})).unwrap();
        assert_eq!(op.org, None);
        assert!(actor(json!({"sub": "u1", "role": "manufacturer"})).is_err());
        assert!(actor(json!({"sub": "u1", "role": "root"})).is_err());
        assert!(actor(json!({"sub": "", "role": "admin"})).is_err());
        assert!(actor(json!({"sub": 5, "role": "admin"})).is_err());
        assert!(actor(json!({"sub": "a\u{0}b", "role": "admin"})).is_err());
        assert!(actor(json!({"sub": "x".repeat(256), "role": "admin"})).is_err());
        let nul_org = json!({"sub": "u1", "role": "manufacturer", "org": "m\u{0}"});
        assert!(actor(nul_org).is_err());
    }

    #[test]
    fn a_role_claim_is_a_name_or_a_dotted_path() {
        let keycloak = RoleClaim::parse("realm_access.roles").unwrap();
        let claims = json!({"sub": "u", "realm_access": {"roles": ["offline_access", "auditor"]}});
        assert_eq!(keycloak.role(&claims), Ok(Role::Auditor));
        // A claim whose name holds dots is found by its whole name first.
        let auth0 = RoleClaim::parse("https://stockpile.example/roles").unwrap();
        let claims = json!({"https://stockpile.example/roles": ["operator"]});
        assert_eq!(auth0.role(&claims), Ok(Role::Operator));
        let entra = RoleClaim::parse("roles").unwrap();
        assert_eq!(
            entra.role(&json!({"roles": ["auditor", "admin"]})),
            Ok(Role::Admin)
        );
        for bad in ["", "a..b", ".roles", "roles.", "my roles"] {
            assert!(RoleClaim::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_role_claim_refuses_what_names_no_single_role() {
        let path = RoleClaim::parse("realm_access.roles").unwrap();
        let refused = |claims: Value| path.role(&claims).unwrap_err();
        assert!(refused(json!({"realm_access": {}})).contains("missing"));
        assert!(
            refused(json!({"realm_access": {"roles": ["uma_authorization"]}})).contains("no role")
        );
        assert!(refused(json!({"realm_access": {"roles": []}})).contains("no role"));
        assert!(
            refused(json!({"realm_access": {"roles": ["manufacturer", "admin"]}}))
                .contains("ambiguous")
        );
        assert!(refused(json!({"realm_access": {"roles": 3}})).contains("neither"));
        assert!(refused(json!({"realm_access": {"roles": "root"}})).contains("unknown role"));
        // The default reads the top-level `role`, never a nested one.
        let default = RoleClaim::default();
        assert!(default.role(&json!({"x": {"role": "admin"}})).is_err());
        assert_eq!(default.role(&json!({"role": "admin"})), Ok(Role::Admin));
    }
}
